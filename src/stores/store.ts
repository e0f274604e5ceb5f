/**
 * Where the gateway keeps per-container state that must survive a restart: the access history
 * and a few flags. Keyed by container id, so a re-created container starts clean.
 * The core ships an in-memory store; `./stores/file.ts` persists to a data directory.
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
}

/** A store in memory: for tests and for gateways that need nothing to survive a restart. */
export function memoryStore(maxEntries = 1_000): ContainerStore {
  const history = new Map<string, HistoryEntry[]>()
  const meta = new Map<string, ContainerMeta>()
  let engineRun: EngineRunRecord | undefined
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
    },
    async ids() {
      return [...new Set([...history.keys(), ...meta.keys()])]
    },
    async readEngineRun() {
      return engineRun && { ...engineRun }
    },
    async writeEngineRun(run) {
      engineRun = { ...run }
    },
  }
}
