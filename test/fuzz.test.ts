import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memory } from '../src/backends/memory.js'
import { useMemoryGateways } from './helpers/memory-gateway.js'
import type { SeenRequest } from './helpers/upstream.js'
import { launchSpec } from './helpers/launch-spec.js'

const gateways = useMemoryGateways()

function setup() {
  // Under a base path every fuzzed path reaches the upstream's JSON echo, never its endless /stream.
  const backend = memory({
    upstreams: (spec) => (spec.name === 'target' ? `${gateways.shared.upstream.url}/fuzz` : 'http://127.0.0.1:9'),
  })
  return gateways.setup({}, { backend })
}

/** No answer may be a 500 or carry a stack trace or an internal path. */
async function expectClean(res: Response): Promise<void> {
  expect(res.status).not.toBe(500)
  const text = await res.text()
  expect(text).not.toMatch(/\bat .+\.(ts|js):\d+|node_modules|\/work\//)
}

describe('bad input, tried systematically', () => {
  it('any JSON launch body is a 201 or a clear 4xx, never a 500', { timeout: 90_000 }, async () => {
    const { app } = setup()
    const field = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string()),
      fc.dictionary(fc.string(), fc.string()),
    )
    const body = fc.record(
      {
        image: fc.oneof(fc.string(), fc.constant('tool:1'), field),
        name: fc.oneof(fc.string(), fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,20}$/), field),
        port: fc.oneof(fc.integer(), field),
        cpus: fc.oneof(fc.double(), field),
        memReservationMb: field,
        extraDirectories: fc.oneof(fc.array(fc.string()), field),
        env: fc.oneof(fc.dictionary(fc.string(), fc.string()), field),
        labels: field,
        inputDelivery: fc.oneof(fc.constantFrom('env', 'file', 'url', 'ftp'), field),
        unexpectedKey: field,
      },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const res = await app.request('/api/containers', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(value),
        })
        expect([201, 400, 409, 413, 415, 422]).toContain(res.status)
        await expectClean(res)
      }),
      { numRuns: 300 },
    )
  })

  it('raw bodies and content types never break the API', async () => {
    const { app } = setup()
    await fc.assert(
      fc.asyncProperty(
        fc.string(),
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          '',
          'application/json; charset=utf-16',
        ),
        async (raw, type) => {
          const res = await app.request('/api/containers', {
            method: 'POST',
            headers: type ? { 'content-type': type } : {},
            body: raw,
          })
          expect(res.status).toBeGreaterThanOrEqual(400)
          expect(res.status).toBeLessThan(500)
          await expectClean(res)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('proxied paths — traversal, encodings, unicode, control characters — never reach a container by another name', {
    timeout: 90_000,
  }, async () => {
    const { app, backend } = setup()
    await backend.launch(launchSpec('target'))
    const segment = fc.oneof(
      fc.constantFrom(
        '..',
        '.',
        '%2e%2e',
        '%2E%2E',
        '%2f',
        '%2F',
        '%00',
        '%0d%0a',
        'target',
        'target%2f..',
        '..%2ftarget',
        '%252e',
        'ｔａｒｇｅｔ',
        '\u202e',
        '',
      ),
      fc.string(),
      fc.webSegment(),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 5 }), async (segments) => {
        const path = `/docker/${segments.join('/')}`
        let res: Response
        try {
          res = await app.request(`http://gw.test${path.replace(/[\s#?]/g, (c) => encodeURIComponent(c))}`)
        } catch {
          return // a URL the client library refuses never reaches the gateway
        }
        await expectClean(res.clone())
        if (res.status === 200 && res.headers.get('content-type')?.includes('json')) {
          // Only the container named exactly "target", addressed as such, answers.
          const seen = (await res.json()) as SeenRequest
          const requested = new URL(`http://gw.test${path.replace(/[\s#?]/g, (c) => encodeURIComponent(c))}`).pathname
          expect(requested.startsWith('/docker/target/')).toBe(true)
          expect(seen.url.startsWith('/fuzz/')).toBe(true)
        }
      }),
      { numRuns: 250 },
    )
  })

  it('names in API paths are validated before any engine call', async () => {
    const { app, backend } = setup()
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1 }), async (name) => {
        const before = backend.calls.inspect ?? 0
        const res = await app.request(`/api/containers/${encodeURIComponent(name)}`)
        await expectClean(res.clone())
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(name)) {
          expect([400, 404]).toContain(res.status)
          expect(backend.calls.inspect ?? 0).toBe(before)
        }
      }),
      { numRuns: 300 },
    )
  })
})
