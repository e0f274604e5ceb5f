import { Redis } from 'ioredis'
import { StoreUnavailableError } from '../errors.js'
import { KeyedQueue } from '../util/keyed-queue.js'
import { randomToken } from '../util/secrets.js'
import type { ContainerMeta, ContainerStore, EngineRunRecord, HistoryEntry, StoredSession } from './store.js'

/** Options for {@link redisStore}. */
export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string
  /** Prepended to every key and to the change channel, so several deployments can share one Redis. */
  keyPrefix?: string
  /** History entries kept per container. */
  maxEntries?: number
  /** Longest a command may take before it fails (ms); the gateway keeps serving meanwhile. */
  commandTimeoutMs?: number
  /** Told of connection errors (the client reconnects by itself). */
  onError?: (err: Error) => void
}

/** Replace a container's metadata if it is still what the caller read (compare and set), and tell the others. */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if current == false then current = '' end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`

/** Take or renew a lease; a new holder increments the fencing number. */
const TAKE_LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return false end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if holder then return tonumber(redis.call('GET', KEYS[2]) or '0') end
return redis.call('INCR', KEYS[2])`

const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/** Attempts of one metadata update against writers elsewhere before it gives up. */
const MAX_ATTEMPTS = 100

/**
 * A {@link ContainerStore} on Redis, shared by any number of gateway replicas (Redis 6.2 or later):
 * - metadata as one JSON value per container, updated by compare-and-set (retried on a conflict),
 *   so no replica's update is lost and a one-time link is spent by exactly one of them; every
 *   update is published, so the others drop what they cached of it ({@link ContainerStore.watch});
 * - history as a capped list, activity as a sorted set that only moves forward (`ZADD GT`),
 *   dashboard sessions with their expiry, secrets made once (`SET NX`), and leases with fencing.
 *
 * Commands fail after `commandTimeoutMs` while Redis is away (the client reconnects in the
 * background); the gateway keeps proxying what it knows.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ backend: docker(), store: redisStore({ url: 'redis://redis:6379' }) })
 * ```
 */
export function redisStore(options: RedisStoreOptions): ContainerStore {
  const prefix = options.keyPrefix ?? 'hde:'
  const maxEntries = options.maxEntries ?? 1_000
  const client = new Redis(options.url, {
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? 5_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
  })
  const onError = options.onError ?? (() => {})
  client.on('error', onError)
  const subscribers = new Set<(id: string) => void>()
  let subscriber: Redis | undefined
  /** This store's name on the change channel: its own changes are not news to it. */
  const writer = randomToken().slice(0, 16)
  const channel = `${prefix}changes`
  const key = {
    meta: (id: string) => `${prefix}meta:${id}`,
    history: (id: string) => `${prefix}history:${id}`,
    ids: `${prefix}ids`,
    activity: `${prefix}activity`,
    session: (id: string) => `${prefix}session:${id}`,
    secret: (name: string) => `${prefix}secret:${name}`,
    lease: (name: string) => `${prefix}lease:${name}`,
    fence: (name: string) => `${prefix}fence:${name}`,
    engineRun: `${prefix}engine-run`,
  }
  const parseMeta = (raw: string | null): ContainerMeta => {
    if (!raw) return {}
    try {
      return JSON.parse(raw) as ContainerMeta
    } catch {
      return {}
    }
  }
  // Updates of one id from this process queue up, so they compete only with other processes.
  const local = new KeyedQueue()
  const updateMeta = (id: string, change: (current: ContainerMeta) => ContainerMeta) =>
    local.run(id, async () => {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const raw = await client.get(key.meta(id))
        const current = parseMeta(raw)
        const next = change(current)
        if (next === current) return next
        const stored = await client.eval(
          COMPARE_AND_SET,
          2,
          key.meta(id),
          key.ids,
          raw ?? '',
          JSON.stringify(next),
          id,
          channel,
          `${writer}:${id}`,
        )
        if (stored === 1) return next
      }
      throw new StoreUnavailableError(`The metadata of ${id} kept changing under ${MAX_ATTEMPTS} attempts to update it`)
    })

  const store: ContainerStore = {
    shared: true,
    async appendHistory(id, entries) {
      if (entries.length === 0) return
      await client
        .multi()
        .rpush(key.history(id), ...entries.map((entry) => JSON.stringify(entry)))
        .ltrim(key.history(id), -maxEntries, -1)
        .sadd(key.ids, id)
        .exec()
    },
    async readHistory(id, limit) {
      if (limit <= 0) return []
      const lines = await client.lrange(key.history(id), -limit, -1)
      return lines.flatMap((line) => {
        try {
          return [JSON.parse(line) as HistoryEntry]
        } catch {
          return []
        }
      })
    },
    async readMeta(id) {
      return parseMeta(await client.get(key.meta(id)))
    },
    async writeMeta(id, meta) {
      await updateMeta(id, (current) => ({ ...current, ...meta }))
    },
    updateMeta,
    async remove(id) {
      await local.idle(id)
      await client
        .multi()
        .del(key.meta(id), key.history(id))
        .zrem(key.activity, id)
        .srem(key.ids, id)
        .publish(channel, `${writer}:${id}`)
        .exec()
    },
    async ids() {
      return client.smembers(key.ids)
    },
    async readEngineRun() {
      const raw = await client.get(key.engineRun)
      if (!raw) return undefined
      try {
        const run = JSON.parse(raw) as Partial<EngineRunRecord>
        return Number.isFinite(run.startedAt) && Number.isFinite(run.seenAt) ? (run as EngineRunRecord) : undefined
      } catch {
        return undefined
      }
    },
    async writeEngineRun(run) {
      await client.set(key.engineRun, JSON.stringify({ startedAt: run.startedAt, seenAt: run.seenAt }))
    },
    async writeActivity(times) {
      if (times.size === 0) return
      const pairs = [...times].flatMap(([id, at]) => [at, id])
      await client
        .multi()
        .zadd(key.activity, 'GT', ...pairs)
        .sadd(key.ids, ...times.keys())
        .exec()
    },
    async readActivity() {
      const flat = await client.zrange(key.activity, 0, -1, 'WITHSCORES')
      const times = new Map<string, number>()
      for (let i = 0; i + 1 < flat.length; i += 2) times.set(flat[i]!, Number(flat[i + 1]))
      return times
    },
    async putSession(id, session) {
      const ttl = Math.floor(session.expires - Date.now())
      if (ttl <= 0) return
      await client.set(key.session(id), JSON.stringify({ csrf: session.csrf, expires: session.expires }), 'PX', ttl)
    },
    async getSession(id) {
      const raw = await client.get(key.session(id))
      if (!raw) return undefined
      try {
        const session = JSON.parse(raw) as StoredSession
        return session.expires > Date.now() ? session : undefined
      } catch {
        return undefined
      }
    },
    async deleteSession(id) {
      await client.del(key.session(id))
    },
    async secret(name) {
      await client.set(key.secret(name), randomToken(), 'NX')
      const value = await client.get(key.secret(name))
      if (!value) throw new Error(`The shared secret ${name} vanished from the store`)
      return value
    },
    async lease(name, holder, ttlMs) {
      const fence = await client.eval(TAKE_LEASE, 2, key.lease(name), key.fence(name), holder, Math.ceil(ttlMs))
      return typeof fence === 'number' ? fence : undefined
    },
    async releaseLease(name, holder) {
      await client.eval(RELEASE_LEASE, 1, key.lease(name), holder)
    },
    watch(onChange) {
      subscribers.add(onChange)
      if (!subscriber) {
        // A subscribed connection can do nothing else: it gets one of its own.
        const listening = client.duplicate({ commandTimeout: undefined })
        subscriber = listening
        listening.on('error', onError)
        listening.on('message', (_channel: string, message: string) => {
          const colon = message.indexOf(':')
          if (message.slice(0, colon) === writer) return
          const id = message.slice(colon + 1)
          for (const each of subscribers) each(id)
        })
        void listening.subscribe(channel).catch(onError)
      }
      return () => {
        subscribers.delete(onChange)
      }
    },
    async ping() {
      await client.ping()
    },
    async close() {
      subscribers.clear()
      await Promise.all([client, subscriber].map((each) => each?.quit().catch(() => each.disconnect())))
    },
  }
  return unavailableWhenFailing(store)
}

/** The store's methods, failing with {@link StoreUnavailableError} (a `503` to clients) when Redis does. */
function unavailableWhenFailing(store: ContainerStore): ContainerStore {
  const wrapped: Record<string, unknown> = { ...store }
  for (const [name, method] of Object.entries(store)) {
    if (typeof method !== 'function' || name === 'watch' || name === 'close') continue
    wrapped[name] = (...args: unknown[]) =>
      (method as (...a: unknown[]) => Promise<unknown>)(...args).catch((err: unknown) => {
        if (err instanceof StoreUnavailableError) throw err
        throw new StoreUnavailableError('The shared store (Redis) cannot be reached; try again shortly', {
          cause: err,
        })
      })
  }
  return wrapped as unknown as ContainerStore
}
