import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { memory } from '../../src/backends/memory.js'
import { createGateway } from '../../src/gateway.js'
import { silentLogger } from '../../src/logger.js'

const exec = promisify(execFile)
const TOKEN = 'a-long-enough-api-token-1234'

describe('API authentication', () => {
  it('requires a valid bearer token when tokens are configured', async () => {
    const gateway = createGateway({
      backend: memory(),
      config: { auth: { tokens: [TOKEN, 'another-token-abcdefgh'] } },
      logger: silentLogger,
      background: false,
    })
    const app = gateway.app
    const missing = await app.request('/api/containers')
    expect(missing.status).toBe(401)
    expect(missing.headers.get('www-authenticate')).toBe('Bearer')
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('unauthorized')
    expect(
      (await app.request('/api/containers', { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status,
    ).toBe(401)
    expect((await app.request('/api/containers', { headers: { authorization: `Basic ${TOKEN}` } })).status).toBe(401)
    expect((await app.request('/api/containers', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200)
    expect(
      (await app.request('/api/containers', { headers: { authorization: 'bearer another-token-abcdefgh' } })).status,
    ).toBe(200)
    const launch = await app.request('/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"image":"x"}',
    })
    expect(launch.status).toBe(401)
    // Stopping and waking need the same credentials as removing.
    for (const verb of ['stop', 'wake'])
      expect((await app.request(`/api/containers/any/${verb}`, { method: 'POST' })).status, verb).toBe(401)
    // Health and a container's own input URL carry no API credentials.
    expect((await app.request('/api/health')).status).toBe(200)
    expect((await app.request('/api/containers/none/input?token=x')).status).toBe(403)
  })

  it('admits no path trick, query token or method past the token check', async () => {
    const gateway = createGateway({
      backend: memory(),
      config: { auth: { tokens: [TOKEN] } },
      logger: silentLogger,
      background: false,
    })
    const app = gateway.app
    const paths = [
      '/api/containers',
      '//api/containers',
      '/api//containers',
      '/api/%2e%2e/api/containers',
      '/api/./containers',
      '/API/containers',
      '/Api/Containers',
      '/api/containers/..%2f..%2fapi%2fcontainers',
      '/api%2fcontainers',
      `/api/containers?token=${TOKEN}`,
      `/api/containers?access_token=${TOKEN}`,
      '/metrics',
      '//metrics',
      '/METRICS',
    ]
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']) {
        const res = await app.request(path, {
          method,
          headers: { 'content-type': 'application/json' },
          ...(method === 'GET' || method === 'HEAD' ? {} : { body: '{"image":"x:1"}' }),
        })
        // Either refused, or not an API route at all (a 404 that serves nothing): never a 2xx.
        expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400)
      }
    }
    expect(await gateway.manager.list()).toEqual([])
  })

  it('serves only loopback clients when no token is configured', async () => {
    let address = '10.1.2.3'
    const gateway = createGateway({
      backend: memory(),
      logger: silentLogger,
      background: false,
      getClientAddress: () => address,
    })
    const denied = await gateway.app.request('/api/containers')
    expect(denied.status).toBe(403)
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('api_loopback_only')
    for (address of ['127.0.0.1', '::1', '::ffff:127.0.0.1'])
      expect((await gateway.app.request('/api/containers')).status).toBe(200)
  })

  it('the CLI refuses a non-loopback listener without tokens, and says why', async () => {
    const result = await exec(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'serve', '--host', '0.0.0.0', '--port', '0'],
      { env: { ...process.env, HONO_DOCKER_ENGINE_TOKENS: '' } },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    )
    expect(result.code).toBe(78)
    expect(result.stderr).toContain('Refusing to listen on 0.0.0.0 without API tokens')
  })
})
