import type { Context, MiddlewareHandler } from 'hono'
import { isLoopbackAddress, matchesAny } from '../util/secrets.js'
import { ApiError } from '../http/errors.js'

/** Options for {@link apiAuth}. */
export interface ApiAuthOptions {
  /** Accepted bearer tokens; empty means "loopback clients only". */
  tokens: readonly string[]
  /** The client's address, when the runtime can tell. */
  getClientAddress?: (c: Context) => string | undefined
}

/**
 * Whether a request was sent by a browser on behalf of a page or a visitor: browsers send
 * `Origin` on every cross-origin request and on same-origin non-GET requests, and
 * `Sec-Fetch-Site` (Fetch Metadata) on every request. `Sec-Fetch-Site: none` is a navigation
 * the user started (typed URL, bookmark), which no page can trigger. Plain clients (curl,
 * scripts, the CLI) send neither.
 */
export function isBrowserRequest(headers: Headers): boolean {
  if (headers.has('origin')) return true
  const site = headers.get('sec-fetch-site')
  return site !== null && site.trim().toLowerCase() !== 'none'
}

/** The bearer token of a request, if it carries one. */
function bearerToken(c: Context): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1]
}

async function requireToken(c: Context, tokens: readonly string[]): Promise<void> {
  const token = bearerToken(c)
  if (!token || !(await matchesAny(token, tokens))) {
    throw new ApiError(401, 'unauthorized', 'Send a valid API token: Authorization: Bearer <token>')
  }
}

/**
 * A browser acting for a page never gets the loopback exemption: a container's page, served
 * through this gateway to a visitor on the same machine, would otherwise drive the API with
 * that visitor's browser. With tokens it must send one like any remote client; without, it is
 * refused and told why.
 */
async function guardBrowser(c: Context, tokens: readonly string[]): Promise<void> {
  if (tokens.length > 0) return requireToken(c, tokens)
  throw new ApiError(
    403,
    'api_browser_refused',
    'The API does not answer requests a web page makes through a browser unless they carry an API token: ' +
      'configure auth.tokens and send Authorization: Bearer <token>, or call the API from a server-side client',
  )
}

/**
 * Guard the API. With tokens, every request needs `Authorization: Bearer <one of them>`
 * (compared in constant time). Without tokens, only loopback clients are served, and never a
 * browser acting for a page (see {@link isBrowserRequest}): a gateway that launches containers
 * is never open to the network, or to the pages it serves, by accident.
 */
export function apiAuth(options: ApiAuthOptions): MiddlewareHandler {
  return async (c, next) => {
    if (options.tokens.length > 0) await requireToken(c, options.tokens)
    else if (isBrowserRequest(c.req.raw.headers)) await guardBrowser(c, options.tokens)
    else if (options.getClientAddress && !isLoopbackAddress(options.getClientAddress(c))) {
      throw new ApiError(403, 'api_loopback_only', 'The API answers only local clients until auth.tokens is configured')
    }
    await next()
  }
}

/**
 * Guard the API's credential-free routes (health, the OpenAPI document, a container's own
 * input URL): plain clients keep them without a token, browsers acting for a page need one.
 */
export function browserGuard(options: ApiAuthOptions): MiddlewareHandler {
  return async (c, next) => {
    if (isBrowserRequest(c.req.raw.headers)) await guardBrowser(c, options.tokens)
    await next()
  }
}
