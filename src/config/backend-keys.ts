import { parseConfig, type Config } from './schema.js'

/** The configuration's defaults. */
const DEFAULTS = parseConfig({})
/** The keys that say how to build a backend (read by the CLI): set, they are refused with a given backend. */
const BACKEND_SECTIONS = ['backend', 'docker', 'swarm'] as const

/**
 * A configuration without the keys that build a backend: what the CLI passes with the backend it
 * built from them. A gateway given its backend refuses those keys set (see `createGateway`).
 */
export function withoutBackendKeys(config: Config): Config {
  return { ...config, backend: DEFAULTS.backend, docker: DEFAULTS.docker, swarm: DEFAULTS.swarm }
}

/** The first backend key set to other than its default, as `docker.socketPath`. */
export function firstBackendKey(config: Config): string | undefined {
  for (const section of BACKEND_SECTIONS) {
    const value = config[section] as unknown
    const fallback = DEFAULTS[section] as unknown
    if (typeof value !== 'object' || value === null) {
      if (value !== fallback) return section
      continue
    }
    for (const [key, setting] of Object.entries(value))
      if (JSON.stringify(setting) !== JSON.stringify((fallback as Record<string, unknown>)[key]))
        return `${section}.${key}`
  }
  return undefined
}
