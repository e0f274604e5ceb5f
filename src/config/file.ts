import { readFile } from 'node:fs/promises'
import { parseConfig, type Config } from './schema.js'
import { ConfigError } from '../errors.js'
import { configFromEnv, deepMerge } from './environment.js'

/** The config file the gateway reads by default, relative to the working directory. */
export const DEFAULT_CONFIG_FILE = 'wrangler-free-local-config.json'

/** The variable naming the config file when no `--config` is given (e.g. in the image). */
export const CONFIG_FILE_VARIABLE = 'HONO_DOCKER_ENGINE_CONFIG'

/**
 * Read and validate a JSON config file: `path`, else the file `HONO_DOCKER_ENGINE_CONFIG` names,
 * else {@link DEFAULT_CONFIG_FILE}, with the `HDE_` variables of `env` laid over it. A missing
 * default file means "all defaults"; a missing named file, invalid JSON, or a schema mismatch is
 * a {@link ConfigError}.
 */
export async function loadConfigFile(
  path: string | undefined,
  env: Record<string, string | undefined> = {},
): Promise<{ config: Config; source: string; unknownVariables: string[] }> {
  const named = path ?? (env[CONFIG_FILE_VARIABLE] || undefined)
  const file = named ?? DEFAULT_CONFIG_FILE
  const fromEnv = configFromEnv(env)
  const withEnv = (json: unknown, source: string) => {
    if (!fromEnv.used.length) return { config: parseConfig(json, source), source, unknownVariables: fromEnv.unknown }
    const both = `${source} and ${fromEnv.used.join(', ')}`
    return {
      config: parseConfig(deepMerge(json, fromEnv.values), both),
      source: both,
      unknownVariables: fromEnv.unknown,
    }
  }
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if (!named && (err as NodeJS.ErrnoException).code === 'ENOENT') return withEnv({}, 'built-in defaults')
    throw new ConfigError(`Cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(
      `Config file ${file} is not valid JSON${whereInText(text, err as Error)}: ${(err as Error).message}`,
    )
  }
  return withEnv(json, `config file ${file}`)
}

/** `at line L, column C` of a JSON syntax error, when the runtime's message gives its offset. */
function whereInText(text: string, err: Error): string {
  const position = /position (\d+)/.exec(err.message)?.[1]
  const lineColumn = /line (\d+) column (\d+)/.exec(err.message)
  if (lineColumn) return ` at line ${lineColumn[1]}, column ${lineColumn[2]}`
  if (position === undefined) return ''
  const before = text.slice(0, Number(position)).split('\n')
  return ` at line ${before.length}, column ${before.at(-1)!.length + 1}`
}
