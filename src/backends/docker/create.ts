/**
 * The body of Docker's "create container" call for a launch: ownership labels, the port to
 * reach, resource limits and the hardening every container gets.
 */
import type { LaunchSpec } from '../../backend.js'
import type { Reach } from './records.js'
import { launchLabels } from '../labels.js'

/** A named volume mounted into the container. */
export interface VolumeMount {
  Type: 'volume'
  Source: string
  Target: string
}

/** Backend-wide settings that shape every container. */
export interface CreateSettings {
  /** Root of the ownership labels. */
  root: string
  reach: Reach
  /** Host address a published port binds to (only with `reach.kind === 'published'`). */
  publishHost: string
  /** Docker network to attach to; the engine's default bridge without it. */
  network?: string
  capDrop: string[]
  noNewPrivileges: boolean
  stopTimeoutSeconds: number
}

/** The create-container body for `spec` (without the abort signal, which the caller adds). */
export function createBody(spec: LaunchSpec, mounts: VolumeMount[], settings: CreateSettings) {
  const { root, reach, capDrop } = settings
  const portKey = `${spec.port}/tcp`
  return {
    name: spec.name,
    Image: spec.image,
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: launchLabels(spec, root),
    ExposedPorts: { [portKey]: {} },
    HostConfig: {
      ...(reach.kind === 'published'
        ? { PortBindings: { [portKey]: [{ HostIp: settings.publishHost, HostPort: '' }] } }
        : {}),
      ...(settings.network ? { NetworkMode: settings.network } : {}),
      NanoCpus: Math.round(spec.cpus * 1e9),
      ...(spec.memReservationMb ? { MemoryReservation: spec.memReservationMb * 1024 * 1024 } : {}),
      ...(spec.memLimitMb ? { Memory: spec.memLimitMb * 1024 * 1024 } : {}),
      ...(spec.pidsLimit ? { PidsLimit: spec.pidsLimit } : {}),
      ...(spec.readOnlyRootfs ? { ReadonlyRootfs: true, Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' } } : {}),
      // An init process as PID 1 forwards signals and reaps zombies, so stops are prompt.
      Init: true,
      Privileged: false,
      ...(capDrop.length ? { CapDrop: capDrop } : {}),
      ...(settings.noNewPrivileges ? { SecurityOpt: ['no-new-privileges:true'] } : {}),
      // Lets a container reach the gateway by name (e.g. an input URL) on Linux too.
      ExtraHosts: ['host.docker.internal:host-gateway'],
      Mounts: mounts,
    },
    StopTimeout: settings.stopTimeoutSeconds,
  }
}
