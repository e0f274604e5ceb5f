/** Closes one long-lived exchange (a WebSocket: close code 1001) when the grace period ends. */
export type Closer = (code: number, reason: string) => void

/** How a drain ended. */
export interface DrainOutcome {
  /** Everything in flight finished within the grace period. */
  finished: boolean
  /** Exchanges still open when it ended (closed by their closers, or cut by the server). */
  cut: number
}

/** The close code and reason a WebSocket gets when the grace period ends (RFC 6455 §7.4.1: going away). */
export const GOING_AWAY = { code: 1001, reason: 'the gateway is restarting' } as const

/**
 * A gateway's shutdown state, shared by its servers: whether it drains, and what is in flight.
 * Servers count each request from its arrival until its answer is sent in full (streams
 * included) and each WebSocket while it is open; during a drain they answer new requests `503`.
 */
export class Drain {
  #draining = false
  #inFlight = 0
  readonly #closers = new Set<Closer>()
  readonly #idle = new Set<() => void>()

  /** Whether shutdown has begun: readiness answers `503`, new requests are refused. */
  get draining(): boolean {
    return this.#draining
  }

  /** Requests and WebSockets in flight. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** One exchange begins; the returned function ends it (once, however often it is called). */
  begin(closer?: Closer): () => void {
    this.#inFlight++
    if (closer) this.#closers.add(closer)
    let ended = false
    return () => {
      if (ended) return
      ended = true
      if (closer) this.#closers.delete(closer)
      if (--this.#inFlight === 0) for (const idle of [...this.#idle]) idle()
    }
  }

  /** Begin draining (idempotent): from now on readiness fails and servers refuse new requests. */
  start(): void {
    this.#draining = true
  }

  /**
   * Drain: resolves as soon as nothing is in flight, or when `graceMs` has passed; then the
   * exchanges still open are closed by their closers (WebSockets get {@link GOING_AWAY}).
   */
  async settle(graceMs: number): Promise<DrainOutcome> {
    this.start()
    if (this.#inFlight === 0) return { finished: true, cut: 0 }
    const finished = await new Promise<boolean>((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer)
        this.#idle.delete(onIdle)
        resolve(value)
      }
      const onIdle = () => done(true)
      const timer = setTimeout(() => done(false), graceMs)
      this.#idle.add(onIdle)
    })
    const cut = this.#inFlight
    for (const close of [...this.#closers]) {
      try {
        close(GOING_AWAY.code, GOING_AWAY.reason)
      } catch {
        // A closer that fails leaves its exchange to the server, which cuts what remains.
      }
    }
    return { finished, cut }
  }
}
