import type { Readable } from 'node:stream'
import Docker from 'dockerode'
import { putFiles } from './archive.js'
import { recordMapper, type Reach } from './records.js'
import { chooseReach, type ReachChoice } from './reach.js'
import { isLoopbackHost, resolveConnection } from './connection.js'
import { createBody, type VolumeMount } from './create.js'
import { DEFAULT_ISOLATED_NETWORK, ensureIsolatedNetwork } from './network.js'
import { DEFAULT_CAP_DROP, DEFAULT_LABEL_ROOT, type DockerBackendOptions } from './options.js'
import { pullError, pullEvents } from './pull.js'
import { demuxedLogs } from './logs.js'
import { assertNoReservedLabels } from '../labels.js'
import type { Backend, BackendEvent, LaunchSpec, LogOptions, PullEvent } from '../../backend.js'
import {
  BackendError,
  ConfigError,
  ContainerNotFoundError,
  ImageUnavailableError,
  NameConflictError,
} from '../../errors.js'
import { mapDockerError, statusOf } from './errors.js'
import { CONTAINER_ATTRIBUTE, traced } from '../../telemetry/tracing.js'

export { DEFAULT_CAP_DROP, DEFAULT_LABEL_ROOT, type DockerBackendOptions }

/** One message of the engine's event stream, as far as the gateway reads it. */
interface DockerEvent {
  Action?: string
  Actor?: { ID?: string; Attributes?: Record<string, string> }
  /** Seconds since the epoch. */
  time?: number
  /** Nanoseconds since the epoch. */
  timeNano?: number
}

/** The Docker backend: a {@link Backend} that also tells how it reaches containers. */
export interface DockerBackend extends Backend {
  /** The reach in force (`auto` decided) and why. Rejects while the engine cannot be asked. */
  reach(): Promise<{ kind: 'published' | 'network'; reason: string }>
}

/**
 * A backend driving a Docker Engine through dockerode. The only module that imports dockerode.
 *
 * Containers carry `<labelRoot>=true`, `<labelRoot>.port` and `<labelRoot>.mem_reservation_mb`,
 * so the routing table can be rebuilt from the engine at any time. Containers without the root
 * label are never listed, inspected, or removed.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ backend: docker({ socketPath: '/var/run/docker.sock' }) })
 * ```
 */
export function docker(options: DockerBackendOptions = {}): DockerBackend {
  const root = options.labelRoot ?? DEFAULT_LABEL_ROOT
  const apiTimeoutMs = options.apiTimeoutMs ?? 10_000
  const pullTimeoutMs = options.pullTimeoutMs ?? 300_000
  const stopTimeoutSeconds = options.stopTimeoutSeconds ?? 10
  const capDrop = options.capDrop ?? DEFAULT_CAP_DROP
  const noNewPrivileges = options.noNewPrivileges ?? true
  const connection = resolveConnection(
    {
      ...(options.socketPath ? { socketPath: options.socketPath } : {}),
      ...(options.host ? { host: options.host } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
    },
    options.env ?? process.env,
  )
  // A remote engine's ports must be published where the gateway can reach them.
  const remote = connection.remoteHost !== undefined && !isLoopbackHost(connection.remoteHost)
  const publishHost = options.publishHost ?? (remote ? '0.0.0.0' : '127.0.0.1')
  const upstreamHost = formatHost(
    options.upstreamHost ?? (remote ? connection.remoteHost! : isWildcard(publishHost) ? '127.0.0.1' : publishHost),
  )
  if (options.reach === 'network' && (options.publishHost || options.upstreamHost)) {
    throw new ConfigError('docker backend: publishHost and upstreamHost apply only with reach "published" or "auto"')
  }
  // `auto` (the default) is decided on first use, when the engine can be asked (see `chosenReach`).
  const fixedReach: Reach | undefined =
    options.reach === 'network'
      ? { kind: 'network', ...(options.network ? { network: options.network } : {}) }
      : options.reach === 'published'
        ? { kind: 'published', host: upstreamHost }
        : undefined
  const client = new Docker(connection.options)
  const timeout = () => AbortSignal.timeout(apiTimeoutMs)
  const fail = (err: unknown): never => {
    throw mapDockerError(err, apiTimeoutMs)
  }
  const launchTimeoutMs = options.launchTimeoutMs ?? 120_000
  /** For the calls that create and start containers: the engine queues them under a burst. */
  const launchTimeout = () => AbortSignal.timeout(launchTimeoutMs)
  const failLaunch = (err: unknown): never => {
    throw mapDockerError(err, launchTimeoutMs)
  }

  let mapping: ReturnType<typeof recordMapper> | undefined
  /** Records from the engine's views, by the reach in force. */
  const records = async () => (mapping ??= recordMapper(root, (await chosenReach()).reach))
  const toRecord = async (info: Docker.ContainerInspectInfo) => (await records()).fromInspect(info)

  /** Inspect by exact name; `undefined` unless it exists, has that exact name, and is ours. */
  const inspectOwned = async (name: string): Promise<Docker.ContainerInspectInfo | undefined> => {
    let info: Docker.ContainerInspectInfo
    try {
      info = await client.getContainer(name).inspect({ abortSignal: timeout() })
    } catch (err) {
      if (statusOf(err) === 404) return undefined
      return fail(err)
    }
    // Docker also resolves id prefixes; only an exact name match counts.
    if (info.Name !== `/${name}` || info.Config?.Labels?.[root] !== 'true') return undefined
    return info
  }

  const removeVolumes = async (names: string[]) => {
    for (const volumeName of names) {
      try {
        await client.getVolume(volumeName).remove({ abortSignal: timeout() })
      } catch (err) {
        if (statusOf(err) !== 404) throw mapDockerError(err, apiTimeoutMs)
      }
    }
  }

  /** Start a pull; resolves once the engine accepted it. */
  const startPull = async (image: string, signal: AbortSignal) => {
    try {
      const stream = (await client.pull(image, { abortSignal: signal })) as NodeJS.ReadableStream
      return pullEvents(client.modem, stream, image, pullTimeoutMs)
    } catch (err) {
      throw pullError(image, err, pullTimeoutMs)
    }
  }

  /** Pull to the end, reporting progress. */
  const pullAll = (image: string, onProgress?: (event: PullEvent) => void) =>
    traced('pull', { 'container.image.name': image }, async () => {
      for await (const event of await startPull(image, AbortSignal.timeout(pullTimeoutMs))) onProgress?.(event)
    })

  // Containers cannot reach each other unless the operator chose a network (or the default bridge).
  const isolatedNetwork =
    options.network || options.isolate === false ? undefined : (options.isolatedNetwork ?? DEFAULT_ISOLATED_NETWORK)
  let networkReady: Promise<void> | undefined
  const ensureNetwork = () =>
    (networkReady ??= ensureIsolatedNetwork(client, isolatedNetwork!, root, apiTimeoutMs).catch((err: unknown) => {
      networkReady = undefined
      throw err
    }))
  const network = options.network ?? isolatedNetwork

  /** The IPv4 subnets of a Docker network. */
  const subnetsOf = async (name: string) => {
    // dockerode takes `abortSignal` here too; its type definitions lag.
    const found = client.getNetwork(name) as unknown as { inspect(opts: object): Promise<Docker.NetworkInspectInfo> }
    const info = await found.inspect({ abortSignal: timeout() }).catch(fail)
    return (info.IPAM?.Config ?? [])
      .filter((config) => config.Subnet && !config.Subnet.includes(':'))
      .map((config) => ({ subnet: config.Subnet!, ...(config.Gateway ? { gateway: config.Gateway } : {}) }))
  }
  let choosing: Promise<ReachChoice> | undefined
  /** The reach in force: as configured, or what `auto` chooses, once (again after a failure to ask). */
  const chosenReach = () =>
    (choosing ??= (async (): Promise<ReachChoice> => {
      if (fixedReach) return { reach: fixedReach, reason: `docker.reach is "${fixedReach.kind}"` }
      if (isolatedNetwork) await ensureNetwork()
      const joined = network ?? 'bridge'
      return chooseReach({
        remoteHost: remote ? connection.remoteHost : undefined,
        network: joined,
        subnets: () => subnetsOf(joined),
        publishedHost: upstreamHost,
      })
    })().catch((err: unknown) => {
      choosing = undefined
      throw err
    }))

  const create = (spec: LaunchSpec, mounts: VolumeMount[]) =>
    traced('create', { [CONTAINER_ATTRIBUTE]: spec.name }, () => createNow(spec, mounts))
  const createNow = async (spec: LaunchSpec, mounts: VolumeMount[]) => {
    const creation = {
      root,
      reach: (await chosenReach()).reach,
      publishHost,
      capDrop,
      noNewPrivileges,
      stopTimeoutSeconds,
      ...(network ? { network } : {}),
    }
    return client.createContainer({
      ...createBody(spec, mounts, creation),
      abortSignal: launchTimeout(),
    } as Docker.ContainerCreateOptions)
  }

  return {
    name: 'docker',
    labelRoot: root,

    async reach() {
      const { reach, reason } = await chosenReach()
      return { kind: reach.kind, reason }
    },

    async launch(spec, launchOptions = {}) {
      // The gateway's settings live in labels under its root: a caller's label never sets one.
      assertNoReservedLabels(spec, root)
      if (isolatedNetwork) await ensureNetwork()
      const volumes: string[] = []
      let container: Docker.Container | undefined
      try {
        for (const target of spec.extraDirectories) {
          const volume = await client
            .createVolume({
              Labels: { [root]: 'true', [`${root}.container`]: spec.name, [`${root}.target`]: target },
              abortSignal: timeout(),
            } as Docker.VolumeCreateOptions)
            .catch(fail)
          volumes.push(volume.name)
        }
        const mounts = spec.extraDirectories.map((target, i) => ({
          Type: 'volume' as const,
          Source: volumes[i]!,
          Target: target,
        }))
        if (spec.pull === 'always') await pullAll(spec.image, launchOptions.onProgress)
        try {
          container = await create(spec, mounts)
        } catch (err) {
          if (statusOf(err) === 409) throw new NameConflictError(spec.name, { cause: err })
          if (statusOf(err) !== 404) return failLaunch(err)
          if (spec.pull === 'never')
            throw new ImageUnavailableError(spec.image, 'not_present', {
              cause: err,
            })
          await pullAll(spec.image, launchOptions.onProgress)
          container = await create(spec, mounts).catch((retryErr: unknown) => {
            if (statusOf(retryErr) === 409) throw new NameConflictError(spec.name, { cause: retryErr })
            return failLaunch(retryErr)
          })
        }
        if (spec.files?.length) await putFiles(container, spec.files, timeout).catch(fail)
        const created = container
        await traced('start', { [CONTAINER_ATTRIBUTE]: spec.name }, () =>
          created.start({ abortSignal: launchTimeout() }).catch(failLaunch),
        )
        const info = await container.inspect({ abortSignal: launchTimeout() }).catch(failLaunch)
        const record = await toRecord(info)
        if (!record) throw new BackendError(`Container "${spec.name}" lost its ownership label`)
        return record
      } catch (err) {
        // Leave nothing behind from a failed launch.
        if (container) await container.remove({ force: true, v: true }).catch(() => {})
        await removeVolumes(volumes).catch(() => {})
        throw err
      }
    },

    async inspect(name) {
      const info = await inspectOwned(name)
      return info && (await toRecord(info))
    },

    async list() {
      const summaries = await client
        .listContainers({
          all: true,
          filters: { label: [`${root}=true`] },
          abortSignal: timeout(),
        } as Docker.ContainerListOptions)
        .catch(fail)
      // One call for all: a summary has the exit code, not when or how (OOM) it ended; whoever
      // needs those asks `inspect` for the few containers that need them.
      const mapper = await records()
      return summaries.map((summary) => mapper.fromSummary(summary))
    },

    async remove(name) {
      const info = await inspectOwned(name)
      if (!info) return false
      const volumes = (info.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!)
      try {
        await client.getContainer(info.Id).remove({ force: true, v: true, abortSignal: timeout() })
      } catch (err) {
        if (statusOf(err) === 404) return false
        return fail(err)
      }
      const ours: string[] = []
      for (const volumeName of volumes) {
        const volume = await client
          .getVolume(volumeName)
          .inspect({ abortSignal: timeout() })
          .catch(() => undefined)
        if (volume?.Labels?.[root] === 'true') ours.push(volumeName)
      }
      await removeVolumes(ours)
      return true
    },

    async logs(name, logOptions: LogOptions = {}) {
      const info = await inspectOwned(name)
      if (!info) throw new ContainerNotFoundError(name)
      const container = client.getContainer(info.Id)
      const base = {
        stdout: true,
        stderr: true,
        timestamps: logOptions.timestamps ?? false,
        ...(logOptions.tail === undefined ? {} : { tail: logOptions.tail }),
      }
      try {
        const answer = logOptions.follow
          ? ((await container.logs({
              ...base,
              follow: true,
              ...(logOptions.signal ? { abortSignal: logOptions.signal } : {}),
            })) as NodeJS.ReadableStream)
          : ((await container.logs({ ...base, follow: false, abortSignal: timeout() })) as Buffer)
        return demuxedLogs(client.modem, answer)
      } catch (err) {
        // 409: "dead or marked for removal", a container on its way out: as good as gone.
        if (statusOf(err) === 404 || statusOf(err) === 409) throw new ContainerNotFoundError(name, { cause: err })
        return fail(err)
      }
    },

    async start(name) {
      const info = await inspectOwned(name)
      if (!info) throw new ContainerNotFoundError(name)
      const container = client.getContainer(info.Id)
      try {
        await container.start({ abortSignal: launchTimeout() })
      } catch (err) {
        // 304: already running, which is what the caller wants.
        if (statusOf(err) === 404) throw new ContainerNotFoundError(name, { cause: err })
        if (statusOf(err) !== 304) return failLaunch(err)
      }
      const record = await toRecord(await container.inspect({ abortSignal: timeout() }).catch(fail))
      if (!record) throw new ContainerNotFoundError(name)
      return record
    },

    async stop(name) {
      const info = await inspectOwned(name)
      if (!info) throw new ContainerNotFoundError(name)
      try {
        await client
          .getContainer(info.Id)
          .stop({ t: stopTimeoutSeconds, abortSignal: AbortSignal.timeout(stopTimeoutSeconds * 1000 + apiTimeoutMs) })
      } catch (err) {
        // 304: already stopped.
        if (statusOf(err) === 404) throw new ContainerNotFoundError(name, { cause: err })
        if (statusOf(err) !== 304) fail(err)
      }
    },

    async watch(onEvent, signal) {
      const stream = (await client
        .getEvents({ filters: { type: ['container'], label: [`${root}=true`] }, abortSignal: signal } as object)
        .catch(fail)) as NodeJS.ReadableStream
      signal.addEventListener('abort', () => (stream as Readable).destroy?.(), { once: true })
      await new Promise<void>((resolve, reject) => {
        client.modem.followProgress(
          stream,
          (err: unknown) => (err && !signal.aborted ? reject(mapDockerError(err, apiTimeoutMs)) : resolve()),
          (event: DockerEvent) => {
            const id = event.Actor?.ID
            const eventName = event.Actor?.Attributes?.name
            if (!event.Action || !id || !eventName) return
            const time = event.timeNano ? event.timeNano / 1e6 : event.time ? event.time * 1000 : undefined
            onEvent({ action: event.Action, id, name: eventName, ...(time ? { time } : {}) } satisfies BackendEvent)
          },
        )
      })
    },

    async pruneVolumes() {
      const { Volumes } = await client
        .listVolumes({ filters: { label: [`${root}=true`] }, abortSignal: timeout() } as object)
        .catch(fail)
      const removed: string[] = []
      for (const volume of Volumes ?? []) {
        const owner = volume.Labels?.[`${root}.container`]
        const createdAt = Date.parse((volume as { CreatedAt?: string }).CreatedAt ?? '')
        // A launch creates volumes just before its container: leave young ones alone.
        if (!owner || !(Date.now() - createdAt >= (options.orphanVolumeMinAgeMs ?? 60_000))) continue
        if (await inspectOwned(owner)) continue
        await removeVolumes([volume.Name]).then(
          () => removed.push(volume.Name),
          () => {},
        )
      }
      return removed
    },

    pull(image, signal) {
      return startPull(image, signal ?? AbortSignal.timeout(pullTimeoutMs))
    },

    async ping() {
      const [version, info, bridge] = await Promise.all([
        (client.version as (opts: object) => Promise<Docker.DockerVersion>)({ abortSignal: timeout() }),
        (client.info as (opts: object) => Promise<{ LiveRestoreEnabled?: boolean; SystemTime?: string }>)({
          abortSignal: timeout(),
        }),
        // The engine re-creates its default bridge network each time it starts (unless live-restore
        // keeps running containers on it): its creation time tells when the engine last started.
        (client.getNetwork('bridge').inspect as (opts: object) => Promise<{ Created?: string }>)({
          abortSignal: timeout(),
        }).catch((err: unknown) => (statusOf(err) === 404 ? undefined : Promise.reject(err))),
      ]).catch(fail)
      const startedAt = Date.parse(bridge?.Created ?? '')
      return {
        version: version.Version,
        liveRestore: info.LiveRestoreEnabled === true,
        ...(info.SystemTime ? { time: info.SystemTime } : {}),
        ...(startedAt > 0 ? { startedAt: new Date(startedAt).toISOString() } : {}),
      }
    },
  }
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === ''
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
