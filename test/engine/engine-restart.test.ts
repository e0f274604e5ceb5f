import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ECHO_IMAGE,
  dockerCli,
  dockerReady,
  engineStarts,
  eventually,
  removeRunContainers,
  uniqueName,
} from '../helpers/docker.js'
import { ensureEngineRunning, restartEngine, setLiveRestore, whyEngineCannotRestart } from '../helpers/engine.js'
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js'
import { launchServing } from '../helpers/acceptance-gateway.js'

type Json = Record<string, any>

/**
 * The gateway across restarts of the real Docker Engine (SIGTERM to dockerd, as `systemctl
 * restart docker` or a package upgrade does). This suite runs alone, after every other one
 * (vitest project `engine`), so that no other suite sees the engine go away; it leaves the engine
 * running and its `daemon.json` as it found them, even when a test fails.
 */
const suite = 'the gateway across Docker Engine restarts'
const dockerOk = await dockerReady(suite)
const cannot = dockerOk ? await whyEngineCannotRestart() : 'no usable Docker Engine'
if (cannot && process.env.CI === 'true') throw new Error(`${suite}: required in CI, but ${cannot}`)
if (cannot) console.warn(`\n!!! SKIPPING ${suite}: ${cannot}.\n`)

/** Bounds a client may wait during the outage: the engine call timeout plus the proxy's own work. */
const CONFIG = { docker: { apiTimeoutMs: 3_000 }, maxWaitSeconds: 60, idle: { checkIntervalSeconds: 1 } }

describe.runIf(!cannot)(suite, () => {
  let dataDir: string
  let gw: GatewayProcess
  const start = async () => {
    gw = await startGateway('node', { ...CONFIG, dataDir })
  }
  const api = (path: string, init?: RequestInit) => fetch(`${gw.url}${path}`, init)
  const json = async (path: string) => (await (await api(path)).json()) as Json
  const starts = engineStarts

  beforeAll(async () => {
    dataDir = join(await mkdtemp(join(tmpdir(), 'hde-engine-')), 'data')
    await start()
  })
  afterAll(async () => {
    await gw?.stop()
    // Whatever happened, the engine runs again for whoever comes next.
    await ensureEngineRunning()
    await removeRunContainers()
  })

  it('serves 503s, never hangs, and wakes each stopped tool with one start once the engine is back; a crash stays a 502', async () => {
    const tool = uniqueName('tool')
    const crash = uniqueName('crash')
    await launchServing(gw.url, { image: ECHO_IMAGE, name: tool })
    await (
      await api('/api/containers', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: ECHO_IMAGE, name: crash, env: { ECHO_MODE: 'exit', EXIT_CODE: '3' } }),
      })
    ).body?.cancel()
    await eventually(async () => (await json(`/api/containers/${crash}`)).status === 'exited', 20_000, 'the crash')
    expect((await api(`/docker/${tool}/before`)).status).toBe(200)

    // Clients keep coming while the engine goes down and comes back.
    const answers: (number | string)[] = []
    let running = true
    const clients = Array.from({ length: 3 }, async () => {
      while (running) {
        answers.push(
          await api(`/docker/${tool}/during`, { signal: AbortSignal.timeout(20_000) }).then(
            async (r) => (r.status === 200 || r.status === 503 ? r.status : `${r.status} ${await r.text()}`),
            (err: Error) => err.name,
          ),
        )
        await new Promise((r) => setTimeout(r, 100))
      }
    })
    const healthWhileDown: number[] = []
    await restartEngine(async () => {
      await new Promise((r) => setTimeout(r, 1_500))
      healthWhileDown.push((await api('/api/health')).status)
      expect(
        (await api(`/docker/${tool}/`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } })).status,
      ).toBe(503)
    })
    const restartedAt = Math.floor(Date.now() / 1000) - 60
    running = false
    await Promise.all(clients)
    expect(healthWhileDown).toEqual([503])
    expect(answers.length).toBeGreaterThan(5)
    // Before the engine went down, 200s; while it was down or waking the tool, 503s: nothing else, no hang.
    expect(answers.filter((a) => a !== 200 && a !== 503)).toEqual([])

    expect((await api('/api/health')).status).toBe(200)
    const woken = await Promise.all(
      Array.from({ length: 10 }, () => api(`/docker/${tool}/after`, { headers: { prefer: 'wait=60' } })),
    )
    expect(woken.map((r) => r.status)).toEqual(Array(10).fill(200))
    expect(await starts(tool, restartedAt)).toBe(1)
    expect((await json(`/api/containers/${tool}`)).status).toBe('ready')
    const paths = ((await json(`/api/containers/${tool}/history`)).entries as Json[]).map((e) => e.path)
    expect(paths).toContain('/before')
    expect(paths).toContain('/after')

    // The app that crashed on its own is not restarted.
    const crashed = await api(`/docker/${crash}/`, { headers: { prefer: 'wait=5' } })
    expect(crashed.status).toBe(502)
    expect(await crashed.text()).toContain('code 3')
    expect((await json(`/api/containers/${crash}`)).status).toBe('exited')
    expect(await starts(crash, restartedAt)).toBe(0)
  })

  it('wakes a tool on its next request when the gateway restarted while the engine was down', async () => {
    const tool = uniqueName('offline')
    await launchServing(gw.url, { image: ECHO_IMAGE, name: tool })
    expect((await api(`/docker/${tool}/before`)).status).toBe(200)
    await gw.stop()
    // The gateway starts while the engine is down, and sees it come back.
    await restartEngine(start)
    const restartedAt = Math.floor(Date.now() / 1000) - 60
    expect((await json(`/api/containers/${tool}`)).status).toBe('stopped')
    expect((await api(`/docker/${tool}/after`, { headers: { prefer: 'wait=60' } })).status).toBe(200)
    expect(await starts(tool, restartedAt)).toBe(1)
    const paths = ((await json(`/api/containers/${tool}/history`)).entries as Json[]).map((e) => e.path)
    expect(paths).toEqual(expect.arrayContaining(['/before', '/after']))
  })

  it('never wakes a tool stopped by hand, nor one that exited on its own, for a gateway restarted with the engine', async () => {
    const byHand = uniqueName('byhand')
    const clean = uniqueName('clean')
    await launchServing(gw.url, { image: ECHO_IMAGE, name: byHand })
    await (
      await api('/api/containers', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: ECHO_IMAGE, name: clean, env: { ECHO_MODE: 'exit', EXIT_CODE: '0' } }),
      })
    ).body?.cancel()
    await dockerCli('stop', byHand)
    await eventually(async () => (await json(`/api/containers/${clean}`)).status === 'exited', 20_000, 'the exit')
    const finished = Math.max(
      ...(await Promise.all(
        [byHand, clean].map(async (name) =>
          Date.parse(await dockerCli('inspect', '--format', '{{.State.FinishedAt}}', name)),
        ),
      )),
    )
    // The gateway keeps hearing from the engine well after both ended, and writes it down.
    await eventually(
      async () => {
        const run = JSON.parse(await readFile(join(dataDir, 'engine-run.json'), 'utf8').catch(() => '{}')) as Json
        return run.seenAt >= finished + 35_000
      },
      90_000,
      'the gateway to hear from the engine 35 s after the stops',
    )
    // Down while the engine restarts: only its record tells that the engine was running long after these stops.
    await gw.stop()
    await restartEngine()
    const restartedAt = Math.floor(Date.now() / 1000) - 60
    await start()
    for (const name of [byHand, clean]) {
      expect((await json(`/api/containers/${name}`)).status, name).toBe('exited')
      const answer = await api(`/docker/${name}/`, { headers: { prefer: 'wait=5' } })
      expect(answer.status, name).toBe(502)
      expect(await starts(name, restartedAt), name).toBe(0)
    }
  }, 180_000)

  it('with live-restore on, tools keep running across the restart and are never woken', async () => {
    const restore = await setLiveRestore(true)
    try {
      const tool = uniqueName('live')
      await launchServing(gw.url, { image: ECHO_IMAGE, name: tool })
      expect((await json('/api/health')).backend).toMatchObject({ reachable: true, liveRestore: true })
      const startedAt = await dockerCli('inspect', '--format', '{{.State.StartedAt}}', tool)
      const since = Math.floor(Date.now() / 1000) - 1
      await restartEngine()
      expect(await dockerCli('inspect', '--format', '{{.State.Running}} {{.State.StartedAt}}', tool)).toBe(
        `true ${startedAt}`,
      )
      expect((await api(`/docker/${tool}/after`, { headers: { prefer: 'wait=60' } })).status).toBe(200)
      expect(await starts(tool, since)).toBe(0)
    } finally {
      await restore()
    }
    expect((await json('/api/health')).backend).toMatchObject({ liveRestore: false })
  })
})
