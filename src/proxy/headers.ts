import { ACCESS_COOKIE_PREFIX } from '../containers/access.js'
import { REQUEST_ID_HEADER } from '../http/request-id.js'
import { type ResponseScope, rewriteLocation, scopeSetCookie, stripCookies } from './rewrite.js'

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

/** The gateway's forwarding settings, the same for every request. */
export interface ForwardingPolicy {
  /** Trust and extend the client's own `X-Forwarded-*` headers. */
  trustProxy: boolean
  /** Cookies that belong to the parent app and never reach a container. */
  strippedCookies?: ReadonlySet<string>
  /** Send the client's `Host` to the container (default); `false` sends the container's own address. */
  preserveHost?: boolean
}

/** What the proxy knows about the client side of a request, with the policy it applies. */
export interface ForwardingContext extends ForwardingPolicy {
  /** The client's address, when the runtime can tell. */
  clientAddress?: string | undefined
  /** `Host` as the client sent it. */
  host: string
  /** `http` or `https`, as seen by the gateway. */
  proto: string
  /** The path prefix the container is served under, e.g. `/docker/name`. */
  prefix: string
  /** The request's id (`X-Request-Id`), the same in the operator log. */
  requestId?: string
  /**
   * The gateway's trace context for the container (`traceparent`, `tracestate`), with the
   * request's span as parent; without tracing, none, and the client's own pass as sent.
   */
  traceHeaders?: ReadonlyArray<readonly [string, string]>
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
 * The operations the header policy needs, over whichever representation a path holds: Web
 * `Headers` (the general path, Bun) or raw pairs (the Node fast path). Names are lower-case;
 * `get` joins repeated fields with `, `, as `Headers` does.
 */
interface HeaderEditor {
  get(name: string): string | undefined
  set(name: string, value: string): void
  delete(name: string): void
  names(): string[]
  getSetCookie(): string[]
  setSetCookie(values: string[]): void
}

/** An editor over a `Headers` object, changed in place with the runtime's own operations. */
class HeadersEditor implements HeaderEditor {
  readonly #headers: Headers
  constructor(headers: Headers) {
    this.#headers = headers
  }
  get(name: string): string | undefined {
    return this.#headers.get(name) ?? undefined
  }
  set(name: string, value: string): void {
    this.#headers.set(name, value)
  }
  delete(name: string): void {
    this.#headers.delete(name)
  }
  names(): string[] {
    return [...this.#headers.keys()]
  }
  getSetCookie(): string[] {
    return this.#headers.getSetCookie()
  }
  setSetCookie(values: string[]): void {
    this.#headers.delete('set-cookie')
    for (const value of values) this.#headers.append('set-cookie', value)
  }
}

/** An editor over header pairs, kept by lower-case name; `pairs()` gives the result. */
class PairsEditor implements HeaderEditor {
  readonly #fields = new Map<string, string | string[]>()
  constructor(incoming: Iterable<[string, string]>) {
    for (const [rawName, value] of incoming) {
      const name = rawName.toLowerCase()
      const prior = this.#fields.get(name)
      if (prior === undefined) this.#fields.set(name, value)
      else if (typeof prior === 'string') this.#fields.set(name, [prior, value])
      else prior.push(value)
    }
  }
  get(name: string): string | undefined {
    const values = this.#fields.get(name)
    return typeof values === 'string' || values === undefined ? values : values.join(', ')
  }
  set(name: string, value: string): void {
    this.#fields.set(name, value)
  }
  delete(name: string): void {
    this.#fields.delete(name)
  }
  names(): string[] {
    return [...this.#fields.keys()]
  }
  getSetCookie(): string[] {
    const values = this.#fields.get('set-cookie')
    return values === undefined ? [] : typeof values === 'string' ? [values] : values
  }
  setSetCookie(values: string[]): void {
    this.#fields.set('set-cookie', values)
  }
  pairs(): HeaderPairs {
    const out: HeaderPairs = []
    for (const [name, values] of this.#fields) {
      if (typeof values === 'string') out.push([name, values])
      else for (const value of values) out.push([name, value])
    }
    return out
  }
}

/**
 * THE request policy, on every path: the client's headers minus hop-by-hop ones (and those
 * `Connection` names); the client's `Host` unless `preserveHost` is off (then the transport sends
 * the container's address); without the gateway's access cookies or the parent app's named
 * cookies; without the client's own claims about itself (`Forwarded`, `X-Real-IP`,
 * `X-Forwarded-*`) unless `trustProxy` says a proxy in front sets them; plus the gateway's
 * `X-Forwarded-For/Host/Proto/Prefix`, the request's `X-Request-Id`, and its trace context.
 */
function applyRequestPolicy(headers: HeaderEditor, ctx: ForwardingContext): void {
  const named = connectionTokens(headers.get('connection'))
  // What a trusted proxy in front said, read before anything is removed.
  const trusted = ctx.trustProxy ? new Map([...FORWARDED_OWN].map((name) => [name, headers.get(name)])) : undefined
  for (const name of HOP_BY_HOP) headers.delete(name)
  if (named) for (const name of named) headers.delete(name)
  if (ctx.preserveHost === false) headers.delete('host')
  else headers.set('host', ctx.host)
  const cookie = headers.get('cookie')
  if (cookie !== undefined) {
    const kept = stripCookies(cookie, ctx.strippedCookies ?? new Set(), ACCESS_COOKIE_PREFIX)
    if (kept) headers.set('cookie', kept)
    else headers.delete('cookie')
  }
  for (const name of ctx.trustProxy ? FORWARDED_OWN : headers.names().filter(isClientForwarding)) headers.delete(name)
  for (const [name, value] of forwardedFields((name) => trusted?.get(name), ctx)) headers.set(name, value)
  if (ctx.requestId !== undefined) headers.set(REQUEST_ID_HEADER, ctx.requestId)
  if (ctx.traceHeaders) for (const [name, value] of ctx.traceHeaders) headers.set(name, value)
}

/**
 * What a container may not tell a browser, because it acts beyond the container's own pages:
 * `Clear-Site-Data` wipes the storage and cookies of the whole site (the dashboard's session,
 * other containers' access cookies), whatever host or port answers it
 * (https://w3c.github.io/webappsec-clear-site-data/).
 */
const SITE_WIDE = 'clear-site-data'

/**
 * Under path routing, where every container shares one host: `Strict-Transport-Security` binds
 * the whole host, every port included (RFC 6797 §8.1), and a `Service-Worker-Allowed` outside the
 * prefix would let a worker take over other containers' paths.
 */
function applyHostWideLimits(headers: HeaderEditor, prefix: string): void {
  headers.delete('strict-transport-security')
  const allowed = headers.get('service-worker-allowed')
  if (allowed === undefined) return
  let path: string
  try {
    path = new URL(allowed, 'http://container.invalid').pathname
  } catch {
    path = ''
  }
  if (!path.startsWith(`${prefix}/`)) headers.delete('service-worker-allowed')
}

/**
 * THE response policy, on every path (WebSocket handshakes included): the container's headers
 * minus hop-by-hop ones (and those `Connection` names) and minus what would reach beyond its own
 * pages ({@link SITE_WIDE}, and under path routing {@link applyHostWideLimits}), with `Location`
 * and `Set-Cookie` kept inside the container's prefix, and the request's `X-Request-Id`.
 */
function applyResponsePolicy(headers: HeaderEditor, scope: ResponseScope): void {
  const named = connectionTokens(headers.get('connection'))
  for (const name of HOP_BY_HOP) headers.delete(name)
  if (named) for (const name of named) headers.delete(name)
  headers.delete(SITE_WIDE)
  if (scope.prefix) applyHostWideLimits(headers, scope.prefix)
  const location = headers.get('location')
  if (location !== undefined) headers.set('location', rewriteLocation(location, scope))
  const cookies = headers.getSetCookie()
  if (cookies.length) headers.setSetCookie(cookies.map((cookie) => scopeSetCookie(cookie, scope.prefix)))
  if (scope.requestId !== undefined) headers.set(REQUEST_ID_HEADER, scope.requestId)
}

/** The request policy applied to header pairs (the Node fast path). */
export function forwardedRequestPairs(incoming: Iterable<[string, string]>, ctx: ForwardingContext): HeaderPairs {
  const editor = new PairsEditor(incoming)
  applyRequestPolicy(editor, ctx)
  return editor.pairs()
}

/** The request policy applied to a copy of the client's `Headers` (the general path, Bun). */
export function upstreamRequestHeaders(incoming: Headers, ctx: ForwardingContext): Headers {
  const headers = new Headers(incoming)
  applyRequestPolicy(new HeadersEditor(headers), ctx)
  return headers
}

/** The response policy applied to header pairs (the Node fast path). Names come back lower-case. */
export function returnedResponsePairs(upstream: Iterable<[string, string]>, scope: ResponseScope): HeaderPairs {
  const editor = new PairsEditor(upstream)
  applyResponsePolicy(editor, scope)
  return editor.pairs()
}

/** The response policy applied to a copy of the upstream's `Headers` (the general path, WebSockets). */
export function downstreamResponseHeaders(upstream: Headers, scope: ResponseScope): Headers {
  const headers = new Headers(upstream)
  rewriteResponseHeaders(headers, scope)
  return headers
}

/** The response policy applied to a response's own `Headers`, in place (see `UpstreamFetch.ownsResponses`). */
export function rewriteResponseHeaders(headers: Headers, scope: ResponseScope): void {
  applyResponsePolicy(new HeadersEditor(headers), scope)
}

export type { ResponseScope }
