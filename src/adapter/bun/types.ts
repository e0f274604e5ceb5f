/**
 * The subset of Bun's API the Bun adapter uses, as our own structural types: `bun-types` stays
 * out of the build, and the adapter type-checks on Node.
 */
/** The subset of Bun's API this entry uses (keeps `bun-types` out of the build). */
export interface BunServerLike {
  port: number
  hostname: string
  stop(closeActiveConnections?: boolean): Promise<void> | void
  upgrade(request: Request, options: { data: Tunnel; headers?: Record<string, string> }): boolean
  timeout(request: Request, seconds: number): void
  requestIP(request: Request): { address: string } | null
  /** Requests whose answers are not sent in full yet. */
  readonly pendingRequests: number
}
/** Bun's server-side socket, as far as the relay uses it. */
export interface BunServerSocket {
  data: Tunnel
  send(data: string | ArrayBuffer | Uint8Array): number
  close(code?: number, reason?: string): void
  terminate(): void
}

/** One client ↔ container WebSocket pair. */
export interface Tunnel {
  upstream: WebSocket
  /** Messages from the container that arrived before the client side opened. */
  pending: (string | ArrayBuffer)[]
  client?: BunServerSocket
  /** The container closed before the client side opened. */
  upstreamClosed?: { code: number; reason: string }
  closed: boolean
  onClose(): void
}
