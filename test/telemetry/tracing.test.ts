import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

type Json = Record<string, any>

const exporter = new InMemorySpanExporter()
const provider = new TracerProvider({
  sampler: new AlwaysOnSampler(),
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
})
beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(provider)
})
afterAll(async () => {
  await provider.shutdown()
  trace.disable()
  propagation.disable()
  context.disable()
})
beforeEach(() => exporter.reset())

const { setup } = useMemoryGateways()

/** A client's own trace: its id and the span the gateway's spans must hang from. */
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CLIENT_SPAN = '00f067aa0ba902b7'
const traceparent = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`

const spans = () => exporter.getFinishedSpans()
const named = (name: string) => {
  const found = spans().filter((span) => span.name === name)
  expect(
    found.map((span) => span.name),
    `spans named "${name}" in ${spans().map((s) => s.name)}`,
  ).toHaveLength(1)
  return found[0]!
}
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId
const idOf = (span: ReadableSpan) => span.spanContext().spanId

/** Wait for spans that end after the answer (readiness), within a generous bound. */
async function spanNamed(name: string): Promise<ReadableSpan> {
  for (let i = 0; i < 500 && !spans().some((span) => span.name === name); i++)
    await new Promise((r) => setTimeout(r, 10))
  return named(name)
}

describe('traces', () => {
  it('continues a client trace through a launch: the API call, the launch, the engine call and readiness', async () => {
    const { app } = setup()
    const res = await app.request('/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent },
      body: JSON.stringify({ image: 'tool:1', name: 'traced' }),
    })
    expect(res.status).toBe(201)
    const server = named('POST /api/containers')
    expect(server.spanContext().traceId).toBe(CLIENT_TRACE)
    expect(parentOf(server)).toBe(CLIENT_SPAN)
    expect(server.attributes['http.response.status_code']).toBe(201)
    expect(server.attributes['hde.request_id']).toBe(res.headers.get('x-request-id'))
    const launch = named('launch')
    expect(parentOf(launch)).toBe(idOf(server))
    expect(launch.attributes['container.name']).toBe('traced')
    expect(launch.attributes['container.image.name']).toBe('tool:1')
    expect(parentOf(named('memory launch'))).toBe(idOf(launch))
    const readiness = await spanNamed('readiness')
    expect(parentOf(readiness)).toBe(idOf(launch))
    expect(readiness.status.code).not.toBe(2)
    for (const span of spans()) expect(span.spanContext().traceId).toBe(CLIENT_TRACE)
  })

  it('names API spans by their route, and marks the failures that are the server’s', async () => {
    const { app } = setup()
    expect((await app.request('/api/containers/absent')).status).toBe(404)
    const missing = named('GET /api/containers/:name')
    expect(missing.attributes['http.response.status_code']).toBe(404)
    expect(missing.attributes['container.name']).toBe('absent')
    // A client's mistake is not the server's error (semantic conventions for server spans).
    expect(missing.status.code).toBe(0)
  })

  it('passes its own span to the container as the parent, and wakes a stopped container inside it', async () => {
    const { app, launch, manager } = setup({ idle: { action: 'stop' } })
    expect((await launch({ name: 'woken' })).status).toBe(201)
    await manager.scaleToZero((await manager.get('woken'))!)
    exporter.reset()
    const res = await app.request('/docker/woken/seen', { headers: { traceparent, prefer: 'wait=10' } })
    expect(res.status).toBe(200)
    const seen = (await res.json()) as Json
    const proxied = named('GET /{proxyPrefix}/{name}/*')
    expect(proxied.spanContext().traceId).toBe(CLIENT_TRACE)
    expect(parentOf(proxied)).toBe(CLIENT_SPAN)
    expect(proxied.attributes['container.name']).toBe('woken')
    expect(proxied.attributes['http.response.status_code']).toBe(200)
    // The container continues the trace under the gateway's span, not the client's.
    expect(seen.headers.traceparent).toBe(`00-${CLIENT_TRACE}-${idOf(proxied)}-01`)
    const wake = named('wake')
    expect(parentOf(wake)).toBe(idOf(proxied))
    expect(parentOf(named('memory start'))).toBe(idOf(wake))
  })

  it('starts a trace for a request that brings none, and the container joins it', async () => {
    const { app, launch } = setup()
    expect((await launch({ name: 'fresh' })).status).toBe(201)
    exporter.reset()
    const seen = (await (await app.request('/docker/fresh/')).json()) as Json
    const proxied = named('GET /{proxyPrefix}/{name}/*')
    expect(parentOf(proxied)).toBeUndefined()
    expect(seen.headers.traceparent).toBe(`00-${proxied.spanContext().traceId}-${idOf(proxied)}-01`)
  })

  it('marks a proxied request the gateway could not serve as an error', async () => {
    const { app, launch, backend, manager } = setup()
    expect((await launch({ name: 'gone' })).status).toBe(201)
    backend.setState('gone', 'exited', 3)
    manager.forgetRoute('gone')
    exporter.reset()
    expect((await app.request('/docker/gone/')).status).toBe(502)
    const proxied = named('GET /{proxyPrefix}/{name}/*')
    expect(proxied.attributes['http.response.status_code']).toBe(502)
    expect(proxied.status.code).toBe(2)
  })
})
