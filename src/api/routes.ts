import type { Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import * as v from 'valibot'
import type { Backend, ContainerRecord, LaunchSpec } from '../backend.js'
import { ContainerNotFoundError } from '../errors.js'
import type { Readiness } from '../readiness.js'
import type { RouteTable } from '../route-table.js'
import { ApiError, validationError } from './errors.js'
import { ContainerNameSchema, LaunchBodySchema, LogsQuerySchema, withDefaultTag, type LaunchBody } from './schemas.js'

/** Everything the API routes need; supplied by `createGateway`. */
export interface ApiDeps {
  backend: Backend
  routes: RouteTable
  readiness: Readiness
  apiPrefix: string
  proxyPrefix: string
  bodyLimitBytes: number
  defaults: { cpus: number; port: number }
  /** The public path prefix the gateway is mounted under (`''` standalone, `/viz` embedded). */
  mountBase: (c: Context) => string
}

/** A container as the API shows it. */
export interface ContainerView {
  name: string
  id: string
  image: string
  status: ReturnType<Readiness['status']>
  exitCode?: number
  url: string
  createdAt: string
  port: number
  memReservationMb: number
  labels: Record<string, string>
}

/** Register the JSON API routes on `app`. */
export function registerApi(app: Hono, deps: ApiDeps): void {
  const p = deps.apiPrefix
  const view = (record: ContainerRecord, mount: string): ContainerView => ({
    name: record.name,
    id: record.id,
    image: record.image,
    status: deps.readiness.status(record),
    ...(record.exitCode === undefined ? {} : { exitCode: record.exitCode }),
    url: `${mount}${deps.proxyPrefix}/${record.name}/`,
    createdAt: record.createdAt,
    port: record.port,
    memReservationMb: record.memReservationMb,
    labels: record.labels,
  })
  const nameParam = (raw: string): string => {
    const result = v.safeParse(ContainerNameSchema, raw)
    if (!result.success) throw validationError(result.issues, 'container name')
    return result.output
  }

  app.get(`${p}/health`, async (c) => {
    try {
      const info = await deps.backend.ping()
      return c.json({ ok: true, backend: { name: deps.backend.name, reachable: true, version: info.version } })
    } catch (err) {
      const message = err instanceof Error ? err.message : 'unreachable'
      return c.json({ ok: false, backend: { name: deps.backend.name, reachable: false, error: message } }, 503)
    }
  })

  app.post(
    `${p}/containers`,
    bodyLimit({
      maxSize: deps.bodyLimitBytes,
      onError: () => {
        throw new ApiError(413, 'body_too_large', `The request body exceeds ${deps.bodyLimitBytes} bytes`)
      },
    }),
    async (c) => {
      const body = await readLaunchBody(c.req.raw)
      const spec = toLaunchSpec(body, deps.defaults)
      const record = await deps.backend.launch(spec)
      deps.routes.remember(record.name, record)
      deps.readiness.watch(record)
      const shown = view(record, deps.mountBase(c))
      return c.json({ name: shown.name, id: shown.id, url: shown.url, status: shown.status }, 201, {
        location: `${deps.mountBase(c)}${p}/containers/${record.name}`,
      })
    },
  )

  app.get(`${p}/containers`, async (c) => {
    const records = await deps.backend.list()
    for (const record of records) deps.readiness.watch(record)
    const mount = deps.mountBase(c)
    return c.json({ containers: records.map((r) => view(r, mount)) })
  })

  app.get(`${p}/containers/:name`, async (c) => {
    const name = nameParam(c.req.param('name'))
    const record = await deps.backend.inspect(name)
    if (!record) throw new ContainerNotFoundError(name)
    deps.routes.remember(name, record)
    deps.readiness.watch(record)
    return c.json(view(record, deps.mountBase(c)))
  })

  app.delete(`${p}/containers/:name`, async (c) => {
    const name = nameParam(c.req.param('name'))
    const before = await deps.backend.inspect(name)
    const removed = await deps.backend.remove(name)
    deps.routes.invalidate(name)
    if (before) deps.readiness.forget(before.id)
    if (!removed) throw new ContainerNotFoundError(name)
    return c.body(null, 204)
  })

  app.get(`${p}/containers/:name/logs`, async (c) => {
    const name = nameParam(c.req.param('name'))
    const query = v.safeParse(LogsQuerySchema, c.req.query())
    if (!query.success) throw validationError(query.issues, 'logs query')
    const stream = await deps.backend.logs(name, { ...query.output, signal: c.req.raw.signal })
    return new Response(stream, {
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      },
    })
  })

  app.all(`${p}/*`, (c) => {
    throw new ApiError(404, 'not_found', `No API route ${c.req.method} ${c.req.path}`)
  })
}

async function readLaunchBody(request: Request): Promise<LaunchBody> {
  const type = request.headers.get('content-type') ?? ''
  if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
    throw new ApiError(415, 'unsupported_media_type', 'Send the launch body as JSON (Content-Type: application/json)')
  }
  let raw: unknown
  try {
    raw = await request.json()
  } catch {
    throw new ApiError(400, 'invalid_json', 'The request body is not valid JSON')
  }
  const result = v.safeParse(LaunchBodySchema, raw)
  if (!result.success) throw validationError(result.issues, 'launch request')
  return result.output
}

function toLaunchSpec(body: LaunchBody, defaults: ApiDeps['defaults']): LaunchSpec {
  const env = { ...body.env }
  if (body.input !== undefined) env.INPUT_JSON = JSON.stringify(body.input)
  return {
    name: body.name ?? generateName(),
    image: withDefaultTag(body.image),
    port: body.port ?? defaults.port,
    env,
    ...(body.cmd ? { cmd: body.cmd } : {}),
    labels: body.labels,
    cpus: body.cpus ?? defaults.cpus,
    memReservationMb: body.memReservationMb ?? 0,
    ...(body.memLimitMb === undefined ? {} : { memLimitMb: body.memLimitMb }),
    extraDirectories: body.extraDirectories,
  }
}

/** An unguessable default name, e.g. `c-3f9a1c02d4e8b7a6`. */
function generateName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  return `c-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}
