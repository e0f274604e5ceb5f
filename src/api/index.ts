import type { Drain } from '../lifecycle/drain.js'
import { healthRoutes } from './health.js'
import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import * as v from 'valibot'
import type { ContainerRecord } from '../backend.js'
import { ContainerNotFoundError } from '../errors.js'
import { purge } from '../lifecycle/reaping.js'
import { assertImageAllowed, type LaunchRules, planLaunch } from './launch.js'
import type { ContainerManager } from '../containers/manager.js'
import { apiAuth, browserGuard, type ApiAuthOptions } from './auth.js'
import { ApiError, validationError } from '../http/errors.js'
import { allowedHostsGuard, hostGuard } from '../http/host.js'
import { ndjsonResponse, wantsNdjson } from './ndjson.js'
import { readJson } from '../http/json-body.js'
import { launchStream } from './launch-stream.js'
import { listPage, listQueryInput } from './list.js'
import { accessLink, containerView, launchResult } from './view.js'
import { openApiDocument } from './openapi.js'
import { requestIdMiddleware } from '../http/request-id.js'
import { tracingMiddleware } from '../http/tracing.js'
import { stopContainer, wakeContainer } from './container-actions.js'
import {
  ContainerNameSchema,
  LaunchBodySchema,
  ListQuerySchema,
  LogsQuerySchema,
  PullBodySchema,
  PurgeBodySchema,
  withDefaultTag,
} from './schemas.js'

/** Everything the API routes need; supplied by `createGateway`. */
export interface ApiDeps {
  manager: ContainerManager
  apiPrefix: string
  proxyPrefix: string
  bodyLimitBytes: number
  /** The launch rules (defaults, allowlist, bounds, input delivery). */
  launch: LaunchRules
  /** Who may use the API. */
  auth: ApiAuthOptions
  /** The `Host` names the API answers for (DNS rebinding defence). */
  allowedHost: (host: string) => boolean
  /** Report an error that surfaced inside a stream, after its status was sent (for the operator log). */
  onStreamError: (err: unknown, status: number, known: boolean) => void
  /** The public path prefix the gateway is mounted under (`''` standalone, `/viz` embedded). */
  mountBase: (c: Context) => string
  /** The gateway's shutdown state, for the readiness probe. */
  drain: Drain
  /** Take a request's `X-Request-Id` from the proxy in front (`trustProxy`). */
  trustProxy: boolean
}

export type { ContainerView } from './view.js'

/**
 * The JSON API as its own Hono app, routes under `deps.apiPrefix`. Mount it with the proxy
 * (`gateway.app`) or on an origin of its own (`gateway.api`).
 */
export function createApi(deps: ApiDeps): Hono {
  const app = new Hono()
  const { manager } = deps
  const p = deps.apiPrefix
  const urlOf = (record: ContainerRecord, mount: string) => `${mount}${deps.proxyPrefix}/${record.name}/`
  const view = (record: ContainerRecord, mount: string) => containerView(manager, record, urlOf(record, mount))
  const nameParam = (raw: string): string => {
    const result = v.safeParse(ContainerNameSchema, raw)
    if (!result.success) throw validationError(result.issues, 'container name')
    return result.output
  }
  const jsonBody = bodyLimit({
    maxSize: deps.bodyLimitBytes,
    onError: () => {
      throw new ApiError(413, 'body_too_large', `The request body exceeds ${deps.bodyLimitBytes} bytes`)
    },
  })

  // Probes answer any Host: registered before the host rules.
  healthRoutes(app, { manager, drain: deps.drain, apiPrefix: p, trustProxy: deps.trustProxy })
  // Every other answer carries the request's id, errors included.
  app.use(requestIdMiddleware(deps.trustProxy))
  app.use(tracingMiddleware())
  app.use(hostGuard)
  app.use(allowedHostsGuard(deps.allowedHost))
  // Browsers acting for a page need a token on every route, the credential-free ones included.
  app.use(`${p}/*`, browserGuard(deps.auth))

  app.get(`${p}/health`, async (c) => {
    try {
      const info = await manager.ping()
      const backend = {
        name: manager.engineName,
        reachable: true,
        version: info.version,
        ...(info.liveRestore === undefined ? {} : { liveRestore: info.liveRestore }),
      }
      return c.json({ ok: true, backend })
    } catch (err) {
      const message = err instanceof Error ? err.message : 'unreachable'
      return c.json({ ok: false, backend: { name: manager.engineName, reachable: false, error: message } }, 503)
    }
  })

  // Read by the container itself (`inputDelivery: "url"`); the token in the URL is the credential.
  app.get(`${p}/containers/:name/input`, async (c) => {
    const name = nameParam(c.req.param('name'))
    const json = await manager.servedInput(name, c.req.query('token') ?? '')
    return c.body(json, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  })

  const openApi = openApiDocument(p)
  app.get(`${p}/openapi.json`, (c) => c.json(openApi))

  // Everything registered below needs API credentials (routes above carry their own, or none).
  app.use(`${p}/*`, apiAuth(deps.auth))

  app.post(`${p}/containers`, jsonBody, async (c) => {
    const body = await readJson(c.req.raw, LaunchBodySchema, 'launch request')
    const plan = planLaunch(body, deps.launch, `${deps.mountBase(c)}${deps.proxyPrefix}`)
    const mount = deps.mountBase(c)
    // Progress as it happens (image pull), then the launched container, one JSON per line.
    if (wantsNdjson(c.req.raw)) return launchStream(manager, plan, (record) => urlOf(record, mount), deps.onStreamError)
    const record = await manager.launch(plan.spec, plan.input?.served)
    return c.json(await launchResult(manager, record, urlOf(record, mount)), 201, {
      location: `${mount}${p}/containers/${record.name}`,
    })
  })

  app.post(`${p}/images/pull`, jsonBody, async (c) => {
    const { image: raw } = await readJson(c.req.raw, PullBodySchema, 'pull request')
    const image = withDefaultTag(raw)
    if (deps.launch.allowImages) assertImageAllowed(image, deps.launch.allowImages)
    // Resolves once the engine accepted the pull, so a registry that cannot be reached is a plain 4xx.
    const events = await manager.pull(image, c.req.raw.signal)
    if (!events) throw new ApiError(501, 'unsupported', `The ${manager.engineName} backend cannot pull images`)
    return ndjsonResponse(async (write) => {
      for await (const event of events) write(event)
      write({ status: 'done', image })
    }, deps.onStreamError)
  })

  app.get(`${p}/containers`, async (c) => {
    const query = v.safeParse(ListQuerySchema, listQueryInput(c.req.queries()))
    if (!query.success) throw validationError(query.issues, 'list query')
    const mount = deps.mountBase(c)
    const page = listPage(await manager.list(), query.output)
    const containers = await Promise.all(page.records.map((r) => view(r, mount)))
    return c.json(page.next === undefined ? { containers } : { containers, next: page.next })
  })

  app.get(`${p}/containers/:name`, async (c) => {
    const name = nameParam(c.req.param('name'))
    const record = await manager.get(name)
    if (!record) throw new ContainerNotFoundError(name)
    return c.json(await view(record, deps.mountBase(c)))
  })

  app.delete(`${p}/containers/:name`, async (c) => {
    const name = nameParam(c.req.param('name'))
    if (!(await manager.remove(name))) throw new ContainerNotFoundError(name)
    return c.body(null, 204)
  })

  // Scale to zero by hand, and back: the same rules as the dashboard's buttons.
  app.post(`${p}/containers/:name/stop`, async (c) =>
    c.json(await stopContainer(manager, nameParam(c.req.param('name')), 'api')),
  )
  app.post(`${p}/containers/:name/wake`, async (c) =>
    c.json(await wakeContainer(manager, nameParam(c.req.param('name'))), 202),
  )

  // A browser that lost its access cookie (or a link that was lost) gets back in through a new link.
  app.post(`${p}/containers/:name/access-link`, async (c) => {
    const name = nameParam(c.req.param('name'))
    const record = await manager.get(name)
    if (!record) throw new ContainerNotFoundError(name)
    const url = await accessLink(manager, record, urlOf(record, deps.mountBase(c)))
    return c.json({ name, url }, 201, { 'cache-control': 'no-store' })
  })

  app.get(`${p}/containers/:name/logs`, async (c) => {
    const name = nameParam(c.req.param('name'))
    const query = v.safeParse(LogsQuerySchema, c.req.query())
    if (!query.success) throw validationError(query.issues, 'logs query')
    const stream = await manager.logs(name, { ...query.output, signal: c.req.raw.signal })
    return new Response(stream, {
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      },
    })
  })

  app.get(`${p}/containers/:name/history`, async (c) => {
    const name = nameParam(c.req.param('name'))
    return c.json({ name, entries: await manager.historyOf(name) })
  })

  app.post(`${p}/purge`, jsonBody, async (c) => {
    const criteria = await readJson(c.req.raw, PurgeBodySchema, 'purge request')
    return c.json({ removed: await purge(manager, criteria) })
  })

  app.all(`${p}/*`, (c) => {
    throw new ApiError(404, 'not_found', `No API route ${c.req.method} ${c.req.path}`)
  })
  return app
}
