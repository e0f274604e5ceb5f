import { hostName, isValidHost } from '../http/host.js'
import type { ContainerRecord } from '../backend.js'
import type { Config } from '../config/schema.js'
import { NAME_PATTERN } from '../api/schemas.js'
import {
  forwardedRequestPairs,
  returnedResponsePairs,
  upstreamRequestHeaders,
  type ForwardingContext,
  type HeaderPairs,
} from './headers.js'
import { Exchange } from './exchange.js'
import { containerPath } from './path.js'
import { forwardRequest, type ProxyDeps, type RunningRecord } from './proxy.js'
import { toErrorResponse } from '../http/errors.js'
import { requestIdFor, stampRequestId } from '../http/request-id.js'
import type { RequestSpan } from '../telemetry/tracing.js'
import { proxySpan } from './span.js'

/**
 * The direct lane: what a runtime adapter needs to carry a proxied request to its container
 * itself, without Hono routing or Web stream conversions, while keeping every rule of the
 * general path. It only takes requests whose outcome cannot differ: a cached, running, ready
 * container open to everyone, and a plain URL. Anything else goes the general way.
 */
export interface DirectLane {
  /** The route for a request, or `undefined` when it must take the general path. */
  route(method: string, rawUrl: string, host: string | undefined): DirectRoute | undefined
  /** Upstream request headers, built by the same rules as the general path. */
  requestHeaders(route: DirectRoute, incoming: Iterable<[string, string]>, client: DirectClient): HeaderPairs
  /** Response headers for the client, rewritten by the same rules as the general path. */
  responseHeaders(route: DirectRoute, upstream: Iterable<[string, string]>, client: DirectClient): HeaderPairs
  /**
   * Begin the {@link Exchange} of a request the lane accepted: history, activity, timers, failure
   * answers, and the metrics and access log of whatever the client is answered.
   */
  begin(route: DirectRoute, method: string, client: DirectClient): Exchange
  /**
   * Carry a Web-standard request for the route through the general path's exchange (history,
   * activity, header timeout, failures), skipping only Hono routing: the Bun server's fast path.
   */
  forward(route: DirectRoute, request: Request, client: DirectClient): Promise<Response>
  /** Log an unexpected error of a fast path (a bug, never an upstream failure). */
  report(err: unknown, route: DirectRoute, requestId?: string): void
  /** How long a client's request body may pause between bytes (for transports that time it themselves). */
  readonly bodyIdleTimeoutMs: number
  /** The id of a request, from the `X-Request-Id` it carries (taken only from a trusted proxy). */
  requestId(incoming: string | undefined): string
  /** The server span of a request the lane accepted; it ends with the status the client is answered. */
  span(route: DirectRoute, method: string, requestId: string, header: (name: string) => string | undefined): RequestSpan
}

/** A request the lane accepted. */
export interface DirectRoute {
  readonly name: string
  readonly record: ContainerRecord
  /** The container's origin, e.g. `http://127.0.0.1:32768`. */
  readonly origin: string
  /** Path and query as sent upstream, e.g. `/app/?x=1`. */
  readonly path: string
  /** The public prefix, e.g. `/docker/name`. */
  readonly prefix: string
}

/** The client side of a request, as the runtime sees it. */
export interface DirectClient {
  address: string | undefined
  host: string
  proto: 'http' | 'https'
  /** The runtime's server hands request bodies over in fresh buffers that nothing else holds (`Bun.serve`). */
  freshBodyChunks?: boolean
  /** The request's id, from {@link DirectLane.requestId}. */
  requestId: string
  /** The request's server span, from {@link DirectLane.span}. */
  span?: RequestSpan
}

/**
 * Request targets the lane accepts as written: URL-safe characters only, so parsing the URL
 * could not change a byte of it (no dot segments, no characters a URL parser would encode).
 */
const PLAIN_TARGET = /^\/[A-Za-z0-9\-._~!$&()*+,;=:@%/]*(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@%/?]+)?$/
const DOT_SEGMENT = /\/\.\.?(?:[/?]|$)|%2e/i

/** The route's path without its query, as the access log shows it. */
function pathOnly(route: DirectRoute): string {
  const query = route.path.indexOf('?')
  return query === -1 ? route.path : route.path.slice(0, query)
}

/** Records one proxied exchange: metrics by container, and the access log. */
export type ObserveExchange = (
  name: string,
  known: boolean,
  method: string,
  path: string,
  status: number,
  seconds: number,
  fast?: boolean,
  requestId?: string,
) => void

/** Build the lane over the same dependencies as the general path. */
export function createDirectLane(config: Config, deps: ProxyDeps, observe: ObserveExchange): DirectLane {
  const { manager } = deps
  const prefix = `${config.proxyPrefix}/`
  const hostSuffix = config.hostSuffix
  const report = (err: unknown, route: DirectRoute, requestId?: string) =>
    deps.onError('fast path failed', {
      container: route.name,
      error: String(err),
      stack: (err as Error)?.stack,
      requestId,
    })
  const forwarding = (route: DirectRoute, client: DirectClient): ForwardingContext => ({
    clientAddress: client.address,
    host: client.host,
    proto: client.proto,
    prefix: route.prefix,
    ...deps.forwarding,
    requestId: client.requestId,
    ...(client.span ? { traceHeaders: client.span.headers } : {}),
  })
  return {
    bodyIdleTimeoutMs: deps.bodyIdleTimeoutMs,
    requestId: (incoming) => requestIdFor(incoming, deps.forwarding.trustProxy),
    span: (route, method, requestId, header) => proxySpan(method, route.name, requestId, header),
    route(method, rawUrl, host) {
      // An invalid Host is left to the general path, which answers 400; one not allowed, 421.
      if (deps.authorize || method === 'CONNECT' || !host || !isValidHost(host) || !deps.allowedHost(host))
        return undefined
      if (hostSuffix && hostName(host).endsWith(hostSuffix)) return undefined
      if (!rawUrl.startsWith(prefix) || !PLAIN_TARGET.test(rawUrl) || DOT_SEGMENT.test(rawUrl)) return undefined
      const slash = rawUrl.indexOf('/', prefix.length)
      if (slash === -1) return undefined
      const name = rawUrl.slice(prefix.length, slash)
      if (name.includes('?') || !NAME_PATTERN.test(name)) return undefined
      const record = manager.cachedRoute(name)
      if (record?.state !== 'running' || !record.upstream || record.access === 'token') return undefined
      if (!manager.isReady(record.id)) return undefined
      const routePrefix = `${config.proxyPrefix}/${name}`
      return {
        name,
        record,
        origin: record.upstream,
        path: containerPath(record, routePrefix, rawUrl.slice(slash)),
        prefix: routePrefix,
      }
    },
    requestHeaders(route, incoming, client) {
      return forwardedRequestPairs(incoming, forwarding(route, client))
    },
    responseHeaders(route, upstream, client) {
      return returnedResponsePairs(upstream, {
        upstreamOrigin: route.origin,
        prefix: route.prefix,
        publicHost: client.host,
        requestId: client.requestId,
      })
    },
    begin(route, method, client) {
      const started = performance.now()
      const { requestId } = client
      const onStatus = (status: number) => {
        client.span?.end(status)
        observe(
          route.name,
          true,
          method,
          pathOnly(route),
          status,
          (performance.now() - started) / 1000,
          true,
          requestId,
        )
      }
      return new Exchange(deps, route.record as RunningRecord, route.name, method, route.path, {
        onStatus,
        requestId,
      })
    },
    async forward(route, request, client) {
      const started = performance.now()
      const headers = upstreamRequestHeaders(request.headers, forwarding(route, client))
      const exchange = {
        name: route.name,
        prefix: route.prefix,
        publicHost: client.host,
        pathAndQuery: route.path,
        upstreamUrl: `${route.origin}${route.path}`,
        headers,
        requestId: client.requestId,
        ...(client.freshBodyChunks ? { freshBodyChunks: true } : {}),
      }
      let response: Response
      try {
        response = await forwardRequest(request, route.record as RunningRecord, exchange, deps)
      } catch (err) {
        report(err, route, client.requestId)
        const { status, body } = toErrorResponse(err)
        response = Response.json(body, { status, headers: { 'cache-control': 'no-store' } })
      }
      // The gateway's own answers (a failure) carry it too; the container's already do.
      stampRequestId(response, client.requestId)
      client.span?.end(response.status)
      observe(
        route.name,
        true,
        request.method,
        pathOnly(route),
        response.status,
        (performance.now() - started) / 1000,
        true,
        client.requestId,
      )
      return response
    },
    report,
  }
}
