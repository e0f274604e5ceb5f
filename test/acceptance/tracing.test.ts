import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ECHO_IMAGE, dockerReady, eventually, removeRunContainers, uniqueName } from '../helpers/docker.js'
import { RUNTIMES, startGateway, type GatewayProcess } from '../helpers/gateway-process.js'
import { registryAvailable, startRegistry, type LoopbackRegistry } from '../helpers/registry.js'

type Json = Record<string, any>

/** One span as an OTLP/HTTP JSON export carries it, with its ids as hex. */
interface ReceivedSpan {
  name: string
  traceId: string
  spanId: string
  parentSpanId: string
  attributes: Record<string, unknown>
  service: unknown
}

/** OTLP/JSON encodes ids as hex; a base64 id (protobuf's JSON mapping) is turned into hex too. */
const hex = (id: string | undefined) =>
  !id ? '' : /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex')

const attributesOf = (list: Json[] | undefined) =>
  Object.fromEntries((list ?? []).map((a) => [a.key, Object.values(a.value ?? {})[0]]))

/** A collector on loopback: receives OTLP/HTTP exports and keeps every span. */
async function startCollector() {
  const spans: ReceivedSpan[] = []
  const contentTypes: string[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      contentTypes.push(`${req.method} ${req.url} ${req.headers['content-type']}`)
      if (req.headers['content-type']?.startsWith('application/json')) {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as Json
        for (const resourceSpans of body.resourceSpans ?? []) {
          const service = attributesOf(resourceSpans.resource?.attributes)['service.name']
          for (const scope of resourceSpans.scopeSpans ?? [])
            for (const span of scope.spans ?? [])
              spans.push({
                name: span.name,
                traceId: hex(span.traceId),
                spanId: hex(span.spanId),
                parentSpanId: hex(span.parentSpanId),
                attributes: attributesOf(span.attributes),
                service,
              })
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    contentTypes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const LABEL_ROOT = 'io.github.hde-test.tracing'
const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c'
const CLIENT_SPAN = 'b7ad6b7169203331'
const traceparent = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`

describe.runIf(await dockerReady('tracing'))(
  'OpenTelemetry traces from a gateway started with OTEL_* variables',
  () => {
    let collector: Awaited<ReturnType<typeof startCollector>>
    // A cold launch pulls its image, from a registry on loopback.
    let registry: LoopbackRegistry
    beforeAll(async () => {
      collector = await startCollector()
      if (!(await registryAvailable()))
        throw new Error('tracing: docker-registry is required (scripts/setup.sh --test-images)')
      registry = await startRegistry()
    })
    afterAll(async () => {
      await collector?.close()
      await removeRunContainers()
      await registry?.stop()
    })

    for (const runtime of RUNTIMES) {
      describe(`on ${runtime}`, () => {
        let gw: GatewayProcess | undefined
        afterAll(async () => {
          await gw?.stop()
        })

        it('exports a launch, a proxied request and a wake as one trace under the client, and the container joins it', async () => {
          const service = `gateway-${runtime}`
          gw = await startGateway(
            runtime,
            { labelRoot: LABEL_ROOT, dashboard: { enabled: false } },
            {
              OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
              OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
              OTEL_BSP_SCHEDULE_DELAY: '100',
              OTEL_SERVICE_NAME: service,
            },
          )
          expect(gw.output()).toContain('tracing on')
          const ours = () => collector.spans.filter((span) => span.service === service)
          const span = async (name: string, parent?: string) => {
            let found: ReceivedSpan | undefined
            await eventually(
              async () => {
                found = ours().find((s) => s.name === name && (parent === undefined || s.parentSpanId === parent))
                return found !== undefined
              },
              30_000,
              `a span "${name}"${parent ? ` under ${parent}` : ''}`,
            )
            expect(found!.traceId).toBe(CLIENT_TRACE)
            return found!
          }

          // A cold launch: the API call continues the client's trace; the engine's steps (the image is
          // not on the engine: create, pull, create, start) hang from the launch, and readiness too.
          const name = uniqueName('traced')
          const image = await registry.push(ECHO_IMAGE, `hde/echo:${uniqueName('traced')}`)
          const launched = await fetch(`${gw.url}/api/containers`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', traceparent },
            body: JSON.stringify({ image, name }),
          })
          expect(launched.status).toBe(201)
          const api = await span('POST /api/containers', CLIENT_SPAN)
          expect(api.attributes['http.response.status_code']).toBe(201)
          const launch = await span('launch', api.spanId)
          expect(launch.attributes['container.name']).toBe(name)
          expect(launch.attributes['container.image.name']).toBe(image)
          const engineLaunch = await span('docker launch', launch.spanId)
          const pull = await span('pull', engineLaunch.spanId)
          expect(pull.attributes['container.image.name']).toBe(image)
          await span('create', engineLaunch.spanId)
          await span('start', engineLaunch.spanId)
          await span('readiness', launch.spanId)

          // A proxied request: its span is the parent the container is given.
          const seen = await fetch(`${gw.url}/docker/${name}/anything`, { headers: { traceparent, prefer: 'wait=30' } })
          expect(seen.status).toBe(200)
          const headers = ((await seen.json()) as Json).headers as Record<string, string>
          const proxied = await span('GET /{proxyPrefix}/{name}/*', CLIENT_SPAN)
          expect(proxied.attributes['container.name']).toBe(name)
          expect(proxied.attributes['hde.request_id']).toBe(seen.headers.get('x-request-id'))
          expect(headers.traceparent).toBe(`00-${CLIENT_TRACE}-${proxied.spanId}-01`)

          // A wake: stopped through the API, woken by the next request, inside that request's span.
          expect((await fetch(`${gw.url}/api/containers/${name}/stop`, { method: 'POST' })).status).toBe(200)
          const wakeParent = 'c7ad6b7169203332'
          const woken = await fetch(`${gw.url}/docker/${name}/again`, {
            headers: { traceparent: `00-${CLIENT_TRACE}-${wakeParent}-01`, prefer: 'wait=60' },
          })
          expect(woken.status).toBe(200)
          const wakeRequest = await span('GET /{proxyPrefix}/{name}/*', wakeParent)
          const wake = await span('wake', wakeRequest.spanId)
          await span('docker start', wake.spanId)
        })
      })
    }

    it('sends OTLP over HTTP as protobuf unless told otherwise, and is off without OTEL_* variables', async () => {
      const quiet = await startGateway('node', { labelRoot: LABEL_ROOT, dashboard: { enabled: false } })
      const sending = await startGateway(
        'node',
        { labelRoot: LABEL_ROOT, dashboard: { enabled: false } },
        { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '100' },
      )
      try {
        expect(quiet.output()).not.toContain('tracing on')
        const before = collector.contentTypes.length
        expect((await fetch(`${sending.url}/api/containers`)).status).toBe(200)
        await eventually(
          async () => collector.contentTypes.slice(before).some((t) => t === 'POST /v1/traces application/x-protobuf'),
          30_000,
          `a protobuf export`,
        )
      } finally {
        await Promise.all([quiet.stop(), sending.stop()])
      }
    })

    it('refuses to start with an OTLP protocol it cannot send, naming the variable', async () => {
      await expect(
        startGateway(
          'node',
          { labelRoot: LABEL_ROOT, dashboard: { enabled: false } },
          { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
        ),
      ).rejects.toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported/)
    })
  },
)
