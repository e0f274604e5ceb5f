import { InvalidSpecError } from '../errors.js'
import { randomToken } from '../util/secrets.js'

/** How a launch's `input` reaches the container. */
export type InputDelivery = 'env' | 'url' | 'file'

/** What a launch asks for. */
export interface InputRequest {
  /** The input document (any JSON). */
  input: unknown
  /** Delivery modes; each one chosen is applied. */
  modes: InputDelivery[]
  /** In-container path for `file` mode. */
  path: string
  /** Add `api_prefix: "/docker/<name>/"` to an object input (the original's tool convention). */
  apiPrefix?: string
  /** Root filesystem is read-only (no file can be written into it). */
  readOnlyRootfs: boolean
}

/** Limits and addresses from the configuration. */
export interface InputSettings {
  /** Largest `INPUT_JSON=…` environment entry, in bytes. */
  maxEnvBytes: number
  /** Base URL containers use to reach this gateway's API (`url` mode). */
  publicApiUrl?: string
}

/** What the launch adds to the container for its input. */
export interface PreparedInput {
  env: Record<string, string>
  files: { path: string; content: Uint8Array }[]
  /** The JSON and its token, to be served at the input URL (`url` mode). */
  served?: { json: string; token: string }
}

/**
 * Turn a launch's input into env variables, files and a served document. `INPUT_JSON` and
 * `INPUT_JSON_URL` keep the names Refinery tools read.
 * @throws InvalidSpecError when a mode cannot be honoured (naming the limit or setting).
 */
export function prepareInput(request: InputRequest, name: string, settings: InputSettings): PreparedInput {
  let document = request.input
  if (request.apiPrefix && document && typeof document === 'object' && !Array.isArray(document)) {
    document = { ...(document as Record<string, unknown>), api_prefix: request.apiPrefix }
  }
  const json = JSON.stringify(document)
  const prepared: PreparedInput = { env: {}, files: [] }
  for (const mode of new Set(request.modes)) {
    if (mode === 'env') {
      const bytes = new TextEncoder().encode(`INPUT_JSON=${json}`).length
      if (bytes > settings.maxEnvBytes) {
        throw new InvalidSpecError(
          `The input is ${bytes} bytes as an environment variable, over the ${settings.maxEnvBytes}-byte limit (input.maxEnvBytes); deliver it with inputDelivery "file" or "url"`,
        )
      }
      prepared.env.INPUT_JSON = json
    } else if (mode === 'file') {
      if (request.readOnlyRootfs)
        throw new InvalidSpecError(
          'inputDelivery "file" needs a writable root filesystem; use "env" or "url" with readOnlyRootfs',
        )
      prepared.files.push({ path: request.path, content: new TextEncoder().encode(json) })
    } else {
      if (!settings.publicApiUrl)
        throw new InvalidSpecError(
          'inputDelivery "url" needs input.publicApiUrl: the address containers use to reach this gateway',
        )
      const token = randomToken()
      prepared.served = { json, token }
      prepared.env.INPUT_JSON_URL = `${settings.publicApiUrl}/containers/${name}/input?token=${token}`
    }
  }
  return prepared
}
