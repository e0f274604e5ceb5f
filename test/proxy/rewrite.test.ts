import { describe, expect, it } from 'vitest'
import { memory } from '../../src/backends/memory.js'
import { createGateway } from '../../src/gateway.js'
import { silentLogger } from '../../src/logger.js'
import { rewriteLocation, scopeSetCookie, stripCookies } from '../../src/proxy/rewrite.js'
import { launchSpec } from '../helpers/launch-spec.js'

describe('rewriteLocation', () => {
  const origin = 'http://127.0.0.1:32768'
  it.each([
    ['/login?next=/', '/docker/app/login?next=/'],
    ['http://127.0.0.1:32768/abs?q#h', '/docker/app/abs?q#h'],
    ['http://127.0.0.1:9999/other-port', 'http://127.0.0.1:9999/other-port'],
    ['https://elsewhere.example/x', 'https://elsewhere.example/x'],
    ['relative/page', 'relative/page'],
    ['//cdn.example/lib.js', '//cdn.example/lib.js'],
    ['/docker/app/already', '/docker/app/already'],
    ['/docker/app', '/docker/app'],
    ['/docker/application', '/docker/app/docker/application'],
    // Apps that see the client's Host redirect to it: the same container, kept in its prefix.
    ['http://gw.example:8000/tree', '/docker/app/tree'],
    ['https://GW.example:8000/docker/app/tree?x', '/docker/app/tree?x'],
    ['http://gw.example/tree', 'http://gw.example/tree'],
    ['http://gw.example:8001/tree', 'http://gw.example:8001/tree'],
  ])('%s → %s', (location, expected) => {
    expect(
      rewriteLocation(location, { upstreamOrigin: origin, prefix: '/docker/app', publicHost: 'gw.example:8000' }),
    ).toBe(expected)
  })
  it('compares the public host as a URL would (case, default port)', () => {
    const scope = { upstreamOrigin: origin, prefix: '/docker/app', publicHost: 'GW.example:80' }
    expect(rewriteLocation('http://gw.example/a', scope)).toBe('/docker/app/a')
    expect(rewriteLocation('http://other.example/a', scope)).toBe('http://other.example/a')
    expect(rewriteLocation('http://gw.example/a', { ...scope, publicHost: 'bad host' })).toBe('http://gw.example/a')
  })
  it('matches the upstream origin with or without its default port', () => {
    // Reached at a container address on port 80 (docker.reach "network"), apps redirect without ":80".
    expect(
      rewriteLocation('http://172.17.0.2/login?x', { upstreamOrigin: 'http://172.17.0.2:80', prefix: '/docker/app' }),
    ).toBe('/docker/app/login?x')
    expect(
      rewriteLocation('http://172.17.0.2:80/login', { upstreamOrigin: 'http://172.17.0.2:80', prefix: '/docker/app' }),
    ).toBe('/docker/app/login')
    expect(
      rewriteLocation('http://[fd00::2]/a', { upstreamOrigin: 'http://[fd00::2]:80', prefix: '/docker/app' }),
    ).toBe('/docker/app/a')
    expect(
      rewriteLocation('http://172.17.0.2:8080/login', {
        upstreamOrigin: 'http://172.17.0.2:80',
        prefix: '/docker/app',
      }),
    ).toBe('http://172.17.0.2:8080/login')
  })
  it('only strips the upstream origin under hostname routing', () => {
    expect(rewriteLocation('/x', { upstreamOrigin: origin, prefix: '' })).toBe('/x')
    expect(rewriteLocation('http://127.0.0.1:32768/y', { upstreamOrigin: origin, prefix: '' })).toBe('/y')
  })
})

describe('scopeSetCookie', () => {
  it.each([
    ['sid=1', 'sid=1; Path=/docker/app/'],
    ['sid=1; Path=/', 'sid=1; Path=/docker/app/'],
    ['sid=1; path=/admin; HttpOnly; Secure', 'sid=1; Path=/docker/app/admin; HttpOnly; Secure'],
    ['sid=1; Domain=parent.example; SameSite=Lax', 'sid=1; Path=/docker/app/; SameSite=Lax'],
    ['sid=1; Path=relative', 'sid=1; Path=/docker/app/'],
    // Cookies of an app that knows its prefix are already scoped: never `/docker/app/docker/app/`.
    ['_xsrf=t; Path=/docker/app/', '_xsrf=t; Path=/docker/app/'],
    ['_xsrf=t; Path=/docker/app', '_xsrf=t; Path=/docker/app'],
    ['s=t; Path=/docker/app/api/', 's=t; Path=/docker/app/api/'],
    ['s=t; Path=/docker/application', 's=t; Path=/docker/app/docker/application'],
  ])('%s → %s', (cookie, expected) => {
    expect(scopeSetCookie(cookie, '/docker/app')).toBe(expected)
  })
})

describe('stripCookies', () => {
  it('removes only the named cookies', () => {
    expect(stripCookies('sessionid=s; theme=dark; csrftoken=t', new Set(['sessionid', 'csrftoken']))).toBe('theme=dark')
    expect(stripCookies('sessionid=s', new Set(['sessionid']))).toBe('')
    expect(stripCookies('sessionidx=1; a=b', new Set(['sessionid']))).toBe('sessionidx=1; a=b')
  })
})

describe('routing details', () => {
  it('routes by hostname when hostSuffix is set, and validates the name', async () => {
    const backend = memory()
    const gateway = createGateway({
      backend,
      config: { hostSuffix: '.docker.localhost' },
      logger: silentLogger,
      background: false,
    })
    const unknown = await gateway.app.request('http://x/anything', { headers: { host: 'tool.docker.localhost:8000' } })
    expect(unknown.status).toBe(503)
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain('"tool"')
    const invalid = await gateway.app.request('http://x/', { headers: { host: '-bad.docker.localhost' } })
    expect(invalid.status).toBe(404)
    // Other hosts still reach the API.
    expect((await gateway.app.request('http://x/api/health', { headers: { host: '127.0.0.1:8000' } })).status).toBe(200)
  })

  it('answers 501 to a WebSocket upgrade when no runtime tunnel is wired', async () => {
    const backend = memory({ upstreams: () => 'http://127.0.0.1:9' })
    const gateway = createGateway({ backend, logger: silentLogger, background: false })
    await backend.launch(launchSpec('ws'))
    const res = await gateway.app.request('/docker/ws/socket', {
      headers: { upgrade: 'websocket', connection: 'Upgrade' },
    })
    expect(res.status).toBe(501)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('websocket_unsupported')
  })
})
