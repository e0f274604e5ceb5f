import { collectDefaultMetrics } from 'prom-client'
import type { Gateway } from '../gateway.js'

/**
 * Add the process and runtime series to a gateway's `/metrics` (prom-client's defaults: CPU,
 * resident memory, open file descriptors, heap, event-loop lag, active handles, and on Node the
 * garbage collector's pauses), unless its metrics are off. The runtime entries call this; an app
 * that builds a gateway with `createGateway` may call it too, once per process.
 */
export function addProcessMetrics(gateway: Gateway): void {
  if (gateway.config.metrics.enabled) collectDefaultMetrics({ register: gateway.metrics.registry })
}
