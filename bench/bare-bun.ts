/**
 * The benchmark's floor for Bun: the least a Bun reverse proxy does per request, `Bun.serve`
 * handing each request to `fetch` with no gateway logic (no history, activity, metrics, header
 * rules or timeouts). Not a product: it shows what the runtime itself costs on this machine.
 * Usage: bun bench/bare-bun.ts <port> <container origin> <prefix to strip>
 */
declare const Bun: {
  argv: string[]
  serve(options: {
    hostname: string
    port: number
    idleTimeout: number
    fetch: (request: Request) => Promise<Response>
  }): { port: number }
}

const [port, origin, prefix] = Bun.argv.slice(2) as [string, string, string]
Bun.serve({
  hostname: '127.0.0.1',
  port: Number(port),
  idleTimeout: 0,
  fetch(request) {
    const url = new URL(request.url)
    const headers = new Headers(request.headers)
    headers.delete('host')
    const init = { method: request.method, headers, body: request.body, redirect: 'manual', decompress: false }
    return fetch(`${origin}${url.pathname.slice(prefix.length) || '/'}${url.search}`, init as RequestInit)
  },
})
