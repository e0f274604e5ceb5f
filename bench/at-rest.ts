/**
 * The gateway at rest: 1,000 managed containers (the in-memory engine, each listening on a
 * loopback server of its own, as each real container is an origin of its own), every one ready,
 * idle reaping on (`idle.timeoutSeconds`, checked at its default interval), the engine-event
 * follower running, and no traffic (measured from 10 s after the last request, once idle
 * connections have closed and the warm-up's garbage is collected). Prints, as JSON, the CPU the
 * process spent over the measured window, as a share of one core, its resident memory, and the
 * gateway's memory per managed container: the growth of the JavaScript heap, after a full
 * collection, from a gateway that knows half of the containers to one that knows them all.
 * The gateway is Node's (`createNodeGateway`, its upstream pools included), as `npm start` runs it.
 * Usage: node --expose-gc --import tsx bench/at-rest.ts [seconds]
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { memory } from '../src/backends/memory.js'
import { createNodeGateway } from '../src/adapter/node/index.js'
import { silentLogger } from '../src/logger.js'
import { launchSpec } from '../test/helpers/launch-spec.js'
import { mainThreadMicros } from './cpu.js'

const SECONDS = Number(process.argv[2] ?? 60)
const CONTAINERS = 1_000
/** From the last request to the start of the measurement. */
const SETTLE_MS = 10_000

/**
 * Containers the gateway knows before the heap's first reading: enough that the code it compiles
 * while learning containers is compiled by then and not counted as their memory.
 */
const FIRST = CONTAINERS / 2

const servers = await Promise.all(
  Array.from({ length: CONTAINERS }, async () => {
    const server = createServer((_req, res) => res.end('ok'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return server
  }),
)
const upstreams = new Map(
  servers.map((server, i) => [`rest-${i}`, `http://127.0.0.1:${(server.address() as AddressInfo).port}`]),
)
const backend = memory({ upstreams: (spec) => upstreams.get(spec.name) })
const gateway = createNodeGateway({
  backend,
  config: { idle: { timeoutSeconds: 24 * 3600 } },
  logger: silentLogger,
})
for (let i = 0; i < CONTAINERS; i++) await backend.launch(launchSpec(`rest-${i}`, { image: 'tool:1' }))
const { gc } = globalThis as { gc?: () => void }
if (!gc) throw new Error('run with node --expose-gc')
const visit = (from: number, to: number) =>
  Promise.all(
    Array.from({ length: to - from }, async (_, i) => (await gateway.app.request(`/docker/rest-${from + i}/`)).text()),
  )
/** The heap after its keep-alive connections closed (undici's 4 s idle timeout) and a full collection. */
const settledHeap = async () => {
  await new Promise((r) => setTimeout(r, SETTLE_MS))
  gc()
  return process.memoryUsage().heapUsed
}
await visit(0, FIRST)
const heapAtFirst = await settledHeap()
// Every container ready and known, as after a day of use; then nothing happens.
await visit(FIRST, CONTAINERS)
// Measured from the steady state: the warm-up's keep-alive connections to the containers close
// after their idle timeout, a one-off cost of going quiet, not of being at rest. The full
// collection clears the warm-up's garbage (about 70 MB here), which V8 would otherwise collect
// inside the window; it still returns the emptied memory to the system some 30 s after traffic
// stops, and the window includes that.
const heapAtAll = await settledHeap()
const before = process.cpuUsage()
const mainBefore = await mainThreadMicros()
const started = performance.now()
await new Promise((r) => setTimeout(r, SECONDS * 1000))
const used = process.cpuUsage(before)
const mainUsedMs = ((await mainThreadMicros()) - mainBefore) / 1000
const elapsedMs = performance.now() - started
console.log(
  JSON.stringify({
    containers: CONTAINERS,
    seconds: SECONDS,
    corePercent: Math.round(((used.user + used.system) / 1000 / elapsedMs) * 10_000) / 100,
    mainThreadPercent: Math.round((mainUsedMs / elapsedMs) * 10_000) / 100,
    rssMb: Math.round(process.memoryUsage().rss / 1_048_576),
    heapKbPerContainer: Math.round(((heapAtAll - heapAtFirst) / 1024 / (CONTAINERS - FIRST)) * 10) / 10,
  }),
)
await gateway.close()
for (const server of servers) server.close()
