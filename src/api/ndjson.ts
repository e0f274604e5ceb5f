import { toErrorResponse } from '../http/errors.js'

/**
 * A streamed `application/x-ndjson` answer: one JSON object per line, written as `produce`
 * goes. A failure after the stream started becomes a final `{ "error": { code, message } }`
 * line (the status is already sent), mapped like every other error and reported to `onError`.
 */
export function ndjsonResponse(
  produce: (write: (value: unknown) => void) => Promise<void>,
  onError: (err: unknown, status: number, known: boolean) => void,
): Response {
  const encoder = new TextEncoder()
  let open = true
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const write = (value: unknown) => {
        if (open) controller.enqueue(encoder.encode(`${JSON.stringify(value)}\n`))
      }
      try {
        await produce(write)
      } catch (err) {
        const { status, body, known } = toErrorResponse(err)
        onError(err, status, known)
        write(body)
      }
      if (open) controller.close()
    },
    cancel() {
      open = false
    },
  })
  return new Response(stream, {
    headers: { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' },
  })
}

/** Whether the client asked for a progress stream rather than a single JSON answer. */
export function wantsNdjson(request: Request): boolean {
  return (request.headers.get('accept') ?? '').includes('application/x-ndjson')
}
