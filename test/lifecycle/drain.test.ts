import { describe, expect, it } from 'vitest'
import { FrameEnds } from '../../src/adapter/node/websocket.js'
import { docker } from '../../src/backends/docker/index.js'
import { memory } from '../../src/backends/memory.js'
import { ConfigError } from '../../src/errors.js'
import { createGateway } from '../../src/gateway.js'
import { Drain, GOING_AWAY } from '../../src/lifecycle/drain.js'
import { silentLogger } from '../../src/logger.js'

describe('Drain', () => {
  it('settles as soon as the last exchange ends, and closes nothing', async () => {
    const drain = new Drain()
    const closed: number[] = []
    const end = drain.begin()
    const endSocket = drain.begin((code) => closed.push(code))
    expect(drain.inFlight).toBe(2)
    const settled = drain.settle(60_000)
    expect(drain.draining).toBe(true)
    end()
    end() // once only
    expect(drain.inFlight).toBe(1)
    endSocket()
    expect(await settled).toEqual({ finished: true, cut: 0 })
    expect(closed).toEqual([])
  })

  it('closes what is still open when the grace period ends', async () => {
    const drain = new Drain()
    const closed: [number, string][] = []
    drain.begin((code, reason) => closed.push([code, reason]))
    drain.begin()
    expect(await drain.settle(20)).toEqual({ finished: false, cut: 2 })
    expect(closed).toEqual([[GOING_AWAY.code, GOING_AWAY.reason]])
  })

  it('settles at once when idle', async () => {
    expect(await new Drain().settle(60_000)).toEqual({ finished: true, cut: 0 })
  })
})

describe('FrameEnds', () => {
  /** An unmasked frame of `size` payload bytes, with the header form its size needs. */
  const frame = (size: number) => {
    const header =
      size < 126
        ? [0x82, size]
        : size < 65536
          ? [0x82, 126, size >> 8, size & 0xff]
          : [0x82, 127, 0, 0, 0, 0, (size >>> 24) & 0xff, (size >> 16) & 0xff, (size >> 8) & 0xff, size & 0xff]
    return Buffer.concat([Buffer.from(header), Buffer.alloc(size, 7)])
  }

  it('knows where frames end, whatever the chunks', () => {
    const stream = Buffer.concat([frame(5), frame(300), frame(70_000), frame(0)])
    for (const size of [1, 3, 7, 1000, stream.length]) {
      const frames = new FrameEnds()
      const ends: number[] = []
      for (let at = 0; at < stream.length; at += size) {
        const chunk = stream.subarray(at, at + size)
        let offset = 0
        while (offset < chunk.length) {
          const end = frames.feed(chunk.subarray(offset), true)
          if (end === -1) break
          offset += end
          ends.push(at + offset)
        }
      }
      expect(ends, `chunks of ${size}`).toEqual([7, 7 + 304, 7 + 304 + 70_010, 7 + 304 + 70_010 + 2])
      expect(frames.between).toBe(true)
    }
  })

  it('is between frames only at their ends', () => {
    const frames = new FrameEnds()
    const whole = frame(300)
    frames.feed(whole.subarray(0, 3))
    expect(frames.between).toBe(false)
    frames.feed(whole.subarray(3, 200))
    expect(frames.between).toBe(false)
    frames.feed(whole.subarray(200))
    expect(frames.between).toBe(true)
  })
})

describe('health probes', () => {
  const gateway = () =>
    createGateway({ backend: memory({ upstreams: () => 'http://127.0.0.1:9' }), logger: silentLogger })

  it('answer any Host, without credentials, and say only their state', async () => {
    const g = createGateway({
      backend: memory({ upstreams: () => 'http://127.0.0.1:9' }),
      logger: silentLogger,
      config: { auth: { tokens: ['a-token-of-sixteen-chars'] }, listen: { allowedHosts: ['gw.example'] } },
    })
    const headers = { host: '10.1.2.3:8000' }
    // The same Host is refused elsewhere (DNS rebinding defence), and the API wants a token.
    expect((await g.app.request('/api/containers', { headers })).status).toBe(421)
    const live = await g.app.request('/api/health/live', { headers })
    expect(live.status).toBe(200)
    expect(await live.json()).toEqual({ status: 'live' })
    const ready = await g.app.request('/api/health/ready', { headers })
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready' })
    expect((await g.api.request('/api/health/ready', { headers })).status).toBe(200)
  })

  it('readiness turns 503 draining when shutdown begins; liveness stays', async () => {
    const g = gateway()
    g.drain.start()
    const ready = await g.app.request('/api/health/ready')
    expect(ready.status).toBe(503)
    expect(await ready.json()).toEqual({ status: 'draining' })
    expect((await g.app.request('/api/health/live')).status).toBe(200)
  })

  it('readiness is 503 engine_unreachable when the engine does not answer, without its words', async () => {
    const backend = memory({ upstreams: () => 'http://127.0.0.1:9' })
    backend.ping = () => Promise.reject(new Error('connect ENOENT /secret/path/docker.sock'))
    const g = createGateway({ backend, logger: silentLogger })
    const ready = await g.app.request('/api/health/ready')
    expect(ready.status).toBe(503)
    expect(await ready.text()).toBe('{"status":"engine_unreachable"}')
  })
})

describe('an embedded gateway and its backend', () => {
  it("adopts the backend's label root when the configuration sets none", () => {
    const g = createGateway({ backend: docker({ labelRoot: 'org.example.tools' }), logger: silentLogger })
    expect(g.config.labelRoot).toBe('org.example.tools')
  })

  it('refuses a label root the backend does not manage, naming the key', () => {
    expect(() =>
      createGateway({ backend: docker(), config: { labelRoot: 'org.example.tools' }, logger: silentLogger }),
    ).toThrow(ConfigError)
    expect(() =>
      createGateway({ backend: docker(), config: { labelRoot: 'org.example.tools' }, logger: silentLogger }),
    ).toThrow(/^labelRoot: /)
  })

  it('refuses the keys that build a backend, naming the first, instead of ignoring them', () => {
    for (const [config, key] of [
      [{ docker: { socketPath: '/elsewhere.sock' } }, 'docker.socketPath'],
      [{ swarm: { network: 'other' } }, 'swarm.network'],
      [{ backend: 'swarm' }, 'backend'],
    ] as const) {
      expect(() => createGateway({ backend: docker(), config, logger: silentLogger }), key).toThrow(
        new RegExp(`^${key.replace('.', '\\.')}: the gateway was given its backend`),
      )
    }
  })
})
