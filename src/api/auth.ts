import type { Context, MiddlewareHandler } from 'hono'
import { isLoopbackAddress, matchesAny } from '../secrets.js'
import { ApiError } from './errors.js'

/** Options for {@link apiAuth}. */
export interface ApiAuthOptions {
  /** Accepted bearer tokens; empty means "loopback clients only". */
  tokens: readonly string[]
  /** The client's address, when the runtime can tell. */
  getClientAddress?: (c: Context) => string | undefined
}

/**
 * Guard the API. With tokens, every request needs `Authorization: Bearer <one of them>`
 * (compared in constant time). Without tokens, only loopback clients are served: a gateway
 * that launches containers is never open to the network by accident.
 */
export function apiAuth(options: ApiAuthOptions): MiddlewareHandler {
  return async (c, next) => {
    if (options.tokens.length > 0) {
      const header = c.req.header('authorization') ?? ''
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
      if (!match || !(await matchesAny(match[1]!, options.tokens))) {
        throw new ApiError(401, 'unauthorized', 'Send a valid API token: Authorization: Bearer <token>')
      }
    } else if (options.getClientAddress) {
      const address = options.getClientAddress(c)
      if (!isLoopbackAddress(address)) {
        throw new ApiError(403, 'api_loopback_only', 'The API answers only local clients until auth.tokens is configured')
      }
    }
    await next()
  }
}
