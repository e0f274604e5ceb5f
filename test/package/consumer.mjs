// A consumer of the packed package: embeds the gateway in its own Hono app, launches a
// container through it, proxies to it, and prints what happened as one JSON line.
// Runs unchanged on Node and on Bun (only the server differs).
import { Hono } from 'hono'
import { memory } from 'hono-docker-engine'
import { docker } from 'hono-docker-engine/docker'

const [image, name, labelRoot] = process.argv.slice(2)
const onBun = typeof globalThis.Bun !== 'undefined'
const runtime = onBun ? await import('hono-docker-engine/bun') : await import('hono-docker-engine/node')
const create = onBun ? runtime.createBunGateway : runtime.createNodeGateway
const gateway = create({ backend: docker({ labelRoot }), logger: { info() {}, warn() {}, error() {} } })
const app = new Hono().get('/', (c) => c.text('consumer home')).route('/viz', gateway.app)

let url
let stop
if (onBun) {
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (req, srv) => app.fetch(req, srv),
    websocket: runtime.bunWebSocket,
  })
  url = `http://127.0.0.1:${server.port}`
  stop = () => server.stop(true)
} else {
  const { serve } = await import('@hono/node-server')
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
  runtime.handleUpgrades(server, app.fetch)
  await new Promise((r) => server.once('listening', r))
  url = `http://127.0.0.1:${server.address().port}`
  stop = () => server.close()
}

const result = { runtime: onBun ? 'bun' : 'node', memoryBackend: typeof memory === 'function' }
try {
  const launched = await fetch(`${url}/viz/api/containers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image, name }),
  })
  result.launch = { http: launched.status, ...(await launched.json()) }
  let page
  for (let i = 0; i < 100; i++) {
    page = await fetch(`${url}${result.launch.url}`)
    if (page.status === 200) break
    await new Promise((r) => setTimeout(r, 200))
  }
  result.page = { status: page.status, body: await page.text() }
  result.home = await (await fetch(`${url}/`)).text()
  result.removed = (await fetch(`${url}/viz/api/containers/${name}`, { method: 'DELETE' })).status
  // The dashboard's own files ship in the package and are served from it (no CDN).
  // The dashboard on a listener of its own, as the runtime entry serves it.
  const serveDashboard = onBun ? runtime.serveBunDashboard : runtime.serveNodeDashboard
  const dashboard = await serveDashboard({ gateway, port: 0 })
  result.dashboardAssets = {}
  for (const file of ['dashboard.js', 'dashboard.css', 'uPlot.iife.min.js']) {
    const asset = await fetch(`${dashboard.url}/assets/${file}`)
    result.dashboardAssets[file] = `${asset.status} ${(await asset.arrayBuffer()).byteLength > 1000}`
  }
  await dashboard.close()
} finally {
  await gateway.close()
  stop()
}
console.log(JSON.stringify(result))
process.exit(0)
