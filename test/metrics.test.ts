import { describe, expect, it } from 'vitest'
import { memory } from '../src/backends/memory.js'
import { createGateway } from '../src/gateway.js'
import { silentLogger } from '../src/logger.js'
import { useTestUpstream } from './helpers/upstream.js'
import { launchSpec } from './helpers/launch-spec.js'

const shared = useTestUpstream()

/** The value of one sample line, e.g. `hde_launches_total{result="ok"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('Prometheus metrics', () => {
  it('move with traffic: requests, latency, launches, removals, containers, engine errors', async () => {
    const backend = memory({ upstreams: () => shared.upstream.url })
    const gateway = createGateway({ backend, fetch: shared.client, logger: silentLogger, background: false })
    const app = gateway.app
    const scrape = async () => {
      const res = await app.request('/metrics')
      expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4')
      return res.text()
    }
    const empty = await scrape()
    expect(empty).toContain('# TYPE hde_proxied_requests_total counter')

    await app.request('/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'a:1', name: 'm1' }),
    })
    await app.request('/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'a:1', name: 'm1' }),
    })
    for (let i = 0; i < 3; i++) await app.request('/docker/m1/')
    await app.request('/docker/m1/status/404')
    await app.request('/docker/nobody-here/')
    await app.request('/docker/also-nobody/')
    await app.request('/api/containers/m1', { method: 'DELETE' })
    backend.setUnavailable(true)
    await app.request('/api/containers')
    backend.setUnavailable(false)

    const text = await scrape()
    expect(sample(text, 'hde_proxied_requests_total{container="m1",status="200"}')).toBe(3)
    expect(sample(text, 'hde_proxied_requests_total{container="m1",status="404"}')).toBe(1)
    // Unknown names share one series, so random URLs cannot blow up cardinality.
    expect(sample(text, 'hde_proxied_requests_total{container="(unknown)",status="503"}')).toBe(2)
    expect(sample(text, 'hde_proxy_response_seconds_count{container="m1"}')).toBe(4)
    expect(sample(text, 'hde_launches_total{result="ok"}')).toBe(1)
    expect(sample(text, 'hde_launches_total{result="NameConflictError"}')).toBe(1)
    expect(sample(text, 'hde_start_seconds_count')).toBe(1)
    expect(sample(text, 'hde_ready_seconds_count')).toBe(1)
    expect(sample(text, 'hde_removals_total{reason="api"}')).toBe(1)
    expect(sample(text, 'hde_backend_errors_total{operation="list",kind="unavailable"}')).toBe(1)
    expect(sample(text, 'hde_open_websockets')).toBe(0)
    await gateway.close()
  })

  it('counts containers by status at scrape time, and sits behind the API credentials', async () => {
    const backend = memory({ upstreams: () => shared.upstream.url })
    const gateway = createGateway({
      backend,
      fetch: shared.client,
      logger: silentLogger,
      background: false,
      config: { auth: { tokens: ['metrics-token-0123456789'] } },
    })
    await backend.launch(launchSpec('x1'))
    await backend.launch(launchSpec('x2'))
    backend.setState('x2', 'exited', 1)
    expect((await gateway.app.request('/metrics')).status).toBe(401)
    const text = await (
      await gateway.app.request('/metrics', { headers: { authorization: 'Bearer metrics-token-0123456789' } })
    ).text()
    expect(
      sample(text, 'hde_containers{status="starting"}')! + (sample(text, 'hde_containers{status="ready"}') ?? 0),
    ).toBe(1)
    expect(sample(text, 'hde_containers{status="exited"}')).toBe(1)
    await gateway.close()
  })
})

describe('structured logs', () => {
  it('writes one access line per proxied request when enabled, none by default', async () => {
    const lines: { message: string; fields?: Record<string, unknown> }[] = []
    const logger = {
      info: (message: string, fields?: Record<string, unknown>) =>
        lines.push({ message, ...(fields ? { fields } : {}) }),
      warn() {},
      error() {},
    }
    const backend = memory({ upstreams: () => shared.upstream.url })
    for (const access of [true, false]) {
      lines.length = 0
      const gateway = createGateway({
        backend,
        fetch: shared.client,
        logger,
        background: false,
        config: { log: { access } },
      })
      await backend.remove('logged')
      await backend.launch(launchSpec('logged'))
      await gateway.app.request('/docker/logged/page?q=1', { method: 'POST', body: 'x' })
      const accessLines = lines.filter((l) => l.message === 'access')
      if (access)
        expect(accessLines).toEqual([
          {
            message: 'access',
            fields: {
              container: 'logged',
              method: 'POST',
              path: '/page',
              status: 200,
              ms: expect.any(Number),
              requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
            },
          },
        ])
      else expect(accessLines).toEqual([])
      await gateway.close()
    }
  })
})
