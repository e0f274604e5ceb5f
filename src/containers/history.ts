import type { Logger } from '../logger.js'
import type { ContainerStore, HistoryEntry } from '../stores/store.js'

/** Options for {@link HistoryRecorder}. */
export interface HistoryRecorderOptions {
  store: ContainerStore
  logger: Logger
  /** Entries kept per container. */
  maxEntries: number
  /** How often buffered entries are written. */
  flushIntervalMs?: number
}

/** Buffered entries above which a flush starts at once, bounding memory under load. */
const FLUSH_THRESHOLD = 5_000

/**
 * Records every proxied request (time, method, path+query) per container, like the
 * original's historian — but buffered in memory and written off the request's hot path.
 */
/** A buffered entry; its time is formatted when written, off the request path. */
interface PendingEntry {
  at: number
  method: string
  path: string
}

export class HistoryRecorder {
  #pending = new Map<string, PendingEntry[]>()
  #pendingCount = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #flushing: Promise<void> = Promise.resolve()
  /** The store refused the last write: said once, until a write succeeds again. */
  #failing = false
  readonly #options: Required<HistoryRecorderOptions>

  constructor(options: HistoryRecorderOptions) {
    this.#options = { flushIntervalMs: 250, ...options }
  }

  /** Note one request; returns at once. */
  record(id: string, method: string, path: string, time?: Date): void {
    let list = this.#pending.get(id)
    if (!list) {
      list = []
      this.#pending.set(id, list)
    }
    list.push({ at: time ? time.getTime() : Date.now(), method, path })
    this.#pendingCount++
    // Never buffer much more than a container's history can hold: older entries are dropped
    // in bulk (amortised O(1) per request), the flush writes the newest `maxEntries`.
    const { maxEntries } = this.#options
    if (list.length >= 2 * maxEntries) list.splice(0, list.length - maxEntries)
    if (this.#pendingCount >= FLUSH_THRESHOLD) void this.flush()
    else if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.#options.flushIntervalMs)
      ;(this.#timer as { unref?: () => void }).unref?.()
    }
  }

  /** Write everything buffered so far. Failures are logged, never thrown at a request. */
  flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const batch = this.#pending
    this.#pending = new Map()
    this.#pendingCount = 0
    this.#flushing = this.#flushing.then(async () => {
      for (const [id, buffered] of batch) {
        const entries =
          buffered.length > this.#options.maxEntries ? buffered.slice(-this.#options.maxEntries) : buffered
        try {
          await this.#options.store.appendHistory(
            id,
            entries.map(({ at, method, path }): HistoryEntry => ({ time: new Date(at).toISOString(), method, path })),
          )
          if (this.#failing) this.#options.logger.info('history writes resumed')
          this.#failing = false
        } catch (err) {
          if (!this.#failing)
            this.#options.logger.error('history write failed; kept to retry', { id, error: String(err) })
          this.#failing = true
          // Kept for the next flush (ahead of what came meanwhile), within the same bound.
          const later = this.#pending.get(id) ?? []
          this.#pending.set(id, [...entries, ...later].slice(-2 * this.#options.maxEntries))
          this.#pendingCount += entries.length
          this.#timer ??= setTimeout(() => void this.flush(), Math.max(this.#options.flushIntervalMs, 1_000))
          ;(this.#timer as { unref?: () => void }).unref?.()
        }
      }
    })
    return this.#flushing
  }

  /** The container's history, oldest first, including entries not yet written. */
  async read(id: string): Promise<HistoryEntry[]> {
    await this.flush()
    return this.#options.store.readHistory(id, this.#options.maxEntries)
  }

  /** Delete a container's history (after any write in progress). */
  async remove(id: string): Promise<void> {
    this.#pending.delete(id)
    await this.#flushing
    await this.#options.store.remove(id)
  }
}
