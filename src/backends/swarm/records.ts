import type { ContainerRecord, ContainerState } from '../../backend.js'
import { launchSettings } from '../labels.js'

/** The parts of a Swarm service the gateway reads. */
export interface ServiceLike {
  ID: string
  CreatedAt?: string
  UpdatedAt?: string
  Version?: { Index?: number }
  Spec?: {
    Name?: string
    Labels?: Record<string, string>
    Mode?: { Replicated?: { Replicas?: number } }
    TaskTemplate?: { ContainerSpec?: { Image?: string } }
  }
}

/** The parts of a Swarm task the gateway reads. */
export interface TaskLike {
  ID: string
  ServiceID?: string
  CreatedAt?: string
  UpdatedAt?: string
  DesiredState?: string
  NodeID?: string
  Status?: {
    State?: string
    Err?: string
    Timestamp?: string
    ContainerStatus?: { ExitCode?: number }
  }
  NetworksAttachments?: { Network?: { Spec?: { Name?: string } }; Addresses?: string[] }[]
}

/** The most recently created of some tasks. */
export function newest(tasks: TaskLike[]): TaskLike | undefined {
  return [...tasks].sort((a, b) => (b.CreatedAt ?? '').localeCompare(a.CreatedAt ?? ''))[0]
}

/** The task of a service that serves it now: the newest running one. */
export function runningTask(tasks: TaskLike[]): TaskLike | undefined {
  return newest(tasks.filter((task) => task.Status?.State === 'running' && task.DesiredState === 'running'))
}

/**
 * A task's address on the first of `networks` it is attached to (the gateway reaches it there),
 * without its prefix length.
 */
export function taskAddress(task: TaskLike, networks: string | readonly string[]): string | undefined {
  for (const network of typeof networks === 'string' ? [networks] : networks) {
    const attachment = task.NetworksAttachments?.find((a) => a.Network?.Spec?.Name === network)
    const address = attachment?.Addresses?.[0]?.split('/')[0]
    if (address) return address
  }
  return undefined
}

/**
 * A service as a record. Its state: `running` with a running task (and its address on the
 * overlay), `created` when scaled to zero (the gateway wakes it by scaling to one), and
 * `restarting` while Swarm is placing, starting or replacing its task.
 */
export function serviceRecord(
  service: ServiceLike,
  tasks: TaskLike[],
  root: string,
  networks: string | readonly string[],
): ContainerRecord | undefined {
  const labels = service.Spec?.Labels ?? {}
  if (labels[root] !== 'true' || !service.Spec?.Name) return undefined
  const settings = launchSettings(labels, root)
  const replicas = service.Spec.Mode?.Replicated?.Replicas ?? 0
  const task = replicas > 0 ? runningTask(tasks) : undefined
  const address = task && taskAddress(task, networks)
  const state: ContainerState = replicas === 0 ? 'created' : address ? 'running' : 'restarting'
  const image = service.Spec.TaskTemplate?.ContainerSpec?.Image ?? ''
  // Scaled to zero: how and when its last task ended, as a stopped container tells.
  const last =
    replicas === 0 ? newest(tasks.filter((t) => t.Status?.ContainerStatus?.ExitCode !== undefined)) : undefined
  const ended = last?.Status?.Timestamp ? Date.parse(last.Status.Timestamp) : Number.NaN
  return {
    id: service.ID,
    name: service.Spec.Name,
    // Swarm may pin the image to a digest (`name:tag@sha256:…`); the gateway shows what was asked for.
    image: image.replace(/@sha256:[0-9a-f]+$/, ''),
    state,
    createdAt: new Date(service.CreatedAt ?? Date.now()).toISOString(),
    ...(task?.Status?.Timestamp ? { startedAt: new Date(task.Status.Timestamp).toISOString() } : {}),
    ...(last ? { exitCode: last.Status!.ContainerStatus!.ExitCode! } : {}),
    ...(ended > 0 ? { finishedAt: new Date(ended).toISOString() } : {}),
    labels,
    ...settings,
    ...(address ? { upstream: `http://${address.includes(':') ? `[${address}]` : address}:${settings.port}` } : {}),
  }
}
