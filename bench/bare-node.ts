/**
 * The benchmark's floor for Node: the least a Node reverse proxy does per request, Node's `http`
 * server handing each request to undici's keep-alive pool and piping the answer back, and each
 * WebSocket upgrade to a TCP connection that relays bytes both ways, with no gateway logic (no
 * history, activity, metrics, header rules or timeouts). A reference, not a product path: it shows
 * what the runtime itself costs on this machine.
 * Usage: node bench/bare-node.ts <port> <container origin> <prefix to strip>
 */
import { createServer } from 'node:http'
import { connect } from 'node:net'
import { Agent, request } from 'undici'

const [port, origin, prefix] = process.argv.slice(2) as [string, string, string]
const dispatcher = new Agent({ keepAliveTimeout: 4_000, headersTimeout: 0, bodyTimeout: 0 })

const server = createServer((req, res) => {
  const headers = { ...req.headers }
  delete headers.host
  delete headers.connection
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
  request(`${origin}${(req.url ?? '/').slice(prefix.length) || '/'}`, {
    method: req.method as 'GET',
    headers,
    body: hasBody ? req : null,
    dispatcher,
  }).then(
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers as Record<string, string | string[]>)
      answer.body.pipe(res)
    },
    () => {
      res.statusCode = 502
      res.end()
    },
  )
})

// A WebSocket: the handshake passed on as received, then bytes both ways.
const { hostname, port: upstreamPort } = new URL(origin)
server.on('upgrade', (req, client, head) => {
  const upstream = connect(Number(upstreamPort || 80), hostname, () => {
    const lines = [`${req.method} ${(req.url ?? '/').slice(prefix.length) || '/'} HTTP/1.1`]
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
    if (head.length) upstream.write(head)
    client.pipe(upstream).pipe(client)
  })
  upstream.setNoDelay(true)
  upstream.on('error', () => client.destroy())
  client.on('error', () => upstream.destroy())
})
server.listen(Number(port), '127.0.0.1')
