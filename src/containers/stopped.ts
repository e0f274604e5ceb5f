import type { ContainerStore } from '../stores/store.js'

/**
 * Which containers the gateway stopped itself (scale to zero), so that their next request wakes
 * them. Kept in the store to survive a restart, and read from it once per container.
 */
export class StoppedByGateway {
  readonly #stopped = new Set<string>()
  /** Ids read from the store, or being read: concurrent first callers share one read. */
  readonly #loaded = new Map<string, Promise<void>>()
  readonly #store: ContainerStore

  constructor(store: ContainerStore) {
    this.#store = store
  }

  /** Whether the gateway stopped this container. */
  async has(id: string): Promise<boolean> {
    let loading = this.#loaded.get(id)
    if (!loading) {
      loading = this.#store.readMeta(id).then((meta) => {
        if (meta.stoppedByGateway && this.#loaded.get(id) === loading) this.#stopped.add(id)
      })
      this.#loaded.set(id, loading)
      // A failed read is tried again by the next caller.
      loading.catch(() => {
        if (this.#loaded.get(id) === loading) this.#loaded.delete(id)
      })
    }
    await loading
    return this.#stopped.has(id)
  }

  /** Remember, durably, that the gateway is stopping this container. */
  async mark(id: string): Promise<void> {
    await this.#store.writeMeta(id, { stoppedByGateway: true })
    this.#stopped.add(id)
    this.#loaded.set(id, Promise.resolve())
  }

  /** The container runs again. */
  async unmark(id: string): Promise<void> {
    this.#stopped.delete(id)
    this.#loaded.set(id, Promise.resolve())
    await this.#store.writeMeta(id, { stoppedByGateway: false })
  }

  /** Drop what is cached about a container that is gone. */
  forget(id: string): void {
    this.#stopped.delete(id)
    this.#loaded.delete(id)
  }
}
