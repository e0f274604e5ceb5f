/**
 * Runs tasks one at a time per key, in the order they were queued; tasks of different keys run
 * concurrently. A failed task does not stop the ones queued after it.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>()

  /** Run `task` once every earlier task of `key` has settled. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(task)
    this.#tails.set(key, next)
    void next
      .catch(() => {})
      .finally(() => {
        if (this.#tails.get(key) === next) this.#tails.delete(key)
      })
    return next
  }

  /** Settles once every task of `key` queued so far has settled. */
  async idle(key: string): Promise<void> {
    await this.#tails.get(key)?.catch(() => {})
  }
}
