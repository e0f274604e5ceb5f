import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ECHO_IMAGE, STATIC_IMAGE, dockerCli, dockerReady, removeRunContainers, uniqueName } from '../helpers/docker.js'
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js'
import { freePort } from '../helpers/free-port.js'

const ROOT = resolve(import.meta.dirname, '../..')
const TOKEN = 'cli-test-token-0123456789'
/** Text as a regular expression that matches it literally. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

describe.runIf(await dockerReady('CLI acceptance'))('CLI acceptance', () => {
  describe('the CLI against a real gateway and Docker', () => {
    let gw: GatewayProcess
    beforeAll(async () => {
      // A short start timeout, for the container launched on the wrong port below.
      gw = await startGateway('node', { auth: { tokens: [TOKEN] }, readiness: { startTimeoutSeconds: 20 } })
    })
    afterAll(async () => {
      await gw?.stop()
      await removeRunContainers()
    })

    /** Run the CLI; resolves exit code and output. */
    const cli = (args: string[], env: Record<string, string> = {}) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'src/cli.ts', ...args],
          {
            cwd: ROOT,
            env: { ...process.env, HONO_DOCKER_ENGINE_URL: gw.url, HONO_DOCKER_ENGINE_TOKEN: TOKEN, ...env },
          },
          (err, stdout, stderr) =>
            done({
              code: err ? ((err as { code?: number }).code ?? 1) : 0,
              stdout,
              stderr: stderr.replace(/npm warn.*\n/g, ''),
            }),
        )
      })

    it('launches, waits until ready, lists, shows logs, and removes', async () => {
      const name = uniqueName('cli')
      const launched = await cli([
        'launch',
        ECHO_IMAGE,
        '--name',
        name,
        '--env',
        'MODE=cli',
        '--label',
        'via=cli',
        '--input',
        '{"a":1}',
      ])
      expect(launched.code, launched.stderr).toBe(0)
      expect(launched.stdout.trim()).toBe(`${name} ready ${gw.url}/docker/${name}/`)
      expect((await fetch(`${gw.url}/docker/${name}/input?mode=env`)).status).toBe(200)

      const table = await cli(['ls'])
      expect(table.code).toBe(0)
      expect(table.stdout).toMatch(/^NAME\s+STATUS\s+IMAGE\s+URL\s+LAST ACTIVITY/)
      expect(table.stdout).toContain(name)
      const listed = JSON.parse((await cli(['ls', '--json'])).stdout) as {
        name: string
        labels: Record<string, string>
      }[]
      expect(listed.find((c) => c.name === name)?.labels.via).toBe('cli')

      const logs = await cli(['logs', name, '--tail', '50'])
      expect(logs.code).toBe(0)
      expect(logs.stdout).toContain('echo listening on :80')

      const removed = await cli(['rm', name])
      expect(removed.stdout.trim()).toBe(`removed ${name}`)
      expect(await dockerCli('ps', '-aq', '--filter', `name=^/${name}$`)).toBe('')
    })

    it('launches as JSON for scripts, and purges by label', async () => {
      const name = uniqueName('clijson')
      const launched = await cli(['launch', STATIC_IMAGE, '--name', name, '--label', 'batch=x', '--json'])
      expect(launched.code, launched.stderr).toBe(0)
      expect(JSON.parse(launched.stdout)).toMatchObject({ name, status: 'ready', url: `${gw.url}/docker/${name}/` })
      const selected = JSON.parse((await cli(['ls', '--label', 'batch=x', '--label', 'batch', '--json'])).stdout)
      expect(selected.map((c: { name: string }) => c.name)).toEqual([name])
      expect(JSON.parse((await cli(['ls', '--label', 'batch=y', '--json'])).stdout)).toEqual([])
      const purged = await cli(['purge', '--label', 'batch=x', '--json'])
      expect(JSON.parse(purged.stdout)).toEqual({ removed: [name] })
    })

    it('fails with one-line reasons and distinct exit codes', async () => {
      const missing = await cli(['rm', uniqueName('nobody')])
      expect(missing.code).toBe(1)
      expect(missing.stderr.trim().split('\n')).toHaveLength(1)
      expect(missing.stderr).toMatch(/^hono-docker-engine rm: .*404/)
      const usage = await cli(['launch'])
      expect(usage.code).toBe(2)
      const unknownFlag = await cli(['ls', '--colour'])
      expect(unknownFlag.code).toBe(2)
      const badToken = await cli(['ls'], { HONO_DOCKER_ENGINE_TOKEN: 'wrong-token-wrong-token' })
      expect(badToken.code).toBe(1)
      expect(badToken.stderr).toContain('401')
      // A port that was free a moment ago: closed, so the connection is refused.
      const closed = await freePort()
      const down = await cli(['ls', '--url', `http://127.0.0.1:${closed}`])
      expect(down.code).toBe(69)
      expect(down.stderr).toContain(`cannot reach the gateway at http://127.0.0.1:${closed} (ECONNREFUSED)`)
      const bad = await cli(['launch', '127.0.0.1:9/hde-missing:1', '--name', uniqueName('nopull')])
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain('127.0.0.1:9/hde-missing:1')
    })

    it('tells why a container on the wrong port is not ready, naming the port its image exposes', async () => {
      // The echo image listens on 80 (and says so with EXPOSE 80); launched as if it listened on 8080.
      const name = uniqueName('wrongport')
      const started = Date.now()
      const launched = await cli(['launch', ECHO_IMAGE, '--name', name, '--port', '8080'])
      const hint = 'the connection failed on port 8080; its image exposes 80 (launch it with "port": 80)'
      // While it waits, the CLI says why; when the start timeout passes, it fails with the same words.
      expect(launched.stderr).toMatch(new RegExp(`${name}: starting \\(not ready after \\d+ s: ${literal(hint)}\\)…`))
      expect(launched.stderr).toContain(
        `${name} is failed: not ready within 20 s: ${hint} (its output: hono-docker-engine logs ${name})`,
      )
      expect(launched.code).toBe(1)
      expect(Date.now() - started).toBeLessThan(90_000)
    }, 120_000)

    it('health: asks the gateway the config describes, or the given URL; exit 0 when live or ready, 69 when not', async () => {
      const port = new URL(gw.url).port
      // No URL given: the port comes from the configuration (here an HDE_ variable), as in the image.
      const live = await cli(['health'], { HONO_DOCKER_ENGINE_URL: '', HDE_LISTEN_PORT: port })
      expect(live.code, live.stderr).toBe(0)
      expect(live.stdout.trim()).toBe('live')
      const ready = await cli(['health', '--ready'])
      expect(ready.code, ready.stderr).toBe(0)
      expect(ready.stdout.trim()).toBe('ready')
      const closed = await freePort()
      const down = await cli(['health'], { HONO_DOCKER_ENGINE_URL: '', HDE_LISTEN_PORT: String(closed) })
      expect(down.code).toBe(69)
      expect(down.stderr).toContain(`http://127.0.0.1:${closed}`)
      const badConfig = await cli(['health'], { HONO_DOCKER_ENGINE_URL: '', HDE_LISTEN_PORT: 'eighty' })
      expect(badConfig.code).toBe(2)
      expect(badConfig.stderr).toContain('HDE_LISTEN_PORT')
    })

    it('has --help for every command', async () => {
      for (const command of ['serve', 'health', 'launch', 'ls', 'logs', 'rm', 'purge', 'pull']) {
        const help = await cli([command, '--help'])
        expect(help.code, command).toBe(0)
        expect(help.stdout).toContain(`Usage: hono-docker-engine ${command}`)
      }
      expect((await cli(['--help'])).stdout).toContain('Commands:')
    })
  })
})
