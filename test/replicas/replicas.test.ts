import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { balancerMissing, startBalancer, type Balancer } from '../helpers/balancer.js'
import {
  ECHO_IMAGE,
  RUN_ID,
  dockerReady,
  engineStarts,
  eventually,
  removeRunContainers,
  uniqueName,
} from '../helpers/docker.js'
import { freePort } from '../helpers/free-port.js'
import { startGateway, type GatewayProcess, type Runtime } from '../helpers/gateway-process.js'
import { redisMissing, startRedis, type RedisServer } from '../helpers/redis.js'

/**
 * Two gateway replicas, one on Node and one on Bun, on one Docker Engine and one redis-server,
 * behind nginx on loopback (the recipe in docs/replicas.md): what one does, the other sees; one start
 * per wake; one leader; and under steady traffic, a replica drained or killed, and Redis restarted.
 */

type Json = Record<string, any>
const LABEL_ROOT = 'io.github.hde-test.replicas'

const ready = (await dockerReady('replicas')) && redisMissing() === undefined && balancerMissing() === undefined

/** One replica: its runtime, its fixed port (the balancer's upstream) and, while running, its process. */
interface Replica {
  runtime: Runtime
  port: number
  gw?: GatewayProcess
  url: string
}

/** How long each client pauses between requests: steady traffic, not a load test that starves other suites. */
const PACE_MS = 20

/** Requests in a loop from `concurrency` clients until stopped; outcomes counted by kind and time. */
function steadyTraffic(url: string, concurrency: number) {
  let running = true
  const outcomes: { at: number; outcome: string }[] = []
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      let outcome: string
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(20_000) })
        await response.arrayBuffer()
        outcome = response.status === 200 ? 'ok' : String(response.status)
      } catch (err) {
        outcome = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
      }
      outcomes.push({ at: performance.now(), outcome })
      await new Promise((resolve) => setTimeout(resolve, PACE_MS))
    }
  })
  return {
    count: (outcome = 'ok') => outcomes.filter((o) => o.outcome === outcome).length,
    failures: (since = 0) => outcomes.filter((o) => o.outcome !== 'ok' && o.at >= since),
    async stop() {
      running = false
      await Promise.all(loops)
      return outcomes
    },
  }
}

const metric = async (replica: Replica, name: string): Promise<number | undefined> => {
  const text = await fetch(`${replica.url}/metrics`).then(
    (r) => r.text(),
    () => '',
  )
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text)
  return match ? Number(match[1]) : undefined
}

describe.runIf(ready)('replicas on a shared Redis store behind nginx', () => {
  let redis: RedisServer
  let balancer: Balancer
  const replicas: Replica[] = []
  const config = () => ({
    labelRoot: LABEL_ROOT,
    store: 'redis',
    redis: { url: redis.url, keyPrefix: `hde-test-${RUN_ID}:` },
    replicas: { leaseSeconds: 3 },
    idle: { action: 'stop', checkIntervalSeconds: 1 },
    // Only launches that reserve memory count (the others reserve none).
    memLimitMb: 100,
    memLimitPolicy: 'reject',
    trustProxy: true,
    shutdown: { graceSeconds: 20 },
    dashboard: { enabled: false },
  })
  const start = async (replica: Replica) => {
    replica.gw = await startGateway(replica.runtime, { ...config(), listen: { port: replica.port } })
  }
  const leader = async (): Promise<Replica> =>
    eventually(
      async () => {
        const leading: Replica[] = []
        for (const replica of replicas)
          if (replica.gw && (await metric(replica, 'hde_leader')) === 1) leading.push(replica)
        return leading.length === 1 ? leading[0] : undefined
      },
      30_000,
      'exactly one leader',
    )
  const launch = async (via: Replica | Balancer, body: Json): Promise<Json> => {
    const response = await fetch(`${via.url}/api/containers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: ECHO_IMAGE, ...body }),
    })
    const json = (await response.json()) as Json
    expect(response.status, JSON.stringify(json)).toBe(201)
    return json
  }
  const statusOn = async (replica: Replica, name: string) =>
    ((await (await fetch(`${replica.url}/api/containers/${name}`)).json()) as Json).status as string
  const serving = (base: string, name: string) =>
    eventually(async () => (await fetch(`${base}/docker/${name}/`)).status === 200, 60_000, `${name} serving`)

  beforeAll(async () => {
    redis = await startRedis()
    for (const runtime of ['node', 'bun'] as const) replicas.push({ runtime, port: await freePort(), url: '' })
    for (const replica of replicas) {
      replica.url = `http://127.0.0.1:${replica.port}`
      await start(replica)
    }
    balancer = await startBalancer(replicas.map((r) => `127.0.0.1:${r.port}`))
  }, 120_000)

  afterAll(async () => {
    for (const replica of replicas) await replica.gw?.stop()
    await balancer?.stop()
    await redis?.stop()
    await removeRunContainers()
  })

  it('elects one leader, and each replica sees what another launched and removed', async () => {
    await leader()
    const [a, b] = replicas as [Replica, Replica]
    const name = uniqueName('seen')
    await launch(a, { name })
    // The other replica knows it at once (it asks the engine about names it does not know).
    expect((await fetch(`${b.url}/api/containers/${name}`)).status).toBe(200)
    await serving(b.url, name)
    await serving(a.url, name)
    expect((await fetch(`${b.url}/api/containers/${name}`, { method: 'DELETE' })).status).toBe(204)
    const removedAt = performance.now()
    // The engine's event reaches the replica that cached the route: it proxies no more (a name it
    // does not know is answered as a launch not yet done).
    await eventually(
      async () => {
        const answer = await fetch(`${a.url}/docker/${name}/`)
        const body = (await answer.json().catch(() => ({}))) as Json
        return answer.status === 503 && body.error?.code === 'container_unavailable'
      },
      10_000,
      'removal seen',
    )
    expect((await fetch(`${a.url}/api/containers/${name}`)).status).toBe(404)
    console.info(
      `[replicas] a removal through ${b.runtime} was seen by ${a.runtime} after ${Math.round(performance.now() - removedAt)} ms`,
    )
  })

  it('gives exactly one of many visitors of a one-time link a session, across replicas', async () => {
    const name = uniqueName('link')
    const launched = await launch(replicas[0]!, { name, access: 'token' })
    await eventually(async () => (await statusOn(replicas[1]!, name)) === 'ready', 60_000, `${name} ready`)
    const link = new URL(launched.url as string, replicas[0]!.url)
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        fetch(`${replicas[n % 2]!.url}${link.pathname}${link.search}`, { redirect: 'manual' }).then((r) => r.status),
      ),
    )
    expect(answers.filter((status) => status === 302)).toHaveLength(1)
    expect(answers.filter((status) => status === 403)).toHaveLength(19)
  })

  it('keeps a container that only a follower serves from being reaped by the leader, then reaps it', async () => {
    const lead = await leader()
    const follower = replicas.find((r) => r !== lead)!
    const name = uniqueName('busy')
    await launch(follower, { name, idleTimeoutSeconds: 4 })
    await serving(follower.url, name)
    // Twelve seconds of use through the follower alone: three idle timeouts.
    const until = performance.now() + 12_000
    while (performance.now() < until) {
      expect((await fetch(`${follower.url}/docker/${name}/`)).status).toBe(200)
      await new Promise((r) => setTimeout(r, 500))
    }
    expect(await statusOn(lead, name)).not.toBe('stopped')
    await eventually(async () => (await statusOn(lead, name)) === 'stopped', 60_000, `${name} reaped when idle`)
  }, 120_000)

  it('starts a stopped container once for 100 concurrent requests spread over both replicas', async () => {
    const name = uniqueName('wake')
    await launch(replicas[0]!, { name, idleTimeoutSeconds: 4 })
    await serving(replicas[0]!.url, name)
    for (const replica of replicas)
      await eventually(async () => (await statusOn(replica, name)) === 'stopped', 60_000, `${name} stopped`)
    const since = Math.floor(Date.now() / 1000)
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, n) =>
        fetch(`${replicas[n % 2]!.url}/docker/${name}/after-wake`, { headers: { prefer: 'wait=60' } }).then(
          (r) => r.status,
        ),
      ),
    )
    expect(answers.filter((status) => status !== 200)).toEqual([])
    expect(await engineStarts(name, since)).toBe(1)
    // The engine reports no start of a running container: the replicas' logs show who asked for one.
    const wakes = replicas.flatMap((replica) =>
      replica
        .gw!.output()
        .split('\n')
        .filter((line) => line.includes(`"name":"${name}"`) && /"message":"woken/.test(line))
        .map((line) => `${replica.runtime}: ${JSON.parse(line).message}`),
    )
    expect(wakes.filter((wake) => wake.endsWith(': woken'))).toHaveLength(1)
  }, 120_000)

  it('keeps the memory limit across replicas: concurrent launches through both never overshoot it', async () => {
    const names = Array.from({ length: 6 }, () => uniqueName('mem'))
    const answers = await Promise.all(
      names.map((name, n) =>
        fetch(`${replicas[n % 2]!.url}/api/containers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ image: ECHO_IMAGE, name, memReservationMb: 40 }),
        }).then((r) => r.status),
      ),
    )
    // Each launch evicts the least recently used to fit; whatever the order, 2 × 40 MB fit in 100.
    expect(answers.filter((status) => status === 201)).toHaveLength(6)
    const running: string[] = []
    for (const name of names) {
      const answer = await fetch(`${replicas[0]!.url}/api/containers/${name}`)
      if (answer.status === 200 && ((await answer.json()) as Json).status !== 'stopped') running.push(name)
    }
    expect(running.length).toBeLessThanOrEqual(2)
    for (const name of names) await fetch(`${replicas[0]!.url}/api/containers/${name}`, { method: 'DELETE' })
  }, 120_000)

  it('loses no request through the balancer while one replica drains on SIGTERM', async () => {
    const name = uniqueName('drain')
    await launch(balancer, { name })
    await serving(balancer.url, name)
    const traffic = steadyTraffic(`${balancer.url}/docker/${name}/`, 8)
    await eventually(async () => traffic.count() >= 200, 60_000, 'traffic flowing')
    const drained = replicas[0]!
    process.kill(drained.gw!.pid, 'SIGTERM')
    expect(await drained.gw!.exited).toBe(0)
    const after = traffic.count()
    await eventually(async () => traffic.count() >= after + 200, 60_000, 'traffic after the drain')
    const outcomes = await traffic.stop()
    console.info(
      `[replicas] SIGTERM on ${drained.runtime}: ${outcomes.length} requests, ${traffic.failures().length} failed`,
    )
    expect(traffic.failures()).toEqual([])
    await start(drained)
  }, 180_000)

  it('kill -9 of the leader: the survivor serves every new request and takes its background work over', async () => {
    const name = uniqueName('kill')
    await launch(balancer, { name })
    await serving(balancer.url, name)
    // WebSockets and a long event stream through the balancer: those on the killed replica are lost.
    const sockets = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const socket = new WebSocket(`${balancer.url.replace(/^http/, 'ws')}/docker/${name}/ws`)
        await new Promise((resolve, reject) => {
          socket.once('open', resolve)
          socket.once('error', reject)
        })
        return socket
      }),
    )
    const closed = sockets.map((socket) => new Promise((resolve) => socket.once('close', resolve)))
    const lead = await leader()
    const survivor = replicas.find((r) => r !== lead)!
    const traffic = steadyTraffic(`${balancer.url}/docker/${name}/`, 8)
    await eventually(async () => traffic.count() >= 200, 60_000, 'traffic flowing')
    const killedAt = performance.now()
    const inFlight = 8
    process.kill(lead.gw!.pid, 'SIGKILL')
    await lead.gw!.exited
    lead.gw = undefined
    const after = traffic.count()
    await eventually(async () => traffic.count() >= after + 300, 60_000, 'traffic after the kill')
    await traffic.stop()
    const lostRequests = traffic.failures()
    // At most the requests in flight on the killed replica fail (nginx retries those that got no answer yet).
    expect(lostRequests.length).toBeLessThanOrEqual(inFlight)
    // Nothing sent after the kill fails.
    expect(traffic.failures(killedAt + 2_000)).toEqual([])
    const lostSockets = (
      await Promise.all(
        closed.map((done) => Promise.race([done.then(() => 1), new Promise((r) => setTimeout(() => r(0), 3_000))])),
      )
    ).reduce((sum: number, n) => sum + (n as number), 0)
    // Every socket on the survivor still echoes.
    for (const socket of sockets.filter((s) => s.readyState === WebSocket.OPEN)) {
      const echoed = new Promise((resolve) => socket.once('message', (data) => resolve(String(data))))
      socket.send('still here')
      expect(await echoed).toBe('still here')
      socket.close()
    }
    console.info(
      `[replicas] kill -9 of ${lead.runtime}: ${lostRequests.length} of ${traffic.count() + lostRequests.length} requests lost (${[...new Set(lostRequests.map((l) => l.outcome))].join(', ') || 'none'}), ${lostSockets} of 4 WebSockets lost`,
    )
    // The survivor leads within the lease's time, and reaps.
    expect(await leader()).toBe(survivor)
    const idle = uniqueName('reaped')
    await launch(survivor, { name: idle, idleTimeoutSeconds: 3 })
    await eventually(
      async () => (await statusOn(survivor, idle)) === 'stopped',
      60_000,
      `${idle} reaped by the survivor`,
    )
    // And wakes it, through the balancer, on its next request.
    const woken = await fetch(`${balancer.url}/docker/${idle}/woken`, { headers: { prefer: 'wait=60' } })
    expect(woken.status).toBe(200)
    await start(lead)
  }, 240_000)

  it('keeps proxying while Redis restarts, says so in readiness and metrics, and recovers by itself', async () => {
    const name = uniqueName('redis')
    await launch(balancer, { name })
    await serving(balancer.url, name)
    const traffic = steadyTraffic(`${balancer.url}/docker/${name}/`, 4)
    await eventually(async () => traffic.count() >= 100, 60_000, 'traffic flowing')
    await redis.stop()
    try {
      for (const replica of replicas) {
        await eventually(
          async () => ((await (await fetch(`${replica.url}/api/health/ready`)).json()) as Json).store === 'unavailable',
          30_000,
          `${replica.runtime} to report the store unavailable`,
        )
        expect(await metric(replica, 'hde_store_up')).toBe(0)
      }
      const during = traffic.count()
      await eventually(async () => traffic.count() >= during + 200, 60_000, 'traffic while Redis is away')
      // What needs the store (a private container's link) is refused plainly, never a 500.
      const refused = await fetch(`${replicas[0]!.url}/api/containers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: ECHO_IMAGE, name: uniqueName('nostore'), access: 'token' }),
      })
      expect(refused.status).toBe(503)
      expect(((await refused.json()) as Json).error.code).toBe('store_unavailable')
    } finally {
      await redis.restart()
    }
    for (const replica of replicas) {
      await eventually(
        async () => {
          const body = (await (await fetch(`${replica.url}/api/health/ready`)).json()) as Json
          return body.status === 'ready' && body.store === undefined
        },
        60_000,
        `${replica.runtime} to find the store again`,
      )
      expect(await metric(replica, 'hde_store_up')).toBe(1)
    }
    await leader()
    const outcomes = await traffic.stop()
    console.info(`[replicas] Redis restarted: ${outcomes.length} requests, ${traffic.failures().length} failed`)
    expect(traffic.failures()).toEqual([])
    // Launches work again, through either replica.
    const next = uniqueName('after')
    await launch(balancer, { name: next })
    await serving(balancer.url, next)
  }, 240_000)
})
