import { toJsonSchema, toJsonSchemaDefs } from '@valibot/to-json-schema'
import type * as v from 'valibot'
import {
  AccessLinkSchema,
  ActionResultSchema,
  ContainerListSchema,
  ListQuerySchema,
  ContainerNameSchema,
  LogsQuerySchema,
  ContainerViewSchema,
  ErrorBodySchema,
  HealthSchema,
  ProbeSchema,
  HistorySchema,
  LaunchBodySchema,
  LaunchResultSchema,
  PullBodySchema,
  PurgeBodySchema,
  PurgeResultSchema,
} from './schemas.js'

/** Documented request examples; a test checks each against the schema that validates requests. */
export const API_EXAMPLES = {
  launch: {
    image: 'refinery/higlass:v1.2',
    name: 'higlass-ann',
    input: { file_relationships: ['https://files.example.org/a.mcool'], parameters: [{ name: 'zoom', value: 3 }] },
    inputApiPrefix: true,
    memReservationMb: 256,
    memLimitMb: 1024,
    extraDirectories: ['/refinery-data'],
    labels: { owner: 'ann' },
    idleTimeoutSeconds: 3600,
    access: 'token',
  },
  purge: { inactiveSeconds: 3600, label: 'owner=ann' },
  pull: { image: 'registry.example.org/tools/igv:2' },
} as const

type Schema = v.GenericSchema

/** Request bodies, named in `components.schemas` (converted as the API reads them). */
const REQUESTS = { LaunchRequest: LaunchBodySchema, PurgeRequest: PurgeBodySchema, PullRequest: PullBodySchema }
/** Answers, named in `components.schemas` (converted as the API writes them). */
const ANSWERS = {
  Container: ContainerViewSchema,
  ContainerList: ContainerListSchema,
  LaunchResult: LaunchResultSchema,
  AccessLink: AccessLinkSchema,
  ActionResult: ActionResultSchema,
  History: HistorySchema,
  PurgeResult: PurgeResultSchema,
  Health: HealthSchema,
  Probe: ProbeSchema,
  Error: ErrorBodySchema,
}

const conversion = (typeMode: 'input' | 'output', definitions: Record<string, Schema>) =>
  ({
    target: 'draft-2020-12',
    typeMode,
    // Transforms and custom checks have no JSON Schema form; the rest of each schema is exact.
    errorMode: 'ignore',
    definitions,
    overrideRef: ({ referenceId }: { referenceId: string }) => `#/components/schemas/${referenceId}`,
  }) as const

/** A schema as the document nests it: a reference when it is named, without a dialect of its own. */
const jsonSchema = (schema: Schema, typeMode: 'input' | 'output') => {
  const converted = toJsonSchema(schema, conversion(typeMode, typeMode === 'input' ? REQUESTS : ANSWERS)) as Record<
    string,
    unknown
  >
  const { $schema: _dialect, $defs: _defs, ...rest } = converted
  return rest
}

/** Every named schema, each converted the way the API uses it. */
const componentSchemas = () => ({
  ...toJsonSchemaDefs(REQUESTS, conversion('input', REQUESTS)),
  ...toJsonSchemaDefs(ANSWERS, conversion('output', ANSWERS)),
})

const json = (schema: Schema) => ({ 'application/json': { schema: jsonSchema(schema, 'output') } })
const error = (description: string) => ({ description, content: json(ErrorBodySchema) })
const nameParameter = {
  name: 'name',
  in: 'path',
  required: true,
  description: 'The container name',
  schema: jsonSchema(ContainerNameSchema, 'input'),
}

/**
 * A query parameter's schema. A whole number arrives as text and is checked as digits, then
 * bounded as a number: documented as the integer it is, with the bounds of its pipeline.
 */
function queryParameterSchema(schema: Schema, converted: Record<string, unknown>): Record<string, unknown> {
  const pipe = ((schema as { wrapped?: Schema }).wrapped ?? schema) as {
    pipe?: { type: string; requirement?: unknown }[]
  }
  if (!pipe.pipe?.some((item) => item.type === 'transform')) return converted
  const bound = (type: string) => pipe.pipe!.find((item) => item.type === type)?.requirement as number | undefined
  return {
    type: 'integer',
    minimum: bound('min_value') ?? 0,
    ...(bound('max_value') ? { maximum: bound('max_value') } : {}),
  }
}

/** Query parameters, one per key of a valibot object schema. */
const queryParameters = (
  schema: v.ObjectSchema<v.ObjectEntries, undefined> | v.StrictObjectSchema<v.ObjectEntries, undefined>,
) =>
  Object.entries(
    (jsonSchema(schema, 'input') as { properties?: Record<string, Record<string, unknown>> }).properties ?? {},
  ).map(([name, property]) => ({
    name,
    in: 'query',
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: queryParameterSchema(schema.entries[name] as Schema, property),
  }))
const body = (schema: Schema, example: unknown) => ({
  required: true,
  content: { 'application/json': { schema: jsonSchema(schema, 'input'), example } },
})

/** Answers every API route may give before it runs: a `Host` that is not an authority, or not one of the allowed. */
const hostAnswers = {
  400: error('The `Host` header is not a valid host and port'),
  421: error('The `Host` is not one the gateway answers for (`listen.allowedHosts`: DNS rebinding defence)'),
}
/** Answers of every route behind the API's credentials, besides its own. */
const securedAnswers = {
  ...hostAnswers,
  401: error('Missing or wrong bearer token'),
  403: error('A browser acting for a page, or a client off loopback while no tokens are set'),
}

/**
 * The OpenAPI 3.1 document of the API, generated from the same valibot schemas that validate
 * requests and shape answers. Named schemas are in `components.schemas`.
 */
export function openApiDocument(apiPrefix: string): Record<string, unknown> {
  const p = apiPrefix
  const secured = { security: [{ bearer: [] }] }
  /** No credentials: the route is open, or its own token is the credential. */
  const open = { security: [] }
  return {
    openapi: '3.1.0',
    info: {
      title: 'hono-docker-engine',
      version: '0.1.0',
      description: 'Launch Docker containers and proxy HTTP and WebSocket traffic to them under /docker/<name>/.',
      license: { name: 'MIT', identifier: 'MIT' },
      contact: { name: 'hono-docker-engine', url: 'https://www.npmjs.com/package/hono-docker-engine' },
    },
    servers: [{ url: '/', description: 'The gateway that serves this document (paths include its API prefix)' }],
    tags: [
      { name: 'containers', description: 'Launch, list, inspect and remove containers' },
      { name: 'images', description: 'Images on the engine' },
      { name: 'health', description: 'Health for operators, orchestrators and load balancers' },
      { name: 'meta', description: 'This document and the metrics' },
    ],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'One of auth.tokens; without tokens the API answers loopback clients only, and never a browser acting for a page (a request with Origin, or Sec-Fetch-Site other than none: 403 api_browser_refused).',
        },
      },
      schemas: componentSchemas(),
    },
    paths: {
      [`${p}/health`]: {
        get: {
          ...open,
          operationId: 'getHealth',
          tags: ['health'],
          summary: 'Gateway and engine health',
          description:
            'Whether the engine answers, its version and whether it keeps containers running across restarts.',
          responses: {
            200: { description: 'Healthy', content: json(HealthSchema) },
            ...hostAnswers,
            503: { description: 'The engine cannot be reached', content: json(HealthSchema) },
          },
        },
      },
      [`${p}/health/live`]: {
        get: {
          ...open,
          operationId: 'getLiveness',
          tags: ['health'],
          summary: 'Liveness: the process serves',
          description:
            'For orchestrators: answers any allowed or unknown Host, without credentials, and says nothing but its state.',
          responses: {
            200: { description: 'Serving', content: json(ProbeSchema) },
            400: hostAnswers[400],
          },
        },
      },
      [`${p}/health/ready`]: {
        get: {
          ...open,
          operationId: 'getReadiness',
          tags: ['health'],
          summary: 'Readiness: the engine answers and the gateway is not draining',
          description:
            'For orchestrators and load balancers: answers any Host, without credentials. While a shared store is away it stays ready (the gateway keeps proxying) and says `store: "unavailable"`.',
          responses: {
            200: { description: 'Ready', content: json(ProbeSchema) },
            400: hostAnswers[400],
            503: { description: '`draining` (shutting down) or `engine_unreachable`', content: json(ProbeSchema) },
          },
        },
      },
      [`${p}/openapi.json`]: {
        get: {
          ...open,
          operationId: 'getOpenApi',
          tags: ['meta'],
          summary: 'This document',
          description: 'The OpenAPI 3.1 document of the API, generated from the schemas that validate requests.',
          responses: {
            200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } },
            ...hostAnswers,
          },
        },
      },
      [`${p}/containers`]: {
        get: {
          ...secured,
          operationId: 'listContainers',
          tags: ['containers'],
          summary: 'Managed containers',
          description:
            "In name order. `label` (repeatable) keeps the containers carrying every given label; `limit` (1–1000) pages the list, and the answer's `next` is the `after` of the next page.",
          parameters: queryParameters(ListQuerySchema),
          responses: {
            200: { description: 'The managed containers the query selects', content: json(ContainerListSchema) },
            ...securedAnswers,
            400: error('Invalid query, or an invalid `Host`'),
            503: error('The engine cannot be reached'),
          },
        },
        post: {
          ...secured,
          operationId: 'launchContainer',
          tags: ['containers'],
          summary: 'Launch a container',
          description:
            'With `Accept: application/x-ndjson`, progress lines (image pull) then `{"event":"launched",…}`.',
          requestBody: body(LaunchBodySchema, API_EXAMPLES.launch),
          responses: {
            201: { description: 'Launched', content: json(LaunchResultSchema) },
            ...securedAnswers,
            400: error('Invalid launch request, or an invalid `Host`'),
            403: error(
              'Image not allowed, a browser acting for a page, or a client off loopback while no tokens are set',
            ),
            409: error('The name is taken'),
            413: error('Body too large'),
            415: error('Not JSON'),
            422: error('Image missing and cannot be pulled'),
            503: error('The engine or the shared store cannot be reached'),
            507: error('Does not fit under the memory limit'),
          },
        },
      },
      [`${p}/containers/{name}`]: {
        parameters: [nameParameter],
        get: {
          ...secured,
          operationId: 'getContainer',
          tags: ['containers'],
          summary: 'One container',
          description: 'Its status, address under the proxy, settings and last activity.',
          responses: {
            200: { description: 'The container', content: json(ContainerViewSchema) },
            ...securedAnswers,
            404: error('Unknown'),
          },
        },
        delete: {
          ...secured,
          operationId: 'removeContainer',
          tags: ['containers'],
          summary: 'Remove a container and its volumes',
          description: 'Everything the gateway kept about it (history, access links, input) goes too.',
          responses: { 204: { description: 'Removed' }, ...securedAnswers, 404: error('Unknown') },
        },
      },
      [`${p}/containers/{name}/logs`]: {
        parameters: [nameParameter, ...queryParameters(LogsQuerySchema)],
        get: {
          ...secured,
          operationId: 'getContainerLogs',
          tags: ['containers'],
          summary: 'stdout and stderr',
          description: 'The last `tail` lines, with `timestamps`; `follow` keeps the answer open as lines arrive.',
          responses: {
            200: { description: 'Logs', content: { 'text/plain': { schema: { type: 'string' } } } },
            ...securedAnswers,
            404: error('Unknown'),
          },
        },
      },
      [`${p}/containers/{name}/stop`]: {
        parameters: [nameParameter],
        post: {
          ...secured,
          operationId: 'stopContainer',
          tags: ['containers'],
          summary: 'Stop a running container (scale to zero)',
          description: 'Its next proxied request, or a wake, starts it again; its state and volumes are kept.',
          responses: {
            200: { description: 'Stopped', content: json(ActionResultSchema) },
            ...securedAnswers,
            404: error('Unknown'),
            409: error('Not running'),
            501: error('The engine cannot stop containers'),
          },
        },
      },
      [`${p}/containers/{name}/wake`]: {
        parameters: [nameParameter],
        post: {
          ...secured,
          operationId: 'wakeContainer',
          tags: ['containers'],
          summary: 'Start a container the gateway or its engine stopped',
          description:
            'Answers once the engine runs it; it is `starting` until ready. One that exited on its own is not started.',
          responses: {
            202: { description: 'Started; ready soon', content: json(ActionResultSchema) },
            ...securedAnswers,
            404: error('Unknown'),
            409: error('Not stopped by the gateway or its engine'),
            503: error('The engine or the shared store cannot be reached'),
          },
        },
      },
      [`${p}/containers/{name}/access-link`]: {
        parameters: [nameParameter],
        post: {
          ...secured,
          operationId: 'issueAccessLink',
          tags: ['containers'],
          summary: 'A new one-time access link to a private container',
          description:
            'For `access: "token"` containers, e.g. when a visitor lost the link or its cookie. Any earlier unused link stops working; the session in use keeps working until the new link is opened.',
          responses: {
            201: { description: 'The link', content: json(AccessLinkSchema) },
            ...securedAnswers,
            404: error('Unknown'),
            409: error('The container is public'),
          },
        },
      },
      [`${p}/containers/{name}/history`]: {
        parameters: [nameParameter],
        get: {
          ...secured,
          operationId: 'getContainerHistory',
          tags: ['containers'],
          summary: 'Proxied requests, oldest first',
          description: 'Time, method and path of each request, up to `history.maxEntries`.',
          responses: {
            200: { description: 'History', content: json(HistorySchema) },
            ...securedAnswers,
            404: error('Unknown'),
          },
        },
      },
      [`${p}/containers/{name}/input`]: {
        parameters: [
          nameParameter,
          { name: 'token', in: 'query', required: true, description: 'The input token', schema: { type: 'string' } },
        ],
        get: {
          ...open,
          operationId: 'getContainerInput',
          tags: ['containers'],
          summary: 'The launch input, for the container itself (its token is the credential)',
          description: 'Read by a container launched with `inputDelivery: "url"`.',
          responses: {
            200: { description: 'The input JSON', content: { 'application/json': { schema: {} } } },
            ...hostAnswers,
            403: error('Wrong token, unknown name or no input: one answer for all'),
          },
        },
      },
      [`${p}/purge`]: {
        post: {
          ...secured,
          operationId: 'purgeContainers',
          tags: ['containers'],
          summary: 'Remove managed containers by inactivity and/or label',
          description: 'Every managed container matching all given criteria is removed; resolves the names.',
          requestBody: body(PurgeBodySchema, API_EXAMPLES.purge),
          responses: {
            200: { description: 'Removed names', content: json(PurgeResultSchema) },
            ...securedAnswers,
            400: error('Invalid criteria, or an invalid `Host`'),
          },
        },
      },
      [`${p}/images/pull`]: {
        post: {
          ...secured,
          operationId: 'pullImage',
          tags: ['images'],
          summary: 'Pull an image, streaming progress',
          description: 'Progress as NDJSON lines, then `{"status":"done"}`.',
          requestBody: body(PullBodySchema, API_EXAMPLES.pull),
          responses: {
            200: {
              description: 'NDJSON progress, then {"status":"done"}',
              content: { 'application/x-ndjson': { schema: { type: 'string' } } },
            },
            ...securedAnswers,
            403: error(
              'Image not allowed, a browser acting for a page, or a client off loopback while no tokens are set',
            ),
            422: error('Cannot be pulled'),
          },
        },
      },
      '/metrics': {
        get: {
          ...secured,
          operationId: 'getMetrics',
          tags: ['meta'],
          summary: 'Prometheus metrics',
          description: 'The `hde_*` series in the text exposition format 0.0.4.',
          responses: {
            200: {
              description: 'Text exposition format 0.0.4',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
            ...securedAnswers,
          },
        },
      },
    },
  }
}
