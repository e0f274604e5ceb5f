import { describe, expect, it } from 'vitest'
import type { ContainerMeta, ContainerStore } from '../../src/stores/store.js'

/** How the conformance suite gets a fresh store; `reopen` gives a second handle on the same state, when it has one. */
export interface StoreFactory {
  create(): Promise<{ store: ContainerStore; reopen?: () => ContainerStore }>
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
  })
}
