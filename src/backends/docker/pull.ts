import type { PullEvent } from '../../backend.js'
import { ImageUnavailableError } from '../../errors.js'
import { pullFailureReason } from '../pull-failure.js'
import { mapDockerError, type ModemError } from './errors.js'

/** docker-modem's NDJSON progress follower, as far as pulls use it. */
export interface ProgressFollower {
  followProgress(
    stream: NodeJS.ReadableStream,
    onFinished: (err: unknown) => void,
    onProgress: (event: RawPullEvent) => void,
  ): void
}

/** A progress line as the Engine sends it. */
interface RawPullEvent {
  status?: string
  id?: string
  progressDetail?: { current?: number; total?: number }
  error?: string
  errorDetail?: { message?: string }
}

/** Why a pull could not start or finish, as a domain error. */
export function pullError(image: string, err: unknown, timeoutMs: number): Error {
  if (err instanceof ImageUnavailableError) return err
  const e = err as ModemError
  // The engine's words (registry addresses, its own paths) stay in `cause`, for the operator log.
  if (e.statusCode !== undefined)
    return new ImageUnavailableError(image, pullFailureReason(e.json?.message ?? e.message), { cause: err })
  if (e.name === 'AbortError' || e.name === 'TimeoutError')
    return new ImageUnavailableError(image, 'timeout', {
      cause: new Error(`the pull did not finish within ${timeoutMs} ms`, { cause: err }),
    })
  return mapDockerError(err, timeoutMs)
}

/**
 * The events of a started pull as an async iterable. A failure reported in the stream (the
 * Engine sends errors as events after a 200) ends the iteration with an ImageUnavailableError.
 */
export function pullEvents(
  modem: ProgressFollower,
  stream: NodeJS.ReadableStream,
  image: string,
  timeoutMs: number,
): AsyncIterable<PullEvent> {
  const queue: PullEvent[] = []
  let finished = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  modem.followProgress(
    stream,
    (err) => {
      if (err && !failure) failure = pullError(image, err, timeoutMs)
      finished = true
      wake?.()
    },
    (raw) => {
      if (raw.error || raw.errorDetail) {
        const said = raw.errorDetail?.message ?? raw.error
        failure ??= new ImageUnavailableError(image, pullFailureReason(said), {
          cause: new Error(said ?? 'the pull failed'),
        })
      } else if (raw.status) {
        const { current, total } = raw.progressDetail ?? {}
        queue.push({
          status: raw.status,
          ...(raw.id ? { id: raw.id } : {}),
          ...(current !== undefined ? { current } : {}),
          ...(total ? { total } : {}),
        })
      }
      wake?.()
    },
  )
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (queue.length) {
          yield queue.shift()!
          continue
        }
        if (failure) throw failure
        if (finished) return
        await new Promise<void>((resolve) => (wake = resolve))
        wake = undefined
      }
    },
  }
}
