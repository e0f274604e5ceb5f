/** Told that something about the gateway's containers changed. */
export type ChangeListener = () => void

/**
 * Tells listeners when the gateway's view of its containers changes: a launch, a removal, a
 * stop or wake, a readiness change, or an engine event. Listeners re-read what they show; the
 * feed carries no state, so a listener that misses nothing needs no replay.
 */
export class ChangeFeed {
  readonly #listeners = new Set<ChangeListener>()

  /** Listen until the returned function is called. */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Tell every listener; a listener that throws never stops the others. */
  notify(): void {
    for (const listener of this.#listeners) {
      try {
        listener()
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}
