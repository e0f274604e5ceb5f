import type { ContainerRecord } from '../backend.js'

/** Longest a listing is kept even when nothing said it changed: bounds what a lost event could hide. */
const MAX_AGE_MS = 30_000

/**
 * The engine's list of managed containers, kept between changes. While the gateway follows the
 * engine's events, a listing stays until an event or a change the gateway made says otherwise, so
 * listing hundreds of containers costs no engine call; without events every read asks the engine.
 * A read that a change overtook is never kept, and concurrent reads share one engine call.
 */
export class Listing {
  readonly #read: () => Promise<ContainerRecord[]>
  readonly #now: () => number
  #kept: { records: ContainerRecord[]; readAt: number } | undefined
  #pending: { promise: Promise<ContainerRecord[]>; generation: number } | undefined
  /** Bumped by every change: a read started before it is out of date. */
  #generation = 0
  #following = false

  /** @param read asks the engine for every managed container. */
  constructor(read: () => Promise<ContainerRecord[]>, now: () => number = Date.now) {
    this.#read = read
    this.#now = now
  }

  /** Every managed container: the kept listing while it holds, else a new one from the engine. */
  records(): Promise<ContainerRecord[]> {
    const kept = this.#kept
    if (kept && this.#following && this.#now() - kept.readAt < MAX_AGE_MS) return Promise.resolve([...kept.records])
    if (this.#pending?.generation === this.#generation) return this.#pending.promise.then((records) => [...records])
    const generation = this.#generation
    const readAt = this.#now()
    const promise = this.#read().finally(() => {
      if (this.#pending?.promise === promise) this.#pending = undefined
    })
    this.#pending = { promise, generation }
    return promise.then((records) => {
      if (generation === this.#generation && this.#following) this.#kept = { records, readAt }
      return [...records]
    })
  }

  /** Something changed: the next read asks the engine. */
  changed(): void {
    this.#generation++
    this.#kept = undefined
  }

  /**
   * Whether the engine's events are followed now. Only then is a listing kept: without them, a
   * change made by someone else would go unnoticed.
   */
  following(yes: boolean): void {
    this.#following = yes
    this.changed()
  }
}
