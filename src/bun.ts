import type { Context } from 'hono'
import { getConnInfo } from 'hono/bun'
import { createGateway, type Gateway, type GatewayOptions } from './gateway.js'
import { toUpstreamError, type UpstreamFetch } from './upstream.js'
import type { RunningServer } from './node.js'

/** The subset of Bun's API this entry uses (keeps `bun-types` out of the build). */
interface BunServerLike {
  port: number
  hostname: string
  stop(closeActiveConnections?: boolean): Promise<void> | void
}
declare const Bun: {
  serve(options: {
    fetch: (request: Request, server: BunServerLike) => Response | Promise<Response>
    hostname: string
    port: number
    idleTimeout: number
  }): BunServerLike
}

/** Bun's `fetch`, told not to decompress, so bodies and `Content-Encoding` stay consistent. */
export const bunUpstream: UpstreamFetch = async (url, { method, headers, body, signal }) => {
  try {
    return await fetch(url, { method, headers, body, signal, redirect: 'manual', decompress: false, duplex: 'half' } as RequestInit)
  } catch (err) {
    throw toUpstreamError(err)
  }
}

/** The remote address of a request served by `Bun.serve`. */
export function bunClientAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address
  } catch {
    return undefined
  }
}

/** {@link createGateway} with Bun's upstream client and client addresses wired in. */
export function createBunGateway(options: Omit<GatewayOptions, 'fetch' | 'getClientAddress'>): Gateway {
  return createGateway({ ...options, fetch: bunUpstream, getClientAddress: bunClientAddress })
}

/** Options for {@link serveBun}. */
export interface ServeBunOptions {
  gateway: Gateway
  hostname?: string
  port?: number
}

/**
 * Serve a gateway with `Bun.serve`. Bun's default 10 s `idleTimeout` would cut quiet
 * long-polls and streams, so it is raised to Bun's maximum (255 s).
 */
export async function serveBun(options: ServeBunOptions): Promise<RunningServer> {
  const server = Bun.serve({
    fetch: (request, srv) => options.gateway.app.fetch(request, srv),
    hostname: options.hostname ?? '127.0.0.1',
    port: options.port ?? 8000,
    idleTimeout: 255,
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
