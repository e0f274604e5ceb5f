import type { Logger } from '../logger.js'
import type { ContainerStore } from '../stores/store.js'

/** The lease that makes one gateway of those sharing a store the one that runs background work. */
export const LEADER_LEASE = 'leader'

/** Options for {@link Leadership}. */
export interface LeadershipOptions {
  store: ContainerStore
  /** This gateway's name among its replicas. */
  holder: string
  /** How long a lease lasts unless renewed; another replica takes over this long after a leader dies. */
  ttlMs: number
  logger: Logger
  /** Told whenever this gateway becomes or stops being the leader. */
  onChange?: (leader: boolean) => void
}

/**
 * Which of the gateways sharing a store is the leader: the one holding the store's `leader` lease.
 * The lease is renewed three times per `ttlMs`; a gateway counts itself leader only while its last
 * renewal is younger than two thirds of `ttlMs`, so that it gives up its duties before any other
 * can take the lease over. Each term has a fencing number that grows with every new leader (logged
 * and exported as a metric), so that overlapping terms can be told apart in logs.
 */
export class Leadership {
  readonly #options: LeadershipOptions
  #heldSince: number | undefined
  #renewedAt = -Infinity
  #fence: number | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #renewing = false
  #stopped = false

  constructor(options: LeadershipOptions) {
    this.#options = options
  }

  /** Whether this gateway is the leader now. */
  get isLeader(): boolean {
    return this.#fence !== undefined && performance.now() - this.#renewedAt < (this.#options.ttlMs * 2) / 3
  }

  /** The fencing number of this gateway's term, while it leads. */
  get fence(): number | undefined {
    return this.isLeader ? this.#fence : undefined
  }

  /** Start competing for the lease (at once, then on every renewal). */
  start(): void {
    if (this.#timer) return
    void this.#renew()
    this.#timer = setInterval(() => void this.#renew(), Math.max(100, Math.floor(this.#options.ttlMs / 3)))
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  async #renew(): Promise<void> {
    if (this.#renewing || this.#stopped) return
    this.#renewing = true
    const { store, holder, ttlMs, logger } = this.#options
    const asked = performance.now()
    const wasLeader = this.isLeader
    try {
      const fence = await store.lease(LEADER_LEASE, holder, ttlMs)
      if (this.#stopped) return
      if (fence === undefined) this.#fence = undefined
      else {
        this.#fence = fence
        // Counted from when it was asked: the lease may have been granted any time after.
        this.#renewedAt = asked
      }
    } catch (err) {
      // Unrenewed, the term runs out by itself.
      if (wasLeader) logger.warn('the leader lease could not be renewed', { error: String(err) })
    } finally {
      this.#renewing = false
    }
    this.#report(wasLeader)
  }

  #report(wasLeader: boolean): void {
    const leader = this.isLeader
    if (leader === wasLeader) return
    if (leader) {
      this.#heldSince = Date.now()
      this.#options.logger.info('leading the background work', { holder: this.#options.holder, fence: this.#fence })
    } else {
      this.#options.logger.info('no longer leading the background work', {
        holder: this.#options.holder,
        heldForMs: this.#heldSince === undefined ? undefined : Date.now() - this.#heldSince,
      })
    }
    this.#options.onChange?.(leader)
  }

  /** Stop competing, and hand the lease back so another replica takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    const wasLeader = this.isLeader
    this.#fence = undefined
    if (wasLeader) this.#report(true)
    await this.#options.store.releaseLease(LEADER_LEASE, this.#options.holder).catch(() => {})
  }
}
