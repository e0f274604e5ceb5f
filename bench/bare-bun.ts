/**
 * The benchmark's floor for Bun: the least a Bun reverse proxy does per request, `Bun.serve`
 * handing each request to `fetch`, and relaying each WebSocket's messages to a `WebSocket` of its
 * own to the container, with no gateway logic (no history, activity, metrics, header rules or
 * timeouts). Not a product: it shows what the runtime itself costs on this machine.
 * Usage: bun bench/bare-bun.ts <port> <container origin> <prefix to strip>
 */
interface Relay {
  send(message: string | ArrayBuffer | Uint8Array<ArrayBuffer>): void
  close(): void
  data: { upstream: WebSocket }
}
declare const Bun: {
  argv: string[]
  serve(options: {
    hostname: string
    port: number
    idleTimeout: number
    fetch: (request: Request, server: { upgrade(request: Request, options: object): boolean }) => Promise<Response>
    websocket: {
      open(ws: Relay): void
      message(ws: Relay, message: string | Uint8Array<ArrayBuffer>): void
      close(ws: Relay): void
    }
  }): { port: number }
}

const [port, origin, prefix] = Bun.argv.slice(2) as [string, string, string]
Bun.serve({
  hostname: '127.0.0.1',
  port: Number(port),
  idleTimeout: 0,
  async fetch(request, server) {
    const url = new URL(request.url)
    const path = `${url.pathname.slice(prefix.length) || '/'}${url.search}`
    if (request.headers.get('upgrade') === 'websocket') {
      const upstream = new WebSocket(`${origin.replace(/^http/, 'ws')}${path}`)
      upstream.binaryType = 'arraybuffer'
      await new Promise((opened, failed) => {
        upstream.onopen = opened
        upstream.onerror = failed
      })
      if (server.upgrade(request, { data: { upstream } })) return new Response(null)
      upstream.close()
      return new Response('upgrade failed', { status: 400 })
    }
    const headers = new Headers(request.headers)
    headers.delete('host')
    const init = { method: request.method, headers, body: request.body, redirect: 'manual', decompress: false }
    return fetch(`${origin}${path}`, init as RequestInit)
  },
  websocket: {
    open(ws) {
      ws.data.upstream.onmessage = (event) => ws.send(event.data)
      ws.data.upstream.onclose = () => ws.close()
    },
    message(ws, message) {
      ws.data.upstream.send(message)
    },
    close(ws) {
      ws.data.upstream.close()
    },
  },
})
