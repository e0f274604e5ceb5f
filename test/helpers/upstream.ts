import { afterAll, beforeAll } from 'vitest'
import { nodeUpstream } from '../../src/adapter/node/upstream.js'
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'

/** What the upstream saw for one request. */
export interface SeenRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  bodyLength: number
  bodySha256: string
}

/** A loopback HTTP server standing in for a container app in core tests. */
export interface TestUpstream {
  url: string
  /** Requests whose `/stream` response was closed by the peer. */
  closedStreams: number
  close(): Promise<void>
}

/** The gzip body `/gzip` serves, for byte-exact comparisons. */
export const GZIP_BODY = gzipSync(Buffer.from('compressed hello '.repeat(200)))

/**
 * Routes: `/raw/*` echoes the body; `/status/<n>`; `/slow?ms=` delays headers; `/stream` writes
 * a chunk every 50 ms until the client leaves; `/gzip` sends a pre-compressed body;
 * `/redirect?to=` answers 302 to that location, `/cookie?set=` with that `Set-Cookie`; `/hop`
 * sends hop-by-hop headers; anything else answers JSON describing the request. Like an app told
 * its base URL, it serves the same routes under a public prefix (`…/docker/<name>/redirect`).
 */
export async function startUpstream(): Promise<TestUpstream> {
  const state = { closedStreams: 0 }
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream')
    url.pathname = url.pathname.replace(/^(?:\/[^/]+)*?\/docker\/[^/]+(?=\/)/, '')
    if (url.pathname.startsWith('/raw/')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      req.pipe(res)
      return
    }
    const status = /^\/status\/(\d{3})$/.exec(url.pathname)
    if (status) {
      req.resume()
      res.writeHead(Number(status[1]), { 'content-type': 'text/plain' })
      res.end(Number(status[1]) === 204 || Number(status[1]) === 304 ? undefined : `status ${status[1]}`)
      return
    }
    if (url.pathname === '/slow') {
      setTimeout(() => res.end('slow'), Number(url.searchParams.get('ms') ?? 1000))
      return
    }
    if (url.pathname === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.flushHeaders()
      const timer = setInterval(() => res.write('tick\n'), 50)
      res.on('close', () => {
        clearInterval(timer)
        if (!res.writableFinished) state.closedStreams++
      })
      return
    }
    if (url.pathname === '/gzip') {
      res.writeHead(200, {
        'content-type': 'text/plain',
        'content-encoding': 'gzip',
        'content-length': GZIP_BODY.length,
      })
      res.end(GZIP_BODY)
      return
    }
    if (url.pathname === '/redirect') {
      req.resume()
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' })
      res.end()
      return
    }
    if (url.pathname === '/cookie') {
      req.resume()
      res.writeHead(204, { 'set-cookie': url.searchParams.getAll('set') })
      res.end()
      return
    }
    if (url.pathname === '/small') {
      // A small answer of known length with every header the response policy rewrites.
      req.resume()
      res.writeHead(201, {
        'content-length': 5,
        location: url.searchParams.get('to') ?? '/',
        'set-cookie': ['sid=1; Path=/', 'pref=2; Path=/settings'],
        connection: 'keep-alive, x-private',
        'x-private': 'secret',
      })
      res.end('small')
      return
    }
    if (url.pathname === '/hop') {
      res.writeHead(200, {
        connection: 'close, x-private',
        'x-private': 'secret',
        'keep-alive': 'timeout=5',
        'x-public': 'yes',
        // An id of the app's own, which the gateway answers its own in place of.
        'x-request-id': 'the-containers-own',
      })
      res.end('hop')
      return
    }
    const hash = createHash('sha256')
    let length = 0
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk)
      length += chunk.length
    })
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        bodyLength: length,
        bodySha256: hash.digest('hex'),
      }
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1; Path=/', 'b=2; Path=/'] })
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(seen))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    get closedStreams() {
      return state.closedStreams
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * For a test file: a loopback upstream and a Node upstream client, started before the file's
 * tests and closed after them. Read `.upstream` and `.client` inside tests.
 */
export function useTestUpstream(): {
  readonly upstream: TestUpstream
  readonly client: ReturnType<typeof nodeUpstream>
} {
  const client = nodeUpstream()
  let upstream: TestUpstream | undefined
  beforeAll(async () => {
    upstream = await startUpstream()
  })
  afterAll(async () => {
    await client.close()
    await upstream?.close()
  })
  return {
    get upstream() {
      if (!upstream) throw new Error('useTestUpstream: the upstream starts in beforeAll')
      return upstream
    },
    client,
  }
}
