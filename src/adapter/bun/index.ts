import type { Context } from 'hono'
import { getConnInfo } from 'hono/bun'
import { createGateway, type Gateway, type GatewayOptions } from '../../gateway.js'
import type { DirectLane, DirectRoute } from '../../proxy/direct.js'
import { DRAINING, isProbe, type RunningServer, type ServeDashboardOptions } from '../running-server.js'
import type { BunServerLike } from './types.js'
import { bunUpstream } from './upstream.js'
import { packageAssets } from '../dashboard-assets.js'
import { bunWebSocket, bunWebSocketProxy } from './websocket.js'
import { addProcessMetrics } from '../process-metrics.js'

export type { RunningServer, ServeDashboardOptions } from '../running-server.js'
export { bunUpstream } from './upstream.js'
export { bunWebSocket, bunWebSocketProxy } from './websocket.js'
export { addProcessMetrics } from '../process-metrics.js'

declare const Bun: {
  serve(options: {
    fetch: (request: Request, server: BunServerLike) => Response | Promise<Response>
    hostname: string
    port: number
    idleTimeout?: number
    maxRequestBodySize?: number
    websocket?: typeof bunWebSocket
  }): BunServerLike
}

/** The remote address of a request served by `Bun.serve`. */
export function bunClientAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address
  } catch {
    return undefined
  }
}

/** {@link createGateway} with Bun's upstream client, WebSocket relay and client addresses wired in. */
export function createBunGateway(
  options: Omit<GatewayOptions, 'fetch' | 'getClientAddress' | 'websocket' | 'dashboardAssets'>,
): Gateway {
  const gateway = createGateway({
    ...options,
    fetch: bunUpstream,
    websocket: bunWebSocketProxy,
    getClientAddress: bunClientAddress,
    dashboardAssets: packageAssets(),
  })
  addProcessMetrics(gateway)
  return gateway
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
  const { app, direct, drain, config } = options.gateway
  const fastPath = options.fastPath !== false
  const server = Bun.serve({
    fetch: (request, srv) => {
      if (drain.draining && !isProbe(pathOf(request.url), config.apiPrefix))
        return new Response(DRAINING.body, {
          ...DRAINING,
          headers: {
            ...DRAINING.headers,
            'x-request-id': direct.requestId(request.headers.get('x-request-id') ?? undefined),
          },
        })
      srv.timeout(request, 0)
      const host = request.headers.get('host')
      const route = fastPath ? fastRoute(direct, request, host) : undefined
      if (route && host) {
        const proto = request.url.startsWith('https:') ? 'https' : 'http'
        const requestId = direct.requestId(request.headers.get('x-request-id') ?? undefined)
        const client = {
          address: srv.requestIP(request)?.address,
          host,
          proto,
          freshBodyChunks: true,
          requestId,
          span: direct.span(route, request.method, requestId, (name) => request.headers.get(name) ?? undefined),
        } as const
        return direct.forward(route, request, client)
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
  const running = runningServer(server)
  return {
    ...running,
    close: async (graceMs = 0) => {
      drain.start()
      // Stop accepting; what is in flight goes on (Bun counts requests, the drain WebSockets).
      const stopped = Promise.resolve(server.stop(false)).catch(() => {})
      const deadline = Date.now() + graceMs
      while (Date.now() < deadline && (server.pendingRequests > 0 || drain.inFlight > 0))
        await new Promise((resolve) => setTimeout(resolve, 25))
      const outcome = await drain.settle(0)
      if (outcome.cut) await new Promise((resolve) => setTimeout(resolve, 200))
      await server.stop(true)
      await stopped
    },
  }
}

/** The path of a request URL. */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  return start === -1 ? '/' : url.slice(start)
}

/**
 * Serve a gateway's dashboard on a listener of its own, so that it never shares an origin with
 * the containers. Its live stream stays open while a page is, however quiet.
 */
export async function serveBunDashboard(options: ServeDashboardOptions): Promise<RunningServer> {
  const app = options.gateway.dashboard
  const server = Bun.serve({
    fetch: (request, srv) => {
      srv.timeout(request, 0)
      return app.fetch(request, srv)
    },
    hostname: options.hostname ?? '127.0.0.1',
    port: options.port ?? 8001,
  })
  return runningServer(server)
}

function runningServer(server: BunServerLike): RunningServer {
  const host = server.hostname.includes(':') ? `[${server.hostname}]` : server.hostname
  return {
    url: `http://${host}:${server.port}`,
    port: server.port,
    close: async () => {
      await server.stop(true)
    },
  }
}
