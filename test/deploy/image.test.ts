import { execFile } from 'node:child_process'
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ECHO_IMAGE, dockerCli, dockerReady, eventually, removeRunContainers, uniqueName } from '../helpers/docker.js'
import { freePort } from '../helpers/free-port.js'

/**
 * The deployment recipes of docs/deploying.md, run as written: the image built from the Dockerfile (on
 * stand-ins for the official Node image made from this machine's node, with no registry), the
 * compose example with Debian's docker-compose, and the systemd unit checked by systemd-analyze.
 */

const ROOT = resolve(import.meta.dirname, '../..')
const IMAGE = 'hde-test/gateway:latest'
const BASES = { NODE_IMAGE: 'hde-test/node-runtime:1', BUILD_IMAGE: 'hde-test/node-build:1' }
const LABEL_ROOT = 'io.github.hde-test.image'
const SOCKET = '/var/run/docker.sock'

type Json = Record<string, any>

/** Run a command; resolves its exit code and output, never rejects. */
function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      command,
      args,
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
}

/** Whether a command exists; in CI a missing one fails the run. */
async function haveCommand(command: string, suite: string): Promise<boolean> {
  const found = (await run('sh', ['-c', `command -v ${command}`])).code === 0
  if (found) return true
  if (process.env.CI === 'true')
    throw new Error(`${suite}: ${command} is required in CI (scripts/setup.sh installs it)`)
  console.warn(`\n!!! SKIPPING ${suite}: ${command} is missing (run \`npm test\` as root to install it).\n`)
  return false
}

const healthOf = (container: string) => dockerCli('inspect', '--format', '{{.State.Health.Status}}', container)

async function untilHealthy(container: string): Promise<void> {
  // The image's HEALTHCHECK runs every 15 s; the first one passes once the gateway listens.
  await eventually(
    async () => {
      const health = await healthOf(container)
      if (health === 'unhealthy') throw new Error(`${container} is unhealthy:\n${await dockerCli('logs', container)}`)
      return health === 'healthy'
    },
    120_000,
    `${container} to be healthy`,
  )
}

/** Launch the echo app through the gateway and wait until the proxy serves it. */
async function launchThrough(base: string, name: string): Promise<void> {
  const launched = await fetch(`${base}/api/containers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image: ECHO_IMAGE, name }),
  })
  expect(launched.status, await launched.clone().text()).toBe(201)
  const answer = await eventually(
    async () => {
      const res = await fetch(`${base}/docker/${name}/hello?x=1`)
      if (res.status !== 200) {
        await res.body?.cancel()
        return false
      }
      return (await res.json()) as Json
    },
    60_000,
    `${name} to serve through the gateway`,
  )
  expect(answer).toMatchObject({ method: 'GET', path: '/hello' })
}

/** A 3 s answer started before `stop()`, read to its end: it must arrive whole. */
async function finishesAcross(base: string, name: string, stop: () => Promise<unknown>): Promise<void> {
  const response = await fetch(`${base}/docker/${name}/sse?n=3&gapMs=1000`)
  expect(response.status).toBe(200)
  const reader = response.body!.getReader()
  let text = new TextDecoder().decode((await reader.read()).value)
  expect(text).toContain('data:')
  const stopped = stop()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    text += new TextDecoder().decode(value)
  }
  expect(text.match(/^data:/gm)).toHaveLength(3)
  await stopped
}

const composeReady = await haveCommand('docker-compose', 'the compose example')
const systemdAnalyzeReady = await haveCommand('systemd-analyze', 'the systemd unit example')

describe.runIf(await dockerReady('the gateway image'))('the gateway image', () => {
  const volumes: string[] = []
  beforeAll(async () => {
    // Docker's layer cache makes a rebuild with unchanged sources take seconds.
    const args = Object.entries(BASES).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`])
    const built = await run('docker', ['build', '--network', 'none', ...args, '-t', IMAGE, '.'])
    expect(built.code, `${built.stdout}\n${built.stderr}`).toBe(0)
  }, 900_000)
  afterAll(async () => {
    await removeRunContainers()
    if (volumes.length) await dockerCli('volume', 'rm', '-f', ...volumes).catch(() => '')
  })

  it('runs as docs/deploying.md says: not root, healthy, configured by file and environment, launches, proxies, drains on docker stop, adopts on start', async () => {
    const port = await freePort()
    const gateway = uniqueName('image-gw')
    const data = uniqueName('image-data')
    volumes.push(data)
    const dir = await mkdtemp(join(tmpdir(), 'hde-image-'))
    const config = join(dir, 'config.json')
    await writeFile(config, JSON.stringify({ labelRoot: LABEL_ROOT, shutdown: { graceSeconds: 30 } }))
    await chmod(dir, 0o755)
    await chmod(config, 0o644)
    const { gid } = await stat(SOCKET)
    const started = await run('docker', [
      'run',
      '-d',
      '--name',
      gateway,
      '--network',
      'host',
      '-v',
      `${SOCKET}:${SOCKET}`,
      '--group-add',
      String(gid),
      '-v',
      `${data}:/app/.data`,
      '-v',
      `${config}:/app/wrangler-free-local-config.json:ro`,
      '-e',
      `HDE_LISTEN_PORT=${port}`,
      '-e',
      `HDE_DASHBOARD_PORT=${await freePort()}`,
      IMAGE,
    ])
    expect(started.code, started.stderr).toBe(0)
    const base = `http://127.0.0.1:${port}`

    // Not root: the process runs as the image's user, and reaches the engine through its group.
    expect(await dockerCli('exec', gateway, 'node', '-e', 'process.stdout.write(String(process.getuid()))')).toBe(
      '10001',
    )
    await untilHealthy(gateway)
    expect(await (await fetch(`${base}/api/health/ready`)).json()).toEqual({ status: 'ready' })

    const tool = uniqueName('image-tool')
    await launchThrough(base, tool)
    // The file's labelRoot is in force; the environment's port too (we reached it).
    expect(await dockerCli('inspect', '--format', `{{ index .Config.Labels "${LABEL_ROOT}" }}`, tool)).toBe('true')

    // docker stop sends SIGTERM to the gateway (PID 1): the answer in flight finishes, then it exits 0.
    await finishesAcross(base, tool, () => dockerCli('stop', '--time', '40', gateway))
    expect(await dockerCli('inspect', '--format', '{{.State.ExitCode}}', gateway)).toBe('0')
    expect(await dockerCli('logs', gateway)).toContain('"drained"')
    // The launched container keeps running for the next gateway, which adopts it.
    expect(await dockerCli('inspect', '--format', '{{.State.Running}}', tool)).toBe('true')
    await dockerCli('start', gateway)
    await eventually(
      async () => (await fetch(`${base}/docker/${tool}/again`).catch(() => undefined))?.status === 200,
      60_000,
      'the restarted gateway to serve the tool',
    )
    const listed = (await (await fetch(`${base}/api/containers`)).json()) as { containers: { name: string }[] }
    expect(listed.containers.map((c) => c.name)).toContain(tool)
  }, 300_000)

  it.runIf(composeReady)(
    'starts with the compose example, serves, and stops gracefully with it',
    async () => {
      const port = await freePort()
      const project = uniqueName('compose').replace(/[^a-z0-9-]/g, '')
      const env = {
        HDE_IMAGE: IMAGE,
        DOCKER_GID: String((await stat(SOCKET)).gid),
        HDE_LISTEN_PORT: String(port),
        HDE_DASHBOARD_PORT: String(await freePort()),
        HDE_LABEL_ROOT: LABEL_ROOT,
      }
      const compose = (...args: string[]) =>
        run('docker-compose', ['--project-name', project, '-f', 'deploy/compose.yaml', ...args], env)
      try {
        const up = await compose('up', '-d', '--no-build')
        expect(up.code, up.stderr).toBe(0)
        const container = (await compose('ps', '-q', 'gateway')).stdout.trim()
        expect(container).toMatch(/^[0-9a-f]{12,}$/)
        await untilHealthy(container)
        const base = `http://127.0.0.1:${port}`
        const tool = uniqueName('compose-tool')
        await launchThrough(base, tool)
        await finishesAcross(base, tool, async () => {
          const stopped = await compose('stop')
          expect(stopped.code, stopped.stderr).toBe(0)
        })
        expect(await dockerCli('inspect', '--format', '{{.State.ExitCode}}', container)).toBe('0')
        expect(await dockerCli('logs', container)).toContain('"drained"')
      } finally {
        await compose('down', '--volumes', '--timeout', '5')
      }
    },
    300_000,
  )

  it.runIf(systemdAnalyzeReady)('has a systemd unit that systemd-analyze verifies without a warning', async () => {
    const checked = await run('systemd-analyze', ['verify', '--man=no', 'deploy/hono-docker-engine.service'])
    expect(checked.code, checked.stderr).toBe(0)
    expect(`${checked.stdout}${checked.stderr}`.trim()).toBe('')
    // A mistake is caught: a misspelt key warns, a missing program fails.
    const dir = await mkdtemp(join(tmpdir(), 'hde-unit-'))
    const broken = join(dir, 'broken.service')
    const unit = await readFile(join(ROOT, 'deploy/hono-docker-engine.service'), 'utf8')
    await writeFile(broken, unit.replace('KillSignal=', 'KillSignl=').replace('/usr/bin/env ', '/nonexistent/env '))
    const caught = await run('systemd-analyze', ['verify', '--man=no', broken])
    expect(caught.code).not.toBe(0)
    expect(caught.stderr).toContain("Unknown key 'KillSignl'")
  })
})
