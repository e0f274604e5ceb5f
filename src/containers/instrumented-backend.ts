import type { Backend } from '../backend.js'
import { BackendError, BackendUnavailableError } from '../errors.js'
import type { ErrorCounter } from '../metrics.js'
import { CONTAINER_ATTRIBUTE, traced } from '../telemetry/tracing.js'

/** Engine calls that change a container: each is a span of its own (`docker start`). */
const TRACED = new Set<string | symbol>(['launch', 'start', 'stop', 'remove'])

/** The container an engine call is about: a name, or a launch spec's. */
function containerOf(args: unknown[]): string | undefined {
  const first = args[0]
  if (typeof first === 'string') return first
  const name = (first as { name?: unknown } | undefined)?.name
  return typeof name === 'string' ? name : undefined
}

/**
 * Wrap a backend so that every failed engine call is counted by operation and kind, and each
 * call that changes a container is a span (a child of the launch, wake or request that made it).
 */
export function instrumentBackend(backend: Backend, errors: ErrorCounter): Backend {
  const count = (operation: string, err: unknown) => {
    const kind =
      err instanceof BackendUnavailableError ? 'unavailable' : err instanceof BackendError ? 'error' : undefined
    if (kind) errors.inc({ operation, kind })
  }
  return new Proxy(backend, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown
      if (typeof value !== 'function') return value
      const call = (args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args)
        if (result instanceof Promise) {
          return result.catch((err: unknown) => {
            count(String(property), err)
            throw err
          })
        }
        return result
      }
      if (!TRACED.has(property)) return (...args: unknown[]) => call(args)
      return (...args: unknown[]) => {
        const container = containerOf(args)
        const attributes = container ? { [CONTAINER_ATTRIBUTE]: container } : {}
        return traced(`${backend.name} ${String(property)}`, attributes, () => call(args) as Promise<unknown>)
      }
    },
  })
}
