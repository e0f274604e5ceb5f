import { randomToken } from '../util/secrets.js'
import { localLeases } from './local-leases.js'

/**
 * Where the gateway keeps the state that must survive a restart, or be shared by several
 * gateways: per-container history, activity and flags (keyed by container id, so a re-created
 * container starts clean), dashboard sessions, shared secrets and leases.
 * The core ships an in-memory store; `./file.ts` persists to a data directory for one gateway,
 * `./redis.ts` shares state between replicas.
 */

/** One proxied request, as the history keeps it. */
export interface HistoryEntry {
  /** ISO 8601 UTC. */
  time: string
  method: string
  /** Path and query under the container's prefix, e.g. `/view?x=1`. */
  path: string
}

/** Small per-container facts. */
export interface ContainerMeta {
  /** The gateway stopped it (scale to zero); the next request wakes it. */
  stoppedByGateway?: boolean
  /** The launch input served at its input URL, with the token that unlocks it. */
  input?: { json: string; token: string }
  /** Hashes of the access secrets of an `access: "token"` container. */
  access?: { oneTimeHash?: string; sessionHash?: string }
}

/**
 * What the gateway remembers of its engine's latest run, so that a restarted gateway can still
 * tell containers the engine's shutdown stopped from ones that ended long before (times in ms
 * since the epoch, by the engine's clock).
 */
export interface EngineRunRecord {
  /** When the run started. */
  startedAt: number
  /** The last time the gateway heard from it. */
  seenAt: number
}

/** A signed-in dashboard session, as a store keeps it (its id is the key). */
export interface StoredSession {
  /** The token its state-changing requests carry. */
  csrf: string
  /** When it ends (ms since the epoch); a store forgets it then. */
  expires: number
}

/** The persistence contract. */
export interface ContainerStore {
  /** Append entries; the store may drop the oldest to stay within its bound. */
  appendHistory(id: string, entries: HistoryEntry[]): Promise<void>
  /** The last `limit` entries, oldest first. */
  readHistory(id: string, limit: number): Promise<HistoryEntry[]>
  readMeta(id: string): Promise<ContainerMeta>
  /** Merge `meta` into what is stored (one {@link updateMeta} step). */
  writeMeta(id: string, meta: ContainerMeta): Promise<void>
  /**
   * Replace what is stored with `change(current)`, as one step: updates of one id never
   * interleave, so none is lost, and a check-then-spend (a one-time link) succeeds once.
   * `change` returns its argument itself to leave things as they are. Resolves what is stored.
   * A shared store may call `change` again after a conflict with another writer: only its last
   * call counts, so anything it notes outside must be set afresh on every call.
   */
  updateMeta(id: string, change: (current: ContainerMeta) => ContainerMeta): Promise<ContainerMeta>
  /** Forget everything about `id`. */
  remove(id: string): Promise<void>
  /** Every id with stored state (to clean up after containers removed behind the gateway's back). */
  ids?(): Promise<string[]>
  /** The engine run last seen, if one was recorded. */
  readEngineRun?(): Promise<EngineRunRecord | undefined>
  /** Record the engine run last seen. */
  writeEngineRun?(run: EngineRunRecord): Promise<void>
  /**
   * Record when containers were last active (ms since the epoch). A store keeps, per id, the
   * latest time any writer gave it, so gateways that share it never move a time back.
   */
  writeActivity(times: ReadonlyMap<string, number>): Promise<void>
  /** Every recorded last activity, by id. */
  readActivity(): Promise<Map<string, number>>
  /** Keep a signed-in dashboard session until it expires. */
  putSession(id: string, session: StoredSession): Promise<void>
  /** A session kept and not yet expired. */
  getSession(id: string): Promise<StoredSession | undefined>
  deleteSession(id: string): Promise<void>
  /**
   * A random secret, made the first time `name` is asked for and the same afterwards, for every
   * gateway on this store (e.g. the key that signs the dashboard's sign-in forms).
   */
  secret(name: string): Promise<string>
  /**
   * Take or renew the lease `name` for `holder`, for `ttlMs`. Resolves the lease's fencing number
   * while `holder` holds it (a new holder always gets a larger one), `undefined` while another does.
   */
  lease(name: string, holder: string, ttlMs: number): Promise<number | undefined>
  /** Give the lease up, if `holder` holds it. */
  releaseLease(name: string, holder: string): Promise<void>
  /**
   * Shared with other gateways: they change state behind this one's back. Such a store tells of
   * their metadata changes through {@link watch}.
   */
  readonly shared?: boolean
  /** Be told, until the returned function is called, of each id whose metadata another gateway changed or removed. */
  watch?(onChange: (id: string) => void): () => void
  /** Resolves while the store answers; rejects with the reason when it does not. */
  ping?(): Promise<void>
  /** Release connections (after the gateway's last write). */
  close?(): Promise<void>
}

/** Whether a store answers within `ms` (a store without `ping` always does). Never rejects. */
export function answersWithin(store: ContainerStore, ms: number): Promise<boolean> {
  if (!store.ping) return Promise.resolve(true)
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    store.ping().then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** Most dashboard sessions an in-process store keeps (oldest dropped first). */
export const MAX_LOCAL_SESSIONS = 10_000

/** Sessions kept in memory, bounded, for the stores of one process. */
export function localSessions(max = MAX_LOCAL_SESSIONS) {
  const sessions = new Map<string, StoredSession>()
  return {
    entries: sessions,
    put(id: string, session: StoredSession) {
      sessions.delete(id)
      sessions.set(id, { ...session })
      if (sessions.size > max) sessions.delete(sessions.keys().next().value!)
    },
    get(id: string): StoredSession | undefined {
      const session = sessions.get(id)
      if (!session) return undefined
      if (session.expires > Date.now()) return { ...session }
      sessions.delete(id)
      return undefined
    },
    delete(id: string) {
      return sessions.delete(id)
    },
  }
}

/** Keep the later time per id. */
export function mergeActivity(into: Map<string, number>, times: ReadonlyMap<string, number>): void {
  for (const [id, at] of times) if (at > (into.get(id) ?? -Infinity)) into.set(id, at)
}

/** A store in memory: for tests and for gateways that need nothing to survive a restart. */
export function memoryStore(maxEntries = 1_000): ContainerStore {
  const history = new Map<string, HistoryEntry[]>()
  const meta = new Map<string, ContainerMeta>()
  let engineRun: EngineRunRecord | undefined
  const activity = new Map<string, number>()
  const sessions = localSessions()
  const secrets = new Map<string, string>()
  const leases = localLeases()
  return {
    async appendHistory(id, entries) {
      const list = history.get(id) ?? []
      list.push(...entries)
      history.set(id, list.length > maxEntries ? list.slice(-maxEntries) : list)
    },
    async readHistory(id, limit) {
      return (history.get(id) ?? []).slice(-limit)
    },
    async readMeta(id) {
      return { ...meta.get(id) }
    },
    async writeMeta(id, value) {
      meta.set(id, { ...meta.get(id), ...value })
    },
    // Synchronous between reading and writing: nothing can interleave.
    async updateMeta(id, change) {
      const current = { ...meta.get(id) }
      const next = change(current)
      if (next !== current) meta.set(id, next)
      return { ...next }
    },
    async remove(id) {
      history.delete(id)
      meta.delete(id)
      activity.delete(id)
    },
    async ids() {
      return [...new Set([...history.keys(), ...meta.keys(), ...activity.keys()])]
    },
    async readEngineRun() {
      return engineRun && { ...engineRun }
    },
    async writeEngineRun(run) {
      engineRun = { ...run }
    },
    async writeActivity(times) {
      mergeActivity(activity, times)
    },
    async readActivity() {
      return new Map(activity)
    },
    async putSession(id, session) {
      sessions.put(id, session)
    },
    async getSession(id) {
      return sessions.get(id)
    },
    async deleteSession(id) {
      sessions.delete(id)
    },
    async secret(name) {
      if (!secrets.has(name)) secrets.set(name, randomToken())
      return secrets.get(name)!
    },
    async lease(name, holder, ttlMs) {
      return leases.lease(name, holder, ttlMs)
    },
    async releaseLease(name, holder) {
      leases.release(name, holder)
    },
  }
}
