import { RequestBodyTimeoutError, UpstreamTimeoutError } from '../errors.js'
import type { Answer, RequestHints } from '../http/answer.js'
import { bodyTimeoutError, headersTimeoutError, upstreamFailure } from './answers.js'
import { onStreamEnd, readWhole, type RelayOptions, withIdleLimit } from './track.js'
import type { ProxyDeps, RunningRecord } from './types.js'

/** Options for {@link Exchange}. */
export interface ExchangeOptions {
  /** Told the status of the answer the client gets (the container's, or the gateway's own). */
  onStatus?: (status: number) => void
  /** The request's id, named in what the exchange logs. */
  requestId?: string
}

/**
 * One proxied exchange, from the moment its container is resolved: the state machine every
 * path drives — the general path, Bun's fast path and Node's. It owns the timers (the wait for
 * response headers, which starts once the request is sent; the silence of the request body),
 * the abort of the upstream side, the bookkeeping (history, activity, readiness) and the answer
 * to a failure. Transports only move bytes and tell it what happened.
 */
export class Exchange {
  readonly #deps: ProxyDeps
  readonly #record: RunningRecord
  readonly #name: string
  readonly #onStatus: ((status: number) => void) | undefined
  readonly #requestId: string | undefined
  /** Created when a transport asks for a signal (the Web path); the Node fast path listens instead. */
  #controller: AbortController | undefined
  #abortReason: unknown
  #aborted = false
  #onAbort: ((reason: unknown) => void) | undefined
  readonly #release: () => void
  #headerTimer: ReturnType<typeof setTimeout> | undefined
  #responded = false
  #clientGone = false
  /** The upstream client measures silence after the upload itself (see `UpstreamFetch.timesSilence`). */
  #silenceTimedByClient = false

  constructor(
    deps: ProxyDeps,
    record: RunningRecord,
    name: string,
    method: string,
    pathAndQuery: string,
    options: ExchangeOptions = {},
  ) {
    this.#deps = deps
    this.#record = record
    this.#name = name
    this.#onStatus = options.onStatus
    this.#requestId = options.requestId
    deps.manager.recordRequest(record, method, pathAndQuery)
    // The exchange counts as activity until it ends.
    this.#release = deps.manager.holdActivity(record.id)
  }

  /** Aborted when the client leaves, its body stalls, or the container takes too long to answer. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.#aborted) this.#controller.abort(this.#abortReason)
    }
    return this.#controller.signal
  }

  /** Whether the exchange was aborted. */
  get aborted(): boolean {
    return this.#aborted
  }

  /** Why the exchange was aborted (a timeout, a stalled body, the client leaving), once it was. */
  get abortReason(): unknown {
    return this.#abortReason
  }

  /**
   * Be told when the exchange is aborted: a lighter alternative to {@link signal} for transports
   * with an abort of their own (undici's dispatch controller). One listener.
   */
  onAbort(listener: (reason: unknown) => void): void {
    this.#onAbort = listener
  }

  #abort(reason: unknown): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#abortReason = reason
    this.#controller?.abort(reason)
    this.#onAbort?.(reason)
  }

  /** The whole request has been sent: the wait for response headers starts. */
  sent(): void {
    if (this.#responded || this.#aborted) return
    const ms = this.#deps.headersTimeoutMs
    this.#headerTimer = setTimeout(() => this.#abort(headersTimeoutError(this.#name, ms)), ms)
  }

  /** The client's request body stayed silent for the idle limit: the exchange ends on both sides. */
  stalled(): RequestBodyTimeoutError {
    const stalled = bodyTimeoutError(this.#name, this.#deps.bodyIdleTimeoutMs)
    this.#abort(stalled)
    return stalled
  }

  /** The client left before the exchange was over. */
  clientLeft(reason: unknown = new Error('The client closed the request')): void {
    this.#clientGone = true
    this.end()
    this.#abort(reason)
  }

  /** The container's response headers arrived. */
  responded(status: number): void {
    this.#responded = true
    clearTimeout(this.#headerTimer)
    this.#deps.manager.noteResponse(this.#record)
    this.#onStatus?.(status)
  }

  /** The exchange is over (its answer ended, failed, or the client left). Safe to call again. */
  end(): void {
    clearTimeout(this.#headerTimer)
    this.#release()
  }

  /**
   * The answer to a failure before response headers arrived, by why the exchange was aborted
   * (a stalled body: 408; our header timer: 504; the client left: 499), else by the error.
   */
  async failure(err: unknown, hints: RequestHints): Promise<Answer> {
    this.end()
    const reason: unknown = this.#abortReason
    const name = this.#name
    // What the answers log names this request.
    const requestId = this.#requestId
    const deps: ProxyDeps = requestId
      ? { ...this.#deps, onError: (message, fields) => this.#deps.onError(message, { ...fields, requestId }) }
      : this.#deps
    let answer: Answer
    if (reason instanceof RequestBodyTimeoutError) answer = await upstreamFailure(hints, name, reason, false, deps)
    else {
      // Our own header timer, or the upstream client's silence timer after an upload: the same 504.
      const timedOut =
        reason instanceof UpstreamTimeoutError
          ? reason
          : this.#silenceTimedByClient && err instanceof UpstreamTimeoutError
            ? headersTimeoutError(name, this.#deps.headersTimeoutMs)
            : undefined
      answer = await upstreamFailure(hints, name, timedOut ?? err, this.#clientGone, deps)
    }
    this.#onStatus?.(answer.status)
    return answer
  }

  /**
   * Read a small request body of known length in full, with the same idle limit between bytes as
   * a streamed one; once it is in, it is sent at once, so the wait for response headers starts.
   * A body that fails or ends short means the client left.
   */
  async readBody(body: ReadableStream<Uint8Array>, length: number): Promise<Uint8Array> {
    try {
      const bytes = await readWhole(body, length, this.#deps.bodyIdleTimeoutMs, () => this.stalled())
      this.sent()
      return bytes
    } catch (err) {
      if (!this.#aborted) this.clientLeft(err)
      throw err
    }
  }

  /**
   * Watch a Web request body: a stall ends the exchange, and its end starts the wait for response
   * headers — unless the upstream client times the silence after an upload itself, which then gets
   * the body with only the stall watch in between.
   */
  watchBody(
    body: ReadableStream<Uint8Array>,
    options: RelayOptions = {},
  ): { body: ReadableStream<Uint8Array>; idleTimeoutMs?: number } {
    const watched = withIdleLimit(body, this.#deps.bodyIdleTimeoutMs, () => this.stalled(), options)
    if (this.#deps.fetch.timesSilence) {
      this.#silenceTimedByClient = true
      return { body: watched, idleTimeoutMs: this.#deps.headersTimeoutMs }
    }
    return { body: onStreamEnd(watched, () => this.sent(), options) }
  }
}
