import { type GatewayMetrics, LATENCY_BUCKETS } from '../metrics.js'

/** One point of the overview's charts. */
export interface TrafficSample {
  /** Seconds since the epoch (the end of the interval). */
  t: number
  /** Proxied requests per second over the interval. */
  rps: number
  /** Median and 99th-percentile time to response headers, in milliseconds (`null` without requests). */
  p50: number | null
  p99: number | null
}

/** Options for {@link TrafficSampler}. */
export interface TrafficSamplerOptions {
  metrics: GatewayMetrics
  /** Seconds between samples (default 2). */
  intervalSeconds?: number
  /** Samples kept (default 300: ten minutes at 2 s). */
  keep?: number
}

/**
 * Requests per second and latency quantiles over the last minutes, read from the gateway's own
 * metrics (the counters `/metrics` serves): one timer for the whole gateway, whatever the number
 * of containers, started by the first dashboard visit and stopped with the gateway.
 */
export class TrafficSampler {
  readonly #metrics: GatewayMetrics
  readonly #intervalMs: number
  readonly #keep: number
  readonly #samples: TrafficSample[] = []
  readonly #listeners = new Set<(sample: TrafficSample) => void>()
  #timer: ReturnType<typeof setInterval> | undefined
  #last: { at: number; requests: number; buckets: number[]; count: number } | undefined

  constructor(options: TrafficSamplerOptions) {
    this.#metrics = options.metrics
    this.#intervalMs = (options.intervalSeconds ?? 2) * 1000
    this.#keep = options.keep ?? 300
  }

  /** The samples so far, oldest first; starts sampling on first use. */
  samples(): TrafficSample[] {
    this.#start()
    return [...this.#samples]
  }

  /** Be told of each new sample until the returned function is called. */
  subscribe(listener: (sample: TrafficSample) => void): () => void {
    this.#start()
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Stop sampling. */
  close(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  #start(): void {
    if (this.#timer) return
    const first = this.#read().then((read) => {
      this.#last ??= read
    })
    this.#timer = setInterval(() => void first.then(() => this.#sample()), this.#intervalMs)
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  async #read() {
    const at = Date.now()
    const [{ buckets, count }, requests] = await Promise.all([
      this.#metrics.latencyTotals(),
      this.#metrics.requestTotal(),
    ])
    return { at, requests, buckets, count }
  }

  async #sample(): Promise<void> {
    const now = await this.#read()
    const last = this.#last ?? now
    this.#last = now
    const seconds = Math.max((now.at - last.at) / 1000, 0.001)
    const counts = now.buckets.map((n, i) => n - (last.buckets[i] ?? 0))
    const total = now.count - last.count
    const sample: TrafficSample = {
      t: Math.round(now.at / 1000),
      rps: Math.round(((now.requests - last.requests) / seconds) * 100) / 100,
      p50: quantileMs(LATENCY_BUCKETS, counts, total, 0.5),
      p99: quantileMs(LATENCY_BUCKETS, counts, total, 0.99),
    }
    this.#samples.push(sample)
    if (this.#samples.length > this.#keep) this.#samples.shift()
    for (const listener of this.#listeners) listener(sample)
  }
}

/**
 * A quantile from cumulative bucket counts, interpolated linearly inside its bucket (as
 * Prometheus' `histogram_quantile` does), in milliseconds. Past the last bound: that bound.
 */
export function quantileMs(bounds: number[], cumulative: number[], total: number, q: number): number | null {
  if (total <= 0) return null
  const rank = q * total
  for (let i = 0; i < bounds.length; i++) {
    const upTo = cumulative[i] ?? 0
    if (upTo >= rank) {
      const below = i === 0 ? 0 : (cumulative[i - 1] ?? 0)
      const lower = i === 0 ? 0 : bounds[i - 1]!
      const inBucket = upTo - below
      const seconds = inBucket > 0 ? lower + ((bounds[i]! - lower) * (rank - below)) / inBucket : bounds[i]!
      return Math.round(seconds * 100_000) / 100
    }
  }
  return bounds[bounds.length - 1]! * 1000
}
