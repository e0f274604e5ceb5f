import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { basePath } from 'hono/route'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { secureHeaders } from 'hono/secure-headers'
import { streamSSE } from 'hono/streaming'
import * as v from 'valibot'
import { accessLink, type ContainerView } from '../api/view.js'
import { type LaunchRules, planLaunch } from '../api/launch.js'
import { launchStream } from '../api/launch-stream.js'
import { stopContainer, wakeContainer } from '../api/container-actions.js'
import { ContainerNameSchema, LaunchBodySchema, LogsQuerySchema } from '../api/schemas.js'
import type { Config } from '../config/schema.js'
import type { ContainerManager } from '../containers/manager.js'
import { ContainerNotFoundError } from '../errors.js'
import { ApiError, toErrorResponse, validationError } from '../http/errors.js'
import { allowedHostsGuard, hostGuard, hostName } from '../http/host.js'
import { readJson } from '../http/json-body.js'
import { requestIdMiddleware } from '../http/request-id.js'
import { isNavigation } from '../http/please-wait.js'
import { hintsOf } from '../http/answer.js'
import type { GatewayMetrics } from '../metrics.js'
import { matchesAny } from '../util/secrets.js'
import { DASHBOARD_ASSETS, type DashboardAssets, isDashboardAsset } from './assets.js'
import {
  type DashboardEnv,
  type DashboardGuardOptions,
  requireLocalUnlessTokens,
  requireSameOrigin,
  requireSession,
  sessionOf,
  setSessionCookie,
} from './guard.js'
import { LiveContainers } from './live.js'
import { ContainerPage } from './pages/container.js'
import { ContainerRows, Detail, HistoryRows, type Links, Summary } from './pages/containers.js'
import type { PageFrame } from './pages/layout.js'
import { OverviewPage } from './pages/overview.js'
import { MessagePage, SignInPage } from './pages/sign-in.js'
import { DashboardSessions } from './sessions.js'
import type { ContainerStore } from '../stores/store.js'
import { TrafficSampler } from './traffic.js'

export { DASHBOARD_COOKIE } from './sessions.js'
export type { DashboardAssets } from './assets.js'

/** What the dashboard is built from; supplied by `createGateway`. */
export interface DashboardDeps {
  manager: ContainerManager
  metrics: GatewayMetrics
  config: Config
  /** Where signed-in sessions and the key that signs sign-in forms are kept. */
  store: ContainerStore
  /** The launch rules the API applies, applied here too. */
  launch: LaunchRules
  /** The host names it answers for (DNS rebinding defence). */
  allowedHost: (host: string) => boolean
  /** The client's address, when the runtime can tell. */
  getClientAddress?: (c: Context) => string | undefined
  /** Its script, styles and charts library; without them the pages work, minus the live parts. */
  assets?: DashboardAssets
  /** Report an error that surfaced inside a stream (for the operator log). */
  onStreamError: (err: unknown, status: number, known: boolean) => void
  /** Report a failed request (for the operator log). */
  onError: (
    err: unknown,
    status: number,
    known: boolean,
    request: { method: string; path: string; requestId?: string | undefined },
  ) => void
}

/** The operator dashboard and what it runs while open. */
export interface Dashboard {
  app: Hono
  /** Stop its timers. */
  close(): void
}

/** Content-Security-Policy: the gateway's own scripts and styles only, and never inside a frame. */
const CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
}

const mountBase = (c: Context) => {
  const base = basePath(c)
  return base === '/' ? '' : base
}

/**
 * The operator dashboard: a Hono app to serve on an origin of its own (the standalone server
 * gives it its own port). Server-rendered with `hono/jsx`; a small script of its own follows the
 * gateway's state over server-sent events. It acts through the container manager, as the API does.
 */
export function createDashboard(deps: DashboardDeps): Dashboard {
  const { manager, config } = deps
  const guard: DashboardGuardOptions = {
    sessions: new DashboardSessions({ ttlMs: config.dashboard.sessionTtlSeconds * 1000, store: deps.store }),
    tokens: config.auth.tokens,
    trustProxy: config.trustProxy,
    base: mountBase,
    ...(deps.getClientAddress ? { getClientAddress: deps.getClientAddress } : {}),
  }
  const live = new LiveContainers({ manager, proxyPrefix: config.proxyPrefix })
  const traffic = new TrafficSampler({ metrics: deps.metrics })
  const tokens = config.auth.tokens.length > 0

  /** Where containers open: `dashboard.proxyUrl`, else this host name on the proxy's port. */
  const proxyOrigin = (c: Context) => {
    const configured = config.dashboard.proxyUrl
    if (configured) return configured.replace(/\/+$/, '')
    const url = new URL(c.req.url)
    const host = hostName(c.req.header('host') ?? url.host)
    return `${url.protocol}//${host}:${config.listen.port}`
  }
  const proxyPathBase = () =>
    (config.dashboard.proxyUrl ? new URL(config.dashboard.proxyUrl).pathname : '').replace(/\/+$/, '')
  const linksFor = (c: Context): Links => {
    const origin = proxyOrigin(c)
    const base = mountBase(c)
    return {
      open: (view: ContainerView) => `${origin}${view.url}`,
      page: (name: string) => (name ? `${base}/containers/${encodeURIComponent(name)}` : `${base}/`),
    }
  }
  const frameOf = (c: Context<DashboardEnv>): PageFrame => {
    const session = c.get('session')
    return { base: mountBase(c), signOut: tokens && Boolean(session?.signedIn), csrf: session?.csrf }
  }
  const page = (c: Context, node: unknown, status: ContentfulStatusCode = 200) =>
    c.html(`<!doctype html>${String(node)}`, status, { 'cache-control': 'no-store' })
  const nameParam = (raw: string): string => {
    const result = v.safeParse(ContainerNameSchema, raw)
    if (!result.success) throw validationError(result.issues, 'container name')
    return result.output
  }
  const recordOf = async (name: string) => {
    const record = await manager.get(name)
    if (!record) throw new ContainerNotFoundError(name)
    return record
  }

  const app = new Hono<DashboardEnv>()
  // Every answer carries the request's id, errors included.
  app.use(requestIdMiddleware(config.trustProxy))
  app.onError((err, c) => {
    const { status, body, known } = toErrorResponse(err)
    deps.onError(err, status, known, { method: c.req.method, path: c.req.path, requestId: c.get('requestId') })
    if (isNavigation(hintsOf(c.req.raw))) {
      const frame = { base: mountBase(c), signOut: false }
      return page(c, <MessagePage frame={frame} title="Not possible" message={body.error.message} />, status)
    }
    return c.json(body, status, { 'cache-control': 'no-store' })
  })
  app.use(hostGuard)
  app.use(allowedHostsGuard(deps.allowedHost))
  app.use(
    secureHeaders({
      contentSecurityPolicy: CSP,
      xFrameOptions: 'DENY',
      // Not `no-referrer`: with it, browsers send `Origin: null` on form posts, which the origin check refuses.
      referrerPolicy: 'same-origin',
      crossOriginResourcePolicy: 'same-origin',
      crossOriginOpenerPolicy: 'same-origin',
      // HSTS is the host's decision (it would cover the proxy's ports too), never the dashboard's.
      strictTransportSecurity: false,
    }),
  )
  app.use(requireLocalUnlessTokens(guard))

  app.get('/assets/:file', async (c) => {
    const file = c.req.param('file')
    const content = isDashboardAsset(file) ? await deps.assets?.(file) : undefined
    if (!isDashboardAsset(file) || !content) throw new ApiError(404, 'not_found', `No dashboard asset ${file}`)
    return c.body(content as Uint8Array<ArrayBuffer>, 200, {
      'content-type': DASHBOARD_ASSETS[file],
      'cache-control': 'no-cache',
    })
  })

  // Browsers ask for it on every page; it is not behind sign-in, and there is none.
  app.get('/favicon.ico', (c) => c.body(null, 204, { 'cache-control': 'max-age=86400' }))

  // Sign-in: the form's cookie and CSRF token are stateless (see DashboardSessions); signing in
  // creates the session, with a new id.
  app.get('/sign-in', async (c) => {
    const current = await sessionOf(c, guard)
    if (!tokens || current?.signedIn) return c.redirect(`${mountBase(c)}/`, 303)
    // One form cookie per browser: a second sign-in page (another tab, a favicon request
    // redirected here) must not replace the cookie under a form already shown.
    const pending = current ?? (await guard.sessions.stateless(undefined, false))
    if (!current) setSessionCookie(c, guard, pending)
    return page(c, <SignInPage frame={{ base: mountBase(c), signOut: false, csrf: pending.csrf }} />)
  })
  app.post('/sign-in', bodyLimit({ maxSize: 8_192 }), requireSameOrigin(guard), async (c) => {
    if (!tokens) return c.redirect(`${mountBase(c)}/`, 303)
    const form = await c.req.parseBody()
    const token = typeof form.token === 'string' ? form.token.trim() : ''
    const pending = (await sessionOf(c, guard))!
    if (!token || !(await matchesAny(token, config.auth.tokens))) {
      const frame = { base: mountBase(c), signOut: false, csrf: pending.csrf }
      return page(c, <SignInPage frame={frame} error="That is not one of the gateway's API tokens." />, 401)
    }
    setSessionCookie(c, guard, await guard.sessions.signIn())
    return c.redirect(`${mountBase(c)}/`, 303)
  })

  // Everything below: a signed-in session (or a loopback browser without tokens), and same-origin changes.
  app.use('*', requireSession(guard))
  app.use('*', requireSameOrigin(guard))

  app.post('/sign-out', async (c) => {
    await guard.sessions.end(c.get('session').id)
    setSessionCookie(c, guard, null)
    return c.redirect(`${mountBase(c)}/${tokens ? 'sign-in' : ''}`, 303)
  })

  app.get('/', async (c) => {
    const snapshot = await live.current()
    const pullNote =
      config.images.pull === 'never'
        ? 'Images must already be on the engine (images.pull is "never").'
        : 'Pulled from its registry when missing.'
    return page(c, <OverviewPage frame={frameOf(c)} snapshot={snapshot} links={linksFor(c)} pullNote={pullNote} />)
  })

  app.get('/containers/:name', async (c) => {
    const name = nameParam(c.req.param('name'))
    const view = (await live.current()).containers.find((candidate) => candidate.name === name)
    if (!view) throw new ContainerNotFoundError(name)
    const history = await manager.historyOf(name).catch(() => [])
    return page(
      c,
      <ContainerPage
        frame={frameOf(c)}
        name={name}
        view={view}
        history={history}
        links={linksFor(c)}
        canStop={manager.canScaleToZero}
      />,
    )
  })

  // The live stream: the page's parts as HTML rendered here (one rendering rule), and the charts' samples.
  app.get('/events', (c) => {
    const links = linksFor(c)
    const name = c.req.query('container')
    const detailName = name === undefined ? undefined : nameParam(name)
    return streamSSE(c, async (stream) => {
      const send = async (event: string, data: string) => {
        if (!stream.aborted && !stream.closed) await stream.writeSSE({ event, data }).catch(() => {})
      }
      const sendSnapshot = async (snapshot: Awaited<ReturnType<typeof live.current>>) => {
        if (detailName === undefined) {
          await send('summary', String(<Summary snapshot={snapshot} />))
          await send('rows', String(<ContainerRows containers={snapshot.containers} links={links} />))
        } else {
          const view = snapshot.containers.find((candidate) => candidate.name === detailName)
          await send(
            'detail',
            String(<Detail view={view} name={detailName} links={links} canStop={manager.canScaleToZero} />),
          )
        }
      }
      const unsubscribe = live.subscribe((snapshot) => void sendSnapshot(snapshot))
      const unsample = traffic.subscribe((sample) => void send('sample', JSON.stringify(sample)))
      const keepAlive = setInterval(() => void send('ping', ''), 15_000)
      const done = new Promise<void>((resolve) => stream.onAbort(resolve))
      await sendSnapshot(await live.current())
      if (detailName === undefined) await send('traffic', JSON.stringify(traffic.samples()))
      await done
      clearInterval(keepAlive)
      unsample()
      unsubscribe()
    })
  })

  app.get('/containers/:name/history', async (c) => {
    const entries = await manager.historyOf(nameParam(c.req.param('name')))
    return c.html(String(<HistoryRows entries={entries} />), 200, { 'cache-control': 'no-store' })
  })

  app.get('/containers/:name/logs', async (c) => {
    const name = nameParam(c.req.param('name'))
    const query = v.safeParse(LogsQuerySchema, c.req.query())
    if (!query.success) throw validationError(query.issues, 'logs query')
    const stream = await manager.logs(name, { ...query.output, signal: c.req.raw.signal })
    return new Response(stream, {
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    })
  })

  app.post('/launch', bodyLimit({ maxSize: config.apiBodyLimitBytes }), async (c) => {
    const body = await readJson(c.req.raw, LaunchBodySchema, 'launch request')
    const proxyPrefix = `${proxyPathBase()}${config.proxyPrefix}`
    const plan = planLaunch(body, deps.launch, proxyPrefix)
    const origin = proxyOrigin(c)
    return launchStream(manager, plan, (record) => `${origin}${config.proxyPrefix}/${record.name}/`, deps.onStreamError)
  })

  app.post('/containers/:name/stop', async (c) =>
    c.json(await stopContainer(manager, nameParam(c.req.param('name')), 'dashboard')),
  )

  app.post('/containers/:name/wake', async (c) => c.json(await wakeContainer(manager, nameParam(c.req.param('name')))))

  // A new one-time link for a private container, for a visitor who lost the link or its cookie.
  app.post('/containers/:name/access-link', async (c) => {
    const record = await recordOf(nameParam(c.req.param('name')))
    const url = await accessLink(manager, record, `${proxyOrigin(c)}${config.proxyPrefix}/${record.name}/`)
    return c.json({ name: record.name, url }, 201, { 'cache-control': 'no-store' })
  })

  app.post('/containers/:name/remove', async (c) => {
    const name = nameParam(c.req.param('name'))
    if (!(await manager.remove(name, 'dashboard'))) throw new ContainerNotFoundError(name)
    return c.json({ name, removed: true })
  })

  return {
    app: app as unknown as Hono,
    close() {
      live.close()
      traffic.close()
    },
  }
}
