import { readFile } from 'node:fs/promises'
import { parseConfig, type Config } from './schema.js'
import { ConfigError } from '../errors.js'

/** The config file the gateway reads by default, relative to the working directory. */
export const DEFAULT_CONFIG_FILE = 'wrangler-free-local-config.json'

/**
 * Read and validate a JSON config file. A missing default file means "all defaults";
 * a missing explicit file, invalid JSON, or a schema mismatch is a {@link ConfigError}.
 */
export async function loadConfigFile(path: string | undefined): Promise<{ config: Config; source: string }> {
  const file = path ?? DEFAULT_CONFIG_FILE
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if (!path && (err as NodeJS.ErrnoException).code === 'ENOENT')
      return { config: parseConfig({}), source: 'built-in defaults' }
    throw new ConfigError(`Cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`Config file ${file} is not valid JSON: ${(err as Error).message}`)
  }
  return { config: parseConfig(json, `config file ${file}`), source: file }
}
