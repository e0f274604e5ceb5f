import { execFile } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')

/** Run the CLI from the sources; resolves exit code and output. No gateway or engine is needed. */
const cli = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })

describe('the CLI on its own', () => {
  it('prints its version', async () => {
    const { version } = JSON.parse(await readFile(resolve(ROOT, 'package.json'), 'utf8')) as { version: string }
    for (const flag of ['--version', '-v']) {
      const run = await cli([flag])
      expect(run.code).toBe(0)
      expect(run.stdout.trim()).toBe(version)
    }
  })

  it('names what it did not understand in one plain sentence, with the usage, and exits 2', async () => {
    const cases: [string[], string][] = [
      [['ls', '--bogus'], 'Unknown option "--bogus"'],
      [['ls', '--url'], 'Option "--url" needs a value.'],
      [['serve', 'extra'], 'Unexpected argument "extra".'],
      [['--nope'], 'hono-docker-engine: unknown option "--nope".'],
      [['frobnicate'], 'hono-docker-engine: unknown command "frobnicate".'],
    ]
    for (const [args, sentence] of cases) {
      const run = await cli(args)
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr.split('\n')[0], args.join(' ')).toContain(sentence)
      expect(run.stderr).toContain('Usage: hono-docker-engine')
      // Never Node's own wording.
      expect(run.stderr).not.toContain('To specify a positional argument')
    }
  })
})

describe('the log', () => {
  it('suggests what was meant for a near miss, and nothing for what is far from every word', async () => {
    const cases: [string[], string][] = [
      [['lauch', 'x:1'], 'unknown command "lauch". Did you mean "launch"?'],
      [['sevre'], 'unknown command "sevre". Did you mean "serve"?'],
      [['--verison'], 'unknown option "--verison". Did you mean "--version"?'],
      [['ls', '--lable', 'a=b'], 'Unknown option "--lable". Did you mean "--label"?'],
      [['serve', '--prot', '1'], 'Unknown option "--prot". Did you mean "--port"?'],
      [['logs', 'x', '--foll'], 'Unknown option "--foll". Did you mean "--follow"?'],
    ]
    for (const [args, sentence] of cases) {
      const run = await cli(args)
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr.split('\n')[0], args.join(' ')).toContain(sentence)
    }
    const far = await cli(['xyzzy'])
    expect(far.stderr).not.toContain('Did you mean')
  })

  it('refuses a --log-level it does not know, naming the choices, as a configuration error', async () => {
    const run = await cli(['serve', '--log-level', 'loud', '--port', '0'])
    expect(run.code).toBe(78)
    expect(run.stderr).toContain('--log-level must be one of debug, info, warn, error, got "loud"')
  })

  it('writes readable lines, or one JSON object per line', async () => {
    const { consoleLogger } = await import('../../src/logger.js')
    const lines: string[] = []
    const original = console.log
    console.log = (line: string) => lines.push(line)
    try {
      consoleLogger('info', { format: 'pretty' }).info('launched', { name: 'tool', image: 'x:1', note: 'two words' })
      consoleLogger('info', { format: 'pretty', color: true }).warn('slow')
      consoleLogger('warn').info('dropped below the level')
      consoleLogger().info('as json', { n: 1 })
    } finally {
      console.log = original
    }
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}launched name=tool image=x:1 note="two words"$/)
    expect(lines[1]).toContain('\x1b[33mWARN \x1b[0m slow')
    expect(lines).toHaveLength(3)
    expect(JSON.parse(lines[2]!)).toMatchObject({ level: 'info', message: 'as json', n: 1 })
  })
})

describe('what the CLI loads', () => {
  /** The packages a CLI run resolves, recorded by a module hook in a file of the test's own. */
  const packagesLoaded = async (args: string[]) => {
    const dir = await mkdtemp(join(tmpdir(), 'hde-loads-'))
    const log = join(dir, 'loaded.txt')
    const hook = join(dir, 'hook.mjs')
    await writeFile(
      hook,
      `import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(${JSON.stringify(log)}, result.url + '\\n')
  return result
}
`,
    )
    await writeFile(log, '')
    const register = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify(pathToFileURL(hook).href)})`
    await new Promise<void>((done, fail) =>
      execFile(
        process.execPath,
        ['--import', register, '--import', 'tsx', 'src/cli.ts', ...args],
        { cwd: ROOT },
        (err) => (err && (err as { code?: number }).code !== 0 ? fail(err) : done()),
      ),
    )
    const urls = (await readFile(log, 'utf8')).split('\n')
    return new Set(urls.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []))
  }

  it('answers --help and --version without loading the engine client, the metrics, tracing or Redis', async () => {
    for (const args of [['--help'], ['--version'], ['ls', '--help'], ['serve', '--help']]) {
      const loaded = await packagesLoaded(args)
      // The hook sees what is loaded (the TypeScript loader, at least).
      expect(loaded.has('tsx'), [...loaded].join(' ')).toBe(true)
      for (const heavy of ['dockerode', 'prom-client', '@opentelemetry/sdk-trace', 'ioredis', 'hono'])
        expect(loaded.has(heavy), `${args.join(' ')} loaded ${heavy}`).toBe(false)
    }
  })
})
