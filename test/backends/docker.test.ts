import { afterAll, expect, it } from 'vitest'
import { docker } from '../../src/backends/docker.js'
import { DEFAULT_LABEL_ROOT } from '../../src/backends/docker.js'
import { ECHO_IMAGE, dockerCli, dockerReady, removeRunContainers, uniqueName } from '../helpers/docker.js'
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

  it('prunes the volumes of a container removed behind its back, and only those', async () => {
    const backend = docker({ orphanVolumeMinAgeMs: 0 })
    const [gone, kept] = [uniqueName('orphan'), uniqueName('keeper')]
    const spec = (name: string) => ({ name, image: ECHO_IMAGE, port: 80, env: {}, labels: {}, cpus: 0.5, memReservationMb: 0, extraDirectories: ['/data'] })
    await backend.launch(spec(gone))
    await backend.launch(spec(kept))
    const volumesOf = (name: string) => dockerCli('volume', 'ls', '-q', '--filter', `label=${DEFAULT_LABEL_ROOT}.container=${name}`)
    const orphan = await volumesOf(gone)
    await dockerCli('rm', '-f', '-v', gone) // -v removes anonymous volumes only: ours stay behind
    expect(await volumesOf(gone)).toBe(orphan)
    const removed = await backend.pruneVolumes!()
    expect(removed).toContain(orphan)
    expect(await volumesOf(gone)).toBe('')
    expect(await volumesOf(kept)).not.toBe('')
    await backend.remove(kept)
  })
}
