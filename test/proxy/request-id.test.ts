import { describe, expect, it } from 'vitest'
import type { Logger } from '../../src/logger.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

const { setup } = useMemoryGateways()
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
type Json = Record<string, any>

/** A logger that keeps every line. */
function recording() {
  const lines: { message: string; fields: Record<string, unknown> }[] = []
  const keep = (message: string, fields: Record<string, unknown> = {}) => lines.push({ message, fields })
  const logger: Logger = { info: keep, warn: keep, error: keep, debug: keep }
  return { logger, lines }
}

describe('request ids', () => {
  it('answers one on every answer: the API, its errors, probes, paths of nobody, and the proxy', async () => {
    const { app, launch } = setup()
    await launch({ name: 'tool' })
    const answers = await Promise.all(
      [
        '/api/containers',
        '/api/containers/missing',
        '/api/health/live',
        '/api/health/ready',
        '/nothing/here',
        '/docker/tool/',
        '/docker/unknown/',
      ].map((path) => app.request(path)),
    )
    expect(answers.map((res) => res.status)).toEqual([200, 404, 200, 200, 404, 200, 503])
    const ids = answers.map((res) => res.headers.get('x-request-id'))
    for (const id of ids) expect(id).toMatch(UUID)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('passes it to the container, and answers it in place of any the container sent', async () => {
    const { app, launch } = setup()
    await launch({ name: 'tool' })
    const res = await app.request('/docker/tool/seen', { headers: { 'x-request-id': 'from-the-client' } })
    const seen = (await res.json()) as { headers: Record<string, string> }
    const id = res.headers.get('x-request-id')
    expect(id).toMatch(UUID)
    expect(seen.headers['x-request-id']).toBe(id)
    // The test app answers `/hop` with an id of its own.
    const own = await app.request('/docker/tool/hop')
    expect(own.headers.get('x-public')).toBe('yes')
    expect(own.headers.get('x-request-id')).toMatch(UUID)
  })

  it("takes a trusted proxy's id when it is a reasonable one, and never a client's", async () => {
    const trusted = setup({ trustProxy: true })
    await trusted.launch({ name: 'tool' })
    const passed = await trusted.app.request('/docker/tool/', { headers: { 'x-request-id': 'lb-7f3a:42' } })
    expect(passed.headers.get('x-request-id')).toBe('lb-7f3a:42')
    expect(((await passed.json()) as Json).headers['x-request-id']).toBe('lb-7f3a:42')
    expect(
      (await trusted.app.request('/api/containers', { headers: { 'x-request-id': 'lb-7f3a:43' } })).headers.get(
        'x-request-id',
      ),
    ).toBe('lb-7f3a:43')
    for (const unreasonable of ['two words', 'a'.repeat(129), 'x\u00e9', 'line\\nbreak'])
      expect(
        (await trusted.app.request('/docker/tool/', { headers: { 'x-request-id': unreasonable } })).headers.get(
          'x-request-id',
        ),
        unreasonable,
      ).toMatch(UUID)
    const untrusted = setup()
    expect(
      (await untrusted.app.request('/api/containers', { headers: { 'x-request-id': 'lb-7f3a:44' } })).headers.get(
        'x-request-id',
      ),
    ).toMatch(UUID)
  })

  it('names it in the access log and in the log of a failed request', async () => {
    const { logger, lines } = recording()
    const { app, launch } = setup({ log: { access: true } }, { logger })
    await launch({ name: 'tool' })
    const res = await app.request('/docker/tool/logged')
    await res.arrayBuffer()
    const access = lines.find((line) => line.message === 'access' && line.fields.path === '/logged')
    expect(access?.fields.requestId).toBe(res.headers.get('x-request-id'))
    const failed = await app.request('/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'tool:1', name: 'tool' }),
    })
    expect(failed.status).toBe(409)
    expect(failed.headers.get('x-request-id')).toMatch(UUID)
  })
})

describe('request ids on the Node server', () => {
  it('also on the 503 of a server that drains', async () => {
    const { createNodeGateway, serveNode } = await import('../../src/adapter/node/index.js')
    const { memory } = await import('../../src/backends/memory.js')
    const { silentLogger } = await import('../../src/logger.js')
    const gateway = createNodeGateway({ backend: memory(), logger: silentLogger, background: false })
    const server = await serveNode({ gateway, port: 0 })
    try {
      const before = await fetch(`${server.url}/api/containers`)
      expect(before.headers.get('x-request-id')).toMatch(UUID)
      gateway.drain.start()
      const refused = await fetch(`${server.url}/docker/any/`)
      expect(refused.status).toBe(503)
      expect(refused.headers.get('x-request-id')).toMatch(UUID)
    } finally {
      await server.close()
      await gateway.close()
    }
  })
})
