import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { Readable } from 'node:stream'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memory } from '../../../src/backends/memory.js'
import type { Gateway } from '../../../src/gateway.js'
import { silentLogger } from '../../../src/logger.js'
import { createNodeGateway, serveNode, type RunningServer } from '../../../src/adapter/node/index.js'
import type { DirectRoute } from '../../../src/proxy/direct.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'
import { askFor, comparable, withoutInventedType, type AskOptions } from '../../helpers/answers.js'
import { launchSpec } from '../../helpers/launch-spec.js'

/**
 * The Node fast path must answer exactly as the general path does. One gateway is served twice,
 * with and without the fast path, and every answer is compared: status, headers, body bytes, and
 * what the container saw.
 */

let upstream: TestUpstream
let silent: { server: Server; url: string }
let gateway: Gateway
let fast: RunningServer
let general: RunningServer
let backend: ReturnType<typeof memory>
/** Requests the fast path took. */
const taken: DirectRoute[] = []

beforeAll(async () => {
  upstream = await startUpstream()
  // A container that accepts connections but never answers.
  const server = createServer(() => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  silent = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
  backend = memory({
    upstreams: (spec) =>
      spec.name === 'mute' ? silent.url : spec.name === 'gone' ? 'http://127.0.0.1:1' : upstream.url,
  })
  gateway = createNodeGateway({
    backend,
    logger: silentLogger,
    background: false,
    config: { upstream: { headersTimeoutMs: 400 }, cookies: { strip: ['session'] } },
  })
  const route = gateway.direct.route.bind(gateway.direct)
  gateway.direct.route = (...args) => {
    const found = route(...args)
    if (found) taken.push(found)
    return found
  }
  for (const name of ['web', 'mute', 'gone']) {
    await backend.launch(launchSpec(name, { image: 'app:1' }))
  }
  fast = await serveNode({ gateway, port: 0 })
  general = await serveNode({ gateway, port: 0, fastPath: false })
})

afterAll(async () => {
  await fast.close()
  await general.close()
  await gateway.close()
  await upstream.close()
  silent.server.closeAllConnections()
  await new Promise((resolve) => silent.server.close(resolve))
})

/** Cache the container as running and ready, as steady-state traffic leaves it. */
async function prime(name: string) {
  const record = await gateway.manager.refreshRoute(name)
  gateway.manager.markReady(record!.id)
}

const ask = (base: string, path: string, options?: AskOptions) => askFor(`${base}${path}`, options)

/** Send the same request both ways; the fast one must have taken the fast path. */
async function both(name: string, path: string, options: AskOptions = {}) {
  await prime(name)
  const before = taken.length
  const viaFast = await ask(fast.url, `/docker/${name}${path}`, options)
  const fastTook = taken.length > before
  await prime(name)
  const viaGeneral = withoutInventedType(viaFast, await ask(general.url, `/docker/${name}${path}`, options))
  return { viaFast, viaGeneral, fastTook }
}

describe('the Node fast path answers as the general path does', () => {
  it("forwards method, raw path, query and X-Forwarded-* identically, without the gateway's and the parent's cookies", async () => {
    const headers = {
      cookie: 'session=parent; hde_access_web=secret; theme=dark',
      'x-forwarded-for': '203.0.113.9',
      'user-agent': 'test',
    }
    for (const method of ['GET', 'DELETE', 'OPTIONS']) {
      const { viaFast, viaGeneral, fastTook } = await both('web', '/a%20b/c%2Fd/?x=1&y=%2F&z', { method, headers })
      expect(fastTook).toBe(true)
      expect(viaFast.status).toBe(200)
      expect(comparable(viaFast)).toEqual(comparable(viaGeneral))
      const seen = JSON.parse(viaFast.body.toString()) as { url: string; headers: Record<string, string> }
      expect(seen.url).toBe('/a%20b/c%2Fd/?x=1&y=%2F&z')
      expect(seen.headers.cookie).toBe('theme=dark')
      expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1')
      expect(seen.headers['x-forwarded-prefix']).toBe('/docker/web')
    }
  })

  it('streams request bodies byte for byte, with and without a length', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17)
    const { viaFast, viaGeneral, fastTook } = await both('web', '/raw/upload', {
      method: 'POST',
      body: big,
      headers: { 'content-type': 'application/octet-stream' },
    })
    expect(fastTook).toBe(true)
    expect(viaFast.status).toBe(200)
    expect(viaFast.body.equals(big)).toBe(true)
    expect(viaFast.headers).toEqual(viaGeneral.headers)
    expect(viaGeneral.body.equals(big)).toBe(true)
    const sized = await both('web', '/json', {
      method: 'PUT',
      body: Buffer.from('hello'),
      headers: { 'content-length': '5' },
    })
    expect(comparable(sized.viaFast)).toEqual(comparable(sized.viaGeneral))
  })

  it('treats HEAD, 204, 304, 404, 500 and gzip the same', async () => {
    for (const [method, path] of [
      ['HEAD', '/x'],
      ['GET', '/status/204'],
      ['GET', '/status/304'],
      ['GET', '/status/404'],
      ['GET', '/status/500'],
      ['GET', '/gzip'],
    ] as const) {
      const { viaFast, viaGeneral, fastTook } = await both('web', path, {
        method,
        headers: { 'accept-encoding': 'gzip' },
      })
      expect(fastTook, path).toBe(true)
      expect(viaFast, `${method} ${path}`).toEqual(viaGeneral)
    }
  })

  it('drops hop-by-hop response headers and keeps redirects and cookies inside the prefix', async () => {
    const hop = await both('web', '/hop')
    expect(hop.viaFast).toEqual(hop.viaGeneral)
    expect(hop.viaFast.headers['content-type']).toBeUndefined()
    expect(hop.viaFast.headers['x-private']).toBeUndefined()
    expect(hop.viaFast.headers['x-public']).toBe('yes')
    for (const to of ['/login', `${upstream.url}/abs?q=1`, 'relative/page', 'https://elsewhere.example/x']) {
      const { viaFast, viaGeneral } = await both('web', `/redirect?to=${encodeURIComponent(to)}`)
      expect(viaFast.status).toBe(302)
      expect(viaFast, to).toEqual(viaGeneral)
    }
    const { viaFast } = await both('web', '/cookies')
    expect(viaFast.headers['set-cookie']).toEqual(['a=1; Path=/docker/web/', 'b=2; Path=/docker/web/'])
  })

  it('answers a container that stopped listening, and one that is too slow, with the same errors', async () => {
    const gone = await both('gone', '/', { headers: { accept: 'application/json' } })
    expect(gone.fastTook).toBe(true)
    // It was ready and its port stopped answering: being checked, on both paths alike.
    expect(gone.viaFast.status).toBe(503)
    expect(JSON.parse(gone.viaFast.body.toString()).error.message).toContain('not answering on its port')
    expect(gone.viaFast).toEqual(gone.viaGeneral)
    const page = await both('gone', '/', { headers: { accept: 'text/html' } })
    expect(page.viaFast).toEqual(page.viaGeneral)
    const mute = await both('mute', '/')
    expect(mute.fastTook).toBe(true)
    expect(mute.viaFast.status).toBe(504)
    expect(mute.viaFast).toEqual(mute.viaGeneral)
  })

  it('counts the headers timeout from when the request is sent, so a slow upload is not cut', async () => {
    // 6 chunks 150 ms apart: the upload alone outlasts the 400 ms headers timeout.
    const slowBody = async function* () {
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 150))
        yield Buffer.from(`chunk ${i};`)
      }
    }
    for (const base of [fast.url, general.url]) {
      await prime('web')
      const res = await request(`${base}/docker/web/upload`, { method: 'POST', body: Readable.from(slowBody()) })
      expect(res.statusCode, base).toBe(200)
      expect(((await res.body.json()) as { bodyLength: number }).bodyLength).toBe(48)
    }
  })

  it('leaves requests it cannot answer identically to the general path', async () => {
    await prime('web')
    const lane = gateway.direct
    expect(lane.route('GET', '/docker/web/x', '127.0.0.1:1')).toBeDefined()
    for (const url of [
      '/docker/web',
      '/docker/web?x',
      '/docker/web/a/../b',
      '/docker/web/%2e%2e/x',
      '/docker/web/./x',
      "/docker/web/it's",
      '/docker/web/x?q="a"',
      '/docker/nope/',
      '/api/containers',
      'http://host/docker/web/',
    ]) {
      expect(lane.route('GET', url, '127.0.0.1:1'), url).toBeUndefined()
    }
    expect(lane.route('GET', '/docker/web/x', undefined)).toBeUndefined()
    // Not yet ready: the general path decides (it may hold the request with `Prefer: wait`).
    const record = await gateway.manager.refreshRoute('web')
    gateway.manager.resetReadiness(record!.id)
    expect(lane.route('GET', '/docker/web/x', '127.0.0.1:1')).toBeUndefined()
    // Dot segments resolve as a URL parser would, on either server.
    const dotted = await ask(fast.url, '/docker/web/a/../b')
    expect(comparable(dotted)).toEqual(comparable(await ask(general.url, '/docker/web/a/../b')))
  })

  it('falls back to the general path when the fast path itself fails, and keeps serving', async () => {
    await prime('web')
    const original = gateway.direct.requestHeaders
    gateway.direct.requestHeaders = () => {
      throw new Error('a bug in the fast path')
    }
    try {
      const res = await ask(fast.url, '/docker/web/fallback')
      expect(res.status).toBe(200)
      expect((JSON.parse(res.body.toString()) as { url: string }).url).toBe('/fallback')
    } finally {
      gateway.direct.requestHeaders = original
    }
    expect((await ask(fast.url, '/docker/web/')).status).toBe(200)
  })

  it('counts, logs history and holds activity the same way, and a client that leaves reaches the container', async () => {
    await prime('web')
    const id = (await gateway.manager.refreshRoute('web'))!.id
    const count = async () =>
      (await gateway.metrics.proxiedRequests.get()).values.find(
        ({ labels }) => labels.container === 'web' && labels.status === '200',
      )?.value ?? 0
    const fastCount = async () => (await gateway.metrics.fastPathRequests.get()).values[0]?.value ?? 0
    const [before, fastBefore] = [await count(), await fastCount()]
    await ask(fast.url, '/docker/web/history-marker?n=1')
    expect(await count()).toBe(before + 1)
    expect(await fastCount()).toBe(fastBefore + 1)
    const history = await gateway.manager.historyOf('web')
    expect(history.at(-1)).toMatchObject({ method: 'GET', path: '/history-marker?n=1' })
    await ask(general.url, '/docker/web/history-marker?n=2')
    expect(await count()).toBe(before + 2)
    expect(await fastCount()).toBe(fastBefore + 1)

    await prime('web')
    const closedBefore = upstream.closedStreams
    const controller = new AbortController()
    const res = await request(`${fast.url}/docker/web/stream`, { signal: controller.signal })
    const reader = res.body[Symbol.asyncIterator]()
    await reader.next()
    expect(gateway.manager.openExchanges(id)).toBe(1)
    controller.abort()
    for (let i = 0; i < 50 && (upstream.closedStreams === closedBefore || gateway.manager.openExchanges(id) > 0); i++) {
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(upstream.closedStreams).toBeGreaterThan(closedBefore)
    expect(gateway.manager.openExchanges(id)).toBe(0)
    // The server keeps serving.
    expect((await ask(fast.url, '/docker/web/')).status).toBe(200)
  })
})
