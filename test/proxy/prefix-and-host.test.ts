import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { SeenRequest } from '../helpers/upstream.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

const { shared, setup } = useMemoryGateways()

/** What the test upstream saw for a proxied request. */
async function seen(res: Response): Promise<SeenRequest> {
  expect(res.status).toBe(200)
  return (await res.json()) as SeenRequest
}

describe('the path a container receives (stripPrefix) and what it is told (PUBLIC_PREFIX)', () => {
  it('strips the prefix by default and keeps it with stripPrefix: false', async () => {
    const { app, launch, backend } = setup()
    expect((await launch({ name: 'stripped' })).status).toBe(201)
    expect((await launch({ name: 'kept', stripPrefix: false })).status).toBe(201)
    expect((await seen(await app.request('/docker/stripped/tree/a%20b?x=1'))).url).toBe('/tree/a%20b?x=1')
    expect((await seen(await app.request('/docker/kept/tree/a%20b?x=1'))).url).toBe('/docker/kept/tree/a%20b?x=1')
    expect((await seen(await app.request('/docker/kept/'))).url).toBe('/docker/kept/')
    expect(backend.specOf('stripped')?.env.PUBLIC_PREFIX).toBe('/docker/stripped/')
    expect(backend.specOf('kept')?.env.PUBLIC_PREFIX).toBe('/docker/kept/')
  })

  it('keeps the embedding mount in the path and in PUBLIC_PREFIX', async () => {
    const { gateway, backend } = setup()
    const parent = new Hono().route('/viz', gateway.app)
    const launch = (body: object) =>
      parent.request('/viz/api/containers', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: 'tool:1', ...body }),
      })
    expect((await launch({ name: 'nb', stripPrefix: false })).status).toBe(201)
    expect(backend.specOf('nb')?.env.PUBLIC_PREFIX).toBe('/viz/docker/nb/')
    const got = await seen(await parent.request('/viz/docker/nb/api/contents?type=notebook'))
    expect(got.url).toBe('/viz/docker/nb/api/contents?type=notebook')
    expect(got.headers['x-forwarded-prefix']).toBe('/viz/docker/nb')
    // A redirect and a cookie that already carry the mount and prefix pass unchanged.
    const redirect = await parent.request('/viz/docker/nb/redirect?to=/viz/docker/nb/tree')
    expect(redirect.headers.get('location')).toBe('/viz/docker/nb/tree')
    const cookie = await parent.request(
      `/viz/docker/nb/cookie?set=${encodeURIComponent('_xsrf=t; Path=/viz/docker/nb/')}`,
    )
    expect(cookie.headers.getSetCookie()).toEqual(['_xsrf=t; Path=/viz/docker/nb/'])
  })

  it('probes the readiness path of a container that keeps its prefix under that prefix', async () => {
    const { launch, backend } = setup({ readiness: { path: '/healthz' } })
    await launch({ name: 'given', stripPrefix: false, readinessPath: '/api/status?x=1' })
    await launch({ name: 'default', stripPrefix: false })
    await launch({ name: 'stripped', readinessPath: '/api/status' })
    await launch({ name: 'plain' })
    expect(backend.specOf('given')?.readinessPath).toBe('/docker/given/api/status?x=1')
    expect(backend.specOf('default')?.readinessPath).toBe('/docker/default/healthz')
    expect(backend.specOf('stripped')?.readinessPath).toBe('/api/status')
    expect(backend.specOf('plain')?.readinessPath).toBeUndefined()
  })

  it('lists stripPrefix with each container, and it survives a new gateway on the same engine', async () => {
    const first = setup()
    await first.launch({ name: 'kept', stripPrefix: false })
    await first.launch({ name: 'plain' })
    expect(await first.show('kept')).toMatchObject({ stripPrefix: false })
    expect(await first.show('plain')).toMatchObject({ stripPrefix: true })
    const second = setup({}, { backend: first.backend })
    expect(await second.show('kept')).toMatchObject({ stripPrefix: false })
    expect((await seen(await second.app.request('/docker/kept/x'))).url).toBe('/docker/kept/x')
  })

  it('never doubles the prefix in redirects or cookies, and keeps other ones inside it', async () => {
    const { app, launch } = setup()
    await launch({ name: 'kept', stripPrefix: false })
    const location = async (to: string, host = '127.0.0.1:8000') =>
      (
        await app.request(`http://${host}/docker/kept/redirect?to=${encodeURIComponent(to)}`, { headers: { host } })
      ).headers.get('location')
    expect(await location('/docker/kept/tree')).toBe('/docker/kept/tree')
    expect(await location('/login')).toBe('/docker/kept/login')
    expect(await location('http://127.0.0.1:8000/docker/kept/tree?x')).toBe('/docker/kept/tree?x')
    expect(await location('http://127.0.0.1:8000/api/containers')).toBe('/docker/kept/api/containers')
    expect(await location(`${shared.upstream.url}/docker/kept/a`)).toBe('/docker/kept/a')
    expect(await location('https://elsewhere.example/x')).toBe('https://elsewhere.example/x')
    const cookies = await app.request(
      `/docker/kept/cookie?set=${encodeURIComponent('_xsrf=t; Path=/docker/kept/')}&set=${encodeURIComponent('s=1; Path=/')}`,
    )
    expect(cookies.headers.getSetCookie()).toEqual(['_xsrf=t; Path=/docker/kept/', 's=1; Path=/docker/kept/'])
  })

  it('passes the path unchanged under hostname routing, whatever stripPrefix says', async () => {
    const { app, launch } = setup({ hostSuffix: '.docker.localhost' })
    await launch({ name: 'kept', stripPrefix: false })
    const host = 'kept.docker.localhost:8000'
    const got = await seen(await app.request(`http://${host}/tree?x=1`, { headers: { host } }))
    expect(got.url).toBe('/tree?x=1')
    expect(got.headers.host).toBe(host)
  })

  it('refuses a launch that sets PUBLIC_PREFIX itself, and a stripPrefix that is not a boolean', async () => {
    const { launch } = setup()
    const own = await launch({ env: { PUBLIC_PREFIX: '/elsewhere/' } })
    expect(own.status).toBe(400)
    expect(own.body.error.issues).toEqual([
      { path: 'env', message: expect.stringContaining('PUBLIC_PREFIX is set by the gateway') },
    ])
    const wrong = await launch({ stripPrefix: 'no' })
    expect(wrong.status).toBe(400)
    expect(wrong.body.error.issues[0].path).toBe('stripPrefix')
  })
})

describe("the client's Host (upstream.preserveHost)", () => {
  // A name the gateway answers for (see listen.allowedHosts).
  const listen = { allowedHosts: ['gw.example'] }
  it('reaches the container by default, with X-Forwarded-Host', async () => {
    const { app, launch } = setup({ listen })
    await launch({ name: 'app' })
    const got = await seen(
      await app.request('http://gw.example:8000/docker/app/', { headers: { host: 'gw.example:8000' } }),
    )
    expect(got.headers.host).toBe('gw.example:8000')
    expect(got.headers['x-forwarded-host']).toBe('gw.example:8000')
  })

  it("is replaced by the container's address with preserveHost: false", async () => {
    const { app, launch } = setup({ listen, upstream: { preserveHost: false } })
    await launch({ name: 'app' })
    const got = await seen(
      await app.request('http://gw.example:8000/docker/app/', { headers: { host: 'gw.example:8000' } }),
    )
    expect(got.headers.host).toBe(new URL(shared.upstream.url).host)
    expect(got.headers['x-forwarded-host']).toBe('gw.example:8000')
  })
})
