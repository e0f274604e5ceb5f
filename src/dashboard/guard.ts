import type { Context, MiddlewareHandler } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { ApiError } from '../http/errors.js'
import { isLoopbackAddress, sameSecret } from '../util/secrets.js'
import { DASHBOARD_COOKIE, type DashboardSession, type DashboardSessions, isSessionCookie } from './sessions.js'

/** The dashboard's Hono environment: the session of the request, once the guard found it. */
export type DashboardEnv = { Variables: { session: DashboardSession; requestId: string } }

/** Who may use the dashboard. */
export interface DashboardGuardOptions {
  sessions: DashboardSessions
  /** API tokens; any of them signs in. Without any, loopback browsers need no sign-in. */
  tokens: readonly string[]
  /** The client's address, when the runtime can tell. */
  getClientAddress?: (c: Context) => string | undefined
  /** Trust `X-Forwarded-Proto` (the gateway's `trustProxy`), for the cookie's `Secure` flag. */
  trustProxy: boolean
  /** The dashboard's mount path (`''` standalone). */
  base: (c: Context) => string
}

const SAFE_METHODS = new Set(['GET', 'HEAD'])

/**
 * Refuse every state-changing request that a page on another origin could have sent: browsers
 * send `Sec-Fetch-Site` and `Origin` with it, and a page on the proxy's origin is only
 * *same-site* (`127.0.0.1:8000` and `:8001` share a site, and `SameSite=Strict` cookies).
 */
export function isCrossOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site')
  if (site !== undefined && site !== 'same-origin') return true
  const origin = c.req.header('origin')
  if (origin === undefined) return false
  try {
    return new URL(origin).host !== (c.req.header('host') ?? new URL(c.req.url).host)
  } catch {
    return true // `null` (a sandboxed frame, a redirect) or garbage
  }
}

/** The session cookie, with the flags that keep it from scripts, other sites and plain HTTP where HTTPS is used. */
export function setSessionCookie(c: Context, options: DashboardGuardOptions, session: DashboardSession | null): void {
  const https =
    new URL(c.req.url).protocol === 'https:' ||
    (options.trustProxy && c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https')
  setCookie(c, DASHBOARD_COOKIE, session?.id ?? '', {
    path: `${options.base(c)}/`,
    httpOnly: true,
    sameSite: 'Strict',
    secure: https,
    maxAge: session ? options.sessions.maxAgeSeconds(session) : 0,
  })
}

/**
 * The request's session, if its cookie holds one: with tokens, a signed-in session, or else the
 * stateless session of a sign-in form; without tokens, a loopback browser's stateless session.
 */
export async function sessionOf(c: Context, options: DashboardGuardOptions): Promise<DashboardSession | undefined> {
  const id = getCookie(c, DASHBOARD_COOKIE)
  if (!isSessionCookie(id)) return undefined
  if (options.tokens.length === 0) return options.sessions.stateless(id, true)
  return (await options.sessions.get(id)) ?? (await options.sessions.stateless(id, false))
}

/** Whether the request's CSRF token (header `x-csrf-token`, or form field `csrf`) is the session's. */
async function carriesCsrfToken(c: Context, session: DashboardSession): Promise<boolean> {
  let token = c.req.header('x-csrf-token')
  if (token === undefined && /^application\/x-www-form-urlencoded\b/i.test(c.req.header('content-type') ?? '')) {
    const field = (await c.req.parseBody()).csrf
    token = typeof field === 'string' ? field : undefined
  }
  return token !== undefined && (await sameSecret(token, session.csrf))
}

/**
 * Middleware for every state-changing request: same origin (by `Sec-Fetch-Site` and `Origin`),
 * with the session's CSRF token. Runs after {@link requireSession} or with a pending session.
 */
export function requireSameOrigin(options: DashboardGuardOptions): MiddlewareHandler<DashboardEnv> {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next()
    const session = c.get('session') ?? (await sessionOf(c, options))
    if (isCrossOrigin(c) || !session || !(await carriesCsrfToken(c, session))) {
      throw new ApiError(
        403,
        'cross_origin_refused',
        'The dashboard accepts changes only from its own pages (same origin, with their CSRF token)',
      )
    }
    await next()
  }
}

/**
 * Middleware: without tokens, only loopback browsers may use the dashboard (as the API answers
 * only loopback tools); with tokens, anyone may reach the sign-in page.
 */
export function requireLocalUnlessTokens(options: DashboardGuardOptions): MiddlewareHandler {
  return async (c, next) => {
    if (options.tokens.length === 0 && options.getClientAddress) {
      if (!isLoopbackAddress(options.getClientAddress(c))) {
        throw new ApiError(
          403,
          'dashboard_loopback_only',
          'The dashboard answers only local browsers until auth.tokens is configured',
        )
      }
    }
    await next()
  }
}

/**
 * Middleware for everything behind sign-in. With tokens: a signed-in session, else a page
 * redirects to the sign-in form and anything else gets `401`. Without tokens: a loopback browser
 * gets a stateless session on its first page, for its CSRF token.
 */
export function requireSession(options: DashboardGuardOptions): MiddlewareHandler<DashboardEnv> {
  return async (c, next) => {
    let session = await sessionOf(c, options)
    if (!session?.signedIn) {
      if (options.tokens.length > 0) {
        if (c.req.method === 'GET' && c.req.header('sec-fetch-dest') !== 'empty' && !c.req.path.endsWith('/events'))
          return c.redirect(`${options.base(c)}/sign-in`, 303)
        throw new ApiError(401, 'unauthorized', 'Sign in to the dashboard first')
      }
      if (!SAFE_METHODS.has(c.req.method)) {
        throw new ApiError(403, 'cross_origin_refused', 'Open the dashboard page first: it holds the CSRF token')
      }
      session = await options.sessions.stateless(undefined, true)
      setSessionCookie(c, options, session)
    }
    c.set('session', session)
    await next()
  }
}
