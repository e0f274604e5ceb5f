import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { DEFAULT_LABEL_ROOT } from '../../src/backends/docker/index.js'
import { ECHO_IMAGE, STATIC_IMAGE, dockerCli, eventually, uniqueName } from '../helpers/docker.js'
import { startGateway, type Runtime } from '../helpers/gateway-process.js'
import { useAcceptanceGateway } from '../helpers/acceptance-gateway.js'
import { askFor, comparable, withoutInventedType, type AskOptions } from '../helpers/answers.js'

type Json = Record<string, any>

/**
 * End-to-end acceptance on a real Docker Engine: the gateway runs as its own process through
 * the CLI on `runtime`, reaching Docker through a relay that counts its calls.
 */
export function acceptanceSuite(runtime: Runtime): void {
  describe(`acceptance on ${runtime} with a real Docker Engine`, () => {
    const fixture = useAcceptanceGateway(runtime, (socketPath) => ({
      // The default engine bound: launches on a loaded engine (a full parallel run) can take seconds.
      docker: { socketPath },
      pleaseWait: { retryAfterSeconds: 1 },
    }))
    const { api, launch, launchOk, whenServing } = fixture

    it('launches a static site, serves its page, and passes the upstream 404 through', async () => {
      const name = uniqueName('static')
      const launched = await launchOk({ image: STATIC_IMAGE, name, labels: { 'hde.test': runtime } })
      expect(launched).toMatchObject({ name, url: `/docker/${name}/`, id: expect.stringMatching(/^[0-9a-f]{64}$/) })
      const page = await whenServing(name)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('Welcome to the hde static test page')
      const missing = await fetch(`${fixture.gw.url}/docker/${name}/bad-path`)
      expect(missing.status).toBe(404)
      await missing.body?.cancel()
      const shown = (await (await api(`/api/containers/${name}`)).json()) as Json
      expect(shown).toMatchObject({ name, image: STATIC_IMAGE, status: 'ready', port: 80 })
      expect(shown.labels['hde.test']).toBe(runtime)
      // Reached at its own address (reach "auto" on a local Linux engine): no port published at all.
      expect(await dockerCli('port', name)).toBe('')
    })

    it('answers the same on the fast path as on the general path, for a real container', async () => {
      const name = uniqueName('twins')
      await launchOk({ image: ECHO_IMAGE, name })
      await whenServing(name)
      // A second gateway on the same engine that never takes the fast path.
      const general = await startGateway(runtime, { listen: { fastPath: false } })
      try {
        const fastCount = async () =>
          Number(/^hde_proxy_fast_path_requests_total (\d+)$/m.exec(await (await api('/metrics')).text())?.[1] ?? 0)
        const before = await fastCount()
        const cases: [string, AskOptions][] = [
          [
            '/some/path%20x?q=1&r=%2F',
            { headers: { cookie: 'theme=dark; hde_access_other=x', 'x-forwarded-for': '203.0.113.7' } },
          ],
          ['/post', { method: 'POST', body: randomBytes(200_000) }],
          ['/head', { method: 'HEAD' }],
          ['/status/204', {}],
          ['/status/404', {}],
          ['/gzip', { headers: { 'accept-encoding': 'gzip' } }],
          ['/redirect?to=/login', {}],
          ['/redirect?to=/login&known=1', {}],
          ['/cookie', {}],
          ['/cookie?known=1', {}],
          ['/bytes?n=300000', {}],
          ['/sse?n=2&gapMs=50', {}],
        ]
        for (const [path, init] of cases) {
          const viaFast = await askFor(`${fixture.gw.url}/docker/${name}${path}`, init)
          const viaGeneral = withoutInventedType(viaFast, await askFor(`${general.url}/docker/${name}${path}`, init))
          expect(comparable(viaFast), path).toEqual(comparable(viaGeneral))
        }
        // Every one of those took the fast path on the first gateway.
        expect(await fastCount()).toBeGreaterThanOrEqual(before + cases.length)
      } finally {
        await general.stop()
      }
    })

    it('forwards every method with path, query and body to the container', async () => {
      const name = uniqueName('echo')
      await launchOk({ image: ECHO_IMAGE, name, input: { files: ['a.csv'], api_prefix: `/docker/${name}/` } })
      await whenServing(name)
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        const body = ['GET', 'HEAD'].includes(method) ? undefined : `body of ${method}`
        const res = await fetch(`${fixture.gw.url}/docker/${name}/some/path%20x?q=1&r=%2F`, { method, body })
        expect(res.status, method).toBe(200)
        if (method === 'HEAD') {
          expect(await res.text()).toBe('')
          continue
        }
        const seen = (await res.json()) as Json
        expect(seen.method).toBe(method)
        expect(seen.rawPath).toBe('/some/path%20x')
        expect(seen.query).toBe('?q=1&r=%2F')
        expect(seen.headers['x-forwarded-prefix']).toBe(`/docker/${name}`)
        expect(seen.bodyLength).toBe(body ? Buffer.byteLength(body) : 0)
        expect(JSON.parse(seen.inputJson)).toEqual({ files: ['a.csv'], api_prefix: `/docker/${name}/` })
      }
    })

    it('round-trips a 10 MB binary body byte for byte', async () => {
      const name = uniqueName('upload')
      await launchOk({ image: ECHO_IMAGE, name })
      await whenServing(name)
      const body = randomBytes(10 * 1024 * 1024)
      const res = await fetch(`${fixture.gw.url}/docker/${name}/raw/blob`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/octet-stream' },
      })
      expect(res.status).toBe(200)
      const back = Buffer.from(await res.arrayBuffer())
      expect(back.length).toBe(body.length)
      expect(back.equals(body)).toBe(true)
    })

    it('answers please-wait 503 for an unknown name: HTML to browsers, JSON to others', async () => {
      const name = uniqueName('nobody')
      // fetch() would overwrite Sec-Fetch-Mode; send the browser's navigation headers as they are.
      const page = await request(`${fixture.gw.url}/docker/${name}/`, {
        headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
      })
      expect(page.statusCode).toBe(503)
      expect(page.headers['retry-after']).toBe('1')
      expect(page.headers['cache-control']).toBe('no-store')
      expect(page.headers['content-type']).toContain('text/html')
      expect(await page.body.text()).toContain('Please wait')
      const json = await fetch(`${fixture.gw.url}/docker/${name}/data.json`)
      expect(json.status).toBe(503)
      expect(((await json.json()) as Json).error.message).toMatch(/^Container not yet available/)
    })

    it('answers 503 and reports starting for a container that never listens', async () => {
      const name = uniqueName('mute')
      await launchOk({ image: ECHO_IMAGE, name, env: { ECHO_MODE: 'never-listen' } })
      await eventually(
        async () => (await dockerCli('logs', name)).includes('mode=never-listen'),
        10_000,
        'container start',
      )
      const res = await fetch(`${fixture.gw.url}/docker/${name}/`)
      expect(res.status).toBe(503)
      expect(((await res.json()) as Json).error.message).toContain('not yet listening')
      expect(((await (await api(`/api/containers/${name}`)).json()) as Json).status).toBe('starting')
    })

    it('answers 502 with the exit code for a container that exited', async () => {
      const name = uniqueName('quitter')
      await launchOk({ image: ECHO_IMAGE, name, env: { ECHO_MODE: 'exit', EXIT_CODE: '3' } })
      const shown = await eventually(
        async () => {
          const json = (await (await api(`/api/containers/${name}`)).json()) as Json
          return json.status === 'exited' && json
        },
        15_000,
        'container exit',
      )
      expect(shown.exitCode).toBe(3)
      const res = await eventually(
        async () => {
          const r = await fetch(`${fixture.gw.url}/docker/${name}/`)
          return r.status === 502 && r
        },
        5_000,
        '502',
      )
      const body = (await res.json()) as Json
      expect(body.error.code).toBe('container_exited')
      expect(body.error.message).toContain('exited with code 3')
    })

    it('shows what the container printed, and follows its logs until the client leaves', async () => {
      const name = uniqueName('talker')
      await launchOk({ image: ECHO_IMAGE, name })
      await whenServing(name)
      await fetch(`${fixture.gw.url}/docker/${name}/first-marker`).then((r) => r.text())
      // Docker writes a container's output to its log asynchronously: wait for the marker line.
      const text = await eventually(
        async () => {
          const logs = await api(`/api/containers/${name}/logs?timestamps=1`)
          expect(logs.headers.get('content-type')).toBe('text/plain; charset=utf-8')
          const body = await logs.text()
          return body.includes('echo: GET /first-marker') && body
        },
        10_000,
        'the request to appear in the logs',
      )
      expect(text).toContain('echo listening on :80')
      expect(text).toContain('echo stderr: ready to work')
      expect(text).toContain('echo: GET /first-marker')
      expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\S+Z echo/m)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: Docker's stream frame headers start with these bytes
      expect(text).not.toMatch(/[\x00-\x08]/) // demultiplexed: no frame headers

      const tail = await (await api(`/api/containers/${name}/logs?tail=1`)).text()
      expect(tail.trim().split('\n')).toHaveLength(1)

      const controller = new AbortController()
      const follow = await api(`/api/containers/${name}/logs?follow=1`, { signal: controller.signal })
      const reader = follow.body!.getReader()
      await fetch(`${fixture.gw.url}/docker/${name}/live-marker`).then((r) => r.text())
      let streamed = ''
      const decoder = new TextDecoder()
      while (!streamed.includes('live-marker')) {
        const { value, done } = await reader.read()
        if (done) break
        streamed += decoder.decode(value)
      }
      expect(streamed).toContain('echo: GET /live-marker')
      controller.abort()
      expect((await api('/api/health')).status).toBe(200)
    })

    it('removes a container and its volumes', async () => {
      const name = uniqueName('volumes')
      await launchOk({ image: ECHO_IMAGE, name, extraDirectories: ['/data', '/refinery-data'] })
      const volumes = await dockerCli('volume', 'ls', '-q', '--filter', `label=${DEFAULT_LABEL_ROOT}.container=${name}`)
      expect(volumes.split('\n').filter(Boolean)).toHaveLength(2)
      const mounts = await dockerCli('inspect', '--format', '{{range .Mounts}}{{.Destination}} {{end}}', name)
      expect(mounts.split(' ').filter(Boolean).sort()).toEqual(['/data', '/refinery-data'])
      expect((await api(`/api/containers/${name}`, { method: 'DELETE' })).status).toBe(204)
      expect(await dockerCli('ps', '-aq', '--filter', `name=^/${name}$`)).toBe('')
      for (const volume of volumes.split('\n')) {
        await expect(dockerCli('volume', 'inspect', volume)).rejects.toThrow()
      }
      expect((await api(`/api/containers/${name}`)).status).toBe(404)
      expect((await api(`/api/containers/${name}`, { method: 'DELETE' })).status).toBe(404)
    })

    it('never lists, proxies, or removes a container it did not launch', async () => {
      const name = uniqueName('foreign')
      await dockerCli('run', '-d', '--name', name, '-p', '127.0.0.1::80', STATIC_IMAGE)
      const list = (await (await api('/api/containers')).json()) as Json
      expect(list.containers.map((c: Json) => c.name)).not.toContain(name)
      expect((await api(`/api/containers/${name}`)).status).toBe(404)
      expect((await api(`/api/containers/${name}`, { method: 'DELETE' })).status).toBe(404)
      expect((await fetch(`${fixture.gw.url}/docker/${name}/`)).status).toBe(503)
      expect(await dockerCli('inspect', '--format', '{{.State.Status}}', name)).toBe('running')
      // Its name is still taken, so a launch with it is a conflict, not a takeover.
      expect((await launch({ image: STATIC_IMAGE, name })).status).toBe(409)
    })

    it('answers 400 for bad specs, 409 for a duplicate name, and a clear error for an image it cannot pull', async () => {
      const bad = await launch({ image: STATIC_IMAGE, extraDirectories: ['/test', 'coffee'] })
      expect(bad.status).toBe(400)
      expect(((await bad.json()) as Json).error.message).toContain('"coffee" is not absolute')
      expect((await launch({ image: STATIC_IMAGE, name: 'bad/name' })).status).toBe(400)
      expect((await launch({ image: STATIC_IMAGE, colour: 'blue' })).status).toBe(400)

      const name = uniqueName('dup')
      await launchOk({ image: STATIC_IMAGE, name })
      const dup = await launch({ image: STATIC_IMAGE, name })
      expect(dup.status).toBe(409)
      expect(((await dup.json()) as Json).error.code).toBe('name_conflict')

      // A registry on a closed loopback port: the pull fails fast, nothing is left behind.
      const missingName = uniqueName('missing')
      const started = Date.now()
      const missing = await launch({ image: '127.0.0.1:9/hde-missing:1', name: missingName })
      expect(missing.status).toBe(422)
      const body = (await missing.json()) as Json
      expect(body.error).toMatchObject({ code: 'image_unavailable', reason: 'unreachable' })
      expect(body.error.message).toContain('127.0.0.1:9/hde-missing:1')
      expect(Date.now() - started).toBeLessThan(20_000)
      expect(await dockerCli('ps', '-aq', '--filter', `name=^/${missingName}$`)).toBe('')
    })
  })
}
