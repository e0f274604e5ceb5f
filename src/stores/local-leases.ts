/**
 * Leases for stores that one gateway process owns (memory, file): held in memory, since no other
 * process shares them. Fencing numbers grow with every new holder, as in a shared store.
 */
export function localLeases(now: () => number = Date.now) {
  const held = new Map<string, { holder: string; until: number; fence: number }>()
  let fences = 0
  return {
    lease(name: string, holder: string, ttlMs: number): number | undefined {
      const current = held.get(name)
      if (current && current.holder !== holder && current.until > now()) return undefined
      const fence = current?.holder === holder && current.until > now() ? current.fence : ++fences
      held.set(name, { holder, until: now() + ttlMs, fence })
      return fence
    },
    release(name: string, holder: string): void {
      if (held.get(name)?.holder === holder) held.delete(name)
    },
  }
}
