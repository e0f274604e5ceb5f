import { describe, expect, it } from 'vitest'
import {
  downstreamResponseHeaders,
  forwardedRequestPairs,
  returnedResponsePairs,
  upstreamRequestHeaders,
  type ForwardingContext,
} from '../../src/proxy/headers.js'

/** Headers as sorted pairs, the way both builders are compared. */
const sorted = (pairs: Iterable<[string, string]>) => [...new Headers([...pairs])]

describe('header policy: the pair builders (Node fast path) and the Headers builders agree', () => {
  const contexts: ForwardingContext[] = [
    {
      clientAddress: '10.0.0.9',
      host: 'gw.example:8000',
      proto: 'http',
      prefix: '/docker/app',
      trustProxy: false,
      strippedCookies: new Set(['sessionid']),
    },
    { clientAddress: '10.0.0.9', host: 'gw.example', proto: 'https', prefix: '/viz/docker/app', trustProxy: true },
    { host: 'gw.example', proto: 'http', prefix: '', trustProxy: true },
    { host: 'nb.docker.localhost:8000', proto: 'http', prefix: '', trustProxy: false, preserveHost: false },
  ]
  const requests: [string, string][][] = [
    [
      ['host', 'gw.example'],
      ['accept', 'text/html'],
      ['user-agent', 'ua'],
    ],
    [
      ['host', 'gw.example'],
      ['connection', 'keep-alive, X-Secret, x-forwarded-extra'],
      ['x-secret', 's'],
      ['keep-alive', 'timeout=5'],
      ['te', 'trailers'],
      ['upgrade', 'h2c'],
      ['proxy-authorization', 'Basic x'],
      ['expect', '100-continue'],
      ['cookie', 'sessionid=parent; theme=dark; hde_access_app=tok'],
      ['accept', 'a'],
      ['accept', 'b'],
      ['x-forwarded-for', '1.1.1.1, 2.2.2.2'],
      ['x-forwarded-host', 'outer.example'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-prefix', '/outer/'],
      ['x-forwarded-port', '443'],
      ['x-forwarded-extra', 'hop'],
    ],
    [
      ['cookie', 'sessionid=only'],
      ['x-forwarded-for', ''],
      ['x-forwarded-host', ''],
    ],
    // Two Cookie lines, and the client's own claims about itself.
    [
      ['cookie', 'theme=dark'],
      ['cookie', 'sessionid=parent'],
      ['forwarded', 'for=1.2.3.4'],
      ['x-real-ip', '1.2.3.4'],
      ['x-forwarded-port', '443'],
      ['X-Forwarded-Server', 'outer'],
    ],
    // Tokens that are no field name cannot name a header; they must not break either builder.
    [
      ['connection', 'keep-alive, x y, @, , X-Secret'],
      ['x-secret', 's'],
      ['accept', '*/*'],
    ],
  ]
  for (const [i, ctx] of contexts.entries()) {
    for (const [j, request] of requests.entries()) {
      it(`request ${j} in context ${i}`, () => {
        const incoming = new Headers(request)
        const fromPairs = sorted(forwardedRequestPairs(incoming, ctx))
        expect([...upstreamRequestHeaders(incoming, ctx)]).toEqual(fromPairs)
        // What the policy promises, whichever builder ran.
        const names = fromPairs.map(([name]) => name)
        // The client's Host reaches the container unless preserveHost is off (then the transport sets its own).
        expect(new Headers(fromPairs).get('host')).toBe(ctx.preserveHost === false ? null : ctx.host)
        for (const hop of [
          'connection',
          'keep-alive',
          'te',
          'upgrade',
          'proxy-authorization',
          'expect',
          'x-secret',
          'x-forwarded-extra',
        ])
          expect(names).not.toContain(hop)
        expect(new Headers(fromPairs).get('x-forwarded-prefix')).toBe(
          ctx.trustProxy && j === 1 ? `/outer${ctx.prefix}` : ctx.prefix || null,
        )
      })
    }
  }

  it("drops the client's Forwarded, X-Real-IP and other X-Forwarded-* unless a proxy in front is trusted", () => {
    const incoming = new Headers([
      ['forwarded', 'for=1.2.3.4'],
      ['x-real-ip', '1.2.3.4'],
      ['x-forwarded-port', '443'],
      ['x-forwarded-ssl', 'on'],
      ['accept', '*/*'],
    ])
    for (const trustProxy of [false, true]) {
      const ctx = { ...contexts[0]!, trustProxy }
      for (const built of [upstreamRequestHeaders(incoming, ctx), new Headers(forwardedRequestPairs(incoming, ctx))]) {
        for (const claim of ['forwarded', 'x-real-ip', 'x-forwarded-port', 'x-forwarded-ssl'])
          expect(built.has(claim), `${claim} trusted=${trustProxy}`).toBe(trustProxy)
        expect(built.get('x-forwarded-for')).toBe('10.0.0.9')
        expect(built.get('accept')).toBe('*/*')
      }
    }
  })

  it('strips a parent-app cookie sent on a second Cookie line, on both builders', () => {
    const ctx = contexts[0]!
    const incoming = new Headers([
      ['cookie', 'theme=dark'],
      ['cookie', 'sessionid=parent; hde_access_app=tok'],
      ['cookie', 'lang=en'],
    ])
    expect(upstreamRequestHeaders(incoming, ctx).get('cookie')).toBe('theme=dark; lang=en')
    expect(
      new Headers(
        forwardedRequestPairs(
          [
            ['cookie', 'theme=dark'],
            ['cookie', 'sessionid=parent; hde_access_app=tok'],
            ['cookie', 'lang=en'],
          ],
          ctx,
        ),
      ).get('cookie'),
    ).toBe('theme=dark; lang=en')
    // A loose comma inside a value is not a separator.
    expect(upstreamRequestHeaders(new Headers([['cookie', 'list=a,b; sessionid=x']]), ctx).get('cookie')).toBe(
      'list=a,b',
    )
  })

  it('strips parent-app and access cookies the same way', () => {
    const ctx = contexts[0]!
    const incoming = new Headers([['cookie', 'sessionid=parent; theme=dark; hde_access_app=tok']])
    expect(upstreamRequestHeaders(incoming, ctx).get('cookie')).toBe('theme=dark')
    expect(new Headers(forwardedRequestPairs(incoming, ctx)).get('cookie')).toBe('theme=dark')
  })

  const responses: [string, string][][] = [
    [
      ['content-type', 'text/plain'],
      ['content-length', '2'],
    ],
    [
      ['connection', 'keep-alive, X-Internal'],
      ['keep-alive', 'timeout=5'],
      ['x-internal', '1'],
      ['transfer-encoding', 'chunked'],
      ['location', 'http://172.17.0.2:80/next?q=1'],
      ['set-cookie', 'a=1; Path=/'],
      ['set-cookie', 'b=2'],
      ['content-type', 'text/html'],
    ],
    [
      ['location', 'http://gw.example:8000/login'],
      ['set-cookie', '_xsrf=x; Path=/docker/app/'],
      ['trailer', 'x-checksum'],
      ['proxy-authenticate', 'Basic'],
    ],
    [
      ['connection', 'close, bad name, X-Internal'],
      ['x-internal', '1'],
      ['content-type', 'text/plain'],
    ],
  ]
  const scope = { upstreamOrigin: 'http://172.17.0.2:80', prefix: '/docker/app', publicHost: 'gw.example:8000' }
  for (const [j, response] of responses.entries()) {
    it(`response ${j}`, () => {
      const upstream = new Headers(response)
      const fromPairs = sorted(returnedResponsePairs(upstream, scope))
      const fromHeaders = downstreamResponseHeaders(upstream, scope)
      expect([...fromHeaders]).toEqual(fromPairs)
      expect(fromHeaders.getSetCookie()).toEqual(new Headers(fromPairs).getSetCookie())
      for (const hop of [
        'connection',
        'keep-alive',
        'x-internal',
        'transfer-encoding',
        'trailer',
        'proxy-authenticate',
      ])
        expect(fromHeaders.has(hop)).toBe(false)
    })
  }

  it('drops what reaches beyond the container: Clear-Site-Data always, host-wide HSTS and wider worker scopes on a shared host', () => {
    const upstream = new Headers([
      ['clear-site-data', '"cookies", "storage"'],
      ['strict-transport-security', 'max-age=31536000; includeSubDomains'],
      ['service-worker-allowed', '/'],
      ['content-type', 'text/html'],
    ])
    const pathRouted = [downstreamResponseHeaders(upstream, scope), new Headers(returnedResponsePairs(upstream, scope))]
    for (const headers of pathRouted) {
      expect(headers.has('clear-site-data')).toBe(false)
      expect(headers.has('strict-transport-security')).toBe(false)
      expect(headers.has('service-worker-allowed')).toBe(false)
      expect(headers.get('content-type')).toBe('text/html')
    }
    // A worker scope inside the prefix stays, wherever the header spells it.
    for (const value of ['/docker/app/', '/docker/app/sub/', 'http://gw.example:8000/docker/app/x'])
      expect(
        downstreamResponseHeaders(new Headers([['service-worker-allowed', value]]), scope).get(
          'service-worker-allowed',
        ),
      ).toBe(value)
    for (const value of ['/docker/application/', '/docker/', '../', '/docker/other/'])
      expect(
        downstreamResponseHeaders(new Headers([['service-worker-allowed', value]]), scope).has(
          'service-worker-allowed',
        ),
      ).toBe(false)
    // On an origin of its own (hostname routing), the container's host is its own business, the site is not.
    const ownHost = { upstreamOrigin: 'http://172.17.0.2:80', prefix: '', publicHost: 'app.docker.localhost' }
    for (const headers of [
      downstreamResponseHeaders(upstream, ownHost),
      new Headers(returnedResponsePairs(upstream, ownHost)),
    ]) {
      expect(headers.has('clear-site-data')).toBe(false)
      expect(headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
      expect(headers.get('service-worker-allowed')).toBe('/')
    }
  })

  it('keeps Location and Set-Cookie inside the prefix', () => {
    const upstream = new Headers([
      ['location', 'http://172.17.0.2:80/next'],
      ['set-cookie', 'a=1; Path=/'],
      ['set-cookie', 'b=2'],
    ])
    const headers = downstreamResponseHeaders(upstream, scope)
    expect(headers.get('location')).toBe('/docker/app/next')
    expect(headers.getSetCookie()).toEqual(['a=1; Path=/docker/app/', 'b=2; Path=/docker/app/'])
  })
})
