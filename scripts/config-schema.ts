// Write config.schema.json from the valibot schema (npm run schema). A test fails if it drifts.
import { writeFile } from 'node:fs/promises'
import { configJsonSchema } from '../src/config/json-schema.js'

await writeFile(new URL('../config.schema.json', import.meta.url), `${JSON.stringify(configJsonSchema(), null, 2)}\n`)
console.log('wrote config.schema.json')
