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

/** Run `work` (a load that reports its request count) and account its CPU per request. */
export async function cpuPerRequest<T extends { requests: number }>(
  proxyPid: number | undefined,
  container: Docker.Container,
  work: () => Promise<T>,
): Promise<{ result: T; cpu: CpuShare }> {
  const before = {
    proxy: proxyPid ? await processTreeMicros(proxyPid) : 0,
    container: await containerMicros(container),
    machine: await machineMicros(),
  }
  const result = await work()
  const after = {
    proxy: proxyPid ? await processTreeMicros(proxyPid) : 0,
    container: await containerMicros(container),
    machine: await machineMicros(),
  }
  const per = (micros: number) => (result.requests ? Math.round(micros / result.requests) : 0)
  const machineBusy = after.machine.busy - before.machine.busy
  return {
    result,
    cpu: {
      proxyUs: per(after.proxy - before.proxy),
      containerUs: per(after.container - before.container),
      machineUs: per(machineBusy),
      busyPercent: Math.round((100 * machineBusy) / (after.machine.total - before.machine.total || 1)),
    },
  }
}
