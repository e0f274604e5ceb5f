/**
 * The loads a platform puts on its gateway, beside the request benchmarks of `bench/run.ts`:
 *   - open WebSockets: many notebooks open at once, each pinging now and then;
 *   - a launch burst: a class of users opening their tools at the same minute;
 *   - many containers: the list API and proxied requests with hundreds of containers running.
 * Each function drives one running gateway (a CLI process) and the Docker Engine; the benchmark
 * reports what they return.
 */
import { readFile } from 'node:fs/promises'
import type Docker from 'dockerode'
import type WebSocket from 'ws'
import { STATIC_IMAGE, eventually, uniqueName } from '../test/helpers/docker.js'
import type { GatewayProcess } from '../test/helpers/gateway-process.js'
import { openSockets } from '../test/helpers/sockets.js'
import { launchSpec } from '../test/helpers/launch-spec.js'
import { createBody } from '../src/backends/docker/create.js'
import { DEFAULT_ISOLATED_NETWORK } from '../src/backends/docker/network.js'
import { DEFAULT_CAP_DROP } from '../src/backends/docker/options.js'

/** Resident memory of a process, in KB. */
async function rssKb(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1])
}

/** The `q` quantile of sorted values, rounded to 0.01. */
const quantile = (sorted: number[], q: number) =>
  Math.round((sorted[Math.floor(q * (sorted.length - 1))] ?? Number.NaN) * 100) / 100

/** What {@link heldWebSockets} measured. */
export interface HeldSockets {
  sockets: number
  seconds: number
  pings: number
  answered: number
  dropped: number
  p50Ms: number
  p99Ms: number
  /** Growth of the gateway's resident memory per open socket, in KB. */
  rssKbPerSocket: number
}

/**
 * `count` WebSockets through the gateway to one container, held for `seconds`, each sending a ping
 * every `everyMs` (spread evenly, as real clients drift apart). Every ping must be answered; a
 * socket that closes counts as dropped.
 */
export async function heldWebSockets(
  /** The gateway's process, whose resident memory is read. */
  pid: number,
  url: string,
  count = 2_000,
  seconds = 60,
  everyMs = 5_000,
): Promise<HeldSockets> {
  const before = await rssKb(pid)
  const sockets: WebSocket[] = []
  const latencies: number[] = []
  let pings = 0
  let dropped = 0
  try {
    await openSockets(url, count, sockets)
    const grown = (await rssKb(pid)) - before
    const deadline = Date.now() + seconds * 1000
    await Promise.all(
      sockets.map(async (ws, i) => {
        let open = true
        ws.once('close', () => {
          open = false
          dropped++
        })
        // Spread the first pings over one period, then one per period each.
        await new Promise((r) => setTimeout(r, (i * everyMs) / count))
        while (open && Date.now() < deadline) {
          const sent = performance.now()
          pings++
          const answered = await new Promise<boolean>((done) => {
            const timer = setTimeout(() => done(false), everyMs)
            ws.once('message', () => {
              clearTimeout(timer)
              done(true)
            })
            ws.send('ping')
          })
          if (answered) latencies.push(performance.now() - sent)
          await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (performance.now() - sent))))
        }
      }),
    )
    latencies.sort((a, b) => a - b)
    return {
      sockets: count,
      seconds,
      pings,
      answered: latencies.length,
      dropped,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      rssKbPerSocket: Math.round((grown / count) * 10) / 10,
    }
  } finally {
    for (const ws of sockets) {
      ws.removeAllListeners('close')
      ws.terminate()
    }
  }
}

/** What {@link launchBurst} measured. */
export interface LaunchBurst {
  launches: number
  /** Launches that did not reach a first `200` (with why), through the gateway and directly. */
  failed: { gateway: string[]; direct: string[] }
  /** From the first request to the last container's first `200` through the gateway. */
  gatewayMs: number
  /** The same launches done directly: create + start + first `200`, all in parallel. */
  directMs: number
  /**
   * The same again with the containers the gateway creates (its create body: the isolated
   * network, an init, dropped capabilities, limits), published on loopback like the plain ones:
   * what the engine itself takes for them, so that the gateway's own share shows.
   */
  sameSettingsMs: number
}

/** Poll until `url` answers 200. */
const firstOk = (url: string, what: string) =>
  eventually(async () => (await fetch(url).catch(() => undefined))?.status === 200, 60_000, what)

/**
 * `count` launches of a small image at once, each until its first `200` through the proxy, against
 * the same work done directly on the engine in parallel (each container's port published on
 * loopback, so the benchmark, like the tests, talks to loopback only).
 */
export async function launchBurst(gateway: GatewayProcess, docker: Docker, count = 30): Promise<LaunchBurst> {
  const names = Array.from({ length: count }, () => uniqueName('burst'))
  const failed: LaunchBurst['failed'] = { gateway: [], direct: [] }
  /** Each launch to its end; a failure is reported, not thrown, so one engine hiccup does not void the figure. */
  const settle = (attempts: Promise<unknown>[], into: string[]) =>
    Promise.allSettled(attempts).then((outcomes) => {
      for (const outcome of outcomes) if (outcome.status === 'rejected') into.push(String(outcome.reason))
    })
  let started = performance.now()
  await settle(
    names.map(async (name) => {
      const launched = await fetch(`${gateway.url}/api/containers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: STATIC_IMAGE, name }),
      })
      if (launched.status !== 201) throw new Error(`${launched.status} ${await launched.text()}`)
      await firstOk(`${gateway.url}/docker/${name}/`, `${name} through the gateway`)
    }),
    failed.gateway,
  )
  const gatewayMs = Math.round(performance.now() - started)
  await Promise.all(names.map((name) => fetch(`${gateway.url}/api/containers/${name}`, { method: 'DELETE' })))

  const direct = Array.from({ length: count }, () => uniqueName('burstref'))
  started = performance.now()
  await settle(
    direct.map(async (name) => {
      const container = await docker.createContainer({
        name,
        Image: STATIC_IMAGE,
        ExposedPorts: { '80/tcp': {} },
        HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
      })
      await container.start()
      const port = (await container.inspect()).NetworkSettings.Ports['80/tcp']?.[0]?.HostPort
      await firstOk(`http://127.0.0.1:${port}/`, `${name} directly`)
    }),
    failed.direct,
  )
  const directMs = Math.round(performance.now() - started)
  await removeAll(docker, direct)

  const same = Array.from({ length: count }, () => uniqueName('burstsame'))
  started = performance.now()
  await settle(
    same.map(async (name) => {
      // The gateway's own create body, under a label root no gateway of this run manages.
      const body = createBody(launchSpec(name, { image: STATIC_IMAGE, pidsLimit: 512 }), [], {
        root: 'io.github.hde-bench-reference',
        reach: { kind: 'published', host: '127.0.0.1' },
        publishHost: '127.0.0.1',
        network: DEFAULT_ISOLATED_NETWORK,
        capDrop: DEFAULT_CAP_DROP,
        noNewPrivileges: true,
        stopTimeoutSeconds: 10,
      })
      const container = await docker.createContainer(body as Docker.ContainerCreateOptions)
      await container.start()
      const port = (await container.inspect()).NetworkSettings.Ports['80/tcp']?.[0]?.HostPort
      await firstOk(`http://127.0.0.1:${port}/`, `${name} as the gateway makes it`)
    }),
    failed.direct,
  )
  const sameSettingsMs = Math.round(performance.now() - started)
  await removeAll(docker, same)
  return { launches: count, failed, gatewayMs, directMs, sameSettingsMs }
}

/** Remove containers made directly on the engine, whatever state they are in. */
const removeAll = (docker: Docker, names: string[]) =>
  Promise.all(
    names.map((name) =>
      docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => {}),
    ),
  )

/** p50 and p99 of a series of requests, in ms, and the size of the last answer in bytes. */
export interface Timing {
  p50: number
  p99: number
  bytes: number
}

/** What {@link manyContainers} measured, on a gateway with a few containers and on one with many. */
export interface ManyContainers {
  few: number
  many: number
  /** Requests measured per series. */
  requests: number
  /** `GET /api/containers`: every container, an answer that grows with their number. */
  list: { few: Timing; many: Timing }
  /** `GET /api/containers?label=owner=…`: one user's two containers, as a platform's page for that user asks. */
  userList: { few: Timing; many: Timing }
  /** A proxied GET, spread over `few` of the gateway's containers at both sizes. */
  proxy: { few: Timing; many: Timing }
  /** The same GETs sent straight to the same containers: the machine's own noise, with no gateway. */
  direct: { few: Timing; many: Timing }
}

/** Containers per user in {@link manyContainers}. */
const PER_USER = 2

/** The series measured at each size. */
const SERIES = ['list', 'userList', 'proxy', 'direct'] as const
type Series = (typeof SERIES)[number]

/**
 * The list API's and a proxied GET's p50 and p99 on a gateway managing `few` running containers
 * and on one managing `many`, both running at once (each with a label root of its own), so that
 * the machine, its running containers and its moments are the same for both: what differs is only
 * how many containers the gateway manages. The same GETs sent straight to the containers are the
 * control. At both sizes the GETs go to `few` containers in turn, so that each container sees the
 * same traffic (a container that has sat idle longer answers its next request later, with or
 * without a gateway). Containers are launched through their gateway, `batch` at a time, two per
 * user (label `owner`), with the gateway's default CPU share. The eight series (four per size) are
 * interleaved request by request, in a new order each time, after 50 unmeasured requests each;
 * requests are sequential, so a container sees a request now and then, never a burst.
 */
export async function manyContainers(
  /** Start a gateway (a fresh process) that manages the containers under `labelRoot`. */
  startGateway: (labelRoot: string) => Promise<GatewayProcess>,
  labelRoot: string,
  docker: Docker,
  few = 6,
  many = 200,
  requests = 3_000,
  batch = 10,
): Promise<ManyContainers> {
  const sizes = { few, many }
  type Size = keyof typeof sizes
  const gateways: Partial<Record<Size, GatewayProcess>> = {}
  const launched: Record<Size, { names: string[]; addresses: string[] }> = {
    few: { names: [], addresses: [] },
    many: { names: [], addresses: [] },
  }
  const ownerOf = (index: number) => `user-${Math.floor(index / PER_USER)}`
  const launch = async (gateway: GatewayProcess, into: { names: string[]; addresses: string[] }, count: number) => {
    while (into.names.length < count) {
      const next = Array.from({ length: Math.min(batch, count - into.names.length) }, () => uniqueName('many'))
      const first = into.names.length
      // Named before they are launched, so that a failed launch is removed with the rest.
      into.names.push(...next)
      const addresses = await Promise.all(
        next.map(async (name, i) => {
          const answer = await fetch(`${gateway.url}/api/containers`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', prefer: 'wait=60' },
            body: JSON.stringify({ image: STATIC_IMAGE, name, labels: { owner: ownerOf(first + i) } }),
          })
          if (answer.status !== 201) throw new Error(`many: ${answer.status} ${await answer.text()}`)
          await firstOk(`${gateway.url}/docker/${name}/`, name)
          const info = await docker.getContainer(name).inspect()
          return Object.values(info.NetworkSettings.Networks)[0]!.IPAddress
        }),
      )
      into.addresses.push(...addresses)
    }
  }
  /** The users of the first `few` containers: each gateway has them. */
  const users = Array.from({ length: few / PER_USER }, (_, i) => ownerOf(i * PER_USER))
  const url = (size: Size, kind: Series, i: number): string => {
    const gateway = gateways[size]!
    const { names, addresses } = launched[size]
    switch (kind) {
      case 'list':
        return `${gateway.url}/api/containers`
      case 'userList':
        return `${gateway.url}/api/containers?label=owner=${users[i % users.length]}`
      case 'proxy':
        return `${gateway.url}/docker/${names[i % few]}/`
      case 'direct':
        return `http://${addresses[i % few]}/`
    }
  }
  const steps = (Object.keys(sizes) as Size[]).flatMap((size) => SERIES.map((kind) => ({ size, kind })))
  const times = new Map(steps.map(({ size, kind }) => [`${size} ${kind}`, [] as number[]]))
  const bytes = new Map<string, number>()
  try {
    gateways.few = await startGateway(`${labelRoot}.few`)
    gateways.many = await startGateway(`${labelRoot}.many`)
    await launch(gateways.few, launched.few, few)
    await launch(gateways.many, launched.many, many)
    let seed = 1
    /** A repeatable shuffle (a linear congruential generator), so that no series always follows the same one. */
    const shuffle = <T>(items: T[]): T[] => {
      for (let k = items.length - 1; k > 0; k--) {
        seed = (seed * 48271) % 2147483647
        const j = seed % (k + 1)
        ;[items[k], items[j]] = [items[j]!, items[k]!]
      }
      return items
    }
    for (let i = -50; i < requests; i++) {
      for (const { size, kind } of shuffle([...steps])) {
        const started = performance.now()
        const response = await fetch(url(size, kind, i + 50))
        const body = await response.arrayBuffer()
        const elapsed = performance.now() - started
        if (response.status !== 200) throw new Error(`many: ${size} ${kind} answered ${response.status}`)
        bytes.set(`${size} ${kind}`, body.byteLength)
        if (i >= 0) times.get(`${size} ${kind}`)!.push(elapsed)
      }
    }
    const timing = (size: Size, kind: Series): Timing => {
      const sorted = times.get(`${size} ${kind}`)!.sort((a, b) => a - b)
      return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), bytes: bytes.get(`${size} ${kind}`) ?? 0 }
    }
    const pair = (kind: Series) => ({ few: timing('few', kind), many: timing('many', kind) })
    return {
      few,
      many,
      requests,
      list: pair('list'),
      userList: pair('userList'),
      proxy: pair('proxy'),
      direct: pair('direct'),
    }
  } finally {
    for (const size of Object.keys(sizes) as Size[]) {
      const gateway = gateways[size]
      if (!gateway) continue
      const { names } = launched[size]
      for (let i = 0; i < names.length; i += 20)
        await Promise.all(
          names.slice(i, i + 20).map((name) => fetch(`${gateway.url}/api/containers/${name}`, { method: 'DELETE' })),
        )
      await gateway.stop()
    }
  }
}
