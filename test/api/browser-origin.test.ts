import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { isBrowserRequest } from '../../src/api/auth.js'
import { memory } from '../../src/backends/memory.js'
import { createGateway } from '../../src/gateway.js'
import { silentLogger } from '../../src/logger.js'

const TOKEN = 'a-long-enough-api-token-1234'
type Json = Record<string, any>

/** A gateway whose every request comes from loopback, as a visitor's browser on the same machine does. */
function loopbackGateway(config: object = {}) {
  const backend = memory()
  const gateway = createGateway({
    backend,
    config,
    logger: silentLogger,
    background: false,
    getClientAddress: () => '127.0.0.1',
  })
  return { backend, gateway }
}

const launchBody = JSON.stringify({ image: 'tool:1', name: 'planted' })
const json = { 'content-type': 'application/json' }

/** What a page's script can send to the API, with the headers its browser adds. */
const BROWSER_ATTEMPTS: [string, string, RequestInit][] = [
  ['launch', '/api/containers', { method: 'POST', headers: json, body: launchBody }],
  [
    'launch as text/plain (a "simple" cross-origin request)',
    '/api/containers',
    { method: 'POST', headers: { 'content-type': 'text/plain' }, body: launchBody },
  ],
  ['list', '/api/containers', {}],
  ['show', '/api/containers/victim', {}],
  ['logs', '/api/containers/victim/logs', {}],
  ['history', '/api/containers/victim/history', {}],
  ['remove', '/api/containers/victim', { method: 'DELETE' }],
  ['purge', '/api/purge', { method: 'POST', headers: json, body: '{"inactiveSeconds":0}' }],
  ['pull', '/api/images/pull', { method: 'POST', headers: json, body: '{"image":"tool:2"}' }],
  ['health', '/api/health', {}],
  ['OpenAPI document', '/api/openapi.json', {}],
  ['input', '/api/containers/victim/input?token=x', {}],
  ['metrics', '/metrics', {}],
  [
    'CORS preflight',
    '/api/containers',
    {
      method: 'OPTIONS',
      headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    },
  ],
]

/** The header sets browsers send on requests a page can make (fetch, forms, links, images). */
const BROWSER_SIGNALS: Record<string, string>[] = [
  { origin: 'http://127.0.0.1:8000', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' },
  { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' }, // a same-origin GET carries no Origin
  { origin: 'http://evil.docker.localhost:8000', 'sec-fetch-site': 'same-site' },
  { origin: 'null' }, // sandboxed iframes, data: URLs
  { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
  { 'Sec-Fetch-Site': 'Same-Origin' },
]

describe('the API and browsers (same-origin safety)', () => {
  it('tells browser requests from plain clients by Origin and Sec-Fetch-Site', () => {
    for (const headers of BROWSER_SIGNALS)
      expect(isBrowserRequest(new Headers(headers)), JSON.stringify(headers)).toBe(true)
    expect(isBrowserRequest(new Headers())).toBe(false)
    expect(isBrowserRequest(new Headers({ 'user-agent': 'curl/8.0' }))).toBe(false)
    // A navigation the user typed or bookmarked: no page can cause it.
    expect(isBrowserRequest(new Headers({ 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' }))).toBe(false)
    expect(isBrowserRequest(new Headers({ 'sec-fetch-site': 'none', origin: 'http://127.0.0.1:8000' }))).toBe(true)
  })

  it('refuses every API route to a loopback browser when no token is configured, and acts on none', async () => {
    const { backend, gateway } = loopbackGateway()
    const victim = await gateway.app.request('/api/containers', {
      method: 'POST',
      headers: json,
      body: '{"image":"tool:1","name":"victim"}',
    })
    expect(victim.status).toBe(201)
    for (const signals of BROWSER_SIGNALS) {
      for (const [what, path, init] of BROWSER_ATTEMPTS) {
        const res = await gateway.app.request(path, {
          ...init,
          headers: { ...(init.headers as Record<string, string>), ...signals },
        })
        const label = `${what} with ${JSON.stringify(signals)}`
        expect(res.status, label).toBe(403)
        const body = (await res.json()) as Json
        expect(body.error.code, label).toBe('api_browser_refused')
        expect(body.error.message, label).toContain('auth.tokens')
        for (const name of res.headers.keys()) expect(name, label).not.toMatch(/^access-control-/)
      }
    }
    // Nothing was launched, removed or purged.
    expect((await backend.list()).map((r) => r.name)).toEqual(['victim'])
  })

  it('keeps serving plain loopback clients, and user-typed navigations, without a token', async () => {
    const { gateway } = loopbackGateway()
    expect(
      (await gateway.app.request('/api/containers', { method: 'POST', headers: json, body: launchBody })).status,
    ).toBe(201)
    const list = await gateway.app.request('/api/containers')
    expect(list.status).toBe(200)
    expect(((await list.json()) as Json).containers).toHaveLength(1)
    const typed = await gateway.app.request('/api/containers', {
      headers: { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' },
    })
    expect(typed.status).toBe(200)
    expect((await gateway.app.request('/api/health')).status).toBe(200)
    expect((await gateway.app.request('/metrics')).status).toBe(200)
  })

  it('with tokens, asks a browser for one like any client, and serves it when it has one', async () => {
    const { gateway } = loopbackGateway({ auth: { tokens: [TOKEN] } })
    const browser = { origin: 'http://127.0.0.1:8000', 'sec-fetch-site': 'same-origin' }
    const denied = await gateway.app.request('/api/containers', { headers: browser })
    expect(denied.status).toBe(401)
    expect((await gateway.app.request('/api/health', { headers: browser })).status).toBe(401)
    expect(
      (await gateway.app.request('/api/containers', { headers: { ...browser, authorization: `Bearer ${TOKEN}` } }))
        .status,
    ).toBe(200)
    expect(
      (await gateway.app.request('/api/health', { headers: { ...browser, authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(200)
    // Plain clients keep the credential-free routes.
    expect((await gateway.app.request('/api/health')).status).toBe(200)
  })

  it('applies under an embedding mount, and on the API app served alone', async () => {
    const { gateway } = loopbackGateway()
    const parent = new Hono().route('/viz', gateway.app)
    const browser = { origin: 'http://127.0.0.1:8000', 'sec-fetch-site': 'same-origin', ...json }
    const mounted = await parent.request('/viz/api/containers', { method: 'POST', headers: browser, body: launchBody })
    expect(mounted.status).toBe(403)
    const alone = new Hono().route('/', gateway.api)
    expect(
      (await alone.request('/api/containers', { method: 'POST', headers: browser, body: launchBody })).status,
    ).toBe(403)
    expect((await alone.request('/metrics', { headers: browser })).status).toBe(403)
    expect((await gateway.manager.list()).length).toBe(0)
  })

  it('exposes the API and the proxy as separate apps for separate origins', async () => {
    const { gateway } = loopbackGateway()
    expect(
      (await gateway.api.request('/api/containers', { method: 'POST', headers: json, body: launchBody })).status,
    ).toBe(201)
    // The API app carries no proxy routes …
    const onApi = await gateway.api.request('/docker/planted/')
    expect(onApi.status).toBe(404)
    // … and the proxy app no API routes: a container's origin has nothing to drive.
    const onProxy = await gateway.proxy.request('/api/containers')
    expect(onProxy.status).toBe(404)
    expect(await onProxy.text()).not.toContain('planted')
    expect((await gateway.proxy.request('/metrics')).status).toBe(404)
    expect((await gateway.proxy.request('/docker/planted')).status).toBe(308)
  })

  it("writes no secret into any answer of its own on a container's origin (please-wait, errors, denials)", async () => {
    const { backend, gateway } = loopbackGateway({ auth: { tokens: [TOKEN] } })
    const auth = { authorization: `Bearer ${TOKEN}`, ...json }
    const launch = async (body: object) =>
      (await (
        await gateway.app.request('/api/containers', {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ image: 'tool:1', ...body }),
        })
      ).json()) as Json
    const secret = await launch({ name: 'secret', access: 'token' })
    const oneTimeToken = new URL(secret.url, 'http://x').searchParams.get('hde_access')
    expect(oneTimeToken).toMatch(/^[0-9a-f]{64}$/)
    await launch({ name: 'starting' })
    await launch({ name: 'crashed' })
    backend.setState('crashed', 'exited', 3)
    const navigation = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'same-origin' }
    const answers = await Promise.all(
      [
        '/docker/starting/',
        '/docker/secret/',
        '/docker/crashed/',
        '/docker/missing/',
        '/docker/secret/?hde_access=wrong',
      ].flatMap((path) => [gateway.app.request(path, { headers: navigation }), gateway.app.request(path)]),
    )
    // Each is the gateway's own answer (no container was ever reached).
    for (const res of answers) expect(res.status).toBeGreaterThanOrEqual(400)
    for (const res of answers) {
      const everything = `${[...res.headers].join('\n')}\n${await res.text()}`
      expect(everything).not.toContain(TOKEN)
      expect(everything).not.toContain(oneTimeToken)
      expect(everything).not.toMatch(/hde_access=|secret\/\?/)
    }
  })
})
