import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ECHO_IMAGE,
  STATIC_IMAGE,
  dockerCli,
  dockerReady,
  eventually,
  removeRunContainers,
  uniqueName,
} from '../helpers/docker.js'
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js'
import { createServer } from 'node:net'

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

type Json = Record<string, any>
const API_TOKEN = 'spec-test-token-0123456789'

describe.runIf(await dockerReady('container spec acceptance'))('container spec acceptance', () => {
  describe('the container spec on a real Docker Engine', () => {
    let gw: GatewayProcess
    beforeAll(async () => {
      gw = await startGateway('node', {
        images: { allow: ['hde-test/*'] },
        docker: { reach: 'published', stopTimeoutSeconds: 3 },
      })
    })
    afterAll(async () => {
      await gw?.stop()
      await removeRunContainers()
    })
    const launch = (body: Json) =>
      fetch(`${gw.url}/api/containers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })

    it('applies limits, init, stop timeout and a read-only root with a tmpfs /tmp, visible in docker inspect', async () => {
      const name = uniqueName('limits')
      const res = await launch({
        image: STATIC_IMAGE,
        name,
        cpus: 0.25,
        memReservationMb: 16,
        memLimitMb: 64,
        pidsLimit: 64,
        readOnlyRootfs: true,
      })
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
      // Hardened by default: no privilege escalation, dangerous capabilities dropped, never privileged.
      expect(inspect.HostConfig.SecurityOpt).toEqual(['no-new-privileges:true'])
      expect(inspect.HostConfig.CapDrop.sort()).toEqual([
        'AUDIT_WRITE',
        'MKNOD',
        'NET_RAW',
        'SETFCAP',
        'SETPCAP',
        'SYS_CHROOT',
      ])
      expect(inspect.HostConfig.Privileged).toBe(false)
      expect(inspect.HostConfig.PortBindings['80/tcp'][0].HostIp).toBe('127.0.0.1')
      expect(inspect.Mounts.some((m: Json) => String(m.Source).includes('docker.sock'))).toBe(false)
      expect(inspect.Config.StopTimeout).toBe(3)
      // Read-only, and still serving.
      await eventually(
        async () => (await fetch(`${gw.url}/docker/${name}/`)).status === 200,
        20_000,
        'read-only container serving',
      )
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

  describe('input delivery into a real container', () => {
    let gw: GatewayProcess
    beforeAll(async () => {
      // The container must reach the gateway for its input URL: listen beyond loopback, on a known port.
      const port = await freePort()
      // Listening beyond loopback requires API tokens.
      gw = await startGateway('node', {
        listen: { hostname: '0.0.0.0', port },
        auth: { tokens: [API_TOKEN] },
        input: { publicApiUrl: `http://host.docker.internal:${port}/api` },
      })
    })
    afterAll(async () => {
      await gw?.stop()
      await removeRunContainers()
    })
    const launchEcho = async (body: Json) => {
      const name = uniqueName('input')
      const res = await fetch(`${gw.url.replace('0.0.0.0', '127.0.0.1')}/api/containers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
        body: JSON.stringify({ image: ECHO_IMAGE, name, ...body }),
      })
      expect(res.status, await res.clone().text()).toBe(201)
      await eventually(async () => (await fetch(`${base()}/docker/${name}/`)).status === 200, 20_000, 'echo serving')
      return name
    }
    const base = () => gw.url.replace('0.0.0.0', '127.0.0.1')
    const input = { file_relationships: ['http://files.example/a.bam'], parameters: [{ name: 'zoom', value: 3 }] }

    it('reads its input from INPUT_JSON', async () => {
      const name = await launchEcho({ input, inputApiPrefix: true })
      const seen = await (await fetch(`${base()}/docker/${name}/input?mode=env`)).json()
      expect(seen).toEqual({ ...input, api_prefix: `/docker/${name}/` })
    })

    it('reads its input from a file written before it started, even in a directory the image lacks', async () => {
      const name = await launchEcho({ input, inputDelivery: 'file' })
      expect(await (await fetch(`${base()}/docker/${name}/input?mode=file`)).json()).toEqual(input)
      const nested = await launchEcho({ input, inputDelivery: 'file', inputPath: '/tmp/refinery/in/input.json' })
      expect(
        await (await fetch(`${base()}/docker/${nested}/input?mode=file&path=/tmp/refinery/in/input.json`)).json(),
      ).toEqual(input)
      // /tmp existed: it keeps its sticky, world-writable mode.
      expect(
        JSON.parse(
          await dockerCli(
            'exec',
            nested,
            '/usr/local/bin/node',
            '-p',
            'JSON.stringify((require("fs").statSync("/tmp").mode & 0o7777).toString(8))',
          ),
        ),
      ).toBe('1777')
    })

    it('fetches its input from INPUT_JSON_URL, and a wrong token is refused', async () => {
      const name = await launchEcho({ input, inputDelivery: 'url' })
      const fetched = await fetch(`${base()}/docker/${name}/input?mode=url`)
      expect(fetched.status).toBe(200)
      expect(await fetched.json()).toEqual(input)
      const tampered = await fetch(`${base()}/docker/${name}/input?mode=url&tamper=1`)
      expect(tampered.status).toBe(403)
    })
  })
})
