import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memory } from '../../src/backends/memory.js'
import { createGateway, type Gateway } from '../../src/gateway.js'
import { silentLogger } from '../../src/logger.js'
import { nodeUpstream } from '../../src/adapter/node/upstream.js'
import type { UpstreamFetch, UpstreamRequest } from '../../src/proxy/upstream.js'
import { serveNode, type RunningServer } from '../../src/adapter/node/index.js'
import type { ConfigInput } from '../../src/config/schema.js'
import { GZIP_BODY, startUpstream, type SeenRequest, type TestUpstream } from '../helpers/upstream.js'
import { launchSpec } from '../helpers/launch-spec.js'

let upstream: TestUpstream
const clients: { close(): Promise<void> }[] = []

beforeAll(async () => {
  upstream = await startUpstream()
})
afterAll(async () => {
  for (const c of clients) await c.close()
  await upstream.close()
})

/** A gateway on the in-memory backend whose containers all route to the test upstream. */
function setup(config: ConfigInput = {}, upstreamFor: (name: string) => string | undefined = () => upstream.url) {
  const backend = memory({ upstreams: (spec) => upstreamFor(spec.name) })
  const client = nodeUpstream()
  clients.push(client)
  const gateway = createGateway({ backend, config, fetch: client, logger: silentLogger })
  const launch = (name: string) => backend.launch(launchSpec(name, { image: 'app:1' }))
  return { backend, gateway, app: gateway.app, launch }
}

const seen = async (res: Response) => (await res.json()) as SeenRequest

describe('proxying to a running container', () => {
  it('forwards every method with the raw path and query intact', async () => {
    const { app, launch } = setup()
    await launch('web')
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const res = await app.request('/docker/web/a%20b/c%2Fd/?x=1&y=%2F&z', {
        method,
        body: method === 'GET' ? undefined : 'hello',
      })
      expect(res.status).toBe(200)
      const s = await seen(res)
      expect(s.method).toBe(method)
      expect(s.url).toBe('/a%20b/c%2Fd/?x=1&y=%2F&z')
      if (method !== 'GET') expect(s.bodyLength).toBe(5)
    }
    const head = await app.request('/docker/web/x', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })

  it('serves the root of the container at /docker/<name>/', async () => {
    const { app, launch } = setup()
    await launch('web')
    expect((await seen(await app.request('/docker/web/'))).url).toBe('/')
  })

  it('redirects /docker/<name> to /docker/<name>/ keeping the query', async () => {
    const { app } = setup()
    const res = await app.request('/docker/web?q=1')
    expect(res.status).toBe(308)
    expect(res.headers.get('location')).toBe('/docker/web/?q=1')
  })

  it('passes upstream statuses and bodies through unchanged', async () => {
    const { app, launch } = setup()
    await launch('web')
    for (const code of [404, 500, 418]) {
      const res = await app.request(`/docker/web/status/${code}`)
      expect(res.status).toBe(code)
      expect(await res.text()).toBe(`status ${code}`)
    }
    const noContent = await app.request('/docker/web/status/204')
    expect(noContent.status).toBe(204)
  })

  it('drops hop-by-hop headers both ways and sets X-Forwarded-*', async () => {
    const { app, launch } = setup({ listen: { allowedHosts: ['gw.example'] } })
    await launch('web')
    const res = await app.request('http://gw.example:8000/docker/web/h', {
      headers: {
        connection: 'x-secret',
        'x-secret': '1',
        te: 'trailers',
        'keep-alive': '5',
        'x-forwarded-for': '6.6.6.6',
        'x-kept': 'yes',
      },
    })
    const s = await seen(res)
    expect(s.headers['x-secret']).toBeUndefined()
    expect(s.headers.te).toBeUndefined()
    expect(s.headers['keep-alive']).toBeUndefined()
    expect(s.headers['x-kept']).toBe('yes')
    // Not trusted by default: the client's claim is dropped.
    expect(s.headers['x-forwarded-for']).toBeUndefined()
    expect(s.headers['x-forwarded-host']).toBe('gw.example:8000')
    expect(s.headers['x-forwarded-proto']).toBe('http')
    expect(s.headers['x-forwarded-prefix']).toBe('/docker/web')
    // Both cookies survive as separate headers, scoped to the container.
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/docker/web/', 'b=2; Path=/docker/web/'])

    const hop = await app.request('/docker/web/hop')
    expect(hop.headers.get('x-private')).toBeNull()
    expect(hop.headers.get('keep-alive')).toBeNull()
    expect(hop.headers.get('x-public')).toBe('yes')

    // A Connection token that is no header name names nothing: the request still goes through.
    const odd = await app.request('/docker/web/h', {
      headers: { connection: 'keep-alive, x y, @, x-secret', 'x-secret': '1' },
    })
    expect(odd.status).toBe(200)
    expect((await seen(odd)).headers['x-secret']).toBeUndefined()
  })

  it('extends client X-Forwarded-* only with trustProxy', async () => {
    const { app, launch } = setup({ trustProxy: true })
    await launch('web')
    const s = await seen(
      await app.request('/docker/web/', {
        headers: { 'x-forwarded-for': '10.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-prefix': '/outer' },
      }),
    )
    expect(s.headers['x-forwarded-for']).toBe('10.0.0.1')
    expect(s.headers['x-forwarded-proto']).toBe('https')
    expect(s.headers['x-forwarded-prefix']).toBe('/outer/docker/web')
  })

  it('passes a compressed body through byte for byte', async () => {
    const { app, launch } = setup()
    await launch('web')
    const res = await app.request('/docker/web/gzip', { headers: { 'accept-encoding': 'gzip' } })
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect(res.headers.get('content-length')).toBe(String(GZIP_BODY.length))
    expect(Buffer.from(await res.arrayBuffer()).equals(GZIP_BODY)).toBe(true)
  })

  it('makes no engine call for steady-state requests', async () => {
    const { app, launch, backend } = setup()
    await launch('web')
    await app.request('/docker/web/')
    const before = { ...backend.calls }
    for (let i = 0; i < 20; i++) expect((await app.request('/docker/web/')).status).toBe(200)
    expect(backend.calls).toEqual(before)
  })
})

describe('answers relayed in place', () => {
  /**
   * Two gateways on the same container: one whose upstream client owns its responses (the core
   * rewrites a small answer's headers in place and returns it), one whose client does not (the
   * core copies them into a new response). Each client keeps the upstream's headers as handed over.
   */
  function pair() {
    const handed: Headers[] = []
    const owning = nodeUpstream()
    clients.push(owning)
    const spy = (owns: boolean): UpstreamFetch =>
      Object.assign(
        async (url: string, request: UpstreamRequest) => {
          const response = await owning(url, request)
          handed.push(response.headers)
          return response
        },
        owns ? { ownsResponses: true } : {},
      )
    const backend = memory({ upstreams: () => upstream.url })
    const inPlace = createGateway({ backend, fetch: spy(true), logger: silentLogger })
    const copied = createGateway({ backend, fetch: spy(false), logger: silentLogger })
    return { handed, inPlace: inPlace.app, copied: copied.app, backend }
  }
  /** An answer in comparable form: its request id (one per request) masked, where it is answered and echoed. */
  const answer = async (res: Response) => {
    const id = res.headers.get('x-request-id')
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    return {
      status: res.status,
      statusText: res.statusText,
      headers: [...res.headers].filter(([name]) => name !== 'date' && name !== 'x-request-id'),
      body: Buffer.from(await res.arrayBuffer())
        .toString()
        .replaceAll(id!, '(its id)'),
    }
  }

  it('gives the same answers as copying, with the same header rules', async () => {
    const { handed, inPlace, copied, backend } = pair()
    await backend.launch(launchSpec('web', { image: 'app:1' }))
    const paths = [
      '/',
      '/hop',
      '/gzip',
      '/status/404',
      '/status/204',
      `/redirect?to=${encodeURIComponent(`${upstream.url}/next`)}`,
      '/redirect?to=/elsewhere',
      '/cookie?set=sid%3D1%3B%20Path%3D%2F',
      '/small?to=/elsewhere',
      `/small?to=${encodeURIComponent(`${upstream.url}/next`)}`,
    ]
    for (const path of paths) {
      const init = { headers: { cookie: 'theirs=1' } }
      const mine = await answer(await inPlace.request(`/docker/web${path}`, init))
      const reference = await answer(await copied.request(`/docker/web${path}`, init))
      expect(mine, path).toEqual(reference)
    }
    const small = await inPlace.request(`/docker/web/small?to=${encodeURIComponent(`${upstream.url}/next`)}`)
    expect([small.status, await small.text()]).toEqual([201, 'small'])
    expect(small.headers.get('location')).toBe('/docker/web/next')
    expect(small.headers.getSetCookie()).toEqual(['sid=1; Path=/docker/web/', 'pref=2; Path=/docker/web/settings'])
    expect(small.headers.get('x-private')).toBeNull()
    expect(small.headers.get('keep-alive')).toBeNull()
    // The in-place gateway changed the very headers its client handed over; the other did not.
    expect(handed.at(-1)!.get('x-private')).toBeNull()
    await (await copied.request('/docker/web/small')).text()
    expect(handed.at(-1)!.get('x-private')).toBe('secret')
  })

  it('still tracks long answers to their end', async () => {
    const { inPlace, backend } = pair()
    await backend.launch(launchSpec('web', { image: 'app:1' }))
    const res = await inPlace.request('/docker/web/stream')
    const reader = res.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('tick')
    await reader.cancel()
  })
})

describe('request bodies', () => {
  /** A gateway whose upstream client notes the form of each request body handed to it. */
  function spied(config: ConfigInput = {}) {
    const handed: string[] = []
    const client = nodeUpstream()
    clients.push(client)
    const spy: UpstreamFetch = (url, request) => {
      // (The readiness probe's GETs use the same client.)
      if (request.method !== 'GET')
        handed.push(request.body instanceof Uint8Array ? 'bytes' : request.body ? 'stream' : 'none')
      return client(url, request)
    }
    const backend = memory({ upstreams: () => upstream.url })
    const gateway = createGateway({ backend, config, fetch: spy, logger: silentLogger })
    return { handed, app: gateway.app, launch: (name: string) => backend.launch(launchSpec(name, { image: 'app:1' })) }
  }
  /** A body sent as a stream: with a declared length, or chunked when none is given. */
  const streamed = (bytes: Uint8Array, length?: number) =>
    new Request('http://localhost/docker/web/upload', {
      method: 'PUT',
      headers: length === undefined ? {} : { 'content-length': String(length) },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.subarray(0, bytes.length >> 1))
          controller.enqueue(bytes.subarray(bytes.length >> 1))
          controller.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
  const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

  it('sends a small body of known length in one piece and any other as a stream, byte for byte', async () => {
    const { app, handed, launch } = spied()
    await launch('web')
    const cases: [string, Uint8Array, number | undefined, string][] = [
      ['small, known length', randomBytes(1000), 1000, 'bytes'],
      ['empty, known length', new Uint8Array(0), 0, 'bytes'],
      ['64 KB exactly', randomBytes(64 * 1024), 64 * 1024, 'bytes'],
      ['one byte over 64 KB', randomBytes(64 * 1024 + 1), 64 * 1024 + 1, 'stream'],
      ['small, chunked', randomBytes(1000), undefined, 'stream'],
    ]
    for (const [what, bytes, length, form] of cases) {
      const res = await app.request(streamed(bytes, length))
      expect(res.status, `${what} ${res.status === 200 ? '' : await res.clone().text()}`).toBe(200)
      const s = await seen(res)
      expect([s.bodyLength, s.bodySha256], what).toEqual([bytes.length, sha256(bytes)])
      expect(handed.at(-1), what).toBe(form)
    }
  })

  it('never passes on a small body that ends short of its length: the client left', async () => {
    const { app, handed, launch } = spied()
    await launch('web')
    const res = await app.request(streamed(randomBytes(10), 100))
    expect(res.status).toBe(499)
    expect(handed).toEqual([])
  })

  it('answers 408 when a small body stalls, without troubling the container', async () => {
    const { app, handed, launch } = spied({ upstream: { bodyIdleTimeoutMs: 200 } })
    await launch('web')
    const started = Date.now()
    const res = await app.request(
      new Request('http://localhost/docker/web/upload', {
        method: 'POST',
        headers: { 'content-length': '1000' },
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array(10))
          },
        }),
        duplex: 'half',
      } as RequestInit),
    )
    expect(res.status).toBe(408)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('request_body_timeout')
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(handed).toEqual([])
  })

  it('lets a small body through that arrives slowly but never pauses for the idle limit', async () => {
    const { app, handed, launch } = spied({ upstream: { bodyIdleTimeoutMs: 300 } })
    await launch('web')
    let sent = 0
    const res = await app.request(
      new Request('http://localhost/docker/web/upload', {
        method: 'POST',
        headers: { 'content-length': '600' },
        body: new ReadableStream<Uint8Array>({
          async pull(controller) {
            await new Promise((r) => setTimeout(r, 150))
            controller.enqueue(new Uint8Array(100).fill(7))
            if (++sent === 6) controller.close()
          },
        }),
        duplex: 'half',
      } as RequestInit),
    )
    expect(res.status).toBe(200)
    expect((await seen(res)).bodyLength).toBe(600)
    expect(handed).toEqual(['bytes'])
  })
})

describe('containers that cannot serve', () => {
  it('answers 503 JSON with Retry-After for an unknown name', async () => {
    const { app } = setup()
    const res = await app.request('/docker/nobody/x', { headers: { accept: 'application/json' } })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('2')
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('container_unavailable')
    expect(body.error.message).toMatch(/^Container not yet available: no container named "nobody"/)
  })

  it('answers browsers with a self-reloading HTML page, title escaped', async () => {
    const { app } = setup({
      pleaseWait: { title: '<Wait & see>', bodyHtml: '<h1 id="custom">Hold on</h1>', retryAfterSeconds: 3 },
    })
    const res = await app.request('/docker/nobody/', { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } })
    expect(res.status).toBe(503)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(res.headers.get('retry-after')).toBe('3')
    const html = await res.text()
    expect(html).toContain('<title>&lt;Wait &amp; see&gt;</title>')
    expect(html).toContain('<h1 id="custom">Hold on</h1>')
    expect(html).toContain('location.reload()')
    // Asset and XHR requests from a page never get HTML.
    const asset = await app.request('/docker/nobody/app.js', {
      headers: { accept: '*/*', 'sec-fetch-mode': 'no-cors' },
    })
    expect(asset.headers.get('content-type')).toContain('application/json')
    // Non-GET requests get a 503 too (never a 405).
    expect((await app.request('/docker/nobody/form', { method: 'POST', body: 'x' })).status).toBe(503)
  })

  it('answers 503 while a running container is not listening yet', async () => {
    const { app, launch } = setup({}, () => 'http://127.0.0.1:9') // discard port: connection refused
    await launch('slowstart')
    const res = await app.request('/docker/slowstart/')
    expect(res.status).toBe(503)
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('not yet listening')
  })

  it('answers 502 with the exit code for a container that exited', async () => {
    const { app, launch, backend } = setup({}, () => 'http://127.0.0.1:9')
    await launch('gone')
    backend.setState('gone', 'exited', 3)
    const res = await app.request('/docker/gone/')
    expect(res.status).toBe(502)
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('container_exited')
    expect(body.error.message).toContain('exited with code 3')
  })

  it('re-reads a cached container whose port starts refusing, and reports that it exited', async () => {
    const own = await startUpstream()
    const { app, launch, backend } = setup({}, () => own.url)
    await launch('dies')
    expect((await app.request('/docker/dies/')).status).toBe(200)
    const inspectsBefore = backend.calls.inspect ?? 0
    await own.close()
    backend.setState('dies', 'exited', 1)
    const res = await app.request('/docker/dies/')
    expect(res.status).toBe(502)
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('exited with code 1')
    expect(backend.calls.inspect).toBe(inspectsBefore + 1)
  })

  it('answers 504 when the upstream does not send headers in time', async () => {
    const { app, launch } = setup({ upstream: { headersTimeoutMs: 150 } })
    await launch('web')
    const res = await app.request('/docker/web/slow?ms=2000')
    expect(res.status).toBe(504)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout')
  })

  it('keeps proxying cached containers while the engine is unreachable, and answers 503 for others', async () => {
    const { app, launch, backend } = setup()
    await launch('web')
    expect((await app.request('/docker/web/')).status).toBe(200)
    backend.setUnavailable(true)
    expect((await app.request('/docker/web/')).status).toBe(200)
    const other = await app.request('/docker/other/')
    expect(other.status).toBe(503)
    expect(((await other.json()) as { error: { message: string } }).error.message).toContain(
      'container engine cannot be reached',
    )
    const list = await app.request('/api/containers')
    expect(list.status).toBe(503)
    expect(((await list.json()) as { error: { code: string } }).error.code).toBe('backend_unavailable')
    backend.setUnavailable(false)
    expect((await app.request('/api/containers')).status).toBe(200)
  })

  it('rejects names that are not valid as written, without asking the engine', async () => {
    const { app, backend } = setup()
    for (const path of ['/docker/a%2Fb/x', '/docker/%2e%2e/x', '/docker/.hidden/x', '/docker/na%20me/']) {
      const res = await app.request(path)
      expect(res.status, path).toBe(404)
    }
    expect(backend.calls.inspect ?? 0).toBe(0)
  })
})

describe('streaming through a real server', () => {
  let server: RunningServer
  let gw: Gateway
  beforeAll(async () => {
    const { gateway, launch } = setup()
    gw = gateway
    await launch('web')
    server = await serveNode({ gateway, port: 0 })
  })
  afterAll(async () => {
    await server.close()
    await gw.close()
  })

  it('delivers the first chunk before the upstream finishes, and a client abort reaches the upstream', async () => {
    const before = upstream.closedStreams
    const controller = new AbortController()
    const started = Date.now()
    const res = await fetch(`${server.url}/docker/web/stream`, { signal: controller.signal })
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toContain('tick')
    expect(Date.now() - started).toBeLessThan(2_000)
    controller.abort()
    for (let i = 0; i < 50 && upstream.closedStreams === before; i++) await new Promise((r) => setTimeout(r, 50))
    expect(upstream.closedStreams).toBeGreaterThan(before)
    // The gateway keeps serving.
    expect((await fetch(`${server.url}/docker/web/`)).status).toBe(200)
  })

  it('round-trips a 10 MB binary body byte for byte', async () => {
    const big = randomBytes(10 * 1024 * 1024)
    const res = await fetch(`${server.url}/docker/web/raw/upload`, {
      method: 'POST',
      body: big,
      headers: { 'content-type': 'application/octet-stream' },
    })
    expect(res.status).toBe(200)
    const back = new Uint8Array(await res.arrayBuffer())
    expect(back.length).toBe(big.length)
    expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true)
  })
})
