import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Dispatcher } from 'undici'
import type { Answer } from '../../http/answer.js'
import { REQUEST_ID_HEADER } from '../../http/request-id.js'
import type { DirectClient, DirectLane, DirectRoute } from '../../proxy/direct.js'
import type { Exchange } from '../../proxy/exchange.js'
import type { HeaderPairs } from '../../proxy/headers.js'
import { toUpstreamError } from '../../proxy/upstream.js'

/** Handles a request and returns `true`, or returns `false` to leave it to the general path. */
export type DirectListener = (req: IncomingMessage, res: ServerResponse) => boolean

/**
 * The Node fast path: plain requests to cached, running containers go from the server's
 * `IncomingMessage` through undici's dispatcher to the `ServerResponse` as Node streams, with
 * backpressure both ways and nothing buffered. Headers, bookkeeping and every failure answer
 * come from the gateway's {@link DirectLane}, so clients see what the general path would send.
 */
export function directListener(lane: DirectLane, dispatcher: Dispatcher): DirectListener {
  return (req, res) => {
    const method = req.method ?? 'GET'
    const host = hostOf(req.rawHeaders)
    let route: DirectRoute | undefined
    let headers: HeaderPairs
    let client: DirectClient
    try {
      route = lane.route(method, req.url ?? '', host)
      if (!route || !host) return false
      const requestId = lane.requestId(firstValue(req.headers['x-request-id']))
      client = {
        address: req.socket.remoteAddress,
        host,
        proto: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
        requestId,
        span: lane.span(route, method, requestId, (name) => firstValue(req.headers[name])),
      }
      headers = lane.requestHeaders(route, rawPairs(req.rawHeaders), client)
    } catch (err) {
      // Nothing has been sent: the general path answers instead.
      if (route) lane.report(err, route)
      return false
    }
    // A request arrived: from here on it may be quiet for as long as it needs.
    req.socket.setTimeout(0)
    const exchange = lane.begin(route, method, client)
    try {
      carry(lane, { route, client, exchange }, method, headers, req, res, dispatcher)
    } catch (err) {
      lane.report(err, route, client.requestId)
      exchange.end()
      res.destroy()
    }
    return true
  }
}

/** The `Host` header, read from the raw list (cheaper than materialising `req.headers`). */
function hostOf(raw: string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length === 4 && name.toLowerCase() === 'host') return raw[i + 1]
  }
  return undefined
}

/** Raw header list → lower-case pairs (repeated fields stay repeated; the lane joins them). */
function rawPairs(raw: string[]): HeaderPairs {
  const pairs: HeaderPairs = []
  for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!.toLowerCase(), raw[i + 1]!])
  return pairs
}

/** Response header object from undici → pairs, one per `Set-Cookie`. */
function objectPairs(headers: Record<string, string | string[] | undefined>): HeaderPairs {
  const pairs: HeaderPairs = []
  for (const name in headers) {
    const value = headers[name]
    if (typeof value === 'string') pairs.push([name, value])
    else if (value) for (const item of value) pairs.push([name, item])
  }
  return pairs
}

/** Pairs → the flat `[name, value, …]` list Node and undici take (faster than `Array#flat`). */
function flat(pairs: HeaderPairs): string[] {
  const list = new Array<string>(pairs.length * 2)
  for (let i = 0; i < pairs.length; i++) {
    list[2 * i] = pairs[i]![0]
    list[2 * i + 1] = pairs[i]![1]
  }
  return list
}

/**
 * Move the bytes of one exchange between the client's `IncomingMessage`/`ServerResponse` and
 * undici's dispatcher, and tell the {@link Exchange} what happened: it owns the timers, the abort,
 * the bookkeeping and the failure answers. Every outcome ends the exchange once the client side closes.
 */
function carry(
  lane: DirectLane,
  { route, client, exchange }: { route: DirectRoute; client: DirectClient; exchange: Exchange },
  method: string,
  headers: HeaderPairs,
  req: IncomingMessage,
  res: ServerResponse,
  dispatcher: Dispatcher,
): void {
  let controller: Dispatcher.DispatchController | undefined
  exchange.onAbort((reason) => controller?.abort(reason as Error))
  res.once('close', () => {
    if (!res.writableFinished) exchange.clientLeft()
    exchange.end()
  })
  const hasBody = method !== 'GET' && method !== 'HEAD'
  if (hasBody && !req.complete) {
    // The socket's own timer measures the silence of the request body, lifted once it is in.
    req.socket.setTimeout(lane.bodyIdleTimeoutMs)
    req.once('timeout', () => exchange.stalled())
    req.once('end', () => {
      req.socket.setTimeout(0)
      exchange.sent()
    })
  } else exchange.sent()
  dispatcher.dispatch(
    {
      origin: route.origin,
      path: route.path,
      method: method as Dispatcher.HttpMethod,
      headers: flat(headers),
      body: hasBody ? req : null,
      headersTimeout: 0,
      bodyTimeout: 0,
    },
    {
      onRequestStart(c) {
        controller = c
        if (exchange.aborted) c.abort(exchange.abortReason as Error)
      },
      onResponseStart(_c, status, upstreamHeaders) {
        if (status < 200) return // 1xx: informational, not relayed
        exchange.responded(status)
        res.writeHead(status, flat(lane.responseHeaders(route, objectPairs(upstreamHeaders), client)))
      },
      onResponseData(c, chunk) {
        if (res.write(chunk)) return
        // The client reads slower than the container writes: wait for it.
        c.pause()
        res.once('drain', () => c.resume())
      },
      onResponseEnd() {
        res.end()
      },
      onResponseError(_c, err) {
        if (res.headersSent) {
          // The answer is under way: cut it, as the general path does when a body stream fails.
          res.destroy()
          return
        }
        const hints = { method, accept: req.headers.accept, secFetchMode: firstValue(req.headers['sec-fetch-mode']) }
        exchange
          .failure(toUpstreamError(err), hints)
          .then((answer) => send(res, answer, client.requestId))
          .catch(() => res.destroy())
      },
    },
  )
}

/** A header Node may have read as a list: its first value. */
function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** Write one of the gateway's own (small) answers, with its length and the request's id, as the general path does. */
function send(res: ServerResponse, answer: Answer, requestId: string): void {
  if (res.destroyed) return
  const body = answer.body === null ? undefined : Buffer.from(answer.body)
  res.writeHead(answer.status, {
    ...answer.headers,
    [REQUEST_ID_HEADER]: requestId,
    ...(body ? { 'content-length': String(body.length) } : {}),
  })
  res.end(body)
}
