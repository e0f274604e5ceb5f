import type { ContainerRecord, ContainerState } from '../../backend.js'
import { launchSettings } from '../labels.js'

/** The parts of `docker inspect` a record needs. */
export interface InspectLike {
  Id: string
  Name: string
  Created: string
  Config: { Image: string; Labels?: Record<string, string> | null; ExposedPorts?: Record<string, object> | null }
  State: { Status: string; ExitCode: number; StartedAt: string; FinishedAt?: string; OOMKilled?: boolean }
  NetworkSettings?: {
    Ports?: Record<string, { HostPort: string }[] | null> | null
    Networks?: NetworksLike | null
  } | null
}

/** The TCP ports of a container's `Config.ExposedPorts` (`{"80/tcp": {}}`), in order. */
function exposedPorts(exposed: Record<string, object> | null | undefined): { exposedPorts?: number[] } {
  const ports = Object.keys(exposed ?? {})
    .filter((key) => key.endsWith('/tcp'))
    .map((key) => Number.parseInt(key, 10))
    .filter((port) => port > 0)
    .sort((a, b) => a - b)
  return ports.length ? { exposedPorts: ports } : {}
}

/** The per-network addresses Docker reports for a container. */
type NetworksLike = Record<string, { IPAddress?: string; GlobalIPv6Address?: string } | null>

/** The parts of a `docker ps` entry a record needs. */
export interface SummaryLike {
  Id: string
  Names?: string[]
  Image: string
  State: string
  /** E.g. `Up 5 minutes`, `Exited (143) 2 minutes ago`. */
  Status?: string
  Created: number
  Labels?: Record<string, string>
  Ports?: { PrivatePort: number; PublicPort?: number; Type: string }[]
  NetworkSettings?: { Networks?: NetworksLike | null } | null
}

/**
 * How the gateway reaches a running container: through the host port Docker published for it,
 * or at the container's own address on a Docker network (`network`: that network's name; without
 * it, the first network the container has an address on).
 */
export type Reach = { kind: 'published'; host: string } | { kind: 'network'; network?: string }

/** Docker state strings we know; anything else is reported as `dead`. */
const STATES = new Set<ContainerState>(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'])
const stateOf = (status: string) => (STATES.has(status as ContainerState) ? status : 'dead') as ContainerState

/**
 * Turn the engine's views of a container into records. Launch settings live in labels under
 * `root`, so they survive a gateway restart; the upstream URL exists only while it runs.
 */
export function recordMapper(root: string, reach: Reach) {
  const settingsFrom = (labels: Record<string, string>) => launchSettings(labels, root)
  /** The container's address on the network it is reached through, IPv6 in brackets. */
  const addressOn = (networks: NetworksLike | null | undefined) => {
    const entries =
      reach.kind === 'network' && reach.network ? [networks?.[reach.network]] : Object.values(networks ?? {})
    for (const entry of entries) {
      if (entry?.IPAddress) return entry.IPAddress
      if (entry?.GlobalIPv6Address) return `[${entry.GlobalIPv6Address}]`
    }
    return undefined
  }
  const upstream = (
    state: ContainerState,
    port: number,
    hostPort: string | number | undefined,
    networks: NetworksLike | null | undefined,
  ) => {
    if (state !== 'running') return {}
    if (reach.kind === 'published') return hostPort ? { upstream: `http://${reach.host}:${hostPort}` } : {}
    const address = addressOn(networks)
    return address ? { upstream: `http://${address}:${port}` } : {}
  }

  return {
    /** A record from `docker inspect`; `undefined` for a container without the ownership label. */
    fromInspect(info: InspectLike): ContainerRecord | undefined {
      const labels = info.Config?.Labels ?? {}
      if (labels[root] !== 'true') return undefined
      const settings = settingsFrom(labels)
      const state = stateOf(info.State.Status)
      const hostPort = info.NetworkSettings?.Ports?.[`${settings.port}/tcp`]?.find((b) => b.HostPort)?.HostPort
      const startedAt = Date.parse(info.State.StartedAt)
      const finishedAt = Date.parse(info.State.FinishedAt ?? '')
      return {
        id: info.Id,
        name: info.Name.replace(/^\//, ''),
        image: info.Config.Image,
        state,
        ...(state === 'exited' || state === 'dead' ? { exitCode: info.State.ExitCode } : {}),
        createdAt: new Date(info.Created).toISOString(),
        // Docker reports the zero time for never-started containers.
        ...(startedAt > 0 ? { startedAt: new Date(startedAt).toISOString() } : {}),
        ...(state !== 'running' && finishedAt > 0 ? { finishedAt: new Date(finishedAt).toISOString() } : {}),
        ...(info.State.OOMKilled ? { oomKilled: true } : {}),
        labels,
        ...settings,
        ...exposedPorts(info.Config.ExposedPorts),
        ...upstream(state, settings.port, hostPort, info.NetworkSettings?.Networks),
      }
    },
    /** A record from a `docker ps` entry (already filtered by the ownership label). */
    fromSummary(summary: SummaryLike): ContainerRecord {
      const labels = summary.Labels ?? {}
      const settings = settingsFrom(labels)
      const state = stateOf(summary.State)
      const hostPort = summary.Ports?.find(
        (p) => p.PrivatePort === settings.port && p.Type === 'tcp' && p.PublicPort,
      )?.PublicPort
      // The exit code is in the status line; when it finished is not (a record may lack `finishedAt`).
      const exitCode = /^Exited \((\d+)\)/.exec(summary.Status ?? '')?.[1]
      return {
        id: summary.Id,
        name: (summary.Names?.[0] ?? '').replace(/^\//, ''),
        image: summary.Image,
        state,
        ...((state === 'exited' || state === 'dead') && exitCode !== undefined ? { exitCode: Number(exitCode) } : {}),
        createdAt: new Date(summary.Created * 1000).toISOString(),
        labels,
        ...settings,
        ...upstream(state, settings.port, hostPort, summary.NetworkSettings?.Networks),
      }
    },
  }
}
