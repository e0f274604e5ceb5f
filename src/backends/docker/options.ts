/**
 * What the Docker backend can be told: engine connection, ownership labels, how containers are
 * reached, and the defaults every container runs with.
 */
import type { DockerTls } from './connection.js'

export { DEFAULT_LABEL_ROOT } from '../labels.js'

/** Options for the `docker()` backend. */
export interface DockerBackendOptions {
  /** Unix socket of the engine. Without it, `host`, or `DOCKER_HOST`, the local default socket. */
  socketPath?: string
  /** Engine address: `unix:///path`, `tcp://host:port`, `https://host:port`. Overrides `DOCKER_HOST`. */
  host?: string
  /** TLS material (PEM contents) for a `tcp://` engine. */
  tls?: DockerTls
  /** Environment to read `DOCKER_HOST`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` from (default: the process's). */
  env?: Record<string, string | undefined>
  /** Root of the ownership labels. */
  labelRoot?: string
  /**
   * How the gateway reaches containers. `network`: the container's own address on a Docker
   * network, with no host port at all and no `docker-proxy` hop; the gateway must run on the Docker
   * host (Linux) or in a container attached to that network. `published`: a port Docker publishes
   * on the host, through its userland proxy. `auto` (default): `network` when this host has an
   * address on the containers' network, else `published` (see the backend's `reach()`).
   */
  reach?: 'auto' | 'published' | 'network'
  /**
   * Docker network containers are attached to (`--network`), as you set it up. Without it, the
   * gateway's own isolated network (see `isolate`), or the engine's default bridge.
   */
  network?: string
  /**
   * Without `network`: attach containers to a bridge the gateway creates, on which they cannot
   * reach each other (`com.docker.network.bridge.enable_icc=false`); the gateway reaches all of
   * them. Default `true`; `false` uses the engine's default bridge, where every container can open
   * every other's ports.
   */
  isolate?: boolean
  /** Name of that isolated network (default `hde-isolated`). */
  isolatedNetwork?: string
  /** Host address container ports are published on (default 127.0.0.1; 0.0.0.0 for a remote engine). */
  publishHost?: string
  /** Host the gateway uses to reach published ports; the engine's host when remote, else from `publishHost`. */
  upstreamHost?: string
  /** Upper bound for one engine call (log streams and pulls excepted). */
  apiTimeoutMs?: number
  /**
   * Upper bound of the engine calls that create and start a container (default 120 s). A burst of
   * launches queues them inside the engine: 30 at once took 14 s each on a 2-core machine, well
   * past \`apiTimeoutMs\`, and an abandoned create can still leave a container behind.
   */
  launchTimeoutMs?: number
  /** Upper bound for pulling a missing image during a launch. */
  pullTimeoutMs?: number
  /** Seconds a stopping container gets between SIGTERM and SIGKILL. */
  stopTimeoutSeconds?: number
  /** Set `no-new-privileges` (setuid binaries cannot raise privileges). Default `true`. */
  noNewPrivileges?: boolean
  /** Linux capabilities removed from every container. Default {@link DEFAULT_CAP_DROP}. */
  capDrop?: string[]
  /** Orphaned volumes younger than this are kept (a launch creates them just before its container). */
  orphanVolumeMinAgeMs?: number
}

/**
 * Capabilities dropped by default: raw sockets (spoofing), device nodes, chroot, audit and
 * capability editing. What root-run web apps rely on (binding port 80, chown, setuid to a
 * service user, kill) stays, so existing images keep working.
 */
export const DEFAULT_CAP_DROP = ['NET_RAW', 'MKNOD', 'SYS_CHROOT', 'AUDIT_WRITE', 'SETFCAP', 'SETPCAP']
