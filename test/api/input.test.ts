import { describe, expect, it } from 'vitest'
import { memory } from '../../src/backends/memory.js'
import type { ConfigInput } from '../../src/config/schema.js'
import { createGateway } from '../../src/gateway.js'
import { silentLogger } from '../../src/logger.js'
import { memoryStore, type ContainerStore } from '../../src/stores/store.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

type Json = Record<string, any>

const gateways = useMemoryGateways()

/** A gateway whose containers never listen (input delivery needs no upstream). */
function setup(config: ConfigInput = {}, options: { store?: ContainerStore } = {}) {
  return gateways.setup(config, { backend: memory(), ...options })
}

describe('input delivery', () => {
  it('puts the input in INPUT_JSON by default, with api_prefix when asked', async () => {
    const { launch, backend } = setup()
    await launch({ name: 'e1', input: { files: ['a'] }, inputApiPrefix: true })
    expect(JSON.parse(backend.specOf('e1')!.env.INPUT_JSON!)).toEqual({ files: ['a'], api_prefix: '/docker/e1/' })
  })

  it('refuses an input too large for an environment variable, naming the limit', async () => {
    const { launch } = setup({ input: { maxEnvBytes: 2048 } })
    const res = await launch({ name: 'big', input: 'x'.repeat(3000) })
    expect(res.status).toBe(400)
    expect(res.body.error.message).toMatch(/over the 2048-byte limit \(input.maxEnvBytes\)/)
  })

  it('writes the input as a file at inputPath', async () => {
    const { launch, backend } = setup()
    await launch({ name: 'f1', input: { a: 1 }, inputDelivery: 'file', inputPath: '/data/in.json' })
    const spec = backend.specOf('f1')!
    expect(spec.env.INPUT_JSON).toBeUndefined()
    expect(spec.files?.map((f) => [f.path, new TextDecoder().decode(f.content)])).toEqual([
      ['/data/in.json', '{"a":1}'],
    ])
    const readOnly = await launch({ name: 'f2', input: {}, inputDelivery: 'file', readOnlyRootfs: true })
    expect(readOnly.status).toBe(400)
  })

  it('serves the input at a per-container URL only with its token, until the container is removed', async () => {
    const { launch, backend, app } = setup({ input: { publicApiUrl: 'http://host.docker.internal:8000/api' } })
    await launch({ name: 'u1', input: { secret: 'data' }, inputDelivery: ['url', 'env'] })
    await launch({ name: 'u2', input: { other: true }, inputDelivery: 'url' })
    const url = new URL(backend.specOf('u1')!.env.INPUT_JSON_URL!)
    expect(url.origin + url.pathname).toBe('http://host.docker.internal:8000/api/containers/u1/input')
    const token = url.searchParams.get('token')!
    expect(token).toMatch(/^[0-9a-f]{64}$/)
    expect(new URL(backend.specOf('u2')!.env.INPUT_JSON_URL!).searchParams.get('token')).not.toBe(token)
    expect(backend.specOf('u1')!.env.INPUT_JSON).toBe('{"secret":"data"}')

    const ok = await app.request(`/api/containers/u1/input?token=${token}`)
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ secret: 'data' })
    expect((await app.request(`/api/containers/u1/input?token=${'0'.repeat(64)}`)).status).toBe(403)
    expect((await app.request('/api/containers/u1/input')).status).toBe(403)
    // Another container's token does not open this one.
    const otherToken = new URL(backend.specOf('u2')!.env.INPUT_JSON_URL!).searchParams.get('token')
    expect((await app.request(`/api/containers/u1/input?token=${otherToken}`)).status).toBe(403)

    await app.request('/api/containers/u1', { method: 'DELETE' })
    expect((await app.request(`/api/containers/u1/input?token=${token}`)).status).toBe(403)
  })

  it('answers every failed input request alike, from memory: names cannot be enumerated', async () => {
    const { launch, backend, app } = setup({ input: { publicApiUrl: 'http://host.docker.internal:8000/api' } })
    await launch({ name: 'with-url', input: { a: 1 }, inputDelivery: 'url' })
    await launch({ name: 'env-only', input: { a: 1 } })
    await launch({ name: 'no-input' })
    const before = { ...backend.calls }
    const answers = await Promise.all(
      ['with-url', 'env-only', 'no-input', 'never-existed', ...Array.from({ length: 50 }, (_, i) => `probe-${i}`)].map(
        async (name) => {
          const res = await app.request(`/api/containers/${name}/input?token=${'0'.repeat(64)}`)
          return `${res.status} ${await res.text()}`
        },
      ),
    )
    expect(new Set(answers).size).toBe(1)
    expect(answers[0]).toMatch(/^403 /)
    // 54 probes: no inspect, and one listing (the index's first load after start) at most.
    expect(backend.calls.inspect ?? 0).toBe(before.inspect ?? 0)
    expect((backend.calls.list ?? 0) - (before.list ?? 0)).toBeLessThanOrEqual(1)
    await app.request('/api/containers/probe-x/input?token=x')
    expect((backend.calls.list ?? 0) - (before.list ?? 0)).toBeLessThanOrEqual(1)
  })

  it('serves inputs of containers launched before a restart, read once from the store', async () => {
    const store = memoryStore(100)
    const config = { input: { publicApiUrl: 'http://host.docker.internal:8000/api' } }
    const first = setup(config, { store })
    await first.launch({ name: 'kept', input: { kept: true }, inputDelivery: 'url' })
    const token = new URL(first.backend.specOf('kept')!.env.INPUT_JSON_URL!).searchParams.get('token')
    const second = gateways.setup(config, { backend: first.backend, store })
    const res = await second.app.request(`/api/containers/kept/input?token=${token}`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ kept: true })
  })

  it('needs a public URL for url delivery', async () => {
    const { launch } = setup()
    const res = await launch({ name: 'nourl', input: {}, inputDelivery: 'url' })
    expect(res.status).toBe(400)
    expect(res.body.error.message).toContain('input.publicApiUrl')
  })
})

describe('launch progress', () => {
  it('tells waiting clients that the image is being pulled', async () => {
    const inner = memory()
    let finishPull!: () => void
    const pulled = new Promise<void>((resolve) => (finishPull = resolve))
    // A backend whose launch pulls (reports progress) and then waits for the test.
    const backend = {
      ...inner,
      async launch(spec: Parameters<typeof inner.launch>[0], options?: Parameters<typeof inner.launch>[1]) {
        options?.onProgress?.({ status: 'Downloading', id: 'abc', current: 5 * 1_048_576, total: 20 * 1_048_576 })
        await pulled
        return inner.launch(spec, options)
      },
    }
    const gateway = createGateway({ backend, logger: silentLogger, background: false })
    const launching = gateway.app.request('/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'big:1', name: 'slowpull' }),
    })
    await new Promise((r) => setTimeout(r, 20))
    const waiting = await gateway.app.request('/docker/slowpull/')
    expect(waiting.status).toBe(503)
    expect(((await waiting.json()) as Json).error.message).toBe(
      'Container not yet available: "slowpull" is being launched: pulling the image: Downloading 5.0 of 20.0 MB',
    )
    finishPull()
    expect((await launching).status).toBe(201)
  })
})
