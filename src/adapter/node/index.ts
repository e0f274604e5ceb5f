import type { AddressInfo } from 'node:net'
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerOptions,
  type ServerResponse,
} from 'node:http'
import type { Dispatcher } from 'undici'
import { serve, type Http2Bindings, type HttpBindings } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context } from 'hono'
import { parseConfig } from '../../config/schema.js'
import { createGateway, type Gateway, type GatewayOptions } from '../../gateway.js'
import { nodeUpstream } from './upstream.js'
import { handleUpgrades, nodeWebSocketProxy } from './websocket.js'
import { directListener } from './fast-path.js'
import { DRAINING, isProbe, type RunningServer, type ServeDashboardOptions } from '../running-server.js'
import type { Drain } from '../../lifecycle/drain.js'
import { packageAssets } from '../dashboard-assets.js'
import { addProcessMetrics } from '../process-metrics.js'

export type { RunningServer, ServeDashboardOptions } from '../running-server.js'

export { nodeUpstream } from './upstream.js'
export { handleUpgrades, nodeWebSocketProxy } from './websocket.js'
export { addProcessMetrics } from '../process-metrics.js'

/**
 * {@link createGateway} with Node's fast upstream client, WebSocket tunnel and client
 * addresses wired in. When embedding, also call `handleUpgrades(server, app.fetch)`.
 */
export function createNodeGateway(
  options: Omit<GatewayOptions, 'fetch' | 'getClientAddress' | 'websocket' | 'dashboardAssets'>,
): Gateway {
  const config = parseConfig(options.config ?? {}, 'gateway options')
  const upstream = nodeUpstream({ connectTimeoutMs: config.upstream.connectTimeoutMs })
  const gateway = createGateway({
    ...options,
    config,
    fetch: upstream,
    websocket: nodeWebSocketProxy,
    getClientAddress: nodeClientAddress,
    dashboardAssets: packageAssets(),
  })
  const close = gateway.close
  const nodeGateway = {
    ...gateway,
    close: async () => {
      await close()
      await upstream.close()
    },
  }
  upstreamDispatchers.set(nodeGateway, upstream.dispatcher)
  addProcessMetrics(nodeGateway)
  return nodeGateway
}

/**
 * The upstream pool of gateways built by {@link createNodeGateway}. Only those get the fast
 * path: a gateway built with its own `fetch` keeps every request on that client.
 */
const upstreamDispatchers = new WeakMap<Gateway, Dispatcher>()

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
  /** Idle seconds before a connection with no request in flight is closed (default 120). */
  idleTimeoutSeconds?: number
  /**
   * Carry plain requests to cached, running containers on Node streams, skipping Hono and Web
   * stream conversions (default `true`; only for gateways from {@link createNodeGateway}).
   * Answers are the same either way; `false` exists for comparison and diagnosis.
   */
  fastPath?: boolean
}

/** A running server. */

/**
 * Serve a gateway with `@hono/node-server`, WebSocket upgrades included. Timeouts are set on
 * purpose: Node's 300 s `requestTimeout` is off so long uploads are not cut; a connection
 * idle for `idleTimeoutSeconds` is closed, except while a request is in flight (streams,
 * long polls and WebSocket tunnels are never cut for being quiet); headers must arrive
 * within 60 s; idle keep-alive connections close after 5 s.
 */
export function serveNode(options: ServeNodeOptions): Promise<RunningServer> {
  const hostname = options.hostname ?? '127.0.0.1'
  const app = options.gateway.app
  const dispatcher = options.fastPath === false ? undefined : upstreamDispatchers.get(options.gateway)
  const direct = dispatcher && directListener(options.gateway.direct, dispatcher)
  const { drain, config } = options.gateway
  const createDirectServer = (
    serverOptions: ServerOptions,
    listener: (req: IncomingMessage, res: ServerResponse) => void,
  ) =>
    createServer(serverOptions, (req, res) => {
      if (drain.draining && !isProbe(req.url ?? '/', config.apiPrefix)) {
        const incoming = req.headers['x-request-id']
        const requestId = options.gateway.direct.requestId(Array.isArray(incoming) ? incoming[0] : incoming)
        res.writeHead(DRAINING.status, { ...DRAINING.headers, 'x-request-id': requestId }).end(DRAINING.body)
        return
      }
      // In flight until its answer is sent in full, or the client leaves.
      res.once('close', drain.begin())
      if (!direct?.(req, res)) listener(req, res)
    })
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: (request: Request, env: HttpBindings | Http2Bindings) => {
          // A request arrived: from here on it may be quiet for as long as it needs.
          env.incoming.socket.setTimeout(0)
          return app.fetch(request, env)
        },
        hostname,
        port: options.port ?? 8000,
        serverOptions: { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 5_000 },
        createServer: createDirectServer as typeof createServer,
      },
      (info: AddressInfo) => resolve(drainingServer(server as HttpServer, info, drain)),
    )
    const httpServer = server as HttpServer
    httpServer.timeout = (options.idleTimeoutSeconds ?? 120) * 1000
    handleUpgrades(server, app.fetch)
    server.once('error', reject)
  })
}

/**
 * Serve a gateway's dashboard on a listener of its own, so that it never shares an origin with
 * the containers. Its live stream stays open while a page is, however quiet.
 */
export function serveNodeDashboard(options: ServeDashboardOptions): Promise<RunningServer> {
  const app = options.gateway.dashboard
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: (request: Request, env: HttpBindings | Http2Bindings) => {
          env.incoming.socket.setTimeout(0)
          return app.fetch(request, env)
        },
        hostname: options.hostname ?? '127.0.0.1',
        port: options.port ?? 8001,
        serverOptions: { headersTimeout: 60_000, keepAliveTimeout: 5_000 },
      },
      (info: AddressInfo) => resolve(runningServer(server as HttpServer, info)),
    )
    server.once('error', reject)
  })
}

/**
 * The running-server handle of the gateway's Node server: `close(graceMs)` drains (see
 * {@link RunningServer.close}). A connection whose answer ends during the drain is closed
 * rather than kept alive.
 */
function drainingServer(server: HttpServer, info: AddressInfo, drain: Drain): RunningServer {
  const running = runningServer(server, info)
  return {
    ...running,
    close: async (graceMs = 0) => {
      drain.start()
      const closed = new Promise<void>((done) => server.close(() => done()))
      server.closeIdleConnections?.()
      // Keep-alive connections go idle as their answers end: close them soon after.
      const timer = setInterval(() => server.closeIdleConnections?.(), 100)
      try {
        const outcome = await drain.settle(graceMs)
        // WebSockets closed by the drain get a moment to send their close frames.
        if (outcome.cut) await new Promise((resolve) => setTimeout(resolve, 200))
      } finally {
        clearInterval(timer)
      }
      server.closeAllConnections?.()
      await closed
    },
  }
}

/** The running-server handle of a listening Node server. */
function runningServer(server: HttpServer, info: AddressInfo): RunningServer {
  const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
  return {
    url: `http://${host}:${info.port}`,
    port: info.port,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done())
        server.closeAllConnections?.()
      }),
  }
}
