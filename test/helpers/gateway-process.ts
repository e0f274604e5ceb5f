import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'

/** The runtimes the gateway is tested on. */
export type Runtime = 'node' | 'bun'
export const RUNTIMES: Runtime[] = ['node', 'bun']

const ROOT = resolve(import.meta.dirname, '../..')

/** A gateway started as its own process through the CLI, exactly as `npm start` runs it. */
export interface GatewayProcess {
  url: string
  /** The dashboard's URL (its own listener, on a free port unless the config says otherwise), when it is on. */
  dashboardUrl?: string
  /** Process id, e.g. to read its memory from /proc. */
  pid: number
  /** Everything the process printed so far. */
  output(): string
  /** Settles with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>
  stop(): Promise<void>
}

/** Start `hono-docker-engine serve` on a free port with the given config, on one runtime. */
export async function startGateway(
  runtime: Runtime,
  config: object = {},
  env: Record<string, string> = {},
  /**
   * `compiled`: run Node on the compiled `dist/` (as the published package does) instead of the
   * sources. `root`: run another checkout of the project (e.g. an earlier commit, as the
   * benchmark's baseline) with its own sources and dependencies.
   */
  options: { compiled?: boolean; root?: string } = {},
): Promise<GatewayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'hde-gw-'))
  const file = join(dir, 'config.json')
  // Each gateway gets its own data directory unless the test shares one on purpose.
  // The dashboard takes a free port too, so gateways of parallel test files never collide.
  const dashboard: { enabled?: boolean; port?: number } = (config as { dashboard?: object }).dashboard ?? { port: 0 }
  await writeFile(file, JSON.stringify({ dataDir: join(dir, 'data'), ...config, dashboard }))
  const withDashboard = dashboard.enabled !== false
  // A free port unless the test chose one (e.g. one that containers are told about).
  const fixedPort = (config as { listen?: { port?: number } }).listen?.port !== undefined
  const args = ['serve', '--config', file, ...(fixedPort ? [] : ['--port', '0'])]
  const child: ChildProcess =
    runtime === 'node'
      ? spawn(
          process.execPath,
          options.compiled ? ['bin/hono-docker-engine.js', ...args] : ['--import', 'tsx', 'src/cli.ts', ...args],
          { cwd: options.root ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
        )
      : spawn(join(ROOT, 'node_modules/.bin/bun'), ['src/cli.ts', ...args], {
          cwd: options.root ?? ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, ...env },
        })
  let output = ''
  const exited = new Promise<number | string>((done) =>
    child.once('exit', (code, signal) => done(code ?? signal ?? 'unknown')),
  )
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  let url: string | undefined
  let dashboardUrl: string | undefined
  await new Promise<void>((resolveUrls, reject) => {
    const timer = setTimeout(() => reject(new Error(`${runtime} gateway did not start:\n${output}`)), 30_000)
    child.once('exit', (code) => reject(new Error(`${runtime} gateway exited with ${code}:\n${output}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output += `${line}\n`
      try {
        const event = JSON.parse(line) as { message?: string; url?: string }
        if (event.message === 'listening' && event.url) url = event.url
        if (event.message === 'dashboard listening' && event.url) dashboardUrl = event.url.replace(/\/$/, '')
        if (url && (dashboardUrl || !withDashboard)) {
          clearTimeout(timer)
          resolveUrls()
        }
      } catch {
        // not a log line
      }
    })
  })
  return {
    url: url!,
    ...(dashboardUrl ? { dashboardUrl } : {}),
    pid: child.pid!,
    output: () => output,
    exited,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done()
        child.once('exit', () => done())
        child.kill('SIGTERM')
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref()
      }),
  }
}

/** Peak resident memory (VmHWM) of a process in bytes, from /proc; resettable with {@link resetPeakRss}. */
export async function peakRss(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises')
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024
}

/** Reset a process's peak RSS counter (Linux: write 5 to /proc/<pid>/clear_refs). */
export async function resetPeakRss(pid: number): Promise<void> {
  const { writeFile } = await import('node:fs/promises')
  await writeFile(`/proc/${pid}/clear_refs`, '5')
}
