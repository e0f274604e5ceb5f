import type { ContainerRecord } from '../backend.js'
import type { UpstreamFetch } from '../proxy/upstream.js'
import { sleep } from '../util/sleep.js'

/** A probe's outcome when the container's port refused (or dropped) the connection. */
export const CONNECTION_FAILED = 'the connection failed'

/** Options for {@link Readiness}. */
export interface ReadinessOptions {
  /** Client used to probe the container. */
  fetch: UpstreamFetch
  /** Give up after this long: the container is `failed` with a reason. */
  startTimeoutMs?: number
  /** Per-probe timeout. */
  probeTimeoutMs?: number
  /** Default readiness path for containers launched without one. */
  defaultPath?: string
  /** Called once when a container becomes ready. */
  onReady?: (id: string) => void
  /** Called whenever a container's readiness status changes (ready, failed, unreachable, reset). */
  onChange?: (id: string) => void
}

/** Container status as the API reports it. */
export type ContainerStatus = 'starting' | 'ready' | 'unreachable' | 'stopped' | 'exited' | 'failed'

/** The longest pause between checks of a container whose port stopped answering. */
const MAX_RECHECK_DELAY_MS = 10_000

/**
 * How long a ready container's port must keep failing before it counts as `unreachable`: an app
 * that is being stopped closes its port a moment before its engine reports it exited.
 */
const UNREACHABLE_AFTER_MS = 2_000

/** The pause between checks while it is not yet `unreachable`. */
const CONFIRM_DELAY_MS = 250

interface Waiter {
  resolve: (ready: boolean) => void
}

/**
 * Tracks which containers are ready. Started is not ready: a container is `ready` once its port
 * answers HTTP (any status) — or, when it has a readiness path, once that path answers 2xx/3xx.
 * Probing backs off up to one second and stops at the start timeout, after which the container
 * is `failed` with a reason instead of "starting" forever. A ready container whose port then
 * refuses a connection is checked again at once, and then every 250 ms; if it still does not
 * answer after 2 s, it is `unreachable` and checked with backoff (up to every 10 s) until it
 * answers and is `ready` again. Keyed by container id.
 */
export class Readiness {
  readonly #ready = new Set<string>()
  readonly #failed = new Map<string, string>()
  readonly #unreachable = new Map<string, string>()
  readonly #probing = new Map<string, AbortController>()
  /** Containers whose start probe has not been answered yet: since when, and why not at the last try. */
  readonly #waiting = new Map<string, { since: number; last: string }>()
  /** Checks of ready containers whose port refused a connection: whether the first check answered. */
  readonly #rechecks = new Map<string, { controller: AbortController; answered: Promise<boolean> }>()
  readonly #waiters = new Map<string, Set<Waiter>>()
  readonly #options: Required<Omit<ReadinessOptions, 'defaultPath' | 'onReady' | 'onChange'>> &
    Pick<ReadinessOptions, 'defaultPath' | 'onReady' | 'onChange'>

  constructor(options: ReadinessOptions) {
    this.#options = { startTimeoutMs: 60_000, probeTimeoutMs: 2_000, ...options }
  }

  /** The API status for a running record (`stopped`/`exited` are decided by the caller). */
  runningStatus(id: string): 'starting' | 'ready' | 'unreachable' | 'failed' {
    if (this.#ready.has(id)) return 'ready'
    if (this.#unreachable.has(id)) return 'unreachable'
    return this.#failed.has(id) ? 'failed' : 'starting'
  }

  /** Why a container that was ready is `unreachable`, if it is. */
  unreachable(id: string): string | undefined {
    return this.#unreachable.get(id)
  }

  /** Whether a ready container's port refused a connection and is being checked (not yet `unreachable`). */
  checking(id: string): boolean {
    return this.#rechecks.has(id) && this.#ready.has(id)
  }

  /**
   * The port of a container refused or dropped a proxied connection. A ready (or unreachable)
   * container is checked at once; resolves whether it answered. One that is still starting is
   * left to its readiness probe (resolves `false`).
   */
  recheck(record: ContainerRecord): Promise<boolean> {
    const { id, upstream } = record
    const running = this.#rechecks.get(id)
    if (running) return running.answered
    if (!upstream || (!this.#ready.has(id) && !this.#unreachable.has(id))) return Promise.resolve(false)
    const controller = new AbortController()
    let answered!: (value: boolean) => void
    const entry = { controller, answered: new Promise<boolean>((resolve) => (answered = resolve)) }
    this.#rechecks.set(id, entry)
    const path = record.readinessPath ?? this.#options.defaultPath
    void this.#recheck(id, upstream, path, controller.signal, answered).finally(() => {
      if (this.#rechecks.get(id) === entry) this.#rechecks.delete(id)
      answered(false)
    })
    return entry.answered
  }

  isReady(id: string): boolean {
    return this.#ready.has(id)
  }

  /** For a container still starting whose probe has failed so far: since when, and the last reason. */
  waiting(id: string): { since: number; last: string } | undefined {
    return this.#waiting.get(id)
  }

  /** Why a container failed to become ready, if it did. */
  failure(id: string): string | undefined {
    return this.#failed.get(id)
  }

  /** Whether a proxied response proves readiness (only without a readiness path). */
  provenByAnyResponse(record: ContainerRecord): boolean {
    return !(record.readinessPath ?? this.#options.defaultPath)
  }

  /** Record that the container is ready. */
  markReady(id: string): void {
    if (this.#ready.has(id)) return
    this.#waiting.delete(id)
    this.#ready.add(id)
    this.#options.onReady?.(id)
    this.#failed.delete(id)
    this.#unreachable.delete(id)
    this.#probing.get(id)?.abort()
    // Proven ready: a check of its port that is still going on is over (a new refusal starts another).
    this.#rechecks.get(id)?.controller.abort()
    this.#rechecks.delete(id)
    this.#settle(id, true)
    this.#options.onChange?.(id)
  }

  /** Forget what is known (the container stopped, restarted, or was removed). */
  reset(id: string): void {
    this.#ready.delete(id)
    this.#waiting.delete(id)
    this.#failed.delete(id)
    this.#unreachable.delete(id)
    // The old probes are cancelled and forgotten at once, so that a watch right after starts anew.
    this.#probing.get(id)?.abort()
    this.#probing.delete(id)
    this.#rechecks.get(id)?.controller.abort()
    this.#rechecks.delete(id)
    this.#settle(id, false)
    this.#options.onChange?.(id)
  }

  /**
   * Probe a running container in the background until it is ready or the start timeout
   * passes. Does nothing when it is ready, failed, or already being probed.
   */
  watch(record: ContainerRecord): void {
    const { id, upstream } = record
    if (
      record.state !== 'running' ||
      !upstream ||
      this.#ready.has(id) ||
      this.#failed.has(id) ||
      this.#unreachable.has(id) ||
      this.#probing.has(id)
    )
      return
    const controller = new AbortController()
    this.#probing.set(id, controller)
    const path = record.readinessPath ?? this.#options.defaultPath
    void this.#probe(id, upstream, path, controller.signal).finally(() => {
      if (this.#probing.get(id) === controller) this.#probing.delete(id)
    })
  }

  /** Resolves `true` once ready, `false` when it fails, resets, or `timeoutMs` passes. */
  whenReady(id: string, timeoutMs: number): Promise<boolean> {
    if (this.#ready.has(id)) return Promise.resolve(true)
    if (this.#failed.has(id)) return Promise.resolve(false)
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(id) ?? new Set<Waiter>()
      this.#waiters.set(id, waiters)
      const waiter: Waiter = {
        resolve: (ready) => {
          clearTimeout(timer)
          waiters.delete(waiter)
          resolve(ready)
        },
      }
      const timer = setTimeout(() => waiter.resolve(false), timeoutMs)
      waiters.add(waiter)
    })
  }

  /** Stop all background probes. */
  close(): void {
    for (const controller of this.#probing.values()) controller.abort()
    for (const { controller } of this.#rechecks.values()) controller.abort()
  }

  #settle(id: string, ready: boolean): void {
    const waiters = this.#waiters.get(id)
    if (!waiters) return
    this.#waiters.delete(id)
    for (const waiter of [...waiters]) waiter.resolve(ready)
  }

  async #probe(id: string, upstream: string, path: string | undefined, signal: AbortSignal): Promise<void> {
    const started = Date.now()
    const deadline = started + this.#options.startTimeoutMs
    let delay = 50
    let last = 'its port never answered'
    while (!signal.aborted && Date.now() < deadline) {
      const outcome = await this.#attempt(upstream, path, signal)
      // An answer that arrives after a reset speaks for the container as it was.
      if (signal.aborted) return
      if (outcome === true) {
        this.#waiting.delete(id)
        this.markReady(id)
        return
      }
      last = outcome
      this.#waiting.set(id, { since: started, last })
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())), signal)
      delay = Math.min(delay * 2, 1_000)
    }
    this.#waiting.delete(id)
    if (signal.aborted) return
    this.#failed.set(id, `not ready within ${Math.round(this.#options.startTimeoutMs / 1000)} s: ${last}`)
    this.#settle(id, false)
    this.#options.onChange?.(id)
  }

  /**
   * Check a container that was ready until it answers: for 2 s it is still `ready` (and being
   * checked), then `unreachable` until it answers.
   */
  async #recheck(
    id: string,
    upstream: string,
    path: string | undefined,
    signal: AbortSignal,
    answered: (value: boolean) => void,
  ): Promise<void> {
    const firstFailure = Date.now()
    let delay = CONFIRM_DELAY_MS
    for (let first = true; !signal.aborted; first = false) {
      const outcome = await this.#attempt(upstream, path, signal)
      if (signal.aborted) return
      if (outcome === true) {
        this.#unreachable.delete(id)
        this.#ready.delete(id) // so that it counts as becoming ready again, below
        this.markReady(id)
        answered(true)
        return
      }
      if (first) answered(false)
      if (!this.#unreachable.has(id) && Date.now() - firstFailure >= UNREACHABLE_AFTER_MS) {
        this.#ready.delete(id)
        this.#unreachable.set(id, `its port stopped answering (${outcome}); checked again until it does`)
        this.#options.onChange?.(id)
      }
      await sleep(delay, signal)
      if (this.#unreachable.has(id)) delay = Math.min(Math.max(delay * 2, 500), MAX_RECHECK_DELAY_MS)
    }
  }

  /** One probe: `true` when the container counts as ready, else why not. */
  async #attempt(upstream: string, path: string | undefined, signal: AbortSignal): Promise<true | string> {
    const attempt = AbortSignal.any([signal, AbortSignal.timeout(this.#options.probeTimeoutMs)])
    try {
      const response = await this.#options.fetch(probeUrl(upstream, path ?? '/'), {
        method: 'GET',
        headers: new Headers(),
        body: null,
        signal: attempt,
      })
      await response.body?.cancel().catch(() => {})
      if (!path || (response.status >= 200 && response.status < 400)) return true
      return `${path} answered ${response.status}`
    } catch {
      return attempt.aborted ? 'no answer in time' : CONNECTION_FAILED
    }
  }
}

/**
 * The URL of a readiness probe: the container's own origin with `path` as its path and query,
 * set through the URL API so that no path (`@host:port/x`, `//host/x`) can change host, port or
 * scheme.
 */
export function probeUrl(upstream: string, path: string): string {
  const url = new URL(upstream)
  const query = path.indexOf('?')
  url.pathname = query === -1 ? path : path.slice(0, query)
  url.search = query === -1 ? '' : path.slice(query)
  url.hash = ''
  return url.href
}
