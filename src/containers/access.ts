import type { ContainerStore } from '../stores/store.js'
import { hashSecret, randomToken, sameSecret } from '../util/secrets.js'

/** The query parameter that carries a one-time access token. */
export const ACCESS_PARAM = 'hde_access'
/** Prefix of the per-container session cookie (`hde_access_<name>`). */
export const ACCESS_COOKIE_PREFIX = 'hde_access_'

/**
 * Per-container access for `access: "token"` containers. A launch gets a one-time token; the
 * first request that carries it is exchanged for a session secret in an HttpOnly cookie scoped
 * to the container. Only hashes are stored (in the container store, cached in memory), so
 * neither secret can be read back, and the hot path does no I/O after the first request.
 */
export class AccessControl {
  readonly #store: ContainerStore
  readonly #sessions = new Map<string, string | null>()

  constructor(store: ContainerStore) {
    this.#store = store
  }

  /** Create the one-time token for a newly launched container. */
  async issue(id: string): Promise<string> {
    const token = randomToken()
    await this.#store.writeMeta(id, { access: { oneTimeHash: await hashSecret(token) } })
    return token
  }

  /** Exchange a one-time token for a session secret; `undefined` if it is wrong or already used. */
  async redeem(id: string, token: string): Promise<string | undefined> {
    const stored = (await this.#store.readMeta(id)).access
    if (!stored?.oneTimeHash || !(await sameSecret(await hashSecret(token), stored.oneTimeHash))) return undefined
    const session = randomToken()
    const sessionHash = await hashSecret(session)
    // The one-time token is spent; a new session replaces any earlier one.
    await this.#store.writeMeta(id, { access: { sessionHash } })
    this.#sessions.set(id, sessionHash)
    return session
  }

  /** Whether a cookie value is the container's session secret. */
  async check(id: string, session: string): Promise<boolean> {
    let expected = this.#sessions.get(id)
    if (expected === undefined) {
      expected = (await this.#store.readMeta(id)).access?.sessionHash ?? null
      this.#sessions.set(id, expected)
    }
    return expected !== null && (await sameSecret(await hashSecret(session), expected))
  }

  /** Forget a removed container. */
  forget(id: string): void {
    this.#sessions.delete(id)
  }
}
