import { toJsonSchema } from '@valibot/to-json-schema'
import type * as v from 'valibot'
import {
  AccessLinkSchema,
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

const jsonSchema = (schema: Schema, typeMode: 'input' | 'output') =>
  // Transforms and custom checks have no JSON Schema form; the rest of each schema is exact.
  toJsonSchema(schema, { target: 'draft-2020-12', typeMode, errorMode: 'ignore' })

const json = (schema: Schema) => ({ 'application/json': { schema: jsonSchema(schema, 'output') } })
const error = (description: string) => ({ description, content: json(ErrorBodySchema) })
/** A schema nested in the document carries no `$schema` of its own. */
const nested = (schema: Schema) => {
  const { $schema: _dialect, ...rest } = jsonSchema(schema, 'input') as Record<string, unknown>
  return rest
}
const nameParameter = { name: 'name', in: 'path', required: true, schema: nested(ContainerNameSchema) }
/** Query parameters, one per key of a valibot object schema. */
const queryParameters = (schema: Schema) =>
  Object.entries((jsonSchema(schema, 'input') as { properties?: Record<string, unknown> }).properties ?? {}).map(
    ([name, property]) => ({ name, in: 'query', schema: property }),
  )
const body = (schema: Schema, example: unknown) => ({
  required: true,
  content: { 'application/json': { schema: jsonSchema(schema, 'input'), example } },
})

/**
 * The OpenAPI 3.1 document of the API, generated from the same valibot schemas that validate
 * requests and shape answers.
 */
export function openApiDocument(apiPrefix: string): Record<string, unknown> {
  const p = apiPrefix
  const secured = { security: [{ bearer: [] }] }
  return {
    openapi: '3.1.0',
    info: {
      title: 'hono-docker-engine',
      version: '0.1.0',
      description: 'Launch Docker containers and proxy HTTP and WebSocket traffic to them under /docker/<name>/.',
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'One of auth.tokens; without tokens the API answers loopback clients only, and never a browser acting for a page (a request with Origin, or Sec-Fetch-Site other than none: 403 api_browser_refused).',
        },
      },
    },
    paths: {
      [`${p}/health`]: {
        get: {
          summary: 'Gateway and engine health',
          responses: {
            200: { description: 'Healthy', content: json(HealthSchema) },
            503: { description: 'The engine cannot be reached', content: json(HealthSchema) },
          },
        },
      },
      [`${p}/health/live`]: {
        get: {
          summary: 'Liveness: the process serves',
          description: 'For orchestrators: answers any Host, without credentials, and says nothing but its state.',
          responses: { 200: { description: 'Serving', content: json(ProbeSchema) } },
        },
      },
      [`${p}/health/ready`]: {
        get: {
          summary: 'Readiness: the engine answers and the gateway is not draining',
          description: 'For orchestrators and load balancers: answers any Host, without credentials.',
          responses: {
            200: { description: 'Ready', content: json(ProbeSchema) },
            503: { description: '`draining` (shutting down) or `engine_unreachable`', content: json(ProbeSchema) },
          },
        },
      },
      [`${p}/openapi.json`]: { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
      [`${p}/containers`]: {
        get: {
          ...secured,
          summary: 'Managed containers',
          description:
            "In name order. `label` (repeatable) keeps the containers carrying every given label; `limit` (1–1000) pages the list, and the answer's `next` is the `after` of the next page.",
          parameters: queryParameters(ListQuerySchema),
          responses: {
            200: { description: 'The managed containers the query selects', content: json(ContainerListSchema) },
            400: error('Invalid query'),
            401: error('Missing or wrong token'),
          },
        },
        post: {
          ...secured,
          summary: 'Launch a container',
          description:
            'With `Accept: application/x-ndjson`, progress lines (image pull) then `{"event":"launched",…}`.',
          requestBody: body(LaunchBodySchema, API_EXAMPLES.launch),
          responses: {
            201: { description: 'Launched', content: json(LaunchResultSchema) },
            400: error('Invalid launch request'),
            403: error('Image not allowed'),
            409: error('The name is taken'),
            413: error('Body too large'),
            415: error('Not JSON'),
            422: error('Image missing and cannot be pulled'),
            503: error('The engine cannot be reached'),
            507: error('Does not fit under the memory limit'),
          },
        },
      },
      [`${p}/containers/{name}`]: {
        parameters: [nameParameter],
        get: {
          ...secured,
          summary: 'One container',
          responses: {
            200: { description: 'The container', content: json(ContainerViewSchema) },
            404: error('Unknown'),
          },
        },
        delete: {
          ...secured,
          summary: 'Remove a container and its volumes',
          responses: { 204: { description: 'Removed' }, 404: error('Unknown') },
        },
      },
      [`${p}/containers/{name}/logs`]: {
        parameters: [nameParameter, ...queryParameters(LogsQuerySchema)],
        get: {
          ...secured,
          summary: 'stdout and stderr',
          responses: {
            200: { description: 'Logs', content: { 'text/plain': { schema: { type: 'string' } } } },
            404: error('Unknown'),
          },
        },
      },
      [`${p}/containers/{name}/access-link`]: {
        parameters: [nameParameter],
        post: {
          ...secured,
          summary: 'A new one-time access link to a private container',
          description:
            'For `access: "token"` containers, e.g. when a visitor lost the link or its cookie. Any earlier unused link stops working; the session in use keeps working until the new link is opened.',
          responses: {
            201: { description: 'The link', content: json(AccessLinkSchema) },
            404: error('Unknown'),
            409: error('The container is public'),
          },
        },
      },
      [`${p}/containers/{name}/history`]: {
        parameters: [nameParameter],
        get: {
          ...secured,
          summary: 'Proxied requests, oldest first',
          responses: { 200: { description: 'History', content: json(HistorySchema) }, 404: error('Unknown') },
        },
      },
      [`${p}/containers/{name}/input`]: {
        parameters: [nameParameter, { name: 'token', in: 'query', required: true, schema: { type: 'string' } }],
        get: {
          summary: 'The launch input, for the container itself (its token is the credential)',
          responses: {
            200: { description: 'The input JSON' },
            403: error('Wrong token, unknown name or no input: one answer for all'),
          },
        },
      },
      [`${p}/purge`]: {
        post: {
          ...secured,
          summary: 'Remove managed containers by inactivity and/or label',
          requestBody: body(PurgeBodySchema, API_EXAMPLES.purge),
          responses: { 200: { description: 'Removed names', content: json(PurgeResultSchema) }, 400: error('Invalid') },
        },
      },
      [`${p}/images/pull`]: {
        post: {
          ...secured,
          summary: 'Pull an image, streaming progress',
          requestBody: body(PullBodySchema, API_EXAMPLES.pull),
          responses: {
            200: {
              description: 'NDJSON progress, then {"status":"done"}',
              content: { 'application/x-ndjson': { schema: { type: 'string' } } },
            },
            403: error('Image not allowed'),
            422: error('Cannot be pulled'),
          },
        },
      },
      '/metrics': {
        get: {
          ...secured,
          summary: 'Prometheus metrics',
          responses: { 200: { description: 'Text exposition format 0.0.4' } },
        },
      },
    },
  }
}
