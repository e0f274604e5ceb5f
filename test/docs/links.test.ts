import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\w\- ]/g, '')
    .replaceAll(' ', '-')

const anchorsIn = (page: string) =>
  new Set([...readFileSync(join(ROOT, page), 'utf8').matchAll(/^#{1,4} (.+)$/gm)].map((match) => anchorOf(match[1]!)))

describe('the documentation', () => {
  it('links only to files and headings that exist', () => {
    const broken: string[] = []
    for (const page of PAGES) {
      const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '')
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:)/.test(target!)) continue
        const [path, anchor] = target!.split('#') as [string, string | undefined]
        const file = path ? join(dirname(join(ROOT, page)), path) : join(ROOT, page)
        if (!existsSync(file)) broken.push(`${page}: ${target} (no such file)`)
        else if (anchor && file.endsWith('.md') && !anchorsIn(file.slice(ROOT.length + 1)).has(anchor))
          broken.push(`${page}: ${target} (no such heading)`)
      }
    }
    expect(broken).toEqual([])
  })

  it('keeps the README short, and lists every page of docs/', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    expect(readme.length).toBeLessThan(16_000)
    for (const page of PAGES.filter((p) => p.startsWith('docs/') && p !== 'docs/README.md'))
      expect(readme, page).toContain(`](${page})`)
  })
})
