import type { ContainerStore } from '../stores/store.js'
import { randomToken } from '../util/secrets.js'

/** The dashboard's session cookie. The proxy strips it from every request, so no container ever sees it. */
export const DASHBOARD_COOKIE = 'hde_dashboard'

/** A browser's session with the dashboard. */
export interface DashboardSession {
  /** The cookie value: 256 random bits, never the API token. */
  id: string
  /** The token every state-changing request must carry (header `x-csrf-token` or form field `csrf`). */
  csrf: string
  /** Signed in with an API token, or a loopback browser while no tokens are configured. */
  signedIn: boolean
  /** When it ends (ms since the epoch). */
  expires: number
}

/** Options for {@link DashboardSessions}. */
export interface DashboardSessionsOptions {
  /** How long a signed-in session lasts. */
  ttlMs: number
  /** Where signed-in sessions and the signing key are kept (shared by replicas on a shared store). */
  store: ContainerStore
}

/** How long a sign-in form's cookie lasts. */
const SIGN_IN_TTL_MS = 3_600_000
/** A cookie value the gateway could have made: 256 bits as hex. */
const COOKIE_VALUE = /^[0-9a-f]{64}$/

/** Whether a cookie value is one the gateway could have made (anything else is ignored). */
export function isSessionCookie(value: string | undefined): value is string {
  return value !== undefined && COOKIE_VALUE.test(value)
}

/**
 * Dashboard sessions. Only a sign-in with an API token creates state on the server, kept in the
 * store (so a restart, or another replica on a shared store, keeps the browser signed in), with a
 * new id, so that an id planted before sign-in is worth nothing after. Everything an anonymous
 * request gets is **stateless**, so that no flood of requests can push anyone's session out:
 * - a sign-in form's cookie is a random nonce, and its CSRF token the nonce signed with a key
 *   kept in the store (HMAC-SHA-256), the same for every replica;
 * - a loopback browser while no tokens are configured gets a random id the same way, signed in.
 */
export class DashboardSessions {
  readonly #ttlMs: number
  readonly #store: ContainerStore
  #key: Promise<CryptoKey> | undefined

  constructor(options: DashboardSessionsOptions) {
    this.#ttlMs = options.ttlMs
    this.#store = options.store
  }

  /** The signing key, read from the store once (and again after a failed read). */
  #signingKey(): Promise<CryptoKey> {
    this.#key ??= this.#store.secret('dashboard-signing-key').then(
      (secret) =>
        crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
          'sign',
        ]),
      (err: unknown) => {
        this.#key = undefined
        throw err
      },
    )
    return this.#key
  }

  /** Sign in: a new session kept in the store. */
  async signIn(): Promise<DashboardSession> {
    const session: DashboardSession = {
      id: randomToken(),
      csrf: randomToken(),
      signedIn: true,
      expires: Date.now() + this.#ttlMs,
    }
    await this.#store.putSession(session.id, { csrf: session.csrf, expires: session.expires })
    return session
  }

  /** The live signed-in session with this id, if there is one. */
  async get(id: string | undefined): Promise<DashboardSession | undefined> {
    if (!id) return undefined
    const stored = await this.#store.getSession(id)
    if (!stored || stored.expires <= Date.now()) return undefined
    return { id, csrf: stored.csrf, signedIn: true, expires: stored.expires }
  }

  /**
   * A session kept nowhere: for a sign-in form (`signedIn: false`), or for a loopback browser
   * while no tokens are configured (`signedIn: true`). `id` is the browser's cookie, when it
   * holds one this gateway could have made; else a new one.
   */
  async stateless(id: string | undefined, signedIn: boolean): Promise<DashboardSession> {
    const nonce = isSessionCookie(id) ? id : randomToken()
    // The purpose is signed too: a sign-in form's token is no local session's, nor the reverse.
    const message = new TextEncoder().encode(`${signedIn ? 'local' : 'sign-in'}:${nonce}`)
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await this.#signingKey(), message))
    return {
      id: nonce,
      csrf: Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(''),
      signedIn,
      expires: Date.now() + (signedIn ? this.#ttlMs : Math.min(this.#ttlMs, SIGN_IN_TTL_MS)),
    }
  }

  /** End a signed-in session (sign-out), on every replica. */
  async end(id: string): Promise<void> {
    await this.#store.deleteSession(id)
  }

  /** Seconds a session lasts from now (for the cookie's `Max-Age`). */
  maxAgeSeconds(session: DashboardSession): number {
    return Math.max(0, Math.round((session.expires - Date.now()) / 1000))
  }
}
