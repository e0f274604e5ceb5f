import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '..')
const SRC = join(ROOT, 'src')

/** Every source file, by path relative to the repository. */
function sources(dir = SRC): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    return statSync(path).isDirectory() ? sources(path) : /\.tsx?$/.test(path) ? [relative(ROOT, path)] : []
  })
}

/** A file's imports: relative ones resolved to files, the rest as package specifiers. */
function importsOf(file: string): { local: string[]; packages: string[] } {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const specs = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1] ?? m[2]!)
  const local = specs
    .filter((s) => s.startsWith('.'))
    .map((s) => {
      const path = normalize(join(dirname(file), s)).replace(/\.js$/, '.ts')
      return existsSync(join(ROOT, path)) ? path : `${path}x` // a `.tsx` module, imported as `.js`
    })
  return { local, packages: specs.filter((s) => !s.startsWith('.')) }
}

/** Modules only runtime adapters, the Docker backend, the file store and the CLI may import. */
const RUNTIME_ONLY = /^(node:|dockerode$|undici$|ws$|tar-stream$|@hono\/node-server|bun$)/

describe('architecture', () => {
  const files = sources()
  const graph = new Map(files.map((file) => [file, importsOf(file)]))

  it('has no import cycles', () => {
    const cycles: string[] = []
    const onPath: string[] = []
    const done = new Set<string>()
    const visit = (file: string) => {
      onPath.push(file)
      for (const next of graph.get(file)?.local ?? []) {
        const at = onPath.indexOf(next)
        if (at !== -1) cycles.push([...onPath.slice(at), next].join(' → '))
        else if (!done.has(next)) visit(next)
      }
      onPath.pop()
      done.add(file)
    }
    for (const file of files) if (!done.has(file)) visit(file)
    expect(cycles).toEqual([])
  })

  it('keeps the core free of runtime modules: the gateway and all it imports use Web standards only', () => {
    const reached = new Set<string>()
    const walk = (file: string) => {
      if (reached.has(file)) return
      reached.add(file)
      for (const next of graph.get(file)?.local ?? []) walk(next)
    }
    walk('src/index.ts')
    walk('src/gateway.ts')
    const offenders = [...reached].flatMap((file) =>
      (graph.get(file)?.packages ?? []).filter((p) => RUNTIME_ONLY.test(p)).map((p) => `${file} imports ${p}`),
    )
    expect(offenders).toEqual([])
    // And runtime modules appear only at the edges.
    const edges =
      /^src\/(adapter\/|backends\/docker\/|backends\/swarm\/|cli\.ts|cli\/|stores\/file\.ts|config\/file\.ts)/
    const elsewhere = files
      .filter((file) => !edges.test(file))
      .flatMap((file) =>
        graph
          .get(file)!
          .packages.filter((p) => RUNTIME_ONLY.test(p))
          .map((p) => `${file} imports ${p}`),
      )
    expect(elsewhere).toEqual([])
  })

  it('shows its layout at a glance: at most 8 files at the top of src/, adapters under src/adapter/<runtime>/', () => {
    const top = files.filter((file) => dirname(file) === 'src')
    expect(top.length, top.join(', ')).toBeLessThanOrEqual(8)
    expect(files.filter((file) => /node|bun/.test(file) && !file.startsWith('src/adapter/'))).toEqual([])
  })
})
