import type { WebSocketProxy, WebSocketTarget } from '../../proxy/websocket.js'
import { UpstreamConnectError } from '../../errors.js'
import { NULL_BODY_STATUSES, errorAnswer, toResponse } from '../../http/answer.js'
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

/** How long the container gets to answer the handshake again when Bun's client could not open it. */
const REFUSAL_TIMEOUT_MS = 10_000

/**
 * The container's answer to the client's handshake, made again as a plain request because Bun's
 * WebSocket client hides it: a refusal (`403` for an `Origin` it rejects, `401`, `404`, …) with
 * its body, by the gateway's header policy, as Node's tunnel passes it on. `undefined` when the
 * container cannot be reached, or accepts this time: the core then answers as for a refused
 * connection.
 */
async function handshakeRefusal(target: WebSocketTarget): Promise<Response | undefined> {
  const headers = new Headers(target.headers)
  headers.set('connection', 'Upgrade')
  headers.set('upgrade', 'websocket')
  let answer: Response
  try {
    answer = await fetch(target.url, {
      headers,
      redirect: 'manual',
      decompress: false,
      signal: AbortSignal.timeout(REFUSAL_TIMEOUT_MS),
    } as RequestInit)
  } catch {
    return undefined
  }
  if (answer.status === 101 || answer.status < 200) {
    await answer.body?.cancel().catch(() => {})
    return undefined
  }
  const body = NULL_BODY_STATUSES.has(answer.status) ? null : answer.body
  return new Response(body, { status: answer.status, headers: target.answerHeaders(answer.headers) })
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
  const opened = await new Promise<boolean>((resolve) => {
    upstream.onopen = () => resolve(true)
    upstream.onerror = () => resolve(false)
  })
  if (!opened) {
    // Bun's client tells only that the handshake failed: ask the container what it answered.
    const refusal = await handshakeRefusal(target)
    if (refusal) return refusal
    throw new UpstreamConnectError('the container refused the WebSocket')
  }
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
