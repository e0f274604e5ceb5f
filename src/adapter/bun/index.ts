import type { Context } from 'hono'
import { getConnInfo } from 'hono/bun'
import { createGateway, type Gateway, type GatewayOptions } from '../../gateway.js'
import { UpstreamConnectError, UpstreamTimeoutError } from '../../errors.js'
import type { WebSocketProxy } from '../../proxy/websocket.js'
import type { DirectLane, DirectRoute } from '../../proxy/direct.js'
import { toUpstreamError, type UpstreamFetch, type UpstreamRequest } from '../../proxy/upstream.js'
import type { RunningServer } from '../node/index.js'
import { errorAnswer, toResponse } from '../../http/answer.js'

/** The subset of Bun's API this entry uses (keeps `bun-types` out of the build). */
interface BunServerLike {
  port: number
  hostname: string
  stop(closeActiveConnections?: boolean): Promise<void> | void
  upgrade(request: Request, options: { data: Tunnel; headers?: Record<string, string> }): boolean
  timeout(request: Request, seconds: number): void
  requestIP(request: Request): { address: string } | null
}
/** Bun's server-side socket, as far as the relay uses it. */
interface BunServerSocket {
  data: Tunnel
  send(data: string | ArrayBuffer | Uint8Array): number
  close(code?: number, reason?: string): void
  terminate(): void
}
declare const Bun: {
  serve(options: {
    fetch: (request: Request, server: BunServerLike) => Response | Promise<Response>
    hostname: string
    port: number
    idleTimeout: number
    maxRequestBodySize: number
    websocket: typeof bunWebSocket
  }): BunServerLike
}

/** Bytes a relayed WebSocket may buffer in either direction before it is closed. */
const RELAY_BUFFER_LIMIT = 16 * 1024 * 1024

/** One client ↔ container WebSocket pair. */
interface Tunnel {
  upstream: WebSocket
  /** Messages from the container that arrived before the client side opened. */
  pending: (string | ArrayBuffer)[]
  client?: BunServerSocket
  /** The container closed before the client side opened. */
  upstreamClosed?: { code: number; reason: string }
  closed: boolean
  onClose(): void
}

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
  target.onOpen()
  // Bun ignores the response of an upgraded request.
  return new Response(null)
}

/**
 * Bun's `fetch`, told not to decompress, so bodies and `Content-Encoding` stay consistent. Its
 * socket idle timer (5 minutes by default, which would cut quiet streams) is off, except for
 * requests with a body: there it bounds the silence after the upload, so the body can be handed
 * to Bun natively. Bun checks that timer every few seconds, so it fires up to ~8 s late.
 */
export const bunUpstream: UpstreamFetch = Object.assign(
  async (url: string, { method, headers, body, signal, idleTimeoutMs }: UpstreamRequest) => {
    try {
      return await fetch(url, {
        method,
        headers,
        body,
        signal,
        redirect: 'manual',
        decompress: false,
        duplex: 'half',
        timeout: idleTimeoutMs ?? false,
      } as RequestInit)
    } catch (err) {
      if (!signal.aborted && (err as Error)?.name === 'TimeoutError')
        throw new UpstreamTimeoutError('the container stayed silent too long', { cause: err })
      throw toUpstreamError(err)
    }
  },
  { timesSilence: true },
)

/** The remote address of a request served by `Bun.serve`. */
export function bunClientAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address
  } catch {
    return undefined
  }
}

/** {@link createGateway} with Bun's upstream client, WebSocket relay and client addresses wired in. */
export function createBunGateway(options: Omit<GatewayOptions, 'fetch' | 'getClientAddress' | 'websocket'>): Gateway {
  return createGateway({
    ...options,
    fetch: bunUpstream,
    websocket: bunWebSocketProxy,
    getClientAddress: bunClientAddress,
  })
}

/** The fast-path route for a request, if it has one: never for upgrades, never on a lane error. */
function fastRoute(direct: DirectLane, request: Request, host: string | null): DirectRoute | undefined {
  if (!host || request.headers.has('upgrade')) return undefined
  const url = request.url
  const pathStart = url.indexOf('/', url.indexOf('//') + 2)
  try {
    return direct.route(request.method, pathStart === -1 ? '/' : url.slice(pathStart), host)
  } catch {
    return undefined // the general path answers
  }
}

/** Options for {@link serveBun}. */
export interface ServeBunOptions {
  gateway: Gateway
  hostname?: string
  port?: number
  /** Idle seconds before a connection with no request in flight is closed (default 120, at most 255). */
  idleTimeoutSeconds?: number
  /**
   * Send plain requests to cached, running containers straight to the proxy exchange, skipping
   * Hono routing (default `true`). Answers are the same either way.
   */
  fastPath?: boolean
}

/**
 * Serve a gateway with `Bun.serve`, WebSockets included. Bun's default 10 s `idleTimeout`
 * would cut quiet long polls and streams: here it applies only to connections with no request
 * in flight (each request lifts it with `server.timeout(req, 0)`), and WebSockets are kept
 * alive by pings.
 */
export async function serveBun(options: ServeBunOptions): Promise<RunningServer> {
  const idleTimeout = options.idleTimeoutSeconds ?? 120
  const { app, direct } = options.gateway
  const fastPath = options.fastPath !== false
  const server = Bun.serve({
    fetch: (request, srv) => {
      srv.timeout(request, 0)
      const host = request.headers.get('host')
      const route = fastPath ? fastRoute(direct, request, host) : undefined
      if (route && host) {
        const proto = request.url.startsWith('https:') ? 'https' : 'http'
        return direct.forward(route, request, { address: srv.requestIP(request)?.address, host, proto })
      }
      return app.fetch(request, srv)
    },
    hostname: options.hostname ?? '127.0.0.1',
    port: options.port ?? 8000,
    idleTimeout,
    // Bun caps bodies at 128 MB by default; proxied uploads stream, so no hidden cap here.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    websocket: { ...bunWebSocket, idleTimeout },
  })
  const host = server.hostname.includes(':') ? `[${server.hostname}]` : server.hostname
  return {
    url: `http://${host}:${server.port}`,
    port: server.port,
    close: async () => {
      await server.stop(true)
    },
  }
}
