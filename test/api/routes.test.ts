import { describe, expect, it } from 'vitest'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

const gateways = useMemoryGateways()

function setup() {
  const { backend, gateway } = gateways.setup()
  const post = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    gateway.app.request('/api/containers', {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
  return { backend, app: gateway.app, post }
}

type ErrorJson = { error: { code: string; message: string; issues?: { path: string; message: string }[] } }

describe('POST /api/containers', () => {
  it('launches with defaults applied and answers 201 with the proxied URL', async () => {
    const { post, backend } = setup()
    const res = await post({
      image: 'refinery/igv',
      name: 'igv-1',
      input: { files: ['a.bam'] },
      labels: { owner: 'ann' },
      env: { MODE: 'x' },
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('location')).toBe('/api/containers/igv-1')
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toEqual({
      name: 'igv-1',
      id: expect.any(String),
      url: '/docker/igv-1/',
      status: expect.stringMatching(/^(starting|ready)$/),
    })
    expect(backend.specOf('igv-1')).toEqual({
      name: 'igv-1',
      image: 'refinery/igv:latest',
      port: 80,
      env: { MODE: 'x', INPUT_JSON: '{"files":["a.bam"]}', PUBLIC_PREFIX: '/docker/igv-1/' },
      labels: { owner: 'ann' },
      cpus: 0.5,
      memReservationMb: 0,
      extraDirectories: [],
      pidsLimit: 512,
      pull: 'missing',
      access: 'public',
    })
  })

  it('keeps explicit tags, digests and registry ports', async () => {
    const { post, backend } = setup()
    for (const [image, expected] of [
      ['nginx:1.25', 'nginx:1.25'],
      ['127.0.0.1:5000/tool', '127.0.0.1:5000/tool:latest'],
      ['127.0.0.1:5000/tool:2', '127.0.0.1:5000/tool:2'],
      [`tool@sha256:${'a'.repeat(64)}`, `tool@sha256:${'a'.repeat(64)}`],
    ] as const) {
      const res = await post({ image })
      expect(res.status).toBe(201)
      const { name } = (await res.json()) as { name: string }
      expect(backend.specOf(name)?.image).toBe(expected)
    }
  })

  it('generates an unguessable valid name when none is given', async () => {
    const { post } = setup()
    const a = (await (await post({ image: 'x' })).json()) as { name: string }
    const b = (await (await post({ image: 'x' })).json()) as { name: string }
    expect(a.name).toMatch(/^c-[0-9a-f]{16}$/)
    expect(a.name).not.toBe(b.name)
  })

  it('passes cpus, memory and directories through', async () => {
    const { post, backend } = setup()
    await post({
      image: 'x:1',
      name: 'limits',
      cpus: 0.01,
      memReservationMb: 15,
      memLimitMb: 64,
      port: 8080,
      cmd: ['run', '--fast'],
      extraDirectories: ['/data', '/refinery-data'],
    })
    expect(backend.specOf('limits')).toMatchObject({
      cpus: 0.01,
      memReservationMb: 15,
      memLimitMb: 64,
      port: 8080,
      cmd: ['run', '--fast'],
      extraDirectories: ['/data', '/refinery-data'],
    })
  })

  it('answers 400 naming each bad field', async () => {
    const { post } = setup()
    const cases: [unknown, string, RegExp][] = [
      [{}, 'image', /image/],
      [{ image: 'x', extraDirectories: ['/test', 'coffee'] }, 'extraDirectories.1', /"coffee" is not absolute/],
      [{ image: 'x', name: '../etc' }, 'name', /letters, digits/],
      [{ image: 'x', name: 'a'.repeat(64) }, 'name', /1–63/],
      [{ image: 'x', imagee: 'typo' }, 'imagee', /imagee: unknown key \(check the spelling\)/],
      [{ image: 'x', port: 70000 }, 'port', /port/],
      [{ image: 'x', cpus: 'half' }, 'cpus', /cpus/],
      [{ image: 'x', env: { 'BAD-NAME': '1' } }, 'env.BAD-NAME', /environment variable names/],
      [{ image: 'x', labels: { a: 1 } }, 'labels.a', /labels/],
      [{ image: 'x', memReservationMb: 100, memLimitMb: 50 }, 'memReservationMb', /memLimitMb/],
      [{ image: 'x', memLimitMb: 2 }, 'memLimitMb', /memLimitMb: must be at least 6, not 2/],
      [{ image: 'has space' }, 'image', /whitespace/],
    ]
    for (const [body, path, message] of cases) {
      const res = await post(body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      const json = (await res.json()) as ErrorJson
      expect(json.error.code).toBe('invalid_request')
      expect(
        json.error.issues?.map((i) => i.path),
        JSON.stringify(body),
      ).toContain(path)
      expect(json.error.message).toMatch(message)
      // The validator's generic wording ("Expected never but received …") never reaches a client.
      expect(json.error.message).not.toMatch(/Expected (never|!0|[<>]=)/)
      expect(JSON.stringify(json)).not.toMatch(/at .*\.ts:\d+/)
    }
  })

  it('answers 400 for invalid JSON, 415 for a non-JSON body, 413 for an oversized one', async () => {
    const { post } = setup()
    const invalid = await post('{"image": ')
    expect(invalid.status).toBe(400)
    expect(((await invalid.json()) as ErrorJson).error.code).toBe('invalid_json')
    const text = await post('image=x', { 'content-type': 'application/x-www-form-urlencoded' })
    expect(text.status).toBe(415)
    const big = await post({ image: 'x', input: 'y'.repeat(2 * 1024 * 1024) })
    expect(big.status).toBe(413)
    expect(((await big.json()) as ErrorJson).error.code).toBe('body_too_large')
  })

  it('answers 409 when the name is taken', async () => {
    const { post } = setup()
    expect((await post({ image: 'x', name: 'dup' })).status).toBe(201)
    const res = await post({ image: 'x', name: 'dup' })
    expect(res.status).toBe(409)
    expect(((await res.json()) as ErrorJson).error.code).toBe('name_conflict')
  })
})

describe('reading and removing containers', () => {
  it('lists, shows, and removes', async () => {
    const { post, app } = setup()
    await post({ image: 'a:1', name: 'one', labels: { k: 'v' } })
    await post({ image: 'b:1', name: 'two' })
    const list = (await (await app.request('/api/containers')).json()) as {
      containers: { name: string; url: string; status: string; labels: Record<string, string> }[]
    }
    expect(list.containers.map((c) => c.name).sort()).toEqual(['one', 'two'])
    const one = list.containers.find((c) => c.name === 'one')!
    expect(one.url).toBe('/docker/one/')
    expect(one.labels).toEqual({ k: 'v' })
    const shown = (await (await app.request('/api/containers/one')).json()) as Record<string, unknown>
    expect(shown).toMatchObject({ name: 'one', image: 'a:1', url: '/docker/one/', port: 80 })
    expect(typeof shown.createdAt).toBe('string')
    expect((await app.request('/api/containers/one', { method: 'DELETE' })).status).toBe(204)
    expect((await app.request('/api/containers/one')).status).toBe(404)
    expect((await app.request('/api/containers/one', { method: 'DELETE' })).status).toBe(404)
    // A removed container is no longer proxied.
    expect((await app.request('/docker/one/')).status).toBe(503)
  })

  it('stops a running container and wakes it again, as the dashboard does, refusing what does not apply', async () => {
    const { post, app } = setup()
    await post({ image: 'a:1', name: 'tool' })
    const action = (verb: string, name = 'tool') => app.request(`/api/containers/${name}/${verb}`, { method: 'POST' })
    const code = async (res: Response) => ((await res.json()) as ErrorJson).error.code

    const woken = await action('wake')
    expect(woken.status).toBe(409)
    expect(await code(woken)).toBe('not_stopped')
    const stopped = await action('stop')
    expect(stopped.status).toBe(200)
    expect(await stopped.json()).toEqual({ name: 'tool', status: 'stopped' })
    expect(((await (await app.request('/api/containers/tool')).json()) as { status: string }).status).toBe('stopped')
    const again = await action('stop')
    expect(again.status).toBe(409)
    expect(await code(again)).toBe('not_running')
    const started = await action('wake')
    expect(started.status).toBe(202)
    expect(await started.json()).toEqual({ name: 'tool', status: 'starting' })
    expect(['starting', 'ready']).toContain(
      ((await (await app.request('/api/containers/tool')).json()) as { status: string }).status,
    )
    expect((await action('stop', 'missing')).status).toBe(404)
    expect((await action('wake', 'missing')).status).toBe(404)
    expect((await action('stop', '-bad')).status).toBe(400)
  })

  it('reports starting, then ready once the port answers', async () => {
    const { post, app } = setup()
    await post({ image: 'a:1', name: 'probe' })
    let status = ''
    for (let i = 0; i < 50 && status !== 'ready'; i++) {
      status = ((await (await app.request('/api/containers/probe')).json()) as { status: string }).status
      if (status !== 'ready') await new Promise((r) => setTimeout(r, 20))
    }
    expect(status).toBe('ready')
  })

  it('reports exited with the exit code', async () => {
    const { post, app, backend } = setup()
    await post({ image: 'a:1', name: 'ex' })
    backend.setState('ex', 'exited', 2)
    expect(await (await app.request('/api/containers/ex')).json()).toMatchObject({ status: 'exited', exitCode: 2 })
  })

  it('serves logs as text/plain with tail, and validates the query', async () => {
    const { post, app, backend } = setup()
    await post({ image: 'a:1', name: 'talker' })
    backend.writeLog('talker', 'line 1\nline 2\nline 3\n')
    const all = await app.request('/api/containers/talker/logs')
    expect(all.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await all.text()).toBe('launched a:1\nline 1\nline 2\nline 3\n')
    expect(await (await app.request('/api/containers/talker/logs?tail=2')).text()).toBe('line 2\nline 3\n')
    expect((await app.request('/api/containers/talker/logs?tail=-1')).status).toBe(400)
    expect((await app.request('/api/containers/talker/logs?follow=maybe')).status).toBe(400)
    expect((await app.request('/api/containers/nobody/logs')).status).toBe(404)
  })

  it('rejects invalid names in API paths with 400', async () => {
    const { app } = setup()
    expect((await app.request('/api/containers/.hidden')).status).toBe(400)
  })
})

describe('health and unknown routes', () => {
  it('reports the backend, 503 when it is unreachable', async () => {
    const { app, backend } = setup()
    expect(await (await app.request('/api/health')).json()).toEqual({
      ok: true,
      backend: { name: 'memory', reachable: true, version: 'memory', liveRestore: false },
    })
    backend.setUnavailable(true)
    const res = await app.request('/api/health')
    expect(res.status).toBe(503)
    expect(await res.json()).toMatchObject({ ok: false, backend: { reachable: false } })
  })

  it('answers JSON 404 for unknown API routes', async () => {
    const { app } = setup()
    const res = await app.request('/api/nope')
    expect(res.status).toBe(404)
    expect(((await res.json()) as ErrorJson).error.code).toBe('not_found')
  })

  it('answers JSON 404 pointing at the API and the proxy for any other path', async () => {
    const { app } = setup()
    for (const path of ['/', '/nothing', '/docker', '/docker/']) {
      const res = await app.request(path)
      expect(res.status, path).toBe(404)
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/)
      const { error } = (await res.json()) as ErrorJson
      expect(error.code, path).toBe('not_found')
      expect(error.message, path).toBe(`No route GET ${path}: the API is under /api/, containers under /docker/<name>/`)
    }
  })
})
