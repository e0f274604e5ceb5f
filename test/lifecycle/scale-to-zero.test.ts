import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memory } from '../../src/backends/memory.js'
import { silentLogger } from '../../src/logger.js'
import { reap } from '../../src/lifecycle/reaping.js'
import { StoppedByGateway } from '../../src/containers/stopped.js'
import { memoryStore } from '../../src/stores/store.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

const { setup } = useMemoryGateways()

type Json = Record<string, any>

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A container app whose readiness path answers 503 until `open` is set. */
const gate = { open: true, url: '', close: () => Promise.resolve() }
beforeAll(async () => {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/ready' && !gate.open ? 503 : 200).end('gate')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  gate.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  gate.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
})
afterAll(() => gate.close())

/**
 * A container behind the closed gate, scaled to zero, and `count` requests that wake it: held
 * until it is ready (`Prefer: wait`), or told to retry when `hold` is false.
 */
async function heldWake(count: number, options: { stopDelayMs?: number; hold?: boolean } = {}) {
  gate.open = true
  const backend = memory({ upstreams: () => gate.url })
  const { app, launch, manager } = setup({ idle: { action: 'stop' } }, { backend, background: true })
  await launch({ name: 'gated', readinessPath: '/ready' })
  // The gateway follows engine events from here on.
  for (let i = 0; i < 100 && !backend.calls.watch; i++) await sleep(10)
  expect(backend.calls.watch).toBe(1)
  const before = (await backend.inspect('gated'))!
  expect(await manager.whenReady(before.id, 2_000)).toBe(true)
  gate.open = false
  backend.setStopDelay(options.stopDelayMs ?? 0)
  const stopping = manager.scaleToZero(before)
  // The engine reports the container exited before its stop call answers.
  while ((await backend.inspect('gated'))!.state === 'running') await sleep(5)
  const stoppedAt = Date.now()
  const responses = Promise.all(
    Array.from({ length: count }, () =>
      app.request('/docker/gated/', { headers: options.hold === false ? {} : { prefer: 'wait=10' } }),
    ),
  )
  while (!backend.calls.start) await sleep(5)
  const woken = (await backend.inspect('gated'))!
  return { backend, manager, before, woken, stopping, stoppedAt, responses }
}

describe('idle reaping and scale-to-zero', () => {
  it('removes containers idle past their own timeout', async () => {
    const { launch, manager } = setup()
    await launch({ name: 'short', idleTimeoutSeconds: 1 })
    await launch({ name: 'forever' })
    expect(await reap(manager, silentLogger)).toEqual([])
    await sleep(1_100)
    expect(await reap(manager, silentLogger)).toEqual(['short'])
    expect((await manager.list()).map((r) => r.name)).toEqual(['forever'])
  })

  it('stops idle containers with action stop, and the next request wakes them', async () => {
    const { app, launch, show, manager, backend } = setup(
      { idle: { timeoutSeconds: 1, action: 'stop', checkIntervalSeconds: 3600 } },
      { background: true },
    )
    await launch({ name: 'sleepy' })
    await sleep(1_100)
    expect(await reap(manager, silentLogger)).toEqual(['sleepy'])
    expect((await show('sleepy')).status).toBe('stopped')
    const waiting = await app.request('/docker/sleepy/', {
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
    })
    expect(waiting.status).toBe(503)
    expect(await waiting.text()).toContain('waking up')
    let res: Response | undefined
    for (let i = 0; i < 50; i++) {
      res = await app.request('/docker/sleepy/')
      if (res.status === 200) break
      await sleep(20)
    }
    expect(res?.status).toBe(200)
    expect(backend.calls.start).toBe(1)
    // A container that exited on its own (the engine reports it) is not restarted.
    await launch({ name: 'crashed' })
    expect((await app.request('/docker/crashed/')).status).toBe(200)
    backend.setState('crashed', 'exited', 1)
    const crashed = await app.request('/docker/crashed/')
    expect(crashed.status).toBe(502)
    expect(((await crashed.json()) as Json).error.message).toContain('exited with code 1')
    expect(backend.calls.start).toBe(1)
  })

  it('starts a stopped container exactly once for 200 concurrent first requests, and serves them all', async () => {
    const { app, launch, manager, backend } = setup({ idle: { action: 'stop' } })
    await launch({ name: 'cold' })
    await manager.scaleToZero((await manager.get('cold'))!)
    backend.setStartDelay(200)
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => app.request('/docker/cold/', { headers: { prefer: 'wait=10' } })),
    )
    expect(backend.calls.start).toBe(1)
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(200))
  })

  it('holds a request for a container its engine is restarting or placing, and serves it once it runs', async () => {
    const { app, launch, manager, backend } = setup({ idle: { action: 'stop' } })
    await launch({ name: 'placing' })
    // Its engine is (re)starting it: Swarm placing a task, or a restart policy at work.
    backend.setState('placing', 'restarting')
    manager.forgetRoute('placing')
    const told = await app.request('/docker/placing/')
    expect(told.status).toBe(503)
    const held = app.request('/docker/placing/', { headers: { prefer: 'wait=10' } })
    await sleep(700)
    backend.setState('placing', 'running')
    manager.forgetRoute('placing')
    expect((await held).status).toBe(200)
    expect(backend.calls.start ?? 0).toBe(0)

    // Mid-wake, the engine shows a scaled-up service as restarting until its task runs: a held
    // request that reads it so joins the wake instead of being told to retry.
    await manager.scaleToZero((await manager.get('placing'))!)
    backend.setStartDelay(600)
    const first = app.request('/docker/placing/', { headers: { prefer: 'wait=10' } })
    while (!backend.calls.start) await sleep(5)
    backend.setState('placing', 'restarting')
    manager.forgetRoute('placing')
    const joined = await Promise.all(
      Array.from({ length: 10 }, () => app.request('/docker/placing/', { headers: { prefer: 'wait=10' } })),
    )
    expect([(await first).status, ...joined.map((r) => r.status)]).toEqual(Array(11).fill(200))
    expect(backend.calls.start).toBe(1)
  })

  it('keeps a woken container ready when the stop that idled it answers only after the wake', async () => {
    const { manager, woken, stopping, responses } = await heldWake(20, { stopDelayMs: 300 })
    await stopping
    // The late answer must not drop the route or the readiness of the container now running.
    expect(manager.cachedRoute('gated')?.id).toBe(woken.id)
    gate.open = true
    expect((await responses).map((r) => r.status)).toEqual(Array(20).fill(200))
    // Nothing re-probes on its own: the probe the wake began must have survived the late stop.
    expect(await manager.whenReady(woken.id, 2_000)).toBe(true)
    expect(manager.isReady(woken.id)).toBe(true)
  })

  it('ignores a stop event that arrives after the wake but happened before it', async () => {
    // Nobody waits, so nothing but the wake's own probe can find the container ready.
    const { backend, manager, woken, stoppedAt, responses } = await heldWake(1, { hold: false })
    expect((await responses).map((r) => r.status)).toEqual([503])
    await sleep(50)
    // The engine's report of the earlier stop, delivered late.
    backend.emit({ action: 'die', id: woken.id, name: 'gated', time: stoppedAt - 10 })
    await sleep(50)
    expect(manager.cachedRoute('gated')?.id).toBe(woken.id)
    gate.open = true
    expect(await manager.whenReady(woken.id, 2_000)).toBe(true)
  })

  it('holds waiting requests through a readiness reset and serves them once the container is ready', async () => {
    const { backend, woken, responses } = await heldWake(20)
    await sleep(50)
    // An event the gateway cannot date: readiness starts over, and the waiting requests wait on.
    backend.emit({ action: 'die', id: woken.id, name: 'gated' })
    await sleep(50)
    gate.open = true
    expect((await responses).map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(backend.calls.start).toBe(1)
  })

  it('holds a waiting request through an unreachable engine, and tells one that does not wait to retry', async () => {
    const { app, launch, manager, backend } = setup({ idle: { action: 'stop' } })
    await launch({ name: 'offline' })
    await manager.scaleToZero((await manager.get('offline'))!)
    backend.setUnavailable(true)
    const impatient = await app.request('/docker/offline/')
    expect(impatient.status).toBe(503)
    expect(await impatient.text()).toContain('cannot be reached')
    const held = app.request('/docker/offline/', { headers: { prefer: 'wait=10' } })
    await sleep(700)
    backend.setUnavailable(false)
    const res = await held
    expect(res.status).toBe(200)
    expect(backend.calls.start).toBe(1)
  })

  it('tells a request that reached a container as it was being scaled to zero to retry, and the retry wakes it', async () => {
    // Its port is closed: a request that still finds it routed is refused, as by a stopping app.
    const backend = memory({ upstreams: () => 'http://127.0.0.1:1' })
    const { app, launch, manager } = setup({ idle: { action: 'stop' } }, { backend })
    await launch({ name: 'napping' })
    backend.setStopDelay(300)
    const stopping = manager.scaleToZero((await manager.get('napping'))!)
    while ((await backend.inspect('napping'))!.state === 'running') await sleep(5)
    const res = await app.request('/docker/napping/')
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBeTruthy()
    expect(await res.text()).toContain('starts again on the next request')
    await stopping
    expect((await app.request('/docker/napping/')).status).toBe(503)
    expect(backend.calls.start).toBe(1)
  })

  it('answers concurrent first questions about a container stopped before a restart alike', async () => {
    const store = memoryStore()
    await store.writeMeta('restarted', { stoppedByGateway: true })
    const slowStore = {
      ...store,
      readMeta: async (id: string) => {
        await sleep(20)
        return store.readMeta(id)
      },
    }
    const stopped = new StoppedByGateway(slowStore)
    expect(await Promise.all([stopped.has('restarted'), stopped.has('restarted'), stopped.has('restarted')])).toEqual([
      true,
      true,
      true,
    ])
  })
})
