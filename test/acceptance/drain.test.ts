import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ECHO_IMAGE, dockerReady, eventually, removeRunContainers, uniqueName } from '../helpers/docker.js'
import { RUNTIMES, startGateway, type GatewayProcess } from '../helpers/gateway-process.js'
import { startSocketRelay, type SocketRelay } from '../helpers/socket-relay.js'

type Json = Record<string, any>
const LABEL_ROOT = 'io.github.hde-test.drain'

/** Whether a request is answered, refused at connect, or answered 503 draining; and how fast. */
async function attempt(url: string): Promise<{ outcome: string; ms: number }> {
  const started = performance.now()
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
    const body = (await response.json().catch(() => ({}))) as Json
    return {
      outcome: `${response.status} ${body.error?.code ?? body.status ?? ''}`.trim(),
      ms: performance.now() - started,
    }
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
    return { outcome: code, ms: performance.now() - started }
  }
}

describe.runIf(await dockerReady('graceful shutdown'))('graceful shutdown', () => {
  let relay: SocketRelay
  let name: string
  beforeAll(async () => {
    relay = await startSocketRelay()
  })
  afterAll(async () => {
    await relay?.close()
    await removeRunContainers()
  })

  for (const runtime of RUNTIMES) {
    describe(`on ${runtime}`, () => {
      let gw: GatewayProcess | undefined
      const start = async (graceSeconds: number) => {
        gw = await startGateway(runtime, {
          labelRoot: LABEL_ROOT,
          docker: { socketPath: relay.path },
          shutdown: { graceSeconds },
          dashboard: { enabled: false },
        })
        return gw
      }
      afterAll(async () => {
        await gw?.stop()
      })
      const ensureContainer = async (g: GatewayProcess) => {
        name ??= uniqueName('drain')
        const launched = await fetch(`${g.url}/api/containers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ image: ECHO_IMAGE, name }),
        })
        expect([201, 409]).toContain(launched.status)
        await eventually(
          async () => (await fetch(`${g.url}/docker/${name}/`)).status === 200,
          30_000,
          `${name} serving`,
        )
      }

      it('finishes a 3 s answer started before SIGTERM, refuses what comes after, then exits', async () => {
        const g = await start(30)
        await ensureContainer(g)
        expect((await attempt(`${g.url}/api/health/ready`)).outcome).toBe('200 ready')
        const response = await fetch(`${g.url}/docker/${name}/sse?n=3&gapMs=1000`)
        expect(response.status).toBe(200)
        const reader = response.body!.getReader()
        const first = await reader.read()
        expect(new TextDecoder().decode(first.value)).toContain('data:')
        const signalled = performance.now()
        process.kill(g.pid, 'SIGTERM')
        // The rest of the answer arrives, in full.
        let rest = ''
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          rest += new TextDecoder().decode(value)
        }
        expect((new TextDecoder().decode(first.value) + rest).match(/^data:/gm)).toHaveLength(3)
        // Meanwhile or right after, nothing new is taken: refused at connect, or 503 draining.
        const late = await attempt(`${g.url}/docker/${name}/late`)
        expect(late.outcome).toMatch(/^(ECONNREFUSED|ECONNRESET|503 draining|UND_ERR_SOCKET)$/)
        expect(late.ms).toBeLessThan(5_000)
        expect(await g.exited).toBe(0)
        // It did not wait out the 30 s grace period.
        expect(performance.now() - signalled).toBeLessThan(15_000)
        expect(g.output()).toContain('"drained"')
        gw = undefined
      })

      it('fails readiness at once while an answer is in flight, and still finishes that answer', async () => {
        const g = await start(30)
        await ensureContainer(g)
        const slow = await fetch(`${g.url}/docker/${name}/sse?n=4&gapMs=1000`)
        const reader = slow.body!.getReader()
        await reader.read()
        process.kill(g.pid, 'SIGTERM')
        // The readiness probe turns at once (probes pass while draining); a request is refused.
        await eventually(
          async () => (await attempt(`${g.url}/api/health/ready`)).outcome !== '200 ready',
          5_000,
          'readiness to fail',
        )
        const ready = await attempt(`${g.url}/api/health/ready`)
        expect(ready.outcome).toMatch(/^(503 draining|ECONNREFUSED)$/)
        while (!(await reader.read()).done) {}
        expect(await g.exited).toBe(0)
        gw = undefined
      })

      it('exits at once when idle, and closes a WebSocket still open at the end of the grace period with 1001', async () => {
        const idle = await start(30)
        const signalled = performance.now()
        process.kill(idle.pid, 'SIGTERM')
        expect(await idle.exited).toBe(0)
        const idleMs = performance.now() - signalled
        // Measured well under a second; the bound leaves room for a loaded machine.
        expect(idleMs).toBeLessThan(3_000)

        const g = await start(1)
        await ensureContainer(g)
        const socket = new WebSocket(`${g.url.replace(/^http/, 'ws')}/docker/${name}/ws`)
        await new Promise((resolve, reject) => {
          socket.once('open', resolve)
          socket.once('error', reject)
        })
        const echoed = new Promise((resolve) => socket.once('message', (data) => resolve(String(data))))
        socket.send('before shutdown')
        expect(await echoed).toBe('before shutdown')
        const closed = new Promise<{ code: number; reason: string }>((resolve) =>
          socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
        )
        process.kill(g.pid, 'SIGTERM')
        const { code, reason } = await closed
        expect(code).toBe(1001)
        expect(reason).toContain('restarting')
        expect(await g.exited).toBe(0)
        gw = undefined
      })
    })
  }
})
