import type { ContainerRecord } from '../backend.js'
import type { ContainerManager } from '../containers/manager.js'
import type { LaunchPlan } from './launch.js'
import { ndjsonResponse } from './ndjson.js'
import { launchResult } from './view.js'

/**
 * Launch as a progress stream (`application/x-ndjson`): `{ "event": "progress", … }` for each
 * pull event, then `{ "event": "launched", name, id, url, status }`, or a final error line.
 */
export function launchStream(
  manager: ContainerManager,
  plan: LaunchPlan,
  urlOf: (record: ContainerRecord) => string,
  onStreamError: (err: unknown, status: number, known: boolean) => void,
): Response {
  return ndjsonResponse(async (write) => {
    const record = await manager.launch(plan.spec, plan.input?.served, (event) =>
      write({ event: 'progress', ...event }),
    )
    write({ event: 'launched', ...(await launchResult(manager, record, urlOf(record))) })
  }, onStreamError)
}
