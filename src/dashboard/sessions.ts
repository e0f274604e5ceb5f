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
  /** Most sessions kept for sign-in forms not yet sent (default 1,000; they last at most an hour). */
  maxPending?: number
}

/**
 * Dashboard sessions, in memory: a gateway restart signs everyone out. A sign-in form gets a
 * pending session (for its CSRF token); signing in replaces it with a new one, so a session id
 * planted before sign-in is worth nothing after. Pending and signed-in sessions are bounded
 * separately: a flood of sign-in forms never pushes out anyone who is signed in.
 */
export class DashboardSessions {
  readonly #signedIn = new Map<string, DashboardSession>()
  readonly #pending = new Map<string, DashboardSession>()
  readonly #ttlMs: number
  readonly #maxSignedIn: number
  readonly #maxPending: number

  constructor(options: DashboardSessionsOptions) {
    this.#ttlMs = options.ttlMs
    this.#maxSignedIn = options.maxSignedIn ?? 10_000
    this.#maxPending = options.maxPending ?? 1_000
  }

  /** Start a session: signed in, or pending until a sign-in. */
  create(signedIn: boolean): DashboardSession {
    const map = signedIn ? this.#signedIn : this.#pending
    const session: DashboardSession = {
      id: randomToken(),
      csrf: randomToken(),
      signedIn,
      expires: Date.now() + (signedIn ? this.#ttlMs : Math.min(this.#ttlMs, 3_600_000)),
    }
    map.set(session.id, session)
    if (map.size > (signedIn ? this.#maxSignedIn : this.#maxPending)) map.delete(map.keys().next().value!)
    return session
  }

  /** The live session with this id, if there is one. */
  get(id: string | undefined): DashboardSession | undefined {
    if (!id) return undefined
    for (const map of [this.#signedIn, this.#pending]) {
      const session = map.get(id)
      if (!session) continue
      if (session.expires > Date.now()) return session
      map.delete(id)
    }
    return undefined
  }

  /** End a session (sign-out, or a pending one spent by signing in). */
  end(id: string): void {
    this.#signedIn.delete(id)
    this.#pending.delete(id)
  }

  /** Seconds a new session of this kind lasts (for the cookie's `Max-Age`). */
  maxAgeSeconds(session: DashboardSession): number {
    return Math.max(0, Math.round((session.expires - Date.now()) / 1000))
  }
}
