import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { configJsonSchema } from '../../src/config/json-schema.js'

const ROOT = resolve(import.meta.dirname, '../..')

interface JsonSchema {
  type?: string
  properties?: Record<string, JsonSchema>
  default?: unknown
}

/** Every configurable key of the schema, as a dotted path, with its default. */
function schemaKeys(schema: JsonSchema, prefix = ''): Map<string, unknown> {
  const keys = new Map<string, unknown>()
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (name === '$schema') continue
    const path = `${prefix}${name}`
    // An object of named keys is a section; one without (labels, env) is a value.
    if (property.type === 'object' && property.properties && Object.keys(property.properties).length)
      for (const [key, value] of schemaKeys(property, `${path}.`)) keys.set(key, value)
    else keys.set(path, property.default)
  }
  return keys
}

/** The reference's rows: the keys each names (`a.b`, `.c` meaning `a.c`) and the defaults it gives. */
function documentedRows(): { keys: string[]; defaults: string[] }[] {
  const page = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8')
  return [...page.matchAll(/^\| (`[^|]+) \| ([^|]*) \|/gm)].map(([, first, second]) => {
    const keys: string[] = []
    for (const [, key] of first!.matchAll(/`([^`]+)`/g)) {
      const previous = keys.at(-1)
      keys.push(key!.startsWith('.') && previous ? previous.replace(/\.[^.]+$/, key!) : key!)
    }
    return { keys, defaults: [...second!.matchAll(/`([^`]+)`/g)].map(([, value]) => value!) }
  })
}

describe('the configuration reference (docs/configuration.md)', () => {
  const keys = schemaKeys(configJsonSchema() as JsonSchema)
  const rows = documentedRows()

  it('documents every key of the schema, and no key the schema lacks', () => {
    const documented = new Set(rows.flatMap((row) => row.keys))
    expect(
      [...keys.keys()].filter((key) => !documented.has(key)),
      'keys with no row',
    ).toEqual([])
    expect(
      [...documented].filter((key) => !keys.has(key)),
      'rows naming no key',
    ).toEqual([])
  })

  it("gives each key the schema's default where it states one as a value", () => {
    const wrong: string[] = []
    let compared = 0
    for (const { keys: named, defaults } of rows) {
      // Only rows that give one plain value per key: prose defaults ("see Security") are read by people.
      if (defaults.length !== named.length) continue
      named.forEach((key, i) => {
        const schemaDefault = keys.get(key)
        if (schemaDefault === undefined || typeof schemaDefault === 'object') return
        compared++
        if (String(schemaDefault) !== defaults[i])
          wrong.push(`${key}: documented ${defaults[i]}, schema ${schemaDefault}`)
      })
    }
    expect(wrong).toEqual([])
    expect(compared).toBeGreaterThan(30)
  })
})
