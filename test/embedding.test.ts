import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { memory } from '../src/backends/memory.js'
import { createGateway } from '../src/gateway.js'
import { silentLogger } from '../src/logger.js'
import { useTestUpstream, type SeenRequest } from './helpers/upstream.js'
import { launchSpec } from './helpers/launch-spec.js'

const shared = useTestUpstream()
const client = shared.client

describe('embedding in a parent Hono app', () => {
  function parentApp() {
    const gateway = createGateway({
      backend: memory({ upstreams: () => shared.upstream.url }),
      fetch: client,
      logger: silentLogger,
    })
    const parent = new Hono()
    parent.get('/', (c) => c.text('parent home'))
    parent.route('/viz', gateway.app)
    return parent
  }

  it('serves the API and the proxy under the mount path', async () => {
    const parent = parentApp()
    const launched = await parent.request('/viz/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'tool:1', name: 'embedded' }),
    })
    expect(launched.status).toBe(201)
    expect(await launched.json()).toMatchObject({ url: '/viz/docker/embedded/' })
    expect(launched.headers.get('location')).toBe('/viz/api/containers/embedded')

    const res = await parent.request('/viz/docker/embedded/deep/path?q=1')
    expect(res.status).toBe(200)
    const seen = (await res.json()) as SeenRequest
    expect(seen.url).toBe('/deep/path?q=1')
    expect(seen.headers['x-forwarded-prefix']).toBe('/viz/docker/embedded')

    const list = (await (await parent.request('/viz/api/containers')).json()) as { containers: { url: string }[] }
    expect(list.containers[0]?.url).toBe('/viz/docker/embedded/')
    expect(await (await parent.request('/')).text()).toBe('parent home')
  })

  it('redirects to the trailing slash under the mount path and keeps JSON errors', async () => {
    const parent = parentApp()
    const res = await parent.request('/viz/docker/embedded')
    expect(res.status).toBe(308)
    expect(res.headers.get('location')).toBe('/viz/docker/embedded/')
    const missing = await parent.request('/viz/api/containers/missing')
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: { code: 'container_not_found' } })
    const bad = await parent.request('/viz/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(bad.status).toBe(400)
  })

  it('has no side effects at import', async () => {
    const before = process.listenerCount('SIGINT')
    await import('../src/index.js')
    await import('../src/backends/docker/index.js')
    expect(process.listenerCount('SIGINT')).toBe(before)
  })
})

describe('embedding with WebSockets on Node', () => {
  it('tunnels a WebSocket through a parent app, its middleware included', async () => {
    const { createServer } = await import('node:http')
    const { WebSocketServer, default: WebSocket } = await import('ws')
    const { serve } = await import('@hono/node-server')
    const { createNodeGateway, handleUpgrades } = await import('../src/adapter/node/index.js')

    const upstreamServer = createServer()
    const wss = new WebSocketServer({ server: upstreamServer, handleProtocols: (p) => [...p][0] ?? false })
    wss.on('connection', (ws, req) =>
      ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${req.url} ${data}`, { binary: isBinary })),
    )
    await new Promise<void>((r) => upstreamServer.listen(0, '127.0.0.1', r))
    const upstreamUrl = `http://127.0.0.1:${(upstreamServer.address() as { port: number }).port}`

    const backend = memory({ upstreams: () => upstreamUrl })
    const gateway = createNodeGateway({ backend, logger: silentLogger, background: false })
    await backend.launch(launchSpec('live'))
    const parent = new Hono()
    let seenByMiddleware = 0
    parent.use('/viz/*', async (c, next) => {
      seenByMiddleware++
      if (c.req.header('x-deny')) return c.text('forbidden', 403)
      await next()
    })
    parent.route('/viz', gateway.app)
    const server = serve({ fetch: parent.fetch, port: 0, hostname: '127.0.0.1' })
    handleUpgrades(server, parent.fetch)
    await new Promise((r) => server.once('listening', r))
    const base = `ws://127.0.0.1:${(server.address() as { port: number }).port}`
    try {
      const ws = new WebSocket(`${base}/viz/docker/live/chat?x=1`, ['v1'])
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
      expect(ws.protocol).toBe('v1')
      const reply = new Promise<string>((r) => ws.once('message', (d) => r(d.toString())))
      ws.send('hi')
      expect(await reply).toBe('/chat?x=1 hi')
      ws.close()
      expect(seenByMiddleware).toBeGreaterThan(0)

      const denied = new WebSocket(`${base}/viz/docker/live/chat`, { headers: { 'x-deny': '1' } })
      const status = await new Promise<number>((resolve) =>
        denied.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
      )
      expect(status).toBe(403)
    } finally {
      server.close()
      wss.close()
      upstreamServer.close()
      await gateway.close()
    }
  })
})

describe('the API and the proxy on separate origins', () => {
  it('serves containers on one host and the API on another, and neither answers for the other', async () => {
    const gateway = createGateway({
      backend: memory({ upstreams: () => shared.upstream.url }),
      config: { listen: { allowedHosts: ['admin.example.org', 'tools.example.org'] } },
      fetch: client,
      logger: silentLogger,
      background: false,
    })
    const tools = new Hono().route('/', gateway.proxy)
    const admin = new Hono().route('/', gateway.api)
    const app = new Hono().all('*', (c) =>
      (new URL(c.req.url).host === 'tools.example.org' ? tools : admin).fetch(c.req.raw, c.env),
    )
    const launched = await app.request('http://admin.example.org/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'tool:1', name: 'split' }),
    })
    expect(launched.status).toBe(201)
    expect((await app.request('http://tools.example.org/docker/split/x')).status).toBe(200)
    expect((await app.request('http://tools.example.org/api/containers')).status).toBe(404)
    expect((await app.request('http://admin.example.org/docker/split/x')).status).toBe(404)
    await gateway.close()
  })
})
