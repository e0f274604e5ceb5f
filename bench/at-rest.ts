/**
 * The gateway at rest: 1,000 managed containers (the in-memory engine, each "listening" on one
 * loopback server), every one ready, idle reaping on (`idle.timeoutSeconds`, checked at its default
 * interval), the engine-event follower running, and no traffic (measured from 10 s after the last
 * request, once idle connections have closed and the warm-up's garbage is collected). Prints, as
 * JSON, the CPU the process spent over the measured window, as a share of one core, and its
 * resident memory.
 * Usage: node --expose-gc --import tsx bench/at-rest.ts [seconds]
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { memory } from '../src/backends/memory.js'
import { createGateway } from '../src/gateway.js'
import { silentLogger } from '../src/logger.js'
import { launchSpec } from '../test/helpers/launch-spec.js'
import { mainThreadMicros } from './cpu.js'

const SECONDS = Number(process.argv[2] ?? 60)
const CONTAINERS = 1_000
/** From the last request to the start of the measurement. */
const SETTLE_MS = 10_000

const server = createServer((_req, res) => res.end('ok'))
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const backend = memory({ upstreams: () => upstream })
const gateway = createGateway({
  backend,
  config: { idle: { timeoutSeconds: 24 * 3600 } },
  logger: silentLogger,
})
for (let i = 0; i < CONTAINERS; i++) await backend.launch(launchSpec(`rest-${i}`, { image: 'tool:1' }))
// Every container ready and known, as after a day of use; then nothing happens.
await Promise.all(
  Array.from({ length: CONTAINERS }, async (_, i) => (await gateway.app.request(`/docker/rest-${i}/`)).text()),
)
// Measured from the steady state: the warm-up's keep-alive connections to the containers close
// after their idle timeout (undici's 4 s), a one-off cost of going quiet, not of being at rest.
await new Promise((r) => setTimeout(r, SETTLE_MS))
// A full collection clears the warm-up's garbage (about 70 MB here), which V8 would otherwise
// collect inside the window; it still returns the emptied memory to the system some 30 s after
// traffic stops, and the window includes that.
const { gc } = globalThis as { gc?: () => void }
if (!gc) throw new Error('run with node --expose-gc')
gc()
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
  }),
)
await gateway.close()
server.close()
