import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ECHO_IMAGE, STATIC_IMAGE, dockerCli, dockerReady, eventually, removeRunContainers, uniqueName } from '../helpers/docker.js'
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js'

type Json = Record<string, any>

if (await dockerReady('container spec acceptance')) {
  describe('the container spec on a real Docker Engine', () => {
    let gw: GatewayProcess
    beforeAll(async () => {
      gw = await startGateway('node', { images: { allow: ['hde-test/*'] }, docker: { stopTimeoutSeconds: 3 } })
    })
    afterAll(async () => {
      await gw?.stop()
      await removeRunContainers()
    })
    const launch = (body: Json) =>
      fetch(`${gw.url}/api/containers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

    it('applies limits, init, stop timeout and a read-only root with a tmpfs /tmp, visible in docker inspect', async () => {
      const name = uniqueName('limits')
      const res = await launch({ image: STATIC_IMAGE, name, cpus: 0.25, memReservationMb: 16, memLimitMb: 64, pidsLimit: 64, readOnlyRootfs: true })
      expect(res.status).toBe(201)
      const inspect = JSON.parse(await dockerCli('inspect', name))[0] as Json
      expect(inspect.HostConfig).toMatchObject({
        NanoCpus: 250_000_000,
        MemoryReservation: 16 * 1024 * 1024,
        Memory: 64 * 1024 * 1024,
        PidsLimit: 64,
        Init: true,
        ReadonlyRootfs: true,
      })
      expect(Object.keys(inspect.HostConfig.Tmpfs)).toEqual(['/tmp'])
      expect(inspect.Config.StopTimeout).toBe(3)
      // Read-only, and still serving.
      await eventually(async () => (await fetch(`${gw.url}/docker/${name}/`)).status === 200, 20_000, 'read-only container serving')
    })

    it('applies the default process limit', async () => {
      const name = uniqueName('pids')
      expect((await launch({ image: STATIC_IMAGE, name })).status).toBe(201)
      expect(await dockerCli('inspect', '--format', '{{.HostConfig.PidsLimit}}', name)).toBe('512')
    })

    it('refuses an image outside the allowlist with 403 naming the rule', async () => {
      const res = await launch({ image: 'nginx:1.27', name: uniqueName('denied') })
      expect(res.status).toBe(403)
      const body = (await res.json()) as Json
      expect(body.error.code).toBe('image_not_allowed')
      expect(body.error.message).toContain('"hde-test/*"')
      expect((await launch({ image: ECHO_IMAGE, name: uniqueName('allowed') })).status).toBe(201)
    })
  })
}
