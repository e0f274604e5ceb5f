import { describe, expect, it } from 'vitest'
import { resolveConnection } from '../../../src/backends/docker/connection.js'
import { ConfigError } from '../../../src/errors.js'

describe('resolveConnection', () => {
  it('prefers an explicit socket, then an explicit host, then DOCKER_HOST', () => {
    expect(resolveConnection({ socketPath: '/s.sock', host: 'tcp://h:1' }, { DOCKER_HOST: 'tcp://e:2' })).toEqual({
      options: { socketPath: '/s.sock' },
    })
    expect(resolveConnection({ host: 'tcp://h:1' }, { DOCKER_HOST: 'tcp://e:2' })).toEqual({
      options: { host: 'h', port: 1, protocol: 'http' },
      remoteHost: 'h',
    })
    expect(resolveConnection({}, { DOCKER_HOST: 'unix:///run/d.sock' })).toEqual({
      options: { socketPath: '/run/d.sock' },
    })
    expect(resolveConnection({}, {})).toEqual({})
  })

  it('uses https with default port 2376 for TLS, and 2375 without', () => {
    expect(resolveConnection({ host: 'tcp://docker.example', tls: { ca: 'CA' } }).options).toEqual({
      host: 'docker.example',
      port: 2376,
      protocol: 'https',
      ca: 'CA',
    })
    expect(resolveConnection({ host: 'tcp://docker.example' }).options).toMatchObject({ port: 2375, protocol: 'http' })
    expect(resolveConnection({ host: 'https://[::1]:9999' }).options).toMatchObject({
      host: '::1',
      port: 9999,
      protocol: 'https',
    })
  })

  it('refuses addresses it cannot use, saying why', () => {
    expect(() => resolveConnection({ host: 'ssh://user@host' })).toThrow(ConfigError)
    expect(() => resolveConnection({ host: 'ssh://user@host' })).toThrow(/ssh is not supported/)
    expect(() => resolveConnection({}, { DOCKER_HOST: 'not a url' })).toThrow(/not a URL/)
  })
})
