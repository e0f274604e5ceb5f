import type { ContainerRecord } from '../backend.js'
import type { ContainerStore } from '../stores/store.js'

/**
 * When each container was last used. A request counts when it arrives and when its response
 * ends; a response or socket still open counts as activity for as long as it is open.
 * After a restart the last recorded request is read back from the history.
 */
export class Activity {
  readonly #last = new Map<string, number>()
  readonly #open = new Map<string, number>()
  readonly #loaded = new Set<string>()
  readonly #store: ContainerStore
  readonly #now: () => number

  constructor(store: ContainerStore, now: () => number = Date.now) {
    this.#store = store
    this.#now = now
  }

  /** Record activity now. */
  touch(id: string): void {
    this.#last.set(id, this.#now())
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

  /** Exchanges currently open for a container. */
  openCount(id: string): number {
    return this.#open.get(id) ?? 0
  }

  /**
   * Last activity in epoch ms: now while an exchange is open, else the latest of the last
   * request, the persisted last activity, and the container's (re)start.
   */
  async lastActivity(record: ContainerRecord): Promise<number> {
    if (this.openCount(record.id) > 0) return this.#now()
    if (!this.#loaded.has(record.id)) {
      this.#loaded.add(record.id)
      // The history's last entry is the last activity that survived a restart.
      const persisted = Date.parse((await this.#store.readHistory(record.id, 1))[0]?.time ?? '')
      if (persisted > (this.#last.get(record.id) ?? 0)) this.#last.set(record.id, persisted)
    }
    const started = Date.parse(record.startedAt ?? record.createdAt) || 0
    return Math.max(this.#last.get(record.id) ?? 0, started)
  }

  /** Forget a removed container. */
  forget(id: string): void {
    this.#last.delete(id)
    this.#open.delete(id)
    this.#loaded.delete(id)
  }
}
