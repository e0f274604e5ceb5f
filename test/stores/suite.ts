import { describe, expect, it } from 'vitest'
import type { ContainerMeta, ContainerStore } from '../../src/stores/store.js'

/**
 * How the conformance suite gets a fresh store. `reopen` gives a handle on the same state after a
 * restart, when it has one; `replica` a handle another process could use at the same time (shared stores).
 */
export interface StoreFactory {
  create(): Promise<{ store: ContainerStore; reopen?: () => ContainerStore; replica?: () => ContainerStore }>
}

const waitUntil = async (check: () => Promise<boolean>, what: string) => {
  const deadline = Date.now() + 10_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const id = (n: number) => `${n.toString(16).padStart(2, '0')}${'c'.repeat(62)}`

/**
 * The store contract, for every implementation: merges that never lose a concurrent update,
 * check-then-spend that succeeds once, history bounds, removal, and the engine-run memory.
 */
export function testStore(name: string, factory: StoreFactory): void {
  describe(`store conformance: ${name}`, () => {
    it('loses none of many concurrent updates of one container', async () => {
      const { store } = await factory.create()
      const ids = Array.from({ length: 50 }, (_, n) => id(n))
      await Promise.all(
        ids.flatMap((each) => [
          store.writeMeta(each, { stoppedByGateway: true }),
          store.writeMeta(each, { input: { json: '{}', token: `t-${each}` } }),
          store.writeMeta(each, { access: { oneTimeHash: `h-${each}` } }),
        ]),
      )
      for (const each of ids) {
        expect(await store.readMeta(each)).toEqual({
          stoppedByGateway: true,
          input: { json: '{}', token: `t-${each}` },
          access: { oneTimeHash: `h-${each}` },
        })
      }
    })

    it('applies concurrent read-modify-write updates one after another', async () => {
      const { store } = await factory.create()
      const spends = await Promise.all(
        Array.from({ length: 32 }, async () => {
          let spent = false
          await store.updateMeta(id(1), (meta) => {
            spent = false
            if (!meta.access?.oneTimeHash && meta.stoppedByGateway) return meta
            spent = true
            return { ...meta, stoppedByGateway: true }
          })
          return spent
        }),
      )
      expect(spends.filter(Boolean)).toHaveLength(1)
      const counted = await Promise.all(
        Array.from({ length: 20 }, () =>
          store.updateMeta(id(2), (meta) => ({
            ...meta,
            input: { json: String(Number(meta.input?.json ?? 0) + 1), token: 'x' },
          })),
        ),
      )
      expect((await store.readMeta(id(2))).input?.json).toBe('20')
      expect(counted.map((meta) => Number(meta.input?.json)).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 20 }, (_, n) => n + 1),
      )
    })

    it('leaves what is stored when a change returns it unchanged, and after a failed change', async () => {
      const { store } = await factory.create()
      await store.writeMeta(id(3), { stoppedByGateway: true })
      const kept: ContainerMeta = await store.updateMeta(id(3), (meta) => meta)
      expect(kept).toEqual({ stoppedByGateway: true })
      await expect(
        store.updateMeta(id(3), () => {
          throw new Error('no')
        }),
      ).rejects.toThrow('no')
      await store.writeMeta(id(3), { input: { json: '1', token: 't' } })
      expect(await store.readMeta(id(3))).toEqual({ stoppedByGateway: true, input: { json: '1', token: 't' } })
      expect(await store.readMeta(id(4))).toEqual({})
    })

    it('keeps the newest history entries within its bound, and forgets a removed container', async () => {
      const { store } = await factory.create()
      const entry = (n: number) => ({ time: new Date(n * 1000).toISOString(), method: 'GET', path: `/${n}` })
      for (let n = 0; n < 30; n += 3) await store.appendHistory(id(5), [entry(n), entry(n + 1), entry(n + 2)])
      const last = await store.readHistory(id(5), 5)
      expect(last.map((e) => e.path)).toEqual(['/25', '/26', '/27', '/28', '/29'])
      await store.writeMeta(id(5), { stoppedByGateway: true })
      if (store.ids) expect(await store.ids()).toContain(id(5))
      await store.remove(id(5))
      expect(await store.readHistory(id(5), 100)).toEqual([])
      expect(await store.readMeta(id(5))).toEqual({})
      if (store.ids) expect(await store.ids()).not.toContain(id(5))
    })

    it('remembers the engine run last seen', async () => {
      const { store, reopen } = await factory.create()
      if (!store.readEngineRun || !store.writeEngineRun) return
      expect(await store.readEngineRun()).toBeUndefined()
      await Promise.all([
        store.writeEngineRun({ startedAt: 1_000, seenAt: 2_000 }),
        store.writeEngineRun({ startedAt: 1_000, seenAt: 3_000 }),
      ])
      expect((await store.readEngineRun())?.startedAt).toBe(1_000)
      if (reopen) expect((await reopen().readEngineRun!())?.startedAt).toBe(1_000)
    })

    it('keeps the latest activity per container, from every writer, and forgets a removed one', async () => {
      const { store, reopen, replica } = await factory.create()
      const other = replica?.() ?? store
      await Promise.all([
        store.writeActivity(
          new Map([
            [id(6), 2_000],
            [id(7), 5_000],
          ]),
        ),
        other.writeActivity(
          new Map([
            [id(6), 3_000],
            [id(7), 4_000],
          ]),
        ),
      ])
      await store.writeActivity(new Map([[id(6), 1_000]]))
      const times = await store.readActivity()
      expect(times.get(id(6))).toBe(3_000)
      expect(times.get(id(7))).toBe(5_000)
      if (reopen) expect((await reopen().readActivity()).get(id(7))).toBe(5_000)
      await store.remove(id(7))
      expect((await store.readActivity()).has(id(7))).toBe(false)
    })

    it('keeps signed-in dashboard sessions until they expire or end, across restarts', async () => {
      const { store, reopen, replica } = await factory.create()
      const session = { csrf: 'c'.repeat(64), expires: Date.now() + 60_000 }
      await store.putSession('s1', session)
      await store.putSession('s2', { csrf: 'x', expires: Date.now() + 300 })
      expect(await store.getSession('s1')).toEqual(session)
      if (replica) expect(await replica().getSession('s1')).toEqual(session)
      if (reopen) expect(await reopen().getSession('s1')).toEqual(session)
      await waitUntil(async () => (await store.getSession('s2')) === undefined, 'a session expires')
      await store.deleteSession('s1')
      expect(await store.getSession('s1')).toBeUndefined()
      expect(await store.getSession('never')).toBeUndefined()
    })

    it('makes a secret once: every caller, at once or after a restart, gets the same', async () => {
      const { store, reopen, replica } = await factory.create()
      const handles = [store, store, replica?.() ?? store, replica?.() ?? store]
      const values = await Promise.all(handles.map((each) => each.secret('dashboard')))
      expect(new Set(values).size).toBe(1)
      expect(values[0]).toMatch(/^[0-9a-f]{64}$/)
      expect(await store.secret('other')).not.toBe(values[0])
      if (reopen) expect(await reopen().secret('dashboard')).toBe(values[0])
    })

    it('grants a lease to one holder at a time, with a fencing number that grows with each new holder', async () => {
      const { store, replica } = await factory.create()
      const other = replica?.() ?? store
      const first = await store.lease('leader', 'a', 300)
      expect(first).toBeTypeOf('number')
      expect(await other.lease('leader', 'b', 300)).toBeUndefined()
      // Renewed by its holder: the same number.
      expect(await store.lease('leader', 'a', 300)).toBe(first)
      await waitUntil(async () => (await other.lease('leader', 'b', 60_000)) !== undefined, 'the lease lapses')
      const second = await other.lease('leader', 'b', 60_000)
      expect(second).toBeGreaterThan(first!)
      expect(await store.lease('leader', 'a', 300)).toBeUndefined()
      // Given up by someone else: still held; by its holder: free at once.
      await store.releaseLease('leader', 'a')
      expect(await store.lease('leader', 'a', 300)).toBeUndefined()
      await other.releaseLease('leader', 'b')
      expect(await store.lease('leader', 'a', 300)).toBeGreaterThan(second!)
      // Of many racing for a free lease, one gets it.
      const racing = await Promise.all(
        Array.from({ length: 20 }, (_, n) => (n % 2 ? other : store).lease('wake:x', `h${n}`, 60_000)),
      )
      expect(racing.filter((fence) => fence !== undefined)).toHaveLength(1)
    })

    it('spends a one-time link once and loses no update when replicas update together', async () => {
      const { store, replica } = await factory.create()
      if (!replica) return
      const handles = [store, replica(), replica()]
      await store.writeMeta(id(8), { access: { oneTimeHash: 'h' } })
      const spends = await Promise.all(
        Array.from({ length: 30 }, async (_, n) => {
          let spent = false
          await handles[n % handles.length]!.updateMeta(id(8), (meta) => {
            // A change may run again after a conflict: only its last run decides.
            spent = false
            if (!meta.access?.oneTimeHash) return meta
            spent = true
            return { ...meta, access: { sessionHash: `s${n}` } }
          })
          return spent
        }),
      )
      expect(spends.filter(Boolean)).toHaveLength(1)
      await Promise.all(
        Array.from({ length: 30 }, (_, n) =>
          handles[n % handles.length]!.updateMeta(id(9), (meta) => ({
            ...meta,
            input: { json: String(Number(meta.input?.json ?? 0) + 1), token: 'x' },
          })),
        ),
      )
      expect((await replica().readMeta(id(9))).input?.json).toBe('30')
    })
  })
}
