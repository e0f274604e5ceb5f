import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'
import { createGateway, type Gateway, type GatewayOptions } from './gateway.js'
import { nodeUpstream } from './node-upstream.js'

export { nodeUpstream } from './node-upstream.js'

/** {@link createGateway} with Node's fast upstream client and client addresses wired in. */
export function createNodeGateway(options: Omit<GatewayOptions, 'fetch' | 'getClientAddress'>): Gateway {
  const upstream = nodeUpstream()
  const gateway = createGateway({ ...options, fetch: upstream, getClientAddress: nodeClientAddress })
  const close = gateway.close
  return { ...gateway, close: async () => { await close(); await upstream.close() } }
}

/** The remote address of a request served by `@hono/node-server`. */
export function nodeClientAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address
  } catch {
    return undefined
  }
}

/** Options for {@link serveNode}. */
export interface ServeNodeOptions {
  gateway: Gateway
  hostname?: string
  /** 0 picks a free port. */
  port?: number
}

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  url: string
  port: number
  close(): Promise<void>
}

/**
 * Serve a gateway with `@hono/node-server`. Node's 300 s `requestTimeout` is turned off so
 * long uploads and streams are not cut; header and keep-alive timeouts stay bounded.
 */
export function serveNode(options: ServeNodeOptions): Promise<RunningServer> {
  const hostname = options.hostname ?? '127.0.0.1'
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: options.gateway.app.fetch,
        hostname,
        port: options.port ?? 8000,
        serverOptions: { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 5_000 },
      },
      (info: AddressInfo) => {
        const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
        resolve({
          url: `http://${host}:${info.port}`,
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done())
              ;(server as import('node:http').Server).closeAllConnections?.()
            }),
        })
      },
    )
    server.once('error', reject)
  })
}
