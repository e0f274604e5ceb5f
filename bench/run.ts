/**
 * The benchmark (`npm run bench`): every contestant side by side on the same upstream container,
 * the same load generator (wrk, one thread) and the same machine, all on loopback.
 *   direct   — the container's own address on the Docker bridge (the limit)
 *   nginx    — Debian nginx-light as a reverse proxy with upstream keep-alive
 *   caddy    — Debian caddy, `reverse_proxy` with its defaults
 *   chp      — configurable-http-proxy (JupyterHub's Node proxy)
 *   node/bun — this gateway on Node and on Bun
 *   node-redis, bun-redis — the same on the Redis store replicas share (a redis-server of its own)
 *   bun-bare, node-bare — for small GETs only: each runtime's floor, a proxy with no gateway logic
 * Contestants are measured in turn, round after round (BENCH_ROUNDS, 3); each figure is the median.
 * Every proxy reaches the container at the same address: the gateways run with
 * `docker.reach: "network"`, and nginx and configurable-http-proxy point at the same bridge address.
 * Load loops are bounded in time. Results: bench/results/<time>.json and bench/results/latest.md.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import Docker from 'dockerode'
import { memory } from '../src/backends/memory.js'
import { RouteTable } from '../src/containers/route-table.js'
import { ECHO_IMAGE, STATIC_IMAGE, eventually, removeRunContainers, uniqueName } from '../test/helpers/docker.js'
import { peakRss, resetPeakRss, startGateway, type GatewayProcess } from '../test/helpers/gateway-process.js'
import { openSockets } from '../test/helpers/sockets.js'
import { startRedis, type RedisServer } from '../test/helpers/redis.js'
import { type CpuShare, interleaved } from './cpu.js'
import { heldWebSockets, launchBurst, manyContainers } from './loads.js'

const ROOT = resolve(import.meta.dirname, '..')
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6)
/** Interleaved rounds: each figure reported is the median of this many (odd, so a median is a measurement). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
/** Turns per contestant for the compared figures, and each turn's length in seconds (see `interleaved`). */
const SLICES = Number(process.env.BENCH_SLICES ?? 4)
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? 2)
const CONNECTIONS = 50
const LABEL_ROOT = 'io.github.hde-bench'
/** A built checkout of another commit (with its node_modules) to run beside this one: `BENCH_BASELINE=/path`. */
const BASELINE = process.env.BENCH_BASELINE

/** A container's address on the first network it is attached to (the gateway's isolated network, or the bridge). */
const firstAddress = (info: Docker.ContainerInspectInfo) => Object.values(info.NetworkSettings.Networks)[0]?.IPAddress

interface Contestant {
  name: string
  /** Base URL; workload paths are appended. */
  base: string
  pid?: number
  /** End its processes, once its round is measured. */
  stop?: () => Promise<void>
}
/**
 * Start a contestant's processes afresh. Each round measures new processes, so that nothing one
 * process picked up at its start (its compiled code, its memory) decides every round.
 */
type Start = () => Promise<Contestant>
interface Result {
  requests: number
  rps: number
  p50: number
  p99: number
  errors: number
}

const freePort = async () => {
  const { createServer } = await import('node:net')
  return new Promise<number>((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => done(port))
    })
  })
}
const children: ChildProcess[] = []
/** A contestant's stop: end its process and wait until it has exited. */
const stopping = (child: ChildProcess) => () =>
  new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done()
    child.once('exit', () => done())
    child.kill()
  })
const waitFor = (url: string) =>
  eventually(async () => (await fetch(url).catch(() => undefined))?.status === 200, 20_000, url)

async function startNginx(upstream: string): Promise<Contestant> {
  const dir = await mkdtemp(join(tmpdir(), 'hde-nginx-'))
  const port = await freePort()
  await writeFile(
    join(dir, 'nginx.conf'),
    `daemon off; worker_processes auto; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  upstream container { server ${upstream}; keepalive 64; }
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:${port};
    location /docker/bench/ {
      proxy_pass http://container/;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off; proxy_request_buffering off; client_max_body_size 0;
    }
  }
}
`,
  )
  const child = spawn('nginx', ['-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
  children.push(child)
  const base = `http://127.0.0.1:${port}/docker/bench`
  await waitFor(`${base}/`)
  return { name: 'nginx', base, pid: child.pid!, stop: stopping(child) }
}

async function startChp(upstream: string): Promise<Contestant> {
  const [port, apiPort] = [await freePort(), await freePort()]
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'node_modules/configurable-http-proxy/bin/configurable-http-proxy'),
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--api-ip',
      '127.0.0.1',
      '--api-port',
      String(apiPort),
      '--default-target',
      `http://${upstream}`,
      '--log-level',
      'error',
    ],
    { stdio: 'ignore', env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: 'bench' } },
  )
  children.push(child)
  const base = `http://127.0.0.1:${port}`
  await waitFor(`${base}/`)
  return { name: 'chp', base, pid: child.pid!, stop: stopping(child) }
}

async function startBareBun(upstream: string): Promise<Contestant> {
  const port = await freePort()
  const child = spawn(
    join(ROOT, 'node_modules/.bin/bun'),
    [join(ROOT, 'bench/bare-bun.ts'), String(port), `http://${upstream}`, '/docker/bench'],
    { stdio: 'ignore' },
  )
  children.push(child)
  const base = `http://127.0.0.1:${port}/docker/bench`
  await waitFor(`${base}/`)
  return { name: 'bun-bare', base, pid: child.pid!, stop: stopping(child) }
}

/** Node's floor: the bare proxy of `bench/bare-node.ts` (tsx only compiles it at start). */
async function startBareNode(upstream: string): Promise<Contestant> {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench/bare-node.ts'), String(port), `http://${upstream}`, '/docker/bench'],
    { stdio: 'ignore', cwd: ROOT },
  )
  children.push(child)
  const base = `http://127.0.0.1:${port}/docker/bench`
  await waitFor(`${base}/`)
  return { name: 'node-bare', base, pid: child.pid!, stop: stopping(child) }
}

/** Caddy (Debian's package) with `reverse_proxy` and its defaults: what a user might put in front of Docker instead. */
async function startCaddy(upstream: string): Promise<Contestant> {
  const dir = await mkdtemp(join(tmpdir(), 'hde-caddy-'))
  const port = await freePort()
  await writeFile(
    join(dir, 'Caddyfile'),
    `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  handle_path /docker/bench/* {
    reverse_proxy ${upstream}
  }
}
`,
  )
  const child = spawn('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    stdio: 'ignore',
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  })
  children.push(child)
  const base = `http://127.0.0.1:${port}/docker/bench`
  await waitFor(`${base}/`)
  return { name: 'caddy', base, pid: child.pid!, stop: stopping(child) }
}

/** A wrk duration in its own units (us, ms, s), as milliseconds. */
const millis = (text: string) => {
  const [, value, unit] = /([\d.]+)(us|ms|s)/.exec(text) ?? []
  return Number(value) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1)
}

async function load(url: string, options: { method?: string; body?: Buffer; seconds?: number } = {}): Promise<Result> {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${options.seconds ?? SECONDS}s`, '--latency', url]
  if (options.method) {
    const script = join(await mkdtemp(join(tmpdir(), 'hde-wrk-')), 'request.lua')
    await writeFile(
      script,
      `wrk.method = "${options.method}"\nwrk.body = string.rep("a", ${options.body?.length ?? 0})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`,
    )
    args.unshift('-s', script)
  }
  const { stdout } = await promisify(execFile)('wrk', args)
  const count = (pattern: RegExp) => Number(pattern.exec(stdout)?.[1] ?? 0)
  const socketErrors =
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
      .exec(stdout)
      ?.slice(1)
      .reduce((sum, n) => sum + Number(n), 0) ?? 0
  return {
    requests: count(/(\d+) requests in/),
    rps: Math.round(count(/Requests\/sec:\s+([\d.]+)/)),
    p50: Math.round(millis(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? '') * 100) / 100,
    p99: Math.round(millis(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '') * 100) / 100,
    errors: count(/Non-2xx or 3xx responses: (\d+)/) + socketErrors,
  }
}

async function wsEcho(url: string, seconds = SECONDS): Promise<Result> {
  const sockets = await openSockets(url, 20)
  const latencies: number[] = []
  const deadline = Date.now() + seconds * 1000
  await Promise.all(
    sockets.map(async (ws) => {
      while (Date.now() < deadline) {
        const sent = performance.now()
        await new Promise<void>((done) => {
          ws.once('message', () => done())
          ws.send('ping through the proxy')
        })
        latencies.push(performance.now() - sent)
      }
      ws.close()
    }),
  )
  latencies.sort((a, b) => a - b)
  const at = (q: number) => Math.round(latencies[Math.floor(q * (latencies.length - 1))]! * 100) / 100
  return {
    requests: latencies.length,
    rps: Math.round(latencies.length / seconds),
    p50: at(0.5),
    p99: at(0.99),
    errors: 0,
  }
}

async function coldStart(gateway: GatewayProcess, docker: Docker): Promise<{ gatewayMs: number; dockerMs: number }> {
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  const viaGateway: number[] = []
  const alone: number[] = []
  for (let i = 0; i < 3; i++) {
    const name = uniqueName('cold')
    let started = performance.now()
    await fetch(`${gateway.url}/api/containers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: STATIC_IMAGE, name }),
    })
    await eventually(async () => (await fetch(`${gateway.url}/docker/${name}/`)).status === 200, 30_000, 'cold start')
    viaGateway.push(performance.now() - started)

    started = performance.now()
    const container = await docker.createContainer({
      name: uniqueName('coldref'),
      Image: STATIC_IMAGE,
      ExposedPorts: { '80/tcp': {} },
    })
    await container.start()
    const address = firstAddress(await container.inspect())
    await eventually(
      async () => (await fetch(`http://${address}/`).catch(() => undefined))?.status === 200,
      30_000,
      'reference start',
    )
    alone.push(performance.now() - started)
    await container.remove({ force: true })
  }
  return { gatewayMs: Math.round(median(viaGateway)), dockerMs: Math.round(median(alone)) }
}

/** Peak RSS growth of `gateway` while 1 GB is posted to `url` and the answer is read to its end. */
async function uploadRss(gateway: GatewayProcess, url: string): Promise<number> {
  const size = 1024 * 1024 * 1024
  const chunk = new Uint8Array(1024 * 1024)
  let sent = 0
  const body = new ReadableStream<Uint8Array>({
    pull: (c) => {
      if (sent >= size) return c.close()
      sent += chunk.length
      c.enqueue(chunk)
    },
  })
  await resetPeakRss(gateway.pid)
  const before = await peakRss(gateway.pid)
  const res = await fetch(url, { method: 'POST', body, duplex: 'half' } as RequestInit)
  for await (const _ of res.body as unknown as AsyncIterable<Uint8Array>);
  return Math.round(((await peakRss(gateway.pid)) - before) / 1_048_576)
}

/** How long the gateway is watched at rest (`bench/at-rest.ts`). */
const AT_REST_SECONDS = Number(process.env.BENCH_AT_REST_SECONDS ?? 60)

function lookupNs(count: number): number {
  const table = new RouteTable(memory())
  const record = {
    id: 'x',
    name: '',
    image: 'a',
    state: 'running' as const,
    createdAt: '',
    labels: {},
    port: 80,
    memReservationMb: 0,
    upstream: 'http://127.0.0.1:1',
  }
  for (let i = 0; i < count; i++) table.remember(`c${i}`, { ...record, name: `c${i}` })
  const rounds = 200_000
  const started = process.hrtime.bigint()
  for (let i = 0; i < rounds; i++) void table.lookup(`c${(i * 7919) % count}`)
  return Number(process.hrtime.bigint() - started) / rounds
}

/** The median of each figure over the rounds, per contestant and workload. */
function medianResults(all: Record<string, Record<string, Result>>[]): Record<string, Record<string, Result>> {
  const out: Record<string, Record<string, Result>> = {}
  for (const [name, workloads] of Object.entries(all[0]!)) {
    out[name] = {}
    for (const workload of Object.keys(workloads)) {
      const each = all.map((round) => round[name]![workload]!)
      out[name]![workload] = {
        requests: median(each.map((r) => r.requests)),
        rps: median(each.map((r) => r.rps)),
        p50: median(each.map((r) => r.p50)),
        p99: median(each.map((r) => r.p99)),
        errors: each.reduce((sum, r) => sum + r.errors, 0),
      }
    }
  }
  return out
}

/** The median of each CPU figure over the rounds, per contestant. */
function medianShares(all: Record<string, CpuShare>[]): Record<string, CpuShare> {
  const out: Record<string, CpuShare> = {}
  for (const name of Object.keys(all[0]!)) {
    const each = all.map((round) => round[name]!)
    out[name] = {
      proxyUs: median(each.map((s) => s.proxyUs)),
      containerUs: median(each.map((s) => s.containerUs)),
      machineUs: median(each.map((s) => s.machineUs)),
      busyPercent: median(each.map((s) => s.busyPercent)),
    }
  }
  return out
}

/**
 * One figure from a contestant's turns: every request counted, the rate over all the turns' time,
 * and the median of the turns' p50 and p99.
 */
function combined(turns: Result[]): Result {
  const requests = turns.reduce((n, r) => n + r.requests, 0)
  return {
    requests,
    rps: Math.round(requests / (turns.length * SLICE_SECONDS)),
    p50: median(turns.map((r) => r.p50)),
    p99: median(turns.map((r) => r.p99)),
    errors: turns.reduce((n, r) => n + r.errors, 0),
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const docker = new Docker()
let redis: RedisServer | undefined
try {
  redis = await startRedis()
  // Node runs the compiled package, as in production (no TypeScript loader in the request path).
  const config = { labelRoot: LABEL_ROOT, docker: { reach: 'network' } }
  const gwNode = await startGateway('node', config, {}, { compiled: true })
  const gwBun = await startGateway('bun', config)
  const launched = await fetch(`${gwNode.url}/api/containers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image: ECHO_IMAGE, name: 'bench', cpus: 1, env: { ECHO_QUIET: '1' } }),
  })
  if (launched.status !== 201) throw new Error(`launch failed: ${await launched.text()}`)
  await waitFor(`${gwNode.url}/docker/bench/`)
  await waitFor(`${gwBun.url}/docker/bench/`)
  const upstream = `${firstAddress(await docker.getContainer('bench').inspect())}:80`

  /** A gateway of its own for one round; it finds the `bench` container by its labels. */
  const gateway =
    (name: string, runtime: 'node' | 'bun', root?: string, extra: object = {}): Start =>
    async () => {
      const gw = await startGateway(
        runtime,
        { ...config, ...extra },
        {},
        { compiled: runtime === 'node', ...(root ? { root } : {}) },
      )
      const base = `${gw.url}/docker/bench`
      await waitFor(`${base}/`)
      return { name, base, pid: gw.pid, stop: () => gw.stop() }
    }
  const starts: Start[] = [
    async () => ({ name: 'direct', base: `http://${upstream}` }),
    () => startNginx(upstream),
    () => startCaddy(upstream),
    () => startChp(upstream),
    gateway('node', 'node'),
    gateway('bun', 'bun'),
    // The store replicas share, beside the file store of the two above (each its own key prefix).
    gateway('node-redis', 'node', undefined, { store: 'redis', redis: { url: redis.url, keyPrefix: 'bench-node:' } }),
    gateway('bun-redis', 'bun', undefined, { store: 'redis', redis: { url: redis.url, keyPrefix: 'bench-bun:' } }),
    // An earlier build of the project on the same container, to measure a change against (same run).
    ...(BASELINE ? [gateway('node-baseline', 'node', BASELINE), gateway('bun-baseline', 'bun', BASELINE)] : []),
  ]
  const container = docker.getContainer('bench')
  const floors: Start[] = [() => startBareBun(upstream), () => startBareNode(upstream)]
  const floorNames = ['bun-bare', 'node-bare']
  const post = Buffer.alloc(64 * 1024, 97)
  /** Every figure is the median of ROUNDS rounds; each round measures every contestant in turn. */
  const rounds: {
    results: Record<string, Record<string, Result>>
    cpu: Record<string, CpuShare>
    wsCpu: Record<string, CpuShare>
  }[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const measured: (typeof rounds)[number] = { results: {}, cpu: {}, wsCpu: {} }
    const running: Contestant[] = []
    try {
      for (const start of [...starts, ...floors]) running.push(await start())
      for (const c of running) {
        console.error(`round ${round + 1}/${ROUNDS}: warming up ${c.name}…`)
        await load(`${c.base}/`) // warm-up of the new processes, not reported
      }
      // The figures compared with each other (CPU per request and per message, and the rates the
      // targets name) come from interleaved turns of every contestant.
      console.error(`round ${round + 1}/${ROUNDS}: small GETs and WebSocket echoes, in turns…`)
      const small = await interleaved(running, container, SLICES, (c) => load(`${c.base}/`, { seconds: SLICE_SECONDS }))
      const ws = await interleaved(running, container, SLICES, (c) =>
        wsEcho(`${c.base.replace(/^http/, 'ws')}/socket`, SLICE_SECONDS),
      )
      for (const c of running) {
        measured.cpu[c.name] = small.get(c.name)!.cpu
        measured.wsCpu[c.name] = ws.get(c.name)!.cpu
        measured.results[c.name] = {
          'small GET': combined(small.get(c.name)!.results),
          'WebSocket echo': combined(ws.get(c.name)!.results),
        }
        // The floors are references for small GETs and WebSocket messages only.
        if (floorNames.includes(c.name)) continue
        console.error(`round ${round + 1}/${ROUNDS}: measuring ${c.name}…`)
        measured.results[c.name]!['1 MB GET'] = await load(`${c.base}/bytes?n=1048576`)
        measured.results[c.name]!['64 KB POST echo'] = await load(`${c.base}/raw/echo`, {
          method: 'POST',
          body: post,
        })
      }
    } finally {
      for (const c of running) await c.stop?.()
    }
    rounds.push(measured)
  }
  const results = medianResults(rounds.map((r) => r.results))
  const cpu = medianShares(rounds.map((r) => r.cpu))
  const wsCpu = medianShares(rounds.map((r) => r.wsCpu))
  const floor = results['bun-bare']!['small GET']!
  const nodeFloor = results['node-bare']!['small GET']!
  const cold = await coldStart(gwNode, docker)
  // An upload answered with a short summary, then an echo: 1 GB up and the same 1 GB back down at once.
  const rss = {
    upload: {
      node: await uploadRss(gwNode, `${gwNode.url}/docker/bench/upload`),
      bun: await uploadRss(gwBun, `${gwBun.url}/docker/bench/upload`),
    },
    echo: {
      node: await uploadRss(gwNode, `${gwNode.url}/docker/bench/raw/echo`),
      bun: await uploadRss(gwBun, `${gwBun.url}/docker/bench/raw/echo`),
    },
  }
  const lookup = { at10: Math.round(lookupNs(10)), at10000: Math.round(lookupNs(10_000)) }
  console.error('measuring the gateway at rest…')
  const atRest = JSON.parse(
    (
      await promisify(execFile)(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench/at-rest.ts'), String(AT_REST_SECONDS)],
        {
          cwd: ROOT,
        },
      )
    ).stdout,
  ) as {
    containers: number
    seconds: number
    corePercent: number
    mainThreadPercent: number
    rssMb: number
    heapKbPerContainer: number
  }
  /**
   * Open WebSockets on a gateway of their own: an earlier workload's memory (the 1 GB uploads),
   * returned to the system meanwhile, would otherwise blur the growth per socket.
   */
  const held = async (start: Start) => {
    const gw = await start()
    try {
      return await heldWebSockets(gw.pid!, `${gw.base.replace(/^http/, 'ws')}/socket`)
    } finally {
      await gw.stop?.()
    }
  }
  console.error('measuring open WebSockets, a launch burst and many containers…')
  const wsHeld = { node: await held(gateway('node', 'node')), bun: await held(gateway('bun', 'bun')) }
  const burst = { node: await launchBurst(gwNode, docker), bun: await launchBurst(gwBun, docker) }
  const many = await manyContainers(
    (labelRoot) => startGateway('node', { ...config, labelRoot }, {}, { compiled: true }),
    LABEL_ROOT,
    docker,
  )

  // Report.
  const workloads = Object.keys(results.direct!)
  /** The table's rows, in the order they were started; the floors have rows of their own below. */
  const contestants = Object.keys(results).filter((name) => !floorNames.includes(name))
  const ratio = (a: number, b: number) => (b ? (a / b).toFixed(2) : '—')
  const kb = (bytes: number) => (bytes / 1024).toFixed(1)
  const lines = [
    `Benchmark of ${new Date().toISOString()} on ${cpus().length}× ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.version}, each figure the median of ${ROUNDS} rounds (every proxy started afresh for each round). In a round, small GETs and WebSocket echoes run in ${SLICES} turns of ${SLICE_SECONDS} s per contestant, every contestant in each turn, so that all of them see the machine alike; the other workloads run ${SECONDS} s each. ${CONNECTIONS} connections (WebSocket: 20 sockets ping-pong, from Node). Every proxy reaches the container at its Docker bridge address (the gateways with docker.reach "network"). Load generator and contestants share the machine.`,
    '',
    '| workload | contestant | req/s | p50 ms | p99 ms | × direct | × nginx | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const w of workloads) {
    for (const name of contestants) {
      const r = results[name]![w]!
      lines.push(
        `| ${w} | ${name} | ${r.rps} | ${r.p50} | ${r.p99} | ${ratio(r.rps, results.direct![w]!.rps)} | ${ratio(r.rps, results.nginx![w]!.rps)} | ${r.errors} |`,
      )
    }
  }
  lines.push(
    '',
    `CPU per small GET, in µs: the proxy's own processes, the container, and the whole machine (load generator and kernel included). "At full machine" is the req/s the same costs would give with every core busy (${cpus().length} cores × 1 s ÷ machine µs per request).`,
    '',
    '| contestant | req/s | proxy µs | container µs | machine µs | machine busy | at full machine |',
    '|---|---:|---:|---:|---:|---:|---:|',
  )
  for (const [name, share] of Object.entries(cpu)) {
    // The floors are measured in the same rounds, so their small GETs are in the results too.
    const rps = results[name]!['small GET']!.rps
    const full = share.machineUs ? Math.round((cpus().length * 1e6) / share.machineUs) : 0
    lines.push(
      `| ${name} | ${rps} | ${share.proxyUs} | ${share.containerUs} | ${share.machineUs} | ${share.busyPercent}% | ${full} |`,
    )
  }
  lines.push(
    '',
    'CPU per WebSocket echo (one message there and back), in µs, as above.',
    '',
    '| contestant | messages/s | proxy µs | container µs | machine µs | machine busy |',
    '|---|---:|---:|---:|---:|---:|',
  )
  for (const [name, share] of Object.entries(wsCpu)) {
    lines.push(
      `| ${name} | ${results[name]!['WebSocket echo']!.rps} | ${share.proxyUs} | ${share.containerUs} | ${share.machineUs} | ${share.busyPercent}% |`,
    )
  }
  lines.push(
    '',
    `bun-bare is Bun.serve handing each request to fetch, and each WebSocket message to a WebSocket of its own, with no gateway logic (bench/bare-bun.ts): the least a Bun proxy costs here. Small GET ${floor.rps} req/s, p99 ${floor.p99} ms, ${ratio(floor.rps, results.nginx!['small GET']!.rps)}× nginx.`,
    `node-bare is Node's http server handing each request to undici's keep-alive pool, and each WebSocket to a TCP connection relaying bytes, with no gateway logic (bench/bare-node.ts), Node's floor, a reference and not a product path. Small GET ${nodeFloor.rps} req/s, p99 ${nodeFloor.p99} ms.`,
    `Cold start (launch request → first 200, median of 3): ${cold.gatewayMs} ms through the gateway; ${cold.dockerMs} ms for docker create + start + first 200 alone (overhead ${cold.gatewayMs - cold.dockerMs} ms).`,
    `Peak RSS growth for a 1 GB upload through the gateway: Node ${rss.upload.node} MB, Bun ${rss.upload.bun} MB; for 1 GB echoed (up and down at once): Node ${rss.echo.node} MB, Bun ${rss.echo.bun} MB.`,
    `Route lookup (in-memory table): ${lookup.at10} ns at 10 containers, ${lookup.at10000} ns at 10,000.`,
    `At rest (${atRest.containers} managed containers on the in-memory engine, all ready, idle reaping on, no traffic, ${atRest.seconds} s): ${atRest.corePercent}% of one core (target ≤ 1%), of which ${atRest.mainThreadPercent}% on the main thread, where the gateway's code runs (the rest is V8's helper threads); ${atRest.rssMb} MB resident.`,
    `Open WebSockets (${wsHeld.node.sockets} through the gateway to one container, held ${wsHeld.node.seconds} s, a ping every 5 s each): Node ${wsHeld.node.answered}/${wsHeld.node.pings} pings answered, ${wsHeld.node.dropped} dropped, p50 ${wsHeld.node.p50Ms} ms, p99 ${wsHeld.node.p99Ms} ms, ${wsHeld.node.rssKbPerSocket} KB resident per socket; Bun ${wsHeld.bun.answered}/${wsHeld.bun.pings} answered, ${wsHeld.bun.dropped} dropped, p50 ${wsHeld.bun.p50Ms} ms, p99 ${wsHeld.bun.p99Ms} ms, ${wsHeld.bun.rssKbPerSocket} KB per socket (target ≤ 20 KB).`,
    `Launch burst (${burst.node.launches} launches of ${STATIC_IMAGE} at once, each to its first 200 through the proxy): Node ${burst.node.gatewayMs} ms, Bun ${burst.bun.gatewayMs} ms. The same containers created directly on the engine with the gateway's own settings (isolated network, init, dropped capabilities, limits) and published on loopback: ${burst.node.sameSettingsMs} / ${burst.bun.sameSettingsMs} ms, so the gateway takes ${ratio(burst.node.gatewayMs, burst.node.sameSettingsMs)}× / ${ratio(burst.bun.gatewayMs, burst.bun.sameSettingsMs)}× (target ≤ 1.2×). Plain containers on the default bridge: ${burst.node.directMs} / ${burst.bun.directMs} ms (the gateway ${ratio(burst.node.gatewayMs, burst.node.directMs)}× / ${ratio(burst.bun.gatewayMs, burst.bun.directMs)}×). Failed: Node ${burst.node.failed.gateway.length}, Bun ${burst.bun.failed.gateway.length}, direct ${burst.node.failed.direct.length + burst.bun.failed.direct.length}${[
      ...burst.node.failed.gateway,
      ...burst.bun.failed.gateway,
      ...burst.node.failed.direct,
      ...burst.bun.failed.direct,
    ]
      .slice(0, 1)
      .map((why) => ` (${why.slice(0, 160)})`)
      .join('')}.`,
    `Many containers (Node; two gateways at once, one managing ${many.few} running containers and one ${many.many}; ${many.requests} requests per series, the eight series interleaved request by request in a shuffled order, after 50 unmeasured; the GETs to ${many.few} containers at both sizes): p99 with ${many.few} → with ${many.many} (target ≤ 1.2×): a proxied GET ${many.proxy.few.p99} → ${many.proxy.many.p99} ms (${ratio(many.proxy.many.p99, many.proxy.few.p99)}×, p50 ${many.proxy.few.p50} → ${many.proxy.many.p50} ms); one user's list (\`?label=owner=…\`, 2 containers) ${many.userList.few.p99} → ${many.userList.many.p99} ms (${ratio(many.userList.many.p99, many.userList.few.p99)}×, p50 ${many.userList.few.p50} → ${many.userList.many.p50} ms); the whole list ${many.list.few.p99} → ${many.list.many.p99} ms (${ratio(many.list.many.p99, many.list.few.p99)}×, p50 ${many.list.few.p50} → ${many.list.many.p50} ms, answers of ${kb(many.list.few.bytes)} → ${kb(many.list.many.bytes)} KB). Control, the same GETs straight to the containers: ${many.direct.few.p99} → ${many.direct.many.p99} ms (${ratio(many.direct.many.p99, many.direct.few.p99)}×, p50 ${many.direct.few.p50} → ${many.direct.many.p50} ms). The gateway's memory per managed container: ${atRest.heapKbPerContainer} KB of JavaScript heap (Node, measured at rest: from 500 known containers to 1,000, after a full collection each time).`,
    '',
    ...(BASELINE
      ? [
          `Against the baseline (${BASELINE}), proxy CPU per small GET: Node ${cpu.node?.proxyUs} vs ${cpu['node-baseline']?.proxyUs} µs (${ratio(cpu.node?.proxyUs ?? 0, cpu['node-baseline']?.proxyUs ?? 0)}×), Bun ${cpu.bun?.proxyUs} vs ${cpu['bun-baseline']?.proxyUs} µs (${ratio(cpu.bun?.proxyUs ?? 0, cpu['bun-baseline']?.proxyUs ?? 0)}×).`,
        ]
      : []),
    `The Redis store (replicas) against the file store, proxy CPU per small GET (target ≤ 1.05×): Node ${cpu['node-redis']?.proxyUs} vs ${cpu.node?.proxyUs} µs (${ratio(cpu['node-redis']?.proxyUs ?? 0, cpu.node?.proxyUs ?? 0)}×), Bun ${cpu['bun-redis']?.proxyUs} vs ${cpu.bun?.proxyUs} µs (${ratio(cpu['bun-redis']?.proxyUs ?? 0, cpu.bun?.proxyUs ?? 0)}×); the machine's CPU, redis-server's included: Node ${cpu['node-redis']?.machineUs} vs ${cpu.node?.machineUs} µs, Bun ${cpu['bun-redis']?.machineUs} vs ${cpu.bun?.machineUs} µs.`,
    `Targets: proxy CPU per small GET vs the runtime's floor (≤ 1.15×): Node ${ratio(cpu.node?.proxyUs ?? 0, cpu['node-bare']?.proxyUs ?? 0)}× node-bare, Bun ${ratio(cpu.bun?.proxyUs ?? 0, cpu['bun-bare']?.proxyUs ?? 0)}× bun-bare. Small GET throughput: Node ${ratio(results.node!['small GET']!.rps, results.chp!['small GET']!.rps)}× CHP (≥ 2.5×), Bun ${ratio(results.bun!['small GET']!.rps, results.caddy!['small GET']!.rps)}× Caddy (≥ 1×). WebSocket echo vs nginx (≥ 0.95×): Node ${ratio(results.node!['WebSocket echo']!.rps, results.nginx!['WebSocket echo']!.rps)}×, Bun ${ratio(results.bun!['WebSocket echo']!.rps, results.nginx!['WebSocket echo']!.rps)}× (the floors: node-bare ${ratio(results['node-bare']!['WebSocket echo']!.rps, results.nginx!['WebSocket echo']!.rps)}×, bun-bare ${ratio(results['bun-bare']!['WebSocket echo']!.rps, results.nginx!['WebSocket echo']!.rps)}×; proxy CPU per message ${ratio(wsCpu.node?.proxyUs ?? 0, wsCpu['node-bare']?.proxyUs ?? 0)}× node-bare, ${ratio(wsCpu.bun?.proxyUs ?? 0, wsCpu['bun-bare']?.proxyUs ?? 0)}× bun-bare); direct is ${ratio(results.direct!['WebSocket echo']!.rps, results.nginx!['WebSocket echo']!.rps)}× nginx${results.direct!['WebSocket echo']!.rps > 1.2 * results.nginx!['WebSocket echo']!.rps ? ', so the load generator is not the ceiling' : ': the load generator may be the ceiling'}.`,
  )
  const report = lines.join('\n')
  console.log(report)
  await mkdir(join(ROOT, 'bench/results'), { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  await writeFile(
    join(ROOT, `bench/results/${stamp}.json`),
    JSON.stringify(
      {
        rounds,
        results,
        cpu,
        wsCpu,
        floor,
        nodeFloor,
        atRest,
        cold,
        rss,
        lookup,
        wsHeld,
        burst,
        many,
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      },
      null,
      2,
    ),
  )
  await writeFile(join(ROOT, 'bench/results/latest.md'), `${report}\n`)
  await gwNode.stop()
  await gwBun.stop()
} finally {
  for (const child of children) child.kill()
  await redis?.stop()
  await docker
    .getContainer('bench')
    .remove({ force: true, v: true })
    .catch(() => {})
  await removeRunContainers()
}
