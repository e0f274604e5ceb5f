import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memory } from '../src/backends/memory.js'
import { createGateway } from '../src/gateway.js'
import { silentLogger } from '../src/logger.js'
import { nodeUpstream } from '../src/node-upstream.js'
import { startUpstream, type SeenRequest, type TestUpstream } from './helpers/upstream.js'

let upstream: TestUpstream
const client = nodeUpstream()
beforeAll(async () => {
  upstream = await startUpstream()
})
afterAll(async () => {
  await client.close()
  await upstream.close()
})

describe('embedding in a parent Hono app', () => {
  function parentApp() {
    const gateway = createGateway({ backend: memory({ upstreams: () => upstream.url }), fetch: client, logger: silentLogger })
    const parent = new Hono()
    parent.get('/', (c) => c.text('parent home'))
    parent.route('/viz', gateway.app)
    return parent
  }

  it('serves the API and the proxy under the mount path', async () => {
    const parent = parentApp()
    const launched = await parent.request('/viz/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'tool:1', name: 'embedded' }),
    })
    expect(launched.status).toBe(201)
    expect(await launched.json()).toMatchObject({ url: '/viz/docker/embedded/' })
    expect(launched.headers.get('location')).toBe('/viz/api/containers/embedded')

    const res = await parent.request('/viz/docker/embedded/deep/path?q=1')
    expect(res.status).toBe(200)
    const seen = (await res.json()) as SeenRequest
    expect(seen.url).toBe('/deep/path?q=1')
    expect(seen.headers['x-forwarded-prefix']).toBe('/viz/docker/embedded')

    const list = (await (await parent.request('/viz/api/containers')).json()) as { containers: { url: string }[] }
    expect(list.containers[0]?.url).toBe('/viz/docker/embedded/')
    expect(await (await parent.request('/')).text()).toBe('parent home')
  })

  it('redirects to the trailing slash under the mount path and keeps JSON errors', async () => {
    const parent = parentApp()
    const res = await parent.request('/viz/docker/embedded')
    expect(res.status).toBe(308)
    expect(res.headers.get('location')).toBe('/viz/docker/embedded/')
    const missing = await parent.request('/viz/api/containers/missing')
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: { code: 'container_not_found' } })
    const bad = await parent.request('/viz/api/containers', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(bad.status).toBe(400)
  })

  it('has no side effects at import', async () => {
    const before = process.listenerCount('SIGINT')
    await import('../src/index.js')
    await import('../src/backends/docker.js')
    expect(process.listenerCount('SIGINT')).toBe(before)
  })
})
