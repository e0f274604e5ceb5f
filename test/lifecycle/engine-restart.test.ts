import { afterEach, describe, expect, it, vi } from 'vitest'
import { memory } from '../../src/backends/memory.js'
import { memoryStore } from '../../src/stores/store.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

const { shared, setup } = useMemoryGateways()

type Json = Record<string, any>

/** A gateway on its own memory engine, and what the tests read of it. */
function gateway(config: object = {}, backend = memory({ upstreams: () => shared.upstream.url })) {
  const g = setup(config, { backend })
  const status = async (name: string) => ((await g.show(name)) as Json).status as string
  const proxied = (name: string, wait = true) =>
    g.app.request(`/docker/${name}/`, { headers: wait ? { prefer: 'wait=5' } : {} })
  return { ...g, backend, status, proxied }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('a container stopped by its engine restarting is stopped, not exited', () => {
  it('its next requests wake it, with one start for many concurrent ones, and history is kept', async () => {
    const g = gateway()
    await g.launch({ name: 'nb' })
    expect((await g.proxied('nb')).status).toBe(200)
    g.backend.restartEngine()
    expect(await g.status('nb')).toBe('stopped')
    const before = g.backend.calls.start ?? 0
    const answers = await Promise.all(Array.from({ length: 20 }, () => g.proxied('nb')))
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect((g.backend.calls.start ?? 0) - before).toBe(1)
    expect(await g.status('nb')).toBe('ready')
    const { entries } = (await (await g.app.request('/api/containers/nb/history')).json()) as Json
    expect(entries).toHaveLength(21)
  })

  it('a browser without Prefer: wait gets the please-wait page while it wakes', async () => {
    const g = gateway()
    await g.launch({ name: 'nb' })
    g.backend.restartEngine()
    expect(await g.status('nb')).toBe('stopped')
    g.backend.setStartDelay(300)
    const res = await g.app.request('/docker/nb/', { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } })
    expect(res.status).toBe(503)
    expect(await res.text()).toContain('waking up')
  })

  it('however it answered the stop: a clean exit or death by the stop signal or the kill after it', async () => {
    for (const code of [0, 130, 137, 143]) {
      const g = gateway()
      await g.launch({ name: 'nb' })
      g.backend.restartEngine(code)
      expect(await g.status('nb'), `exit code ${code}`).toBe('stopped')
    }
  })

  it('also for a gateway that started after the engine restarted (it reconciles the same way)', async () => {
    const backend = memory({ upstreams: () => shared.upstream.url })
    const first = gateway({}, backend)
    await first.launch({ name: 'nb' })
    await first.gateway.close()
    backend.restartEngine()
    const second = gateway({}, backend)
    expect(await second.status('nb')).toBe('stopped')
    expect((await second.proxied('nb')).status).toBe(200)
  })
})

describe('a container that ended on its own stays exited', () => {
  it('a crash (exit code 3) before the restart: 502 naming the code, never started', async () => {
    const g = gateway()
    await g.launch({ name: 'crashed' })
    g.backend.setState('crashed', 'exited', 3)
    g.backend.restartEngine()
    expect(await g.status('crashed')).toBe('exited')
    const res = await g.proxied('crashed')
    expect(res.status).toBe(502)
    expect(await res.text()).toContain('code 3')
    expect(g.backend.calls.start ?? 0).toBe(0)
  })

  it('killed for lack of memory', async () => {
    const g = gateway()
    await g.launch({ name: 'oom' })
    g.backend.restartEngine(137)
    g.backend.setOomKilled('oom')
    expect(await g.status('oom')).toBe('exited')
  })

  it('stopped well before the engine went down, while the gateway was hearing from it', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-01-01T10:00:00Z') })
    const g = gateway()
    await g.launch({ name: 'early' })
    await g.launch({ name: 'late' })
    // Someone stops it by hand (SIGTERM, 143); the gateway hears from the engine a minute later.
    g.backend.setState('early', 'exited', 143)
    vi.setSystemTime(Date.parse('2026-01-01T10:01:00Z'))
    await g.gateway.manager.ping()
    g.backend.restartEngine()
    expect(await g.status('early')).toBe('exited')
    expect(await g.status('late')).toBe('stopped')
  })

  it('ended long before the engine restarted, for a gateway with no record of the previous run', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-01-01T10:00:00Z') })
    const backend = memory({ upstreams: () => shared.upstream.url })
    const first = gateway({}, backend)
    // A clean exit thirty days, a stop by hand (143) seven days and a kill (137) one day before the
    // engine restarts; a clean exit four minutes before; and one the restart stops.
    const endings: [string, number, string][] = [
      ['month', 0, '2026-01-01T10:00:00Z'],
      ['week', 143, '2026-01-24T10:00:00Z'],
      ['day', 137, '2026-01-30T10:00:00Z'],
      ['minutes', 0, '2026-01-31T09:56:00Z'],
    ]
    for (const [name, code, at] of endings) {
      await first.launch({ name })
      vi.setSystemTime(Date.parse(at))
      first.backend.setState(name, 'exited', code)
    }
    await first.launch({ name: 'running' })
    await first.gateway.close()
    vi.setSystemTime(Date.parse('2026-01-31T10:00:00Z'))
    backend.restartEngine()
    vi.setSystemTime(Date.parse('2026-01-31T10:00:05Z'))
    const second = gateway({}, backend)
    for (const [name] of endings) {
      expect(await second.status(name), name).toBe('exited')
      expect((await second.proxied(name, false)).status, name).toBe(502)
    }
    expect(await second.status('running')).toBe('stopped')
    expect(backend.calls.start ?? 0).toBe(0)
  })

  it('stopped by hand while a gateway was hearing from the engine, for a gateway started after the restart', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-01-01T10:00:00Z') })
    const backend = memory({ upstreams: () => shared.upstream.url })
    const store = memoryStore()
    const first = setup({}, { backend, store })
    await first.launch({ name: 'byhand' })
    await first.launch({ name: 'running' })
    await first.manager.ping()
    // Stopped by hand; the gateway hears from the engine 50 s later, then goes away.
    backend.setState('byhand', 'exited', 143)
    vi.setSystemTime(Date.parse('2026-01-01T10:00:50Z'))
    await first.manager.ping()
    await first.gateway.close()
    // The engine restarts 5 s later (within what a gateway with no record would accept).
    vi.setSystemTime(Date.parse('2026-01-01T10:00:55Z'))
    backend.restartEngine()
    const second = gateway({}, backend)
    const remembering = setup({}, { backend, store })
    const status = async (name: string) => ((await remembering.show(name)) as Json).status
    expect(await status('byhand')).toBe('exited')
    expect(await status('running')).toBe('stopped')
    expect((await remembering.app.request('/docker/byhand/', { headers: { prefer: 'wait=2' } })).status).toBe(502)
    // Without the record, the stop could not be told from one by the engine's shutdown.
    expect(await second.status('byhand')).toBe('stopped')
  })

  it("woken after a long engine outage when the gateway remembers the engine's previous run", async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-01-01T10:00:00Z') })
    const backend = memory({ upstreams: () => shared.upstream.url })
    const store = memoryStore()
    const first = setup({}, { backend, store })
    await first.launch({ name: 'tool' })
    await first.manager.ping()
    await first.gateway.close()
    // The engine goes down at once, stopping the tool, and is back after a 10-minute maintenance.
    backend.setState('tool', 'exited', 143)
    vi.setSystemTime(Date.parse('2026-01-01T10:10:00Z'))
    backend.restartEngine()
    const fresh = setup({}, { backend })
    expect(((await fresh.show('tool')) as Json).status).toBe('exited')
    const remembering = setup({}, { backend, store })
    expect(((await remembering.show('tool')) as Json).status).toBe('stopped')
  })

  it('stopped as a stop ends a moment ago (maybe its engine going down): clients wait, and it is exited after that', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-01-01T10:00:00Z') })
    const g = gateway()
    await g.launch({ name: 'stopping' })
    g.backend.setState('stopping', 'exited', 143)
    expect(await g.status('stopping')).toBe('exited')
    const early = await g.proxied('stopping', false)
    expect(early.status).toBe(503)
    expect(((await early.json()) as Json).error.message).toContain('stopped a moment ago')
    vi.setSystemTime(Date.parse('2026-01-01T10:00:11Z'))
    const later = await g.proxied('stopping', false)
    expect(later.status).toBe(502)
    expect(((await later.json()) as Json).error.message).toContain('exited with code 143')
    expect(g.backend.calls.start ?? 0).toBe(0)
  })

  it('a request held meanwhile waits for the engine to come back, and gets the woken container', async () => {
    const g = gateway()
    await g.launch({ name: 'held' })
    g.backend.setState('held', 'exited', 143)
    expect(await g.status('held')).toBe('exited')
    const held = g.proxied('held')
    await new Promise((r) => setTimeout(r, 300))
    // The engine finishes going down and comes back.
    g.backend.restartEngine()
    expect((await held).status).toBe(200)
  })

  it('with idle.wakeAfterEngineRestart: false, as before', async () => {
    const g = gateway({ idle: { wakeAfterEngineRestart: false } })
    await g.launch({ name: 'nb' })
    g.backend.restartEngine()
    expect(await g.status('nb')).toBe('exited')
    expect((await g.proxied('nb', false)).status).toBe(502)
  })
})

describe('what the gateway keeps across an engine restart', () => {
  it('access tokens, served input and the metrics of the container', async () => {
    const store = memoryStore()
    const backend = memory({ upstreams: () => shared.upstream.url })
    const g = setup({ input: { publicApiUrl: 'http://127.0.0.1:8000/api' } }, { backend, store })
    const launched = await g.launch({ name: 'nb', access: 'token', input: { a: 1 }, inputDelivery: 'url' })
    expect(launched.status).toBe(201)
    const inputUrl = new URL(backend.specOf('nb')!.env.INPUT_JSON_URL!)
    backend.restartEngine()
    // The one-time link still works, and wakes the container.
    const first = await g.app.request(launched.body.url, { headers: { prefer: 'wait=5' } })
    expect(first.status).toBe(302)
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!
    expect((await g.app.request('/docker/nb/', { headers: { cookie } })).status).toBe(200)
    expect((await g.app.request(`${inputUrl.pathname.replace(/^\/api/, '/api')}${inputUrl.search}`)).status).toBe(200)
    const metrics = await (await g.app.request('/metrics')).text()
    expect(metrics).toMatch(/hde_proxied_requests_total\{container="nb",status="200"\} [1-9]/)
  })

  it('health reports whether the engine keeps containers running across its restarts', async () => {
    const g = gateway()
    const health = (await (await g.app.request('/api/health')).json()) as Json
    expect(health.backend).toMatchObject({ reachable: true, liveRestore: false })
  })
})
