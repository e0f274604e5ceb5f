/**
 * The benchmark's floor for Node: the least a Node reverse proxy does per request, Node's `http`
 * server handing each request to undici's keep-alive pool and piping the answer back, with no
 * gateway logic (no history, activity, metrics, header rules or timeouts). A reference, not a
 * product path: it shows what the runtime itself costs on this machine.
 * Usage: node bench/bare-node.ts <port> <container origin> <prefix to strip>
 */
import { createServer } from 'node:http'
import { Agent, request } from 'undici'

const [port, origin, prefix] = process.argv.slice(2) as [string, string, string]
const dispatcher = new Agent({ keepAliveTimeout: 4_000, headersTimeout: 0, bodyTimeout: 0 })

createServer((req, res) => {
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
}).listen(Number(port), '127.0.0.1')
