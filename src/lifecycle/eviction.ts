import type { ContainerRecord, LaunchSpec } from '../backend.js'
import type { Config } from '../config/schema.js'
import { InsufficientMemoryError } from '../errors.js'
import type { Logger } from '../logger.js'

/** What eviction needs of the gateway's container manager. */
export interface EvictionHost {
  readonly config: Pick<Config, 'memLimitMb' | 'memLimitPolicy'>
  records(): Promise<ContainerRecord[]>
  lastActivity(record: ContainerRecord): Promise<number>
  remove(name: string, reason: string): Promise<boolean>
}

/**
 * Make room for `spec` under `memLimitMb` (the original's `mem_limit_mb`): remove the
 * least-recently-active running containers until its reservation fits. When nothing is left to
 * evict, `memLimitPolicy` decides: `reject` throws InsufficientMemoryError, `startAnyway` warns.
 * A launch that would not fit even on an empty host evicts nothing.
 * Callers serialise launches, so concurrent ones cannot overshoot.
 */
export async function makeRoom(manager: EvictionHost, spec: LaunchSpec, logger: Logger): Promise<void> {
  const limit = manager.config.memLimitMb!
  if (spec.memReservationMb > limit) {
    // Evicting every container would not make room: decide before touching any.
    const message = `${spec.memReservationMb} MB requested exceeds the ${limit} MB limit even with nothing else running; nothing was evicted`
    if (manager.config.memLimitPolicy === 'reject') throw new InsufficientMemoryError(message)
    logger.warn('starting anyway over the memory limit', { name: spec.name, detail: message })
    return
  }
  const running = (await manager.records()).filter((r) => r.state === 'running' || r.state === 'restarting')
  let total = running.reduce((sum, r) => sum + r.memReservationMb, 0)
  if (total + spec.memReservationMb <= limit) return
  logger.warn('memory limit reached', { requestedMb: spec.memReservationMb, inUseMb: total, limitMb: limit })
  const byAge = await Promise.all(running.map(async (r) => ({ record: r, last: await manager.lastActivity(r) })))
  byAge.sort((a, b) => a.last - b.last)
  for (const { record } of byAge) {
    if (total + spec.memReservationMb <= limit) break
    if (record.memReservationMb === 0) continue
    if (await manager.remove(record.name, 'memory')) total -= record.memReservationMb
  }
  if (total + spec.memReservationMb <= limit) return
  const message = `${spec.memReservationMb} MB requested + ${total} MB in use exceeds the ${limit} MB limit, and no idle container is left to evict`
  if (manager.config.memLimitPolicy === 'reject') throw new InsufficientMemoryError(message)
  logger.warn('starting anyway over the memory limit', { name: spec.name, detail: message })
}
