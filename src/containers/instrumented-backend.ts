import type { Backend } from '../backend.js'
import { BackendError, BackendUnavailableError } from '../errors.js'
import type { Counter } from '../metrics.js'

/** Wrap a backend so that every failed engine call is counted by operation and kind. */
export function instrumentBackend(backend: Backend, errors: Counter): Backend {
  const count = (operation: string, err: unknown) => {
    const kind =
      err instanceof BackendUnavailableError ? 'unavailable' : err instanceof BackendError ? 'error' : undefined
    if (kind) errors.inc({ operation, kind })
  }
  return new Proxy(backend, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args)
        if (result instanceof Promise) {
          return result.catch((err: unknown) => {
            count(String(property), err)
            throw err
          })
        }
        return result
      }
    },
  })
}
