import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

const exec = promisify(execFile)
const CLIENT = resolve(import.meta.dirname, '../openapi-client')
const BIN = join(CLIENT, 'node_modules/.bin')

/** Its tools are installed by `scripts/setup.sh --test-images`; CI never skips. */
const tools = existsSync(join(BIN, 'openapi-typescript')) && existsSync(join(BIN, 'tsc'))
if (!tools) {
  const reason = `the generated-client tools are not installed (run: bash scripts/setup.sh --test-images, or npm ci --prefix test/openapi-client)`
  if (process.env.CI === 'true') throw new Error(reason)
  console.warn(`SKIPPING the generated OpenAPI client test: ${reason}`)
}

const { setup } = useMemoryGateways()

describe.runIf(tools)('a client generated from the OpenAPI document', () => {
  it('type-checks a launch, a list, a read and a removal, refuses wrong calls, and works against the gateway', async () => {
    const { app } = setup()
    // The document as a client developer downloads it from a running gateway.
    const document = await app.request('/api/openapi.json')
    expect(document.status).toBe(200)
    const generated = join(CLIENT, 'generated')
    await mkdir(generated, { recursive: true })
    await writeFile(join(generated, 'openapi.json'), await document.text())
    // As docs/api.md tells it: request fields with defaults stay optional.
    await exec(
      join(BIN, 'openapi-typescript'),
      [join(generated, 'openapi.json'), '--default-non-nullable', 'false', '-o', join(generated, 'schema.d.ts')],
      { cwd: CLIENT },
    )
    // client.ts uses the generated types; misuse.ts must fail where it says it must.
    const checked = await exec(join(BIN, 'tsc'), ['-p', CLIENT]).then(
      () => '',
      (err: { stdout?: string }) => err.stdout ?? String(err),
    )
    expect(checked).toBe('')

    // Loaded by path: the project's own type-check leaves the client to its TypeScript 5.
    const { scenario } = (await import(join(CLIENT, 'client.ts'))) as {
      scenario(baseUrl: string, fetch: (request: Request) => Promise<Response>): Promise<Record<string, unknown>>
    }
    const outcome = await scenario('http://localhost', (request) => Promise.resolve(app.fetch(request)))
    expect(outcome.launched).toMatchObject({ name: 'generated', url: '/docker/generated/' })
    expect(outcome.listed).toEqual(['generated', 'generated-2'])
    expect(outcome.firstPage).toBe(1)
    expect(['starting', 'ready']).toContain(outcome.shown)
    expect(outcome.removed).toBe(204)
    expect(outcome.missing).toBe('container_not_found')
  }, 120_000)
})
