/**
 * The contract every container engine implements. The core never talks to an engine
 * directly: it calls these methods and reacts to the typed errors in `./errors.ts`.
 *
 * Required members are the minimum a gateway needs; optional ones are capabilities the
 * core checks before use. Every implementation must pass `test/backends/suite.ts`.
 */

/** What the gateway asks an engine to run. Produced from the validated launch body. */
export interface LaunchSpec {
  /** Container name; also the routing key in `/docker/<name>/`. */
  name: string
  /** Image reference, always with a tag or digest. */
  image: string
  /** The HTTP port the app listens on inside the container. */
  port: number
  /** Environment variables (already including `INPUT_JSON` when input was given). */
  env: Record<string, string>
  /** Command override; the image's default when absent. */
  cmd?: string[]
  /** Caller's labels; the backend adds its own ownership labels. */
  labels: Record<string, string>
  /** CPU share, e.g. 0.5 for half a core. */
  cpus: number
  /** Soft memory reservation in MiB (0 when none). */
  memReservationMb: number
  /** Hard memory limit in MiB. */
  memLimitMb?: number
  /** Absolute in-container paths; each gets a fresh volume removed with the container. */
  extraDirectories: string[]
  /** Idle time after which the reaper acts on this container (overrides the gateway default). */
  idleTimeoutSeconds?: number
  /** Path that must answer 2xx/3xx before the container counts as ready. */
  readinessPath?: string
  /** Maximum number of processes in the container. */
  pidsLimit?: number
  /** Mount the root filesystem read-only (a tmpfs is mounted at `/tmp`). */
  readOnlyRootfs?: boolean
  /** Files placed into the container before it starts (absolute paths). */
  files?: { path: string; content: Uint8Array }[]
  /** When to pull the image: only if `missing` (default), `always`, or `never`. */
  pull?: PullPolicy
  /** Who may reach it through the proxy: anyone (`public`, default) or holders of its access link (`token`). */
  access?: 'public' | 'token'
  /** `false`: the container receives the full public path (`/docker/<name>/…`), not the path after it. */
  stripPrefix?: boolean
}

/**
 * Whether a caller's label key lies in a gateway's own namespace: a root itself (its ownership
 * mark) or a key under it (`<root>.port`, `<root>.access`, …). Backends that keep settings in
 * labels refuse such keys, so that only validated launch fields ever become settings.
 */
export function isReservedLabel(key: string, roots: readonly string[]): boolean {
  const lower = key.toLowerCase()
  return roots.some((root) => lower === root || lower.startsWith(`${root}.`))
}

/** When a launch pulls its image. */
export type PullPolicy = 'missing' | 'always' | 'never'

/** One step of an image pull, as the engine reports it. */
export interface PullEvent {
  /** E.g. `Pulling fs layer`, `Downloading`, `Pull complete`, `Status: Downloaded newer image …`. */
  status: string
  /** Layer id, for per-layer events. */
  id?: string
  /** Bytes done and total, for download/extract progress. */
  current?: number
  total?: number
}

/** Options for {@link Backend.launch}. */
export interface LaunchOptions {
  /** Called with each pull event while the launch pulls its image. */
  onProgress?: (event: PullEvent) => void
}

/** The engine's view of a container state. */
export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead'

/** A managed container as the engine reports it. */
export interface ContainerRecord {
  /** Engine-assigned id. */
  id: string
  /** Container name (no leading slash). */
  name: string
  /** Image reference the container was launched from. */
  image: string
  /** Engine state. */
  state: ContainerState
  /** Exit code when the state is `exited` or `dead`. */
  exitCode?: number
  /** ISO 8601 UTC creation time. */
  createdAt: string
  /** All labels on the container. */
  labels: Record<string, string>
  /** The HTTP port inside the container. */
  port: number
  /**
   * The TCP ports the container declares (its image's `EXPOSE` and `port`), when the engine tells;
   * a container that never answers on `port` is hinted towards the others.
   */
  exposedPorts?: number[]
  /** Soft memory reservation in MiB, read back from the ownership labels. */
  memReservationMb: number
  /** Base URL (`http://host:port`) the gateway proxies to; present only while running. */
  upstream?: string
  /** ISO 8601 UTC time of the last start, when the engine reports it. */
  startedAt?: string
  /**
   * ISO 8601 UTC time it last stopped, for a container that is not running (engine clock). From
   * `inspect`; `list` may leave it out (and `oomKilled`), as one call cannot afford it for all.
   */
  finishedAt?: string
  /** The engine killed it for running out of memory. */
  oomKilled?: boolean
  /** Per-container idle timeout given at launch. */
  idleTimeoutSeconds?: number
  /** Readiness path given at launch. */
  readinessPath?: string
  /** Proxy access given at launch (`public` when absent). */
  access?: 'public' | 'token'
  /** `false` when launched to receive the full public path; absent means stripped (the default). */
  stripPrefix?: false
}

/** A change the engine reports for a managed container. */
export interface BackendEvent {
  /** What happened, e.g. `start`, `die`, `stop`, `destroy`, `rename`. */
  action: string
  /** Container id. */
  id: string
  /** Container name after the event. */
  name: string
  /**
   * When it happened, in milliseconds since the epoch by the engine's clock (the clock of
   * {@link ContainerRecord.startedAt}). Lets a late report be told from a current one.
   */
  time?: number
}

/** Options for {@link Backend.logs}. */
export interface LogOptions {
  /** Only the last N lines. */
  tail?: number
  /** Prefix every line with an RFC 3339 timestamp. */
  timestamps?: boolean
  /** Keep streaming new output until the signal aborts or the container stops. */
  follow?: boolean
  /** Aborts a follow stream (the HTTP client left). */
  signal?: AbortSignal
}

/** Identity of the engine, for health checks. */
export interface BackendInfo {
  /** Engine version string. */
  version: string
  /**
   * When the engine itself last started, ISO 8601 UTC by its clock (that of
   * {@link ContainerRecord.finishedAt}): containers that stopped before it may have been stopped
   * by its shutdown.
   */
  startedAt?: string
  /** Containers keep running while the engine restarts (Docker's `live-restore`). */
  liveRestore?: boolean
  /** The engine's clock when it answered, ISO 8601 UTC (it may differ from the gateway's). */
  time?: string
}

/** A container engine. */
export interface Backend {
  /** Short name for logs and health output, e.g. `docker` or `memory`. */
  readonly name: string
  /**
   * The label root of the containers it manages, when it filters by one: the gateway adopts it,
   * and refuses a configuration that names another (it would act on another gateway's containers).
   */
  readonly labelRoot?: string
  /**
   * Create and start a container.
   * @throws NameConflictError when the name is taken, ImageUnavailableError when the image
   *   cannot be had, InvalidSpecError when the engine rejects the spec,
   *   BackendUnavailableError when the engine is unreachable.
   */
  launch(spec: LaunchSpec, options?: LaunchOptions): Promise<ContainerRecord>
  /** One managed container by exact name; `undefined` when unknown or not managed. */
  inspect(name: string): Promise<ContainerRecord | undefined>
  /** Every managed container, running or not. Never includes foreign containers. */
  list(): Promise<ContainerRecord[]>
  /** Remove a managed container and its volumes. Resolves `false` when it was unknown. */
  remove(name: string): Promise<boolean>
  /**
   * stdout and stderr, demultiplexed, as a byte stream.
   * @throws ContainerNotFoundError when the name is unknown.
   */
  logs(name: string, options?: LogOptions): Promise<ReadableStream<Uint8Array>>
  /** Check the engine answers. @throws BackendUnavailableError */
  ping(): Promise<BackendInfo>
  /**
   * Remove managed volumes whose container no longer exists (it was removed behind the
   * gateway's back). Resolves the removed volume names.
   */
  pruneVolumes?(): Promise<string[]>
  /**
   * Pull an image, yielding progress events; resolves once the pull has started.
   * @throws ImageUnavailableError when it cannot start or fails midway (thrown by the iterator).
   */
  pull?(image: string, signal?: AbortSignal): Promise<AsyncIterable<PullEvent>>
  /**
   * Start a stopped managed container (scale from zero). Starting a running one is not an error.
   * @throws ContainerNotFoundError when the name is unknown.
   */
  start?(name: string): Promise<ContainerRecord>
  /** Stop a running managed container: a graceful signal, then a kill after the stop timeout. */
  stop?(name: string): Promise<void>
  /**
   * Report events for managed containers until `signal` aborts. Settles when the event stream
   * ends or breaks; the caller reconnects.
   */
  watch?(onEvent: (event: BackendEvent) => void, signal: AbortSignal): Promise<void>
  /** Release connections and timers. */
  close?(): Promise<void>
}
