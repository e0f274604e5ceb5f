import { describe } from 'vitest'
import { dockerReady } from '../helpers/docker.js'
import { resilienceSuite } from './resilience-suite.js'
import { acceptanceSuite } from './suite.js'

describe.runIf(await dockerReady('acceptance on node'))('acceptance on node', () => {
  acceptanceSuite('node')
  resilienceSuite('node')
})
