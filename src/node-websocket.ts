import { request as httpRequest, STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { toUpstreamError } from './upstream.js'
import type { WebSocketProxy } from './proxy/websocket.js'

const UPGRADE = Symbol.for('hono-docker-engine.upgrade')

/** The raw client socket of an upgrade request, handed to the app through `c.env`. */
interface UpgradeSlot {
  socket: Duplex
  head: Buffer
  /** Set once the socket belongs to a tunnel; the app's Response is then ignored. */
  tunnelled: boolean
}

type FetchLike = (request: Request, env: Record<string | symbol, unknown>) => Response | Promise<Response>

/** Any Node server that emits `upgrade` (what `@hono/node-server`'s `serve` returns). */
export interface UpgradeEmitter {
  on(event: 'upgrade', listener: (incoming: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown
}

/**
 * Route WebSocket upgrades on a Node server through a Hono app's `fetch`, so mounting, auth
 * middleware and the gateway's wake logic apply to them as to any request. A handler that
 * does not tunnel (an error, a please-wait) has its Response written to the socket, which closes.
 *
 * @example handleUpgrades(server, app.fetch) // app: your Hono app with the gateway mounted
 */
export function handleUpgrades(server: UpgradeEmitter, fetch: FetchLike): void {
  server.on('upgrade', (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const slot: UpgradeSlot = { socket, head, tunnelled: false }
    const headers = new Headers()
    for (let i = 0; i < incoming.rawHeaders.length; i += 2) headers.append(incoming.rawHeaders[i]!, incoming.rawHeaders[i + 1]!)
    let request: Request
    try {
      request = new Request(`http://${incoming.headers.host ?? 'localhost'}${incoming.url ?? '/'}`, { method: incoming.method ?? 'GET', headers })
    } catch {
      void writeResponse(socket, new Response('Bad Request', { status: 400 }))
      return
    }
    Promise.resolve()
      .then(() => fetch(request, { incoming, [UPGRADE]: slot }))
      .then(
        (response) => (slot.tunnelled ? undefined : writeResponse(socket, response)),
        () => (slot.tunnelled ? undefined : writeResponse(socket, new Response('Internal Server Error', { status: 500 }))),
      )
  })
}

/** Write a complete HTTP/1.1 response to a raw socket and close it. Bodies here are small errors. */
async function writeResponse(socket: Duplex, response: Response): Promise<void> {
  if (socket.destroyed) return
  const body = Buffer.from(await response.arrayBuffer())
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`]
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie' && key !== 'content-length' && key !== 'connection') lines.push(`${key}: ${value}`)
  })
  for (const cookie of response.headers.getSetCookie()) lines.push(`set-cookie: ${cookie}`)
  lines.push(`content-length: ${body.length}`, 'connection: close')
  socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]))
}

/**
 * WebSocket proxying on Node: a byte-level tunnel. The container's handshake answer (status,
 * subprotocol, extensions) goes back verbatim, then both sockets are piped, so frames, pings and
 * close codes pass through untouched and backpressure is TCP's own.
 */
export const nodeWebSocketProxy: WebSocketProxy = (c, target) =>
  new Promise((resolve, reject) => {
    const slot = (c.env as Record<symbol, UpgradeSlot | undefined> | undefined)?.[UPGRADE]
    if (!slot) {
      resolve(Response.json({ error: { code: 'websocket_unsupported', message: 'Attach the gateway with handleUpgrades(server, app.fetch) to proxy WebSockets' } }, { status: 501 }))
      return
    }
    const headers: Record<string, string> = {}
    target.headers.forEach((value, key) => {
      headers[key] = value
    })
    headers.connection = 'Upgrade'
    headers.upgrade = 'websocket'
    const upstream = httpRequest(target.url, { method: 'GET', headers, agent: false })

    upstream.on('upgrade', (res: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer) => {
      slot.tunnelled = true
      const client = slot.socket
      const lines = ['HTTP/1.1 101 Switching Protocols']
      for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`)
      client.write(`${lines.join('\r\n')}\r\n\r\n`)
      if (upstreamHead.length) client.write(upstreamHead)
      if (slot.head.length) upstreamSocket.write(slot.head)
      upstreamSocket.setNoDelay(true)
      ;(client as Socket).setNoDelay?.(true)
      // A tunnel lives as long as its peers: no idle timeout on the client socket.
      ;(client as Socket).setTimeout?.(0)
      target.onOpen()
      let closed = 0
      const onSideClosed = (other: Duplex) => () => {
        // Let the other side flush (e.g. a close frame), then make sure it goes too.
        other.end()
        setTimeout(() => other.destroy(), 5_000).unref()
        if (++closed === 2) target.onClose()
      }
      client.once('close', onSideClosed(upstreamSocket))
      upstreamSocket.once('close', onSideClosed(client))
      client.on('error', () => client.destroy())
      upstreamSocket.on('error', () => upstreamSocket.destroy())
      upstreamSocket.pipe(client)
      client.pipe(upstreamSocket)
      resolve(new Response(null, { status: 204 }))
    })

    upstream.on('response', (res: IncomingMessage) => {
      // The container declined the upgrade: pass its answer through.
      const responseHeaders = new Headers()
      for (let i = 0; i < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!)
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve(new Response(res.statusCode === 204 || res.statusCode === 304 ? null : Buffer.concat(chunks), { status: res.statusCode ?? 502, headers: responseHeaders })))
      res.on('error', (err) => reject(toUpstreamError(err)))
    })
    upstream.on('error', (err) => reject(toUpstreamError(err)))
    slot.socket.once('close', () => upstream.destroy())
    upstream.end()
  })
