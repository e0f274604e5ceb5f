import { createConfig, lintFromString } from '@redocly/openapi-core'
import spectralCore from '@stoplight/spectral-core'
import * as Parsers from '@stoplight/spectral-parsers'
import { oas } from '@stoplight/spectral-rulesets'
import { describe, expect, it } from 'vitest'
import { openApiDocument } from '../../src/api/openapi.js'

const { Document, Spectral } = spectralCore
const document = JSON.stringify(openApiDocument('/api'), null, 2)

/**
 * The API's OpenAPI document under the two linters client developers use, in process (no CLI, no
 * network): Redocly's recommended rules and Spectral's `spectral:oas`, with nothing allowed.
 */
describe('the OpenAPI document under the linters', () => {
  it("passes Redocly's recommended rules with no error and no warning", async () => {
    const config = await createConfig({ extends: ['recommended'] })
    const problems = await lintFromString({ source: document, absoluteRef: '/openapi.json', config })
    expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} (${p.location[0]?.pointer})`)).toEqual([])
  })

  it("passes Spectral's spectral:oas with nothing reported", async () => {
    const spectral = new Spectral()
    spectral.setRuleset(oas as never)
    const results = await spectral.run(new Document(document, Parsers.Json, '/openapi.json') as never)
    expect(results.map((r) => `${r.severity} ${r.code}: ${r.message} (${r.path.join('.')})`)).toEqual([])
  })
})
