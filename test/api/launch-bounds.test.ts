import { describe, expect, it } from 'vitest'
import { mapDockerError } from '../../src/backends/docker/errors.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

const { setup } = useMemoryGateways()
type ErrorJson = { error: { code: string; message: string; issues?: { path: string; message: string }[] } }
const json = { 'content-type': 'application/json' }

/** `depth` arrays inside each other, as JSON text (built without recursion). */
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`

describe('launch bounds: what one request may ask of the engine', () => {
  it('caps extraDirectories (limits.extraDirectories, 16 by default) with a 400, creating nothing', async () => {
    const { launch, backend } = setup()
    const dirs = (n: number) => Array.from({ length: n }, (_, i) => `/data/${i}`)
    expect((await launch({ name: 'ok16', extraDirectories: dirs(16) })).status).toBe(201)
    const over = await launch({ name: 'over', extraDirectories: dirs(2_000) })
    expect(over.status).toBe(400)
    expect(over.body.error.message).toContain('limits.extraDirectories')
    expect(over.body.error.issues[0].path).toBe('extraDirectories')
    expect(backend.specOf('over')).toBeUndefined()
    const strict = setup({ limits: { extraDirectories: 2 } })
    expect((await strict.launch({ name: 'three', extraDirectories: dirs(3) })).status).toBe(400)
  })

  it('refuses volumes over the root or kernel interfaces, and memory no host has', async () => {
    const { launch, backend } = setup()
    for (const dir of ['/', '/proc', '/proc/self', '/sys', '/dev/shm', '//']) {
      const res = await launch({ name: 'sys', extraDirectories: [dir] })
      expect(res.status, dir).toBe(400)
      expect(res.body.error.issues[0].path).toBe('extraDirectories.0')
    }
    for (const field of ['memReservationMb', 'memLimitMb']) {
      const res = await launch({ name: 'mem', [field]: 1e15 })
      expect(res.status, field).toBe(400)
      expect(res.body.error.issues[0].path).toBe(field)
    }
    expect(backend.specOf('sys')).toBeUndefined()
    expect((await launch({ name: 'procfs-like', extraDirectories: ['/process', '/device'] })).status).toBe(201)
  })

  it('answers 400 for JSON nested deeper than 64 levels on every JSON body, never a 500', async () => {
    const { app } = setup()
    for (const [path, body] of [
      ['/api/containers', `{"image":"tool:1","name":"deep","input":${nested(100_000)}}`],
      ['/api/containers', `{"image":"tool:1","name":"deep","input":${nested(65)}}`],
      ['/api/purge', `{"inactiveSeconds":${nested(100_000)}}`],
      ['/api/images/pull', `{"image":${nested(5_000)}}`],
    ] as const) {
      const res = await app.request(path, { method: 'POST', headers: json, body })
      expect(res.status, `${path} ${body.length}`).toBe(400)
      expect(((await res.json()) as ErrorJson).error.message).toContain('64 levels')
    }
    expect(
      (
        await app.request('/api/containers', {
          method: 'POST',
          headers: json,
          body: `{"image":"tool:1","name":"deep-ok","input":${nested(60)}}`,
        })
      ).status,
    ).toBe(201)
  })

  it("never passes the engine's own words (host paths, parser errors) to the client", () => {
    const engine = (statusCode: number, message: string) =>
      Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: { message } })
    const mount =
      "error while mounting volume '/var/lib/docker/volumes/abc/_data': /var/lib/docker/overlay2/f00/merged/proc: operation not permitted"
    const unmarshal =
      'json: cannot unmarshal number 1.048576e+21 into Go struct field Resources.HostConfig.Memory of type int64'
    for (const err of [engine(500, mount), engine(400, unmarshal)]) {
      const mapped = mapDockerError(err, 1000)
      expect(mapped.message).not.toMatch(/var\/lib|overlay2|unmarshal|Go struct/)
      expect(mapped.message).toContain('operator log')
      expect(mapped.cause).toBe(err)
    }
  })
})
