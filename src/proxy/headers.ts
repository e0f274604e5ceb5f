import { ACCESS_COOKIE_PREFIX } from '../containers/access.js'
import { rewriteLocation, scopeSetCookie, stripCookies } from './rewrite.js'

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus legacy ones; never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // The gateway's own server answers `Expect: 100-continue`; it is per hop.
  'expect',
])

/**
 * Header fields as `[name, value]` pairs with lower-case names: what Web `Headers` iterate
 * as, and what the Node fast path builds from raw headers. `Set-Cookie` may repeat.
 */
export type HeaderPairs = Array<[string, string]>

/** Header names to drop: the hop-by-hop ones plus any the `Connection` header names. */
function isHopByHop(name: string, named: ReadonlySet<string> | undefined): boolean {
  return HOP_BY_HOP.has(name) || named?.has(name) === true
}

function connectionTokens(value: string | undefined): ReadonlySet<string> | undefined {
  if (!value) return undefined
  // The usual values name no other header.
  const plain = value.toLowerCase()
  if (plain === 'keep-alive' || plain === 'close') return undefined
  // A token that is not a valid field name cannot name a header (and `Headers.delete` would throw on it).
  return new Set(
    value
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => FIELD_NAME.test(token)),
  )
}

/** A field name as RFC 9110 §5.1 allows it (a `token`), lower-cased. */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/

/** What the proxy knows about the client side of a request. */
export interface ForwardingContext {
  /** The client's address, when the runtime can tell. */
  clientAddress?: string | undefined
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

/**
 * The header pairs sent upstream: the client's minus hop-by-hop ones and `Host`, plus
 * `X-Forwarded-*`, without the gateway's access cookies or the parent app's named cookies, and
 * without the client's own claims about itself (`Forwarded`, `X-Real-IP`, `X-Forwarded-*`)
 * unless `trustProxy` says a proxy in front sets them.
 * The Node fast path builds its upstream headers here; {@link upstreamRequestHeaders} applies
 * the same rules to Web `Headers`.
 */
export function forwardedRequestPairs(incoming: Iterable<[string, string]>, ctx: ForwardingContext): HeaderPairs {
  const fields = new Map<string, string>()
  for (const [name, value] of incoming) {
    const prior = fields.get(name)
    fields.set(name, prior === undefined ? value : `${prior}, ${value}`)
  }
  const named = connectionTokens(fields.get('connection'))
  const out: HeaderPairs = []
  for (const [name, value] of fields) {
    if (isHopByHop(name, named) || name === 'host' || name.startsWith('x-forwarded-')) continue
    if (!ctx.trustProxy && CLIENT_FORWARDING.has(name)) continue
    if (name === 'cookie') {
      const kept = stripCookies(value, ctx.strippedCookies ?? new Set(), ACCESS_COOKIE_PREFIX)
      if (kept) out.push([name, kept])
      continue
    }
    out.push([name, value])
  }
  out.push(...forwardedFields((name) => (ctx.trustProxy ? fields.get(name) : undefined), ctx))
  // Any other X-Forwarded-* a trusted proxy sent passes through unchanged; an untrusted client's never.
  if (ctx.trustProxy) {
    for (const [name, value] of fields) {
      if (name.startsWith('x-forwarded-') && !FORWARDED_OWN.has(name) && !isHopByHop(name, named))
        out.push([name, value])
    }
  }
  return out
}

/**
 * Headers by which a proxy in front tells the app who the client is, besides the `X-Forwarded-*`
 * family: apps believe them (Tornado reads `X-Real-Ip`), so only a trusted proxy's reach a container.
 */
const CLIENT_FORWARDING = new Set(['forwarded', 'x-real-ip'])

/** Whether a client's header claims something about the client that only a trusted proxy may claim. */
function isClientForwarding(name: string): boolean {
  return CLIENT_FORWARDING.has(name) || name.startsWith('x-forwarded-')
}

/** The `X-Forwarded-*` headers the gateway sets itself. */
const FORWARDED_OWN = new Set(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-prefix'])

/**
 * The `X-Forwarded-*` fields the gateway sets: the client's address appended to a trusted chain,
 * and the public host, scheme and prefix. `trusted` reads the client's own value, when trusted.
 */
function forwardedFields(trusted: (name: string) => string | undefined, ctx: ForwardingContext): HeaderPairs {
  const fields: HeaderPairs = []
  const priorFor = trusted('x-forwarded-for')
  const forwardedFor =
    priorFor && ctx.clientAddress ? `${priorFor}, ${ctx.clientAddress}` : priorFor || ctx.clientAddress
  if (forwardedFor) fields.push(['x-forwarded-for', forwardedFor])
  fields.push(['x-forwarded-host', trusted('x-forwarded-host') || ctx.host])
  fields.push(['x-forwarded-proto', trusted('x-forwarded-proto') || ctx.proto])
  const prefix = `${(trusted('x-forwarded-prefix') ?? '').replace(/\/+$/, '')}${ctx.prefix}`
  if (prefix) fields.push(['x-forwarded-prefix', prefix])
  return fields
}

/**
 * The headers sent upstream, by the rules of {@link forwardedRequestPairs}, applied to a copy of
 * the client's `Headers` with the runtime's own operations: cheaper per request than rebuilding
 * them pair by pair.
 */
export function upstreamRequestHeaders(incoming: Headers, ctx: ForwardingContext): Headers {
  const headers = new Headers(incoming)
  const named = connectionTokens(incoming.get('connection') ?? undefined)
  for (const name of HOP_BY_HOP) headers.delete(name)
  if (named) for (const name of named) headers.delete(name)
  headers.delete('host')
  const cookie = headers.get('cookie')
  if (cookie !== null) {
    const kept = stripCookies(cookie, ctx.strippedCookies ?? new Set(), ACCESS_COOKIE_PREFIX)
    if (kept) headers.set('cookie', kept)
    else headers.delete('cookie')
  }
  for (const name of FORWARDED_OWN) headers.delete(name)
  if (!ctx.trustProxy) {
    const claims: string[] = []
    for (const name of headers.keys()) if (isClientForwarding(name)) claims.push(name)
    for (const name of claims) headers.delete(name)
  }
  for (const [name, value] of forwardedFields(
    (name) => (ctx.trustProxy ? (incoming.get(name) ?? undefined) : undefined),
    ctx,
  ))
    headers.set(name, value)
  return headers
}

/**
 * The header pairs returned to the client: the upstream's minus hop-by-hop ones, with
 * `Location` and `Set-Cookie` kept inside the container's prefix. Names come back lower-case.
 */
export function returnedResponsePairs(
  upstream: Iterable<[string, string]>,
  upstreamOrigin: string,
  prefix: string,
): HeaderPairs {
  const pairs: HeaderPairs = []
  let connection: string | undefined
  for (const [rawName, value] of upstream) {
    const name = rawName.toLowerCase()
    if (name === 'connection') connection = connection === undefined ? value : `${connection}, ${value}`
    pairs.push([name, value])
  }
  const named = connectionTokens(connection)
  const out: HeaderPairs = []
  for (const [name, value] of pairs) {
    if (isHopByHop(name, named)) continue
    if (name === 'location') out.push([name, rewriteLocation(value, upstreamOrigin, prefix)])
    else if (name === 'set-cookie') out.push([name, scopeSetCookie(value, prefix)])
    else out.push([name, value])
  }
  return out
}

/**
 * Headers returned to the client: upstream headers minus hop-by-hop ones, with `Location`
 * and `Set-Cookie` kept inside the container's prefix. The same rules as
 * {@link returnedResponsePairs}, applied to a copy of the upstream's `Headers` with the runtime's
 * own operations: cheaper per request than rebuilding them pair by pair.
 */
export function downstreamResponseHeaders(upstream: Headers, upstreamOrigin: string, prefix: string): Headers {
  const headers = new Headers(upstream)
  const named = connectionTokens(headers.get('connection') ?? undefined)
  for (const name of HOP_BY_HOP) headers.delete(name)
  if (named) for (const name of named) headers.delete(name)
  const location = headers.get('location')
  if (location !== null) headers.set('location', rewriteLocation(location, upstreamOrigin, prefix))
  const cookies = headers.getSetCookie()
  if (cookies.length) {
    headers.delete('set-cookie')
    for (const cookie of cookies) headers.append('set-cookie', scopeSetCookie(cookie, prefix))
  }
  return headers
}
