import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const exec = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '../..')
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).flatMap((f) => (f.endsWith('.md') ? [`docs/${f}`] : []))]

/** Every shell command of the documentation: `sh` blocks, comments dropped, `\`-continued lines joined. */
function documentedCommands(): { page: string; command: string }[] {
  return PAGES.flatMap((page) =>
    [...readFileSync(join(ROOT, page), 'utf8').matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)].flatMap(([, block]) =>
      block!
        .replace(/\\\n\s*/g, ' ')
        // A here-document is part of its command.
        .replace(/<<'(\w+)'\n[\s\S]*?\n\1\n/g, "<<'$1' … $1\n")
        .split('\n')
        .map((line) => line.replace(/\s+#.*$/, '').trim())
        .filter((line) => line && !line.startsWith('#'))
        .map((command) => ({ page, command })),
    ),
  )
}

/**
 * Which test runs each kind of documented command: the file, and what it must contain to show that
 * it does (the page it reads the recipe from, or the command's own words). A command that matches
 * no rule fails the check: a new command in the docs needs a test that runs it, listed here.
 */
const RUN_BY: { command: RegExp; test: string; contains: string[] }[] = [
  // The README's walk-through, run against a gateway by walkthrough.test.ts.
  { command: /^curl .*localhost:8000\/(api|docker)\//, test: 'test/docs/walkthrough.test.ts', contains: ['README.md'] },
  // The application recipes, launched as written by the real-applications suite.
  {
    command: /"image":"hde-test\/apps:1"/,
    test: 'test/browser/real-apps.test.ts',
    contains: ['docs/real-applications.md'],
  },
  {
    command: /^docker (build|run) .*hono-docker-engine/,
    test: 'test/deploy/image.test.ts',
    contains: ['docs/deploying.md', "'build'"],
  },
  {
    command: /docker compose -f deploy\/compose\.yaml up -d$/,
    test: 'test/deploy/image.test.ts',
    contains: ['deploy/compose.yaml', "'up', '-d'"],
  },
  // Swarm: the overlay, the gateway on it, Redis as a service with DNS round robin.
  {
    command: /^docker network create --driver overlay --attachable/,
    test: 'test/helpers/swarm-cluster.ts',
    contains: ["'--driver', 'overlay', '--attachable'"],
  },
  {
    command: /^mkdir -p \/etc\/hde && cat > \/etc\/hde\/config\.json/,
    test: 'test/helpers/swarm-gateway.ts',
    contains: ['mkdir -p /etc/', '/config.json'],
  },
  {
    command: /^docker run .*hde-gateway .*serve --config/,
    test: 'test/helpers/swarm-gateway.ts',
    contains: ['"serve","--config","/etc/hde/config.json"'],
  },
  {
    command: /^docker service create .*--endpoint-mode dnsrr .*redis-server --appendonly yes/,
    test: 'test/swarm/swarm.test.ts',
    contains: ["'--endpoint-mode'", "'dnsrr'"],
  },
  // Ways to run the gateway: the helper that every acceptance suite starts gateways with.
  {
    command: /^(npx tsx|bun) src\/cli\.ts serve /,
    test: 'test/helpers/gateway-process.ts',
    contains: ["'src/cli.ts'", "'serve'"],
  },
  {
    command: /^node bin\/hono-docker-engine\.js serve /,
    test: 'test/helpers/gateway-process.ts',
    contains: ["'bin/hono-docker-engine.js'"],
  },
  {
    command: /^npx openapi-typescript .* --default-non-nullable false/,
    test: 'test/api/openapi-client.test.ts',
    contains: ["'--default-non-nullable', 'false'"],
  },
]

describe('the commands in the documentation', () => {
  const commands = documentedCommands()

  it('finds the commands it checks', () => {
    expect(commands.length).toBeGreaterThan(30)
    expect(commands.map((c) => c.command)).toContain('npm test')
  })

  it('are npm scripts that exist', () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
    }
    for (const { page, command } of commands) {
      const script = /^npm (?:run )?([\w:]+)$/.exec(command)?.[1]
      if (script) expect(Object.keys(scripts), `${page}: ${command}`).toContain(script)
    }
  })

  it('use only options the CLI has', async () => {
    const cli = commands.filter(({ command }) => /^hono-docker-engine [a-z]/.test(command))
    expect(cli.length).toBeGreaterThan(5)
    for (const { page, command } of cli) {
      const [, sub] = command.split(' ')
      const { stdout } = await exec(process.execPath, ['--import', 'tsx', 'src/cli.ts', sub!, '--help'], { cwd: ROOT })
      for (const option of command.match(/--[a-z][\w-]*/g) ?? [])
        expect(stdout, `${page}: ${command} (${option})`).toContain(option)
    }
  })

  it('are each run by a test', () => {
    const unrun: string[] = []
    for (const { page, command } of commands) {
      if (/^npm (?:run )?[\w:]+$/.test(command) || command.startsWith('hono-docker-engine ')) continue
      const rule = RUN_BY.find((r) => r.command.test(command))
      if (!rule) {
        unrun.push(`${page}: ${command}`)
        continue
      }
      const test = readFileSync(join(ROOT, rule.test), 'utf8')
      for (const words of rule.contains) expect(test, `${page}: ${command} → ${rule.test}`).toContain(words)
    }
    expect(unrun, 'commands in the docs that no test runs (add a test, and a rule in RUN_BY)').toEqual([])
  })
})
