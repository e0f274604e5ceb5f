import type { ContainerRecord } from '../backend.js'
import type { Logger } from '../logger.js'
import type { ContainerStore } from '../stores/store.js'

/** Options for {@link Activity}. */
export interface ActivityOptions {
  store: ContainerStore
  logger?: Logger
  now?: () => number
  /** How often activity is written to the store and read back from it (ms). */
  syncIntervalMs?: number
}

/**
 * When each container was last used. A request counts when it arrives and when its response
 * ends; a response or socket still open counts as activity for as long as it is open.
 *
 * Requests only touch memory. Every `syncIntervalMs` what changed (and every container with an
 * exchange still open, as active now) is written to the store in one call, and what every gateway
 * on the store wrote is read back in another: replicas see each other's activity within about two
 * intervals, and a restarted gateway finds it (or, from older data, in the history's last entry).
 */
export class Activity {
  readonly #last = new Map<string, number>()
  readonly #open = new Map<string, number>()
  /** Ids touched since the last sync. */
  readonly #dirty = new Set<string>()
  /** The latest times in the store, as of the last sync. */
  #stored = new Map<string, number>()
  /** When the store was last read (or tried), and the read in progress. */
  #readAt = -Infinity
  #reading: Promise<void> | undefined
  /** Last activity read from the history, for containers with none stored (data from before activity was). */
  readonly #fromHistory = new Map<string, number>()
  readonly #store: ContainerStore
  readonly #logger: Logger | undefined
  readonly #now: () => number
  readonly #intervalMs: number
  #timer: ReturnType<typeof setInterval> | undefined
  #syncing: Promise<void> = Promise.resolve()
  #failing = false

  constructor(options: ActivityOptions) {
    this.#store = options.store
    this.#logger = options.logger
    this.#now = options.now ?? Date.now
    this.#intervalMs = options.syncIntervalMs ?? 1_000
  }

  /** Record activity now. */
  touch(id: string): void {
    this.#last.set(id, this.#now())
    this.#dirty.add(id)
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.sync(), this.#intervalMs)
      ;(this.#timer as { unref?: () => void }).unref?.()
    }
  }

  /** Mark a long-lived exchange open; call the returned function once when it ends. */
  hold(id: string): () => void {
    this.touch(id)
    this.#open.set(id, (this.#open.get(id) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const left = (this.#open.get(id) ?? 1) - 1
      if (left > 0) this.#open.set(id, left)
      else this.#open.delete(id)
      this.touch(id)
    }
  }

  /** Exchanges currently open for a container, on this gateway. */
  openCount(id: string): number {
    return this.#open.get(id) ?? 0
  }

  /**
   * Write what changed here, then read what every gateway wrote. Never rejects: while the store
   * is away, activity stays in memory and is written once it is back.
   */
  sync(): Promise<void> {
    this.#syncing = this.#syncing.then(async () => {
      const now = this.#now()
      const times = new Map<string, number>()
      for (const id of this.#dirty) times.set(id, this.#last.get(id) ?? now)
      // An open exchange is activity now, whichever gateway reaps.
      for (const id of this.#open.keys()) times.set(id, now)
      this.#dirty.clear()
      this.#readAt = now
      try {
        // A quiet second writes nothing (a file store would rewrite its file for nothing).
        if (times.size > 0) await this.#store.writeActivity(times)
        this.#stored = await this.#store.readActivity()
        if (this.#failing) this.#logger?.info('activity is written to the store again')
        this.#failing = false
      } catch (err) {
        // Kept, to be written by a later sync.
        for (const id of times.keys()) if (this.#last.has(id)) this.#dirty.add(id)
        if (!this.#failing) this.#logger?.warn('activity could not be written to the store', { error: String(err) })
        this.#failing = true
      }
    })
    return this.#syncing
  }

  /**
   * Last activity in epoch ms: now while an exchange is open here, else the latest of the last
   * request here, the last activity any gateway stored, and the container's (re)start.
   */
  async lastActivity(record: ContainerRecord): Promise<number> {
    if (this.openCount(record.id) > 0) return this.#now()
    // What other gateways wrote is read at most once an interval, in one call for every container.
    if (this.#now() - this.#readAt >= this.#intervalMs)
      this.#reading ??= this.sync().finally(() => (this.#reading = undefined))
    await this.#reading
    const stored = this.#stored.get(record.id) ?? (await this.#historyTime(record.id))
    const started = Date.parse(record.startedAt ?? record.createdAt) || 0
    return Math.max(this.#last.get(record.id) ?? 0, stored, started)
  }

  /** The time of the history's last entry, read once per container (0 without one). */
  async #historyTime(id: string): Promise<number> {
    const known = this.#fromHistory.get(id)
    if (known !== undefined) return known
    // A failed read is tried again next time.
    const entries = await this.#store.readHistory(id, 1).catch(() => undefined)
    const time = Date.parse(entries?.[0]?.time ?? '') || 0
    if (entries) this.#fromHistory.set(id, time)
    return time
  }

  /** Forget a removed container. */
  forget(id: string): void {
    this.#last.delete(id)
    this.#open.delete(id)
    this.#dirty.delete(id)
    this.#stored.delete(id)
    this.#fromHistory.delete(id)
  }

  /** Stop syncing, after writing what is left. */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.sync()
  }
}
