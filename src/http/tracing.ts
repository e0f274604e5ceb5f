import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { CONTAINER_ATTRIBUTE, startRequestSpan, withContext } from '../telemetry/tracing.js'
import { NAME_PATTERN } from '../api/schemas.js'
import type { RequestIdVariables } from './request-id.js'

/**
 * A server span per request of a Hono app, named by the route that answered it
 * (`POST /api/containers`), that continues the client's `traceparent` and is the parent of
 * everything the request does (a launch, a wake, the engine calls). Its status is what the client
 * was answered.
 */
export function tracingMiddleware(): MiddlewareHandler<{ Variables: Partial<RequestIdVariables> }> {
  return async (c, next) => {
    const span = startRequestSpan(c.req.method, undefined, (name) => c.req.header(name), {
      ...(c.var.requestId ? { 'hde.request_id': c.var.requestId } : {}),
    })
    try {
      await withContext(span.context, next)
    } finally {
      // Once the chain has run, the current route is the handler that answered, with its parameters.
      span.route(routePath(c))
      const name = c.req.param('name')
      if (name !== undefined && NAME_PATTERN.test(name)) span.set(CONTAINER_ATTRIBUTE, name)
      span.end(c.res.status)
    }
  }
}
