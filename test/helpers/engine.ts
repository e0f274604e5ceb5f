import { spawn } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { dockerCli, eventually } from './docker.js'

/** Where `scripts/setup.sh` sends dockerd's output; a restarted dockerd appends to it. */
const DOCKERD_LOG = process.env.HDE_DOCKERD_LOG ?? '/var/log/hde-dockerd.log'
const DAEMON_JSON = '/etc/docker/daemon.json'

/** The dockerd this run may restart: its pid and command line. */
interface Dockerd {
  pid: number
  argv: string[]
}

/**
 * Why this machine's Docker Engine may not be restarted by a test, or `undefined` when it may:
 * the tests run as root beside a `dockerd` they can see, on the default socket. A developer's
 * engine is restarted only when asked (`CI=true` or `HDE_TEST_ENGINE_RESTART=1`).
 */
export async function whyEngineCannotRestart(): Promise<string | undefined> {
  if (process.env.CI !== 'true' && process.env.HDE_TEST_ENGINE_RESTART !== '1')
    return 'restarting your Docker Engine needs CI=true or HDE_TEST_ENGINE_RESTART=1'
  if (process.getuid?.() !== 0) return 'restarting dockerd needs root'
  if (process.env.DOCKER_HOST) return `DOCKER_HOST=${process.env.DOCKER_HOST} is not a local dockerd`
  if (!(await findDockerd())) return 'no dockerd process is visible here'
  return undefined
}

async function findDockerd(): Promise<Dockerd | undefined> {
  const pid = Number((await execText('pgrep', ['-xo', 'dockerd'])).trim())
  if (!pid) return undefined
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean)
  return { pid, argv }
}

function execText(command: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('close', () => resolve(out))
    child.on('error', () => resolve(''))
  })
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The dockerd this run stopped last, to start again however a test ends. */
let stopped: Dockerd | undefined

/** Stop dockerd as `systemctl stop docker` does (SIGTERM), and wait until it has exited. Resolves how to start it again. */
export async function stopEngine(): Promise<Dockerd> {
  const dockerd = await findDockerd()
  if (!dockerd) throw new Error('no dockerd to stop')
  stopped = dockerd
  process.kill(dockerd.pid, 'SIGTERM')
  await eventually(async () => !alive(dockerd.pid), 90_000, 'dockerd to exit')
  return dockerd
}

/** Start dockerd again with the command line it had, detached (it outlives the test run), and wait until it answers. */
export async function startEngine(dockerd: Dockerd): Promise<void> {
  if (await findDockerd()) return
  const log = openSync(DOCKERD_LOG, 'a')
  try {
    spawn(dockerd.argv[0]!, dockerd.argv.slice(1), { detached: true, stdio: ['ignore', log, log] }).unref()
  } finally {
    closeSync(log)
  }
  await eventually(() => dockerCli('info', '--format', '{{.ServerVersion}}').then(Boolean), 60_000, 'dockerd to answer')
}

/** Start the dockerd this run stopped, if it is not running (for a suite's cleanup). */
export async function ensureEngineRunning(): Promise<void> {
  if (stopped) await startEngine(stopped)
}

/** Restart dockerd; `whileDown` runs while it is stopped. */
export async function restartEngine(whileDown?: () => Promise<void>): Promise<void> {
  const dockerd = await stopEngine()
  try {
    await whileDown?.()
  } finally {
    await startEngine(dockerd)
  }
}

/**
 * Turn Docker's `live-restore` on or off, keeping whatever else `daemon.json` holds, and restart
 * dockerd to apply it. (A SIGHUP reload would apply it too, but Docker 20.10 then loses the
 * `host-gateway` address that containers reach the host by.) Resolves a function that puts
 * `daemon.json` back exactly as it was and restarts dockerd again.
 */
export async function setLiveRestore(on: boolean): Promise<() => Promise<void>> {
  const original = await readFile(DAEMON_JSON, 'utf8').catch(() => undefined)
  const settings = original === undefined ? {} : (JSON.parse(original) as Record<string, unknown>)
  await mkdir('/etc/docker', { recursive: true })
  await writeFile(DAEMON_JSON, JSON.stringify({ ...settings, 'live-restore': on }, null, 2))
  await restartEngine()
  await expectLiveRestore(on)
  return async () => {
    if (original === undefined) await rm(DAEMON_JSON, { force: true })
    else await writeFile(DAEMON_JSON, original)
    await restartEngine()
    await expectLiveRestore(settings['live-restore'] === true)
  }
}

async function expectLiveRestore(on: boolean): Promise<void> {
  const reported = await dockerCli('info', '--format', '{{.LiveRestoreEnabled}}')
  if (reported !== String(on)) throw new Error(`dockerd reports live-restore ${reported}, expected ${on}`)
}
