import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STATIC_IMAGE, dockerCli, dockerReady, removeRunContainers, uniqueName } from '../helpers/docker.js'
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js'

const exec = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '../..')

/** The README's walk-through: the `sh` block under its heading, one command per line. */
function walkthrough(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const block = /## A walk-through with curl\s+```sh\n([\s\S]*?)```/.exec(readme)?.[1]
  if (!block) throw new Error('README.md: no walk-through block')
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('#'))
}

describe.runIf(await dockerReady("the README's walk-through"))("the README's walk-through, run with curl", () => {
  let gw: GatewayProcess
  beforeAll(async () => {
    gw = await startGateway('node', { labelRoot: 'io.github.hde-test.walkthrough', dashboard: { enabled: false } })
  })
  afterAll(async () => {
    await gw?.stop()
    await removeRunContainers()
  })

  it('launches, opens, reads the logs, lists and removes, as the README says', async () => {
    const commands = walkthrough()
    expect(commands.map((c) => c.replace(/ -[Hd] .*/, ''))).toEqual([
      'curl -s -X POST localhost:8000/api/containers',
      'curl -i localhost:8000/docker/my-viewer/',
      'curl -s localhost:8000/api/containers/my-viewer/logs',
      'curl -s localhost:8000/api/containers',
      'curl -i -X DELETE localhost:8000/api/containers/my-viewer',
    ])
    // As written, but on this test's gateway, with a name of this run and an image built here (no registry).
    const name = uniqueName('my-viewer')
    const run = async (command: string) =>
      (
        await exec('bash', [
          '-c',
          command
            .replaceAll('localhost:8000', new URL(gw.url).host)
            .replaceAll('my-viewer', name)
            .replace('nginx:1.27-alpine', STATIC_IMAGE),
        ])
      ).stdout
    const [launch, open, logs, list, remove] = commands as [string, string, string, string, string]

    const launched = JSON.parse(await run(launch)) as Record<string, unknown>
    expect(launched).toMatchObject({ name, url: `/docker/${name}/` })
    expect(['starting', 'ready']).toContain(launched.status)
    // Until the app answers, a client that is not a browser is told to retry; then it is the app.
    let opened = ''
    for (let i = 0; i < 100 && !/^HTTP\/1\.1 200/.test(opened); i++) {
      opened = await run(open)
      if (!/^HTTP\/1\.1 200/.test(opened)) {
        expect(opened).toMatch(/^HTTP\/1\.1 503/)
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    expect(opened).toMatch(/^HTTP\/1\.1 200/)
    expect(opened).toContain('hde static test page')
    // busybox httpd -vv logs each request it served.
    expect(await run(logs)).toContain('url:/')
    const listed = JSON.parse(await run(list)) as { containers: { name: string }[] }
    expect(listed.containers.map((c) => c.name)).toContain(name)
    expect(await run(remove)).toMatch(/^HTTP\/1\.1 204/)
    expect(await dockerCli('ps', '-aq', '--filter', `name=^/${name}$`)).toBe('')
  })
})
