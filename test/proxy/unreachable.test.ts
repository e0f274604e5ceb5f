import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { memory } from '../../src/backends/memory.js'
import { nodeUpstream } from '../../src/adapter/node/upstream.js'
import { createGateway } from '../../src/gateway.js'
import { silentLogger } from '../../src/logger.js'
import { eventually } from '../helpers/docker.js'
import { launchSpec } from '../helpers/launch-spec.js'

type Json = Record<string, any>

const client = nodeUpstream()
afterAll(() => client.close())

/** A stand-in app on a fixed loopback port, which the test can stop and start again. */
async function app(port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A gateway on the in-memory engine with one launched container, `name`, that listens at `upstream`. */
async function gatewayWith(upstream: string, name = 'tool') {
  const backend = memory({ upstreams: () => upstream })
  const gateway = createGateway({ backend, fetch: client, logger: silentLogger, background: false })
  await backend.launch(launchSpec(name, { image: 'app:1' }))
  return { backend, gateway }
}

describe('a ready container whose port stops answering', () => {
  it('is unreachable everywhere at once (proxy 502, API, metrics), and ready again by itself when it answers', async () => {
    let served = await app()
    const { port } = served
    const { gateway } = await gatewayWith(`http://127.0.0.1:${port}`)
    const show = async () => (await (await gateway.app.request('/api/containers/tool')).json()) as Json
    expect((await gateway.app.request('/docker/tool/')).status).toBe(200)
    expect((await show()).status).toBe('ready')

    // The port stops answering (as when Docker's userland proxy for it dies); the container runs on.
    await served.close()
    // At first it is being checked (an app being stopped closes its port a moment before it exits).
    const first = await gateway.app.request('/docker/tool/')
    expect(first.status).toBe(503)
    expect(((await first.json()) as Json).error.message).toContain('not answering on its port; checking it')
    // Still failing 2 s later: unreachable.
    const refused = await eventually(
      async () => {
        const res = await gateway.app.request('/docker/tool/')
        return res.status === 502 && res
      },
      5_000,
      'a 502',
    )
    const { error } = (await refused.json()) as Json
    expect(error.code).toBe('container_unreachable')
    expect(error.message).toContain('is running, but its port stopped answering')
    expect(await show()).toMatchObject({ status: 'unreachable', reason: expect.stringContaining('stopped answering') })
    expect(await (await gateway.app.request('/metrics')).text()).toMatch(/hde_containers\{status="unreachable"\} 1/)
    // Every later request says the same at once, with and without Prefer: wait.
    expect((await gateway.app.request('/docker/tool/x', { headers: { prefer: 'wait=5' } })).status).toBe(502)

    // The port answers again: the gateway notices by itself.
    served = await app(port)
    await eventually(async () => (await show()).status === 'ready', 15_000, 'ready again')
    expect((await gateway.app.request('/docker/tool/')).status).toBe(200)
    expect((await show()).reason).toBeUndefined()
    await served.close()
    await gateway.close()
  })

  it('a dropped connection to a port that still answers is a retry, not unreachable', async () => {
    const served = await app()
    const { backend, gateway } = await gatewayWith(`http://127.0.0.1:${served.port}`)
    expect((await gateway.app.request('/docker/tool/')).status).toBe(200)
    expect(await gateway.manager.recheck((await backend.inspect('tool'))!)).toBe(true)
    expect(((await (await gateway.app.request('/api/containers/tool')).json()) as Json).status).toBe('ready')
    await served.close()
    await gateway.close()
  })

  it('is asked about again before each answer: an engine that cannot be asked is a 503, an exit an exit', async () => {
    const served = await app()
    const { backend, gateway } = await gatewayWith(`http://127.0.0.1:${served.port}`)
    expect((await gateway.app.request('/docker/tool/')).status).toBe(200)
    await served.close()
    await gateway.app.request('/docker/tool/')
    await eventually(async () => (await gateway.app.request('/docker/tool/')).status === 502, 5_000, 'unreachable')
    // Asked again, the engine says it runs (and its route is cached again): still unreachable.
    expect((await gateway.app.request('/docker/tool/')).status).toBe(502)
    // The engine goes down (as when it restarts): not "unreachable" any more, but "wait".
    backend.setUnavailable(true)
    const down = await gateway.app.request('/docker/tool/')
    expect(down.status).toBe(503)
    expect(((await down.json()) as Json).error.message).toContain('engine cannot be reached')
    // It comes back and says the container exited with an error: that is the answer.
    backend.setUnavailable(false)
    backend.setState('tool', 'exited', 1)
    const exited = await gateway.app.request('/docker/tool/')
    expect(exited.status).toBe(502)
    expect(((await exited.json()) as Json).error.code).toBe('container_exited')
    await gateway.close()
  })

  it('a container still starting stays starting', async () => {
    const { gateway } = await gatewayWith('http://127.0.0.1:9', 'slow') // discard port: refused
    const res = await gateway.app.request('/docker/slow/')
    expect(res.status).toBe(503)
    expect(((await (await gateway.app.request('/api/containers/slow')).json()) as Json).status).toBe('starting')
    await gateway.close()
  })
})
