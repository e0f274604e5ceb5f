import { afterAll, describe, expect, it } from 'vitest'
import { docker } from '../../../src/backends/docker/index.js'
import { DEFAULT_LABEL_ROOT } from '../../../src/backends/docker/index.js'
import { DEFAULT_ISOLATED_NETWORK } from '../../../src/backends/docker/network.js'
import type { ContainerRecord } from '../../../src/backend.js'
import { registryAvailable, startRegistry, type LoopbackRegistry } from '../../helpers/registry.js'
import {
  ECHO_IMAGE,
  RUN_ID,
  STATIC_IMAGE,
  dockerCli,
  dockerReady,
  eventually,
  removeRunContainers,
  uniqueName,
} from '../../helpers/docker.js'
import { testBackend } from '../suite.js'
import { launchSpec } from '../../helpers/launch-spec.js'

const ready = await dockerReady('docker backend conformance')
const canPull = ready && (await registryAvailable())

describe.runIf(ready)('the docker backend', () => {
  let registry: LoopbackRegistry | undefined
  afterAll(async () => {
    await registry?.stop()
    await removeRunContainers()
  })
  testBackend({
    name: 'docker',
    backend: docker(),
    unreachable: () => docker({ socketPath: '/nonexistent/hde-docker.sock', apiTimeoutMs: 2_000 }),
    ...(canPull
      ? {
          pullableImage: async () => {
            registry ??= await startRegistry()
            return registry.push(STATIC_IMAGE, `hde/static:conformance-${RUN_ID}`)
          },
        }
      : {}),
    image: ECHO_IMAGE,
    port: 80,
    logLine: 'echo listening on :80',
    newName: () => uniqueName('suite'),
  })

  it('prunes the volumes of a container removed behind its back, and only those', async () => {
    const backend = docker({ orphanVolumeMinAgeMs: 0 })
    const [gone, kept] = [uniqueName('orphan'), uniqueName('keeper')]
    const spec = (name: string) => launchSpec(name, { image: ECHO_IMAGE, extraDirectories: ['/data'] })
    await backend.launch(spec(gone))
    await backend.launch(spec(kept))
    const volumesOf = (name: string) =>
      dockerCli('volume', 'ls', '-q', '--filter', `label=${DEFAULT_LABEL_ROOT}.container=${name}`)
    const orphan = await volumesOf(gone)
    await dockerCli('rm', '-f', '-v', gone) // -v removes anonymous volumes only: ours stay behind
    expect(await volumesOf(gone)).toBe(orphan)
    const removed = await backend.pruneVolumes!()
    expect(removed).toContain(orphan)
    expect(await volumesOf(gone)).toBe('')
    expect(await volumesOf(kept)).not.toBe('')
    await backend.remove(kept)
  })

  it("refuses a caller's label in the gateway's own namespace before creating anything", async () => {
    const root = 'io.github.hde-test.labels'
    const backend = docker({ labelRoot: root })
    const name = uniqueName('labels')
    const spec = (labels: Record<string, string>) =>
      launchSpec(name, { image: ECHO_IMAGE, labels, extraDirectories: ['/data'] })
    const attempts: Record<string, string>[] = [
      { [`${root}.readiness_path`]: '@127.0.0.1:8199/probe' },
      { [`${root}.access`]: 'public' },
      { [`${root}.idle_timeout_seconds`]: '1' },
      { [root]: 'true' },
      { [`${root.toUpperCase()}.PORT`]: '1' },
      // Another gateway on the default root would adopt the container.
      { [DEFAULT_LABEL_ROOT]: 'true' },
      { [`${DEFAULT_LABEL_ROOT}.port`]: '80' },
    ]
    for (const labels of attempts) {
      const key = Object.keys(labels)[0]!
      await expect(backend.launch(spec(labels)), key).rejects.toMatchObject({
        name: 'InvalidSpecError',
        message: expect.stringContaining(`"${key}"`),
      })
    }
    expect(await dockerCli('ps', '-aq', '--filter', `name=${name}`)).toBe('')
    expect(await dockerCli('volume', 'ls', '-q', '--filter', `label=${root}.container=${name}`)).toBe('')
    // Labels that merely look alike are the caller's own; settings come only from the spec's fields.
    const record = await backend.launch({
      ...spec({ [`${root}x.port`]: '1', 'app.owner': 'alice' }),
      readinessPath: '/ready',
      access: 'token',
    })
    expect(record).toMatchObject({ port: 80, readinessPath: '/ready', access: 'token' })
    expect(record.labels['app.owner']).toBe('alice')
    await backend.remove(name)
  })

  it('puts containers on a network where they cannot reach each other, while the gateway reaches both', async () => {
    const backend = docker({ reach: 'published' })
    const [a, b] = [uniqueName('icc-a'), uniqueName('icc-b')]
    const spec = (name: string) => launchSpec(name, { image: ECHO_IMAGE })
    const [recordA, recordB] = await Promise.all([backend.launch(spec(a)), backend.launch(spec(b))])
    expect(
      await dockerCli(
        'network',
        'inspect',
        '-f',
        '{{index .Options "com.docker.network.bridge.enable_icc"}}',
        DEFAULT_ISOLATED_NETWORK,
      ),
    ).toBe('false')
    for (const name of [a, b])
      expect(await dockerCli('inspect', '-f', '{{.HostConfig.NetworkMode}}', name)).toBe(DEFAULT_ISOLATED_NETWORK)
    // The gateway's way in (a port published on loopback) reaches both.
    for (const record of [recordA, recordB]) {
      expect(record.upstream).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      await eventually(async () => (await fetch(`${record.upstream}/`)).ok, 20_000, `${record.name} from the gateway`)
    }
    // From inside a, b's address and port are closed.
    const addressOfB = await dockerCli(
      'inspect',
      '-f',
      `{{(index .NetworkSettings.Networks "${DEFAULT_ISOLATED_NETWORK}").IPAddress}}`,
      b,
    )
    const probe = `fetch('http://${addressOfB}:80/', { signal: AbortSignal.timeout(3000) }).then((r) => console.log('reached', r.status), (e) => console.log('blocked', e.name))`
    expect(await dockerCli('exec', a, '/usr/local/bin/node', '-e', probe)).toBe('blocked TimeoutError')
    await Promise.all([backend.remove(a), backend.remove(b)])
  })

  it("uses the engine's default bridge when isolation is off", async () => {
    const backend = docker({ isolate: false })
    const name = uniqueName('bridge')
    await backend.launch(launchSpec(name, { image: ECHO_IMAGE }))
    expect(await dockerCli('inspect', '-f', '{{.HostConfig.NetworkMode}}', name)).toMatch(/^(default|bridge)$/)
    await backend.remove(name)
  })

  describe("reach: network (the container's own address, no published port)", () => {
    testBackend({
      name: 'docker, reached on its network',
      backend: docker({ reach: 'network' }),
      image: ECHO_IMAGE,
      port: 80,
      logLine: 'echo listening on :80',
      newName: () => uniqueName('netsuite'),
    })

    const spec = (name: string) => launchSpec(name, { image: ECHO_IMAGE })
    /**
     * What the echo container answers at the record's upstream, asked from inside the container
     * itself (the test process talks to loopback only; the address is the container's own).
     */
    const answerAt = (record: ContainerRecord) =>
      eventually(
        async () => {
          const script = `fetch(${JSON.stringify(`${record.upstream}/reach`)}).then((r) => r.text()).then(console.log)`
          const text = await dockerCli('exec', record.name, '/usr/local/bin/node', '-e', script)
          return JSON.parse(text) as { rawPath: string }
        },
        20_000,
        `${record.name} at ${record.upstream}`,
      )

    it('reaches a container at its bridge address, publishes no host port, and lists the same upstream', async () => {
      const backend = docker({ reach: 'network' })
      const name = uniqueName('reach')
      const record = await backend.launch(spec(name))
      const address = await dockerCli('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name)
      expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
      expect(record.upstream).toBe(`http://${address}:80`)
      expect(await dockerCli('port', name)).toBe('')
      expect((await answerAt(record)).rawPath).toBe('/reach')
      expect((await backend.list()).find((r) => r.name === name)?.upstream).toBe(record.upstream)
      await backend.stop!(name)
      const restarted = await backend.start!(name)
      expect(restarted.upstream).toMatch(/^http:\/\/\d+\.\d+\.\d+\.\d+:80$/)
      expect((await answerAt(restarted)).rawPath).toBe('/reach')
      await backend.remove(name)
    })

    it('attaches containers to a configured network and reaches them on it', async () => {
      const network = uniqueName('net')
      await dockerCli('network', 'create', network)
      try {
        const backend = docker({ reach: 'network', network })
        const name = uniqueName('onnet')
        const record = await backend.launch(spec(name))
        const address = await dockerCli(
          'inspect',
          '-f',
          `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
          name,
        )
        expect(record.upstream).toBe(`http://${address}:80`)
        expect(await dockerCli('inspect', '-f', '{{.HostConfig.NetworkMode}}', name)).toBe(network)
        expect((await answerAt(record)).rawPath).toBe('/reach')
        await backend.remove(name)
      } finally {
        await dockerCli('network', 'rm', network).catch(() => '')
      }
    })

    it('refuses host-port options that do not apply to it', () => {
      expect(() => docker({ reach: 'network', publishHost: '0.0.0.0' })).toThrow(
        /apply only with reach "published" or "auto"/,
      )
    })
  })
})
