import { describe, expect, it } from 'vitest'
import { ECHO_IMAGE, STATIC_IMAGE, eventually, uniqueName } from '../helpers/docker.js'
import { useAcceptanceGateway } from '../helpers/acceptance-gateway.js'
import { startGateway, type Runtime } from '../helpers/gateway-process.js'

type Json = Record<string, any>

/**
 * Acceptance on a real Docker Engine, for what goes wrong around the gateway: a restart, clients
 * that leave, and the Docker socket going away. Its gateway reaches Docker through a relay the
 * last test cuts.
 */
export function resilienceSuite(runtime: Runtime): void {
  describe(`resilience on ${runtime} with a real Docker Engine`, () => {
    const fixture = useAcceptanceGateway(runtime, (socketPath) => ({ docker: { socketPath } }))
    const { api, launch, launchOk, whenServing } = fixture

    it('rebuilds its routes from Docker labels after a restart', async () => {
      const name = uniqueName('survives')
      await launchOk({ image: STATIC_IMAGE, name })
      await whenServing(name)
      const second = await startGateway(runtime, { docker: { socketPath: fixture.relay.path } })
      try {
        const list = (await (await fetch(`${second.url}/api/containers`)).json()) as Json
        expect(list.containers.map((c: Json) => c.name)).toContain(name)
        const page = await fetch(`${second.url}/docker/${name}/`)
        expect(page.status).toBe(200)
        expect(await page.text()).toContain('Welcome to the hde static test page')
      } finally {
        await second.stop()
      }
    })

    it('shrugs off a client that leaves in the middle of a streamed response', async () => {
      const name = uniqueName('stream')
      await launchOk({ image: ECHO_IMAGE, name })
      await whenServing(name)
      for (let i = 0; i < 5; i++) {
        const controller = new AbortController()
        const res = await fetch(`${fixture.gw.url}/docker/${name}/sse?n=1000&gapMs=20`, { signal: controller.signal })
        const reader = res.body!.getReader()
        const first = await reader.read()
        expect(new TextDecoder().decode(first.value)).toContain('data: event 1')
        controller.abort()
      }
      expect((await fetch(`${fixture.gw.url}/docker/${name}/`)).status).toBe(200)
      expect((await api('/api/health')).status).toBe(200)
      expect(fixture.gw.output()).not.toMatch(/Controller is already closed|Unhandled|ERR_/)
    })

    it('keeps answering when the Docker socket is gone, and recovers when it is back', async () => {
      const name = uniqueName('survivor')
      await launchOk({ image: STATIC_IMAGE, name })
      expect((await whenServing(name)).status).toBe(200)

      await fixture.relay.cut()
      const health = await api('/api/health')
      expect(health.status).toBe(503)
      expect(await health.json()).toMatchObject({ ok: false, backend: { reachable: false } })
      const list = await api('/api/containers')
      expect(list.status).toBe(503)
      const listBody = (await list.json()) as Json
      expect(listBody.error.code).toBe('backend_unavailable')
      expect(listBody.error.message).toMatch(/Docker Engine/)
      expect(JSON.stringify(listBody)).not.toMatch(/node_modules|\.ts:\d+/)
      const launchWhileDown = await launch({ image: STATIC_IMAGE, name: uniqueName('down') })
      expect(launchWhileDown.status).toBe(503)
      // Known containers keep being proxied from the route cache.
      expect((await fetch(`${fixture.gw.url}/docker/${name}/`)).status).toBe(200)
      // Unknown ones get a please-wait, not a 500.
      expect((await fetch(`${fixture.gw.url}/docker/${uniqueName('unknown')}/`)).status).toBe(503)

      await fixture.relay.restore()
      await eventually(async () => (await api('/api/health')).status === 200, 10_000, 'recovery')
      expect((await api('/api/containers')).status).toBe(200)
      expect(fixture.gw.output()).not.toMatch(/Unhandled|uncaught/i)
    })
  })
}
