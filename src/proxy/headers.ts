import { ACCESS_COOKIE_PREFIX } from '../access.js'
import { rewriteLocation, scopeSetCookie, stripCookies } from './rewrite.js'

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus legacy ones; never forwarded in either direction. */
const HOP_BY_HOP = [
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
  // The gateway's own server answers `Expect: 100-continue`; it is per hop.
  'expect',
]

/** Remove hop-by-hop headers, including any the `Connection` header names. */
export function stripHopByHop(headers: Headers): Headers {
  const named = headers.get('connection')
  if (named) for (const token of named.split(',')) headers.delete(token.trim())
  for (const name of HOP_BY_HOP) headers.delete(name)
  return headers
}

/** What the proxy knows about the client side of a request. */
export interface ForwardingContext {
  /** The client's address, when the runtime can tell. */
  clientAddress?: string
  /** `Host` as the client sent it. */
  host: string
  /** `http` or `https`, as seen by the gateway. */
  proto: string
  /** The path prefix the container is served under, e.g. `/docker/name`. */
  prefix: string
  /** Trust and extend the client's own `X-Forwarded-*` headers. */
  trustProxy: boolean
  /** Cookies that belong to the parent app and never reach a container. */
  strippedCookies?: ReadonlySet<string>
}

/** Build the headers sent upstream: client headers minus hop-by-hop and `Host`, plus `X-Forwarded-*`. */
export function upstreamRequestHeaders(incoming: Headers, ctx: ForwardingContext): Headers {
  const headers = stripHopByHop(new Headers(incoming))
  headers.delete('host')
  const priorFor = ctx.trustProxy ? incoming.get('x-forwarded-for') : null
  const forwardedFor = [priorFor, ctx.clientAddress].filter(Boolean).join(', ')
  if (forwardedFor) headers.set('x-forwarded-for', forwardedFor)
  else headers.delete('x-forwarded-for')
  headers.set('x-forwarded-host', (ctx.trustProxy && incoming.get('x-forwarded-host')) || ctx.host)
  headers.set('x-forwarded-proto', (ctx.trustProxy && incoming.get('x-forwarded-proto')) || ctx.proto)
  const priorPrefix = ctx.trustProxy ? (incoming.get('x-forwarded-prefix') ?? '').replace(/\/+$/, '') : ''
  const prefix = `${priorPrefix}${ctx.prefix}`
  if (prefix) headers.set('x-forwarded-prefix', prefix)
  else headers.delete('x-forwarded-prefix')
  const cookie = headers.get('cookie')
  if (cookie) {
    // The gateway's own access cookies and the parent app's named cookies never reach a container.
    const kept = stripCookies(cookie, ctx.strippedCookies ?? new Set(), ACCESS_COOKIE_PREFIX)
    if (kept) headers.set('cookie', kept)
    else headers.delete('cookie')
  }
  return headers
}

/**
 * Headers returned to the client: upstream headers minus hop-by-hop ones, with `Location`
 * and `Set-Cookie` kept inside the container's prefix.
 */
export function downstreamResponseHeaders(upstream: Headers, upstreamOrigin: string, prefix: string): Headers {
  const headers = stripHopByHop(new Headers(upstream))
  const location = headers.get('location')
  if (location) headers.set('location', rewriteLocation(location, upstreamOrigin, prefix))
  const cookies = headers.getSetCookie()
  if (cookies.length) {
    headers.delete('set-cookie')
    for (const cookie of cookies) headers.append('set-cookie', scopeSetCookie(cookie, prefix))
  }
  return headers
}
