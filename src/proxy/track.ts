/** Options for {@link onStreamEnd} and {@link withIdleLimit}. */
export interface RelayOptions {
  /**
   * The body's chunks are fresh buffers that nothing else holds (Bun's `fetch` and `Bun.serve`
   * make them): relay them as a byte stream that takes each chunk's buffer over instead of
   * queueing the chunk, which costs Bun less CPU per byte relayed (docs/benchmark.md, "How requests are carried").
   */
  freshChunks?: boolean
}

/** What a relay calls on its output, the same for a default and a byte stream. */
interface RelayOutput {
  enqueue(chunk: Uint8Array<ArrayBuffer>): void
  close(): void
  error(reason: unknown): void
}

/** A relay's source: one chunk per pull, so backpressure passes straight through. */
interface RelaySource {
  start?(output: RelayOutput): void
  pull(output: RelayOutput): Promise<void>
  cancel(reason: unknown): Promise<void>
}

/** The stream a relay's source feeds: a byte stream for fresh chunks, else a default one. */
function relayStream(source: RelaySource, { freshChunks = false }: RelayOptions): ReadableStream<Uint8Array> {
  return freshChunks
    ? new ReadableStream({ type: 'bytes', ...source })
    : new ReadableStream<Uint8Array>(source, { highWaterMark: 0 })
}

/**
 * Hand a chunk to the relay's output; `false` when it must read on instead (a byte stream takes
 * no empty chunk, and a pull that enqueues nothing is not called again).
 */
function handOn(output: RelayOutput, chunk: Uint8Array, { freshChunks = false }: RelayOptions): boolean {
  if (!freshChunks) output.enqueue(chunk as Uint8Array<ArrayBuffer>)
  else if (chunk.byteLength === 0) return false
  else output.enqueue(wholeBuffer(chunk))
  return true
}

/**
 * The chunk, when it covers its whole buffer (which a byte stream then takes over), else a copy:
 * taking a shared buffer over would empty the other views of it. (The `Uint8Array` constructor
 * copies; a Node `Buffer`'s `slice` would share the memory.)
 */
function wholeBuffer(chunk: Uint8Array): Uint8Array<ArrayBuffer> {
  const { buffer } = chunk
  const whole = buffer instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === buffer.byteLength
  return whole ? (chunk as Uint8Array<ArrayBuffer>) : new Uint8Array(chunk)
}

/**
 * Relay a body stream and call `onEnd` exactly once when it finishes, fails, or is cancelled
 * by the client.
 */
export function onStreamEnd(
  body: ReadableStream<Uint8Array>,
  onEnd: () => void,
  options: RelayOptions = {},
): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  let ended = false
  const end = () => {
    if (ended) return
    ended = true
    onEnd()
  }
  return relayStream(
    {
      async pull(output) {
        for (;;) {
          let result: ReadableStreamReadResult<Uint8Array>
          try {
            result = await reader.read()
          } catch (err) {
            if (!ended) output.error(err)
            end()
            return
          }
          if (ended) return // cancelled while reading
          if (result.done) {
            end()
            output.close()
            return
          }
          if (handOn(output, result.value, options)) return
        }
      },
      cancel(reason) {
        end()
        return reader.cancel(reason).catch(() => {})
      },
    },
    options,
  )
}

/**
 * Relay a request body, calling `onIdle` once if the client sends nothing for `idleMs` while a
 * read waits on it (then the relay fails with the reason `onIdle` returns). Time the consumer
 * spends not reading (a container applying backpressure) does not count. One timer per body,
 * re-armed lazily: a chunk only records the time.
 */
export function withIdleLimit(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  onIdle: () => Error,
  options: RelayOptions = {},
): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  /** When the pending read began, or its latest chunk arrived; undefined while nobody reads. */
  let waitingSince: number | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let failed: Error | undefined
  let relay: RelayOutput
  const check = () => {
    const quiet = waitingSince === undefined ? 0 : Date.now() - waitingSince
    if (quiet < idleMs) {
      timer = setTimeout(check, idleMs - quiet)
      return
    }
    failed = onIdle()
    relay.error(failed)
    reader.cancel(failed).catch(() => {})
  }
  return relayStream(
    {
      start(output) {
        relay = output
        timer = setTimeout(check, idleMs)
      },
      async pull(output) {
        for (;;) {
          waitingSince = Date.now()
          let result: ReadableStreamReadResult<Uint8Array>
          try {
            result = await reader.read()
          } catch (err) {
            clearTimeout(timer)
            if (!failed) output.error(err)
            return
          }
          waitingSince = undefined
          if (failed) return
          if (result.done) {
            clearTimeout(timer)
            output.close()
            return
          }
          if (handOn(output, result.value, options)) return
        }
      },
      cancel(reason) {
        clearTimeout(timer)
        return reader.cancel(reason).catch(() => {})
      },
    },
    options,
  )
}

/**
 * Read a request body of known length in full, with the idle limit of {@link withIdleLimit}
 * between its bytes. Rejects when the body fails, stalls, or does not hold exactly `length` bytes
 * (a client that left mid-body), so a short body is never passed on as a whole one.
 */
export async function readWhole(
  body: ReadableStream<Uint8Array>,
  length: number,
  idleMs: number,
  onIdle: () => Error,
): Promise<Uint8Array> {
  const reader = withIdleLimit(body, idleMs, onIdle).getReader()
  const bytes = new Uint8Array(length)
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (size + value.byteLength > length) {
      await reader.cancel().catch(() => {})
      throw new Error(`The request body is longer than its Content-Length (${length})`)
    }
    bytes.set(value, size)
    size += value.byteLength
  }
  if (size !== length) throw new Error(`The request body ended after ${size} of ${length} bytes`)
  return bytes
}

/**
 * The wait a client asks for with `Prefer: wait=N` (RFC 7240), capped at `maxSeconds`;
 * 0 when it asks for none.
 */
export function requestedWaitMs(headers: Headers, maxSeconds: number): number {
  const match = /(?:^|[,;\s])wait\s*=\s*(\d+)/i.exec(headers.get('prefer') ?? '')
  return match ? Math.min(Number(match[1]), maxSeconds) * 1000 : 0
}
