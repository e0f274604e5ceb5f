import type { Readable } from 'node:stream'

/**
 * Wrap a Node readable as a pull-based web stream. Unlike `Readable.toWeb` on Node 20, it
 * never touches the controller after a cancel, so a client that leaves mid-stream cannot
 * raise "Controller is already closed". Reads only when the consumer pulls (backpressure).
 */
export function toWebStream(readable: Readable): ReadableStream<Uint8Array> {
  const iterator = readable[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>
  let cancelled = false
  // Errors reach the consumer through the iterator; this listener only keeps a destroy()
  // after cancel (which emits 'error' on some readables, e.g. undici's) from crashing the process.
  readable.on('error', () => {})
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done } = await iterator.next()
          if (cancelled) return
          if (done) controller.close()
          else
            controller.enqueue(
              typeof value === 'string'
                ? new TextEncoder().encode(value)
                : new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
            )
        } catch (err) {
          if (!cancelled) controller.error(err)
        }
      },
      cancel(reason) {
        cancelled = true
        readable.destroy(reason instanceof Error ? reason : undefined)
      },
    },
    { highWaterMark: 0 },
  )
}
