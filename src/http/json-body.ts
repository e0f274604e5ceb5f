import * as v from 'valibot'
import { ApiError, validationError } from './errors.js'

/** How deep a JSON body may nest: far beyond any real input, far below what `JSON.stringify` survives. */
const MAX_JSON_DEPTH = 64

/**
 * Read a request's JSON body and validate it with `schema`: `415` unless it is sent as JSON,
 * `400` for malformed or too deeply nested JSON, and `400` naming each field that `schema` refuses.
 */
export async function readJson<S extends v.GenericSchema>(
  request: Request,
  schema: S,
  what: string,
): Promise<v.InferOutput<S>> {
  const type = request.headers.get('content-type') ?? ''
  if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
    throw new ApiError(415, 'unsupported_media_type', 'Send the body as JSON (Content-Type: application/json)')
  }
  let raw: unknown
  try {
    raw = await request.json()
  } catch {
    throw new ApiError(400, 'invalid_json', 'The request body is not valid JSON')
  }
  if (nestsDeeperThan(raw, MAX_JSON_DEPTH)) {
    throw new ApiError(400, 'invalid_json', `The request body nests deeper than ${MAX_JSON_DEPTH} levels`)
  }
  const result = v.safeParse(schema, raw)
  if (!result.success) throw validationError(result.issues, what)
  return result.output
}

/** Whether a parsed JSON value nests deeper than `max` arrays or objects; walked without recursion. */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length) {
    const [item, depth] = stack.pop()!
    if (item === null || typeof item !== 'object') continue
    if (depth >= max) return true
    for (const child of Object.values(item))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
  }
  return false
}
