import { execFile } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/errors.js'
import { parseConfig } from '../../src/config/schema.js'

const exec = promisify(execFile)

describe('config', () => {
  it('applies defaults', () => {
    const config = parseConfig({})
    expect(config.listen).toEqual({ hostname: '127.0.0.1', port: 8000, idleTimeoutSeconds: 120, fastPath: true })
    expect(config.apiPrefix).toBe('/api')
    expect(config.proxyPrefix).toBe('/docker')
    expect(config.labelRoot).toBe('io.github.refinery-project.django_docker_engine')
    expect(config.defaults).toEqual({ cpus: 0.5, port: 80, pidsLimit: 512 })
  })

  it('names unknown keys and wrong types', () => {
    let error: unknown
    try {
      parseConfig({ lisen: {}, listen: { port: 'x' }, pleaseWait: { titel: 'a' } }, 'test.json')
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as Error).message
    expect(message).toContain('test.json')
    expect(message).toMatch(/lisen: unknown key/)
    expect(message).toMatch(/pleaseWait\.titel: unknown key/)
    expect(message).toMatch(/listen\.port: .*Expected number/)
  })

  it('rejects prefixes that are not clean paths', () => {
    expect(() => parseConfig({ apiPrefix: 'api' })).toThrow(/apiPrefix/)
    expect(() => parseConfig({ proxyPrefix: '/docker/' })).toThrow(/proxyPrefix/)
  })

  it('chooses how to reach containers by itself unless told (auto), and checks what only publishing takes', () => {
    expect(parseConfig({}).docker.reach).toBe('auto')
    expect(parseConfig({ docker: { reach: 'network', network: 'tools' } }).docker).toMatchObject({
      reach: 'network',
      network: 'tools',
    })
    expect(() => parseConfig({ docker: { reach: 'network', publishHost: '0.0.0.0' } })).toThrow(
      /docker: publishHost and upstreamHost apply only with reach "published" or "auto"/,
    )
    expect(() => parseConfig({ docker: { reach: 'bridge' } })).toThrow(/docker\.reach/)
  })

  it('the shipped local config is valid', async () => {
    const shipped = JSON.parse(await readFile('wrangler-free-local-config.json', 'utf8')) as unknown
    expect(parseConfig(shipped).listen).toEqual({
      hostname: '127.0.0.1',
      port: 8000,
      idleTimeoutSeconds: 120,
      fastPath: true,
    })
  })

  it('stops the CLI at start-up with the key named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hde-config-'))
    const file = join(dir, 'bad.json')
    await writeFile(file, JSON.stringify({ listen: { prot: 8000 } }))
    const result = await exec(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', file]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    )
    expect(result.code).toBe(78)
    expect(result.stderr).toContain('listen.prot: unknown key')
  })
})

describe('config JSON Schema', () => {
  it('is generated from the valibot schema, committed, and referenced by the local config', async () => {
    const { configJsonSchema } = await import('../../src/config/json-schema.js')
    const committed = JSON.parse(await readFile('config.schema.json', 'utf8')) as Record<string, unknown>
    // Run `npm run schema` after changing src/config/schema.ts.
    expect(committed).toEqual(configJsonSchema())
    const local = JSON.parse(await readFile('wrangler-free-local-config.json', 'utf8')) as { $schema: string }
    expect(local.$schema).toBe('./config.schema.json')
    const properties = committed.properties as Record<string, { properties?: Record<string, unknown> }>
    expect(properties.listen?.properties).toHaveProperty('port')
    expect(committed.additionalProperties).toBe(false)
  })
})
