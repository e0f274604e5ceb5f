import type { MiddlewareHandler } from 'hono'

/**
 * A `Host` header as RFC 9110 §7.2 allows it: an RFC 3986 authority without userinfo — a
 * reg-name or IPv4 address, or an IPv6 literal in brackets — with an optional port. Anything
 * else (a `/`, `#`, `?`, `@`, a space) could change what a URL built from it points at.
 */
const AUTHORITY = /^(?:\[[0-9a-f:.]+\]|[a-z0-9\-._~%!$&'()*+,;=]+)(?::[0-9]{1,5})?$/i

/** Whether `host` is a valid `Host` header value (see {@link AUTHORITY}). */
export function isValidHost(host: string): boolean {
  return host.length <= 255 && AUTHORITY.test(host)
}

/**
 * The host name of a `Host` header: lower-case, without the port, and without the trailing dot
 * of a fully qualified name (`x.docker.localhost.` is `x.docker.localhost`).
 */
export function hostName(host: string): string {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:[0-9]*$/, '')
  return name.toLowerCase().replace(/\.$/, '')
}

/**
 * Middleware: answer `400` to a request whose `Host` is not a valid authority, before any route
 * builds a URL or a routing decision from it. Runtimes differ in what they let through.
 */
export const hostGuard: MiddlewareHandler = async (c, next) => {
  const host = c.req.header('host')
  if (host !== undefined && !isValidHost(host)) {
    return c.json({ error: { code: 'invalid_host', message: 'The Host header is not a valid host[:port]' } }, 400, { 'cache-control': 'no-store' })
  }
  await next()
}
