import type * as v from 'valibot'
import { ConfigSchema } from './schema.js'

/** What every configuration variable's name starts with. */
export const ENV_PREFIX = 'HDE_'

/**
 * The variable that sets a configuration key: {@link ENV_PREFIX} and the key's path in upper
 * snake case, `listen.allowedHosts` → `HDE_LISTEN_ALLOWED_HOSTS`, `idle.timeoutSeconds` →
 * `HDE_IDLE_TIMEOUT_SECONDS`.
 */
export function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map((key) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')
}

type AnySchema = v.GenericSchema & { wrapped?: AnySchema; entries?: Record<string, AnySchema> }

/** A schema without its `optional`/`nullable` wrappers. */
function unwrap(schema: AnySchema): AnySchema {
  return schema.wrapped ? unwrap(schema.wrapped) : schema
}

/** Every settable key: its path and the type of its value (`object` keys are walked into). */
function leaves(entries: Record<string, AnySchema>, path: string[] = []): { path: string[]; type: string }[] {
  return Object.entries(entries).flatMap(([key, schema]) => {
    const inner = unwrap(schema)
    if (key === '$schema') return []
    if ((inner.type === 'strict_object' || inner.type === 'object') && inner.entries)
      return leaves(inner.entries, [...path, key])
    return [{ path: [...path, key], type: inner.type }]
  })
}

const VARIABLES = new Map(
  leaves((ConfigSchema as unknown as AnySchema).entries ?? {}).map((leaf) => [envName(leaf.path), leaf]),
)

/**
 * A variable's text as the value its key takes: numbers and booleans as such, lists as a JSON
 * array or comma-separated, maps and objects as JSON. Anything else stays text, so the schema
 * reports what is wrong in its own words.
 */
function settingOf(text: string, type: string): unknown {
  const json = () => {
    try {
      return JSON.parse(text) as unknown
    } catch {
      return text
    }
  }
  if (type === 'number') return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text
  if (type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text
  if (type === 'array')
    return text.trim().startsWith('[')
      ? json()
      : text
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean)
  if (type === 'string' || type === 'picklist') return text
  return json()
}

/** Configuration set by environment variables, and the `HDE_` variables that set nothing. */
export interface EnvConfig {
  /** The keys set, as a partial configuration object. */
  values: Record<string, unknown>
  /** Variable names used. */
  used: string[]
  /** `HDE_` variables that name no key (likely typos). */
  unknown: string[]
}

/** Read the configuration variables of an environment (see {@link envName}). */
export function configFromEnv(env: Record<string, string | undefined>): EnvConfig {
  const values: Record<string, unknown> = {}
  const used: string[] = []
  const unknown: string[] = []
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || text === undefined) continue
    const leaf = VARIABLES.get(name)
    if (!leaf) {
      unknown.push(name)
      continue
    }
    used.push(name)
    let target = values
    for (const key of leaf.path.slice(0, -1)) {
      target[key] ??= {}
      target = target[key] as Record<string, unknown>
    }
    target[leaf.path.at(-1)!] = settingOf(text, leaf.type)
  }
  return { values, used: used.sort(), unknown: unknown.sort() }
}

/** `base` with `over` laid on top, objects merged key by key (lists and values replaced). */
export function deepMerge(base: unknown, over: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> =
    typeof base === 'object' && base !== null && !Array.isArray(base) ? { ...(base as Record<string, unknown>) } : {}
  for (const [key, value] of Object.entries(over)) {
    const current = result[key]
    result[key] =
      typeof value === 'object' && value !== null && !Array.isArray(value) && typeof current === 'object'
        ? deepMerge(current, value as Record<string, unknown>)
        : value
  }
  return result
}
