/**
 * CPU accounting for the benchmark (Linux): how much processor time each party spends per request,
 * the figure that does not depend on how the machine's cores happen to be shared during a run.
 */
import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import type Docker from 'dockerode'

/** CPU microseconds per request, and how busy the whole machine was. */
export interface CpuShare {
  /** The proxy's own processes (0 for direct). */
  proxyUs: number
  /** The upstream container's cgroup. */
  containerUs: number
  /** Every process on the machine, load generator included. */
  machineUs: number
  /** Share of the machine's CPU time in use during the run, in percent. */
  busyPercent: number
}

const ticksPerSecond = Number((await promisify(execFile)('getconf', ['CLK_TCK'])).stdout.trim()) || 100

/** `utime + stime` and the parent pid from a `stat` file of `/proc` (a process's, or one thread's). */
async function readStat(path: string): Promise<{ ticks: number; parent: number } | undefined> {
  try {
    const text = await readFile(path, 'utf8')
    // Fields after the command name, which may hold spaces: state is first, utime the 12th.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { ticks: Number(fields[11]) + Number(fields[12]), parent: Number(fields[1]) }
  } catch {
    return undefined // exited meanwhile
  }
}

const processStat = (pid: number) => readStat(`/proc/${pid}/stat`)

/** CPU microseconds used so far by this process's main thread, where all of its JavaScript runs. */
export async function mainThreadMicros(): Promise<number> {
  return (((await readStat(`/proc/self/task/${process.pid}/stat`))?.ticks ?? 0) * 1e6) / ticksPerSecond
}

/** CPU microseconds used so far by a process and its children (nginx's workers). */
async function processTreeMicros(pid: number): Promise<number> {
  let ticks = (await processStat(pid))?.ticks ?? 0
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await processStat(Number(entry))
    if (stat?.parent === pid) ticks += stat.ticks
  }
  return (ticks * 1e6) / ticksPerSecond
}

/** Busy and total CPU microseconds of the whole machine, from `/proc/stat`. */
async function machineMicros(): Promise<{ busy: number; total: number }> {
  const [, ...values] = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number) as number[]
  const busy = user! + nice! + system! + irq! + softirq! + steal!
  return { busy: (busy * 1e6) / ticksPerSecond, total: ((busy + idle! + iowait!) * 1e6) / ticksPerSecond }
}

/** CPU microseconds used so far by a container, from Docker's own accounting. */
async function containerMicros(container: Docker.Container): Promise<number> {
  const stats = await container.stats({ stream: false, 'one-shot': true })
  return stats.cpu_stats.cpu_usage.total_usage / 1000
}

/** CPU microseconds used so far: the proxy's processes, the container, and the machine. */
interface Sample {
  proxy: number
  container: number
  busy: number
  total: number
}

/**
 * A reading before a turn (`'before'`) or after it: the quick readings are taken nearest the turn
 * and the slow one (Docker's stats) farthest from it, so that the machine's window holds the turn
 * and little else.
 */
async function sample(
  proxyPid: number | undefined,
  container: Docker.Container,
  when: 'before' | 'after',
): Promise<Sample> {
  const proxy = async () => (proxyPid ? await processTreeMicros(proxyPid) : 0)
  if (when === 'before') {
    const containerUs = await containerMicros(container)
    const proxyUs = await proxy()
    const machine = await machineMicros()
    return { proxy: proxyUs, container: containerUs, busy: machine.busy, total: machine.total }
  }
  const machine = await machineMicros()
  const proxyUs = await proxy()
  return { proxy: proxyUs, container: await containerMicros(container), busy: machine.busy, total: machine.total }
}

const spent = (before: Sample, after: Sample): Sample => ({
  proxy: after.proxy - before.proxy,
  container: after.container - before.container,
  busy: after.busy - before.busy,
  total: after.total - before.total,
})

const shareOf = (used: Sample, requests: number): CpuShare => {
  const per = (micros: number) => (requests ? Math.round(micros / requests) : 0)
  return {
    proxyUs: per(used.proxy),
    containerUs: per(used.container),
    machineUs: per(used.busy),
    busyPercent: Math.round((100 * used.busy) / (used.total || 1)),
  }
}

/** A process whose CPU {@link interleaved} accounts (none for the container's own address). */
export interface Measured {
  name: string
  pid?: number
}

/**
 * Run `work` for every contestant in `slices` short turns, each contestant once per slice and the
 * order reversed every other slice, and account each one's CPU per request over all its turns.
 * On shared cores the machine's speed drifts by tens of percent over minutes, and it drifts
 * alike for everyone here, so ratios between contestants hold; contestants measured one after
 * the other minutes apart would each carry the moment they ran in.
 */
export async function interleaved<C extends Measured, T extends { requests: number }>(
  contestants: C[],
  container: Docker.Container,
  slices: number,
  work: (contestant: C) => Promise<T>,
): Promise<Map<string, { results: T[]; cpu: CpuShare }>> {
  const used = new Map(contestants.map((c) => [c.name, { proxy: 0, container: 0, busy: 0, total: 0 }]))
  const results = new Map(contestants.map((c) => [c.name, [] as T[]]))
  for (let slice = 0; slice < slices; slice++) {
    for (const contestant of slice % 2 ? [...contestants].reverse() : contestants) {
      const before = await sample(contestant.pid, container, 'before')
      results.get(contestant.name)!.push(await work(contestant))
      const turn = spent(before, await sample(contestant.pid, container, 'after'))
      const sum = used.get(contestant.name)!
      for (const key of Object.keys(sum) as (keyof Sample)[]) sum[key] += turn[key]
    }
  }
  return new Map(
    contestants.map((c) => {
      const all = results.get(c.name)!
      const requests = all.reduce((n, r) => n + r.requests, 0)
      return [c.name, { results: all, cpu: shareOf(used.get(c.name)!, requests) }]
    }),
  )
}
