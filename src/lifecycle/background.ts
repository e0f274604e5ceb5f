import type { BackendEvent } from '../backend.js'
import type { Logger } from '../logger.js'
import { type ReapingHost, reap } from './reaping.js'
import { type EngineEventsHost, applyEngineEvent } from './engine-events.js'
import { sleep } from '../util/sleep.js'

/** What background work needs of the gateway's container manager. */
export interface BackgroundHost extends ReapingHost, EngineEventsHost {
  readonly reportsEngineEvents: boolean
  /** Whether the engine's events are followed now (connected and re-listed), or no longer. */
  followingEvents(yes: boolean): void
  watchEngine(onEvent: (event: BackendEvent) => void, signal: AbortSignal): Promise<void> | undefined
  reconcile(): Promise<void>
  /** Ask the engine whether it restarted (never rejects). */
  checkEngine(): Promise<void>
}

/** Options for {@link startBackground}. */
export interface BackgroundOptions {
  manager: BackgroundHost
  logger: Logger
  /** Seconds between reaper passes. */
  reapIntervalSeconds: number
  /** Whether this gateway leads its replicas now: only the leader reaps (default: always). */
  isLeader?: () => boolean
}

const MIN_BACKOFF_MS = 500
const MAX_BACKOFF_MS = 30_000

/**
 * Start the gateway's background work: the idle reaper, on the leader of replicas only (every
 * replica asks whether the engine restarted, so that what its shutdown stopped is known as
 * stopped), and following engine events (every replica keeps its own view current)
 * (with reconnect, backoff, and a re-list after every reconnect). Returns a function that stops both.
 * Timers are unref'd so they never keep a process alive on their own.
 */
export function startBackground(options: BackgroundOptions): () => void {
  const { manager, logger } = options
  const controller = new AbortController()
  let reaping = false
  const reaper = setInterval(() => {
    if (reaping) return
    reaping = true
    const leads = options.isLeader?.() ?? true
    Promise.all([manager.checkEngine(), leads ? reap(manager, logger) : undefined])
      .catch((err: unknown) => logger.warn('idle reaper pass failed', { error: String(err) }))
      .finally(() => (reaping = false))
  }, options.reapIntervalSeconds * 1000)
  ;(reaper as { unref?: () => void }).unref?.()
  if (manager.reportsEngineEvents) void followEvents(manager, logger, controller.signal)
  return () => {
    clearInterval(reaper)
    controller.abort()
  }
}

async function followEvents(manager: BackgroundHost, logger: Logger, signal: AbortSignal): Promise<void> {
  let delay = MIN_BACKOFF_MS
  let failures = 0
  while (!signal.aborted) {
    const connectedAt = Date.now()
    // Settle into a value at once, so a stream that breaks during the re-list is never an unhandled rejection.
    const watching = (
      manager.watchEngine((event) => applyEngineEvent(manager, event, logger), signal) ?? Promise.resolve()
    ).then(
      () => undefined,
      (err: unknown) => err,
    )
    try {
      await manager.reconcile()
      manager.followingEvents(true)
      if (failures > 0) logger.info('engine events resumed', { afterFailures: failures })
      failures = 0
    } catch (err) {
      failures++
      if (!signal.aborted) logger.warn('re-list after (re)connecting failed', { error: String(err) })
    }
    const ended = await watching
    manager.followingEvents(false)
    if (signal.aborted) return
    failures++
    logger.warn('engine event stream ended; reconnecting', { error: ended ? String(ended) : undefined, inMs: delay })
    if (Date.now() - connectedAt > MAX_BACKOFF_MS) delay = MIN_BACKOFF_MS
    await sleep(delay, signal)
    delay = Math.min(delay * 2, MAX_BACKOFF_MS)
  }
}
