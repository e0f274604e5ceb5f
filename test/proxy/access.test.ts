import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { fileStore } from '../../src/stores/file.js'
import type { ContainerStore } from '../../src/stores/store.js'
import type { ConfigInput } from '../../src/config/schema.js'
import type { AuthorizeHook } from '../../src/proxy/access-check.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'
import type { SeenRequest } from '../helpers/upstream.js'

type Json = Record<string, any>
const gateways = useMemoryGateways()

function setup(options: { config?: ConfigInput; authorize?: AuthorizeHook; store?: ContainerStore } = {}) {
  const { gateway } = gateways.setup(options.config, {
    ...(options.authorize ? { authorize: options.authorize } : {}),
    ...(options.store ? { store: options.store } : {}),
  })
  const launch = async (body: Json) => {
    const res = await gateway.app.request('/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'tool:1', ...body }),
    })
    return (await res.json()) as Json
  }
  return { app: gateway.app, launch }
}

describe('per-container access tokens', () => {
  it('redirects to a path on the same host only, under hostname routing too (no open redirect)', async () => {
    const { app, launch } = setup({ config: { hostSuffix: '.docker.localhost' } })
    for (const [path, expected] of [
      ['//evil.example/landing', '/evil.example/landing'],
      ['///evil.example/x', '/evil.example/x'],
      ['/\\evil.example/x', '/evil.example/x'],
      ['/plain/page', '/plain/page'],
    ]) {
      const launched = await launch({ access: 'token' })
      const token = new URL(launched.url, 'http://x').searchParams.get('hde_access')
      const res = await app.request(`http://x${path}?hde_access=${token}&q=1`, {
        headers: { host: `${launched.name}.docker.localhost` },
      })
      expect(res.status, path).toBe(302)
      const location = res.headers.get('location')!
      expect(location, path).toBe(`${expected}?q=1`)
      // Resolved against the page, it stays on the container's host.
      expect(new URL(location, `http://${launched.name}.docker.localhost/`).host).toBe(
        `${launched.name}.docker.localhost`,
      )
    }
  })

  it('trades the one-time link for a scoped HttpOnly cookie, and never forwards either', async () => {
    const { app, launch } = setup()
    const launched = await launch({ name: 'private', access: 'token' })
    expect(launched.url).toMatch(/^\/docker\/private\/\?hde_access=[0-9a-f]{64}$/)
    expect((await app.request('/docker/private/')).status).toBe(401)

    const exchange = await app.request(launched.url)
    expect(exchange.status).toBe(302)
    expect(exchange.headers.get('location')).toBe('/docker/private/')
    const cookie = exchange.headers.get('set-cookie')!
    expect(cookie).toMatch(/^hde_access_private=[0-9a-f]{64}; Path=\/docker\/private\/; HttpOnly; SameSite=Lax$/)
    const session = cookie.split(';')[0]!

    const res = await app.request('/docker/private/page?x=1', { headers: { cookie: `${session}; theme=dark` } })
    expect(res.status).toBe(200)
    const seen = (await res.json()) as SeenRequest
    expect(seen.headers.cookie).toBe('theme=dark')
    expect(seen.url).toBe('/page?x=1')

    // The link works once; a forged or foreign cookie opens nothing.
    expect((await app.request(launched.url)).status).toBe(403)
    expect(
      (await app.request('/docker/private/', { headers: { cookie: `hde_access_private=${'0'.repeat(64)}` } })).status,
    ).toBe(401)
    const other = await launch({ name: 'other', access: 'token' })
    const otherSession = (await app.request(other.url)).headers.get('set-cookie')!.split(';')[0]!.split('=')[1]
    expect(
      (await app.request('/docker/private/', { headers: { cookie: `hde_access_private=${otherSession}` } })).status,
    ).toBe(401)
  })

  for (const kind of ['memory', 'file'] as const) {
    it(`gives exactly one of many simultaneous visitors of a link a session, and the others a 403 (${kind} store)`, async () => {
      const store = kind === 'file' ? fileStore({ dir: await mkdtemp(join(tmpdir(), 'hde-access-')) }) : undefined
      const { app, launch } = setup(store ? { store } : {})
      const launched = await launch({ name: `racing-${kind}`, access: 'token' })
      const answers = await Promise.all(Array.from({ length: 16 }, () => app.request(launched.url)))
      const statuses = answers.map((res) => res.status)
      expect(statuses.filter((status) => status === 302)).toHaveLength(1)
      expect(statuses.filter((status) => status === 403)).toHaveLength(15)
      const refused = answers.find((res) => res.status === 403)!
      expect(((await refused.json()) as Json).error.code).toBe('access_link_invalid')
      // The one session handed out works.
      const cookie = answers
        .find((res) => res.status === 302)!
        .headers.get('set-cookie')!
        .split(';')[0]!
      expect((await app.request(`/docker/racing-${kind}/`, { headers: { cookie } })).status).toBe(200)
    })
  }

  it('hands out a fresh link on request: an unused earlier one stops working, the session in use keeps working', async () => {
    const { app, launch } = setup()
    const launched = await launch({ name: 'relinked', access: 'token' })
    const fresh = async () => {
      const res = await app.request('/api/containers/relinked/access-link', { method: 'POST' })
      expect(res.status).toBe(201)
      return ((await res.json()) as Json).url as string
    }
    const second = await fresh()
    expect(second).toMatch(/^\/docker\/relinked\/\?hde_access=[0-9a-f]{64}$/)
    expect((await app.request(launched.url)).status).toBe(403)
    const cookie = (await app.request(second)).headers.get('set-cookie')!.split(';')[0]!
    const third = await fresh()
    expect((await app.request('/docker/relinked/', { headers: { cookie } })).status).toBe(200)
    // Using the new link replaces the session (a browser that lost its cookie gets back in).
    const renewed = (await app.request(third)).headers.get('set-cookie')!.split(';')[0]!
    expect((await app.request('/docker/relinked/', { headers: { cookie: renewed } })).status).toBe(200)
    expect((await app.request('/docker/relinked/', { headers: { cookie } })).status).toBe(401)

    await launch({ name: 'open' })
    const open = await app.request('/api/containers/open/access-link', { method: 'POST' })
    expect(open.status).toBe(409)
    expect(((await open.json()) as Json).error.code).toBe('not_private')
    expect((await app.request('/api/containers/nobody/access-link', { method: 'POST' })).status).toBe(404)
  })

  it('leaves public containers open and honours defaultAccess', async () => {
    const open = setup()
    await open.launch({ name: 'pub' })
    expect((await open.app.request('/docker/pub/')).status).toBe(200)
    const closed = setup({ config: { defaultAccess: 'token' } })
    const launched = await closed.launch({ name: 'byDefault' })
    expect(launched.url).toContain('?hde_access=')
    expect((await closed.app.request('/docker/byDefault/')).status).toBe(401)
  })
})

describe('an embedder authorize hook', () => {
  it('lets the parent app decide per container, e.g. by an owner label', async () => {
    const { app: gatewayApp, launch } = setup({
      authorize: (c, container) => c.req.header('x-user') === container.labels.owner,
    })
    await launch({ name: 'anns', labels: { owner: 'ann' } })
    const parent = new Hono()
    parent.route('/viz', gatewayApp)
    expect((await parent.request('/viz/docker/anns/', { headers: { 'x-user': 'ann' } })).status).toBe(200)
    const bob = await parent.request('/viz/docker/anns/', { headers: { 'x-user': 'bob' } })
    expect(bob.status).toBe(403)
    expect(((await bob.json()) as Json).error.code).toBe('forbidden')
  })
})
