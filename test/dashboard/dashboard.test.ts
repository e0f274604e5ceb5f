import { memoryStore } from '../../src/stores/store.js'
import { describe, expect, it } from 'vitest'
import { memory } from '../../src/backends/memory.js'
import { createGateway } from '../../src/gateway.js'
import { silentLogger } from '../../src/logger.js'
import { DashboardSessions } from '../../src/dashboard/sessions.js'
import { quantileMs } from '../../src/dashboard/traffic.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

const TOKEN = 'dashboard-unit-token-0123456789'
const ORIGIN = 'http://127.0.0.1:8001'
const HOST = '127.0.0.1:8001'

/** A browser's view of the dashboard: its cookie jar, and the CSRF token of the last page. */
function browserOn(dashboard: { request: (path: string, init?: RequestInit) => Response | Promise<Response> }) {
  let cookie = ''
  let csrf = ''
  const request = async (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) => {
    const response = await dashboard.request(`http://${HOST}${path}`, {
      redirect: 'manual',
      ...init,
      headers: { host: HOST, ...(cookie ? { cookie } : {}), ...init.headers },
    })
    const set = response.headers.get('set-cookie')
    if (set) cookie = set.split(';')[0]!.endsWith('=') ? '' : set.split(';')[0]!
    if ((response.headers.get('content-type') ?? '').includes('text/html')) {
      const text = await response.clone().text()
      csrf = /name="(?:hde-)?csrf" (?:content|value)="([0-9a-f]+)"/.exec(text)?.[1] ?? csrf
    }
    return response
  }
  /** A state-changing request as the dashboard's own page sends it. */
  const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    request(path, {
      method: 'POST',
      headers: {
        origin: ORIGIN,
        'sec-fetch-site': 'same-origin',
        'x-csrf-token': csrf,
        'content-type': 'application/json',
        ...headers,
      },
      body: body === undefined ? null : JSON.stringify(body),
    })
  return {
    request,
    post,
    get cookie() {
      return cookie
    },
    get csrf() {
      return csrf
    },
  }
}

describe('the dashboard without tokens', () => {
  const { setup } = useMemoryGateways()

  it('gives a loopback browser a session on its first page, then accepts only same-origin changes with its CSRF token', async () => {
    const { gateway, backend } = setup()
    const browser = browserOn(gateway.dashboard)
    const page = await browser.request('/')
    expect(page.status).toBe(200)
    expect(browser.cookie).toMatch(/^hde_dashboard=[0-9a-f]{64}$/)
    expect(page.headers.get('set-cookie')).toMatch(/HttpOnly/)
    expect(page.headers.get('set-cookie')).toMatch(/SameSite=Strict/)
    expect(browser.csrf).toMatch(/^[0-9a-f]{64}$/)

    const launch = { image: 'tool:1', name: 'from-dashboard' }
    // Another origin on the same site (the proxy's port), a sibling site, no token, a wrong token.
    const refused = [
      await browser.post('/launch', launch, { origin: 'http://127.0.0.1:8000', 'sec-fetch-site': 'same-site' }),
      await browser.post('/launch', launch, { origin: 'http://127.0.0.1:8000' }),
      await browser.post('/launch', launch, { 'sec-fetch-site': 'cross-site' }),
      await browser.post('/launch', launch, { origin: 'null' }),
      await browser.post('/launch', launch, { 'x-csrf-token': '' }),
      await browser.post('/launch', launch, { 'x-csrf-token': 'f'.repeat(64) }),
    ]
    for (const response of refused) {
      expect(response.status).toBe(403)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('cross_origin_refused')
    }
    expect(await backend.list()).toEqual([])

    const accepted = await browser.post('/launch', launch)
    expect(accepted.status).toBe(200)
    const lines = (await accepted.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines.at(-1)).toMatchObject({ event: 'launched', name: 'from-dashboard' })
    expect((await backend.list()).map((r) => r.name)).toEqual(['from-dashboard'])

    // Removal goes through the same checks.
    expect(
      (await browser.post('/containers/from-dashboard/remove', undefined, { origin: 'http://evil.test' })).status,
    ).toBe(403)
    expect((await browser.post('/containers/from-dashboard/remove')).status).toBe(200)
    expect(await backend.list()).toEqual([])
  })

  it('answers field-level 400s for a bad launch, as the API does', async () => {
    const { gateway } = setup()
    const browser = browserOn(gateway.dashboard)
    await browser.request('/')
    const response = await browser.post('/launch', { image: 'tool:1', port: 70000, env: { 'BAD-KEY': 'x' } })
    expect(response.status).toBe(400)
    const { error } = (await response.json()) as { error: { issues: { path: string }[] } }
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['env.BAD-KEY', 'port'])
  })

  it('refuses browsers that are not on loopback', async () => {
    const gateway = createGateway({
      backend: memory({ upstreams: () => 'http://127.0.0.1:9' }),
      logger: silentLogger,
      background: false,
      getClientAddress: () => '192.0.2.7',
    })
    try {
      const response = await gateway.dashboard.request(`http://${HOST}/`, { headers: { host: HOST } })
      expect(response.status).toBe(403)
      expect(await response.text()).toContain('dashboard_loopback_only')
    } finally {
      await gateway.close()
    }
  })

  it('sends a CSP without inline code or framing, and never caches a page', async () => {
    const { gateway } = setup()
    const response = await gateway.dashboard.request(`http://${HOST}/`, { headers: { host: HOST } })
    const csp = response.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe')
    expect(response.headers.get('x-frame-options')).toBe('DENY')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('strict-transport-security')).toBeNull()
  })

  it('answers 421 for a host name it does not serve (DNS rebinding)', async () => {
    const { gateway } = setup()
    const response = await gateway.dashboard.request('http://attacker.example/', {
      headers: { host: 'attacker.example' },
    })
    expect(response.status).toBe(421)
  })

  it('never forwards its session cookie to a container', async () => {
    const { gateway, launch } = setup()
    expect((await launch({ name: 'tool' })).status).toBe(201)
    const response = await gateway.app.request('/docker/tool/headers', {
      headers: { cookie: 'hde_dashboard=secret-session; theirs=kept' },
    })
    const seen = (await response.json()) as { headers: Record<string, string> }
    expect(seen.headers.cookie).toBe('theirs=kept')
  })
})

describe('the dashboard with tokens', () => {
  const { setup } = useMemoryGateways()

  it('sends pages to sign-in, and refuses changes without a signed-in session', async () => {
    const { gateway, backend } = setup({ auth: { tokens: [TOKEN] } })
    const browser = browserOn(gateway.dashboard)
    const page = await browser.request('/')
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toBe('/sign-in')
    const events = await browser.request('/events')
    expect(events.status).toBe(401)
    const form = await browser.request('/sign-in')
    expect(form.status).toBe(200)
    // A pending session's CSRF token is not a signed-in session.
    const launch = await browser.post('/launch', { image: 'tool:1' })
    expect(launch.status).toBe(401)
    expect(await backend.list()).toEqual([])
  })

  it('signs in with a token for a new session (never the token), and signs out', async () => {
    const { gateway } = setup({ auth: { tokens: [TOKEN] } })
    const browser = browserOn(gateway.dashboard)
    await browser.request('/sign-in')
    const pending = browser.cookie
    const signIn = (token: string, headers: Record<string, string> = {}) =>
      browser.request('/sign-in', {
        method: 'POST',
        headers: {
          origin: ORIGIN,
          'sec-fetch-site': 'same-origin',
          'content-type': 'application/x-www-form-urlencoded',
          ...headers,
        },
        body: new URLSearchParams({ token, csrf: browser.csrf }).toString(),
      })
    // From a page of another origin, even with the right token: refused (login CSRF).
    expect((await signIn(TOKEN, { origin: 'http://127.0.0.1:8000', 'sec-fetch-site': 'same-site' })).status).toBe(403)
    const wrong = await signIn('not-the-token-00000000000')
    expect(wrong.status).toBe(401)
    expect(await wrong.text()).toContain('not one of the gateway')
    const right = await signIn(TOKEN)
    expect(right.status).toBe(303)
    expect(browser.cookie).not.toBe(pending)
    expect(browser.cookie).not.toContain(TOKEN)
    expect((await browser.request('/')).status).toBe(200)
    // The pending session was spent: planting it before sign-in gains nothing.
    const planted = await gateway.dashboard.request(`http://${HOST}/`, {
      headers: { host: HOST, cookie: pending },
      redirect: 'manual',
    })
    expect(planted.status).toBe(303)

    const signedIn = browser.cookie
    const out = await browser.post('/sign-out', undefined, { 'content-type': 'application/x-www-form-urlencoded' })
    expect(out.status).toBe(303)
    const replay = await gateway.dashboard.request(`http://${HOST}/`, {
      headers: { host: HOST, cookie: signedIn },
      redirect: 'manual',
    })
    expect(replay.status).toBe(303)
  })
})

describe('dashboard sessions under a flood of anonymous requests', () => {
  const { setup } = useMemoryGateways()

  it("keeps the operator's sign-in form working however many anonymous sign-in pages are loaded", async () => {
    const { gateway } = setup({ auth: { tokens: [TOKEN] } })
    const operator = browserOn(gateway.dashboard)
    await operator.request('/sign-in')
    expect(operator.csrf).toMatch(/^[0-9a-f]{64}$/)
    for (let i = 0; i < 1_100; i++) {
      const anonymous = await gateway.dashboard.request(`http://${HOST}/sign-in`, { headers: { host: HOST } })
      expect(anonymous.status).toBe(200)
    }
    const signIn = await operator.request('/sign-in', {
      method: 'POST',
      headers: { origin: ORIGIN, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN, csrf: operator.csrf }).toString(),
    })
    expect(signIn.status).toBe(303)
    expect((await operator.request('/')).status).toBe(200)
    // A form's token belongs to its own cookie only.
    const stranger = browserOn(gateway.dashboard)
    await stranger.request('/sign-in')
    const forged = await gateway.dashboard.request(`http://${HOST}/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        host: HOST,
        cookie: stranger.cookie,
        origin: ORIGIN,
        'sec-fetch-site': 'same-origin',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: TOKEN, csrf: operator.csrf }).toString(),
    })
    expect(forged.status).toBe(403)
  })

  it("keeps a loopback operator's session (no tokens) however many cookieless requests arrive", async () => {
    const { gateway } = setup()
    const operator = browserOn(gateway.dashboard)
    expect((await operator.request('/')).status).toBe(200)
    for (let i = 0; i < 10_100; i++) {
      const anonymous = await gateway.dashboard.request(`http://${HOST}/no-such-page`, { headers: { host: HOST } })
      expect(anonymous.status).toBe(404)
    }
    const launched = await operator.post('/launch', { image: 'tool:1', name: 'after-flood' })
    expect(launched.status).toBe(200)
    await launched.text()
    expect(await gateway.manager.get('after-flood')).toBeDefined()
    // A cookie value the gateway did not make gets a session of its own, never the CSRF token of another.
    const planted = await gateway.dashboard.request(`http://${HOST}/launch`, {
      method: 'POST',
      headers: {
        host: HOST,
        cookie: 'hde_dashboard=attacker',
        origin: ORIGIN,
        'sec-fetch-site': 'same-origin',
        'x-csrf-token': operator.csrf,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ image: 'tool:1', name: 'planted' }),
    })
    expect(planted.status).toBe(403)
  }, 120_000)

  it('expires signed-in sessions', async () => {
    const short = new DashboardSessions({ ttlMs: -1, store: memoryStore() })
    expect(await short.get((await short.signIn()).id)).toBeUndefined()
  })

  it('keeps sessions and sign-in forms valid on every gateway sharing its store, and sign-out ends them on all', async () => {
    const store = memoryStore()
    const [one, two] = [0, 1].map(() => new DashboardSessions({ ttlMs: 60_000, store }))
    const session = await one!.signIn()
    expect(await two!.get(session.id)).toEqual(session)
    // A sign-in form served by one replica is posted to the other: the same signed token.
    const form = await one!.stateless(undefined, false)
    expect((await two!.stateless(form.id, false)).csrf).toBe(form.csrf)
    // Never a local session's token, nor another store's.
    expect((await two!.stateless(form.id, true)).csrf).not.toBe(form.csrf)
    const elsewhere = new DashboardSessions({ ttlMs: 60_000, store: memoryStore() })
    expect((await elsewhere.stateless(form.id, false)).csrf).not.toBe(form.csrf)
    await two!.end(session.id)
    expect(await one!.get(session.id)).toBeUndefined()
  })
})

describe('traffic quantiles', () => {
  it('interpolates inside the bucket, as histogram_quantile does', () => {
    const bounds = [0.001, 0.01, 0.1]
    // 10 requests: 5 under 1 ms, 5 between 1 and 10 ms.
    expect(quantileMs(bounds, [5, 10, 10], 10, 0.5)).toBe(1)
    expect(quantileMs(bounds, [5, 10, 10], 10, 0.99)).toBeCloseTo(9.82, 1)
    expect(quantileMs(bounds, [0, 0, 0], 0, 0.5)).toBeNull()
  })
})
