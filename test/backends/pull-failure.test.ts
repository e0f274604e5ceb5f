import { describe, expect, it } from 'vitest'
import { pullFailureReason } from '../../src/backends/pull-failure.js'

describe('why a pull failed', () => {
  it("reads the reason from the engine's and registries' own words", () => {
    const cases: [string | undefined, string][] = [
      ['manifest for 127.0.0.1:5000/hde/x:1 not found: manifest unknown: manifest unknown', 'not_found'],
      ["pull access denied for nope, repository does not exist or may require 'docker login'", 'unauthorized'],
      ['Head "https://registry.example/v2/x/manifests/1": unauthorized: authentication required', 'unauthorized'],
      ['No such image: hde-test/nowhere:1', 'not_found'],
      ['Get "http://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused', 'unreachable'],
      ['Get "https://r.invalid/v2/": dial tcp: lookup r.invalid on 10.0.0.53:53: no such host', 'unreachable'],
      ['Get "https://r.example/v2/": net/http: TLS handshake timeout', 'unreachable'],
      ['toomanyrequests: You have reached your pull rate limit', 'rate_limited'],
      ['context deadline exceeded', 'timeout'],
      ['something else entirely', 'failed'],
      [undefined, 'failed'],
    ]
    for (const [said, reason] of cases) expect(pullFailureReason(said), said).toBe(reason)
  })
})
