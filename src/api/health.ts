import type { Hono } from 'hono'
import type { ContainerManager } from '../containers/manager.js'
import type { Drain } from '../lifecycle/drain.js'
import { hostGuard, hostName } from '../http/host.js'
import { requestIdMiddleware } from '../http/request-id.js'

/** What {@link healthRoutes} reads. */
export interface HealthDeps {
  manager: ContainerManager
  drain: Drain
  apiPrefix: string
  /** Under hostname routing, a container's host keeps every path, these included. */
  hostSuffix?: string | undefined
  /** Whether the store answers (a shared store may be away while the gateway keeps proxying). */
  storeAnswers?: () => Promise<boolean>
  /** Take a request's `X-Request-Id` from the proxy in front. */
  trustProxy?: boolean
}

/** Answers of probes are never cached, and say nothing but their state. */
const NO_STORE = { 'cache-control': 'no-store' }

/**
 * Probes for orchestrators: `GET <api>/health/live` (the process serves) and
 * `GET <api>/health/ready` (the engine answers and the gateway is not draining; `503` with a
 * reason otherwise; `store: "unavailable"` beside a `200` while a shared store is away). They answer any `Host` (probes use the pod's or container's address)
 * without credentials, so they reveal nothing but that state: no versions, no names, no errors.
 */
export function healthRoutes(app: Hono, deps: HealthDeps): void {
  const p = deps.apiPrefix
  const onContainerHost = (host: string | undefined) =>
    deps.hostSuffix !== undefined && host !== undefined && hostName(host).endsWith(deps.hostSuffix)

  // Any Host a probe may use, as long as it is a host and port at all (the rule everywhere else too).
  for (const probe of [`${p}/health/live`, `${p}/health/ready`])
    app.use(probe, hostGuard, requestIdMiddleware(deps.trustProxy ?? false))
  app.get(`${p}/health/live`, (c, next) => {
    if (onContainerHost(c.req.header('host'))) return next()
    return c.json({ status: 'live' }, 200, NO_STORE)
  })

  app.get(`${p}/health/ready`, async (c, next) => {
    if (onContainerHost(c.req.header('host'))) return next()
    if (deps.drain.draining) return c.json({ status: 'draining' }, 503, { ...NO_STORE, 'retry-after': '1' })
    const reachable = await deps.manager.ping().then(
      () => true,
      () => false,
    )
    if (!reachable) return c.json({ status: 'engine_unreachable' }, 503, NO_STORE)
    // Without its store a replica still proxies every container it knows: it stays in rotation
    // (taking every replica out at once would be an outage), and says what is missing.
    if (deps.storeAnswers && !(await deps.storeAnswers()))
      return c.json({ status: 'ready', store: 'unavailable' }, 200, NO_STORE)
    return c.json({ status: 'ready' }, 200, NO_STORE)
  })
}
