import type { BackendInfo, ContainerRecord } from '../backend.js'

/**
 * Exit codes of an app its engine stopped: its own clean exit on the stop signal, death by the
 * stop signal (SIGINT, SIGQUIT or SIGTERM, as 128 + n), or the kill that follows the stop timeout.
 */
const SHUTDOWN_EXIT_CODES = new Set([0, 130, 131, 137, 143])

/** Uncertainty in the times compared (when the engine last answered, when a container finished). */
const SLACK_MS = 5_000

/** How often, at most, a decision that depends on it asks the engine whether it restarted. */
const RECHECK_MS = 1_000

/** What the gateway knows of one run of the engine (from its start to its stop). */
interface EngineRun {
  /** When it started, ms by its clock; `undefined` when it does not tell. */
  startedAt: number | undefined
  /** The last time the gateway heard from it, ms by the engine's clock. */
  seenAt: number
}

/**
 * Tells a container its engine stopped on the way down (a daemon restart or upgrade) from one
 * that stopped on its own. The evidence, all of which must hold:
 * - it is not running, and it finished before the engine's current run started;
 * - it finished after the gateway last heard from the previous run (when the gateway saw that
 *   run: a container that stopped well before the engine went down was not stopped by it);
 * - it ended as a stop ends (see {@link SHUTDOWN_EXIT_CODES}), and not for lack of memory.
 *
 * The engine's start time comes from `ping`. A decision that could turn on a restart the gateway
 * has not noticed yet (the container finished after the run it knows began) asks again first.
 */
export class EngineRestarts {
  readonly #ping: () => Promise<BackendInfo>
  #current: EngineRun | undefined
  /** The run before the current one, when the gateway saw it. */
  #previous: EngineRun | undefined
  #checking: Promise<void> | undefined
  #checkedAt = 0

  constructor(ping: () => Promise<BackendInfo>) {
    this.#ping = ping
  }

  /** Take in what the engine says of itself (from any `ping`, e.g. a health check). */
  observe(info: BackendInfo): void {
    // By the engine's clock when it tells it, so that no clock difference enters the comparison.
    const now = info.time ? Date.parse(info.time) : Date.now()
    const startedAt = info.startedAt === undefined ? undefined : Date.parse(info.startedAt)
    if (this.#current && this.#current.startedAt !== startedAt) this.#previous = this.#current
    if (!this.#current || this.#current.startedAt !== startedAt) this.#current = { startedAt, seenAt: now }
    else this.#current.seenAt = now
  }

  /** Ask the engine now (at most one request at a time); failures leave what is known. */
  check(): Promise<void> {
    this.#checking ??= this.#ping()
      .then(
        (info) => this.observe(info),
        () => {},
      )
      .finally(() => {
        this.#checkedAt = Date.now()
        this.#checking = undefined
      })
    return this.#checking
  }

  /** Whether the engine's shutdown stopped this container (see the class). */
  async stoppedByShutdown(record: ContainerRecord): Promise<boolean> {
    if (!this.#endedLikeAStop(record)) return false
    const finishedAt = Date.parse(record.finishedAt!)
    const startedAt = this.#current?.startedAt
    // Finished during the run the gateway knows: maybe that run has ended since. Ask, not too often.
    if ((startedAt === undefined || finishedAt >= startedAt) && Date.now() - this.#checkedAt >= RECHECK_MS)
      await this.check()
    return this.#stoppedInShutdown(finishedAt)
  }

  #endedLikeAStop(record: ContainerRecord): boolean {
    return (
      (record.state === 'exited' || record.state === 'dead') &&
      record.finishedAt !== undefined &&
      SHUTDOWN_EXIT_CODES.has(record.exitCode ?? -1) &&
      !record.oomKilled
    )
  }

  #stoppedInShutdown(finishedAt: number): boolean {
    const startedAt = this.#current?.startedAt
    if (startedAt === undefined || finishedAt >= startedAt) return false
    const lastHeard = this.#previous?.seenAt
    return lastHeard === undefined || finishedAt >= lastHeard - SLACK_MS
  }
}
