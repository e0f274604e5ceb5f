/**
 * The Swarm service a launch becomes: one replica, the gateway's labels on the service, resource
 * limits and reservations, the overlay network with DNS round-robin (no VIP, no routing mesh),
 * and input files as Swarm configs.
 */
import type { LaunchSpec } from '../../backend.js'
import { launchLabels } from '../labels.js'

/** Backend-wide settings that shape every service. */
export interface ServiceSettings {
  /** Root of the ownership labels. */
  root: string
  /** The overlay network services join, and where the gateway reaches their tasks. */
  network: string
  /** Placement constraints for every service, e.g. `node.role==worker`. */
  constraints: string[]
  capDrop: string[]
  stopGraceSeconds: number
}

/** A Swarm config holding one input file, to mount at `path`. */
export interface ConfigMount {
  id: string
  name: string
  path: string
}

/** The label that ties a task's container, config or volume to its service (never the ownership label). */
export const serviceLabel = (root: string) => `${root}.service`

/** The create-service body for `spec`. */
export function serviceSpec(spec: LaunchSpec, configs: ConfigMount[], settings: ServiceSettings, replicas = 1) {
  const { root } = settings
  return {
    Name: spec.name,
    Labels: launchLabels(spec, root),
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        ...(spec.cmd ? { Args: spec.cmd } : {}),
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        // Task containers carry the service's name, not the ownership label: a Docker backend on
        // any node must never take them for its own.
        Labels: { [serviceLabel(root)]: spec.name },
        Init: true,
        ...(spec.readOnlyRootfs ? { ReadOnly: true } : {}),
        ...(settings.capDrop.length ? { CapabilityDrop: settings.capDrop } : {}),
        StopGracePeriod: settings.stopGraceSeconds * 1e9,
        Mounts: [
          ...spec.extraDirectories.map((target) => ({
            Type: 'volume',
            Target: target,
            VolumeOptions: { Labels: { [root]: 'true', [serviceLabel(root)]: spec.name } },
          })),
          ...(spec.readOnlyRootfs ? [{ Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 64 << 20 } }] : []),
        ],
        Configs: configs.map((config) => ({
          File: { Name: config.path, UID: '0', GID: '0', Mode: 0o444 },
          ConfigID: config.id,
          ConfigName: config.name,
        })),
      },
      Resources: {
        Limits: {
          NanoCPUs: Math.round(spec.cpus * 1e9),
          ...(spec.memLimitMb ? { MemoryBytes: spec.memLimitMb * 1024 * 1024 } : {}),
          ...(spec.pidsLimit ? { Pids: spec.pidsLimit } : {}),
        },
        Reservations: spec.memReservationMb ? { MemoryBytes: spec.memReservationMb * 1024 * 1024 } : {},
      },
      // A task that ends or whose node is lost is replaced, on whichever node can run it.
      RestartPolicy: { Condition: 'any', Delay: 2e9 },
      Placement: settings.constraints.length ? { Constraints: settings.constraints } : {},
      Networks: [{ Target: settings.network }],
    },
    Mode: { Replicated: { Replicas: replicas } },
    // Tasks are reached at their own address: no virtual IP, no ingress routing mesh.
    EndpointSpec: { Mode: 'dnsrr' },
  }
}
