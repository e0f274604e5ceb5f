import { execFile } from 'node:child_process'
import { cp, mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STATIC_IMAGE, dockerReady, removeRunContainers, uniqueName } from '../helpers/docker.js'

const exec = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '../..')

describe.runIf(await dockerReady('package acceptance'))('package acceptance', () => {
  describe('the npm package, packed and installed into an empty project', () => {
    let project: string
    beforeAll(async () => {
      const packDir = await mkdtemp(join(tmpdir(), 'hde-pack-'))
      await exec('npm', ['pack', '--pack-destination', packDir], { cwd: ROOT })
      const tarball = join(packDir, (await readdir(packDir)).find((f) => f.endsWith('.tgz'))!)
      project = await mkdtemp(join(tmpdir(), 'hde-consumer-'))
      await writeFile(
        join(project, 'package.json'),
        JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
      )
      // Dependencies come from the local npm cache that the project's own install filled.
      await exec('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: project })
      await cp(join(ROOT, 'test/package'), project, { recursive: true })
    }, 240_000)
    afterAll(removeRunContainers)

    it('passes npm publish --dry-run without a warning about the manifest or its files', async () => {
      // Offline, against a registry address that answers nothing: a dry run only packs and checks (and
      // says it is not logged in); online, npm would spend a minute retrying that address.
      const { stderr } = await exec(
        'npm',
        [
          'publish',
          '--dry-run',
          '--offline',
          '--ignore-scripts',
          '--registry',
          'http://127.0.0.1:9/',
          '--loglevel',
          'warn',
        ],
        { cwd: ROOT },
      )
      const warnings = stderr
        .split('\n')
        .filter((line) => line.startsWith('npm warn') && !/requires you to be logged in/.test(line))
      expect(warnings).toEqual([])
    }, 120_000)

    it('ships ESM with type declarations for every entry; the core needs no Node types', async () => {
      const typecheck = async (file: string, types: string[]) => {
        const tsconfig = {
          compilerOptions: {
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            target: 'ES2022',
            lib: ['ES2023', 'DOM', 'DOM.Iterable'],
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types,
          },
          files: [file],
        }
        await writeFile(join(project, `tsconfig.${file}.json`), JSON.stringify(tsconfig))
        return exec(join(ROOT, 'node_modules/.bin/tsc'), ['-p', `tsconfig.${file}.json`], { cwd: project }).then(
          () => '',
          (err: { stdout: string }) => err.stdout,
        )
      }
      expect(await typecheck('core-types.ts', [])).toBe('')
      // The Node entries use Node's types, which a Node project has.
      await exec('npm', ['install', '-D', '@types/node', '--prefer-offline', '--no-audit', '--no-fund'], {
        cwd: project,
      })
      expect(await typecheck('consumer-types.ts', ['node'])).toBe('')
    })

    it('has a working bin', async () => {
      const { stdout } = await exec(join(project, 'node_modules/.bin/hono-docker-engine'), ['--help'], { cwd: project })
      expect(stdout).toContain('Usage: hono-docker-engine <command>')
    })

    for (const runtime of ['node', 'bun'] as const) {
      it(`embeds into a Hono app, launches a container and proxies to it, on ${runtime}`, async () => {
        const name = uniqueName(`pkg${runtime}`)
        const command = runtime === 'node' ? process.execPath : join(ROOT, 'node_modules/.bin/bun')
        const { stdout } = await exec(command, ['consumer.mjs', STATIC_IMAGE, name, 'io.github.hde-test.package'], {
          cwd: project,
          timeout: 60_000,
        })
        const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, any>
        expect(result.runtime).toBe(runtime)
        expect(result.memoryBackend).toBe(true)
        expect(result.launch).toMatchObject({ http: 201, name, url: `/viz/docker/${name}/` })
        expect(result.page.status).toBe(200)
        expect(result.page.body).toContain('Welcome to the hde static test page')
        expect(result.home).toBe('consumer home')
        expect(result.removed).toBe(204)
        expect(result.dashboardAssets).toEqual({
          'dashboard.js': '200 true',
          'dashboard.css': '200 true',
          'uPlot.iife.min.js': '200 true',
        })
      })
    }
  })
})
