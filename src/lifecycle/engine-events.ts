import type { BackendEvent } from '../backend.js'
import type { ContainerRecord } from '../backend.js'
import type { Logger } from '../logger.js'

/** What engine events change in the gateway's container manager. */
export interface EngineEventsHost {
  /** Any event: the kept listing of containers is out of date. */
  engineChanged(): void
  forgetRoute(name?: string): void
  cachedRoute(name: string): ContainerRecord | undefined
  resetReadiness(id: string): void
  scheduleVolumePrune(): void
  forget(id: string): Promise<void>
}

/**
 * Apply one engine event to the gateway's view: the listing is read again, routes of containers
 * that stopped, started or vanished are re-read on their next request, and state of removed
 * containers is dropped.
 */
export function applyEngineEvent(manager: EngineEventsHost, event: BackendEvent, logger: Logger): void {
  manager.engineChanged()
  switch (event.action) {
    case 'destroy':
      manager.forgetRoute(event.name)
      // Removed behind the gateway's back? Its named volumes would be left over.
      manager.scheduleVolumePrune()
      void manager
        .forget(event.id)
        .catch((err: unknown) => logger.warn('cleanup failed', { id: event.id, error: String(err) }))
      break
    case 'die':
    case 'stop':
    case 'pause':
      // A late report of a stop from before the container's current start changes nothing.
      if (predatesCurrentStart(manager, event)) break
      manager.forgetRoute(event.name)
      manager.resetReadiness(event.id)
      break
    case 'rename':
      manager.forgetRoute()
      break
    case 'start':
    case 'unpause':
    case 'restart':
      manager.forgetRoute(event.name)
      break
    default:
    // kill and oom (a signal or one killed process, maybe not fatal: a death reports `die`),
    // exec_*, attach, health_status, …: nothing routing-relevant changed.
  }
}

/**
 * Whether the event happened before the cached record of its container last started: the
 * engine's report of a stop that a wake has already undone, delivered late.
 */
function predatesCurrentStart(manager: EngineEventsHost, event: BackendEvent): boolean {
  const current = manager.cachedRoute(event.name)
  if (event.time === undefined || current?.id !== event.id || !current.startedAt) return false
  return event.time < Date.parse(current.startedAt)
}
