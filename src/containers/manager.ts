import type { Backend, ContainerRecord, LaunchOptions, LaunchSpec, PullEvent } from '../backend.js'
import type { Config } from '../config/schema.js'
import { AccessDeniedError, BackendError, ContainerNotFoundError } from '../errors.js'
import { makeRoom } from '../lifecycle/eviction.js'
import { describePull } from './pull-progress.js'
import { sameSecret } from '../util/secrets.js'
import { StoppedByGateway } from './stopped.js'
import type { Logger } from '../logger.js'
import type { GatewayMetrics } from '../metrics.js'
import { CONNECTION_FAILED, type ContainerStatus } from './readiness.js'
import { ServedInputs, type ServedInput } from './served-inputs.js'
import type { ContainerStore, HistoryEntry } from '../stores/store.js'
import type { UpstreamFetch } from '../proxy/upstream.js'
import { ContainerView } from './view.js'
import { randomToken } from '../util/secrets.js'
import { sleep } from '../util/sleep.js'
import { CONTAINER_ATTRIBUTE, endSpan, startSpan, traced } from '../telemetry/tracing.js'

/** How long a container may be starting before the API says why it is not ready yet. */
const NOT_READY_HINT_AFTER_SECONDS = 3
/** Compared against when a name has no input, so that every miss costs the same. */
const NO_INPUT_TOKEN = 'no input is served under this name'

/** Options for {@link ContainerManager}. */
export interface ContainerManagerOptions {
  backend: Backend
  store: ContainerStore
  config: Config
  fetch: UpstreamFetch
  logger: Logger
  metrics: GatewayMetrics
  /**
   * Whether this gateway leads the replicas sharing its store (always, on a store of its own):
   * only the leader drops stored state of containers it no longer finds.
   */
  isLeader?: () => boolean
  /** This gateway's name among its replicas, for the leases it holds. */
  replicaId?: string
}

/** How often a replica waiting for another's wake or launch asks again (ms). */
const LEASE_POLL_MS = 200

/**
 * Owns the gateway's view of its containers: routing cache, readiness, activity, history,
 * wake-ups, eviction and removal. The API and the proxy both go through it, so every path
 * that changes a container also keeps that view true.
 */
export class ContainerManager extends ContainerView {
  readonly #store: ContainerStore
  /** The validated configuration in force. */
  readonly config: Config
  readonly #logger: Logger
  /** Containers the gateway stopped itself (scale to zero): woken by the next request. */
  readonly #stopped: StoppedByGateway
  readonly #waking = new Map<string, Promise<ContainerRecord>>()
  /** What each launch in progress is doing, for the please-wait page. */
  readonly #launching = new Map<string, string>()
  /** Inputs of launches in progress: a container may ask for its input before launch returns. */
  readonly #pendingInputs = new Map<string, ServedInput>()
  /** Inputs of launched containers, by name, for their input URLs. */
  readonly #inputs = new ServedInputs(async () => {
    const entries: [string, string, ServedInput][] = []
    for (const record of await this.backend.list()) {
      const input = (await this.#store.readMeta(record.id)).input
      if (input) entries.push([record.name, record.id, input])
    }
    return entries
  })
  #launchQueue: Promise<unknown> = Promise.resolve()
  #pruneTimer: ReturnType<typeof setTimeout> | undefined
  readonly #metrics: GatewayMetrics
  /** When each container's launch or wake began, until it is ready (for the ready-duration metric). */
  readonly #startedAt = new Map<string, number>()
  readonly #isLeader: () => boolean
  /** This gateway's name among replicas, for the leases it holds. */
  readonly replicaId: string
  readonly #unwatch: (() => void) | undefined

  constructor(options: ContainerManagerOptions) {
    super({
      ...options,
      onReady: (id) => {
        const started = this.#startedAt.get(id)
        if (started === undefined) return
        this.#startedAt.delete(id)
        this.#metrics.readyDuration.observe({}, (performance.now() - started) / 1000)
      },
    })
    this.#store = options.store
    this.config = options.config
    this.#logger = options.logger
    this.#metrics = options.metrics
    this.#stopped = new StoppedByGateway(options.store)
    this.#isLeader = options.isLeader ?? (() => true)
    this.replicaId = options.replicaId ?? randomToken().slice(0, 16)
    // Another replica changed what this one may have cached: read it again when next needed.
    this.#unwatch = options.store.watch?.((id) => {
      this.#stopped.forget(id)
      this.access.forget(id)
      this.#inputs.reload()
      this.changes.notify()
    })
  }

  /**
   * Run `task` holding the store's lease `name` (renewed while it runs), waiting up to `waitMs`
   * for another replica to give it up. On a store of one gateway's own, the lease is always free.
   */
  async #withLease<T>(name: string, waitMs: number, task: () => Promise<T>): Promise<T> {
    const ttlMs = 30_000
    const deadline = performance.now() + waitMs
    while ((await this.#store.lease(name, this.replicaId, ttlMs)) === undefined) {
      if (performance.now() > deadline)
        throw new BackendError(
          `Another gateway replica held the lease "${name}" for over ${Math.round(waitMs / 1000)} s`,
        )
      await sleep(LEASE_POLL_MS)
    }
    const renewal = setInterval(() => void this.#store.lease(name, this.replicaId, ttlMs).catch(() => {}), ttlMs / 3)
    ;(renewal as { unref?: () => void }).unref?.()
    try {
      return await task()
    } finally {
      clearInterval(renewal)
      await this.#store.releaseLease(name, this.replicaId).catch(() => {})
    }
  }

  /**
   * Launch a container; with `memLimitMb`, launches are serialised and idle containers evicted
   * to fit. `servedInput` is kept for the container's input URL and removed with it.
   */
  launch(
    spec: LaunchSpec,
    servedInput?: { json: string; token: string },
    onProgress?: (event: PullEvent) => void,
  ): Promise<ContainerRecord> {
    return traced('launch', { [CONTAINER_ATTRIBUTE]: spec.name, 'container.image.name': spec.image }, () =>
      this.#launch(spec, servedInput, onProgress),
    )
  }

  async #launch(
    spec: LaunchSpec,
    servedInput?: { json: string; token: string },
    onProgress?: (event: PullEvent) => void,
  ): Promise<ContainerRecord> {
    if (servedInput) this.#pendingInputs.set(spec.name, servedInput)
    this.#launching.set(spec.name, 'is being launched')
    this.changes.notify()
    const options: LaunchOptions = {
      onProgress: (event) => {
        this.#launching.set(spec.name, `is being launched: ${describePull(event)}`)
        onProgress?.(event)
      },
    }
    const started = performance.now()
    try {
      let record: ContainerRecord
      if (!this.config.memLimitMb || !spec.memReservationMb) record = await this.#launchNow(spec, options)
      else {
        // One launch at a time under the memory limit, across every replica sharing the store.
        const run = this.#launchQueue.then(() =>
          this.#withLease('memory-limit', this.config.maxWaitSeconds * 1000, () => {
            // Another replica may have launched a moment ago: count from the engine's own list.
            if (this.#store.shared) this.listing.changed()
            return makeRoom(this, spec, this.#logger).then(() => this.#launchNow(spec, options))
          }),
        )
        this.#launchQueue = run.catch(() => {})
        record = await run
      }
      if (servedInput) {
        await this.#store.writeMeta(record.id, { input: servedInput })
        this.#inputs.set(record.name, record.id, servedInput)
      }
      this.#started(record.id, started)
      this.#metrics.launches.inc({ result: 'ok' })
      return record
    } catch (err) {
      this.#metrics.launches.inc({ result: (err as Error)?.name ?? 'Error' })
      throw err
    } finally {
      this.#pendingInputs.delete(spec.name)
      this.#launching.delete(spec.name)
      this.changes.notify()
    }
  }

  /**
   * A span from a (re)started container's start until it is ready, or fails its readiness check,
   * or its start timeout passes: a child of the launch or wake. Only while a trace records it.
   */
  #traceReadiness(record: ContainerRecord): void {
    const span = startSpan('readiness', { [CONTAINER_ATTRIBUTE]: record.name })
    if (!span.isRecording()) return void span.end()
    void this.readiness
      .whenReady(record.id, this.config.readiness.startTimeoutSeconds * 1000)
      .then((ready) =>
        endSpan(span, ready ? undefined : (this.readiness.failure(record.id) ?? 'not ready within its start timeout')),
      )
  }

  /** Record a start duration, and remember when it began for the ready duration. */
  #started(id: string, began: number): void {
    this.#metrics.startDuration.observe({}, (performance.now() - began) / 1000)
    if (this.readiness.isReady(id)) return
    this.#startedAt.set(id, began)
    if (this.#startedAt.size > 10_000) this.#startedAt.delete(this.#startedAt.keys().next().value!)
  }

  /** What a launch in progress is doing (e.g. pulling its image), for please-wait answers. */
  launchPhase(name: string): string | undefined {
    return this.#launching.get(name)
  }

  /**
   * The input document served to a container at its input URL, from memory (no engine call).
   * @throws AccessDeniedError for a wrong token, an unknown name, or a container without input
   * alike, so that the answer tells nothing about which names exist.
   */
  async servedInput(name: string, token: string): Promise<string> {
    const served = this.#pendingInputs.get(name) ?? (await this.#inputs.get(name))
    // The same comparison whether or not there is anything to compare with.
    const matches = await sameSecret(token, served?.token ?? NO_INPUT_TOKEN)
    if (!served || !matches) throw new AccessDeniedError('Wrong or missing input token')
    return served.json
  }

  async #launchNow(spec: LaunchSpec, options: LaunchOptions): Promise<ContainerRecord> {
    const record = await this.backend.launch(spec, options)
    this.routes.remember(record.name, record)
    this.activity.touch(record.id)
    this.readiness.watch(record)
    this.#traceReadiness(record)
    this.#logger.info('launched', { name: record.name, image: record.image, id: record.id })
    return record
  }

  /** The API status of a record. */
  async status(record: ContainerRecord): Promise<ContainerStatus> {
    switch (record.state) {
      case 'running':
        return this.readiness.runningStatus(record.id)
      case 'restarting':
        return 'starting'
      case 'created':
      case 'paused':
        return 'stopped'
      default:
        return (await this.#isStopped(record)) ? 'stopped' : 'exited'
    }
  }

  /** How the API describes a record: its status, why it failed, and when it was last used. */
  async describe(record: ContainerRecord): Promise<{ status: ContainerStatus; reason?: string; lastActivity: number }> {
    const status = await this.status(record)
    const reason =
      status === 'failed'
        ? this.#withPortHint(record, this.readiness.failure(record.id))
        : status === 'unreachable'
          ? this.readiness.unreachable(record.id)
          : status === 'starting'
            ? this.#notReadyYet(record)
            : undefined
    return { status, ...(reason ? { reason } : {}), lastActivity: await this.activity.lastActivity(record) }
  }

  /**
   * Why a container that has been starting for a while is not ready yet, with a hint when its
   * port refuses connections: the ports its image exposes, or the usual cause (an app listening
   * on localhost only). Shown by the API, the dashboard and the CLI while they wait.
   */
  #notReadyYet(record: ContainerRecord): string | undefined {
    const waiting = this.readiness.waiting(record.id)
    const seconds = waiting ? Math.floor((Date.now() - waiting.since) / 1000) : 0
    if (!waiting || seconds < NOT_READY_HINT_AFTER_SECONDS) return undefined
    return this.#withPortHint(record, `not ready after ${seconds} s: ${waiting.last}`)
  }

  /** A readiness reason, and when the port refused connections, what may be wrong with the port. */
  #withPortHint(record: ContainerRecord, reason: string | undefined): string | undefined {
    if (!reason?.endsWith(CONNECTION_FAILED)) return reason
    const others = (record.exposedPorts ?? []).filter((port) => port !== record.port)
    return others.length
      ? `${reason} on port ${record.port}; its image exposes ${others.join(', ')} (launch it with "port": ${others[0]})`
      : `${reason} on port ${record.port}; is the app listening on that port, on all interfaces (0.0.0.0) rather than localhost only?`
  }

  /** A fresh one-time access link token for a private container. */
  issueAccessToken(record: ContainerRecord): Promise<string> {
    return this.access.issue(record.id)
  }

  /** Whether the gateway stopped this container itself (so a request may wake it). */
  isStoppedByGateway(id: string): Promise<boolean> {
    return this.#stopped.has(id)
  }

  /** Whether a request to this record should start it. */
  async isWakeable(record: ContainerRecord): Promise<boolean> {
    if (!this.backend.start) return false
    if (record.state === 'created') return true
    return (record.state === 'exited' || record.state === 'dead') && (await this.#isStopped(record))
  }

  /**
   * Whether a container stopped a moment ago as its engine's shutdown stops containers, before the
   * engine could be seen restarting: the proxy asks its clients to wait rather than calling it exited.
   */
  justStopped(record: ContainerRecord): boolean {
    return this.config.idle.wakeAfterEngineRestart && this.engine.justStopped(record)
  }

  /**
   * Whether a container that is not running was stopped rather than ended: by the gateway (scale
   * to zero), or by its engine's shutdown (`idle.wakeAfterEngineRestart`). Such a container is
   * `stopped`, and its next request wakes it; one that exited on its own stays `exited`.
   */
  async #isStopped(record: ContainerRecord): Promise<boolean> {
    if (await this.isStoppedByGateway(record.id)) return true
    if (!this.config.idle.wakeAfterEngineRestart || !this.engine.endedLikeAStop(record)) return false
    // A listed record lacks when and how it ended: the few candidates are read in full.
    const full = record.finishedAt === undefined ? await this.backend.inspect(record.name) : record
    return full?.id === record.id && (await this.engine.stoppedByShutdown(full))
  }

  /** Every managed container; running ones not yet known ready are probed. */
  async list(): Promise<ContainerRecord[]> {
    const records = await this.records()
    for (const record of records) this.readiness.watch(record)
    return records
  }

  /** One managed container, refreshing the routing cache. */
  async get(name: string): Promise<ContainerRecord | undefined> {
    const record = await this.backend.inspect(name)
    this.routes.remember(name, record)
    if (record) this.readiness.watch(record)
    return record
  }

  /** Remove a container with its volumes and everything the gateway kept about it. */
  async remove(name: string, reason = 'api'): Promise<boolean> {
    const record = await this.backend.inspect(name)
    const removed = await this.backend.remove(name)
    this.routes.invalidate(name)
    if (record) await this.forget(record.id)
    if (removed) {
      this.#metrics.removals.inc({ reason })
      this.#logger.info('removed', { name, reason })
    }
    this.changes.notify()
    return removed
  }

  /** Drop all state about a container id (it is gone). */
  async forget(id: string): Promise<void> {
    this.#inputs.forget(id)
    this.readiness.reset(id)
    this.activity.forget(id)
    this.access.forget(id)
    this.#startedAt.delete(id)
    this.#stopped.forget(id)
    await this.history.remove(id)
  }

  /** Stop a container to scale it to zero; its next request wakes it. `reason` is logged and counted. */
  async scaleToZero(record: ContainerRecord, reason = 'idle'): Promise<void> {
    if (!this.backend.stop) throw new BackendError(`The ${this.backend.name} backend cannot stop containers`)
    await this.#stopped.mark(record.id)
    await this.backend.stop(record.name)
    this.#metrics.stops.inc({ reason })
    this.#logger.info('stopped', { name: record.name, reason })
    this.changes.notify()
    // The engine may answer the stop after a request has already woken the container again;
    // then its route and readiness belong to the new start and stay.
    if (this.#waking.has(record.name) || !(await this.#stopped.has(record.id))) return
    this.routes.invalidate(record.name)
    this.readiness.reset(record.id)
  }

  /**
   * Start a stopped container. Concurrent callers share one start (single-flight per name, and
   * across replicas by the store's `wake:<name>` lease: a replica that finds it held waits for the
   * container to run); resolves once it is running (readiness is awaited separately).
   */
  wake(name: string): Promise<ContainerRecord> {
    const inFlight = this.#waking.get(name)
    if (inFlight) return inFlight
    const waking = traced('wake', { [CONTAINER_ATTRIBUTE]: name }, async () => {
      const { backend } = this
      if (!backend.start) throw new BackendError(`The ${backend.name} backend cannot start containers`)
      const began = performance.now()
      let started = false
      const record = await this.#startOnce(name, async () => {
        started = true
        return backend.start!(name)
      })
      await this.#stopped.unmark(record.id)
      this.readiness.reset(record.id)
      this.#started(record.id, began)
      this.routes.remember(name, record)
      this.activity.touch(record.id)
      this.readiness.watch(record)
      this.#traceReadiness(record)
      this.#logger.info(started ? 'woken' : 'woken by another replica', { name })
      this.changes.notify()
      return record
    }).finally(() => this.#waking.delete(name))
    this.#waking.set(name, waking)
    return waking
  }

  /** The wake of `name` under way in this gateway, if any: resolves when it is running. */
  wakeInFlight(name: string): Promise<ContainerRecord> | undefined {
    return this.#waking.get(name)
  }

  /**
   * Call `start` unless another replica is starting `name` or already has: then wait (within
   * `maxWaitSeconds`) for the engine to report it running, and resolve its record.
   */
  async #startOnce(name: string, start: () => Promise<ContainerRecord>): Promise<ContainerRecord> {
    const lease = `wake:${name}`
    const ttlMs = this.config.maxWaitSeconds * 1000
    const deadline = performance.now() + ttlMs
    for (;;) {
      if ((await this.#store.lease(lease, this.replicaId, ttlMs)) !== undefined) {
        try {
          // A replica that held the lease before may have started it already.
          const current = this.#store.shared ? await this.backend.inspect(name) : undefined
          return current?.state === 'running' ? current : await start()
        } finally {
          await this.#store.releaseLease(lease, this.replicaId).catch(() => {})
        }
      }
      const current = await this.backend.inspect(name)
      if (!current) throw new ContainerNotFoundError(name)
      if (current.state === 'running') return current
      if (performance.now() > deadline)
        throw new BackendError(`Another gateway replica did not start ${name} within ${this.config.maxWaitSeconds} s`)
      await sleep(LEASE_POLL_MS)
    }
  }

  /** Record one proxied request for history and activity. */
  recordRequest(record: ContainerRecord, method: string, path: string): void {
    this.activity.touch(record.id)
    this.history.record(record.id, method, path)
  }

  /** The access history of a container. @throws ContainerNotFoundError */
  async historyOf(name: string): Promise<HistoryEntry[]> {
    const record = await this.backend.inspect(name)
    if (!record) throw new ContainerNotFoundError(name)
    return this.history.read(record.id)
  }

  /**
   * Re-read every managed container after an event gap: clear the routing cache, probe running
   * containers, and drop stored state of containers that no longer exist.
   */
  async reconcile(): Promise<void> {
    await this.engine.check()
    // Stored ids are read before the engine lists: state is stored only for a container that
    // exists, so an id read first and not listed after is gone (never a launch in progress
    // elsewhere). Replicas leave this to their leader.
    const stored = this.#store.ids && this.#isLeader() ? await this.#store.ids() : []
    const records = await this.backend.list()
    this.routes.clear()
    for (const record of records) this.readiness.watch(record)
    await this.#pruneVolumes()
    const live = new Set(records.map((r) => r.id))
    for (const id of stored) if (!live.has(id)) await this.forget(id)
  }

  /** Remove orphaned volumes; failures are logged, never thrown. */
  async #pruneVolumes(): Promise<void> {
    try {
      const removed = (await this.backend.pruneVolumes?.()) ?? []
      if (removed.length) this.#logger.info('removed orphaned volumes', { volumes: removed })
    } catch (err) {
      this.#logger.warn('volume cleanup failed', { error: String(err) })
    }
  }

  /** Remove orphaned volumes a few seconds from now (debounced: one pass after a burst of removals). */
  scheduleVolumePrune(): void {
    clearTimeout(this.#pruneTimer)
    this.#pruneTimer = setTimeout(() => void this.#pruneVolumes(), 5_000)
    ;(this.#pruneTimer as { unref?: () => void }).unref?.()
  }

  /** Stop background work and write buffered history. */
  async close(): Promise<void> {
    this.#unwatch?.()
    clearTimeout(this.#pruneTimer)
    this.readiness.close()
    await Promise.all([this.history.flush(), this.activity.close()])
  }
}
