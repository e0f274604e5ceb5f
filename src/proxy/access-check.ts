import type { Context } from 'hono'
import { getCookie } from 'hono/cookie'
import { ACCESS_COOKIE_PREFIX, ACCESS_PARAM } from '../containers/access.js'
import type { ContainerRecord } from '../backend.js'
import { errorAnswer, toResponse } from '../http/answer.js'

/** The access links and sessions the check consults (the gateway's container manager). */
export interface AccessSessions {
  redeemAccessLink(id: string, token: string): Promise<string | undefined>
  checkAccessSession(id: string, session: string): Promise<boolean>
}

/** What an embedder's `authorize` hook sees of a container. */
export interface AuthorizeTarget {
  name: string
  id: string
  labels: Record<string, string>
}

/**
 * An embedder's access decision for one proxied request (e.g. "is the signed-in user the
 * owner label of this container?"). `false` answers 403; a Response is sent as is.
 */
export type AuthorizeHook = (c: Context, container: AuthorizeTarget) => boolean | Response | Promise<boolean | Response>

function denied(status: 401 | 403, code: string, message: string): Response {
  return toResponse(errorAnswer(status, code, message))
}

/**
 * Decide whether a request may reach its container. Resolves `undefined` to proceed, or the
 * answer to send instead (a denial, or the redirect that trades a one-time link for a cookie).
 */
export async function checkProxyAccess(
  c: Context,
  record: ContainerRecord,
  prefix: string,
  access: AccessSessions,
  authorize?: AuthorizeHook,
): Promise<Response | undefined> {
  if (authorize) {
    const decision = await authorize(c, { name: record.name, id: record.id, labels: record.labels })
    if (decision instanceof Response) return decision
    return decision ? undefined : denied(403, 'forbidden', `You may not use "${record.name}"`)
  }
  if (record.access !== 'token') return undefined
  const url = new URL(c.req.url)
  const cookieName = `${ACCESS_COOKIE_PREFIX}${record.name}`
  const token = url.searchParams.get(ACCESS_PARAM)
  if (token !== null) {
    const session = await access.redeemAccessLink(record.id, token)
    if (!session) return denied(403, 'access_link_invalid', 'This access link is not valid or was already used')
    url.searchParams.delete(ACCESS_PARAM)
    const secure = url.protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https'
    const cookie = [
      `${cookieName}=${session}`,
      `Path=${prefix}/`,
      'HttpOnly',
      'SameSite=Lax',
      ...(secure ? ['Secure'] : []),
    ].join('; ')
    // Back to the same page without the token, now holding the cookie. A path-absolute URL only:
    // `//evil.example/x` (a path under hostname routing) would send the browser to another host.
    const path = url.pathname.replace(/^[/\\]+/, '/')
    return new Response(null, {
      status: 302,
      headers: { location: `${path}${url.search}`, 'set-cookie': cookie, 'cache-control': 'no-store' },
    })
  }
  const session = getCookie(c, cookieName)
  if (session && (await access.checkAccessSession(record.id, session))) return undefined
  return denied(401, 'access_required', `"${record.name}" is private: open it through its access link`)
}
