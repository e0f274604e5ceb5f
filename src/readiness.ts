import type { ContainerRecord } from './backend.js'
import type { UpstreamFetch } from './upstream.js'

/** Options for {@link Readiness}. */
export interface ReadinessOptions {
  /** Client used to probe the container. */
  fetch: UpstreamFetch
  /** Give up probing after this long; the container stays `starting`. */
  startTimeoutMs?: number
  /** Per-probe timeout. */
  probeTimeoutMs?: number
}

/** Container status as the API reports it. */
export type ContainerStatus = 'starting' | 'ready' | 'stopped' | 'exited'

/**
 * Tracks which containers answer HTTP. A container is `ready` once its port has answered
 * any HTTP response, either to a probe or to a proxied request. Keyed by container id, so
 * a re-created container with the same name starts over.
 */
export class Readiness {
  readonly #ready = new Set<string>()
  readonly #probing = new Map<string, AbortController>()
  readonly #options: Required<ReadinessOptions>

  constructor(options: ReadinessOptions) {
    this.#options = { startTimeoutMs: 60_000, probeTimeoutMs: 2_000, ...options }
  }

  /** The API status for a record. */
  status(record: ContainerRecord): ContainerStatus {
    switch (record.state) {
      case 'running':
        return this.#ready.has(record.id) ? 'ready' : 'starting'
      case 'restarting':
        return 'starting'
      case 'created':
      case 'paused':
        return 'stopped'
      default:
        return 'exited'
    }
  }

  /** Record that the container answered HTTP. */
  markReady(id: string): void {
    this.#ready.add(id)
    this.#probing.get(id)?.abort()
  }

  /** Forget a container (removed or replaced). */
  forget(id: string): void {
    this.#ready.delete(id)
    this.#probing.get(id)?.abort()
  }

  /**
   * Probe a running container in the background until it answers HTTP or the start timeout
   * passes. Does nothing when it is already ready or being probed.
   */
  watch(record: ContainerRecord): void {
    const { id, upstream } = record
    if (record.state !== 'running' || !upstream || this.#ready.has(id) || this.#probing.has(id)) return
    const controller = new AbortController()
    this.#probing.set(id, controller)
    void this.#probe(id, upstream, controller.signal).finally(() => this.#probing.delete(id))
  }

  /** Stop all background probes. */
  close(): void {
    for (const controller of this.#probing.values()) controller.abort()
  }

  async #probe(id: string, upstream: string, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.#options.startTimeoutMs
    let delay = 50
    while (!signal.aborted && Date.now() < deadline) {
      const attempt = AbortSignal.any([signal, AbortSignal.timeout(this.#options.probeTimeoutMs)])
      try {
        const response = await this.#options.fetch(`${upstream}/`, { method: 'GET', headers: new Headers(), body: null, signal: attempt })
        await response.body?.cancel()
        this.#ready.add(id)
        return
      } catch {
        // Not listening yet: try again after a backoff.
      }
      await sleep(delay, signal)
      delay = Math.min(delay * 2, 1_000)
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}
