import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from './free-port.js'

/** Why Redis tests cannot run here, or `undefined` when Debian's redis-server is installed. */
export function redisMissing(): string | undefined {
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' })
  if (found.status === 0) return undefined
  const reason = 'redis-server is not installed (bash scripts/setup.sh --test-images installs it)'
  if (process.env.CI === 'true') throw new Error(`CI=true: ${reason}`)
  console.warn(`\n!!! SKIPPING Redis tests: ${reason}\n`)
  return reason
}

/** A redis-server of the test's own on loopback: appends every write to its file (as production should), a port of its own. */
export interface RedisServer {
  url: string
  port: number
  /** Stop it (SIGTERM), waiting for the exit. */
  stop(): Promise<void>
  /** Start it again on the same port (after {@link stop}). */
  restart(): Promise<void>
}

async function answers(port: number): Promise<boolean> {
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

/** Start `redis-server` on a free loopback port and wait until it answers. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'hde-redis-'))
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir],
      { stdio: 'ignore' },
    )
    const deadline = Date.now() + 30_000
    while (!(await answers(port))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${port} within 30 s`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      const running = child
      if (!running || running.exitCode !== null) return
      const exited = new Promise((done) => running.once('exit', done))
      running.kill('SIGTERM')
      await exited
    },
    restart: start,
  }
}
