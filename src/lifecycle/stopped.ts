import type { ContainerStore } from '../store.js'

/**
 * Which containers the gateway stopped itself (scale to zero), so that their next request wakes
 * them. Kept in the store to survive a restart, and read from it once per container.
 */
export class StoppedByGateway {
  readonly #stopped = new Set<string>()
  readonly #loaded = new Set<string>()
  readonly #store: ContainerStore

  constructor(store: ContainerStore) {
    this.#store = store
  }

  /** Whether the gateway stopped this container. */
  async has(id: string): Promise<boolean> {
    if (!this.#loaded.has(id)) {
      this.#loaded.add(id)
      if ((await this.#store.readMeta(id)).stoppedByGateway) this.#stopped.add(id)
    }
    return this.#stopped.has(id)
  }

  /** Remember, durably, that the gateway is stopping this container. */
  async mark(id: string): Promise<void> {
    await this.#store.writeMeta(id, { stoppedByGateway: true })
    this.#stopped.add(id)
    this.#loaded.add(id)
  }

  /** The container runs again. */
  async unmark(id: string): Promise<void> {
    this.#stopped.delete(id)
    await this.#store.writeMeta(id, { stoppedByGateway: false })
  }

  /** Drop what is cached about a container that is gone. */
  forget(id: string): void {
    this.#stopped.delete(id)
    this.#loaded.delete(id)
  }
}
