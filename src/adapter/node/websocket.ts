import { request as httpRequest, STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { pipeline, Readable, type Duplex } from 'node:stream'
import { isValidHost } from '../../http/host.js'
import { toUpstreamError } from '../../proxy/upstream.js'
import { isWebSocketHandshake, type WebSocketProxy, type WebSocketTarget } from '../../proxy/websocket.js'
import { errorAnswer, toResponse, NULL_BODY_STATUSES } from '../../http/answer.js'

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
  emit(event: 'connection', socket: Duplex): boolean
}

/**
 * Route WebSocket upgrades on a Node server through a Hono app's `fetch`, so mounting, auth
 * middleware and the gateway's wake logic apply to them as to any request. A handler that
 * does not tunnel (an error, a please-wait) has its Response streamed to the socket, which closes.
 *
 * Node hands every request with `Connection: Upgrade` to this listener, whatever the protocol.
 * Only WebSocket handshakes are tunnelled; any other (`h2c`, made-up protocols) is handed back
 * to the server's ordinary request handling with its upgrade headers dropped, as hop-by-hop.
 *
 * @example handleUpgrades(server, app.fetch) // app: your Hono app with the gateway mounted
 */
export function handleUpgrades(server: UpgradeEmitter, fetch: FetchLike): void {
  server.on('upgrade', (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!isWebSocketHandshake(incoming.method, incoming.headers.upgrade)) {
      replayWithoutUpgrade(server, incoming, socket, head)
      return
    }
    socket.on('error', destroyOnError)
    const slot: UpgradeSlot = { socket, head, tunnelled: false }
    const host = incoming.headers.host
    if (!host || !isValidHost(host)) {
      void writeResponse(
        socket,
        toResponse(errorAnswer(400, 'invalid_host', 'The Host header is not a valid host[:port]')),
      )
      return
    }
    const headers = new Headers()
    let request: Request
    try {
      for (let i = 0; i < incoming.rawHeaders.length; i += 2)
        headers.append(incoming.rawHeaders[i]!, incoming.rawHeaders[i + 1]!)
      request = new Request(`http://${host}${incoming.url ?? '/'}`, { method: incoming.method ?? 'GET', headers })
    } catch {
      void writeResponse(socket, new Response('Bad Request', { status: 400 }))
      return
    }
    Promise.resolve()
      .then(() => fetch(request, { incoming, [UPGRADE]: slot }))
      .then(
        (response) => (slot.tunnelled ? undefined : writeResponse(socket, response)),
        () =>
          slot.tunnelled ? undefined : writeResponse(socket, new Response('Internal Server Error', { status: 500 })),
      )
      .catch(() => socket.destroy())
  })
}

/**
 * Give a request that asked for a protocol other than WebSocket back to the server as an
 * ordinary one: its head is written again without `Upgrade` (and without the `upgrade` token of
 * `Connection`) in front of the bytes that followed it, and the server parses the socket afresh,
 * so its body is framed, limited and streamed like any other request's.
 */
function replayWithoutUpgrade(server: UpgradeEmitter, incoming: IncomingMessage, socket: Duplex, head: Buffer): void {
  const lines = [`${incoming.method} ${incoming.url} HTTP/${incoming.httpVersion}`]
  const raw = incoming.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    if (name === 'upgrade') continue
    if (name === 'connection') {
      const kept = raw[i + 1]!.split(',')
        .map((token) => token.trim())
        .filter((token) => token && token.toLowerCase() !== 'upgrade')
      if (kept.length) lines.push(`${raw[i]}: ${kept.join(', ')}`)
      continue
    }
    lines.push(`${raw[i]}: ${raw[i + 1]}`)
  }
  socket.unshift(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), head]))
  server.emit('connection', socket)
}

/**
 * Write a response to a raw socket and close it. The body streams with backpressure (a logs
 * follow, a container's large error page); a client that leaves cancels it, and a body that
 * fails midway just ends the connection.
 */
function writeResponse(socket: Duplex, response: Response): Promise<void> {
  if (socket.destroyed) return response.body?.cancel().catch(() => {}) ?? Promise.resolve()
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`]
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie' && key !== 'connection' && key !== 'transfer-encoding' && key !== 'keep-alive')
      lines.push(`${key}: ${value}`)
  })
  for (const cookie of response.headers.getSetCookie()) lines.push(`set-cookie: ${cookie}`)
  const body = NULL_BODY_STATUSES.has(response.status) ? null : response.body
  if (!body && !response.headers.has('content-length')) lines.push('content-length: 0')
  // Without a length, the end of the body is the end of the connection (RFC 9112 §6.3).
  lines.push('connection: close')
  socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
  if (!body) {
    socket.end()
    return Promise.resolve()
  }
  // The client's end of an answer-only exchange is its leaving (Node keeps upgrade sockets half open).
  socket.once('end', () => socket.destroy())
  return new Promise((done) => {
    pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>), socket, (err) => {
      if (err) socket.destroy()
      done()
    })
  })
}

/** A raw header list as Web `Headers`. */
function headersOf(raw: string[]): Headers {
  const headers = new Headers()
  for (let i = 0; i < raw.length; i += 2) {
    try {
      headers.append(raw[i]!, raw[i + 1]!)
    } catch {
      // A field Headers cannot hold is not passed on.
    }
  }
  return headers
}

/**
 * WebSocket proxying on Node: a byte-level tunnel. The container's handshake answer (status,
 * subprotocol, extensions) goes back verbatim, then both sockets are piped, so frames, pings and
 * close codes pass through untouched and backpressure is TCP's own.
 */
export const nodeWebSocketProxy: WebSocketProxy = (c, target) => {
  const slot = (c.env as Record<symbol, UpgradeSlot | undefined> | undefined)?.[UPGRADE]
  if (!slot) {
    return Promise.resolve(
      toResponse(
        errorAnswer(
          501,
          'websocket_unsupported',
          'Attach the gateway with handleUpgrades(server, app.fetch) to proxy WebSockets',
        ),
      ),
    )
  }
  // Nothing of the request's context is in scope from here: an open tunnel keeps only its sockets.
  return handshake(slot, target)
}

/** Open the container's side of the tunnel and answer the client with the container's answer. */
function handshake(slot: UpgradeSlot, target: WebSocketTarget): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {}
    target.headers.forEach((value, key) => {
      headers[key] = value
    })
    headers.connection = 'Upgrade'
    headers.upgrade = 'websocket'
    const upstream = httpRequest(target.url, { method: 'GET', headers, agent: false })
    const abandon = () => upstream.destroy()
    slot.socket.once('close', abandon)

    upstream.on('upgrade', (res: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer) => {
      slot.socket.off('close', abandon)
      slot.tunnelled = true
      const client = slot.socket
      // The container's handshake answer, by the same header policy as every HTTP answer.
      const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade']
      const answered = target.answerHeaders(headersOf(res.rawHeaders))
      answered.forEach((value, key) => {
        if (key !== 'set-cookie') lines.push(`${key}: ${value}`)
      })
      for (const cookie of answered.getSetCookie()) lines.push(`set-cookie: ${cookie}`)
      client.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
      if (upstreamHead.length) client.write(upstreamHead)
      if (slot.head.length) upstreamSocket.write(slot.head)
      const tunnel = join(client, upstreamSocket, target.onClose)
      target.onOpen((code, reason) => goAwaySoon(tunnel, code, reason))
      resolve(new Response(null, { status: 204 }))
    })

    upstream.on('response', (res: IncomingMessage) => {
      slot.socket.off('close', abandon)
      // The container declined the upgrade: pass its answer through, streamed, by the header policy.
      const status = res.statusCode ?? 502
      const body = NULL_BODY_STATUSES.has(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>)
      if (!body) res.resume()
      resolve(new Response(body, { status, headers: target.answerHeaders(headersOf(res.rawHeaders)) }))
    })
    upstream.on('error', (err) => reject(toUpstreamError(err)))
    upstream.end()
  })
}

/** The other socket of a tunnel, and the tunnel's shared state, kept on each of its two sockets. */
const PEER = Symbol('peer')
const TUNNEL = Symbol('tunnel')
type TunnelSocket = Duplex & { [PEER]?: TunnelSocket; [TUNNEL]?: TunnelState }

/** A tunnel's shared state. */
interface TunnelState {
  client: TunnelSocket
  upstream: TunnelSocket
  closed: number
  onClose: () => void
  /** Where the container's frames end. */
  frames: FrameEnds
  /** Set when the gateway closes the tunnel: the close frame goes to the client after the current frame. */
  goingAway?: { code: number; reason: string }
}

/**
 * Where the frames a container sends end (RFC 6455 §5.2; a server's frames are unmasked, but
 * the mask bit is honoured), so that the gateway can put a close frame of its own between two
 * of them. Payload bytes are skipped, not read: a frame costs its header.
 */
export class FrameEnds {
  /** Bytes still to come of the current frame's payload. */
  #left = 0
  /** The bytes of a header that is not complete yet. */
  #head: number[] = []

  /** Whether the stream is between two frames. */
  get between(): boolean {
    return this.#left === 0 && this.#head.length === 0
  }

  /** Follow a chunk; with `stop`, the offset just after the first frame that ends in it (else -1). */
  feed(chunk: Uint8Array, stop = false): number {
    let i = 0
    while (i < chunk.length) {
      if (this.#left > 0) {
        const take = Math.min(this.#left, chunk.length - i)
        this.#left -= take
        i += take
        if (this.#left === 0 && stop) return i
        continue
      }
      this.#head.push(chunk[i++]!)
      const size = headerSize(this.#head)
      if (size === undefined || this.#head.length < size) continue
      this.#left = payloadSize(this.#head)
      this.#head = []
      if (this.#left === 0 && stop) return i
    }
    return -1
  }
}

/** A frame header's length once its first two bytes are known. */
function headerSize(head: number[]): number | undefined {
  if (head.length < 2) return undefined
  const length7 = head[1]! & 0x7f
  return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (head[1]! & 0x80 ? 4 : 0)
}

/** A complete frame header's payload length. */
function payloadSize(head: number[]): number {
  const length7 = head[1]! & 0x7f
  if (length7 < 126) return length7
  if (length7 === 126) return (head[2]! << 8) | head[3]!
  let size = 0
  for (let i = 2; i < 10; i++) size = size * 256 + head[i]!
  return size
}

/** A server's close frame (unmasked) with a code and a reason of at most 123 bytes. */
function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason).subarray(0, 123)
  return Buffer.concat([Buffer.from([0x88, 2 + text.length, code >> 8, code & 0xff]), text])
}

/** Close a tunnel for the gateway: after the container's current frame, or at once between frames. */
function goAwaySoon(tunnel: TunnelState, code: number, reason: string): void {
  if (tunnel.goingAway) return
  tunnel.goingAway = { code, reason }
  if (tunnel.frames.between) goAway(tunnel)
  // A frame that never ends does not hold the shutdown.
  setTimeout(() => {
    tunnel.client.destroy()
    tunnel.upstream.destroy()
  }, 2_000).unref()
}

/** The client gets the close frame and the end of the connection; the container's side is closed. */
function goAway(tunnel: TunnelState): void {
  const { client, upstream, goingAway } = tunnel
  upstream.off('data', forward)
  upstream.destroy()
  client.write(closeFrame(goingAway!.code, goingAway!.reason))
  client.end()
}

/**
 * Relay two sockets both ways, with backpressure, until both have closed; then call `onClose`
 * once. The listeners are shared by every tunnel and find their peer on the socket, so an open
 * tunnel costs its two sockets and little else (thousands of idle notebooks stay cheap).
 */
function join(client: TunnelSocket, upstream: Socket & TunnelSocket, onClose: () => void): TunnelState {
  upstream.setNoDelay(true)
  ;(client as Socket).setNoDelay?.(true)
  // A tunnel lives as long as its peers: no idle timeout on the client socket.
  ;(client as Socket).setTimeout?.(0)
  const tunnel: TunnelState = { client, upstream, closed: 0, onClose, frames: new FrameEnds() }
  for (const [from, to] of [
    [client, upstream],
    [upstream, client],
  ] as const) {
    from[PEER] = to
    from[TUNNEL] = tunnel
    from.on('error', destroyOnError)
    from.once('close', closePeer)
    from.on('end', endPeer)
    from.on('drain', resumePeer)
    from.on('data', forward)
  }
  return tunnel
}

/** A chunk from one side goes to the other; a full peer pauses this side until it drains. */
function forward(this: TunnelSocket, chunk: Buffer): void {
  const tunnel = this[TUNNEL]!
  if (this === tunnel.upstream) {
    const end = tunnel.frames.feed(chunk, tunnel.goingAway !== undefined)
    if (end !== -1) {
      this[PEER]!.write(chunk.subarray(0, end))
      goAway(tunnel)
      return
    }
  }
  if (!this[PEER]!.write(chunk)) this.pause()
}

/** This side can take more: the peer flows again. */
function resumePeer(this: TunnelSocket): void {
  this[PEER]!.resume()
}

/** This side ended: so does the peer's writing. */
function endPeer(this: TunnelSocket): void {
  this[PEER]!.end()
}

/** This side closed: let the peer flush (e.g. a close frame), then make sure it goes too. */
function closePeer(this: TunnelSocket): void {
  const peer = this[PEER]!
  peer.end()
  setTimeout(destroy, 5_000, peer).unref()
  const tunnel = this[TUNNEL]!
  if (++tunnel.closed === 2) tunnel.onClose()
}

function destroy(socket: Duplex): void {
  socket.destroy()
}

/** A socket's `error` listener: it goes, and its `close` does the rest. */
function destroyOnError(this: Duplex): void {
  this.destroy()
}
