import { pullFailureReason } from '../pull-failure.js'
import type { Readable } from 'node:stream'
import Docker from 'dockerode'
import type { Backend, BackendEvent, ContainerRecord, LaunchSpec, LogOptions } from '../../backend.js'
import {
  BackendError,
  BackendUnavailableError,
  ContainerNotFoundError,
  ImageUnavailableError,
  NameConflictError,
} from '../../errors.js'
import { resolveConnection, type DockerTls } from '../docker/connection.js'
import { mapDockerError, statusOf } from '../docker/errors.js'
import { demuxedLogs } from '../docker/logs.js'
import { DEFAULT_CAP_DROP } from '../docker/options.js'
import { assertNoReservedLabels, DEFAULT_LABEL_ROOT } from '../labels.js'
import { newest, type ServiceLike, serviceRecord, type TaskLike, runningTask, taskAddress } from './records.js'
import { type ConfigMount, serviceLabel, serviceSpec } from './service.js'
import { serviceNetworks } from './networks.js'

/** Options for the `swarm()` backend. */
export interface SwarmBackendOptions {
  /** A manager's engine: Unix socket. Without it, `host`, or `DOCKER_HOST`, the local socket. */
  socketPath?: string
  /** A manager's engine address: `unix:///path`, `tcp://host:port`, `https://host:port`. */
  host?: string
  tls?: DockerTls
  /** Root of the ownership labels (default: django_docker_engine's). */
  labelRoot?: string
  /**
   * The attachable overlay network (default `hde-overlay`, created when missing). With `isolate`,
   * the prefix of each service's own network (`<network>-<service>`); without, the network every
   * service joins. The gateway reaches each task at its address on its network.
   */
  network?: string
  /**
   * Give each service an overlay network of its own, which only its task and the gateway's
   * container join, so that no task can reach another (default `true`). `false` puts every
   * service on `network`, where tasks can open each other's ports.
   */
  isolate?: boolean
  /**
   * The container the gateway runs in, joined to every service's network (name or id). By
   * default the container whose id is this host's name (Docker's default host name); a process
   * that runs in no container of the manager joins nothing, and cannot reach isolated tasks.
   */
  gatewayContainer?: string
  /** Placement constraints for every service, e.g. `["node.role==worker"]`. */
  constraints?: string[]
  /** Upper bound of one engine call (default 10 s). */
  apiTimeoutMs?: number
  /** How long a launch or wake waits for its task to run, pulls included (default 120 s). */
  startTimeoutMs?: number
  /** Grace between SIGTERM and SIGKILL when a task stops (default 10 s). */
  stopTimeoutSeconds?: number
  /** Capabilities dropped from every task. */
  capDrop?: string[]
  /** How often task placement is checked for moves, for `watch` (default 2 s). */
  taskPollMs?: number
  /** Environment to read `DOCKER_HOST` and friends from (default `process.env`). */
  env?: NodeJS.ProcessEnv
}

/** The Swarm backend: a {@link Backend} that also tells how it reaches tasks. */
export interface SwarmBackend extends Backend {
  /** Always at each task's address on the overlay network. */
  reach(): Promise<{ kind: 'network'; reason: string }>
}

/** The overlay network services join when `network` is not given. */
export const DEFAULT_SWARM_NETWORK = 'hde-overlay'

/**
 * A backend for Docker Swarm: each launch is a one-replica service on an overlay network, so a
 * platform can spread its users' tools over several hosts. It talks to a manager's engine API;
 * the gateway runs on the cluster, attached to the same overlay, and reaches tasks at their own
 * address (DNS round-robin endpoints: no virtual IP, no routing mesh).
 *
 * Services carry the same ownership labels as the Docker backend's containers; services without
 * `<labelRoot>=true` are never listed, inspected, or removed.
 *
 * @example
 * ```ts
 * const gateway = createNodeGateway({ backend: swarm({ network: 'tools' }) })
 * ```
 */
export function swarm(options: SwarmBackendOptions = {}): SwarmBackend {
  const root = options.labelRoot ?? DEFAULT_LABEL_ROOT
  const network = options.network ?? DEFAULT_SWARM_NETWORK
  const apiTimeoutMs = options.apiTimeoutMs ?? 10_000
  const startTimeoutMs = options.startTimeoutMs ?? 120_000
  const settings = {
    root,
    network,
    constraints: options.constraints ?? [],
    capDrop: options.capDrop ?? DEFAULT_CAP_DROP,
    stopGraceSeconds: options.stopTimeoutSeconds ?? 10,
  }
  const connection = resolveConnection(
    {
      ...(options.socketPath ? { socketPath: options.socketPath } : {}),
      ...(options.host ? { host: options.host } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
    },
    options.env ?? process.env,
  )
  const client = new Docker(connection.options)
  const timeout = () => AbortSignal.timeout(apiTimeoutMs)
  const fail = (err: unknown): never => {
    throw mapDockerError(err, apiTimeoutMs)
  }
  /** dockerode takes `abortSignal` on these calls; its type definitions lag. */
  const call = <T>(fn: (opts: object) => Promise<T>, opts: object = {}) =>
    fn({ ...opts, abortSignal: timeout() }).catch(fail)

  /** The service by exact name, if it is ours. */
  const findService = async (name: string): Promise<ServiceLike | undefined> => {
    let service: ServiceLike
    try {
      service = (await client.getService(name).inspect({ abortSignal: timeout() } as object)) as ServiceLike
    } catch (err) {
      if (statusOf(err) === 404) return undefined
      return fail(err)
    }
    // The engine also resolves ids and id prefixes; only an exact name match counts.
    if (service.Spec?.Name !== name || service.Spec?.Labels?.[root] !== 'true') return undefined
    return service
  }
  /** A service's tasks (Swarm keeps a few ended ones per slot), or every task of the cluster. */
  const tasksOf = (serviceId?: string) =>
    call(
      (opts) => client.listTasks(opts) as Promise<TaskLike[]>,
      serviceId ? { filters: { service: [serviceId] } } : {},
    )
  const networks = serviceNetworks({
    client,
    root,
    network,
    isolate: options.isolate ?? true,
    ...(options.gatewayContainer ? { gatewayContainer: options.gatewayContainer } : {}),
    call,
    releaseWithinMs: settings.stopGraceSeconds * 1000 + 60_000,
  })
  /** A service as a record; the gateway joins its network before anyone is sent to its task. */
  const asRecord = async (service: ServiceLike, tasks: TaskLike[]) => {
    const name = service.Spec?.Name ?? ''
    const record = serviceRecord(service, tasks, root, networks.addressNetworks(name))
    if (record?.upstream) await networks.join(name)
    return record
  }
  const recordOf = async (service: ServiceLike) => asRecord(service, await tasksOf(service.ID))

  /** Watchers of this backend: told at once of the starts it made itself (see `watch`). */
  const watchers = new Set<(record: ContainerRecord) => void>()
  const started = (record: ContainerRecord) => {
    for (const watcher of watchers) watcher(record)
    return record
  }

  let networkReady: Promise<void> | undefined
  /** The overlay network, created (attachable, so the gateway's container can join it) when missing. */
  const ensureNetwork = () =>
    (networkReady ??= (async () => {
      const found = await (client.getNetwork(network).inspect as (o: object) => Promise<{ Driver?: string }>)({
        abortSignal: timeout(),
      }).catch((err: unknown) => (statusOf(err) === 404 ? undefined : fail(err)))
      if (found) return
      await call((opts) =>
        client.createNetwork({
          ...opts,
          Name: network,
          Driver: 'overlay',
          Attachable: true,
          Labels: { [root]: 'true' },
        }),
      ).catch((err: unknown) => (statusOf((err as Error).cause) === 409 ? undefined : Promise.reject(err)))
    })().catch((err: unknown) => {
      networkReady = undefined
      throw err
    }))

  /**
   * Wait until the service has a running task with an address; a task Swarm rejects (an image no
   * node has, a mount that cannot be made) ends the wait with its reason instead of retrying forever.
   */
  const whenRunning = async (service: ServiceLike, image: string): Promise<ContainerRecord> => {
    const deadline = Date.now() + startTimeoutMs
    let delay = 100
    let last = 'no task was placed'
    while (Date.now() < deadline) {
      const tasks = await tasksOf(service.ID)
      const task = runningTask(tasks)
      if (task && taskAddress(task, networks.addressNetworks(service.Spec?.Name ?? ''))) {
        const record = await asRecord(service, tasks)
        if (record) return record
      }
      const rejected = tasks.find((t) => t.Status?.State === 'rejected')
      if (rejected) {
        const said = rejected.Status?.Err
        throw new ImageUnavailableError(image, pullFailureReason(said), {
          cause: new Error(`Swarm rejected its task: ${said ?? 'no reason given'}`),
        })
      }
      const latest = newest(tasks)
      if (latest?.Status)
        last = `its task is ${latest.Status.State}${latest.Status.Err ? `: ${latest.Status.Err}` : ''}`
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 1_000)
    }
    throw new BackendError(
      `"${service.Spec?.Name}" did not start within ${Math.round(startTimeoutMs / 1000)} s: ${last}`,
    )
  }

  /** Remove a service's configs (its input files). */
  const removeConfigs = async (name: string) => {
    const configs = await call((opts) => client.listConfigs(opts) as Promise<{ ID: string }[]>, {
      filters: { label: [`${serviceLabel(root)}=${name}`] },
    })
    for (const config of configs) {
      await (client.getConfig(config.ID).remove as (o: object) => Promise<unknown>)({ abortSignal: timeout() }).catch(
        (err: unknown) => (statusOf(err) === 404 ? undefined : fail(err)),
      )
    }
  }

  /** Set the replica count (scale to zero and back), against the version the engine last showed. */
  const scale = async (name: string, replicas: number) => {
    const service = await findService(name)
    if (!service) throw new ContainerNotFoundError(name)
    const full = service as ServiceLike & { Spec: object }
    const spec = { ...full.Spec, Mode: { Replicated: { Replicas: replicas } } }
    await call((opts) => client.getService(service.ID).update({ ...opts, ...spec, version: service.Version?.Index }))
    return service
  }

  /** Every managed service as a record: two calls, whatever the number of services. */
  const list = async (): Promise<ContainerRecord[]> => {
    const [services, tasks] = await Promise.all([
      call((opts) => client.listServices(opts) as Promise<ServiceLike[]>, { filters: { label: [`${root}=true`] } }),
      tasksOf(),
    ])
    const byService = new Map<string, TaskLike[]>()
    for (const task of tasks)
      byService.set(task.ServiceID ?? '', [...(byService.get(task.ServiceID ?? '') ?? []), task])
    const records = await Promise.all(
      services.map((service) =>
        // A network the gateway cannot join now is tried again on the next read; the listing stands.
        asRecord(service, byService.get(service.ID) ?? []).catch(() =>
          serviceRecord(
            service,
            byService.get(service.ID) ?? [],
            root,
            networks.addressNetworks(service.Spec?.Name ?? ''),
          ),
        ),
      ),
    )
    return records.filter((record): record is ContainerRecord => record !== undefined)
  }

  return {
    name: 'swarm',
    labelRoot: root,

    async reach() {
      return {
        kind: 'network' as const,
        reason: `Swarm tasks are reached at their own address: ${await networks.describe()}`,
      }
    },

    async launch(spec: LaunchSpec) {
      assertNoReservedLabels(spec, root)
      await ensureNetwork()
      if (await findService(spec.name)) throw new NameConflictError(spec.name)
      await networks.prepare(spec.name)
      const configs: ConfigMount[] = []
      let serviceId: string | undefined
      try {
        for (const [i, file] of (spec.files ?? []).entries()) {
          const name = `${spec.name}-file-${i}-${Date.now().toString(36)}`
          const created = await call((opts) =>
            client.createConfig({
              ...opts,
              Name: name,
              Labels: { [root]: 'true', [serviceLabel(root)]: spec.name },
              Data: Buffer.from(file.content).toString('base64'),
            }),
          )
          configs.push({ id: (created as { id: string }).id, name, path: file.path })
        }
        let created: { id: string }
        try {
          created = (await client.createService({
            ...serviceSpec(spec, configs, { ...settings, network: networks.networkOf(spec.name) }),
            abortSignal: timeout(),
          } as unknown as Docker.CreateServiceOptions)) as unknown as { id: string }
        } catch (err) {
          if (statusOf(err) === 409) throw new NameConflictError(spec.name, { cause: err })
          return fail(err)
        }
        serviceId = created.id
        const service = await findService(spec.name)
        if (!service) throw new BackendError(`Service "${spec.name}" vanished right after it was created`)
        return started(await whenRunning(service, spec.image))
      } catch (err) {
        // Leave nothing behind from a failed launch.
        if (serviceId)
          await client
            .getService(serviceId)
            .remove()
            .catch(() => {})
        await removeConfigs(spec.name).catch(() => {})
        networks.release(spec.name)
        throw err
      }
    },

    async inspect(name) {
      const service = await findService(name)
      return service && (await recordOf(service))
    },

    list,

    async remove(name) {
      const service = await findService(name)
      if (!service) return false
      try {
        await (client.getService(service.ID).remove as (o: object) => Promise<unknown>)({ abortSignal: timeout() })
      } catch (err) {
        if (statusOf(err) === 404) return false
        return fail(err)
      }
      networks.release(name)
      // A config can be removed once no task uses it: the tasks go down with their service.
      const deadline = Date.now() + apiTimeoutMs
      for (;;) {
        try {
          await removeConfigs(name)
          break
        } catch (err) {
          if (Date.now() > deadline) throw err
          await new Promise((resolve) => setTimeout(resolve, 250))
        }
      }
      return true
    },

    async logs(name, logOptions: LogOptions = {}) {
      const service = await findService(name)
      if (!service) throw new ContainerNotFoundError(name)
      try {
        const answer = (await client.getService(service.ID).logs({
          stdout: true,
          stderr: true,
          timestamps: logOptions.timestamps ?? false,
          follow: logOptions.follow ?? false,
          ...(logOptions.tail === undefined ? {} : { tail: logOptions.tail }),
          ...(logOptions.signal ? { abortSignal: logOptions.signal } : {}),
        } as Docker.ContainerLogsOptions)) as unknown as NodeJS.ReadableStream | Buffer
        return demuxedLogs(client.modem, answer)
      } catch (err) {
        if (statusOf(err) === 404) throw new ContainerNotFoundError(name, { cause: err })
        return fail(err)
      }
    },

    async start(name) {
      const service = await scale(name, 1)
      const image = service.Spec?.TaskTemplate?.ContainerSpec?.Image ?? name
      return started(
        await whenRunning({ ...service, Spec: { ...service.Spec, Mode: { Replicated: { Replicas: 1 } } } }, image),
      )
    },

    async stop(name) {
      await scale(name, 0)
    },

    async watch(onEvent, signal) {
      await watchServices(
        {
          services: list,
          // The stream lasts as long as the watch: bounded by its signal, not by the call timeout.
          events: () =>
            (
              client.getEvents({
                filters: { type: ['service'] },
                abortSignal: signal,
              } as object) as Promise<NodeJS.ReadableStream>
            ).catch(fail),
          follow: (stream, done, each) => client.modem.followProgress(stream, done, each),
          ownStarts: (listener) => {
            watchers.add(listener)
            return () => watchers.delete(listener)
          },
          pollMs: options.taskPollMs ?? 2_000,
        },
        (event) => {
          // A service removed elsewhere (another gateway, the CLI): this gateway leaves its network too.
          if (event.action === 'destroy') networks.release(event.name)
          onEvent(event)
        },
        signal,
      ).catch((err: unknown) => (signal.aborted ? undefined : fail(err)))
    },

    async ping() {
      const [version, info] = await Promise.all([
        call((opts) => (client.version as (o: object) => Promise<Docker.DockerVersion>)(opts)),
        call((opts) =>
          (client.info as (o: object) => Promise<{ Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } }>)(
            opts,
          ),
        ),
      ])
      if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
        throw new BackendUnavailableError(
          'This Docker Engine is not a Swarm manager: the swarm backend needs a manager node (docker swarm init)',
        )
      }
      return { version: version.Version }
    },

    /** The gateway's container leaves the services' networks (restarted, it joins them again); services keep running. */
    async close() {
      await networks.leave()
    },
  }
}

/** What {@link watchServices} follows. */
interface ServiceWatchSources {
  /** The managed services as records (one listing). */
  services(): Promise<ContainerRecord[]>
  /** The engine's service events. */
  events(): Promise<NodeJS.ReadableStream>
  follow(
    stream: NodeJS.ReadableStream,
    done: (err: unknown) => void,
    each: (event: { Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } }) => void,
  ): void
  pollMs: number
  /** Starts this backend made itself, reported at once. */
  ownStarts(listener: (record: ContainerRecord) => void): () => void
}

/**
 * Follow services: the engine's service events (create, update, remove), plus a poll of where
 * each service's task runs, because Swarm reports no event when a task starts, ends or moves to
 * another node. A task that runs at a new address is a `start` (its route is read again), a
 * service whose task is gone is a `die`, and a service that vanished is a `destroy`.
 */
async function watchServices(
  sources: ServiceWatchSources,
  onEvent: (event: BackendEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const where = new Map<string, { name: string; upstream: string | undefined }>()
  const poll = async (initial: boolean) => {
    const records = await sources.services()
    const seen = new Set<string>()
    for (const record of records) {
      seen.add(record.id)
      const before = where.get(record.id)
      if (!initial && before?.upstream !== record.upstream) {
        const time = record.upstream ? startTime(record) : Date.now()
        if (record.upstream || before)
          onEvent({ action: record.upstream ? 'start' : 'die', id: record.id, name: record.name, time })
      }
      where.set(record.id, { name: record.name, upstream: record.upstream })
    }
    for (const [id, { name }] of where) {
      if (seen.has(id)) continue
      where.delete(id)
      onEvent({ action: 'destroy', id, name, time: Date.now() })
    }
  }
  await poll(true)
  const ownStarts = sources.ownStarts((record) => {
    where.set(record.id, { name: record.name, upstream: record.upstream })
    onEvent({ action: 'start', id: record.id, name: record.name, time: startTime(record) })
  })
  let stream: NodeJS.ReadableStream | undefined
  // Removed when this watch ends: a follower that watches again with the same signal adds no more.
  const onAbort = () => (stream as Readable | undefined)?.destroy?.()
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    stream = await sources.events()
  } catch (err) {
    ownStarts()
    signal.removeEventListener('abort', onAbort)
    throw err
  }
  const timer = setInterval(() => void poll(false).catch(() => {}), sources.pollMs)
  try {
    await new Promise<void>((resolve, reject) => {
      sources.follow(
        stream!,
        (err) => (err && !signal.aborted ? reject(err) : resolve()),
        (event) => {
          const id = event.Actor?.ID
          const name = event.Actor?.Attributes?.name
          if (!id || !name || event.Action !== 'remove' || !where.has(id)) return
          where.delete(id)
          onEvent({ action: 'destroy', id, name, time: Date.now() })
        },
      )
    })
  } finally {
    clearInterval(timer)
    ownStarts()
    signal.removeEventListener('abort', onAbort)
  }
}

/** When a record's task started, by the engine's clock (now, if it does not say). */
function startTime(record: ContainerRecord): number {
  return Date.parse(record.startedAt ?? '') || Date.now()
}
