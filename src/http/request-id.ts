import type { MiddlewareHandler } from 'hono'

/** The header that carries a request's id, to the container and back to the client. */
export const REQUEST_ID_HEADER = 'x-request-id'

/** An id a trusted proxy in front may pass on: printable, without separators that split log fields. */
const PASSABLE_ID = /^[\w.:@+=-]{1,128}$/

/**
 * The id of a request: the one a trusted proxy in front sent (`trustProxy`), when it is a
 * reasonable id, else a new UUID. A client's own claim is never taken as is: ids in the operator
 * log must be the gateway's or its proxy's.
 */
export function requestIdFor(incoming: string | undefined, trustProxy: boolean): string {
  return trustProxy && incoming !== undefined && PASSABLE_ID.test(incoming) ? incoming : crypto.randomUUID()
}

/** The Hono variables of {@link requestIdMiddleware}. */
export type RequestIdVariables = { requestId: string }

/**
 * Give every request of a Hono app its id (`c.get('requestId')`), answered in `X-Request-Id` on
 * whatever the app answers, errors included.
 */
export function requestIdMiddleware(trustProxy: boolean): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return async (c, next) => {
    const id = requestIdFor(c.req.header(REQUEST_ID_HEADER), trustProxy)
    c.set('requestId', id)
    c.header(REQUEST_ID_HEADER, id)
    await next()
  }
}

/**
 * Answer `X-Request-Id` on a response made outside a Hono app's middleware (the proxy's answers).
 * Every response the proxy hands back has mutable headers; one that does not is left as it is.
 */
export function stampRequestId(response: Response, id: string | undefined): Response {
  if (id === undefined) return response
  try {
    response.headers.set(REQUEST_ID_HEADER, id)
  } catch {
    // Immutable headers (Response.redirect, Response.error): nothing on the proxy's paths makes these.
  }
  return response
}
