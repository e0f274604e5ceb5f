import type { BackendInfo, ContainerRecord } from '../backend.js'
import type { EngineRunRecord } from '../stores/store.js'

/**
 * Exit codes of an app its engine stopped: its own clean exit on the stop signal, death by the
 * stop signal (SIGINT, SIGQUIT or SIGTERM, as 128 + n), or the kill that follows the stop timeout.
 */
const SHUTDOWN_EXIT_CODES = new Set([0, 130, 131, 137, 143])

/**
 * How long before the gateway last heard from the engine's previous run a container may have
 * finished and still count as stopped by its shutdown: the engine answers while it stops containers,
 * which may take a container's whole stop timeout (10 s by default) and its own shutdown timeout (15 s).
 */
const SHUTDOWN_SLACK_MS = 30_000

/**
 * Without any record of the engine's previous run (a gateway with no data from before the
 * engine's restart), how long before the engine's start a container may have finished and still
 * count as stopped by its shutdown: a shutdown, the stop timeouts within it and a restart.
 * A container that ended minutes earlier, on its own or by hand, is not woken by a visitor.
 */
const UNSEEN_RUN_WINDOW_MS = 60_000

/** How often, at most, the run last seen is written down while nothing else about it changes. */
const REMEMBER_EVERY_MS = 5_000

/** How often, at most, a decision that depends on it asks the engine whether it restarted. */
const RECHECK_MS = 1_000

/**
 * How long after a container stopped as a stop ends it may still be the engine going down: the
 * engine answers for a moment after its shutdown has stopped the containers.
 */
const SETTLE_MS = 10_000

/** What the gateway knows of one run of the engine (from its start to its stop), ms by the engine's clock. */
type EngineRun = EngineRunRecord

/** Where the run last seen is kept across gateway restarts (the store's engine-run memory). */
export interface EngineRunMemory {
  read(): Promise<EngineRunRecord | undefined>
  write(run: EngineRunRecord): Promise<void>
}

/**
 * Tells a container its engine stopped on the way down (a daemon restart or upgrade) from one
 * that stopped on its own. The evidence, all of which must hold:
 * - it is not running, and it finished before the engine's current run started;
 * - it finished after the gateway last heard from the previous run (a container that stopped well
 *   before the engine went down was not stopped by it). The run last seen is remembered across
 *   gateway restarts; with no record of the previous run at all, it finished at most
 *   {@link UNSEEN_RUN_WINDOW_MS} before the current run started;
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
  /** The engine's clock minus the gateway's, from the last answer that told its time. */
  #skewMs = 0
  readonly #memory: EngineRunMemory | undefined
  /** The remembered run, read once, before anything is observed. */
  #recalled: Promise<void> | undefined
  #recallDone = false
  /** The run as last written down, and the write in progress (one at a time, always the latest). */
  #remembered: EngineRun | undefined
  #writing: Promise<void> = Promise.resolve()

  constructor(ping: () => Promise<BackendInfo>, memory?: EngineRunMemory) {
    this.#ping = ping
    this.#memory = memory
  }

  /** Read the run remembered from before this gateway started (once): it is the first one known. */
  #recall(): Promise<void> {
    this.#recalled ??= (this.#memory?.read() ?? Promise.resolve(undefined)).then(
      (run) => {
        if (run && !this.#current) this.#current = { ...run }
        this.#recallDone = true
      },
      () => {
        this.#recallDone = true
      },
    )
    return this.#recalled
  }

  /**
   * Take in what the engine says of itself (from any `ping`, e.g. a health check). An answer that
   * does not tell when the engine started (one still starting up may not know yet) is no evidence
   * of which run answered, and changes nothing.
   */
  observe(info: BackendInfo): void {
    if (info.startedAt === undefined) return
    // By the engine's clock when it tells it, so that no clock difference enters the comparison.
    const now = info.time ? Date.parse(info.time) : Date.now()
    this.#skewMs = now - Date.now()
    const startedAt = Date.parse(info.startedAt)
    // Before the remembered run is read, a sighting waits for it (it may be the same run).
    if (!this.#memory || this.#recallDone) this.#apply(startedAt, now)
    else void this.#recall().then(() => this.#apply(startedAt, now))
  }

  #apply(startedAt: number, now: number): void {
    if (this.#current?.startedAt === startedAt) {
      this.#current.seenAt = Math.max(this.#current.seenAt, now)
    } else {
      if (this.#current) this.#previous = this.#current
      this.#current = { startedAt, seenAt: now }
    }
    this.#remember()
  }

  /** Write the current run down: a new run at once, later sightings of it every few seconds of its time. */
  #remember(): void {
    const memory = this.#memory
    const run = this.#current
    const written = this.#remembered
    if (!memory || !run) return
    if (written?.startedAt === run.startedAt && run.seenAt - written.seenAt < REMEMBER_EVERY_MS) return
    this.#remembered = { ...run }
    this.#writing = this.#writing.then(() =>
      // Whatever is newest when its turn comes.
      memory.write({ ...this.#current! }).catch(() => {
        this.#remembered = undefined // tried again at the next sighting
      }),
    )
  }

  /**
   * Ask the engine now (at most one request at a time). A failure leaves what is known, and does
   * not count as asked: the engine that answers next is asked again.
   */
  check(): Promise<void> {
    this.#checking ??= this.#recall()
      .then(() => this.#ping())
      .then(
        (info) => {
          this.observe(info)
          this.#checkedAt = Date.now()
        },
        () => {},
      )
      .finally(() => {
        this.#checking = undefined
      })
    return this.#checking
  }

  /** Whether the engine's shutdown stopped this container (see the class); `false` without `finishedAt`. */
  async stoppedByShutdown(record: ContainerRecord): Promise<boolean> {
    if (!this.endedLikeAStop(record) || record.finishedAt === undefined) return false
    const finishedAt = Date.parse(record.finishedAt!)
    const startedAt = this.#current?.startedAt
    // Finished during the run the gateway knows: maybe that run has ended since. Ask, not too often.
    if ((startedAt === undefined || finishedAt >= startedAt) && Date.now() - this.#checkedAt >= RECHECK_MS)
      await this.check()
    return this.#stoppedInShutdown(finishedAt)
  }

  /**
   * Whether the container stopped as a stop ends only a moment ago, so that its engine may be
   * going down (it cannot be told yet): it is not yet known to have exited on its own.
   */
  justStopped(record: ContainerRecord): boolean {
    if (!this.endedLikeAStop(record) || record.finishedAt === undefined) return false
    return Date.now() + this.#skewMs - Date.parse(record.finishedAt!) < SETTLE_MS
  }

  /** Whether a stopped container ended as a stop ends (its finish time aside): a candidate for the rest of the evidence. */
  endedLikeAStop(record: ContainerRecord): boolean {
    return (
      (record.state === 'exited' || record.state === 'dead') &&
      SHUTDOWN_EXIT_CODES.has(record.exitCode ?? -1) &&
      !record.oomKilled
    )
  }

  #stoppedInShutdown(finishedAt: number): boolean {
    const startedAt = this.#current?.startedAt
    if (startedAt === undefined || finishedAt >= startedAt) return false
    const lastHeard = this.#previous?.seenAt
    if (lastHeard === undefined) return startedAt - finishedAt <= UNSEEN_RUN_WINDOW_MS
    return finishedAt >= lastHeard - SHUTDOWN_SLACK_MS
  }
}
