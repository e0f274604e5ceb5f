import { describe, expect, it } from 'vitest'
import { Leadership } from '../../src/lifecycle/leadership.js'
import { silentLogger } from '../../src/logger.js'
import { memoryStore, type ContainerStore } from '../../src/stores/store.js'

const until = async (check: () => boolean, what: string, ms = 10_000) => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('leadership among replicas', () => {
  it('elects one leader; one that stops hands over at once, with a larger fencing number', async () => {
    const store = memoryStore()
    const changes: string[] = []
    const [a, b] = ['a', 'b'].map(
      (holder) =>
        new Leadership({
          store,
          holder,
          ttlMs: 600,
          logger: silentLogger,
          onChange: (leader) => changes.push(`${holder}:${leader}`),
        }),
    ) as [Leadership, Leadership]
    a.start()
    await until(() => a.isLeader, 'a leads')
    b.start()
    await new Promise((r) => setTimeout(r, 700))
    expect([a.isLeader, b.isLeader]).toEqual([true, false])
    const first = a.fence!
    await a.stop()
    expect(a.isLeader).toBe(false)
    await until(() => b.isLeader, 'b leads')
    expect(b.fence).toBeGreaterThan(first)
    expect(changes).toEqual(['a:true', 'a:false', 'b:true'])
    await b.stop()
  })

  it('gives up leading before the lease can pass to another, when the store stops answering', async () => {
    const store = memoryStore()
    let failing = false
    const flaky: ContainerStore = {
      ...store,
      lease: (...args) => (failing ? Promise.reject(new Error('store away')) : store.lease(...args)),
    }
    const a = new Leadership({ store: flaky, holder: 'a', ttlMs: 600, logger: silentLogger })
    const b = new Leadership({ store, holder: 'b', ttlMs: 600, logger: silentLogger })
    a.start()
    await until(() => a.isLeader, 'a leads')
    failing = true
    b.start()
    // Never two leaders at once: a counts itself out before its lease can lapse and pass to b.
    let overlaps = 0
    await until(() => {
      if (a.isLeader && b.isLeader) overlaps++
      return b.isLeader
    }, 'b leads')
    expect(a.isLeader).toBe(false)
    expect(overlaps).toBe(0)
    await Promise.all([a.stop(), b.stop()])
  })
})
