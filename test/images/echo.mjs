// Echo server for the gateway's acceptance tests. Runs inside the hde-test/echo image.
//   ECHO_MODE=serve (default) | never-listen | exit   EXIT_CODE, EXIT_AFTER_MS, PORT
//   ECHO_QUIET=1               → no log line per request (the benchmark's upstream)
//   GET/POST/... /anything     → JSON: method, path, query, headers, body length and sha256
//   ANY /raw/...               → the request body streamed back as application/octet-stream
//   GET /status/<code>         → an empty answer with that status
//   GET /sse?n=3&gapMs=200&delayMs=0 → n server-sent events, gapMs apart, after delayMs
//   GET /redirect?to=<location> → 302 to that location ("{host}" → the Host it was reached at)
//   GET /cookie                 → sets cookies with Path and Domain attributes
//   GET /with-header?name=&value= → an answer carrying that header (repeat both to send several)
//   GET /page                   → the HTML document in PAGE_HTML (a page whose scripts a test controls)
//   GET /gzip                   → a gzip-encoded body (Content-Encoding: gzip)
//   GET /hang                   → never answers
//   GET /input?mode=env|file|url → the input as received (url: fetched from INPUT_JSON_URL; &tamper=1 spoils the token)
//   GET /bytes?n=N              → N bytes, with backpressure
//   GET /die-mid-stream         → starts answering, then the process exits (code 9)
//   GET /truncated              → promises Content-Length: 1000, sends 10 bytes, closes the connection
//   WebSocket on any path       → echoes text and binary; text "close:<code>:<reason>" closes;
//                                 "flood:<n>:<size>" sends n numbered messages of size bytes;
//                                 "handshake" answers JSON: the upgrade request's url and headers;
//                                 /ws-cookie answers the handshake with cookies for / and another prefix;
//                                 /ws-refuse refuses it with a 403 that sets such a cookie;
//                                 /ws-status/<code> refuses it with that status and the body
//                                 "refused with <code>" (401: with WWW-Authenticate);
//                                 both also send Clear-Site-Data: "cookies"
import { createServer } from 'node:http'
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'

const port = Number(process.env.PORT ?? 80)
const mode = process.env.ECHO_MODE ?? 'serve'
const quiet = process.env.ECHO_QUIET === '1'
console.log(`echo starting: mode=${mode} port=${port}`)
console.error('echo stderr: ready to work')

if (mode === 'exit') {
  setTimeout(() => process.exit(Number(process.env.EXIT_CODE ?? 3)), Number(process.env.EXIT_AFTER_MS ?? 0))
} else if (mode === 'never-listen') {
  setInterval(() => {}, 1 << 30)
} else {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://echo')
    if (!quiet) console.log(`echo: ${req.method} ${req.url}`)
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
      res.flushHeaders()
      let i = 0
      let timer
      const n = Number(url.searchParams.get('n') ?? 3)
      const start = setTimeout(
        () => {
          timer = setInterval(
            () => {
              res.write(`data: event ${++i}\n\n`)
              if (i >= n) {
                clearInterval(timer)
                res.end()
              }
            },
            Number(url.searchParams.get('gapMs') ?? 200),
          )
        },
        Number(url.searchParams.get('delayMs') ?? 0),
      )
      req.on('close', () => {
        clearTimeout(start)
        clearInterval(timer)
        if (!res.writableEnded) console.log(`echo: sse closed by peer after ${i} events`)
      })
      return
    }
    if (url.pathname === '/redirect') {
      // "{host}" stands for the Host the container was reached at (an absolute self-redirect).
      // `known` gives the answer a length, as most servers do; without it, it is chunked.
      const known = url.searchParams.has('known') ? { 'content-length': 0 } : {}
      res.writeHead(302, {
        location: (url.searchParams.get('to') ?? '/').replace('{host}', req.headers.host ?? ''),
        ...known,
      })
      res.end()
      return
    }
    if (url.pathname === '/page') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      res.end(process.env.PAGE_HTML ?? '<!doctype html><title>page</title><p>PAGE_HTML is not set</p>')
      return
    }
    if (url.pathname === '/with-header') {
      const names = url.searchParams.getAll('name')
      const values = url.searchParams.getAll('value')
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        ...Object.fromEntries(names.map((name, i) => [name, values[i] ?? ''])),
      })
      res.end('<!doctype html><title>with header</title><p>answered with headers</p>')
      return
    }
    if (url.pathname === '/cookie') {
      const body = `cookie seen: ${req.headers.cookie ?? ''}`
      const known = url.searchParams.has('known') ? { 'content-length': Buffer.byteLength(body) } : {}
      res.writeHead(200, {
        'set-cookie': ['sid=abc; Path=/; HttpOnly', 'pref=1; Domain=example.org; Path=/settings'],
        ...known,
      })
      res.end(body)
      return
    }
    if (url.pathname === '/gzip') {
      const body = gzipSync(Buffer.from('hello compressed world '.repeat(500)))
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': body.length })
      res.end(body)
      return
    }
    if (url.pathname === '/hang') return
    if (url.pathname === '/input') {
      // What the container received as its input, by each delivery mode.
      const mode = url.searchParams.get('mode')
      const reply = (status, text) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(text)
      }
      if (mode === 'env') return reply(200, process.env.INPUT_JSON ?? 'null')
      if (mode === 'file') {
        import('node:fs/promises')
          .then((fs) => fs.readFile(url.searchParams.get('path') ?? '/tmp/input.json', 'utf8'))
          .then(
            (text) => reply(200, text),
            (err) => reply(404, JSON.stringify({ error: String(err) })),
          )
        return
      }
      const target = process.env.INPUT_JSON_URL
      if (!target) return reply(404, '{"error":"no INPUT_JSON_URL"}')
      const tampered = url.searchParams.get('tamper') ? target.replace(/token=[0-9a-f]/, 'token=x') : target
      fetch(tampered).then(
        async (r) => reply(r.status, await r.text()),
        (err) => reply(502, JSON.stringify({ error: String(err) })),
      )
      return
    }
    if (url.pathname === '/bytes') {
      // n bytes, written only as fast as the reader takes them.
      let left = Number(url.searchParams.get('n') ?? 1024)
      const chunk = Buffer.alloc(64 * 1024, 120)
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left })
      const pump = () => {
        while (left > 0) {
          const piece = left >= chunk.length ? chunk : chunk.subarray(0, left)
          left -= piece.length
          if (!res.write(piece)) return res.once('drain', pump)
        }
        res.end()
      }
      pump()
      return
    }
    if (url.pathname === '/truncated') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1000 })
      res.write(Buffer.alloc(10, 97), () => res.socket?.destroy())
      return
    }
    if (url.pathname === '/die-mid-stream') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('partial answer\n')
      setTimeout(() => process.exit(9), 300)
      return
    }
    const hash = createHash('sha256')
    let length = 0
    req.on('data', (chunk) => {
      hash.update(chunk)
      length += chunk.length
    })
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
  try {
    const { WebSocketServer } = await import('ws')
    const cookies = ['wsid=1; Path=/; Domain=localhost', 'other=1; Path=/docker/someone-else/']
    const wss = new WebSocketServer({
      server,
      handleProtocols: (protocols) => [...protocols][0] ?? false,
      verifyClient: (info, done) => {
        const status = /^\/ws-status\/(\d{3})/.exec(info.req.url)?.[1]
        if (status)
          return done(false, Number(status), `refused with ${status}`, {
            'X-Refused-By': 'echo',
            ...(status === '401' ? { 'WWW-Authenticate': 'Basic realm="echo"' } : {}),
          })
        if (info.req.url.startsWith('/ws-refuse'))
          return done(false, 403, 'Forbidden', { 'Set-Cookie': cookies[0], 'Clear-Site-Data': '"cookies"' })
        done(true)
      },
    })
    wss.on('headers', (headers, req) => {
      if (!req.url.startsWith('/ws-cookie')) return
      for (const cookie of cookies) headers.push(`Set-Cookie: ${cookie}`)
      headers.push('Clear-Site-Data: "cookies"')
    })
    wss.on('connection', (ws, req) => {
      console.log(`echo: websocket ${req.url} protocol=${ws.protocol}`)
      ws.on('message', (data, isBinary) => {
        const text = isBinary ? '' : data.toString()
        const close = /^close:(\d+):(.*)$/.exec(text)
        const flood = /^flood:(\d+):(\d+)$/.exec(text)
        if (close) ws.close(Number(close[1]), close[2])
        else if (text === 'handshake') ws.send(JSON.stringify({ url: req.url, headers: req.headers }))
        else if (flood) {
          // n numbered messages of size bytes each, as fast as the socket takes them.
          const filler = 'x'.repeat(Number(flood[2]))
          for (let i = 0; i < Number(flood[1]); i++) ws.send(`${i}:${filler}`)
        } else ws.send(data, { binary: isBinary })
      })
    })
  } catch {
    console.log('echo: no ws package, WebSockets disabled')
  }
  server.listen(port, () => console.log(`echo listening on :${port}`))
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}
