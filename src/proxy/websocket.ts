import type { Context } from 'hono'

/** What the core hands a runtime to tunnel one WebSocket to a container. */
export interface WebSocketTarget {
  /** `http://host:port/path?query` of the container endpoint. */
  url: string
  /** Headers for the upstream handshake: the client's, minus hop-by-hop, plus `X-Forwarded-*`. */
  headers: Headers
  /** Subprotocols the client offered, in order. */
  protocols: string[]
  /**
   * The gateway's response-header policy for this container (hop-by-hop dropped, `Location` and
   * `Set-Cookie` kept inside its prefix): apply it to every header the container answers with,
   * the `101` included, before any reaches the client.
   */
  answerHeaders(upstream: Headers): Headers
  /**
   * Call once when the tunnel is open (activity starts), with a function that closes both sides
   * with a close code: the gateway calls it when a graceful shutdown's grace period ends.
   */
  onOpen(close?: (code: number, reason: string) => void): void
  /** Call once when either side closed (activity ends). */
  onClose(): void
}

/**
 * A runtime's WebSocket proxy. It answers the client's upgrade by tunnelling to the target,
 * passing frames, close codes and the chosen subprotocol through in both directions; it throws
 * `UpstreamConnectError` when the container refuses, so the core can answer like for HTTP.
 */
export type WebSocketProxy = (c: Context, target: WebSocketTarget) => Promise<Response>

/** A WebSocket handshake (RFC 6455 §4.1). */
export function isWebSocketUpgrade(request: Request): boolean {
  return isWebSocketHandshake(request.method, request.headers.get('upgrade'))
}

/**
 * A WebSocket handshake by its method and `Upgrade` value: the one kind of upgrade the gateway
 * tunnels. Any other (`h2c`, made-up protocols) is an ordinary request with hop-by-hop headers.
 */
export function isWebSocketHandshake(method: string | undefined, upgrade: string | null | undefined): boolean {
  return method === 'GET' && (upgrade ?? '').trim().toLowerCase() === 'websocket'
}

/** Subprotocols offered in `Sec-WebSocket-Protocol`. */
export function offeredProtocols(headers: Headers): string[] {
  return (headers.get('sec-websocket-protocol') ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
}
