import { describe, expect, it } from 'vitest'
import { Activity } from '../../src/containers/activity.js'
import { memoryStore } from '../../src/stores/store.js'

const record = (id: string) => ({
  id,
  name: id,
  image: 'tool:1',
  state: 'running' as const,
  createdAt: new Date(0).toISOString(),
  labels: {},
  port: 80,
  memReservationMb: 0,
})

describe('activity', () => {
  it('writes what changed once a sync, nothing for a quiet one, and reads what other gateways wrote', async () => {
    const store = memoryStore()
    const writes: number[] = []
    const counting = {
      ...store,
      writeActivity: (times: ReadonlyMap<string, number>) => {
        writes.push(times.size)
        return store.writeActivity(times)
      },
    }
    let now = 10_000
    const activity = new Activity({ store: counting, now: () => now, syncIntervalMs: 60_000 })
    activity.touch('a')
    activity.touch('b')
    await activity.sync()
    await activity.sync()
    expect(writes).toEqual([2])
    // Another gateway saw a later request.
    await store.writeActivity(new Map([['a', 50_000]]))
    now = 70_001
    expect(await activity.lastActivity(record('a'))).toBe(50_000)
    // An open exchange is activity now, and is written as such.
    const release = activity.hold('b')
    now = 80_000
    await activity.sync()
    expect((await store.readActivity()).get('b')).toBe(80_000)
    release()
    await activity.close()
  })
})
