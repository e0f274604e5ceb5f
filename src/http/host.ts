import type { MiddlewareHandler } from 'hono'
import { errorBody } from './answer.js'

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
    return c.json(errorBody('invalid_host', 'The Host header is not a valid host[:port]'), 400, {
      'cache-control': 'no-store',
    })
  }
  await next()
}

/** What {@link hostAllowList} builds the list from. */
export interface HostAllowListOptions {
  /** `listen.allowedHosts`, when configured. */
  configured?: readonly string[] | undefined
  /** The address the server listens on. */
  listenHostname: string
  /** Whether API tokens are configured. */
  tokens: boolean
  /** Further names that must be allowed (e.g. the host of `input.publicApiUrl`). */
  extra?: readonly (string | undefined)[]
}

/** Host names that are loopback by definition (RFC 6761 §6.3 for `localhost`). */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]']
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]'])

/**
 * Which `Host` names the gateway answers for: a predicate over a `Host` header value. See the
 * `listen.allowedHosts` configuration key for the rules.
 */
export function hostAllowList(options: HostAllowListOptions): (host: string) => boolean {
  if (options.configured?.includes('*') || (options.configured === undefined && options.tokens)) return () => true
  const listen =
    options.listenHostname.includes(':') && !options.listenHostname.startsWith('[')
      ? `[${options.listenHostname}]`
      : options.listenHostname
  const names = new Set(
    [
      ...LOOPBACK_NAMES,
      ...(options.configured ?? []),
      ...(WILDCARD_ADDRESSES.has(listen) ? [] : [listen]),
      ...(options.extra ?? []),
    ]
      .filter((n): n is string => Boolean(n))
      .map(hostName),
  )
  return (host) => names.has(hostName(host))
}

/**
 * The proxy's host rule: the allowed names, and under hostname routing every `<name><hostSuffix>`
 * (containers' own hosts). One predicate for every path that proxies (routed, fast, WebSocket).
 */
export function proxyHostAllowList(
  allowed: (host: string) => boolean,
  hostSuffix: string | undefined,
): (host: string) => boolean {
  if (!hostSuffix) return allowed
  return (host) => allowed(host) || hostName(host).endsWith(hostSuffix)
}

/**
 * Middleware: answer `421 Misdirected Request` unless the request's host is allowed. Behind DNS
 * rebinding, a page on `attacker.example` whose name now resolves to 127.0.0.1 reaches the
 * gateway as a loopback client, but with its own name in `Host`.
 */
export function allowedHostsGuard(allowed: (host: string) => boolean): MiddlewareHandler {
  return async (c, next) => {
    if (!allowed(c.req.header('host') ?? new URL(c.req.url).host)) {
      return c.json(
        errorBody('host_not_allowed', 'This gateway does not answer for this host name: add it to listen.allowedHosts'),
        421,
        { 'cache-control': 'no-store' },
      )
    }
    await next()
  }
}
