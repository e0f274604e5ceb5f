import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import { Readable } from 'node:stream'
import { request } from 'undici'
import WebSocket from 'ws'
import { ECHO_IMAGE, dockerCli, eventually, removeRunContainers, uniqueName } from '../helpers/docker.js'
import { peakRss, resetPeakRss, startGateway, type GatewayProcess, type Runtime } from '../helpers/gateway-process.js'
import { nextMessage, openFds, openSocket, rawExchange } from '../helpers/sockets.js'
import { launchServing } from '../helpers/acceptance-gateway.js'

type Json = Record<string, any>

/** A WebSocket handshake that the server refuses: its status, headers and body (rejects if it is accepted). */
function refusedHandshake(
  url: string,
  host?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, host ? { headers: { host } } : {})
    ws.once('open', () => {
      ws.terminate()
      reject(new Error(`${url}: the handshake was accepted`))
    })
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
        ws.terminate()
      })
    })
    ws.once('error', reject)
  })
}

/**
 * The complete proxy on a real container: WebSockets, streams past the runtimes' idle
 * timeouts, compression, hostname routing, redirects, cookies, timeouts and aborts.
 */
export function streamingSuite(runtime: Runtime): void {
  describe(`the complete proxy on ${runtime} with a real Docker Engine`, () => {
    let gw: GatewayProcess
    let name: string
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

    beforeAll(async () => {
      gw = await startGateway(
        runtime,
        {
          listen: { idleTimeoutSeconds: 2 },
          hostSuffix: '.docker.localhost',
          cookies: { strip: ['sessionid'] },
          upstream: { headersTimeoutMs: 1_500 },
        },
        // Bun's fetch cuts connections silent for this many seconds unless told otherwise (default 300).
        { BUN_CONFIG_HTTP_IDLE_TIMEOUT: '1' },
      )
      name = uniqueName('stream')
      await launchServing(gw.url, { image: ECHO_IMAGE, name })
    })
    afterAll(async () => {
      await gw?.stop()
      await removeRunContainers()
    })
    const wsUrl = (path: string) => `${gw.url.replace(/^http/, 'ws')}/docker/${name}${path}`

    it('relays WebSocket text and binary frames, the chosen subprotocol, and close codes both ways', async () => {
      const ws = await openSocket(wsUrl('/socket?room=1'), ['chat.v2', 'chat.v1'])
      expect(ws.protocol).toBe('chat.v2')
      ws.send('hello through the gateway')
      const text = await nextMessage(ws)
      expect(text.isBinary).toBe(false)
      expect(text.data.toString()).toBe('hello through the gateway')
      const binary = Buffer.from([0, 1, 2, 253, 254, 255])
      ws.send(binary)
      const back = await nextMessage(ws)
      expect(back.isBinary).toBe(true)
      expect(Buffer.compare(back.data, binary)).toBe(0)
      // The container closes with a code and reason: the client sees exactly those.
      const closed = new Promise<[number, string]>((resolve) =>
        ws.once('close', (code, reason) => resolve([code, reason.toString()])),
      )
      ws.send('close:4001:container says bye')
      expect(await closed).toEqual([4001, 'container says bye'])

      // The client closes with a code: the container sees it (and answers the close).
      const second = await openSocket(wsUrl('/socket'))
      const closing = new Promise<number>((resolve) => second.once('close', (code) => resolve(code)))
      second.close(4002, 'client says bye')
      expect(await closing).toBe(4002)
      // Docker writes container output to its log asynchronously.
      await eventually(
        async () => (await dockerCli('logs', name)).includes('echo: websocket /socket?room=1 protocol=chat.v2'),
        10_000,
        'the socket in the logs',
      )
    })

    it("passes a container's refusal of a WebSocket handshake on as it is, by path and by host name", async () => {
      const port = new URL(gw.url).port
      for (const [url, host] of [
        [wsUrl(''), undefined],
        [`ws://127.0.0.1:${port}`, `${name}.docker.localhost:${port}`],
      ] as const) {
        for (const status of [403, 401, 404]) {
          const refused = await refusedHandshake(`${url}/ws-status/${status}`, host)
          expect(refused.status, `${url} ${status}`).toBe(status)
          expect(refused.body, `${url} ${status}`).toBe(`refused with ${status}`)
          expect(refused.headers['x-refused-by'], `${url} ${status}`).toBe('echo')
          expect(refused.headers['retry-after'], `${url} ${status}`).toBeUndefined()
          if (status === 401) expect(refused.headers['www-authenticate']).toBe('Basic realm="echo"')
        }
      }
      // Said in the log, once per refusal; the container was not woken or restarted for it.
      await eventually(
        async () => gw.output().split('the container refused a WebSocket handshake').length - 1 >= 6,
        10_000,
        'the refusals in the log',
      )
      expect((await fetch(`${gw.url}/api/containers/${name}`).then((r) => r.json())) as Json).toMatchObject({
        status: 'ready',
      })
    })

    it('never loses WebSocket messages to a client that stops reading: all arrive in order, or the socket closes', async () => {
      const ws = await openSocket(wsUrl('/flood'))
      const received: number[] = []
      let closed = false
      ws.on('message', (data: Buffer) => received.push(Number(data.toString().split(':', 1)[0])))
      ws.once('close', () => (closed = true))
      // Stop reading, let the container send 40 MB, then read again.
      const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket
      socket.pause()
      ws.send('flood:640:65536')
      await sleep(3_000)
      socket.resume()
      await eventually(
        async () => closed || received.length === 640,
        30_000,
        'the flood to arrive or the socket to close',
      )
      // Whatever arrived is a gap-free prefix: nothing was dropped while the socket stayed open.
      expect(received).toEqual(received.map((_, i) => i))
      if (!closed) ws.close()
    }, 60_000)

    it('keeps a quiet WebSocket open past the idle timeout', async () => {
      const ws = await openSocket(wsUrl('/quiet'))
      let closed = false
      ws.once('close', () => (closed = true))
      await sleep(3_500) // idleTimeoutSeconds is 2 in this gateway
      expect(closed).toBe(false)
      ws.send('still here')
      expect((await nextMessage(ws)).data.toString()).toBe('still here')
      ws.close()
    })

    it('streams server-sent events as they are written, and a quiet stream outlives the idle timeout', async () => {
      const started = Date.now()
      const res = await fetch(`${gw.url}/docker/${name}/sse?n=3&gapMs=1000`)
      const reader = res.body!.getReader()
      const first = new TextDecoder().decode((await reader.read()).value)
      expect(first).toContain('data: event 1')
      expect(Date.now() - started).toBeLessThan(2_500) // the upstream ends only after ~3 s
      await reader.cancel()

      const quiet = await fetch(`${gw.url}/docker/${name}/sse?n=1&delayMs=3500&gapMs=1`)
      expect(await quiet.text()).toContain('data: event 1')
    })

    it('passes a gzip body through byte for byte', async () => {
      const proxied = await request(`${gw.url}/docker/${name}/gzip`, { headers: { 'accept-encoding': 'gzip' } })
      // What the container sends: gzip of this text, by the same node binary (the echo image carries this machine's).
      const sent = gzipSync(Buffer.from('hello compressed world '.repeat(500)))
      expect(proxied.headers['content-encoding']).toBe('gzip')
      const a = Buffer.from(await proxied.body.arrayBuffer())
      expect(proxied.headers['content-length']).toBe(String(sent.length))
      expect(a.equals(sent)).toBe(true)
    })

    it('routes <name>.docker.localhost to the container at its root', async () => {
      const res = await request(`${gw.url}/assets/app.js?v=2`, { headers: { host: `${name}.docker.localhost` } })
      expect(res.statusCode).toBe(200)
      const seen = (await res.body.json()) as Json
      expect(seen.rawPath).toBe('/assets/app.js')
      expect(seen.query).toBe('?v=2')
      expect(seen.headers['x-forwarded-host']).toBe(`${name}.docker.localhost`)
      // Even /api/… on such a host belongs to the container.
      const api = await request(`${gw.url}/api/containers`, { headers: { host: `${name}.docker.localhost` } })
      expect(((await api.body.json()) as Json).rawPath).toBe('/api/containers')
    })

    it("passes the client's Host, and for stripPrefix: false the full path, on every proxy path and WebSockets", async () => {
      const kept = uniqueName('kept')
      await launchServing(gw.url, { image: ECHO_IMAGE, name: kept, stripPrefix: false })
      const host = new URL(gw.url).host
      const seenAt = async (
        path: string,
        init: { method?: string; headers?: Record<string, string>; body?: string } = {},
      ) => {
        const res = await request(`${gw.url}${path}`, init)
        expect(res.statusCode, path).toBe(200)
        return (await res.body.json()) as Json
      }
      // A plain GET (the Node fast path), a target only the general path takes, an upload, and another Host.
      for (const [path, init, expectedPath] of [
        [`/docker/${name}/plain`, {}, '/plain'],
        [`/docker/${name}/general?q=[1]`, {}, '/general'],
        [`/docker/${name}/upload`, { method: 'POST', body: 'x' }, '/upload'],
        [`/docker/${kept}/plain?x=1`, {}, `/docker/${kept}/plain`],
        [`/docker/${kept}/general?q=[1]`, {}, `/docker/${kept}/general`],
      ] as const) {
        const seen = await seenAt(path, init)
        expect(seen.headers.host, path).toBe(host)
        expect(seen.rawPath, path).toBe(expectedPath)
      }
      const onHost = await seenAt('/tree', { headers: { host: `${kept}.docker.localhost:8000` } })
      expect(onHost.headers.host).toBe(`${kept}.docker.localhost:8000`)
      expect(onHost.rawPath).toBe('/tree')
      for (const [target, expectedUrl] of [
        [name, '/socket?a=1'],
        [kept, `/docker/${kept}/socket?a=1`],
      ] as const) {
        const ws = await openSocket(`${gw.url.replace(/^http/, 'ws')}/docker/${target}/socket?a=1`)
        ws.send('handshake')
        const handshake = JSON.parse((await nextMessage(ws)).data.toString()) as Json
        ws.close()
        expect(handshake.url).toBe(expectedUrl)
        expect(handshake.headers.host).toBe(host)
      }
    })

    // Each answer both ways: of known length (a small one is handed back with its headers rewritten
    // in place where the runtime allows) and chunked (relayed as a stream).
    it('rewrites redirects that point at the container into its prefix', async () => {
      for (const known of ['', '&known=1']) {
        const redirect = (to: string) =>
          request(`${gw.url}/docker/${name}/redirect?to=${encodeURIComponent(to)}${known}`).then(async (r) => {
            await r.body.dump()
            return r.headers.location
          })
        expect(await redirect('/login?next=/')).toBe(`/docker/${name}/login?next=/`)
        expect(await redirect('http://{host}/absolute/path')).toBe(`/docker/${name}/absolute/path`)
        expect(await redirect('relative/page')).toBe('relative/page')
        expect(await redirect('https://elsewhere.example/')).toBe('https://elsewhere.example/')
        expect(await redirect(`/docker/${name}/already`)).toBe(`/docker/${name}/already`)
      }
    })

    it('scopes container cookies to its prefix and keeps the parent session cookie from it', async () => {
      for (const path of ['/cookie', '/cookie?known=1']) {
        const res = await request(`${gw.url}/docker/${name}${path}`, {
          headers: { cookie: 'sessionid=parent-secret; theme=dark' },
        })
        const cookies = res.headers['set-cookie'] as string[]
        expect(cookies, path).toEqual([
          `sid=abc; Path=/docker/${name}/; HttpOnly`,
          `pref=1; Path=/docker/${name}/settings`,
        ])
        expect(await res.body.text()).toBe('cookie seen: theme=dark')
      }
    })

    it("keeps a response open while it is quiet for longer than the HTTP client's own idle timer", {
      timeout: 30_000,
    }, async () => {
      // Bun's fetch is told to give up on silent connections after 1 s here (it checks every few
      // seconds); the gateway must turn that timer off for the exchange.
      const quiet = await fetch(`${gw.url}/docker/${name}/sse?n=1&delayMs=10000&gapMs=1`)
      expect(quiet.status).toBe(200)
      expect(await quiet.text()).toContain('data: event 1')
    })

    it('counts the headers timeout from when an upload has been sent: a slow upload passes, silence after it is a 504', {
      timeout: 30_000,
    }, async () => {
      // 3 s of upload against a 1.5 s headers timeout.
      const slowBody = async function* () {
        for (let i = 0; i < 6; i++) {
          await sleep(500)
          yield Buffer.from(`part ${i};`)
        }
      }
      const uploaded = await request(`${gw.url}/docker/${name}/upload`, {
        method: 'POST',
        body: Readable.from(slowBody()),
      })
      expect(uploaded.statusCode).toBe(200)
      expect(((await uploaded.body.json()) as Json).bodyLength).toBe(42)

      const started = Date.now()
      const silent = await request(`${gw.url}/docker/${name}/hang`, { method: 'POST', body: 'a small upload' })
      expect(silent.statusCode).toBe(504)
      expect(((await silent.body.json()) as Json).error.code).toBe('upstream_timeout')
      // Node's timer is exact; Bun's fetch checks its idle timer every few seconds.
      expect(Date.now() - started).toBeLessThan(runtime === 'bun' ? 12_000 : 5_000)
    })

    it('answers 504 when the container does not answer in time', async () => {
      const started = Date.now()
      const res = await fetch(`${gw.url}/docker/${name}/hang`)
      expect(res.status).toBe(504)
      expect(((await res.json()) as Json).error.code).toBe('upstream_timeout')
      expect(Date.now() - started).toBeLessThan(5_000)
    })

    it('propagates a client abort to the container', async () => {
      const controller = new AbortController()
      const res = await fetch(`${gw.url}/docker/${name}/sse?n=100&gapMs=50`, { signal: controller.signal })
      const reader = res.body!.getReader()
      await reader.read()
      controller.abort()
      await eventually(
        async () => /echo: sse closed by peer/.test(await dockerCli('logs', name)),
        5_000,
        'the container to see the client leave',
      )
      expect((await fetch(`${gw.url}/api/health`)).status).toBe(200)
    })

    it('streams a large upload through with bounded gateway memory', async () => {
      const size = 256 * 1024 * 1024
      const chunk = new Uint8Array(1024 * 1024).fill(7)
      let sent = 0
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= size) return controller.close()
          sent += chunk.length
          controller.enqueue(chunk)
        },
      })
      await resetPeakRss(gw.pid)
      const before = await peakRss(gw.pid)
      const res = await fetch(`${gw.url}/docker/${name}/raw/upload`, {
        method: 'POST',
        body,
        duplex: 'half',
        headers: { 'content-type': 'application/octet-stream' },
      } as RequestInit)
      let received = 0
      for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) received += part.length
      expect(received).toBe(size)
      const grown = (await peakRss(gw.pid)) - before
      // A buffering proxy would grow by the whole 256 MB (twice). Node usually stays within a few
      // MB, but freed buffers are returned at the collector's pace: under the parallel load of a
      // full test run it has reached 48 MB, so its bound is the benchmark's 64 MB target. Bun's
      // fetch and server keep up to ~90 MB of transfer buffers here (measured, more under parallel
      // load), so its bound is looser. The benchmark reports both for a 1 GB upload.
      expect(grown).toBeLessThan((runtime === 'bun' ? 128 : 64) * 1024 * 1024)
    })

    it('does not buffer a large response for a slow client', async () => {
      const size = 256 * 1024 * 1024
      await resetPeakRss(gw.pid)
      const before = await peakRss(gw.pid)
      const res = await request(`${gw.url}/docker/${name}/bytes?n=${size}`, { highWaterMark: 64 * 1024 })
      // Node passes the container's length on; Bun.serve sends any streamed body chunked, without
      // it (oven-sh/bun#10507, docs/proxy.md): this fails once Bun keeps it, to update that page.
      if (runtime === 'node') expect(res.headers['content-length']).toBe(String(size))
      else expect([res.headers['content-length'], res.headers['transfer-encoding']]).toEqual([undefined, 'chunked'])
      // Read a little, then stall for a while: the gateway must not read ahead into memory.
      const iterator = res.body[Symbol.asyncIterator]()
      let received = (await iterator.next()).value.length as number
      await sleep(2_000)
      const stalled = (await peakRss(gw.pid)) - before
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) received += next.value.length
      expect(received).toBe(size)
      expect(stalled).toBeLessThan(64 * 1024 * 1024)
    })

    it('ends the client response when the container dies mid-answer, and keeps serving', async () => {
      const victim = uniqueName('dies')
      await fetch(`${gw.url}/api/containers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: ECHO_IMAGE, name: victim }),
      })
      await eventually(
        async () => (await fetch(`${gw.url}/docker/${victim}/`)).status === 200,
        20_000,
        'victim serving',
      )
      const res = await fetch(`${gw.url}/docker/${victim}/die-mid-stream`)
      expect(res.status).toBe(200)
      // The body ends (cleanly or with an error) instead of hanging.
      const text = await res.text().catch(() => 'aborted')
      expect(['partial answer\n', 'aborted']).toContain(text)
      // Until the engine has noticed the death, the container runs with a dead port: `unreachable`
      // (also a 502); then it is `exited`, with its code.
      const after = await eventually(
        async () => {
          const r = await fetch(`${gw.url}/docker/${victim}/`)
          const body = r.status === 502 && ((await r.json()) as Json)
          return body && body.error.code === 'container_exited' && body
        },
        10_000,
        '502 "exited" after the container died',
      )
      expect(after.error.message).toContain('exited with code 9')
      expect((await fetch(`${gw.url}/docker/${name}/`)).status).toBe(200)
    })

    it('cuts a slow-loris client that never finishes its headers', { timeout: 30_000 }, async () => {
      // Node cuts it after the configured idle timeout (2 s here); Bun applies its own fixed
      // header timeout (about 10 s) to connections that have not finished their headers.
      const bound = runtime === 'node' ? 7_000 : 15_000
      const started = Date.now()
      const { response, closedByServer } = await rawExchange(
        gw.url,
        `GET /docker/${name}/ HTTP/1.1\r\nHost: x\r\nX-Slow: `,
        bound + 1_000,
      )
      expect(closedByServer).toBe(true)
      expect(Date.now() - started).toBeLessThan(bound)
      expect(response).not.toContain('200 OK')
    })

    it('rejects oversized headers and conflicting framing with a 4xx, before any container sees them', async () => {
      const big = await rawExchange(
        gw.url,
        `GET /docker/${name}/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`,
        3_000,
      )
      expect(big.response).toMatch(/^HTTP\/1\.1 4\d\d/)
      const smuggle = await rawExchange(
        gw.url,
        `POST /docker/${name}/raw/x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /docker/${name}/smuggled HTTP/1.1\r\nHost: x\r\n\r\n`,
        3_000,
      )
      expect(smuggle.response).toMatch(/^HTTP\/1\.1 4\d\d/)
      const twoLengths = await rawExchange(
        gw.url,
        `POST /docker/${name}/raw/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde`,
        3_000,
      )
      expect(twoLengths.response).toMatch(/^HTTP\/1\.1 4\d\d/)
      // Once a later request shows in the (asynchronous) log, an earlier smuggled one would too.
      await fetch(`${gw.url}/docker/${name}/after-smuggle`).then((r) => r.text())
      const logs = await eventually(
        async () => {
          const text = await dockerCli('logs', name)
          return text.includes('/after-smuggle') && text
        },
        10_000,
        'the marker in the logs',
      )
      expect(logs).not.toContain('/smuggled')
    })

    it('returns to its baseline of open sockets after clients abort large uploads', async () => {
      await fetch(`${gw.url}/docker/${name}/`).then((r) => r.text())
      const baseline = await openFds(gw.pid)
      const { hostname, port } = new URL(gw.url)
      for (let i = 0; i < 5; i++) {
        // Announce 100 MB, send 1 MB, then vanish.
        await new Promise<void>((resolve) => {
          const socket = connect(Number(port), hostname, () => {
            socket.write(
              `POST /docker/${name}/raw/abort HTTP/1.1\r\nHost: x\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`,
            )
            socket.write(Buffer.alloc(1024 * 1024))
            setTimeout(() => {
              socket.destroy()
              resolve()
            }, 150)
          })
          socket.on('error', () => resolve())
        })
      }
      await eventually(async () => (await openFds(gw.pid)) <= baseline + 2, 10_000, 'sockets back to baseline')
      expect((await fetch(`${gw.url}/docker/${name}/`)).status).toBe(200)
    })
  })
}
