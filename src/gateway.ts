import { Hono, type Context } from 'hono'
import { basePath } from 'hono/route'
import type { Backend } from './backend.js'
import { parseConfig, type Config, type ConfigInput } from './config/schema.js'
import { consoleLogger, type Logger } from './logger.js'
import { ConfigError } from './errors.js'
import { firstBackendKey } from './config/backend-keys.js'
import { startBackground } from './lifecycle/background.js'
import { ContainerManager } from './containers/manager.js'
import { answersWithin, memoryStore, type ContainerStore } from './stores/store.js'
import { fetchUpstream, type UpstreamFetch } from './proxy/upstream.js'
import { toErrorResponse } from './http/errors.js'
import { createApi } from './api/index.js'
import { parseProxyPath, proxyRequest, type ProxyDeps, type ProxyTarget } from './proxy/proxy.js'
import { createDirectLane, type DirectLane, type ObserveExchange } from './proxy/direct.js'
import { GatewayMetrics } from './metrics.js'
import { instrumentBackend } from './containers/instrumented-backend.js'
import { apiAuth } from './api/auth.js'
import type { WebSocketProxy } from './proxy/websocket.js'
import type { AuthorizeHook } from './proxy/access-check.js'
import { NAME_PATTERN } from './api/schemas.js'
import { allowedHostsGuard, hostAllowList, hostGuard, hostName, proxyHostAllowList } from './http/host.js'
import { errorBody } from './http/answer.js'
import { createDashboard, DASHBOARD_COOKIE, type DashboardAssets } from './dashboard/index.js'
import { Drain } from './lifecycle/drain.js'
import { healthRoutes } from './api/health.js'
import { REQUEST_ID_HEADER, requestIdFor, stampRequestId } from './http/request-id.js'
import { Leadership } from './lifecycle/leadership.js'
import { withContext } from './telemetry/tracing.js'
import { proxySpan } from './proxy/span.js'
import { randomToken } from './util/secrets.js'

/** An error's cause as one line for the operator log. */
function describeCause(cause: unknown): string {
  const detail = (cause as { json?: { message?: unknown } } | undefined)?.json?.message
  return typeof detail === 'string' ? detail : String(cause)
}

/** The label root every configuration has unless it sets one. */
const DEFAULT_LABEL_ROOT = parseConfig({}).labelRoot

/**
 * The configuration with the backend's label root: a gateway lists, reaps and purges what its
 * backend manages, so the two must agree. A configuration that does not set `labelRoot` takes
 * the backend's; one that sets another is refused, naming the key.
 */
function withBackendLabelRoot(config: Config, backend: Backend): Config {
  const key = firstBackendKey(config)
  if (key)
    throw new ConfigError(
      `${key}: the gateway was given its backend, which this key cannot change; pass the setting to the backend (docker({ … }), swarm({ … })) and leave it out of the configuration`,
    )
  const own = backend.labelRoot
  if (own === undefined || own === config.labelRoot) return config
  if (config.labelRoot !== DEFAULT_LABEL_ROOT)
    throw new ConfigError(
      `labelRoot: the configuration says "${config.labelRoot}", but the backend manages containers labelled "${own}"; give the backend the same labelRoot (docker({ labelRoot: "${config.labelRoot}" }))`,
    )
  return { ...config, labelRoot: own }
}

/** Options for {@link createGateway}. */
export interface GatewayOptions {
  /** The container engine, e.g. `docker()` from `hono-docker-engine/docker`. */
  backend: Backend
  /** Configuration (validated; every key optional). */
  config?: ConfigInput
  /** Upstream client; the runtime entries inject a faster, non-decompressing one. */
  fetch?: UpstreamFetch
  /**
   * Decide who may reach each container through the proxy (e.g. compare the signed-in user with
   * an owner label). Replaces per-container access tokens. `false` answers 403.
   */
  authorize?: AuthorizeHook
  /** The runtime's WebSocket tunnel (`nodeWebSocketProxy`, `bunWebSocketProxy`); upgrades answer 501 without one. */
  websocket?: WebSocketProxy
  /** The client's address for `X-Forwarded-For` (runtime-specific, e.g. `getConnInfo`). */
  getClientAddress?: (c: Context) => string | undefined
  /** Operator log; JSON lines on the console by default. */
  logger?: Logger
  /** Where history and per-container state persist; in memory by default (the CLI uses `fileStore`). */
  store?: ContainerStore
  /** Run the idle reaper and follow engine events (default `true`). */
  background?: boolean
  /**
   * The dashboard's script, styles and charts library. The runtime entries (`createNodeGateway`,
   * `createBunGateway`) read them from the package; without them the dashboard's pages work, minus
   * their live parts.
   */
  dashboardAssets?: DashboardAssets
}

/** A gateway: an embeddable Hono app plus its lifecycle. */
export interface Gateway {
  /** Serve it, or mount it: `parent.route('/viz', gateway.app)`. The API and the proxy together. */
  app: Hono
  /**
   * The JSON API and `/metrics` alone, to serve on an origin of their own. Containers' pages run
   * on the proxy's origin: nothing that trusts a cookie there may share it (see docs/security.md, Origins).
   */
  api: Hono
  /** The proxy alone (`/docker/<name>/…`, and hostname routing when configured). */
  proxy: Hono
  /**
   * The operator dashboard, to serve on an origin of its own: never the containers' origin,
   * whose pages could read it and act through it (the standalone server gives it its own port).
   */
  dashboard: Hono
  /** The validated configuration in force. */
  config: Config
  /** The backend it drives. */
  backend: Backend
  /** The gateway's view of its containers (for embedders and tests). */
  manager: ContainerManager
  /** The metrics served at `/metrics`. */
  metrics: GatewayMetrics
  /**
   * For runtime adapters: the rules for carrying plain requests to running containers without
   * Hono (the fast paths of `serveNode` and `serveBun`). Answers exactly as `app` would.
   */
  direct: DirectLane
  /**
   * Its shutdown state, shared with the servers that serve it: `serveNode`/`serveBun` count what
   * is in flight in it, refuse new requests once it drains, and their `close(graceMs)` drains it.
   */
  drain: Drain
  /** Stop background work and release the backend (after the servers have drained). */
  close(): Promise<void>
}

/**
 * Build a gateway. No side effects: nothing connects or listens until requests arrive.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { createGateway } from 'hono-docker-engine'
 * import { docker } from 'hono-docker-engine/docker'
 *
 * const gateway = createGateway({ backend: docker() })
 * const app = new Hono().route('/viz', gateway.app) // /viz/api/…, /viz/docker/<name>/…
 * ```
 */
export function createGateway(options: GatewayOptions): Gateway {
  const config = withBackendLabelRoot(parseConfig(options.config ?? {}, 'gateway options'), options.backend)
  const logger = options.logger ?? consoleLogger(config.log.level)
  if (config.store === 'redis' && !options.store)
    throw new ConfigError(
      'store: "redis" is read by the CLI; an embedding app passes the store itself (store: redisStore({ url }) from hono-docker-engine/redis)',
    )
  const store = options.store ?? memoryStore(config.history.maxEntries)
  const replicaId = randomToken().slice(0, 16)
  // Replicas on a shared store elect the one that runs the background work; alone, a gateway leads.
  const leadership = store.shared
    ? new Leadership({ store, holder: replicaId, ttlMs: config.replicas.leaseSeconds * 1000, logger })
    : undefined
  const isLeader = () => leadership?.isLeader ?? true
  // Probes and scrapes never wait on a store that is away.
  const storeAnswers = () => answersWithin(store, 1_000)
  const metrics = new GatewayMetrics(
    async () => {
      const counts = new Map<string, number>()
      for (const record of await manager.records()) {
        const status = await manager.status(record)
        counts.set(status, (counts.get(status) ?? 0) + 1)
      }
      return [...counts].map(([status, value]) => ({ labels: { status }, value }))
    },
    {
      storeUp: async () => ((await storeAnswers()) ? 1 : 0),
      leader: () => (isLeader() ? 1 : 0),
    },
  )
  // Every failed engine call is counted, whichever path made it.
  const backend = instrumentBackend(options.backend, metrics.dockerErrors)
  const upstreamFetch = options.fetch ?? fetchUpstream
  const drain = new Drain()
  const manager = new ContainerManager({
    backend,
    store,
    isLeader,
    replicaId,
    config,
    fetch: upstreamFetch,
    logger,
    metrics,
  })
  const runBackground = options.background !== false
  if (runBackground) leadership?.start()
  const stopBackground = runBackground
    ? startBackground({ manager, logger, reapIntervalSeconds: config.idle.checkIntervalSeconds, isLeader })
    : () => {}
  const mountBase = (c: Context) => {
    const base = basePath(c)
    return base === '/' ? '' : base
  }

  /** The operator's account of a failed request: all of an unknown error, the hidden cause of a known one. */
  const reportError = (
    err: unknown,
    status: number,
    known: boolean,
    request: { method: string; path: string; requestId?: string | undefined },
  ) => {
    if (!known) logger.error('unhandled error', { ...request, error: String(err), stack: (err as Error)?.stack })
    // What the client is not told (an engine's own words, host paths) the operator is.
    else if ((err as Error)?.cause !== undefined && status >= 400 && status !== 404) {
      logger.warn('request failed', {
        ...request,
        status,
        error: (err as Error).message,
        cause: describeCause((err as Error).cause),
      })
    }
  }
  const answerError = (err: Error, c: Context) => {
    const { status, body, known } = toErrorResponse(err)
    reportError(err, status, known, { method: c.req.method, path: c.req.path, requestId: c.get('requestId') })
    return c.json(body, status, {
      'cache-control': 'no-store',
      ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
    })
  }

  // DNS rebinding: a page whose name resolves to the gateway's address must not reach the API,
  // the dashboard or any container through its visitor's browser.
  const allowedHost = hostAllowList({
    configured: config.listen.allowedHosts,
    listenHostname: config.listen.hostname,
    tokens: config.auth.tokens.length > 0,
    extra: [config.input.publicApiUrl && new URL(config.input.publicApiUrl).host, config.dashboard.hostname],
  })
  const proxyDeps: ProxyDeps = {
    manager,
    allowedHost: proxyHostAllowList(allowedHost, config.hostSuffix),
    fetch: upstreamFetch,
    maxWaitSeconds: config.maxWaitSeconds,
    pleaseWait: config.pleaseWait,
    headersTimeoutMs: config.upstream.headersTimeoutMs,
    bodyIdleTimeoutMs: config.upstream.bodyIdleTimeoutMs,
    forwarding: {
      trustProxy: config.trustProxy,
      // The dashboard's session never reaches a container (cookies ignore ports: its origin is same-site).
      strippedCookies: new Set([...config.cookies.strip, DASHBOARD_COOKIE]),
      preserveHost: config.upstream.preserveHost,
    },
    ...(options.websocket ? { websocket: options.websocket } : {}),
    ...(options.authorize ? { authorize: options.authorize } : {}),
    ...(options.getClientAddress ? { getClientAddress: options.getClientAddress } : {}),
    onError: (message: string, fields: Record<string, unknown>) => logger.warn(message, fields),
    onNotice: (message: string, fields: Record<string, unknown>) => logger.info(message, fields),
    onWebSocket: (delta: 1 | -1) => metrics.openWebSockets.inc(delta),
    drain,
  }

  /** Metrics by container (only names that resolve, to bound cardinality), and the access log. */
  const observe: ObserveExchange = (name, known, method, path, status, seconds, fast, requestId) => {
    const container = known ? name : '(unknown)'
    metrics.proxiedRequests.inc({ container, status: String(status) })
    if (fast) metrics.fastPathRequests.inc()
    metrics.proxyLatency.observe({ container }, seconds)
    if (config.log.access)
      logger.info('access', { container: name, method, path, status, ms: Math.round(seconds * 1000), requestId })
  }
  const proxyAndObserve = async (c: Context, proxied: ProxyTarget) => {
    const started = performance.now()
    // Its id: for the container, for the log, and on whatever the client is answered.
    const requestId = requestIdFor(c.req.header(REQUEST_ID_HEADER), config.trustProxy)
    // Its span: the parent of a wake it causes, and of the container's own spans.
    const span = proxySpan(c.req.method, proxied.name, requestId, (name) => c.req.header(name))
    const target = { ...proxied, requestId, trace: span }
    const response = stampRequestId(
      await withContext(span.context, () => proxyRequest(c, target, proxyDeps)),
      requestId,
    )
    span.end(response.status)
    const seconds = (performance.now() - started) / 1000
    // The exchange has just looked the name up, so the route cache usually answers; a name it
    // dropped meanwhile (e.g. a container refusing connections) is looked up again.
    const known =
      manager.cachedRoute(target.name) !== undefined ||
      (await manager.findRoute(target.name).then(Boolean, () => false))
    observe(target.name, known, c.req.method, target.path || '/', response.status, seconds, false, requestId)
    return response
  }

  const proxy = new Hono()
  proxy.onError(answerError)
  proxy.use(hostGuard)
  proxy.use(allowedHostsGuard(proxyDeps.allowedHost))
  if (config.hostSuffix) {
    const suffix = config.hostSuffix
    // Hostname routing: `<name><suffix>` serves the container at the root, so apps that use
    // absolute paths work. Registered first, so every path on such a host is the container's.
    proxy.use(async (c, next) => {
      const host = hostName(c.req.header('host') ?? '')
      if (!host.endsWith(suffix)) return next()
      const name = host.slice(0, -suffix.length)
      if (!NAME_PATTERN.test(name))
        return c.json(errorBody('invalid_name', 'The container name in the host is not valid'), 404)
      return proxyAndObserve(c, { name, path: c.req.path, prefix: '' })
    })
  }

  const auth = {
    tokens: config.auth.tokens,
    ...(options.getClientAddress ? { getClientAddress: options.getClientAddress } : {}),
  }
  const launchRules = {
    defaults: config.defaults,
    ...(config.images.allow ? { allowImages: config.images.allow } : {}),
    pullPolicy: config.images.pull,
    defaultAccess: config.defaultAccess,
    maxExtraDirectories: config.limits.extraDirectories,
    ...(config.readiness.path ? { readinessPath: config.readiness.path } : {}),
    input: {
      maxEnvBytes: config.input.maxEnvBytes,
      ...(config.input.publicApiUrl ? { publicApiUrl: config.input.publicApiUrl } : {}),
    },
  }
  const onStreamError = (err: unknown, status: number, known: boolean) =>
    reportError(err, status, known, { method: 'stream', path: config.apiPrefix })
  const api = createApi({
    manager,
    apiPrefix: config.apiPrefix,
    proxyPrefix: config.proxyPrefix,
    bodyLimitBytes: config.apiBodyLimitBytes,
    launch: launchRules,
    auth,
    allowedHost,
    onStreamError,
    mountBase,
    drain,
    trustProxy: config.trustProxy,
  })

  api.onError(answerError)

  const dashboard = createDashboard({
    manager,
    metrics,
    config,
    store,
    launch: launchRules,
    allowedHost,
    onStreamError,
    onError: reportError,
    ...(options.getClientAddress ? { getClientAddress: options.getClientAddress } : {}),
    ...(options.dashboardAssets ? { assets: options.dashboardAssets } : {}),
  })

  proxy.all(`${config.proxyPrefix}/:name/*`, async (c) => {
    const publicPrefix = `${mountBase(c)}${config.proxyPrefix}`
    const target = parseProxyPath(c.req.path, publicPrefix)
    if (!target) {
      return c.json(errorBody('invalid_name', 'The container name in the URL is not valid'), 404)
    }
    if (target.path === '') {
      // `/docker/<name>` → `/docker/<name>/` so relative URLs in the app resolve under its prefix.
      const search = new URL(c.req.url).search
      return c.redirect(`${target.prefix}/${search}`, 308)
    }
    return proxyAndObserve(c, target)
  })

  if (config.metrics.enabled) {
    // Prometheus scrapes with the API's credentials (or from loopback when there are none).
    api.get('/metrics', apiAuth(auth), async (c) =>
      c.body(await metrics.render(), 200, {
        'content-type': metrics.contentType,
        'cache-control': 'no-store',
      }),
    )
  }

  // Hostname routing first: on a container's host every path, `/api/…` included, is the container's.
  const app = new Hono()
  app.onError(answerError)
  // Probes use whatever address reaches the process as Host: they answer before the host rules.
  healthRoutes(app, {
    manager,
    drain,
    apiPrefix: config.apiPrefix,
    hostSuffix: config.hostSuffix,
    storeAnswers,
    trustProxy: config.trustProxy,
  })
  app.route('/', proxy)
  app.route('/', api)
  // Served on its own, the gateway answers every other path in its JSON error shape, with a pointer.
  app.notFound((c) => {
    c.header(REQUEST_ID_HEADER, requestIdFor(c.req.header(REQUEST_ID_HEADER), config.trustProxy))
    return c.json(
      errorBody(
        'not_found',
        `No route ${c.req.method} ${c.req.path}: the API is under ${config.apiPrefix}/, containers under ${config.proxyPrefix}/<name>/`,
      ),
      404,
    )
  })

  return {
    app,
    api,
    proxy,
    dashboard: dashboard.app,
    config,
    backend,
    manager,
    metrics,
    direct: createDirectLane(config, proxyDeps, observe),
    drain,
    async close() {
      stopBackground()
      dashboard.close()
      // Another replica takes the background work over at once.
      await leadership?.stop()
      await manager.close()
      await backend.close?.()
    },
  }
}
