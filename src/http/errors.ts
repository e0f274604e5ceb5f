import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import * as v from 'valibot'
import {
  AccessDeniedError,
  BackendError,
  BackendUnavailableError,
  StoreUnavailableError,
  ContainerNotFoundError,
  ImageNotAllowedError,
  ImageUnavailableError,
  InsufficientMemoryError,
  InvalidSpecError,
  NameConflictError,
} from '../errors.js'
import { describeIssue } from '../util/describe-issue.js'
import { errorBody } from './answer.js'

/** The JSON shape of every error the gateway answers. */
export interface ErrorBody {
  error: {
    /** Stable machine-readable code. */
    code: string
    /** One human sentence; never a stack trace. */
    message: string
    /** Field-level problems for validation errors. */
    issues?: { path: string; message: string }[]
  }
}

/** An error that already knows its HTTP status and body. */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly issues?: ErrorBody['error']['issues'],
  ) {
    super(status, { message })
  }
}

/** Turn valibot issues into a 400 that names each field. */
export function validationError(issues: readonly v.BaseIssue<unknown>[], what: string): ApiError {
  const list = issues.map((issue) => ({ path: v.getDotPath(issue) ?? '', message: describeIssue(issue) }))
  const summary = list.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')
  return new ApiError(400, 'invalid_request', `Invalid ${what}: ${summary}`, list)
}

const MAPPED: [new (...args: never[]) => Error, ContentfulStatusCode, string][] = [
  [ContainerNotFoundError, 404, 'container_not_found'],
  [NameConflictError, 409, 'name_conflict'],
  [ImageNotAllowedError, 403, 'image_not_allowed'],
  [AccessDeniedError, 403, 'forbidden'],
  [ImageUnavailableError, 422, 'image_unavailable'],
  [InvalidSpecError, 400, 'invalid_spec'],
  [InsufficientMemoryError, 507, 'insufficient_memory'],
  [BackendUnavailableError, 503, 'backend_unavailable'],
  [StoreUnavailableError, 503, 'store_unavailable'],
  [BackendError, 502, 'backend_error'],
]

/**
 * The one place where errors become HTTP responses. Unknown errors are logged by the
 * caller and answered with a generic 500 that reveals nothing internal.
 */
export function toErrorResponse(err: unknown): { status: ContentfulStatusCode; body: ErrorBody; known: boolean } {
  if (err instanceof ApiError) {
    return {
      status: err.status as ContentfulStatusCode,
      body: errorBody(err.code, err.message, err.issues ? { issues: err.issues } : {}),
      known: true,
    }
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode
    return {
      status,
      body: errorBody(`http_${status}`, err.message || 'Request failed'),
      known: true,
    }
  }
  for (const [type, status, code] of MAPPED) {
    if (!(err instanceof type)) continue
    // A failed pull says why, as a client can switch on it (`not_found`, `unauthorized`, …).
    const extra = err instanceof ImageUnavailableError ? { reason: err.reason } : {}
    return { status, body: errorBody(code, err.message, extra), known: true }
  }
  return {
    status: 500,
    body: errorBody('internal_error', 'The gateway failed to handle this request; the operator log has details'),
    known: false,
  }
}
