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

/** The persistence contract. */
export interface ContainerStore {
  /** Append entries; the store may drop the oldest to stay within its bound. */
  appendHistory(id: string, entries: HistoryEntry[]): Promise<void>
  /** The last `limit` entries, oldest first. */
  readHistory(id: string, limit: number): Promise<HistoryEntry[]>
  readMeta(id: string): Promise<ContainerMeta>
  /** Merge `meta` into what is stored. */
  writeMeta(id: string, meta: ContainerMeta): Promise<void>
  /** Forget everything about `id`. */
  remove(id: string): Promise<void>
  /** Every id with stored state (to clean up after containers removed behind the gateway's back). */
  ids?(): Promise<string[]>
}

/** A store in memory: for tests and for gateways that need nothing to survive a restart. */
export function memoryStore(maxEntries = 1_000): ContainerStore {
  const history = new Map<string, HistoryEntry[]>()
  const meta = new Map<string, ContainerMeta>()
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
    async remove(id) {
      history.delete(id)
      meta.delete(id)
    },
    async ids() {
      return [...new Set([...history.keys(), ...meta.keys()])]
    },
  }
}
