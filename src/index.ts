/**
 * hono-docker-engine: launch containers through a JSON API and proxy to them.
 * This entry is runtime-agnostic; see `./node`, `./bun` and `./docker` for the edges.
 * @module
 */
export { createGateway, type Gateway, type GatewayOptions } from './gateway.js'
export type { Backend, BackendInfo, ContainerRecord, ContainerState, LaunchSpec, LogOptions } from './backend.js'
export { memory, type MemoryBackend, type MemoryBackendOptions } from './backends/memory.js'
export { ConfigSchema, parseConfig, type Config, type ConfigInput } from './config/schema.js'
export * from './errors.js'
export { consoleLogger, silentLogger, type Logger } from './logger.js'
export { fetchUpstream, toUpstreamError, type UpstreamFetch, type UpstreamRequest } from './proxy/upstream.js'
export { LaunchBodySchema, type LaunchBody, type LaunchRequest } from './api/schemas.js'
export type { ErrorBody } from './http/errors.js'
export type { ContainerView } from './api/index.js'
export type { ContainerStatus } from './containers/readiness.js'
export {
  memoryStore,
  type ContainerStore,
  type ContainerMeta,
  type HistoryEntry,
  type StoredSession,
  type EngineRunRecord,
} from './stores/store.js'
