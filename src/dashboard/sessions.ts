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
  /** Most signed-in sessions kept (oldest dropped first; default 10,000). */
  maxSignedIn?: number
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
 * Dashboard sessions. Only a sign-in with an API token creates state on the server (kept in
 * memory: a gateway restart signs everyone out), with a new id, so that an id planted before
 * sign-in is worth nothing after. Everything an anonymous request gets is **stateless**, so that
 * no flood of requests can push anyone's session out:
 * - a sign-in form's cookie is a random nonce, and its CSRF token the nonce signed with a key of
 *   this gateway (HMAC-SHA-256);
 * - a loopback browser while no tokens are configured gets a random id the same way, signed in.
 */
export class DashboardSessions {
  readonly #signedIn = new Map<string, DashboardSession>()
  readonly #ttlMs: number
  readonly #maxSignedIn: number
  readonly #key: Promise<CryptoKey>

  constructor(options: DashboardSessionsOptions) {
    this.#ttlMs = options.ttlMs
    this.#maxSignedIn = options.maxSignedIn ?? 10_000
    this.#key = crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  }

  /** Sign in: a new session kept on the server (oldest dropped first past the bound). */
  signIn(): DashboardSession {
    const session: DashboardSession = {
      id: randomToken(),
      csrf: randomToken(),
      signedIn: true,
      expires: Date.now() + this.#ttlMs,
    }
    this.#signedIn.set(session.id, session)
    if (this.#signedIn.size > this.#maxSignedIn) this.#signedIn.delete(this.#signedIn.keys().next().value!)
    return session
  }

  /** The live signed-in session with this id, if there is one. */
  get(id: string | undefined): DashboardSession | undefined {
    if (!id) return undefined
    const session = this.#signedIn.get(id)
    if (!session) return undefined
    if (session.expires > Date.now()) return session
    this.#signedIn.delete(id)
    return undefined
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
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await this.#key, message))
    return {
      id: nonce,
      csrf: Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(''),
      signedIn,
      expires: Date.now() + (signedIn ? this.#ttlMs : Math.min(this.#ttlMs, SIGN_IN_TTL_MS)),
    }
  }

  /** End a signed-in session (sign-out). */
  end(id: string): void {
    this.#signedIn.delete(id)
  }

  /** Seconds a session lasts from now (for the cookie's `Max-Age`). */
  maxAgeSeconds(session: DashboardSession): number {
    return Math.max(0, Math.round((session.expires - Date.now()) / 1000))
  }
}
