import type { Backend, ContainerRecord } from '../backend.js'

/** How long a miss or a non-running container is remembered before asking the engine again. */
const SETTLING_TTL_MS = 1_000
/** Upper bound on remembered names, so requests for many random names cannot grow memory. */
const MAX_ENTRIES = 10_000

interface Entry {
  record: ContainerRecord | undefined
  /** `Infinity` for running containers: they stay until invalidated. */
  expiresAt: number
}

/**
 * Name → container lookups for the proxy. Running containers are cached until something
 * says they changed (a refused connection, a delete, a launch), so steady-state proxying
 * makes no engine call. Concurrent lookups of one name share a single engine call.
 */
export class RouteTable {
  readonly #backend: Backend
  readonly #entries = new Map<string, Entry>()
  readonly #pending = new Map<string, Promise<ContainerRecord | undefined>>()
  readonly #now: () => number

  constructor(backend: Backend, now: () => number = Date.now) {
    this.#backend = backend
    this.#now = now
  }

  /** The container for `name`, from cache when fresh. Engine errors propagate. */
  lookup(name: string): Promise<ContainerRecord | undefined> {
    const entry = this.#entries.get(name)
    if (entry && entry.expiresAt > this.#now()) return Promise.resolve(entry.record)
    return this.refresh(name)
  }

  /** The cached container for `name` while fresh, without asking the engine; `undefined` otherwise. */
  peek(name: string): ContainerRecord | undefined {
    const entry = this.#entries.get(name)
    return entry && entry.expiresAt > this.#now() ? entry.record : undefined
  }

  /** Ask the engine again, sharing one call between concurrent callers. */
  refresh(name: string): Promise<ContainerRecord | undefined> {
    const inFlight = this.#pending.get(name)
    if (inFlight) return inFlight
    const promise = this.#backend
      .inspect(name)
      .then((record) => {
        this.remember(name, record)
        return record
      })
      .finally(() => this.#pending.delete(name))
    this.#pending.set(name, promise)
    return promise
  }

  /** Store what is known about `name` (e.g. right after a launch). */
  remember(name: string, record: ContainerRecord | undefined): void {
    const stable = record?.state === 'running' && record.upstream !== undefined
    this.#entries.delete(name)
    if (this.#entries.size >= MAX_ENTRIES) {
      // Maps iterate in insertion order: drop the oldest entry; it is re-read on its next use.
      this.#entries.delete(this.#entries.keys().next().value!)
    }
    this.#entries.set(name, { record, expiresAt: stable ? Infinity : this.#now() + SETTLING_TTL_MS })
  }

  /** How many names are remembered. */
  get size(): number {
    return this.#entries.size
  }

  /** Forget everything (after an event gap or a rename). */
  clear(): void {
    this.#entries.clear()
  }

  /** Forget `name`; the next lookup asks the engine. */
  invalidate(name: string): void {
    this.#entries.delete(name)
  }
}
