import { UpstreamConnectError, UpstreamTimeoutError } from '../errors.js'

/** What the proxy hands to an upstream client. */
export interface UpstreamRequest {
  method: string
  headers: Headers
  /**
   * A stream, never buffered; or, for a small body of known length, its bytes, read in full
   * (at most 64 KB).
   */
  body: ReadableStream<Uint8Array> | Uint8Array | null
  /** Aborted when the client leaves or the header timeout fires. */
  signal: AbortSignal
  /**
   * Only for clients marked {@link UpstreamFetch.timesSilence}, and only for requests with a body:
   * fail with {@link UpstreamTimeoutError} once the connection has been silent this long (no byte
   * sent or received). Once the body is sent, that bounds the wait for response headers.
   */
  idleTimeoutMs?: number
}

/**
 * A fetch-shaped upstream client. It must return the upstream's bytes untouched (no
 * decompression, no redirects followed), and should throw {@link UpstreamConnectError}
 * when the connection is refused or dropped before a response arrives.
 * Runtime entries inject faster or more faithful clients than the default.
 */
export interface UpstreamFetch {
  (url: string, request: UpstreamRequest): Promise<Response>
  /**
   * The client enforces {@link UpstreamRequest.idleTimeoutMs} itself (Bun's fetch has a socket idle
   * timer). The core then hands a streamed request body over with only its stall watch in between,
   * rather than tracking in JavaScript when it ends, so a large upload flows with flat memory.
   */
  timesSilence?: boolean
  /**
   * The responses it returns are fresh objects that belong to the caller, with headers that may be
   * changed (Bun's `fetch`, and clients that build a `new Response` themselves). The core then
   * rewrites a small answer's headers in place and hands that very response to the runtime,
   * instead of copying its headers into a new one; the answer is the same.
   */
  ownsResponses?: boolean
  /**
   * The chunks of the response bodies it returns are fresh buffers that nothing else holds (Bun's
   * `fetch`). The core then relays an answer it tracks to its end as a byte stream that takes each
   * chunk's buffer over, instead of queueing the chunk, which costs Bun less CPU per byte. A client
   * whose chunks may be shared (a body stream that enqueues buffers it keeps or reuses) must leave it unset.
   */
  freshChunks?: boolean
}

const CONNECT_ERROR_CODES = new Set([
  // Node / undici
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  // Bun
  'ConnectionRefused',
  'ConnectionClosed',
  'FailedToOpenSocket',
])

/** Map a client's connection-level failure to {@link UpstreamConnectError}; anything else passes through. */
export function toUpstreamError(err: unknown): unknown {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && CONNECT_ERROR_CODES.has(code)) {
      return new UpstreamConnectError(`upstream connection failed (${code})`, { cause: err })
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT')
      return new UpstreamTimeoutError('upstream did not answer in time', { cause: err })
    if (code === 'UND_ERR_CONNECT_TIMEOUT')
      return new UpstreamTimeoutError('could not connect to the container in time', { cause: err })
  }
  return err
}

/**
 * The portable default: the global `fetch`. Because most runtimes' `fetch` decompresses
 * bodies, it asks the upstream for an identity encoding so bytes and headers always agree;
 * the Node and Bun entries inject clients that pass compressed bodies through instead.
 */
export const fetchUpstream: UpstreamFetch = async (url, { method, headers, body, signal }) => {
  const outgoing = new Headers(headers)
  outgoing.set('accept-encoding', 'identity')
  try {
    return await fetch(url, {
      method,
      headers: outgoing,
      body,
      signal,
      redirect: 'manual',
      // Required by the Fetch standard for a streaming request body.
      duplex: 'half',
    } as RequestInit)
  } catch (err) {
    throw toUpstreamError(err)
  }
}
