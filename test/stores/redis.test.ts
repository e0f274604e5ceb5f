import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisStore } from '../../src/stores/redis.js'
import type { ContainerStore } from '../../src/stores/store.js'
import { redisMissing, startRedis, type RedisServer } from '../helpers/redis.js'
import { testStore } from './suite.js'

const missing = redisMissing()
let redis: RedisServer
const opened: ContainerStore[] = []
let prefixes = 0

describe.skipIf(missing)('redis store', () => {
  beforeAll(async () => {
    redis = await startRedis()
  }, 60_000)
  afterAll(async () => {
    await Promise.all(opened.map((store) => store.close?.()))
    await redis?.stop()
  })

  // Every conformance test gets a prefix of its own: a fresh store on the same server.
  const open = (keyPrefix: string) => {
    const store = redisStore({ url: redis.url, keyPrefix, maxEntries: 10 })
    opened.push(store)
    return store
  }
  testStore('redis', {
    create: async () => {
      const keyPrefix = `t${++prefixes}:`
      return { store: open(keyPrefix), reopen: () => open(keyPrefix), replica: () => open(keyPrefix) }
    },
  })

  it('tells a replica of metadata another changed or removed, and never of its own', async () => {
    const keyPrefix = `t${++prefixes}:`
    const [a, b] = [open(keyPrefix), open(keyPrefix)]
    const heardByA: string[] = []
    const heardByB: string[] = []
    a.watch!((id) => heardByA.push(id))
    b.watch!((id) => heardByB.push(id))
    // The subscription is made in the background: wait until a change is heard.
    const deadline = Date.now() + 10_000
    while (heardByB.length === 0 && Date.now() < deadline) {
      await a.writeMeta('probe', { stoppedByGateway: true })
      await new Promise((r) => setTimeout(r, 50))
    }
    heardByB.length = 0
    await a.writeMeta('one', { stoppedByGateway: true })
    await a.remove('two')
    await b.writeMeta('three', { stoppedByGateway: true })
    await expect.poll(() => heardByB, { timeout: 5_000 }).toEqual(['one', 'two'])
    await expect.poll(() => heardByA.filter((id) => id !== 'probe'), { timeout: 5_000 }).toEqual(['three'])
  })

  it('fails a command within its timeout while Redis is away, and works again once it is back', async () => {
    const store = redisStore({ url: redis.url, keyPrefix: `t${++prefixes}:`, commandTimeoutMs: 1_000 })
    opened.push(store)
    await store.writeMeta('x', { stoppedByGateway: true })
    await redis.stop()
    try {
      const began = Date.now()
      await expect(store.readMeta('x')).rejects.toThrow()
      expect(Date.now() - began).toBeLessThan(10_000)
      await expect(store.ping!()).rejects.toThrow()
    } finally {
      await redis.restart()
    }
    // The store reconnected by itself, to what the server kept in its append-only file.
    await expect
      .poll(
        () =>
          store.ping!().then(
            () => 'up',
            () => 'down',
          ),
        { timeout: 20_000 },
      )
      .toBe('up')
    expect(await store.readMeta('x')).toEqual({ stoppedByGateway: true })
  }, 60_000)
})
