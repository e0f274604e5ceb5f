import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { configFromEnv, envName } from '../../src/config/environment.js'
import { loadConfigFile } from '../../src/config/file.js'
import { ConfigError } from '../../src/errors.js'

const fileWith = async (text: string) => {
  const file = join(await mkdtemp(join(tmpdir(), 'hde-env-')), 'config.json')
  await writeFile(file, text)
  return file
}

describe('configuration from the environment', () => {
  it('names each key HDE_ and its path in upper snake case', () => {
    expect(envName(['listen', 'port'])).toBe('HDE_LISTEN_PORT')
    expect(envName(['idle', 'timeoutSeconds'])).toBe('HDE_IDLE_TIMEOUT_SECONDS')
    expect(envName(['listen', 'allowedHosts'])).toBe('HDE_LISTEN_ALLOWED_HOSTS')
    expect(envName(['memLimitMb'])).toBe('HDE_MEM_LIMIT_MB')
  })

  it('reads numbers, booleans, lists and text by the type of their key; reports unknown HDE_ names', () => {
    const { values, used, unknown } = configFromEnv({
      HDE_LISTEN_PORT: '9100',
      HDE_LISTEN_FAST_PATH: 'false',
      HDE_LISTEN_ALLOWED_HOSTS: 'gw.example, other.example',
      HDE_AUTH_TOKENS: '["a-token-of-sixteen-chars"]',
      HDE_LABEL_ROOT: 'org.example.tools',
      HDE_LISTEN_PROT: '1',
      PATH: '/usr/bin',
    })
    expect(values).toEqual({
      listen: { port: 9100, fastPath: false, allowedHosts: ['gw.example', 'other.example'] },
      auth: { tokens: ['a-token-of-sixteen-chars'] },
      labelRoot: 'org.example.tools',
    })
    expect(used).toHaveLength(5)
    expect(unknown).toEqual(['HDE_LISTEN_PROT'])
  })

  it('lays the environment over the file, which lays over the defaults', async () => {
    const file = await fileWith(
      JSON.stringify({ listen: { port: 9000, hostname: '127.0.0.2' }, idle: { timeoutSeconds: 60 } }),
    )
    const { config, source } = await loadConfigFile(file, { HDE_LISTEN_PORT: '9200', HDE_SHUTDOWN_GRACE_SECONDS: '5' })
    expect(config.listen.port).toBe(9200)
    expect(config.listen.hostname).toBe('127.0.0.2')
    expect(config.idle.timeoutSeconds).toBe(60)
    expect(config.shutdown.graceSeconds).toBe(5)
    expect(config.apiPrefix).toBe('/api')
    expect(source).toContain('HDE_LISTEN_PORT')
  })

  it('validates a variable with the same schema and messages as the file, naming the key and the variables', async () => {
    const file = await fileWith('{}')
    const failure = await loadConfigFile(file, { HDE_LISTEN_PORT: 'eighty' }).catch((err: Error) => err)
    expect(failure).toBeInstanceOf(ConfigError)
    expect((failure as Error).message).toContain('listen.port')
    expect((failure as Error).message).toContain('HDE_LISTEN_PORT')
  })

  it('names the line and column of a JSON syntax error in the file', async () => {
    const file = await fileWith('{\n  "listen": {\n    "port": 9000,\n  }\n}\n')
    const failure = (await loadConfigFile(file).catch((err: Error) => err)) as Error
    expect(failure).toBeInstanceOf(ConfigError)
    expect(failure.message).toMatch(/at line 4, column 3/)
  })
})
