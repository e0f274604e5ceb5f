import { UpstreamTimeoutError } from '../../errors.js'
import { toUpstreamError, type UpstreamFetch, type UpstreamRequest } from '../../proxy/upstream.js'

/**
 * Bun's `fetch`, told not to decompress, so bodies and `Content-Encoding` stay consistent. Its
 * socket idle timer (5 minutes by default, which would cut quiet streams) is off, except for
 * requests with a body: there it bounds the silence after the upload, so the body can be handed
 * to Bun natively. Bun checks that timer every few seconds, so it fires up to ~8 s late. Its
 * responses are fresh, body chunks included (`ownsResponses`, `freshChunks`).
 */
export const bunUpstream: UpstreamFetch = Object.assign(
  async (url: string, { method, headers, body, signal, idleTimeoutMs }: UpstreamRequest) => {
    try {
      return await fetch(url, {
        method,
        headers,
        body,
        signal,
        redirect: 'manual',
        decompress: false,
        duplex: 'half',
        timeout: idleTimeoutMs ?? false,
      } as RequestInit)
    } catch (err) {
      if (!signal.aborted && (err as Error)?.name === 'TimeoutError')
        throw new UpstreamTimeoutError('the container stayed silent too long', { cause: err })
      throw toUpstreamError(err)
    }
  },
  { timesSilence: true, ownsResponses: true, freshChunks: true },
)
