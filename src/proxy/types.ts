import type { Drain } from '../lifecycle/drain.js'
import type { Context } from 'hono'
import type { ContainerRecord } from '../backend.js'
import type { ContainerManager } from '../containers/manager.js'
import type { PleaseWaitOptions } from '../http/please-wait.js'
import type { AuthorizeHook } from './access-check.js'
import type { ForwardingPolicy } from './headers.js'
import type { UpstreamFetch } from './upstream.js'
import type { WebSocketProxy } from './websocket.js'
import type { RequestSpan } from '../telemetry/tracing.js'

/** Everything the proxy handler needs; supplied by `createGateway`. */
export interface ProxyDeps {
  manager: ContainerManager
  fetch: UpstreamFetch
  pleaseWait: PleaseWaitOptions
  headersTimeoutMs: number
  /** How long a client's request body may pause between bytes before the exchange ends (408). */
  bodyIdleTimeoutMs: number
  /** Upper bound for `Prefer: wait=N`. */
  maxWaitSeconds: number
  /** Which client headers reach containers, and how (`X-Forwarded-*`, `Host`, parent-app cookies). */
  forwarding: ForwardingPolicy
  /** The `Host` names proxied requests are answered for (DNS rebinding defence); others get `421`. */
  allowedHost: (host: string) => boolean
  /** An embedder's access decision, replacing per-container tokens. */
  authorize?: AuthorizeHook
  /** The runtime's WebSocket tunnel; without one, upgrades answer 501. */
  websocket?: WebSocketProxy
  getClientAddress?: (c: Context) => string | undefined
  onError: (message: string, fields: Record<string, unknown>) => void
  /** Told what is worth an operator's notice but is not the gateway's fault (a container's refusal). */
  onNotice?: (message: string, fields: Record<string, unknown>) => void
  /** Told when a WebSocket tunnel opens (+1) or closes (-1). */
  onWebSocket?: (delta: 1 | -1) => void
  /** The gateway's shutdown state: open tunnels count as in flight, and are closed when its grace ends. */
  drain?: Drain
}

/** Where a proxied request goes: the container name and the raw path after it. */
export interface ProxyTarget {
  name: string
  /** Raw (still percent-encoded) path after `/<prefix>/<name>`, starting with `/`. */
  path: string
  /** Full public prefix, e.g. `/viz/docker/name`. */
  prefix: string
  /** The request's id (see `http/request-id.ts`), passed to the container and in the log. */
  requestId?: string
  /** The request's server span, whose trace context is passed to the container. */
  trace?: RequestSpan
}

/** A container record known to be reachable. */
export type RunningRecord = ContainerRecord & { upstream: string }
