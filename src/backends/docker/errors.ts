import { BackendError, BackendUnavailableError, InvalidSpecError } from '../../errors.js'

/** A Docker error as docker-modem reports it: HTTP failures carry `statusCode`, connection failures `code`. */
export interface ModemError {
  statusCode?: number
  code?: string
  name?: string
  json?: { message?: string } | null
  message?: string
}

const CONNECTION_CODES = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EACCES',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
])

/**
 * The one place Docker errors become domain errors. Branches on status codes and
 * connection error codes, never on message text.
 */
export function mapDockerError(err: unknown, timeoutMs: number): Error {
  const e = (err ?? {}) as ModemError
  if (e.name === 'AbortError' || e.name === 'TimeoutError') {
    return new BackendUnavailableError(`The Docker Engine did not answer within ${timeoutMs} ms`, { cause: err })
  }
  if (e.statusCode === undefined) {
    if (e.code && CONNECTION_CODES.has(e.code)) {
      return new BackendUnavailableError(`Cannot reach the Docker Engine (${e.code})`, { cause: err })
    }
    return new BackendUnavailableError('The connection to the Docker Engine failed', { cause: err })
  }
  // The engine's own words name host paths and internals: they stay in `cause`, for the operator log.
  if (e.statusCode === 400)
    return new InvalidSpecError("The Docker Engine refused the container's settings; the operator log has its reason", {
      cause: err,
    })
  return new BackendError(
    `The Docker Engine failed the request (HTTP ${e.statusCode}); the operator log has its reason`,
    { cause: err },
  )
}

/** The HTTP status of a Docker error, if it has one. */
export const statusOf = (err: unknown): number | undefined => (err as ModemError | undefined)?.statusCode
