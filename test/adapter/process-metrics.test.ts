import { afterAll, describe, expect, it } from 'vitest'
import { RUNTIMES, startGateway, type GatewayProcess } from '../helpers/gateway-process.js'

/** The value of one sample line, e.g. `process_open_fds`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('process and runtime metrics of a served gateway', () => {
  const gateways: GatewayProcess[] = []
  afterAll(async () => {
    await Promise.all(gateways.map((gw) => gw.stop()))
  })

  for (const runtime of RUNTIMES) {
    it(`on ${runtime}: CPU, memory, descriptors, heap and event-loop lag beside the hde_* series`, async () => {
      // No engine is needed to report on the process itself.
      const gw = await startGateway(runtime, {
        docker: { socketPath: '/nonexistent/docker.sock' },
        dashboard: { enabled: false },
      })
      gateways.push(gw)
      const res = await fetch(`${gw.url}/metrics`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
      const text = await res.text()
      expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024)
      expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0)
      expect(sample(text, 'process_open_fds')).toBeGreaterThan(2)
      expect(sample(text, 'process_start_time_seconds')).toBeGreaterThan(Date.now() / 1000 - 600)
      expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0)
      expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0)
      expect(text).toMatch(/^nodejs_version_info\{version="v?\d+\.\d+\.\d+"/m)
      // The gateway's own families keep their names and types.
      for (const family of [
        'hde_proxied_requests_total counter',
        'hde_proxy_response_seconds histogram',
        'hde_open_websockets gauge',
        'hde_containers gauge',
        'hde_store_up gauge',
        'hde_leader gauge',
      ])
        expect(text).toContain(`# TYPE ${family}`)
      expect(sample(text, 'hde_leader')).toBe(1)
    })
  }
})
