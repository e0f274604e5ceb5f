import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STATIC_IMAGE, dockerReady, eventually, removeRunContainers, uniqueName } from '../helpers/docker.js'
import { makeTestCerts, type TestCerts } from '../helpers/certs.js'
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js'
import { startTcpRelay, type TcpRelay } from '../helpers/socket-relay.js'

type Json = Record<string, any>

describe.runIf(await dockerReady('remote engine acceptance'))('remote engine acceptance', () => {
  describe('engines reached over TCP and TLS', () => {
    let certs: TestCerts
    let plain: TcpRelay
    let secure: TcpRelay
    const gateways: GatewayProcess[] = []
    beforeAll(async () => {
      certs = await makeTestCerts()
      plain = await startTcpRelay()
      secure = await startTcpRelay({ ca: certs.ca, ...certs.server })
    })
    afterAll(async () => {
      for (const gw of gateways) await gw.stop()
      await plain?.close()
      await secure?.close()
      await removeRunContainers()
    })

    /** Launch through the gateway and load the page, proving API calls and upstream URLs both work. */
    const launchAndServe = async (gw: GatewayProcess) => {
      const name = uniqueName('remote')
      const res = await fetch(`${gw.url}/api/containers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: STATIC_IMAGE, name }),
      })
      expect(res.status, await res.clone().text()).toBe(201)
      await eventually(
        async () => (await fetch(`${gw.url}/docker/${name}/`)).status === 200,
        20_000,
        'container served',
      )
      const health = (await (await fetch(`${gw.url}/api/health`)).json()) as Json
      expect(health.backend.reachable).toBe(true)
    }

    it('works with DOCKER_HOST=tcp://…', async () => {
      const gw = await startGateway('node', {}, { DOCKER_HOST: plain.address })
      gateways.push(gw)
      await launchAndServe(gw)
    })

    it('works with docker.host and TLS client certificates from the config', async () => {
      const gw = await startGateway('node', { docker: { host: secure.address, tls: certs.files } })
      gateways.push(gw)
      await launchAndServe(gw)
    })

    it('works with DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as the docker CLI reads them', async () => {
      const gw = await startGateway(
        'node',
        {},
        { DOCKER_HOST: secure.address, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.dir },
      )
      gateways.push(gw)
      await launchAndServe(gw)
    })

    it('reports a TLS engine without client certificates as unreachable, clearly', async () => {
      const gw = await startGateway('node', { docker: { host: secure.address.replace('tcp://', 'https://') } })
      gateways.push(gw)
      const health = await fetch(`${gw.url}/api/health`)
      expect(health.status).toBe(503)
      expect(((await health.json()) as Json).backend.reachable).toBe(false)
    })
  })
})
