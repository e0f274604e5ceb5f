import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ECHO_IMAGE, dockerReady, eventually, removeRunContainers, uniqueName } from '../helpers/docker.js'
import {
  RUNTIMES,
  peakRss,
  resetPeakRss,
  startGateway,
  type GatewayProcess,
  type Runtime,
} from '../helpers/gateway-process.js'
import { openFds, rawRequest } from '../helpers/sockets.js'
import WebSocket from 'ws'
import { launchServing } from '../helpers/acceptance-gateway.js'

type Json = Record<string, any>

const ready = await dockerReady('hardening on a real container')
for (const runtime of RUNTIMES) hardeningSuite(runtime)

/** A request head as bytes, with exactly the header lines given. */
function head(method: string, path: string, host: string, lines: string[]): string {
  return `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${lines.map((line) => `${line}\r\n`).join('')}\r\n`
}

const WS_HANDSHAKE = [
  'Connection: Upgrade',
  'Upgrade: websocket',
  'Sec-WebSocket-Version: 13',
  `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
]

/** Cookies a WebSocket handshake answered with, or its refusal did. */
function handshakeCookies(url: string): Promise<{ status: number; cookies: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once('upgrade', (res) => {
      resolve({ status: 101, cookies: [res.headers['set-cookie'] ?? []].flat() })
      ws.once('open', () => ws.close())
    })
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, cookies: [res.headers['set-cookie'] ?? []].flat() })
      res.resume()
      ws.terminate()
    })
    ws.once('error', reject)
  })
}

/** The headers a WebSocket handshake answered with, or its refusal did. */
function handshakeHeaders(url: string): Promise<Record<string, string | string[] | undefined>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once('upgrade', (res) => {
      resolve(res.headers)
      ws.once('open', () => ws.close())
    })
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.headers)
      res.resume()
      ws.terminate()
    })
    ws.once('error', reject)
  })
}

function hardeningSuite(runtime: Runtime) {
  describe.runIf(ready)(`one request cannot crash or exhaust the gateway, on ${runtime}`, () => {
    let gw: GatewayProcess
    let name: string
    let host: string
    beforeAll(async () => {
      gw = await startGateway(runtime, {
        upstream: { headersTimeoutMs: 2_000, bodyIdleTimeoutMs: 1_500 },
        cookies: { strip: ['sessionid'] },
      })
      host = new URL(gw.url).host
      name = uniqueName('hard')
      await launchServing(gw.url, { image: ECHO_IMAGE, name })
    })
    afterAll(async () => {
      await gw?.stop()
      await removeRunContainers()
    })
    const alive = async () => {
      const health = await fetch(`${gw.url}/api/health`)
      expect(health.status).toBe(200)
      const trouble = gw
        .output()
        .split('\n')
        .filter((line) => /unhandled|uncaught|fatal/i.test(line))
      expect(trouble, trouble.slice(0, 3).join('\n')).toEqual([])
    }

    it('streams a non-WebSocket upgrade request like any other: a 50 MB answer with bounded memory', async () => {
      const bytes = 50 * 1024 * 1024
      const get = (lines: string[]) =>
        rawRequest(gw.url, head('GET', `/docker/${name}/bytes?n=${bytes}`, host, lines), { waitMs: 60_000 })
      // A plain GET first, so the runtime's own warm-up is not counted against the upgrade.
      expect((await get(['Connection: close'])).status).toBe(200)
      await resetPeakRss(gw.pid)
      const before = await peakRss(gw.pid)
      const answer = await get(['Connection: Upgrade, close', 'Upgrade: foo'])
      expect(answer.status).toBe(200)
      expect(answer.ended).toBe('end')
      // Bun re-chunks the body: its byte count includes the chunk framing.
      if (runtime === 'node') expect(answer.bodyBytes).toBe(bytes)
      else expect(answer.bodyBytes).toBeGreaterThanOrEqual(bytes)
      // Buffered, the answer grew the gateway by three times its size; streamed, by the runtime's
      // transfer buffers (Bun keeps more of them, see the streaming suite).
      const grown = (await peakRss(gw.pid)) - before
      expect(grown, `peak RSS grew by ${Math.round(grown / 1e6)} MB`).toBeLessThan(
        (runtime === 'bun' ? 128 : 40) * 1024 * 1024,
      )
      await alive()
    })

    it('passes a body sent with Upgrade: h2c to the container, without the upgrade headers', async () => {
      const body = randomBytes(100_000)
      const lines = [
        'Connection: Upgrade, HTTP2-Settings, close',
        'Upgrade: h2c',
        'HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA',
        'Content-Type: application/octet-stream',
        `Content-Length: ${body.length}`,
      ]
      const answer = await rawRequest(
        gw.url,
        Buffer.concat([Buffer.from(head('POST', `/docker/${name}/upload`, host, lines), 'latin1'), body]),
        { waitMs: 10_000, keepBody: true },
      )
      expect(answer.status).toBe(200)
      expect(answer.ended).toBe('end')
      const seen = JSON.parse(answer.body!) as Json
      expect(seen.method).toBe('POST')
      expect(seen.bodyLength).toBe(body.length)
      expect(seen.headers.upgrade).toBeUndefined()
      expect(seen.headers['http2-settings']).toBeUndefined()
      await alive()
    })

    it('survives a container that breaks its promised Content-Length, with and without upgrade headers', async () => {
      for (const lines of [
        ['Connection: close'],
        ['Connection: Upgrade, close', 'Upgrade: foo'],
        ['Connection: Upgrade, close', 'Upgrade: h2c'],
      ]) {
        const answer = await rawRequest(gw.url, head('GET', `/docker/${name}/truncated`, host, lines), {
          waitMs: 10_000,
        })
        // The client sees the answer end early, never a complete one. (Bun's server, when the body
        // fails before its first write, resets the connection without a status line.)
        const seen = `${lines.join(' ')}: ${JSON.stringify(answer)}`
        if (answer.status !== 0) expect(answer.status, seen).toBe(200)
        else expect(runtime === 'bun' && answer.ended === 'reset', seen).toBe(true)
        expect(answer.bodyBytes, seen).toBeLessThan(1000)
        expect(answer.ended, seen).not.toBe('timeout')
      }
      await alive()
    })

    it('closes a followed log stream asked for with WebSocket headers when the client leaves', async () => {
      const baseline = await openFds(gw.pid)
      for (let i = 0; i < 6; i++) {
        const answer = await rawRequest(
          gw.url,
          head('GET', `/api/containers/${name}/logs?follow=1`, host, WS_HANDSHAKE),
          { waitMs: 1_500 },
        )
        expect(answer.ended).toBe('timeout') // still streaming when the client left
      }
      await eventually(async () => (await openFds(gw.pid)) <= baseline + 2, 10_000, 'descriptors back to the baseline')
      await alive()
    })

    it('refuses a Host header that is not an authority, on every path', async () => {
      for (const bad of [`${host}/api/openapi.json#`, `${host}#x`, `user@${host}`, `${host}?x`, `${host} x`]) {
        for (const lines of [WS_HANDSHAKE, ['Connection: close'], ['Connection: Upgrade, close', 'Upgrade: foo']]) {
          for (const path of [`/docker/${name}/`, '/api/containers']) {
            const answer = await rawRequest(gw.url, head('GET', path, bad, lines), { waitMs: 1_000 })
            expect(answer.status, `${bad} ${path} ${lines.join(' ')}`).toBe(400)
          }
        }
      }
      await alive()
    })

    it('answers 421 to a rebound host name on every proxy path, and proxies for its own names', async () => {
      const port = new URL(gw.url).port
      for (const rebound of [`rebind.attacker.example:${port}`, 'localhost.attacker.example']) {
        // The fast path (a plain GET), the routed path (a query it does not take), a WebSocket handshake.
        for (const [path, lines] of [
          [`/docker/${name}/page`, ['Connection: close']],
          [`/docker/${name}/page?x=%2e`, ['Connection: close']],
          [`/docker/${name}/ws`, WS_HANDSHAKE],
        ] as const) {
          const answer = await rawRequest(gw.url, head('GET', path, rebound, [...lines]), { waitMs: 5_000 })
          expect(answer.status, `${rebound} ${path}`).toBe(421)
        }
      }
      const history = (await (await fetch(`${gw.url}/api/containers/${name}/history`)).json()) as Json
      expect(history.entries.map((entry: Json) => entry.path)).not.toContain('/page?x=%2e')
      const own = await rawRequest(
        gw.url,
        head('GET', `/docker/${name}/page`, `localhost:${port}`, ['Connection: close']),
        {
          waitMs: 5_000,
        },
      )
      expect(own.status).toBe(200)
      await alive()
    })

    it('never relays Clear-Site-Data, on the fast path, the routed path or either WebSocket handshake', async () => {
      const header = `/docker/${name}/with-header?name=Clear-Site-Data&value=%22cookies%22&name=X-Kept&value=yes`
      for (const path of [header, `${header}&q=%2e`]) {
        const answer = await fetch(`${gw.url}${path}`)
        expect(answer.status, path).toBe(200)
        expect(answer.headers.get('x-kept'), path).toBe('yes')
        expect(answer.headers.has('clear-site-data'), path).toBe(false)
        await answer.body?.cancel()
      }
      const base = `${gw.url.replace(/^http/, 'ws')}/docker/${name}`
      for (const path of ['/ws-cookie', '/ws-refuse']) {
        const headers = await handshakeHeaders(`${base}${path}`)
        expect(headers['clear-site-data'], path).toBeUndefined()
      }
      await alive()
    })

    it("keeps cookies from WebSocket handshakes inside the container's prefix, accepted or refused", async () => {
      const base = `${gw.url.replace(/^http/, 'ws')}/docker/${name}`
      const accepted = await handshakeCookies(`${base}/ws-cookie`)
      expect(accepted.status).toBe(101)
      const refused = await handshakeCookies(`${base}/ws-refuse`)
      expect(refused.status).toBeGreaterThanOrEqual(400)
      // Node relays them rescoped; Bun's handshake relays none: either way none escapes.
      for (const cookie of [...accepted.cookies, ...refused.cookies]) {
        expect(cookie).toMatch(new RegExp(`Path=/docker/${name}/`, 'i'))
        expect(cookie).not.toMatch(/Domain=/i)
      }
      if (runtime === 'node') expect(accepted.cookies).toHaveLength(2)
      await alive()
    })

    it('ends an exchange whose request body stalls, on both sides, and lets a slow steady one through', async () => {
      // A large body streams through; a small one of known length may be read in full first: both stall alike.
      for (const [path, length] of [
        [`/docker/${name}/upload`, 1_000_000],
        [`/docker/${name}/raw/stall`, 1_000_000],
        [`/docker/${name}/upload`, 1_000],
        [`/docker/${name}/raw/stall`, 1_000],
      ] as const) {
        const started = Date.now()
        const answer = await rawRequest(gw.url, `${head('POST', path, host, [`Content-Length: ${length}`])}ab`, {
          waitMs: 15_000,
        })
        expect(answer.ended, `${path} ${length}`).not.toBe('timeout')
        // Before any answer: a 408 that closes; mid-answer (the raw echo streams back at once): the answer is cut.
        // On Bun a small body is read in full before it is sent, so no answer has begun when it
        // stalls; Node's fast path streams every body (undici pipes the socket).
        const beforeAnswer = path.endsWith('/upload') || (length === 1_000 && runtime === 'bun')
        if (beforeAnswer) expect(answer.status, `${path} ${length}`).toBe(408)
        expect(Date.now() - started).toBeLessThan(10_000)
      }
      // 6 chunks 500 ms apart: slower in total than the idle limit, never silent that long.
      let sent = 0
      const slow = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((r) => setTimeout(r, 500))
          controller.enqueue(new Uint8Array(1000).fill(1))
          if (++sent === 6) controller.close()
        },
      })
      const res = await fetch(`${gw.url}/docker/${name}/upload`, {
        method: 'POST',
        body: slow,
        duplex: 'half',
      } as RequestInit)
      expect(res.status).toBe(200)
      expect(((await res.json()) as Json).bodyLength).toBe(6000)
      await alive()
    })

    it('keeps a parent-app cookie sent on a second Cookie line from the container, on every path', async () => {
      for (const lines of [['Connection: close'], ['Connection: Upgrade, close', 'Upgrade: foo']]) {
        const answer = await rawRequest(
          gw.url,
          head('GET', `/docker/${name}/cookies`, host, ['Cookie: theme=dark', 'Cookie: sessionid=parent', ...lines]),
          { waitMs: 5_000, keepBody: true },
        )
        expect(answer.status).toBe(200)
        const seen = JSON.parse(answer.body!) as Json
        expect(seen.headers.cookie).toBe('theme=dark')
      }
    })

    it('survives random header combinations, upgrade variants included, against truncated and reset answers', {
      timeout: 120_000,
    }, async () => {
      const paths = [
        `/docker/${name}/truncated`,
        `/docker/${name}/bytes?n=300000`,
        `/docker/${name}/status/204`,
        `/docker/${name}/raw/x`,
        `/docker/${name}/ws`,
        `/api/containers/${name}/logs?follow=1`,
        `/docker/${name}/`,
      ]
      const headerLine = fc.oneof(
        fc.constantFrom(
          'Connection: Upgrade',
          'Connection: upgrade, keep-alive',
          'Connection: close',
          'Connection: HTTP2-Settings, Upgrade',
          'Connection: x-y, Upgrade',
        ),
        fc.constantFrom(
          'Upgrade: websocket',
          'Upgrade: WebSocket',
          'Upgrade: h2c',
          'Upgrade: foo',
          'Upgrade: websocket, h2c',
          'Upgrade: ',
        ),
        fc.constantFrom(
          'Sec-WebSocket-Version: 13',
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
          'Sec-WebSocket-Protocol: a, b',
          'HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA',
        ),
        fc.constantFrom(
          'Content-Length: 0',
          'Transfer-Encoding: chunked',
          'Expect: 100-continue',
          'Cookie: a=1',
          'Accept: text/html',
        ),
      )
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS'),
          fc.constantFrom(...paths),
          fc.uniqueArray(headerLine, { maxLength: 6 }),
          fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: undefined }),
          async (method, path, lines, abortAfterBytes) => {
            const chunked = lines.includes('Transfer-Encoding: chunked')
            const payload =
              head(
                method,
                path,
                host,
                lines.filter((l) => !(chunked && l.startsWith('Content-Length'))),
              ) + (chunked ? '5\r\nhello\r\n0\r\n\r\n' : '')
            await rawRequest(gw.url, payload, { waitMs: 1_500, ...(abortAfterBytes ? { abortAfterBytes } : {}) })
          },
        ),
        { numRuns: 60 },
      )
      await alive()
    })
  })
}
