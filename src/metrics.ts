/**
 * A small Prometheus registry (text exposition format 0.0.4). Runtime-agnostic on purpose:
 * the usual client library depends on Node-only modules, and the core also runs on Bun.
 */

type Labels = Record<string, string>

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const labelText = (labels: Labels) => {
  const entries = Object.entries(labels)
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : ''
}
/** Series key: a metric's callers always pass the same label names in the same order, so values suffice. */
const keyOf = (labels: Labels) => Object.values(labels).join('\u0000')

interface Series {
  labels: Labels
  value: number
}

/** A monotonically increasing count. */
export class Counter {
  readonly #series = new Map<string, Series>()
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = keyOf(labels)
    const series = this.#series.get(key)
    if (series) series.value += by
    else this.#series.set(key, { labels, value: by })
  }
  /** Current value of one series (for tests and gauges built on counters). */
  get(labels: Labels = {}): number {
    return this.#series.get(keyOf(labels))?.value ?? 0
  }
  /** The sum over every series. */
  total(): number {
    let sum = 0
    for (const series of this.#series.values()) sum += series.value
    return sum
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`]
    for (const { labels, value } of this.#series.values()) lines.push(`${this.name}${labelText(labels)} ${value}`)
    return lines.join('\n')
  }
}

/** A value that goes up and down; either set directly or collected at scrape time. */
export class Gauge {
  readonly #series = new Map<string, Series>()
  constructor(
    readonly name: string,
    readonly help: string,
    readonly collect?: () => Promise<Series[]> | Series[],
  ) {}
  add(labels: Labels, by: number): void {
    const key = keyOf(labels)
    const series = this.#series.get(key) ?? { labels, value: 0 }
    series.value += by
    this.#series.set(key, series)
  }
  async render(): Promise<string> {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`]
    const series = this.collect ? await this.collect() : [...this.#series.values()]
    for (const { labels, value } of series) lines.push(`${this.name}${labelText(labels)} ${value}`)
    return lines.join('\n')
  }
}

/** Observations in cumulative buckets, with sum and count. */
export class Histogram {
  readonly #series = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>()
  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: number[],
  ) {}
  observe(labels: Labels, value: number): void {
    const key = keyOf(labels)
    let series = this.#series.get(key)
    if (!series) {
      series = { labels, buckets: this.bounds.map(() => 0), sum: 0, count: 0 }
      this.#series.set(key, series)
    }
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) series.buckets[i]!++
    series.sum += value
    series.count++
  }
  /** Cumulative bucket counts and the count, summed over every series. */
  totals(): { buckets: number[]; count: number } {
    const buckets = this.bounds.map(() => 0)
    let count = 0
    for (const series of this.#series.values()) {
      for (let i = 0; i < buckets.length; i++) buckets[i]! += series.buckets[i]!
      count += series.count
    }
    return { buckets, count }
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`]
    for (const { labels, buckets, sum, count } of this.#series.values()) {
      for (const [i, bound] of this.bounds.entries()) {
        lines.push(`${this.name}_bucket${labelText({ ...labels, le: String(bound) })} ${buckets[i]}`)
      }
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`)
      lines.push(`${this.name}_sum${labelText(labels)} ${sum}`, `${this.name}_count${labelText(labels)} ${count}`)
    }
    return lines.join('\n')
  }
}

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const STARTUP_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120]

/** Every metric the gateway exposes at `/metrics`. */
export class GatewayMetrics {
  readonly proxiedRequests = new Counter(
    'hde_proxied_requests_total',
    'Proxied requests by container and response status',
  )
  readonly fastPathRequests = new Counter(
    'hde_proxy_fast_path_requests_total',
    'Proxied requests the server carried on its fast path (a subset of hde_proxied_requests_total)',
  )
  readonly proxyLatency = new Histogram(
    'hde_proxy_response_seconds',
    'Time from a proxied request to its response headers',
    LATENCY_BUCKETS,
  )
  readonly openWebSockets = new Gauge('hde_open_websockets', 'WebSocket tunnels currently open')
  readonly launches = new Counter('hde_launches_total', 'Container launches by result (ok or an error code)')
  readonly startDuration = new Histogram(
    'hde_start_seconds',
    'Time from a launch or wake request until the container runs',
    STARTUP_BUCKETS,
  )
  readonly readyDuration = new Histogram(
    'hde_ready_seconds',
    'Time from a launch or wake request until the container is ready',
    STARTUP_BUCKETS,
  )
  readonly removals = new Counter(
    'hde_removals_total',
    'Containers removed, by reason (api, purge, idle, memory = eviction)',
  )
  readonly stops = new Counter('hde_stops_total', 'Containers stopped (scaled to zero), by reason')
  readonly dockerErrors = new Counter(
    'hde_backend_errors_total',
    'Container engine calls that failed, by operation and kind',
  )
  containers: Gauge
  readonly storeUp: Gauge
  readonly leader: Gauge

  /**
   * `countByStatus` counts containers at scrape time; `replica` tells whether the store answers
   * and whether this gateway leads its replicas (1 or 0).
   */
  constructor(
    countByStatus: () => Promise<Series[]>,
    replica: { storeUp: () => Promise<number>; leader: () => number } = {
      storeUp: async () => 1,
      leader: () => 1,
    },
  ) {
    this.containers = new Gauge('hde_containers', 'Managed containers by status', countByStatus)
    this.storeUp = new Gauge('hde_store_up', 'Whether the store answers (1) or not (0)', async () => [
      { labels: {}, value: await replica.storeUp() },
    ])
    this.leader = new Gauge(
      'hde_leader',
      'Whether this gateway runs the background work of its replicas (1) or not (0)',
      () => [{ labels: {}, value: replica.leader() }],
    )
  }

  /** The whole exposition. */
  async render(): Promise<string> {
    const parts = [
      this.proxiedRequests.render(),
      this.fastPathRequests.render(),
      this.proxyLatency.render(),
      await this.openWebSockets.render(),
      await this.containers.render().catch(() => '# hde_containers unavailable: the engine cannot be reached'),
      this.launches.render(),
      this.startDuration.render(),
      this.readyDuration.render(),
      this.removals.render(),
      this.stops.render(),
      this.dockerErrors.render(),
      await this.storeUp.render(),
      await this.leader.render(),
    ]
    return `${parts.join('\n')}\n`
  }
}
