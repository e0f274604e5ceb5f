import { toJsonSchema } from '@valibot/to-json-schema'
import { ConfigSchema } from './schema.js'

/**
 * The JSON Schema of the config file, generated from the valibot schema that validates it.
 * `config.schema.json` is this, written by `npm run schema`; editors use it through `$schema`.
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...toJsonSchema(ConfigSchema, { target: 'draft-2020-12', typeMode: 'input', errorMode: 'ignore' }),
    title: 'hono-docker-engine configuration',
  }
}
