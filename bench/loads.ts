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

/** What {@link manyContainers} measured, at a few containers and at many. */
export interface ManyContainers {
  few: number
  many: number
  /** `GET /api/containers`: every container, an answer that grows with their number. */
  list: { few: Timing; many: Timing }
  /** `GET /api/containers?label=owner=…`: one user's two containers, as a platform's page for that user asks. */
  userList: { few: Timing; many: Timing }
  /** A proxied GET. */
  proxy: { few: Timing; many: Timing }
  /** The same GET sent straight to the container's address: the machine's own noise, with no gateway. */
  direct: { few: Timing; many: Timing }
}

/** Containers per user in {@link manyContainers}. */
const PER_USER = 2

/**
 * The list API's and a proxied GET's p50 and p99 with `few` running containers and with `many`;
 * the same GET sent straight to the containers is the control. Containers are launched through the gateway, `batch` at a time, two per user (label
 * `owner`). The series are interleaved in slices, so that whatever else the machine does at a
 * moment weighs on each alike, and each starts after unmeasured requests, so that it measures the
 * steady state rather than the one re-read of the engine that the launches caused.
 */
export async function manyContainers(
  gateway: GatewayProcess,
  docker: Docker,
  few = 6,
  many = 200,
  batch = 10,
): Promise<ManyContainers> {
  const names: string[] = []
  const addresses: string[] = []
  const ownerOf = (index: number) => `user-${Math.floor(index / PER_USER)}`
  const launch = async (upTo: number) => {
    while (names.length < upTo) {
      const next = Array.from({ length: Math.min(batch, upTo - names.length) }, () => uniqueName('many'))
      const started = await Promise.all(
        next.map(async (name, i) => {
          const launched = await fetch(`${gateway.url}/api/containers`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', prefer: 'wait=60' },
            body: JSON.stringify({
              image: STATIC_IMAGE,
              name,
              cpus: 0.1,
              labels: { owner: ownerOf(names.length + i) },
            }),
          })
          if (launched.status !== 201) throw new Error(`many: ${launched.status} ${await launched.text()}`)
          await firstOk(`${gateway.url}/docker/${name}/`, name)
          const info = await docker.getContainer(name).inspect()
          return Object.values(info.NetworkSettings.Networks)[0]!.IPAddress
        }),
      )
      names.push(...next)
      addresses.push(...started)
    }
  }
  /** The users of the first `few` containers, the same at both sizes. */
  const users = Array.from({ length: few / PER_USER }, (_, i) => ownerOf(i * PER_USER))
  const series = {
    list: () => `${gateway.url}/api/containers`,
    userList: (i: number) => `${gateway.url}/api/containers?label=owner=${users[i % users.length]}`,
    proxy: (i: number) => `${gateway.url}/docker/${names[i % names.length]}/`,
    direct: (i: number) => `http://${addresses[i % names.length]}/`,
  }
  type Series = keyof typeof series
  const kinds = Object.keys(series) as Series[]
  /** 1,000 requests of each series, sequential, in interleaved slices of 100, after 50 unmeasured ones each. */
  const measure = async (): Promise<Record<Series, Timing>> => {
    const times = new Map(kinds.map((kind) => [kind, [] as number[]]))
    const bytes = new Map<Series, number>()
    for (let slice = -1; slice < 10; slice++) {
      for (const kind of kinds) {
        for (let i = 0; i < (slice < 0 ? 50 : 100); i++) {
          const started = performance.now()
          const response = await fetch(series[kind](slice * 100 + i + 100))
          bytes.set(kind, (await response.arrayBuffer()).byteLength)
          if (response.status !== 200) throw new Error(`many: ${kind} answered ${response.status}`)
          if (slice >= 0) times.get(kind)!.push(performance.now() - started)
        }
      }
    }
    const timing = (kind: Series): Timing => {
      const sorted = times.get(kind)!.sort((a, b) => a - b)
      return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), bytes: bytes.get(kind) ?? 0 }
    }
    return Object.fromEntries(kinds.map((kind) => [kind, timing(kind)])) as Record<Series, Timing>
  }
  try {
    await launch(few)
    const atFew = await measure()
    await launch(many)
    const atMany = await measure()
    return {
      few,
      many,
      list: { few: atFew.list, many: atMany.list },
      userList: { few: atFew.userList, many: atMany.userList },
      proxy: { few: atFew.proxy, many: atMany.proxy },
      direct: { few: atFew.direct, many: atMany.direct },
    }
  } finally {
    for (let i = 0; i < names.length; i += 20)
      await Promise.all(
        names.slice(i, i + 20).map((name) => fetch(`${gateway.url}/api/containers/${name}`, { method: 'DELETE' })),
      )
  }
}
