import { type ContainerView, containerView } from '../api/view.js'
import type { ContainerManager } from '../containers/manager.js'

/** Whether the engine answers, as the overview shows it. */
export interface EngineState {
  name: string
  reachable: boolean
  version?: string
  error?: string
}

/** What the dashboard shows at one moment. Container URLs are paths on the proxy (`/docker/<name>/`). */
export interface Snapshot {
  engine: EngineState
  containers: ContainerView[]
}

/** Options for {@link LiveContainers}. */
export interface LiveContainersOptions {
  manager: ContainerManager
  /** The proxy's path prefix (`/docker`). */
  proxyPrefix: string
  /** Seconds between re-reads while someone watches, for what no event reports (last activity). Default 5. */
  refreshSeconds?: number
}

/**
 * The containers as the dashboard shows them, followed while anyone watches: the gateway's own
 * change feed (launch, removal, stop, wake, readiness, engine events) triggers a re-read, and a
 * slow refresh catches the rest. One engine listing per change, however many pages are open;
 * none while nobody watches.
 */
export class LiveContainers {
  readonly #manager: ContainerManager
  readonly #proxyPrefix: string
  readonly #refreshMs: number
  readonly #listeners = new Set<(snapshot: Snapshot) => void>()
  #current: Snapshot | undefined
  #sent = ''
  #reading: Promise<Snapshot> | undefined
  #again = false
  #debounce: ReturnType<typeof setTimeout> | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #unsubscribe: (() => void) | undefined

  constructor(options: LiveContainersOptions) {
    this.#manager = options.manager
    this.#proxyPrefix = options.proxyPrefix
    this.#refreshMs = (options.refreshSeconds ?? 5) * 1000
  }

  /**
   * The latest snapshot: the one being followed when it is fresh (someone watches, and no change
   * is waiting to be read), else read now.
   */
  current(): Promise<Snapshot> {
    const fresh = this.#current && this.#timer && !this.#debounce && !this.#reading
    return fresh ? Promise.resolve(this.#current!) : this.#readNow()
  }

  /** Be told of every changed snapshot until the returned function is called. */
  subscribe(listener: (snapshot: Snapshot) => void): () => void {
    this.#listeners.add(listener)
    if (this.#listeners.size === 1) {
      // What was read while nobody watched may be old: the first watcher starts from a new read.
      this.#current = undefined
      this.#unsubscribe = this.#manager.onChange(() => this.#soon())
      this.#timer = setInterval(() => this.#soon(), this.#refreshMs)
      ;(this.#timer as { unref?: () => void }).unref?.()
    }
    return () => {
      this.#listeners.delete(listener)
      if (this.#listeners.size > 0) return
      this.close()
    }
  }

  /** Stop following (the gateway is closing, or nobody watches). */
  close(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    clearInterval(this.#timer)
    clearTimeout(this.#debounce)
    this.#timer = undefined
    this.#sent = ''
  }

  /** Re-read shortly: a burst of changes (a launch, its readiness) costs one listing. */
  #soon(): void {
    if (this.#debounce) return
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined
      void this.#read().then((snapshot) => this.#broadcast(snapshot))
    }, 100)
  }

  #broadcast(snapshot: Snapshot): void {
    const text = JSON.stringify(snapshot)
    if (text === this.#sent) return
    this.#sent = text
    for (const listener of this.#listeners) listener(snapshot)
  }

  /** One read at a time; a change during a read triggers one more. */
  #read(): Promise<Snapshot> {
    if (this.#reading) {
      this.#again = true
      return this.#reading
    }
    this.#reading = this.#readNow().finally(() => {
      this.#reading = undefined
      if (this.#again) {
        this.#again = false
        this.#soon()
      }
    })
    return this.#reading
  }

  async #readNow(): Promise<Snapshot> {
    const name = this.#manager.engineName
    let snapshot: Snapshot
    try {
      const [info, records] = await Promise.all([this.#manager.ping(), this.#manager.list()])
      const containers = await Promise.all(
        records.map((record) => containerView(this.#manager, record, `${this.#proxyPrefix}/${record.name}/`)),
      )
      containers.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.name.localeCompare(b.name))
      snapshot = { engine: { name, reachable: true, version: info.version }, containers }
    } catch (err) {
      // The engine is down: say so, and keep showing what was last known.
      const error = err instanceof Error ? err.message : String(err)
      snapshot = { engine: { name, reachable: false, error }, containers: this.#current?.containers ?? [] }
    }
    this.#current = snapshot
    return snapshot
  }
}
