import { describe, expect, it } from 'vitest'
import { isReservedLabel } from '../../src/backend.js'
import { probeUrl } from '../../src/containers/readiness.js'

describe('readiness probe URLs', () => {
  it("stay on the container's origin whatever the path says", () => {
    const upstream = 'http://172.17.0.5:8080'
    expect(probeUrl(upstream, '/ready?deep=1')).toBe('http://172.17.0.5:8080/ready?deep=1')
    for (const path of [
      '@127.0.0.1:8199/probe',
      '//evil.example/x',
      '/@evil.example/',
      'http://evil.example/',
      '/x#frag',
      '\\\\evil.example\\x',
      '/..%2f..%2f',
    ]) {
      const url = new URL(probeUrl(upstream, path))
      expect(url.origin, path).toBe(upstream)
      expect(url.username + url.password, path).toBe('')
    }
  })
})

describe('reserved labels', () => {
  it('are a gateway root and the keys under it, in any case', () => {
    const roots = ['io.example.gw']
    for (const key of ['io.example.gw', 'io.example.gw.port', 'IO.EXAMPLE.GW.access'])
      expect(isReservedLabel(key, roots), key).toBe(true)
    for (const key of ['io.example.gwx', 'io.example.gw-port', 'io.example', 'app.io.example.gw'])
      expect(isReservedLabel(key, roots), key).toBe(false)
  })
})
