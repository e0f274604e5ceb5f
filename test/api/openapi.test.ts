import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { API_EXAMPLES } from '../../src/api/openapi.js'
import { LaunchBodySchema, PullBodySchema, PurgeBodySchema } from '../../src/api/schemas.js'
import { memory } from '../../src/backends/memory.js'
import { createGateway } from '../../src/gateway.js'
import { silentLogger } from '../../src/logger.js'

type Json = Record<string, any>

describe('OpenAPI document', () => {
  const gateway = createGateway({ backend: memory(), logger: silentLogger, background: false })

  it('is OpenAPI 3.1 and lists every API route the app serves', async () => {
    const doc = (await (await gateway.app.request('/api/openapi.json')).json()) as Json
    expect(doc.openapi).toBe('3.1.0')
    const documented = new Set(
      Object.entries(doc.paths as Json).flatMap(([path, item]) =>
        Object.keys(item as Json)
          .filter((k) => k !== 'parameters')
          .map((m) => `${m.toUpperCase()} ${path}`),
      ),
    )
    const served = gateway.app.routes
      .filter((r) => r.method !== 'ALL' && (r.path.startsWith('/api/') || r.path === '/metrics'))
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
    expect(served.length).toBeGreaterThan(8)
    for (const route of served) expect(documented, route).toContain(route)
  })

  it('documents request bodies from the validating schemas, with examples that validate', async () => {
    const doc = (await (await gateway.app.request('/api/openapi.json')).json()) as Json
    const launch = doc.paths['/api/containers'].post.requestBody.content['application/json']
    // Named: a client imports LaunchRequest, Container and Error by name.
    expect(launch.schema.$ref).toBe('#/components/schemas/LaunchRequest')
    const request = doc.components.schemas.LaunchRequest
    expect(request.properties.image.type).toBe('string')
    expect(request.additionalProperties).toBe(false)
    expect(request.required).toEqual(['image'])
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Container', 'Error', 'ContainerList']))
    // Whole numbers in the query are documented as integers, with their bounds.
    const limit = doc.paths['/api/containers'].get.parameters.find((p: Json) => p.name === 'limit')
    expect(limit.schema).toEqual({ type: 'integer', minimum: 1, maximum: 1000 })
    for (const [example, schema] of [
      [launch.example, LaunchBodySchema],
      [API_EXAMPLES.purge, PurgeBodySchema],
      [API_EXAMPLES.pull, PullBodySchema],
    ] as const) {
      const result = v.safeParse(schema as v.GenericSchema, example)
      expect(result.success, JSON.stringify(result.issues ?? [])).toBe(true)
    }
    // The response of a real launch matches its documented schema.
    const res = await gateway.app.request('/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(API_EXAMPLES.launch),
    })
    expect(res.status).toBe(201)
    const shown = (await (await gateway.app.request('/api/containers/higlass-ann')).json()) as Json
    const { ContainerViewSchema } = await import('../../src/api/schemas.js')
    expect(v.safeParse(ContainerViewSchema, shown).success).toBe(true)
  })
})
