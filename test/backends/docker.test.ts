import { afterAll } from 'vitest'
import { docker } from '../../src/backends/docker.js'
import { ECHO_IMAGE, dockerReady, removeRunContainers, uniqueName } from '../helpers/docker.js'
import { testBackend } from './suite.js'

if (await dockerReady('docker backend conformance')) {
  afterAll(removeRunContainers)
  testBackend({
    name: 'docker',
    backend: docker(),
    image: ECHO_IMAGE,
    port: 80,
    logLine: 'echo listening on :80',
    newName: () => uniqueName('suite'),
  })
}
