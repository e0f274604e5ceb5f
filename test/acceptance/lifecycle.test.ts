import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ECHO_IMAGE,
  STATIC_IMAGE,
  dockerCli,
  dockerReady,
  eventually,
  removeRunContainers,
  uniqueName,
} from '../helpers/docker.js'
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js'
import { startSocketRelay, type SocketRelay } from '../helpers/socket-relay.js'

type Json = Record<string, any>
const post = (url: string, body: Json, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

describe.runIf(await dockerReady('lifecycle acceptance'))('lifecycle acceptance', () => {
  describe('lifecycle on a real Docker Engine', () => {
    let relay: SocketRelay
    let gw: GatewayProcess
    let dataDir: string
    // Its own label root: gateways of other test files (same engine, default root) must not reap or
    // evict these containers, nor these gateways theirs.
    const config = () => ({
      dataDir,
      labelRoot: 'io.github.hde-test.lifecycle',
      docker: { socketPath: relay.path, stopTimeoutSeconds: 1 },
      idle: { action: 'stop', checkIntervalSeconds: 1 },
    })

    beforeAll(async () => {
      relay = await startSocketRelay()
      dataDir = join(await mkdtemp(join(tmpdir(), 'hde-life-')), 'data')
      gw = await startGateway('node', config())
    })
    afterAll(async () => {
      await gw?.stop()
      await relay?.close()
      await removeRunContainers()
    })

    const launch = async (body: Json) => {
      const res = await post(`${gw.url}/api/containers`, body)
      const json = (await res.json()) as Json
      expect(res.status, JSON.stringify(json)).toBe(201)
      return json
    }
    const serving = (base: string, name: string) =>
      eventually(async () => (await fetch(`${base}/docker/${name}/`)).status === 200, 20_000, `${name} serving`)

    it('keeps history across a gateway restart', async () => {
      const name = uniqueName('hist')
      await launch({ image: STATIC_IMAGE, name })
      await serving(gw.url, name)
      await fetch(`${gw.url}/docker/${name}/bad-path?x=1`).then((r) => r.text())
      await gw.stop()
      gw = await startGateway('node', config())
      const history = (await (await fetch(`${gw.url}/api/containers/${name}/history`)).json()) as Json
      const paths = history.entries.map((e: Json) => e.path)
      expect(paths).toContain('/')
      expect(paths.at(-1)).toBe('/bad-path?x=1')
      expect(history.entries.at(-1).time).toMatch(/Z$/)
    })

    it('purges by inactivity: keeps the active one, removes the idle one, never a foreign one', async () => {
      const idle = uniqueName('idle')
      const active = uniqueName('active')
      const foreign = uniqueName('foreign')
      await dockerCli('run', '-d', '--name', foreign, '--label', 'io.github.hde-test.lifecycle.port=80', STATIC_IMAGE)
      await launch({ image: STATIC_IMAGE, name: idle, labels: { purge: 'me' } })
      await launch({ image: STATIC_IMAGE, name: active, labels: { purge: 'me' } })
      await serving(gw.url, active)
      await new Promise((r) => setTimeout(r, 2_500))
      await fetch(`${gw.url}/docker/${active}/`).then((r) => r.text())
      const res = await post(`${gw.url}/api/purge`, { inactiveSeconds: 2, label: 'purge=me' })
      expect(await res.json()).toEqual({ removed: [idle] })
      expect(await dockerCli('ps', '-aq', '--filter', `name=^/${idle}$`)).toBe('')
      expect(await dockerCli('inspect', '--format', '{{.State.Status}}', active)).toBe('running')
      // Even a purge of everything leaves a container it did not launch alone.
      await post(`${gw.url}/api/purge`, { inactiveSeconds: 0, label: 'purge' })
      expect(await dockerCli('inspect', '--format', '{{.State.Status}}', foreign)).toBe('running')
    })

    it('scales an idle container to zero; the next request wakes it, 200 concurrent requests start it once', async () => {
      const name = uniqueName('zero')
      await launch({ image: ECHO_IMAGE, name, idleTimeoutSeconds: 2 })
      await serving(gw.url, name)
      await eventually(
        async () => (await dockerCli('inspect', '--format', '{{.State.Status}}', name)) === 'exited',
        20_000,
        'idle stop',
      )
      const shown = (await (await fetch(`${gw.url}/api/containers/${name}`)).json()) as Json
      expect(shown.status).toBe('stopped')

      const startsBefore = relay.requests.filter((r) => /^POST (\/v[\d.]+)?\/containers\/[^/]+\/start/.test(r)).length
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          fetch(`${gw.url}/docker/${name}/wake-${i}`, { headers: { prefer: 'wait=30' } }),
        ),
      )
      const answers = await Promise.all(responses.map(async (r) => ({ status: r.status, body: await r.text() })))
      const refused = answers.filter((a) => a.status !== 200)
      // On failure, say why: the first refusal and what the gateway logged about this container.
      const why = () =>
        `${refused.length} not served, first ${refused[0]?.status}: ${refused[0]?.body.slice(0, 300)}\n${gw
          .output()
          .split('\n')
          .filter((l) => l.includes(name))
          .join('\n')}`
      expect(refused.length, why()).toBe(0)
      const starts =
        relay.requests.filter((r) => /^POST (\/v[\d.]+)?\/containers\/[^/]+\/start/.test(r)).length - startsBefore
      expect(starts).toBe(1)
      expect(await dockerCli('inspect', '--format', '{{.State.Status}}', name)).toBe('running')
    })

    it('evicts the least recently active: three 15 MB launches against 35 MB leave two; concurrent launches never exceed it', async () => {
      const limited = await startGateway('node', {
        docker: { socketPath: relay.path },
        memLimitMb: 35,
        labelRoot: 'io.github.hde-test.mem',
      })
      try {
        const names = [uniqueName('m1'), uniqueName('m2'), uniqueName('m3')]
        for (const name of names) {
          const res = await post(`${limited.url}/api/containers`, { image: STATIC_IMAGE, name, memReservationMb: 15 })
          expect(res.status).toBe(201)
        }
        const list = (await (await fetch(`${limited.url}/api/containers`)).json()) as Json
        expect(list.containers.map((c: Json) => c.name).sort()).toEqual([names[1], names[2]].sort())

        const burst = await Promise.all(
          Array.from({ length: 6 }, () =>
            post(`${limited.url}/api/containers`, {
              image: STATIC_IMAGE,
              name: uniqueName('burst'),
              memReservationMb: 15,
            }),
          ),
        )
        expect(burst.map((r) => r.status)).toEqual(Array(6).fill(201))
        const after = (await (await fetch(`${limited.url}/api/containers`)).json()) as Json
        const total = after.containers
          .filter((c: Json) => c.status !== 'exited')
          .reduce((sum: number, c: Json) => sum + c.memReservationMb, 0)
        expect(total).toBeLessThanOrEqual(35)
      } finally {
        await limited.stop()
      }
    })

    it('makes no Docker API call for steady-state proxied requests', async () => {
      const name = uniqueName('steady')
      await launch({ image: STATIC_IMAGE, name })
      await serving(gw.url, name)
      const id = await dockerCli('inspect', '--format', '{{.Id}}', name)
      const before = relay.requests.length
      for (let i = 0; i < 50; i++) expect((await fetch(`${gw.url}/docker/${name}/`)).status).toBe(200)
      // The idle reaper works on its own schedule: it lists containers (and may inspect a stopped one,
      // to see how it ended) and asks the engine whether it restarted (version, info, its bridge network).
      // Apart from that, proxying sent nothing to Docker about this container: no inspect, no lookup.
      const background = /^GET (\/v[\d.]+)?\/(containers\/json\?|version|info|networks\/bridge|containers\/[^/]+\/json)/
      const sent = relay.requests
        .slice(before)
        .filter((r) => !background.test(r) || r.includes(`/containers/${name}/`) || r.includes(`/containers/${id}/`))
      expect(sent).toEqual([])
    })

    it('answers 503 quickly while Docker hangs, keeps proxying known containers, and recovers', async () => {
      const slow = await startGateway('node', {
        labelRoot: 'io.github.hde-test.lifecycle',
        docker: { socketPath: relay.path, apiTimeoutMs: 1_000 },
      })
      try {
        const name = uniqueName('slowdocker')
        // Launched through the main gateway (same label root): a create under a loaded engine can
        // take longer than this gateway's 1 s bound, which is only for what follows.
        await launch({ image: STATIC_IMAGE, name })
        await serving(slow.url, name)
        relay.pause()
        const started = Date.now()
        const list = await fetch(`${slow.url}/api/containers`)
        expect(list.status).toBe(503)
        const body = (await list.json()) as Json
        expect(body.error.code).toBe('backend_unavailable')
        expect(body.error.message).toContain('did not answer within 1000 ms')
        expect(Date.now() - started).toBeLessThan(5_000)
        expect((await fetch(`${slow.url}/docker/${name}/`)).status).toBe(200)
        expect((await fetch(`${slow.url}/docker/${uniqueName('unknown')}/`)).status).toBe(503)
        relay.resume()
        await eventually(async () => (await fetch(`${slow.url}/api/health`)).status === 200, 10_000, 'recovery')
        expect((await fetch(`${slow.url}/api/containers`)).status).toBe(200)
      } finally {
        relay.resume()
        await slow.stop()
      }
    })

    it('routes a container removed with docker rm -f as missing at once', async () => {
      const name = uniqueName('rmf')
      await launch({ image: STATIC_IMAGE, name })
      await serving(gw.url, name)
      await dockerCli('rm', '-f', name)
      await eventually(async () => (await fetch(`${gw.url}/docker/${name}/`)).status === 503, 2_000, 'route dropped')
      expect((await fetch(`${gw.url}/api/containers/${name}`)).status).toBe(404)
    })

    it('keeps every container reachable across a restart, including stopped ones', async () => {
      const running = uniqueName('keep')
      const stopped = uniqueName('asleep')
      await launch({ image: STATIC_IMAGE, name: running })
      await launch({ image: STATIC_IMAGE, name: stopped, idleTimeoutSeconds: 1 })
      await serving(gw.url, running)
      await eventually(
        async () => (await dockerCli('inspect', '--format', '{{.State.Status}}', stopped)) === 'exited',
        20_000,
        'idle stop',
      )
      await gw.stop()
      gw = await startGateway('node', config())
      expect((await fetch(`${gw.url}/docker/${running}/`)).status).toBe(200)
      const woken = await fetch(`${gw.url}/docker/${stopped}/`, { headers: { prefer: 'wait=30' } })
      expect(woken.status).toBe(200)
    })
  })
})
