import type { ContainerManager } from '../containers/manager.js'
import { ContainerNotFoundError } from '../errors.js'
import { ApiError } from '../http/errors.js'

/** What a stop or a wake answers. */
export interface ActionResult {
  name: string
  status: 'stopped' | 'starting'
}

/**
 * Stop a running container on an operator's request (API or dashboard): scaled to zero, so its
 * next request wakes it. `reason` is counted and logged.
 * @throws ContainerNotFoundError; ApiError 501 when the engine cannot stop, 409 when it is not running
 */
export async function stopContainer(manager: ContainerManager, name: string, reason: string): Promise<ActionResult> {
  const record = await manager.get(name)
  if (!record) throw new ContainerNotFoundError(name)
  if (!manager.canScaleToZero)
    throw new ApiError(501, 'unsupported', `The ${manager.engineName} backend cannot stop containers`)
  if (record.state !== 'running') throw new ApiError(409, 'not_running', `${record.name} is not running`)
  await manager.scaleToZero(record, reason)
  return { name: record.name, status: 'stopped' }
}

/**
 * Start a container that the gateway or its engine stopped, on an operator's request; one that
 * exited on its own stays as it is.
 * @throws ContainerNotFoundError; ApiError 409 when it was not stopped
 */
export async function wakeContainer(manager: ContainerManager, name: string): Promise<ActionResult> {
  const record = await manager.get(name)
  if (!record) throw new ContainerNotFoundError(name)
  if (!(await manager.isWakeable(record)))
    throw new ApiError(409, 'not_stopped', `${record.name} was not stopped by the gateway or its engine`)
  await manager.wake(record.name)
  return { name: record.name, status: 'starting' }
}
