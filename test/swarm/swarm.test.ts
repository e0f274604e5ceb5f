import { createHash, randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { swarm, type SwarmBackend } from '../../src/backends/swarm/index.js'
import { testBackend } from '../backends/suite.js'
import { ECHO_IMAGE, RUN_ID, dockerCli, dockerReady, eventually, uniqueName } from '../helpers/docker.js'
import { SWARM_NETWORK, SWARM_NODE_IMAGE, startSwarmCluster, type SwarmCluster } from '../helpers/swarm-cluster.js'
import {
  buildGatewayImage,
  buildRedisImage,
  startClusterGateway,
  type ClusterGateway,
} from '../helpers/swarm-gateway.js'

const TOKEN = 'swarm-test-token-0123456789abcdef'
const GATEWAY_IMAGE = `hde-test/swarm-gateway:${RUN_ID}`
const LABEL_ROOT = 'io.github.hde-test.swarm'
const REDIS_IMAGE = 'hde-test/redis:1'
/** The gateway's configuration on the cluster (the replicas add a Redis store). */
const GATEWAY_CONFIG = {
  listen: { hostname: '0.0.0.0', port: 8000 },
  auth: { tokens: [TOKEN] },
  backend: 'swarm',
  swarm: { network: SWARM_NETWORK, constraints: ['node.role==worker'] },
  labelRoot: LABEL_ROOT,
  dashboard: { enabled: false },
  dataDir: '/data',
  upstream: { connectTimeoutMs: 2_000 },
  idle: { checkIntervalSeconds: 1, action: 'stop' },
  // Nested engines on a busy 2-core machine: one manager call took the default 10 s once (a launch
  // right after a purge answered 503); the suite checks behaviour, not the engine's speed.
  docker: { apiTimeoutMs: 30_000 },
}

/** The Swarm suite needs the node image (`npm test` builds it as root); without it, in CI, it fails. */
async function swarmReady(): Promise<boolean> {
  if (!(await dockerReady('the Swarm backend on a three-node cluster'))) return false
  const image = await dockerCli('image', 'inspect', '--format', '{{.Id}}', SWARM_NODE_IMAGE).catch(() => '')
  if (image) return true
  const reason = `${SWARM_NODE_IMAGE} is missing (bash test/images/build-swarm-node.sh, as root)`
  if (process.env.CI === 'true') throw new Error(`the Swarm backend: ${reason}`)
  console.warn(`\n!!! SKIPPING the Swarm backend on a three-node cluster: ${reason}\n`)
  return false
}

const ready = await swarmReady()

/**
 * A backend whose engine is known only once the cluster runs (in `beforeAll`): the conformance
 * suite is declared before that. It has exactly the Swarm backend's methods.
 */
function lateBackend(get: () => SwarmBackend | undefined): Backend {
  const methods = ['launch', 'inspect', 'list', 'remove', 'logs', 'ping', 'start', 'stop', 'watch', 'close'] as const
  const backend: Record<string, unknown> = { name: 'swarm' }
  for (const method of methods) {
    backend[method] = (...args: unknown[]) => {
      const real = get()
      if (!real) throw new Error('the cluster is not up')
      const fn = real[method] as ((...a: unknown[]) => unknown) | undefined
      return fn ? fn(...args) : undefined
    }
  }
  return backend as unknown as Backend
}

describe.runIf(ready)('the Swarm backend on a three-node cluster', () => {
  let cluster: SwarmCluster
  let backend: SwarmBackend | undefined
  let gateway: ClusterGateway
  const auth = { authorization: `Bearer ${TOKEN}` }
  // Every request to the cluster is bounded: a hang is a failure, never a stuck run.
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${gateway.url}${path}`, {
      signal: AbortSignal.timeout(150_000),
      ...init,
      headers: { ...auth, ...(init.headers as object) },
    })
  const post = (body: object) =>
    api('/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  /**
   * A launch, asked again once when the nested manager failed it (`502`/`503`: an engine error or
   * timeout, which a failed launch leaves nothing behind of). On this 2-core machine that happened
   * in 2 of 6 runs, each time on a different test; the gateway's log says why, and is printed.
   */
  const launch = async (body: object) => {
    const first = await post(body)
    if (first.status !== 502 && first.status !== 503) return first
    const said = (await gateway.logs()).split('\n').slice(-6).join('\n')
    console.warn(
      `[swarm] a launch answered ${first.status} (${await first.text()}); asking once more. Gateway log:\n${said}`,
    )
    return post(body)
  }
  /** The first answer that is not a please-wait, within a bound. */
  const whenServing = (name: string, path = '/') =>
    eventually(
      async () => {
        const response = await fetch(`${gateway.url}/docker/${name}${path}`, { signal: AbortSignal.timeout(15_000) })
        if (response.status === 503) {
          await response.body?.cancel()
          return false
        }
        return response
      },
      90_000,
      `${name} to serve through the gateway`,
    )

  beforeAll(async () => {
    const [started, built] = await Promise.allSettled([
      startSwarmCluster(uniqueName('sw')),
      buildGatewayImage(GATEWAY_IMAGE),
    ])
    // A cluster that started is removed after the tests even if the image could not be built.
    if (started.status === 'fulfilled') cluster = started.value
    if (started.status === 'rejected') throw started.reason
    if (built.status === 'rejected') throw built.reason
    await cluster.load(ECHO_IMAGE)
    backend = swarm({ host: cluster.managerHost, labelRoot: LABEL_ROOT, constraints: ['node.role==worker'] })
    gateway = await startClusterGateway(cluster, GATEWAY_IMAGE, GATEWAY_CONFIG, TOKEN)
  }, 600_000)

  afterAll(async () => {
    await cluster?.destroy()
    await dockerCli('rmi', '-f', GATEWAY_IMAGE).catch(() => '')
  }, 120_000)

  testBackend({
    name: 'swarm',
    backend: lateBackend(() => backend),
    unreachable: () => swarm({ host: 'tcp://127.0.0.1:9', apiTimeoutMs: 2_000 }),
    skip: [
      {
        reason: 'a manager cannot pull on its workers: each node pulls when it starts a task',
        tests: ['pull'],
      },
      {
        reason: 'Swarm volumes are node-local, and a manager cannot remove volumes on other nodes',
        tests: ['prune volumes'],
      },
    ],
    image: ECHO_IMAGE,
    port: 80,
    logLine: 'echo listening on :80',
    newName: () => uniqueName('suite'),
  })

  it('launches on a worker and proxies HTTP, a 10 MB body byte-exact, a WebSocket echo and SSE', async () => {
    const name = uniqueName('e2e')
    const launched = await launch({ image: ECHO_IMAGE, name })
    expect(launched.status, await launched.clone().text()).toBe(201)
    expect((await cluster.nodeOf(name))?.role).toBe('worker')
    const page = await whenServing(name, '/hello?x=1')
    expect(page.status).toBe(200)
    expect(((await page.json()) as { path: string }).path).toBe('/hello')

    const body = randomBytes(10 * 1024 * 1024)
    const echoed = await fetch(`${gateway.url}/docker/${name}/raw/upload`, {
      method: 'POST',
      body,
      signal: AbortSignal.timeout(60_000),
    })
    const bytes = Buffer.from(await echoed.arrayBuffer())
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'))

    const socket = new WebSocket(`${gateway.url.replace('http', 'ws')}/docker/${name}/ws`)
    const reply = await new Promise<string>((resolve, reject) => {
      socket.once('open', () => socket.send('across the cluster'))
      socket.once('message', (data) => resolve(String(data)))
      socket.once('error', reject)
      setTimeout(() => reject(new Error('no WebSocket echo within 15 s')), 15_000)
    })
    socket.close()
    expect(reply).toBe('across the cluster')

    // Its output, followed: a request made now shows up in the open stream.
    const logs = await api(`/api/containers/${name}/logs?follow=1&tail=1`)
    const reader = logs.body!.pipeThrough(new TextDecoderStream()).getReader()
    await fetch(`${gateway.url}/docker/${name}/followed`, { signal: AbortSignal.timeout(15_000) }).then((r) => r.text())
    let followed = ''
    while (!followed.includes('GET /followed')) {
      const { value, done } = await reader.read()
      if (done) break
      followed += value
    }
    await reader.cancel()
    expect(followed).toContain('echo: GET /followed')

    const sse = await (
      await fetch(`${gateway.url}/docker/${name}/sse?n=3&gapMs=100`, { signal: AbortSignal.timeout(30_000) })
    ).text()
    expect(sse.match(/^data:/gm)).toHaveLength(3)
  })

  it("keeps tasks apart: one task cannot open another task's port, while the gateway reaches both", async () => {
    const prober = uniqueName('prober')
    const target = uniqueName('target')
    for (const name of [prober, target]) {
      expect((await launch({ image: ECHO_IMAGE, name })).status).toBe(201)
      expect((await whenServing(name)).status).toBe(200)
    }
    /** A task's container, on the node that runs it. */
    const taskOf = async (service: string) => {
      const node = (await cluster.nodeOf(service))!
      const id = await cluster.docker(node, 'ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`)
      return { node, id: id.split('\n')[0]! }
    }
    const aim = await taskOf(target)
    const addresses = (
      await cluster.docker(
        aim.node,
        'inspect',
        '--format',
        '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}',
        aim.id,
      )
    )
      .split(' ')
      .filter(Boolean)
    expect(addresses.length).toBeGreaterThan(0)
    const from = await taskOf(prober)
    // From inside the prober's task: its address on every network it has, and its service name.
    const probe = `Promise.all(process.argv.slice(1).map((h) => fetch('http://' + h + ':80/', { signal: AbortSignal.timeout(4000) }).then((r) => h + ' reached ' + r.status, (e) => h + ' blocked ' + (e.cause?.code ?? e.name)))).then((lines) => console.log(lines.join('\\n')))`
    const outcome = await cluster.docker(from.node, 'exec', from.id, 'node', '-e', probe, ...addresses, target)
    expect(outcome.split('\n')).toHaveLength(addresses.length + 1)
    expect(outcome).not.toContain('reached')
    // The prober's own page still works, and so does the target's: the gateway reaches both.
    expect((await fetch(`${gateway.url}/docker/${target}/after`, { signal: AbortSignal.timeout(15_000) })).status).toBe(
      200,
    )
    expect((await fetch(`${gateway.url}/docker/${prober}/after`, { signal: AbortSignal.timeout(15_000) })).status).toBe(
      200,
    )
    // Removing a service removes its network too, once its task is gone.
    expect((await api(`/api/containers/${target}`, { method: 'DELETE' })).status).toBe(204)
    await eventually(
      async () =>
        !(await cluster.docker(cluster.manager, 'network', 'ls', '--format', '{{.Name}}')).includes(`-${target}`),
      60_000,
      `the network of ${target} removed`,
    )
  })

  it('gives a missing image a clear 422 with its reason, and the same 400s as Docker for bad specs', async () => {
    const missing = await launch({ image: 'hde-test/nowhere:1', name: uniqueName('missing') })
    expect(missing.status).toBe(422)
    // Swarm's own words ("No such image: …") are in the operator log; the client gets why, by code.
    expect(((await missing.json()) as { error: { reason: string } }).error.reason).toBe('not_found')
    const reserved = await launch({ image: ECHO_IMAGE, labels: { [`${LABEL_ROOT}.port`]: '1' } })
    expect(reserved.status).toBe(400)
    const badPort = await launch({ image: ECHO_IMAGE, port: 70000 })
    expect(badPort.status).toBe(400)
    // Nothing was left behind.
    expect(
      await cluster.docker(cluster.manager, 'service', 'ls', '--filter', `label=${LABEL_ROOT}`, '-q'),
    ).not.toContain('nowhere')
  })

  it('rebuilds every route from service labels after a gateway restart', async () => {
    const name = uniqueName('restart')
    expect((await launch({ image: ECHO_IMAGE, name, stripPrefix: false })).status).toBe(201)
    await whenServing(name)
    await gateway.restart()
    const page = await whenServing(name, '/kept')
    expect(page.status).toBe(200)
    // The setting came back from the service's labels: the full public path reaches the container.
    expect(((await page.json()) as { path: string }).path).toBe(`/docker/${name}/kept`)
  })

  it('scales to zero when idle, and 50 concurrent requests wake it with exactly one scale-up', async () => {
    const name = uniqueName('zero')
    expect((await launch({ image: ECHO_IMAGE, name, idleTimeoutSeconds: 5 })).status).toBe(201)
    await whenServing(name)
    const service = await backend!.inspect(name)
    // The reaper scales it to zero; Swarm shuts its task down.
    await eventually(
      async () => ((await (await api(`/api/containers/${name}`)).json()) as { status: string }).status === 'stopped',
      60_000,
      `${name} scaled to zero`,
    )
    expect(
      await cluster.docker(cluster.manager, 'service', 'ps', '-q', '--filter', 'desired-state=running', name),
    ).toBe('')
    // Starts the gateway made (launches and wakes), from its own metrics.
    const starts = async () =>
      Number(/^hde_start_seconds_count (\d+)$/m.exec(await (await api('/metrics')).text())?.[1] ?? Number.NaN)
    const before = await starts()
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        fetch(`${gateway.url}/docker/${name}/woken`, {
          headers: { prefer: 'wait=60' },
          signal: AbortSignal.timeout(90_000),
        }).then((r) => r.status),
      ),
    )
    expect(answers).toEqual(Array(50).fill(200))
    expect((await starts()) - before).toBe(1)
    // And Swarm was asked for one replica once: the service's last change is that scale-up.
    expect(
      await cluster.docker(
        cluster.manager,
        'service',
        'inspect',
        '--format',
        '{{.Spec.Mode.Replicated.Replicas}} {{.PreviousSpec.Mode.Replicated.Replicas}}',
        name,
      ),
    ).toBe('1 0')
    expect((await backend!.inspect(name))?.id).toBe(service?.id)
  })

  it('purges by label and by inactivity: services and their configs go, a foreign service stays', async () => {
    const foreign = uniqueName('foreign')
    await cluster.docker(
      cluster.manager,
      'service',
      'create',
      '--detach',
      '--name',
      foreign,
      '--constraint',
      'node.role==worker',
      '--label',
      'purge=yes',
      ECHO_IMAGE,
    )
    const labelled = uniqueName('labelled')
    const withInput = uniqueName('input')
    expect((await launch({ image: ECHO_IMAGE, name: labelled, labels: { purge: 'yes' } })).status).toBe(201)
    expect((await launch({ image: ECHO_IMAGE, name: withInput, input: { a: 1 }, inputDelivery: 'file' })).status).toBe(
      201,
    )
    const configsOf = (name: string) =>
      cluster.docker(cluster.manager, 'config', 'ls', '-q', '--filter', `label=${LABEL_ROOT}.service=${name}`)
    expect(await configsOf(withInput)).not.toBe('')
    const purge = async (body: object) =>
      (await (
        await api('/api/purge', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as { removed: string[] }
    expect((await purge({ label: 'purge=yes' })).removed).toEqual([labelled])
    const idle = await purge({ inactiveSeconds: 0 })
    expect(idle.removed).toContain(withInput)
    expect(await configsOf(withInput)).toBe('')
    const services = await cluster.docker(cluster.manager, 'service', 'ls', '--format', '{{.Name}}')
    expect(services).toContain(foreign)
    // Never proxied or shown either: to the proxy it is a name with no container (as with Docker).
    const proxied = await fetch(`${gateway.url}/docker/${foreign}/`, { signal: AbortSignal.timeout(15_000) })
    expect(proxied.status).toBe(503)
    const { error } = (await proxied.json()) as { error: { message: string } }
    expect(error.message).toContain(`no container named "${foreign}"`)
    expect((await api(`/api/containers/${foreign}`)).status).toBe(404)
    expect(services).not.toContain(labelled)
    expect(services).not.toContain(withInput)
  })

  it('follows a task to another worker when its node is lost: 503s meanwhile, never a hang, then served at the same URL', async () => {
    const name = uniqueName('moved')
    expect((await launch({ image: ECHO_IMAGE, name })).status).toBe(201)
    await whenServing(name)
    const first = await cluster.nodeOf(name)
    expect(first?.role).toBe('worker')
    await cluster.stopNode(first!)
    const statuses = new Set<number>()
    const served = await eventually(
      async () => {
        const started = Date.now()
        const response = await fetch(`${gateway.url}/docker/${name}/after`, { signal: AbortSignal.timeout(20_000) })
        // A client is answered promptly, whatever the state of the cluster.
        expect(Date.now() - started).toBeLessThan(15_000)
        statuses.add(response.status)
        await response.body?.cancel()
        return response.status === 200
      },
      120_000,
      `${name} served again after its node was lost`,
    )
    expect(served).toBe(true)
    const second = await cluster.nodeOf(name)
    expect(second?.role).toBe('worker')
    expect(second?.name).not.toBe(first?.name)
    for (const status of statuses) expect([200, 502, 503, 504]).toContain(status)
  })

  it('runs as two replicas on a Redis service: both serve what one launched, and when one is killed the other serves, leads and wakes', async () => {
    const [built] = await Promise.allSettled([buildRedisImage(REDIS_IMAGE)])
    if (built.status === 'rejected') throw built.reason
    await cluster.loadOn(cluster.manager, REDIS_IMAGE)
    // Redis as a service of the cluster, on the overlay the gateways share (by name, no virtual IP).
    await cluster.docker(
      cluster.manager,
      'service',
      'create',
      '--detach',
      '--name',
      'hde-redis',
      '--network',
      SWARM_NETWORK,
      '--endpoint-mode',
      'dnsrr',
      '--constraint',
      'node.role==manager',
      REDIS_IMAGE,
    )
    await eventually(async () => (await cluster.nodeOf('hde-redis')) !== undefined, 120_000, 'Redis running')
    // The single gateway makes way for two replicas on the same engine and store.
    await cluster.docker(cluster.manager, 'rm', '-f', 'hde-gateway')
    const config = {
      ...GATEWAY_CONFIG,
      store: 'redis',
      redis: { url: 'redis://hde-redis:6379' },
      replicas: { leaseSeconds: 3 },
    }
    const [one, two] = await Promise.all([
      startClusterGateway(cluster, GATEWAY_IMAGE, config, TOKEN, { name: 'hde-gateway', port: 8000 }),
      startClusterGateway(cluster, GATEWAY_IMAGE, config, TOKEN, { name: 'hde-gateway-2', port: 8001 }),
    ])
    const leads = async (replica: ClusterGateway) =>
      /^hde_leader 1$/m.test(
        await (await fetch(`${replica.url}/metrics`, { headers: auth, signal: AbortSignal.timeout(10_000) })).text(),
      )
    await eventually(
      async () => (await leads(one)) !== (await leads(two)),
      60_000,
      'exactly one of the replicas leading',
    )
    gateway = one
    const name = uniqueName('replicated')
    expect((await launch({ image: ECHO_IMAGE, name })).status).toBe(201)
    await whenServing(name)
    // The other replica joins the service's network itself when it first routes to it.
    gateway = two
    expect((await whenServing(name, '/via-two')).status).toBe(200)
    await one.kill()
    // The survivor keeps serving, leads within the lease's time, and reaps and wakes.
    expect((await whenServing(name, '/after-kill')).status).toBe(200)
    await eventually(() => leads(two), 60_000, 'the survivor leading')
    const idle = uniqueName('replicazero')
    expect((await launch({ image: ECHO_IMAGE, name: idle, idleTimeoutSeconds: 5 })).status).toBe(201)
    await whenServing(idle)
    await eventually(
      async () => ((await (await api(`/api/containers/${idle}`)).json()) as { status: string }).status === 'stopped',
      90_000,
      `${idle} scaled to zero by the survivor`,
    )
    const woken = await fetch(`${two.url}/docker/${idle}/woken`, {
      headers: { prefer: 'wait=60' },
      signal: AbortSignal.timeout(90_000),
    })
    expect(woken.status).toBe(200)
  })
})
