/**
 * The gateway's Prometheus metrics, on `prom-client`. Each gateway has a registry of its own
 * (`GatewayMetrics.registry`), so embedding apps and tests can run several; the runtime entries
 * add the process and runtime series (`process_*`, `nodejs_*`) to it.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Bounds of the proxy's latency histogram, in seconds. */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const STARTUP_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120]

/** One series of a gauge read at scrape time. */
export interface GaugeSample {
  labels: Record<string, string>
  value: number
}

/** Counts engine calls that failed, by operation and kind. */
export type ErrorCounter = Pick<Counter<'operation' | 'kind'>, 'inc'>

/** Every metric the gateway exposes at `/metrics`. */
export class GatewayMetrics {
  /** The registry `/metrics` renders; add series of your own to it. */
  readonly registry = new Registry()
  readonly proxiedRequests: Counter<'container' | 'status'>
  readonly fastPathRequests: Counter
  readonly proxyLatency: Histogram<'container'>
  readonly openWebSockets: Gauge
  readonly launches: Counter<'result'>
  readonly startDuration: Histogram
  readonly readyDuration: Histogram
  readonly removals: Counter<'reason'>
  readonly stops: Counter<'reason'>
  readonly dockerErrors: Counter<'operation' | 'kind'>

  /**
   * `countByStatus` counts containers at scrape time; `replica` tells whether the store answers
   * and whether this gateway leads its replicas (1 or 0).
   */
  constructor(
    countByStatus: () => Promise<GaugeSample[]>,
    replica: { storeUp: () => Promise<number>; leader: () => number } = {
      storeUp: async () => 1,
      leader: () => 1,
    },
  ) {
    const registers = [this.registry]
    this.proxiedRequests = new Counter({
      name: 'hde_proxied_requests_total',
      help: 'Proxied requests by container and response status',
      labelNames: ['container', 'status'],
      registers,
    })
    this.fastPathRequests = new Counter({
      name: 'hde_proxy_fast_path_requests_total',
      help: 'Proxied requests the server carried on its fast path (a subset of hde_proxied_requests_total)',
      registers,
    })
    this.proxyLatency = new Histogram({
      name: 'hde_proxy_response_seconds',
      help: 'Time from a proxied request to its response headers',
      labelNames: ['container'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.openWebSockets = new Gauge({
      name: 'hde_open_websockets',
      help: 'WebSocket tunnels currently open',
      registers,
    })
    this.launches = new Counter({
      name: 'hde_launches_total',
      help: 'Container launches by result (ok or an error code)',
      labelNames: ['result'],
      registers,
    })
    this.startDuration = new Histogram({
      name: 'hde_start_seconds',
      help: 'Time from a launch or wake request until the container runs',
      buckets: STARTUP_BUCKETS,
      registers,
    })
    this.readyDuration = new Histogram({
      name: 'hde_ready_seconds',
      help: 'Time from a launch or wake request until the container is ready',
      buckets: STARTUP_BUCKETS,
      registers,
    })
    this.removals = new Counter({
      name: 'hde_removals_total',
      help: 'Containers removed, by reason (api, purge, idle, memory = eviction)',
      labelNames: ['reason'],
      registers,
    })
    this.stops = new Counter({
      name: 'hde_stops_total',
      help: 'Containers stopped (scaled to zero), by reason',
      labelNames: ['reason'],
      registers,
    })
    this.dockerErrors = new Counter({
      name: 'hde_backend_errors_total',
      help: 'Container engine calls that failed, by operation and kind',
      labelNames: ['operation', 'kind'],
      registers,
    })
    new Gauge({
      name: 'hde_containers',
      help: 'Managed containers by status (no series while the engine cannot be reached)',
      labelNames: ['status'],
      registers,
      async collect() {
        this.reset()
        // An engine that cannot be asked leaves the family empty; hde_backend_errors_total says why.
        const samples = await countByStatus().catch(() => [])
        for (const { labels, value } of samples) this.set(labels, value)
      },
    })
    new Gauge({
      name: 'hde_store_up',
      help: 'Whether the store answers (1) or not (0)',
      registers,
      async collect() {
        this.set(await replica.storeUp())
      },
    })
    new Gauge({
      name: 'hde_leader',
      help: 'Whether this gateway runs the background work of its replicas (1) or not (0)',
      registers,
      collect() {
        this.set(replica.leader())
      },
    })
  }

  /** The whole exposition, in Prometheus' text format. */
  render(): Promise<string> {
    return this.registry.metrics()
  }

  /** The `Content-Type` of {@link render}. */
  get contentType(): string {
    return this.registry.contentType
  }

  /** Proxied requests so far, over every container and status (the dashboard's traffic). */
  async requestTotal(): Promise<number> {
    const { values } = await this.proxiedRequests.get()
    return values.reduce((sum, { value }) => sum + value, 0)
  }

  /** The proxy latency histogram summed over containers: cumulative counts per bound, and the count. */
  async latencyTotals(): Promise<{ buckets: number[]; count: number }> {
    const { values } = await this.proxyLatency.get()
    const buckets = LATENCY_BUCKETS.map(() => 0)
    let count = 0
    for (const { metricName, labels, value } of values) {
      if (metricName === 'hde_proxy_response_seconds_count') count += value
      else if (metricName === 'hde_proxy_response_seconds_bucket') {
        const at = LATENCY_BUCKETS.indexOf(Number((labels as { le?: string | number }).le))
        if (at !== -1) buckets[at]! += value
      }
    }
    return { buckets, count }
  }
}
