import type { ContainerStore } from '../stores/store.js'
import { hashSecret, randomToken, sameHash, sameSecret } from '../util/secrets.js'

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

  /**
   * Create a one-time token for a container: at its launch, or later to replace a link that was
   * lost or a cookie that was. Any earlier unused link stops working; the current session keeps
   * working until the new link is used.
   */
  async issue(id: string): Promise<string> {
    const token = randomToken()
    const oneTimeHash = await hashSecret(token)
    await this.#store.updateMeta(id, (meta) => ({ ...meta, access: { ...meta.access, oneTimeHash } }))
    return token
  }

  /**
   * Exchange a one-time token for a session secret; `undefined` if it is wrong or already used.
   * Checked and spent in one store update: of many visitors racing with the same link, exactly
   * one gets a session.
   */
  async redeem(id: string, token: string): Promise<string | undefined> {
    const presented = await hashSecret(token)
    const session = randomToken()
    const sessionHash = await hashSecret(session)
    let redeemed = false
    await this.#store.updateMeta(id, (meta) => {
      // Run again after a conflict with another gateway: only the last run decides.
      redeemed = false
      const oneTimeHash = meta.access?.oneTimeHash
      if (!oneTimeHash || !sameHash(presented, oneTimeHash)) return meta
      redeemed = true
      // The one-time token is spent; a new session replaces any earlier one.
      return { ...meta, access: { sessionHash } }
    })
    if (!redeemed) return undefined
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
