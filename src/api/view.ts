import type * as v from 'valibot'
import type { ContainerRecord } from '../backend.js'
import { ACCESS_PARAM } from '../containers/access.js'
import type { ContainerManager } from '../containers/manager.js'
import { ApiError } from '../http/errors.js'
import type { ContainerViewSchema, LaunchResultSchema } from './schemas.js'

/** A container as the API (and the dashboard) shows it. */
export type ContainerView = v.InferOutput<typeof ContainerViewSchema>

/** What a launch answers. */
export type LaunchResult = v.InferOutput<typeof LaunchResultSchema>

/** A record as the API shows it; `url` is where the proxy serves it (e.g. `/docker/<name>/`). */
export async function containerView(
  manager: ContainerManager,
  record: ContainerRecord,
  url: string,
): Promise<ContainerView> {
  const { status, reason, lastActivity } = await manager.describe(record)
  return {
    name: record.name,
    id: record.id,
    image: record.image,
    status,
    ...(reason ? { reason } : {}),
    ...(record.exitCode === undefined ? {} : { exitCode: record.exitCode }),
    url,
    createdAt: record.createdAt,
    lastActivity: new Date(lastActivity).toISOString(),
    port: record.port,
    memReservationMb: record.memReservationMb,
    ...(record.idleTimeoutSeconds ? { idleTimeoutSeconds: record.idleTimeoutSeconds } : {}),
    stripPrefix: record.stripPrefix !== false,
    access: record.access ?? 'public',
    labels: record.labels,
  }
}

/**
 * A new one-time access link to a private container (`access: "token"`): `url` with its token.
 * Any earlier unused link stops working. @throws ApiError 409 for a public container.
 */
export async function accessLink(manager: ContainerManager, record: ContainerRecord, url: string): Promise<string> {
  if (record.access !== 'token')
    throw new ApiError(409, 'not_private', `"${record.name}" is public: it needs no access link`)
  return `${url}?${ACCESS_PARAM}=${await manager.issueAccessToken(record)}`
}

/** What a launch answers: the container and the URL to hand out (for a private one, with its one-time access token). */
export async function launchResult(
  manager: ContainerManager,
  record: ContainerRecord,
  url: string,
): Promise<LaunchResult> {
  const { status } = await manager.describe(record)
  const handedOut = record.access === 'token' ? await accessLink(manager, record, url) : url
  return { name: record.name, id: record.id, url: handedOut, status }
}
