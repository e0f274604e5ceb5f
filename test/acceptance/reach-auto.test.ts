import { readFile, readdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type WebSocket from 'ws'
import { ECHO_IMAGE, dockerCli, dockerReady, eventually, removeRunContainers, uniqueName } from '../helpers/docker.js'
import { RUNTIMES, startGateway, type GatewayProcess } from '../helpers/gateway-process.js'
import { launchServing } from '../helpers/acceptance-gateway.js'
import { openSockets } from '../helpers/sockets.js'

type Json = Record<string, any>

/** Command lines of this machine's `docker-proxy` processes, by pid (read from /proc, not from the gateway). */
async function dockerProxies(): Promise<Map<number, string>> {
  const found = new Map<number, string>()
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.split('\0')[0]?.endsWith('docker-proxy')) found.set(Number(entry), cmdline.split('\0').join(' '))
  }
  return found
}

/** The pids of the `docker-proxy` processes that forward to this container. */
async function proxiesOf(name: string): Promise<number[]> {
  const address = await dockerCli('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', name)
  const addresses = address.split(' ').filter(Boolean)
  return [...(await dockerProxies())]
    .filter(([, cmdline]) => addresses.some((ip) => cmdline.includes(`-container-ip ${ip} `)))
    .map(([pid]) => pid)
}

const json = async (url: string) => (await (await fetch(url)).json()) as Json

describe.runIf(await dockerReady('reach acceptance'))('how containers are reached', () => {
  afterAll(removeRunContainers)

  for (const runtime of RUNTIMES) {
    describe(`on ${runtime}`, () => {
      let auto: GatewayProcess
      let published: GatewayProcess
      beforeAll(async () => {
        auto = await startGateway(runtime, {})
        published = await startGateway(runtime, { docker: { reach: 'published' } })
      })
      afterAll(async () => {
        await auto?.stop()
        await published?.stop()
      })

      it('by default (auto), on a local engine on Linux: at the container address, with no docker-proxy', async () => {
        const name = uniqueName('auto')
        await launchServing(auto.url, { image: ECHO_IMAGE, name })
        // Through the engine and /proc, not through the gateway's say-so.
        expect(await dockerCli('port', name)).toBe('')
        expect(await dockerCli('inspect', '-f', '{{json .HostConfig.PortBindings}}', name)).toMatch(/^(null|\{\})$/)
        expect(await proxiesOf(name)).toEqual([])
        expect(auto.output()).toContain('containers are reached through their network address')
        expect((await fetch(`${auto.url}/docker/${name}/x`)).status).toBe(200)
      })

      it('a port that stops answering is unreachable on the proxy and in the API, and ready again after docker restart', async () => {
        const name = uniqueName('proxied')
        await launchServing(published.url, { image: ECHO_IMAGE, name })
        const pids = await proxiesOf(name)
        expect(pids.length).toBeGreaterThan(0)
        // Docker's userland proxy for this container's port dies; the container runs on.
        for (const pid of pids) process.kill(pid, 'SIGKILL')
        const answer = await eventually(
          async () => {
            const res = await fetch(`${published.url}/docker/${name}/`)
            return res.status === 502 && ((await res.json()) as Json)
          },
          10_000,
          'a 502',
        )
        expect(answer.error.code).toBe('container_unreachable')
        expect(await json(`${published.url}/api/containers/${name}`)).toMatchObject({ status: 'unreachable' })
        expect(await dockerCli('inspect', '-f', '{{.State.Running}}', name)).toBe('true')

        await dockerCli('restart', '-t', '1', name)
        await eventually(
          async () => (await json(`${published.url}/api/containers/${name}`)).status === 'ready',
          20_000,
          'ready again',
        )
        expect((await fetch(`${published.url}/docker/${name}/back`)).status).toBe(200)
      })

      it('2,000 WebSockets through the gateway: all open, all echo', { timeout: 120_000 }, async () => {
        const name = uniqueName('many')
        await launchServing(auto.url, { image: ECHO_IMAGE, name })
        const url = `${auto.url.replace(/^http/, 'ws')}/docker/${name}/socket`
        const sockets: WebSocket[] = []
        try {
          await openSockets(url, 2000, sockets)
          expect(sockets).toHaveLength(2000)
          const echoes = await Promise.all(
            sockets.map(
              (ws, i) =>
                new Promise<string>((resolve) => {
                  ws.once('message', (data: Buffer) => resolve(data.toString()))
                  ws.send(`message ${i}`)
                }),
            ),
          )
          expect(echoes.filter((text, i) => text !== `message ${i}`)).toEqual([])
        } finally {
          for (const ws of sockets) ws.terminate()
        }
      })
    })
  }
})
