import { describe, expect, it } from 'vitest'
import { hostAllowList, hostName, isValidHost } from '../../src/http/host.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

const TOKEN = 'a-long-enough-api-token-1234'
const { setup } = useMemoryGateways()
const json = { 'content-type': 'application/json' }

describe('Host names (DNS rebinding, authority validation)', () => {
  it('validates Host as an authority and reads its name', () => {
    for (const good of [
      'localhost',
      '127.0.0.1:8000',
      '[::1]:8000',
      'x.docker.localhost',
      'x.docker.localhost.',
      'a-b_c.example:1',
    ])
      expect(isValidHost(good), good).toBe(true)
    for (const bad of ['', 'x/y', 'x#', 'x?y', 'user@x', 'x y', 'x:80/api#', '[::1', 'x\\y', 'x:123456'])
      expect(isValidHost(bad), bad).toBe(false)
    expect(hostName('X.Docker.Localhost.:8000')).toBe('x.docker.localhost')
    expect(hostName('[::1]:8000')).toBe('[::1]')
  })

  it('answers the API only for loopback names and the listen address while no tokens are set', async () => {
    const { app, gateway } = setup()
    // A website rebinding its name to 127.0.0.1 reaches the gateway with its own name in Host.
    for (const host of [
      'rebind.attacker.example',
      'rebind.attacker.example:8000',
      '127.0.0.1.nip.io:8000',
      'localhost.attacker.example',
    ]) {
      const res = await app.request('http://x/api/containers', {
        method: 'POST',
        headers: { ...json, host },
        body: '{"image":"tool:1","name":"rebound"}',
      })
      expect(res.status, host).toBe(421)
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('host_not_allowed')
      expect(body.error.message).toContain('listen.allowedHosts')
      expect(body.error.message).not.toContain('attacker')
      expect((await app.request('http://x/api/health', { headers: { host } })).status).toBe(421)
      expect((await app.request('http://x/metrics', { headers: { host } })).status).toBe(421)
    }
    expect(await gateway.manager.list()).toEqual([])
    for (const host of ['localhost', 'localhost:8000', 'LOCALHOST.', '127.0.0.1:8000', '[::1]:8000']) {
      expect((await app.request('http://x/api/containers', { headers: { host } })).status, host).toBe(200)
    }
  })

  it('answers for configured names, and for any name with tokens unless names are configured', async () => {
    const configured = setup({ listen: { allowedHosts: ['gw.example.org'] } }).app
    expect(
      (await configured.request('http://x/api/containers', { headers: { host: 'gw.example.org:8443' } })).status,
    ).toBe(200)
    expect(
      (await configured.request('http://x/api/containers', { headers: { host: 'other.example.org' } })).status,
    ).toBe(421)
    const auth = { authorization: `Bearer ${TOKEN}` }
    const withTokens = setup({ auth: { tokens: [TOKEN] } }).app
    expect(
      (await withTokens.request('http://x/api/containers', { headers: { host: 'gw.example.org', ...auth } })).status,
    ).toBe(200)
    const both = setup({ auth: { tokens: [TOKEN] }, listen: { allowedHosts: ['gw.example.org'] } }).app
    expect(
      (await both.request('http://x/api/containers', { headers: { host: 'other.example.org', ...auth } })).status,
    ).toBe(421)
    const any = setup({ listen: { allowedHosts: ['*'] } }).app
    expect((await any.request('http://x/api/containers', { headers: { host: 'anything.example' } })).status).toBe(200)
    // Containers fetch their input at input.publicApiUrl's host.
    const input = setup({ input: { publicApiUrl: 'http://host.docker.internal:8000/api' } }).app
    expect(
      (await input.request('http://x/api/health', { headers: { host: 'host.docker.internal:8000' } })).status,
    ).toBe(200)
  })

  it('proxies to containers only for allowed names, on the routed and the fast lane alike', async () => {
    const { app, gateway, launch } = setup({ hostSuffix: '.docker.localhost' })
    expect((await launch({ name: 'tool' })).status).toBe(201)
    await gateway.manager.get('tool')
    for (const host of ['rebind.attacker.example', 'rebind.attacker.example:8000', 'localhost.attacker.example']) {
      for (const path of ['/docker/tool/', '/docker/tool/x?y=%2e', '/docker/tool']) {
        const res = await app.request(`http://x${path}`, { headers: { host } })
        expect(res.status, `${host} ${path}`).toBe(421)
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('host_not_allowed')
      }
      // The fast lane leaves it to the routed path (which answers 421).
      expect(gateway.direct.route('GET', '/docker/tool/', host), host).toBeUndefined()
    }
    expect(await gateway.manager.historyOf('tool')).toEqual([])
    for (const host of ['localhost:8000', '127.0.0.1', 'tool.docker.localhost:8000']) {
      const res = await app.request('http://x/docker/tool/page', { headers: { host } })
      expect(res.status, host).toBe(200)
    }
    // A container's own host, under hostname routing.
    expect((await app.request('http://x/page', { headers: { host: 'tool.docker.localhost' } })).status).toBe(200)
    expect(gateway.direct.route('GET', '/docker/tool/', 'localhost:8000')).toBeDefined()
    // Names configured, or tokens set, open it as they open the API.
    const configured = setup({ listen: { allowedHosts: ['tools.example.org'] } })
    await configured.launch({ name: 'tool' })
    const ok = await configured.app.request('http://x/docker/tool/', { headers: { host: 'tools.example.org' } })
    expect(ok.status).toBe(200)
  })

  it('keeps hostname routing for <name><hostSuffix>, whatever the allowed API hosts', async () => {
    const { app, launch } = setup({ hostSuffix: '.docker.localhost' })
    expect((await launch({ name: 'tool' })).status).toBe(201)
    const res = await app.request('http://x/api/containers', { headers: { host: 'tool.docker.localhost.:8000' } })
    // The container's answer (the test upstream echoes the request), not the API's.
    expect(res.status).toBe(200)
    expect(((await res.json()) as { url: string }).url).toBe('/api/containers')
  })

  it('answers probes for any host name, and only a Host that is a host and port at all', async () => {
    const { app } = setup()
    for (const path of ['/api/health/live', '/api/health/ready']) {
      expect((await app.request(`http://x${path}`, { headers: { host: 'pod-10-1-2-3.internal:8000' } })).status).toBe(
        200,
      )
      const refused = await app.request(`http://x${path}`, { headers: { host: 'x y' } })
      expect(refused.status, path).toBe(400)
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('invalid_host')
    }
  })

  it('builds the allow-list from the listen address, loopback names and extras', () => {
    const allowed = hostAllowList({ listenHostname: '10.0.0.5', tokens: false, extra: ['host.docker.internal:8000'] })
    for (const host of ['10.0.0.5:8000', 'localhost', 'host.docker.internal']) expect(allowed(host), host).toBe(true)
    expect(allowed('10.0.0.6')).toBe(false)
    const wildcard = hostAllowList({ listenHostname: '0.0.0.0', tokens: false })
    expect(wildcard('0.0.0.0')).toBe(false)
    expect(hostAllowList({ listenHostname: '::1', tokens: false })('[::1]:9')).toBe(true)
  })
})
