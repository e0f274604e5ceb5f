import type { WebSocketProxy } from '../../proxy/websocket.js'
import { UpstreamConnectError } from '../../errors.js'
import { errorAnswer, toResponse } from '../../http/answer.js'
import type { BunServerLike, BunServerSocket, Tunnel } from './types.js'

/** Bytes a relayed WebSocket may buffer in either direction before it is closed. */
const RELAY_BUFFER_LIMIT = 16 * 1024 * 1024

/** Close codes an endpoint may send (RFC 6455 §7.4); 1005/1006 only ever describe a close. */
function sendableCode(code: number): number | undefined {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
    ? code
    : undefined
}

/** Close the client the way the container closed: same code and reason, or abruptly for 1006. */
function closeClient(client: BunServerSocket, code: number, reason: string): void {
  const sendable = sendableCode(code)
  if (code === 1006) client.terminate()
  else if (sendable) client.close(sendable, reason)
  else client.close()
}

/**
 * The `websocket` handler for `Bun.serve` that relays tunnelled sockets. `serveBun` installs
 * it; when embedding on Bun, pass it as `Bun.serve({ websocket: bunWebSocket, ... })`.
 */
export const bunWebSocket = {
  /** Pings keep quiet sockets alive past `idleTimeout` as long as the client answers. */
  sendPings: true,
  idleTimeout: 120,
  /**
   * A client that stops reading may hold 16 MB in flight; past that Bun would silently drop
   * messages, so the socket is closed instead: a relay never loses data quietly.
   */
  backpressureLimit: RELAY_BUFFER_LIMIT,
  closeOnBackpressureLimit: true,
  open(ws: BunServerSocket) {
    const tunnel = ws.data
    tunnel.client = ws
    for (const message of tunnel.pending.splice(0)) ws.send(message)
    if (tunnel.upstreamClosed) closeClient(ws, tunnel.upstreamClosed.code, tunnel.upstreamClosed.reason)
  },
  message(ws: BunServerSocket, message: string | Uint8Array<ArrayBuffer>) {
    const { upstream } = ws.data
    // The other direction has the same bound: a container that stops reading gets no more.
    if (upstream.bufferedAmount > RELAY_BUFFER_LIMIT) {
      ws.close(1013, 'the container is not keeping up')
      upstream.close(1013, 'the client is sending faster than the container reads')
      return
    }
    upstream.send(message)
  },
  close(ws: BunServerSocket, code: number, reason: string) {
    const tunnel = ws.data
    if (!tunnel.closed) {
      tunnel.closed = true
      const sendable = sendableCode(code)
      if (sendable) tunnel.upstream.close(sendable, reason)
      else tunnel.upstream.close()
    }
    tunnel.onClose()
  },
}

/**
 * WebSocket proxying on Bun: the upstream socket is opened first (so the container's chosen
 * subprotocol can be answered to the client), then the client is upgraded and messages are
 * relayed both ways, text as text and binary as binary, with close codes passed through.
 */
export const bunWebSocketProxy: WebSocketProxy = async (c, target) => {
  const server = c.env as BunServerLike | undefined
  if (!server?.upgrade) {
    return toResponse(
      errorAnswer(501, 'websocket_unsupported', 'Serve with Bun.serve and pass the server as env to proxy WebSockets'),
    )
  }
  const headers: Record<string, string> = {}
  target.headers.forEach((value, key) => {
    // The client library negotiates its own key, version, extensions and protocols.
    if (!key.startsWith('sec-websocket-')) headers[key] = value
  })
  const upstream = new WebSocket(target.url.replace(/^http/, 'ws'), {
    headers,
    protocols: target.protocols,
  } as unknown as string[])
  upstream.binaryType = 'arraybuffer'
  let onClose = target.onClose
  const tunnel: Tunnel = {
    upstream,
    pending: [],
    closed: false,
    onClose: () => {
      onClose()
      onClose = () => {}
    },
  }
  await new Promise<void>((resolve, reject) => {
    upstream.onopen = () => resolve()
    upstream.onerror = () => reject(new UpstreamConnectError('the container refused the WebSocket'))
  })
  upstream.onmessage = (event: MessageEvent) => {
    const data = event.data as string | ArrayBuffer
    if (tunnel.client) tunnel.client.send(data)
    else tunnel.pending.push(data)
  }
  upstream.onclose = (event: CloseEvent) => {
    tunnel.closed = true
    if (tunnel.client) closeClient(tunnel.client, event.code, event.reason)
    else tunnel.upstreamClosed = { code: event.code, reason: event.reason }
  }
  upstream.onerror = () => tunnel.client?.close(1011, 'upstream error')
  const protocolHeaders: Record<string, string> = upstream.protocol
    ? { 'sec-websocket-protocol': upstream.protocol }
    : {}
  if (!server.upgrade(c.req.raw, { data: tunnel, headers: protocolHeaders })) {
    upstream.close()
    return toResponse(errorAnswer(400, 'upgrade_failed', 'The WebSocket handshake failed'))
  }
  target.onOpen((code, reason) => {
    tunnel.closed = true
    tunnel.client?.close(code, reason)
    upstream.close(code, reason)
  })
  // Bun ignores the response of an upgraded request.
  return new Response(null)
}
