import { describe, expect, it } from 'vitest'
import { onStreamEnd, withIdleLimit } from '../../src/proxy/track.js'

/** A stream of the given chunks, pulled one at a time. */
function chunksOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let next = 0
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (next < chunks.length) controller.enqueue(chunks[next++]!)
        else controller.close()
      },
    },
    { highWaterMark: 0 },
  )
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  const bytes: number[] = []
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) bytes.push(...chunk)
  return bytes
}

describe('onStreamEnd', () => {
  for (const freshChunks of [false, true]) {
    describe(freshChunks ? 'with fresh chunks (a byte stream)' : 'with chunks that may be shared', () => {
      it('relays every byte in order, skipping empty chunks, and ends once', async () => {
        let ended = 0
        const chunks = [
          Uint8Array.of(1, 2),
          new Uint8Array(0),
          Uint8Array.of(3),
          new Uint8Array(0),
          Uint8Array.of(4, 5),
        ]
        const relayed = onStreamEnd(chunksOf(chunks), () => ended++, { freshChunks })
        expect(await readAll(relayed)).toEqual([1, 2, 3, 4, 5])
        expect(ended).toBe(1)
      })

      it('ends once when the client cancels, and cancels the source', async () => {
        let ended = 0
        let cancelled: unknown
        const source = new ReadableStream<Uint8Array>({
          pull: (controller) => controller.enqueue(Uint8Array.of(7)),
          cancel: (reason) => {
            cancelled = reason
          },
        })
        const reader = onStreamEnd(source, () => ended++, { freshChunks }).getReader()
        expect([...(await reader.read()).value!]).toEqual([7])
        await reader.cancel('client left')
        expect(ended).toBe(1)
        expect(cancelled).toBe('client left')
      })

      it('ends once and fails the relay when the source fails', async () => {
        let ended = 0
        const source = new ReadableStream<Uint8Array>({
          pull: (controller) => controller.error(new Error('container died')),
        })
        await expect(readAll(onStreamEnd(source, () => ended++, { freshChunks }))).rejects.toThrow('container died')
        expect(ended).toBe(1)
      })

      it('never empties a buffer that other views still share, Node Buffers included', async () => {
        // (Buffer.alloc, not the shared pool of Buffer.from: a test must not take that pool over.)
        const shared = Buffer.alloc(6)
        shared.set([1, 2, 3, 4, 5, 6])
        const first = shared.subarray(0, 3)
        const second = shared.subarray(3)
        expect(await readAll(onStreamEnd(chunksOf([first, second]), () => {}, { freshChunks }))).toEqual([
          1, 2, 3, 4, 5, 6,
        ])
        expect([...shared]).toEqual([1, 2, 3, 4, 5, 6])
      })
    })
  }

  it('takes a fresh chunk that covers its whole buffer over instead of copying it', async () => {
    const fresh = Uint8Array.of(9, 8, 7)
    const relayed = onStreamEnd(chunksOf([fresh]), () => {}, { freshChunks: true })
    expect(await readAll(relayed)).toEqual([9, 8, 7])
    // Transferred into the byte stream: the source's view is detached.
    expect(fresh.byteLength).toBe(0)
  })

  it('leaves chunks that may be shared untouched', async () => {
    const kept = Uint8Array.of(9, 8, 7)
    expect(await readAll(onStreamEnd(chunksOf([kept]), () => {}))).toEqual([9, 8, 7])
    expect([...kept]).toEqual([9, 8, 7])
  })
})

describe('withIdleLimit', () => {
  for (const freshChunks of [false, true]) {
    describe(freshChunks ? 'with fresh chunks (a byte stream)' : 'with chunks that may be shared', () => {
      it('relays every byte in order, skipping empty chunks, and never calls a body idle that keeps sending', async () => {
        let idle = 0
        const chunks = [Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3), Buffer.from([4, 5]).subarray(1)]
        const onIdle = () => {
          idle++
          return new Error('idle')
        }
        const relayed = withIdleLimit(chunksOf(chunks), 1_000, onIdle, { freshChunks })
        expect(await readAll(relayed)).toEqual([1, 2, 3, 5])
        expect(idle).toBe(0)
      })

      it('fails the relay with the reason onIdle gives when the body stalls, and cancels it', async () => {
        let cancelled: unknown
        const stalled = new ReadableStream<Uint8Array>({
          start: (controller) => controller.enqueue(Uint8Array.of(1)),
          cancel: (reason) => {
            cancelled = reason
          },
        })
        const reason = new Error('the body stalled')
        const relayed = withIdleLimit(stalled, 50, () => reason, { freshChunks })
        await expect(readAll(relayed)).rejects.toBe(reason)
        expect(cancelled).toBe(reason)
      })
    })
  }
})
