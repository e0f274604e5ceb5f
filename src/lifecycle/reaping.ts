import type { ContainerRecord } from '../backend.js'
import type { Config } from '../config/schema.js'
import type { Logger } from '../logger.js'
import { labelTest } from '../containers/label-selector.js'

/** Which containers a purge removes. */
export interface PurgeCriteria {
  /** Only containers idle for at least this many seconds (0: regardless of activity). */
  inactiveSeconds?: number
  /** Only containers with this label: `key=value`, or `key` for any value. */
  label?: string
}

/** What purging and reaping need of the gateway's container manager. */
export interface ReapingHost {
  readonly config: Pick<Config, 'idle'>
  readonly canScaleToZero: boolean
  records(): Promise<ContainerRecord[]>
  lastActivity(record: ContainerRecord): Promise<number>
  remove(name: string, reason: string): Promise<boolean>
  scaleToZero(record: ContainerRecord): Promise<void>
}

/**
 * Remove the managed containers matching every given criterion (the original's
 * `purge_inactive` and `purge_by_label`, limited to managed containers). Resolves the names.
 */
export async function purge(manager: ReapingHost, criteria: PurgeCriteria, reason = 'purge'): Promise<string[]> {
  const selected = labelTest(criteria.label === undefined ? [] : [criteria.label])
  const now = Date.now()
  const removed: string[] = []
  for (const record of await manager.records()) {
    if (!selected(record.labels)) continue
    if (criteria.inactiveSeconds) {
      const idleMs = now - (await manager.lastActivity(record))
      if (idleMs < criteria.inactiveSeconds * 1000) continue
    }
    if (await manager.remove(record.name, reason)) removed.push(record.name)
  }
  return removed
}

/**
 * One pass of the idle reaper: containers idle past their timeout (their own, else
 * `idle.timeoutSeconds`) are removed, or stopped with `idle.action: "stop"`. Resolves the names.
 */
export async function reap(manager: ReapingHost, logger: Logger): Promise<string[]> {
  const { timeoutSeconds, action } = manager.config.idle
  const now = Date.now()
  const reaped: string[] = []
  for (const record of await manager.records()) {
    const timeout = record.idleTimeoutSeconds ?? timeoutSeconds
    if (!timeout) continue
    if (action === 'stop' && record.state !== 'running') continue
    if (now - (await manager.lastActivity(record)) < timeout * 1000) continue
    try {
      if (action === 'stop' && manager.canScaleToZero) await manager.scaleToZero(record)
      else await manager.remove(record.name, 'idle')
      reaped.push(record.name)
    } catch (err) {
      logger.warn('reap failed', { name: record.name, error: String(err) })
    }
  }
  return reaped
}
