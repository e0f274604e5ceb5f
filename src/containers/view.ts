import type { Backend, BackendEvent, BackendInfo, ContainerRecord, LogOptions, PullEvent } from '../backend.js'
import type { Config } from '../config/schema.js'
import type { Logger } from '../logger.js'
import type { ContainerStore } from '../stores/store.js'
import type { UpstreamFetch } from '../proxy/upstream.js'
import { AccessControl } from './access.js'
import { ChangeFeed, type ChangeListener } from './changes.js'
import { EngineRestarts } from './engine-restarts.js'
import { Activity } from './activity.js'
import { HistoryRecorder } from './history.js'
import { Listing } from './listing.js'
import { Readiness } from './readiness.js'
import { RouteTable } from './route-table.js'

/** What {@link ContainerView} is built from. */
export interface ContainerViewOptions {
  backend: Backend
  store: ContainerStore
  config: Config
  fetch: UpstreamFetch
  logger: Logger
  /** Told when a container becomes ready. */
  onReady?: (id: string) => void
}

/**
 * What the gateway knows about its containers — routes, readiness, activity, history, access
 * links — and the questions the proxy, the API and the background work ask of it, one method each.
 * Its parts are its own: callers ask, they never reach in. {@link ContainerManager} adds what the
 * gateway does with its containers.
 */
export class ContainerView {
  protected readonly backend: Backend
  protected readonly routes: RouteTable
  protected readonly readiness: Readiness
  protected readonly activity: Activity
  protected readonly history: HistoryRecorder
  /** Access links and sessions of `access: "token"` containers. */
  protected readonly access: AccessControl
  /** Which stopped containers the engine's own shutdown stopped. */
  protected readonly engine: EngineRestarts
  /** Tells listeners (the dashboard's live list) that something changed. */
  protected readonly changes = new ChangeFeed()
  /** The engine's list of managed containers, kept between changes. */
  protected readonly listing: Listing

  constructor(options: ContainerViewOptions) {
    this.backend = options.backend
    this.routes = new RouteTable(options.backend)
    this.listing = new Listing(() => this.backend.list())
    // Every change the gateway makes or hears of may change what the engine lists.
    this.changes.subscribe(() => this.listing.changed())
    this.readiness = new Readiness({
      fetch: options.fetch,
      startTimeoutMs: options.config.readiness.startTimeoutSeconds * 1000,
      ...(options.config.readiness.path ? { defaultPath: options.config.readiness.path } : {}),
      ...(options.onReady ? { onReady: options.onReady } : {}),
      onChange: () => this.changes.notify(),
    })
    this.activity = new Activity({ store: options.store, logger: options.logger })
    this.access = new AccessControl(options.store)
    const { store } = options
    this.engine = new EngineRestarts(
      () => this.backend.ping(),
      store.readEngineRun && store.writeEngineRun
        ? { read: () => store.readEngineRun!(), write: (run) => store.writeEngineRun!(run) }
        : undefined,
    )
    this.history = new HistoryRecorder({
      store: options.store,
      logger: options.logger,
      maxEntries: options.config.history.maxEntries,
    })
  }

  /** The routing entry for `name`, from cache while fresh. Engine errors propagate. */
  findRoute(name: string): Promise<ContainerRecord | undefined> {
    return this.routes.lookup(name)
  }

  /** The cached routing entry for `name`, without asking the engine. */
  cachedRoute(name: string): ContainerRecord | undefined {
    return this.routes.peek(name)
  }

  /** Ask the engine about `name` again, now (e.g. after a refused connection). */
  refreshRoute(name: string): Promise<ContainerRecord | undefined> {
    this.routes.invalidate(name)
    return this.routes.refresh(name)
  }

  /**
   * Forget the routing entry of `name` (or of every name): the next request asks the engine.
   * Called when the engine reports a change, so listeners of {@link onChange} are told.
   */
  forgetRoute(name?: string): void {
    if (name === undefined) this.routes.clear()
    else this.routes.invalidate(name)
    this.changes.notify()
  }

  /**
   * Be told whenever the gateway's view of its containers changes (launch, removal, stop, wake,
   * readiness, engine events), until the returned function is called. Re-read what you show.
   */
  onChange(listener: ChangeListener): () => void {
    return this.changes.subscribe(listener)
  }

  /** Whether a container is known ready. */
  isReady(id: string): boolean {
    return this.readiness.isReady(id)
  }

  /** Why a container failed its readiness check, if it did. */
  readinessFailure(id: string): string | undefined {
    return this.readiness.failure(id)
  }

  /** Why a container that was ready does not answer on its port any more, if so. */
  unreachable(id: string): string | undefined {
    return this.readiness.unreachable(id)
  }

  /** Whether a ready container's port refused a connection and is being checked, not yet `unreachable`. */
  checkingPort(id: string): boolean {
    return this.readiness.checking(id)
  }

  /**
   * The port of a running container refused or dropped a proxied connection: check it now.
   * Resolves whether it answers; one that keeps failing for 2 s is `unreachable` until it does again.
   */
  recheck(record: ContainerRecord): Promise<boolean> {
    return this.readiness.recheck(record)
  }

  /** Probe a running container not known ready (nothing when it is ready, failed or being probed). */
  probe(record: ContainerRecord): void {
    this.readiness.watch(record)
  }

  /** Resolves `true` once the container is ready, `false` when it fails or `ms` pass. */
  whenReady(id: string, ms: number): Promise<boolean> {
    return this.readiness.whenReady(id, ms)
  }

  /** The container answered in a way that proves it ready (e.g. a WebSocket opened). */
  markReady(id: string): void {
    this.readiness.markReady(id)
  }

  /** The container stopped or restarted: readiness starts over. */
  resetReadiness(id: string): void {
    this.readiness.reset(id)
  }

  /** A response from the container arrived: without a readiness path, that proves it ready. */
  noteResponse(record: ContainerRecord): void {
    if (this.readiness.provenByAnyResponse(record)) this.readiness.markReady(record.id)
  }

  /** Count an exchange as activity until the returned function is called. */
  holdActivity(id: string): () => void {
    return this.activity.hold(id)
  }

  /** When the container was last used (ms since the epoch). */
  lastActivity(record: ContainerRecord): Promise<number> {
    return this.activity.lastActivity(record)
  }

  /** Exchanges open with a container right now. */
  openExchanges(id: string): number {
    return this.activity.openCount(id)
  }

  /** Trade a one-time access link token for a session secret; `undefined` when it is wrong or spent. */
  redeemAccessLink(id: string, token: string): Promise<string | undefined> {
    return this.access.redeem(id, token)
  }

  /** Whether a cookie value is the container's access session. */
  checkAccessSession(id: string, session: string): Promise<boolean> {
    return this.access.check(id, session)
  }

  /**
   * Every managed container as the engine reports it, with no side effect. Kept between changes
   * while the engine's events are followed (see {@link followingEvents}).
   */
  records(): Promise<ContainerRecord[]> {
    return this.listing.records()
  }

  /**
   * Whether the engine's events are followed now, so that a kept listing learns of every change.
   * Called by the background work as its event stream connects and ends.
   */
  followingEvents(yes: boolean): void {
    this.listing.following(yes)
  }

  /** The engine reported an event: whatever it was, the next listing asks the engine. */
  engineChanged(): void {
    this.listing.changed()
  }

  /** Whether the engine can stop and start containers (scale to zero). */
  get canScaleToZero(): boolean {
    return Boolean(this.backend.stop && this.backend.start)
  }

  /** Whether the engine reports its events (see {@link watchEngine}). */
  get reportsEngineEvents(): boolean {
    return Boolean(this.backend.watch)
  }

  /** Follow the engine's events until `signal` aborts; `undefined` when the engine reports none. */
  watchEngine(onEvent: (event: BackendEvent) => void, signal: AbortSignal): Promise<void> | undefined {
    return this.backend.watch?.(onEvent, signal)
  }

  /** Write buffered history now. */
  flushHistory(): Promise<void> {
    return this.history.flush()
  }

  /** The engine's name, e.g. `docker`. */
  get engineName(): string {
    return this.backend.name
  }

  /** Whether the engine answers, its version and whether it restarted. Rejects when it cannot be reached. */
  async ping(): Promise<BackendInfo> {
    const info = await this.backend.ping()
    this.engine.observe(info)
    return info
  }

  /** Ask the engine whether it restarted (the reaper does, so the gateway notices soon). */
  checkEngine(): Promise<void> {
    return this.engine.check()
  }

  /** Pull an image, yielding progress; `undefined` when the engine cannot pull. */
  async pull(image: string, signal?: AbortSignal): Promise<AsyncIterable<PullEvent> | undefined> {
    return this.backend.pull ? await this.backend.pull(image, signal) : undefined
  }

  /** A container's output. @throws ContainerNotFoundError */
  logs(name: string, options?: LogOptions): Promise<ReadableStream<Uint8Array>> {
    return this.backend.logs(name, options)
  }
}
