import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { memory } from '../../src/backends/memory.js'
import { createGateway } from '../../src/gateway.js'
import { silentLogger } from '../../src/logger.js'
import { fileStore } from '../../src/stores/file.js'
import { HistoryRecorder } from '../../src/containers/history.js'
import { memoryStore, type ContainerStore } from '../../src/stores/store.js'
import { Readiness } from '../../src/containers/readiness.js'
import type { ContainerRecord } from '../../src/backend.js'
import type { UpstreamFetch } from '../../src/proxy/upstream.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

const { shared, gateways, setup } = useMemoryGateways()
const client = shared.client

type Json = Record<string, any>

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('activity and history', () => {
  it('records every proxied request with an ISO time, method and path+query', async () => {
    const { app, launch } = setup()
    await launch({ name: 'h1' })
    await app.request('/docker/h1/')
    await app.request('/docker/h1/bad-path?x=1', { method: 'POST', body: 'b' })
    const res = await app.request('/api/containers/h1/history')
    expect(res.status).toBe(200)
    const { entries } = (await res.json()) as { entries: { time: string; method: string; path: string }[] }
    expect(entries.map((e) => [e.method, e.path])).toEqual([
      ['GET', '/'],
      ['POST', '/bad-path?x=1'],
    ])
    for (const e of entries) expect(e.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    expect((await app.request('/api/containers/nobody/history')).status).toBe(404)
  })

  it('keeps history bounded', async () => {
    const { app, launch } = setup({ history: { maxEntries: 5 } })
    await launch({ name: 'h2' })
    for (let i = 0; i < 12; i++) await app.request(`/docker/h2/p${i}`)
    const { entries } = (await (await app.request('/api/containers/h2/history')).json()) as {
      entries: { path: string }[]
    }
    expect(entries.map((e) => e.path)).toEqual(['/p7', '/p8', '/p9', '/p10', '/p11'])
  })

  it('survives a restart in the data directory and is deleted with the container', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hde-store-'))
    const backend = memory({ upstreams: () => shared.upstream.url })
    const first = setup({}, { store: fileStore({ dir }), backend })
    await first.launch({ name: 'h3' })
    await first.app.request('/docker/h3/one')
    await first.app.request('/docker/h3/two?q')
    await first.gateway.close()
    const second = setup({}, { store: fileStore({ dir }), backend })
    const { entries } = (await (await second.app.request('/api/containers/h3/history')).json()) as {
      entries: { path: string }[]
    }
    expect(entries.map((e) => e.path)).toEqual(['/one', '/two?q'])
    expect(Date.parse((await second.show('h3')).lastActivity)).toBeGreaterThan(Date.now() - 5_000)
    expect((await second.app.request('/api/containers/h3', { method: 'DELETE' })).status).toBe(204)
    const third = setup({}, { store: fileStore({ dir }), backend })
    await third.launch({ name: 'h3' })
    const after = (await (await third.app.request('/api/containers/h3/history')).json()) as { entries: unknown[] }
    expect(after.entries).toEqual([])
  })

  it('keeps the file history bounded whether entries come in small batches or one large one', async () => {
    const store = fileStore({ dir: await mkdtemp(join(tmpdir(), 'hde-store-')), maxEntries: 5 })
    const entries = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        time: new Date(0).toISOString(),
        method: 'GET',
        path: `/p${from + i}`,
      }))
    const paths = async () => (await store.readHistory('c1', 100)).map((e) => e.path)
    await store.appendHistory('c1', entries(0, 3))
    await store.appendHistory('c1', entries(3, 4))
    expect(await paths()).toEqual(['/p0', '/p1', '/p2', '/p3', '/p4', '/p5', '/p6'])
    await store.appendHistory('c1', entries(7, 4))
    expect(await paths()).toEqual(['/p6', '/p7', '/p8', '/p9', '/p10'])
    // A batch as large as the whole history replaces what was there.
    await store.appendHistory('c1', entries(20, 8))
    expect(await paths()).toEqual(['/p23', '/p24', '/p25', '/p26', '/p27'])
    await store.appendHistory('c1', entries(30, 1))
    expect((await paths()).slice(-2)).toEqual(['/p27', '/p30'])
  })

  it('writes only the newest entries of a burst larger than the history', async () => {
    const batches: string[][] = []
    const store: ContainerStore = {
      ...memoryStore(3),
      appendHistory: async (_id, entries) => void batches.push(entries.map((e) => e.path)),
    }
    const recorder = new HistoryRecorder({ store, logger: silentLogger, maxEntries: 3, flushIntervalMs: 60_000 })
    for (let i = 0; i < 40; i++) recorder.record('c1', 'GET', `/q${i}`)
    await recorder.flush()
    expect(batches).toEqual([['/q37', '/q38', '/q39']])
  })

  it('exposes lastActivity, and counts an open stream as activity until it ends', async () => {
    const { app, launch, show, manager } = setup()
    await launch({ name: 'a1' })
    const before = Date.parse((await show('a1')).lastActivity)
    await sleep(20)
    const res = await app.request('/docker/a1/stream')
    const reader = res.body!.getReader()
    await reader.read()
    const record = (await manager.get('a1'))!
    expect(manager.openExchanges(record.id)).toBe(1)
    expect(Date.parse((await show('a1')).lastActivity)).toBeGreaterThan(before)
    await reader.cancel()
    expect(manager.openExchanges(record.id)).toBe(0)
  })
})

describe('purge', () => {
  it('removes idle containers and keeps active ones', async () => {
    const { app, launch, manager } = setup()
    await launch({ name: 'idle' })
    await launch({ name: 'busy' })
    await sleep(1_100)
    await app.request('/docker/busy/')
    const res = await app.request('/api/purge', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inactiveSeconds: 1 }),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ removed: ['idle'] })
    expect((await manager.list()).map((r) => r.name)).toEqual(['busy'])
  })

  it('removes by label, and everything matching with inactiveSeconds 0', async () => {
    const { app, launch, manager } = setup()
    await launch({ name: 'l1', labels: { team: 'a' } })
    await launch({ name: 'l2', labels: { team: 'b' } })
    await launch({ name: 'l3' })
    const purge = (body: Json) =>
      app.request('/api/purge', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    expect(await (await purge({ label: 'team=a' })).json()).toEqual({ removed: ['l1'] })
    expect(await (await purge({ label: 'team', inactiveSeconds: 0 })).json()).toEqual({ removed: ['l2'] })
    expect((await manager.list()).map((r) => r.name)).toEqual(['l3'])
    expect((await purge({})).status).toBe(400)
    expect((await purge({ inactiveSeconds: -1 })).status).toBe(400)
  })
})

describe('readiness', () => {
  it('is ready only once the readiness path answers 2xx/3xx', async () => {
    const { launch, show } = setup()
    await launch({ name: 'r1', readinessPath: '/status/204' })
    await launch({ name: 'r2', readinessPath: '/status/500' })
    let status = ''
    for (let i = 0; i < 50 && status !== 'ready'; i++) {
      status = (await show('r1')).status
      await sleep(20)
    }
    expect(status).toBe('ready')
    expect((await show('r2')).status).toBe('starting')
  })

  it('starts a fresh probe when watched right after a reset, and never counts an answer to the old one', async () => {
    // Probes that hang until answered, like a container still booting, even when aborted: an
    // answer can be on its way as the probe is cancelled.
    const probes: { answer(status: number): void; signal: AbortSignal }[] = []
    const fetch: UpstreamFetch = (_url, init) =>
      new Promise<Response>((resolve) =>
        probes.push({ answer: (status) => resolve(new Response(null, { status })), signal: init.signal! }),
      )
    const readiness = new Readiness({ fetch })
    const record = {
      id: 'c1',
      name: 'c1',
      state: 'running',
      upstream: 'http://127.0.0.1:1',
      image: 'x',
      labels: {},
    } as unknown as ContainerRecord
    readiness.watch(record)
    await sleep(0)
    expect(probes).toHaveLength(1)
    // The container restarted: its readiness starts over, and it is watched again at once.
    readiness.reset('c1')
    readiness.watch(record)
    await sleep(0)
    expect(probes).toHaveLength(2)
    expect(probes[0]!.signal.aborted).toBe(true)
    probes[0]!.answer(200)
    await sleep(10)
    expect(readiness.isReady('c1')).toBe(false)
    probes[1]!.answer(200)
    expect(await readiness.whenReady('c1', 1_000)).toBe(true)
    readiness.close()
  })

  it('fails with a reason after the start timeout instead of starting forever', async () => {
    const { launch, show, app } = setup(
      { readiness: { startTimeoutSeconds: 1 } },
      { backend: memory({ upstreams: () => 'http://127.0.0.1:9' }) },
    )
    await launch({ name: 'never' })
    await sleep(1_300)
    const shown = await show('never')
    expect(shown.status).toBe('failed')
    expect(shown.reason).toMatch(/not ready within 1 s/)
    const res = await app.request('/docker/never/')
    expect(res.status).toBe(502)
    expect(((await res.json()) as Json).error.code).toBe('container_failed')
  })

  it('does not proxy a container whose port answers but whose readiness path failed', async () => {
    const { launch, show, app } = setup({ readiness: { startTimeoutSeconds: 1 } })
    await launch({ name: 'unhealthy', readinessPath: '/status/500' })
    await sleep(1_300)
    expect((await show('unhealthy')).status).toBe('failed')
    const res = await app.request('/docker/unhealthy/page')
    expect(res.status).toBe(502)
    const body = (await res.json()) as Json
    expect(body.error.code).toBe('container_failed')
    expect(body.error.message).toContain('/status/500 answered 500')
  })
})

describe('memory limit with LRU eviction', () => {
  it('evicts the least recently active to fit: three 15 MB launches under 35 MB leave two', async () => {
    const { app, launch, manager } = setup({ memLimitMb: 35 })
    await launch({ name: 'm1', memReservationMb: 15 })
    await launch({ name: 'm2', memReservationMb: 15 })
    await sleep(5)
    await app.request('/docker/m1/') // m1 is now more recent than m2
    expect((await launch({ name: 'm3', memReservationMb: 15 })).status).toBe(201)
    expect((await manager.list()).map((r) => r.name).sort()).toEqual(['m1', 'm3'])
  })

  it('never overshoots with concurrent launches', async () => {
    const { launch, manager } = setup({ memLimitMb: 35 })
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => launch({ name: `c${i}`, memReservationMb: 15 })),
    )
    expect(results.every((r) => r.status === 201)).toBe(true)
    const running = await manager.list()
    expect(running.reduce((sum, r) => sum + r.memReservationMb, 0)).toBeLessThanOrEqual(35)
    expect(running).toHaveLength(2)
  })

  it('answers 507 when it cannot fit, or starts anyway when told to', async () => {
    const strict = setup({ memLimitMb: 35 })
    const res = await strict.launch({ name: 'huge', memReservationMb: 50 })
    expect(res.status).toBe(507)
    expect(res.body.error.message).toContain('50 MB requested')
    const lax = setup({ memLimitMb: 35, memLimitPolicy: 'startAnyway' })
    expect((await lax.launch({ name: 'huge', memReservationMb: 50 })).status).toBe(201)
  })

  it('evicts nobody for a launch that could not fit even on an empty host', async () => {
    for (const memLimitPolicy of ['reject', 'startAnyway'] as const) {
      const { launch, manager, app } = setup({ memLimitMb: 35, memLimitPolicy })
      await launch({ name: 'a1', memReservationMb: 15 })
      await launch({ name: 'a2', memReservationMb: 15 })
      const res = await launch({ name: 'impossible', memReservationMb: 100_000 })
      expect(res.status).toBe(memLimitPolicy === 'reject' ? 507 : 201)
      if (memLimitPolicy === 'reject') expect(res.body.error.message).toContain('nothing was evicted')
      const names = (await manager.list()).map((r) => r.name)
      expect(names).toEqual(expect.arrayContaining(['a1', 'a2']))
      expect((await app.request('/docker/a1/')).status).toBe(200)
    }
  })
})

describe('engine events', () => {
  it('stops routing a container destroyed behind the gateway at once', async () => {
    const backend = memory({ upstreams: () => shared.upstream.url })
    const gateway = createGateway({ backend, fetch: client, logger: silentLogger })
    try {
      const app = gateway.app
      await app.request('/api/containers', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: 'a:1', name: 'ev' }),
      })
      expect((await app.request('/docker/ev/')).status).toBe(200)
      const record = (await backend.inspect('ev'))!
      // Removed by hand: the engine reports it; the cached route must not survive.
      await backend.remove('ev')
      expect((await app.request('/docker/ev/')).status).toBe(503)
      expect(record.id).toMatch(/^mem-/)
    } finally {
      await gateway.close()
    }
  })

  it('reconnects when the event stream breaks, re-lists, and drops state of containers that vanished meanwhile', async () => {
    const backend = memory({ upstreams: () => shared.upstream.url })
    const store = memoryStore()
    const gateway = createGateway({ backend, fetch: client, logger: silentLogger, store })
    gateways.push(gateway)
    const app = gateway.app
    await app.request('/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'a:1', name: 'gap' }),
    })
    await app.request('/docker/gap/')
    await gateway.manager.flushHistory()
    const id = (await backend.inspect('gap'))!.id
    expect(await store.ids!()).toContain(id)
    for (let i = 0; i < 20 && !backend.calls.watch; i++) await sleep(10)
    const watchesBefore = backend.calls.watch!
    const listsBefore = backend.calls.list ?? 0
    backend.endWatches()
    // Removed while the gateway was not listening: no destroy event reaches it.
    await backend.remove('gap')
    for (let i = 0; i < 100 && (backend.calls.watch ?? 0) === watchesBefore; i++) await sleep(20)
    expect(backend.calls.watch).toBe(watchesBefore + 1)
    for (let i = 0; i < 50 && (await store.ids!()).includes(id); i++) await sleep(20)
    expect(backend.calls.list).toBeGreaterThan(listsBefore)
    expect(await store.ids!()).not.toContain(id)
  })
  it('keeps a container ready through a signal, and probes one restarted behind its back when a request comes', async () => {
    const { app, launch, manager, backend } = setup({}, { background: true })
    await launch({ name: 'hup', readinessPath: '/status/204' })
    const id = (await backend.inspect('hup'))!.id
    expect(await manager.whenReady(id, 2_000)).toBe(true)
    for (let i = 0; i < 20 && !backend.calls.watch; i++) await sleep(10)
    // `docker kill -s HUP` (a reload) reports `kill`, and the container runs on.
    backend.emit({ action: 'kill', id, name: 'hup', time: Date.now() })
    backend.emit({ action: 'oom', id, name: 'hup', time: Date.now() })
    expect(manager.isReady(id)).toBe(true)
    // A crash and a restart by the engine's restart policy: readiness starts over.
    backend.setState('hup', 'exited', 137)
    backend.setState('hup', 'running')
    expect(manager.isReady(id)).toBe(false)
    expect((await app.request('/docker/hup/')).status).toBe(200)
    expect(await manager.whenReady(id, 2_000)).toBe(true)
  })
})
