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
  headers.set('x-forwarded-prefix', `${priorPrefix}${ctx.prefix}`)
  return headers
}

/** Headers returned to the client: upstream headers minus hop-by-hop ones. */
export function downstreamResponseHeaders(upstream: Headers): Headers {
  return stripHopByHop(new Headers(upstream))
}
