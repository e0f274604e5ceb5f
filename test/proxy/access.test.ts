import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { ConfigInput } from '../../src/config/schema.js'
import type { AuthorizeHook } from '../../src/proxy/access-check.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'
import type { SeenRequest } from '../helpers/upstream.js'

type Json = Record<string, any>
const gateways = useMemoryGateways()

function setup(options: { config?: ConfigInput; authorize?: AuthorizeHook } = {}) {
  const { gateway } = gateways.setup(options.config, options.authorize ? { authorize: options.authorize } : {})
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
