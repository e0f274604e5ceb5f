import { CONTAINER_ATTRIBUTE, type RequestSpan, startRequestSpan } from '../telemetry/tracing.js'

/** The route every proxied request's span is named by: one name for all containers. */
export const PROXY_ROUTE = '/{proxyPrefix}/{name}/*'

/**
 * The server span of a proxied request, on every path (general, fast, WebSocket handshake): named
 * `GET /{proxyPrefix}/{name}/*`, with the container's name and the request's id.
 */
export function proxySpan(
  method: string,
  name: string,
  requestId: string,
  header: (name: string) => string | undefined,
): RequestSpan {
  return startRequestSpan(method, PROXY_ROUTE, header, { [CONTAINER_ATTRIBUTE]: name, 'hde.request_id': requestId })
}
