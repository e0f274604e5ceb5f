import { PULL_FAILURE_WORDS, type PullFailureReason } from './backends/pull-failure.js'
/**
 * Domain errors. The core and the backends throw these; only `src/api/errors.ts`
 * turns them into HTTP responses.
 */

/** No managed container has this name. */
export class ContainerNotFoundError extends Error {
  override name = 'ContainerNotFoundError'
  constructor(
    readonly containerName: string,
    options?: ErrorOptions,
  ) {
    super(`No container named "${containerName}" is managed by this gateway`, options)
  }
}

/** A container (managed or not) already uses this name. */
export class NameConflictError extends Error {
  override name = 'NameConflictError'
  constructor(
    readonly containerName: string,
    options?: ErrorOptions,
  ) {
    super(`A container named "${containerName}" already exists`, options)
  }
}

/** The image is not present and could not be pulled. */
export class ImageUnavailableError extends Error {
  override name = 'ImageUnavailableError'
  /** Why, as a client can switch on it. */
  readonly reason: PullFailureReason
  constructor(
    readonly image: string,
    reason: PullFailureReason,
    options?: ErrorOptions,
  ) {
    super(`Image "${image}" is not available: ${PULL_FAILURE_WORDS[reason]}`, options)
    this.reason = reason
  }
}

/** The engine rejected the container specification (e.g. a limit it cannot apply). */
export class InvalidSpecError extends Error {
  override name = 'InvalidSpecError'
}

/** The container engine cannot be reached or did not answer in time. */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError'
}

/** The store shared by replicas (Redis) cannot be reached or did not answer in time. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}

/** The container engine answered with something unexpected. */
export class BackendError extends Error {
  override name = 'BackendError'
}

/** The configuration does not match its schema; the message names each key. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** The upstream closed or refused the connection before answering. */
export class UpstreamConnectError extends Error {
  override name = 'UpstreamConnectError'
}

/** The upstream did not send response headers within the configured time. */
export class UpstreamTimeoutError extends Error {
  override name = 'UpstreamTimeoutError'
}

/** A client's request body stayed silent longer than the body idle timeout. */
export class RequestBodyTimeoutError extends Error {
  override name = 'RequestBodyTimeoutError'
}

/** A launch does not fit under the memory limit even after evicting idle containers. */
export class InsufficientMemoryError extends Error {
  override name = 'InsufficientMemoryError'
}

/** The image is outside the configured allowlist. */
export class ImageNotAllowedError extends Error {
  override name = 'ImageNotAllowedError'
}

/** The caller is not allowed to read this resource (e.g. a wrong input token). */
export class AccessDeniedError extends Error {
  override name = 'AccessDeniedError'
}
