import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { ECHO_IMAGE, dockerCli, dockerReady, eventually, removeRunContainers, uniqueName } from '../helpers/docker.js'
import { RUNTIMES, startGateway, type GatewayProcess } from '../helpers/gateway-process.js'

type Json = Record<string, any>

/** Echo a WebSocket message through `url` and resolve the reply. */
const echoOverSocket = (url: string, message: string) =>
  new Promise<string>((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once('open', () => ws.send(message))
    ws.once('message', (data: Buffer) => {
      resolve(data.toString())
      ws.close()
    })
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)))
    ws.once('error', reject)
  })

describe.runIf(await dockerReady('reach: network acceptance'))('reach: network acceptance', () => {
  afterAll(removeRunContainers)

  for (const runtime of RUNTIMES) {
    describe(`docker.reach "network" on ${runtime}: containers at their own address, no host port`, () => {
      let gw: GatewayProcess
      // Its own label root: this gateway stops idle containers, which must never be another suite's.
      const config = {
        labelRoot: `io.github.hde-test.reach-${runtime}`,
        docker: { reach: 'network', stopTimeoutSeconds: 1 },
        idle: { action: 'stop', checkIntervalSeconds: 1 },
      }

      beforeAll(async () => {
        gw = await startGateway(runtime, config)
      })
      afterAll(async () => {
        await gw?.stop()
      })

      const serving = (base: string, name: string) =>
        eventually(
          async () => {
            const res = await fetch(`${base}/docker/${name}/seen?q=1`)
            return res.status === 200 && ((await res.json()) as Json)
          },
          20_000,
          `${name} serving`,
        )

      it('proxies HTTP and WebSockets, wakes a stopped container at its new address, and finds it again after a restart', async () => {
        const name = uniqueName(`reach-${runtime}`)
        const launched = await fetch(`${gw.url}/api/containers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ image: ECHO_IMAGE, name, idleTimeoutSeconds: 2 }),
        })
        expect(launched.status, await launched.clone().text()).toBe(201)
        const seen = await serving(gw.url, name)
        expect(seen).toMatchObject({ method: 'GET', rawPath: '/seen', query: '?q=1' })
        expect(seen.headers['x-forwarded-prefix']).toBe(`/docker/${name}`)
        expect(await dockerCli('port', name)).toBe('')
        // An absolute redirect to itself, built from the Host it was reached at (no ":80"), stays under the prefix.
        const redirect = await fetch(
          `${gw.url}/docker/${name}/redirect?to=${encodeURIComponent('http://{host}/next?x=1')}`,
          { redirect: 'manual' },
        )
        expect(redirect.status).toBe(302)
        expect(redirect.headers.get('location')).toBe(`/docker/${name}/next?x=1`)
        expect(await echoOverSocket(`${gw.url.replace(/^http/, 'ws')}/docker/${name}/socket`, 'over the bridge')).toBe(
          'over the bridge',
        )

        // Idle stop, then a request wakes it; Docker may hand out another address on start.
        await eventually(
          async () => (await dockerCli('inspect', '--format', '{{.State.Status}}', name)) === 'exited',
          20_000,
          'idle stop',
        )
        const woken = await fetch(`${gw.url}/docker/${name}/woken`, { headers: { prefer: 'wait=30' } })
        expect(woken.status).toBe(200)
        expect(((await woken.json()) as Json).rawPath).toBe('/woken')

        // A new gateway process rebuilds the route from Docker's list, addresses included.
        await gw.stop()
        gw = await startGateway(runtime, config)
        expect((await serving(gw.url, name)).rawPath).toBe('/seen')
      })
    })
  }
})
