// Echo server for the gateway's acceptance tests. Runs inside the hde-test/echo image.
//   ECHO_MODE=serve (default) | never-listen | exit   EXIT_CODE, EXIT_AFTER_MS, PORT
//   GET/POST/... /anything     → JSON: method, path, query, headers, body length and sha256
//   ANY /raw/...               → the request body streamed back as application/octet-stream
//   GET /status/<code>         → an empty answer with that status
//   GET /sse?n=3&gapMs=200     → n server-sent events, gapMs apart
import { createServer } from 'node:http'
import { createHash } from 'node:crypto'

const port = Number(process.env.PORT ?? 80)
const mode = process.env.ECHO_MODE ?? 'serve'
console.log(`echo starting: mode=${mode} port=${port}`)
console.error('echo stderr: ready to work')

if (mode === 'exit') {
  setTimeout(() => process.exit(Number(process.env.EXIT_CODE ?? 3)), Number(process.env.EXIT_AFTER_MS ?? 0))
} else if (mode === 'never-listen') {
  setInterval(() => {}, 1 << 30)
} else {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://echo')
    console.log(`echo: ${req.method} ${req.url}`)
    if (url.pathname.startsWith('/raw/')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      req.pipe(res)
      return
    }
    const status = /^\/status\/(\d{3})$/.exec(url.pathname)
    if (status) {
      req.resume()
      res.writeHead(Number(status[1]))
      res.end()
      return
    }
    if (url.pathname === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
      let i = 0
      const n = Number(url.searchParams.get('n') ?? 3)
      const timer = setInterval(() => {
        res.write(`data: event ${++i}\n\n`)
        if (i >= n) { clearInterval(timer); res.end() }
      }, Number(url.searchParams.get('gapMs') ?? 200))
      req.on('close', () => clearInterval(timer))
      return
    }
    const hash = createHash('sha256')
    let length = 0
    req.on('data', (chunk) => { hash.update(chunk); length += chunk.length })
    req.on('end', () => {
      const body = JSON.stringify({
        method: req.method,
        path: url.pathname,
        rawPath: req.url.split('?')[0],
        query: url.search,
        headers: req.headers,
        bodyLength: length,
        bodySha256: hash.digest('hex'),
        inputJson: process.env.INPUT_JSON ?? null,
      })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(req.method === 'HEAD' ? undefined : body)
    })
  })
  server.listen(port, () => console.log(`echo listening on :${port}`))
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}
