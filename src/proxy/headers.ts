import { ACCESS_COOKIE_PREFIX } from '../access.js'
import { rewriteLocation, scopeSetCookie, stripCookies } from './rewrite.js'

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus legacy ones; never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
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
  return HOP_BY_HOP.has(name) || (named !== undefined && named.has(name))
}

function connectionTokens(value: string | undefined): ReadonlySet<string> | undefined {
  if (!value) return undefined
  // The usual values name no other header.
  const plain = value.toLowerCase()
  if (plain === 'keep-alive' || plain === 'close') return undefined
  return new Set(value.split(',').map((token) => token.trim().toLowerCase()).filter(Boolean))
}

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
 * `X-Forwarded-*`, without the gateway's access cookies or the parent app's named cookies.
 * Both the general path and the Node fast path build their upstream headers here.
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
    if (name === 'cookie') {
      const kept = stripCookies(value, ctx.strippedCookies ?? new Set(), ACCESS_COOKIE_PREFIX)
      if (kept) out.push([name, kept])
      continue
    }
    out.push([name, value])
  }
  const trusted = (name: string) => (ctx.trustProxy ? fields.get(name) : undefined)
  const priorFor = trusted('x-forwarded-for')
  const forwardedFor = priorFor && ctx.clientAddress ? `${priorFor}, ${ctx.clientAddress}` : priorFor || ctx.clientAddress
  if (forwardedFor) out.push(['x-forwarded-for', forwardedFor])
  out.push(['x-forwarded-host', trusted('x-forwarded-host') || ctx.host])
  out.push(['x-forwarded-proto', trusted('x-forwarded-proto') || ctx.proto])
  const prefix = `${(trusted('x-forwarded-prefix') ?? '').replace(/\/+$/, '')}${ctx.prefix}`
  if (prefix) out.push(['x-forwarded-prefix', prefix])
  // Any other X-Forwarded-* the client sent passes through unchanged.
  for (const [name, value] of fields) {
    if (name.startsWith('x-forwarded-') && !FORWARDED_OWN.has(name) && !isHopByHop(name, named)) out.push([name, value])
  }
  return out
}

/** The `X-Forwarded-*` headers the gateway sets itself. */
const FORWARDED_OWN = new Set(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-prefix'])

/** Build the headers sent upstream: client headers minus hop-by-hop and `Host`, plus `X-Forwarded-*`. */
export function upstreamRequestHeaders(incoming: Headers, ctx: ForwardingContext): Headers {
  return new Headers(forwardedRequestPairs(incoming, ctx))
}

/**
 * The header pairs returned to the client: the upstream's minus hop-by-hop ones, with
 * `Location` and `Set-Cookie` kept inside the container's prefix. Names come back lower-case.
 */
export function returnedResponsePairs(upstream: Iterable<[string, string]>, upstreamOrigin: string, prefix: string): HeaderPairs {
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
 * and `Set-Cookie` kept inside the container's prefix.
 */
export function downstreamResponseHeaders(upstream: Headers, upstreamOrigin: string, prefix: string): Headers {
  return new Headers(returnedResponsePairs(upstream, upstreamOrigin, prefix))
}
