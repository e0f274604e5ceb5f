import type { Context } from 'hono'
import type { ContainerRecord } from '../backend.js'
import { UpstreamConnectError } from '../errors.js'
import { NAME_PATTERN } from '../api/schemas.js'
import { downstreamResponseHeaders, rewriteResponseHeaders, upstreamRequestHeaders } from './headers.js'
import { errorAnswer, hintsOf, toResponse, NULL_BODY_STATUSES } from '../http/answer.js'
import { afterConnectFailure } from './answers.js'
import { Exchange, type ExchangeOptions } from './exchange.js'
import { resolveContainer } from './resolve.js'
import { onStreamEnd } from './track.js'
import { containerPath } from './path.js'
import type { ProxyDeps, ProxyTarget, RunningRecord } from './types.js'
import { isWebSocketUpgrade, offeredProtocols } from './websocket.js'

/**
 * Split a request path under `<mount><proxyPrefix>/` into name and rest, without decoding:
 * the name must match {@link NAME_PATTERN} as written, so `%2e%2e` or `%2f` never become a name.
 */
export function parseProxyPath(pathname: string, publicProxyPrefix: string): ProxyTarget | undefined {
  if (!pathname.startsWith(`${publicProxyPrefix}/`)) return undefined
  const remainder = pathname.slice(publicProxyPrefix.length + 1)
  const slash = remainder.indexOf('/')
  const name = slash === -1 ? remainder : remainder.slice(0, slash)
  if (!NAME_PATTERN.test(name)) return undefined
  return { name, path: slash === -1 ? '' : remainder.slice(slash), prefix: `${publicProxyPrefix}/${name}` }
}

/**
 * Proxy one request to its container, streaming both bodies. Never throws for upstream or
 * engine trouble: those become 502/503/504 answers with a reason.
 */
export async function proxyRequest(c: Context, target: ProxyTarget, deps: ProxyDeps): Promise<Response> {
  const resolved = await resolveContainer(c, target, deps)
  if (resolved instanceof Response) return resolved
  const record = resolved
  const request = c.req.raw
  const { name } = target
  const url = new URL(request.url)
  const pathAndQuery = containerPath(record, target.prefix, `${target.path || '/'}${url.search}`)
  const upstreamUrl = `${record.upstream}${pathAndQuery}`
  const host = request.headers.get('host') ?? url.host
  const headers = upstreamRequestHeaders(request.headers, {
    clientAddress: deps.getClientAddress?.(c),
    host,
    proto: url.protocol.slice(0, -1),
    prefix: target.prefix,
    ...deps.forwarding,
    ...(target.requestId ? { requestId: target.requestId } : {}),
    ...(target.trace ? { traceHeaders: target.trace.headers } : {}),
  })
  if (isWebSocketUpgrade(request))
    return proxyWebSocket(c, record, { upstreamUrl, pathAndQuery, headers, publicHost: host }, target, deps)
  const forwarding = {
    name,
    prefix: target.prefix,
    publicHost: host,
    pathAndQuery,
    upstreamUrl,
    headers,
    ...(target.requestId ? { requestId: target.requestId } : {}),
  }
  return forwardRequest(request, record, forwarding, deps)
}

export type { ProxyDeps, ProxyTarget, RunningRecord }

/** Where and what {@link forwardRequest} sends. */
export interface Forwarding {
  name: string
  /** Public prefix, e.g. `/docker/name`, for `Location` and `Set-Cookie` rewriting. */
  prefix: string
  /** `Host` as the client sent it: a `Location` there is the container's own. */
  publicHost: string
  /** Path and query as sent upstream, for the history. */
  pathAndQuery: string
  upstreamUrl: string
  /** Headers for the container, from {@link upstreamRequestHeaders} or the direct lane. */
  headers: Headers
  /** The request's id, answered in `X-Request-Id` and named in the log. */
  requestId?: string
  /**
   * The request body's chunks are fresh buffers that nothing else holds (a body `Bun.serve`
   * received): a streamed body is then relayed by handing each chunk's buffer over.
   */
  freshBodyChunks?: boolean
}

/**
 * Send one request to a running container and relay its answer, streaming both bodies: the Web
 * transport of the {@link Exchange} every path drives once the container is resolved and access
 * is granted.
 */
export async function forwardRequest(
  request: Request,
  record: RunningRecord,
  forwarding: Forwarding,
  deps: ProxyDeps,
  options: ExchangeOptions = {},
): Promise<Response> {
  const { name, prefix, publicHost, pathAndQuery, upstreamUrl, headers, requestId } = forwarding
  const exchange = new Exchange(deps, record, name, request.method, pathAndQuery, {
    ...options,
    ...(requestId ? { requestId } : {}),
  })
  // A client that leaves aborts the upstream side, also while the answer streams.
  const onClientAbort = () => exchange.clientLeft(request.signal.reason)
  request.signal.addEventListener('abort', onClientAbort, { once: true })
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.body !== null
  // A small body of known length is read in full and sent in one piece (a stream handed to the
  // upstream client costs far more per request); any other streams through, however large.
  const length = hasBody ? declaredLength(request.headers) : undefined
  const whole = length !== undefined && length <= SMALL_BODY_BYTES
  const upload =
    hasBody && !whole
      ? exchange.watchBody(request.body!, { freshChunks: forwarding.freshBodyChunks === true })
      : undefined
  if (!hasBody) exchange.sent()

  let upstream: Response
  try {
    const body = whole ? await exchange.readBody(request.body!, length) : (upload?.body ?? null)
    upstream = await deps.fetch(upstreamUrl, {
      method: request.method,
      headers,
      body,
      signal: exchange.signal,
      ...(upload?.idleTimeoutMs ? { idleTimeoutMs: upload.idleTimeoutMs } : {}),
    })
  } catch (err) {
    request.signal.removeEventListener('abort', onClientAbort)
    return toResponse(await exchange.failure(err, hintsOf(request)))
  }
  exchange.responded(upstream.status)
  const scope = { upstreamOrigin: record.upstream, prefix, publicHost, ...(requestId ? { requestId } : {}) }
  const body = request.method === 'HEAD' || NULL_BODY_STATUSES.has(upstream.status) ? null : upstream.body
  // A small answer of known length is over as soon as it starts: the exchange ends here, and
  // the runtime relays the upstream body natively, without a tracking stream in between.
  const small = body !== null && (declaredLength(upstream.headers) ?? Number.POSITIVE_INFINITY) <= SMALL_BODY_BYTES
  if (small && deps.fetch.ownsResponses) {
    exchange.end()
    rewriteResponseHeaders(upstream.headers, scope)
    return upstream
  }
  const init = {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: downstreamResponseHeaders(upstream.headers, scope),
  }
  if (!body) {
    exchange.end()
    await upstream.body?.cancel().catch(() => {})
    return new Response(null, init)
  }
  if (small) {
    exchange.end()
    return new Response(body, init)
  }
  return new Response(
    onStreamEnd(body, () => exchange.end(), { freshChunks: deps.fetch.freshChunks === true }),
    init,
  )
}

/**
 * Answers up to this size (by `Content-Length`) are relayed without tracking when they end, and
 * request bodies up to it are read in full before they are sent.
 */
const SMALL_BODY_BYTES = 64 * 1024

/** A message's `Content-Length`, when it has a valid one and no `Transfer-Encoding` (which would override it). */
function declaredLength(headers: Headers): number | undefined {
  const value = headers.get('content-length')
  if (value === null || headers.has('transfer-encoding') || !/^\d{1,15}$/.test(value)) return undefined
  return Number(value)
}

/** Tunnel a WebSocket through the runtime's proxy, counting it as activity while open. */
async function proxyWebSocket(
  c: Context,
  record: ContainerRecord,
  { upstreamUrl: url, pathAndQuery, headers, publicHost }: Omit<Forwarding, 'name' | 'prefix' | 'requestId'>,
  target: ProxyTarget,
  deps: ProxyDeps,
): Promise<Response> {
  const request = c.req.raw
  if (!deps.websocket) {
    return toResponse(
      errorAnswer(
        501,
        'websocket_unsupported',
        "This server cannot proxy WebSockets: serve the gateway with serveNode/serveBun, or wire the runtime's WebSocket proxy when embedding",
      ),
    )
  }
  deps.manager.recordRequest(record, 'GET', pathAndQuery)
  let release: (() => void) | undefined
  let opened = false
  try {
    const answer = await deps.websocket(c, {
      url,
      headers,
      protocols: offeredProtocols(request.headers),
      answerHeaders: (upstream) =>
        downstreamResponseHeaders(upstream, {
          upstreamOrigin: record.upstream ?? url,
          prefix: target.prefix,
          publicHost,
          ...(target.requestId ? { requestId: target.requestId } : {}),
        }),
      onOpen: (close) => {
        opened = true
        if (release) return
        const hold = deps.manager.holdActivity(record.id)
        const inFlight = deps.drain?.begin(close)
        release = () => {
          hold()
          inFlight?.()
        }
        deps.onWebSocket?.(1)
        deps.manager.markReady(record.id)
      },
      onClose: () => {
        if (!release) return
        release()
        release = undefined
        deps.onWebSocket?.(-1)
      },
    })
    // The container's own answer to the handshake, passed on as it is: say so in the log.
    if (!opened && answer.status >= 400)
      deps.onNotice?.('the container refused a WebSocket handshake', {
        container: target.name,
        status: answer.status,
        requestId: target.requestId,
      })
    return answer
  } catch (err) {
    if (err instanceof UpstreamConnectError)
      return toResponse(await afterConnectFailure(hintsOf(request), target.name, deps))
    deps.onError('websocket proxy failed', { container: target.name, error: String(err), requestId: target.requestId })
    return toResponse(errorAnswer(502, 'upstream_error', `The WebSocket to "${target.name}" could not be opened`))
  }
}
