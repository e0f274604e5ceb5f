/**
 * Soak test (not part of CI): launch and remove containers continuously under steady proxied
 * load for a bounded time, then compare the gateway's open file descriptors and memory, and the
 * engine's container and volume counts, before and after. Exits non-zero on a leak.
 *
 *   npx tsx scripts/soak.ts --minutes 5 --runtime node
 *
 * Needs the test images (npm test builds them) and a Docker Engine; all traffic stays on loopback.
 */
import { readdir, readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { ECHO_IMAGE, dockerCli, eventually, removeRunContainers, uniqueName } from '../test/helpers/docker.js'
import { startGateway, type Runtime } from '../test/helpers/gateway-process.js'

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '2' }, runtime: { type: 'string', default: 'node' } },
})
const minutes = Math.min(Number(values.minutes), 60)
const runtime = values.runtime as Runtime

const fds = async (pid: number) => (await readdir(`/proc/${pid}/fd`)).length
const rssMb = async (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
const countLines = async (...args: string[]) => (await dockerCli(...args)).split('\n').filter(Boolean).length

const gw = await startGateway(runtime, {})
const api = (path: string, init?: RequestInit) => fetch(`${gw.url}${path}`, init)
const launch = async (extra: Record<string, unknown> = {}) => {
  const name = uniqueName('soak')
  const res = await api('/api/containers', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image: ECHO_IMAGE, name, extraDirectories: ['/data'], ...extra }),
  })
  if (res.status !== 201) throw new Error(`launch failed: ${res.status} ${await res.text()}`)
  await eventually(async () => (await fetch(`${gw.url}/docker/${name}/`)).status === 200, 30_000, `${name} serving`)
  return name
}

try {
  const steady = await launch()
  // Warm up, then take the baseline.
  for (let i = 0; i < 200; i++) await fetch(`${gw.url}/docker/${steady}/`).then((r) => r.arrayBuffer())
  const before = {
    fds: await fds(gw.pid),
    rssMb: await rssMb(gw.pid),
    containers: await countLines('ps', '-aq'),
    volumes: await countLines('volume', 'ls', '-q'),
  }

  const deadline = Date.now() + minutes * 60_000
  let requests = 0
  let cycles = 0
  let errors = 0
  const load = (async () => {
    while (Date.now() < deadline) {
      const res = await fetch(`${gw.url}/docker/${steady}/echo?n=${requests}`).catch(() => undefined)
      if (res?.status === 200) await res.arrayBuffer()
      else errors++
      requests++
    }
  })()
  while (Date.now() < deadline) {
    const name = await launch()
    await fetch(`${gw.url}/docker/${name}/sse?n=5&gapMs=20`).then((r) => r.text())
    const removed = await api(`/api/containers/${name}`, { method: 'DELETE' })
    if (removed.status !== 204) errors++
    cycles++
  }
  await load

  await new Promise((r) => setTimeout(r, 6_000)) // keep-alive sockets expire
  const after = {
    fds: await fds(gw.pid),
    rssMb: await rssMb(gw.pid),
    containers: await countLines('ps', '-aq'),
    volumes: await countLines('volume', 'ls', '-q'),
  }
  console.log(JSON.stringify({ runtime, minutes, requests, cycles, errors, before, after }, null, 2))
  const leaks = [
    after.fds > before.fds + 5 && `file descriptors ${before.fds} → ${after.fds}`,
    after.containers !== before.containers && `containers ${before.containers} → ${after.containers}`,
    after.volumes !== before.volumes && `volumes ${before.volumes} → ${after.volumes}`,
    after.rssMb > before.rssMb + 64 && `memory ${before.rssMb.toFixed(0)} → ${after.rssMb.toFixed(0)} MB`,
    errors > 0 && `${errors} failed requests`,
  ].filter(Boolean)
  if (leaks.length) {
    console.error(`LEAK: ${leaks.join('; ')}`)
    process.exitCode = 1
  } else console.log('no leaks')
} finally {
  await gw.stop()
  await removeRunContainers()
}
