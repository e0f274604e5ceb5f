/**
 * Relay a body stream and call `onEnd` exactly once when it finishes, fails, or is cancelled
 * by the client. Pull-based, so backpressure passes straight through.
 */
export function onStreamEnd(body: ReadableStream<Uint8Array>, onEnd: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  let ended = false
  const end = () => {
    if (ended) return
    ended = true
    onEnd()
  }
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let result: ReadableStreamReadResult<Uint8Array>
        try {
          result = await reader.read()
        } catch (err) {
          if (!ended) controller.error(err)
          end()
          return
        }
        if (ended) return // cancelled while reading
        if (result.done) {
          end()
          controller.close()
        } else controller.enqueue(result.value)
      },
      cancel(reason) {
        end()
        return reader.cancel(reason).catch(() => {})
      },
    },
    { highWaterMark: 0 },
  )
}

/**
 * The wait a client asks for with `Prefer: wait=N` (RFC 7240), capped at `maxSeconds`;
 * 0 when it asks for none.
 */
export function requestedWaitMs(headers: Headers, maxSeconds: number): number {
  const match = /(?:^|[,;\s])wait\s*=\s*(\d+)/i.exec(headers.get('prefer') ?? '')
  return match ? Math.min(Number(match[1]), maxSeconds) * 1000 : 0
}
