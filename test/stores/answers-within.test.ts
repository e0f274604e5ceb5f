import { describe, expect, it } from 'vitest'
import { answersWithin, memoryStore } from '../../src/stores/store.js'

describe('whether a store answers', () => {
  it('is true for a store that answers, false for one that fails or keeps silent past the bound', async () => {
    const base = memoryStore()
    expect(await answersWithin(base, 1_000)).toBe(true)
    expect(await answersWithin({ ...base, ping: async () => {} }, 1_000)).toBe(true)
    expect(await answersWithin({ ...base, ping: () => Promise.reject(new Error('away')) }, 1_000)).toBe(false)
    const began = performance.now()
    expect(await answersWithin({ ...base, ping: () => new Promise(() => {}) }, 50)).toBe(false)
    // Bounded by its own timer, not by the silent store.
    expect(performance.now() - began).toBeLessThan(30_000)
  })
})
