import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import * as v from 'valibot'
import { ACCESS_PARAM } from '../containers/access.js'
import type { ContainerRecord } from '../backend.js'
import { ContainerNotFoundError } from '../errors.js'
import { purge } from '../lifecycle/reaping.js'
import { assertImageAllowed, type LaunchRules, planLaunch } from './launch.js'
import type { ContainerManager } from '../containers/manager.js'
import { apiAuth, browserGuard, type ApiAuthOptions } from './auth.js'
import { ApiError, validationError } from '../http/errors.js'
import { allowedHostsGuard, hostGuard } from '../http/host.js'
import { ndjsonResponse, wantsNdjson } from './ndjson.js'
import { openApiDocument } from './openapi.js'
import {
  ContainerNameSchema,
  type ContainerViewSchema,
  LaunchBodySchema,
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
}

/** A container as the API shows it. */
export type ContainerView = v.InferOutput<typeof ContainerViewSchema>

/**
 * The JSON API as its own Hono app, routes under `deps.apiPrefix`. Mount it with the proxy
 * (`gateway.app`) or on an origin of its own (`gateway.api`).
 */
export function createApi(deps: ApiDeps): Hono {
  const app = new Hono()
  const { manager } = deps
  const p = deps.apiPrefix
  const view = async (record: ContainerRecord, mount: string): Promise<ContainerView> => {
    const { status, reason, lastActivity } = await manager.describe(record)
    return {
      name: record.name,
      id: record.id,
      image: record.image,
      status,
      ...(reason ? { reason } : {}),
      ...(record.exitCode === undefined ? {} : { exitCode: record.exitCode }),
      url: `${mount}${deps.proxyPrefix}/${record.name}/`,
      createdAt: record.createdAt,
      lastActivity: new Date(lastActivity).toISOString(),
      port: record.port,
      memReservationMb: record.memReservationMb,
      ...(record.idleTimeoutSeconds ? { idleTimeoutSeconds: record.idleTimeoutSeconds } : {}),
      stripPrefix: record.stripPrefix !== false,
      labels: record.labels,
    }
  }
  /** The URL to hand out: for a private container, with its one-time access token. */
  const accessUrl = async (record: ContainerRecord, url: string) =>
    record.access === 'token' ? `${url}?${ACCESS_PARAM}=${await manager.issueAccessToken(record)}` : url
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
    const { spec, input } = planLaunch(body, deps.launch, `${deps.mountBase(c)}${deps.proxyPrefix}`)
    const mount = deps.mountBase(c)
    if (wantsNdjson(c.req.raw)) {
      // Progress as it happens (image pull), then the launched container, one JSON per line.
      return ndjsonResponse(async (write) => {
        const record = await manager.launch(spec, input?.served, (event) => write({ event: 'progress', ...event }))
        const shown = await view(record, mount)
        write({
          event: 'launched',
          name: shown.name,
          id: shown.id,
          url: await accessUrl(record, shown.url),
          status: shown.status,
        })
      }, deps.onStreamError)
    }
    const record = await manager.launch(spec, input?.served)
    const shown = await view(record, mount)
    return c.json(
      { name: shown.name, id: shown.id, url: await accessUrl(record, shown.url), status: shown.status },
      201,
      {
        location: `${mount}${p}/containers/${record.name}`,
      },
    )
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
    const mount = deps.mountBase(c)
    const records = await manager.list()
    return c.json({ containers: await Promise.all(records.map((r) => view(r, mount))) })
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

async function readJson<S extends v.GenericSchema>(
  request: Request,
  schema: S,
  what: string,
): Promise<v.InferOutput<S>> {
  const type = request.headers.get('content-type') ?? ''
  if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
    throw new ApiError(415, 'unsupported_media_type', 'Send the body as JSON (Content-Type: application/json)')
  }
  let raw: unknown
  try {
    raw = await request.json()
  } catch {
    throw new ApiError(400, 'invalid_json', 'The request body is not valid JSON')
  }
  if (nestsDeeperThan(raw, MAX_JSON_DEPTH)) {
    throw new ApiError(400, 'invalid_json', `The request body nests deeper than ${MAX_JSON_DEPTH} levels`)
  }
  const result = v.safeParse(schema, raw)
  if (!result.success) throw validationError(result.issues, what)
  return result.output
}

/** How deep a JSON body may nest: far beyond any real input, far below what `JSON.stringify` survives. */
const MAX_JSON_DEPTH = 64

/** Whether a parsed JSON value nests deeper than `max` arrays or objects; walked without recursion. */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length) {
    const [item, depth] = stack.pop()!
    if (item === null || typeof item !== 'object') continue
    if (depth >= max) return true
    for (const child of Object.values(item))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
  }
  return false
}
