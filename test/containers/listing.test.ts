import { describe, expect, it } from 'vitest'
import type { ContainerRecord } from '../../src/backend.js'
import { Listing } from '../../src/containers/listing.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

/** A fake engine listing: counts its reads and lets a test hold one open. */
function engine() {
  let reads = 0
  let hold: Promise<void> | undefined
  const records: ContainerRecord[] = []
  const read = async () => {
    reads++
    const snapshot = records.map((r) => ({ ...r }))
    await hold
    return snapshot
  }
  const add = (name: string) =>
    records.push({
      id: name,
      name,
      image: 'x:1',
      state: 'running',
      createdAt: '',
      labels: {},
      port: 80,
      memReservationMb: 0,
    })
  return {
    read,
    add,
    get reads() {
      return reads
    },
    holdNextRead() {
      let release!: () => void
      hold = new Promise((resolve) => (release = resolve))
      return () => {
        hold = undefined
        release()
      }
    },
  }
}

describe('Listing', () => {
  it('asks the engine every time while events are not followed', async () => {
    const fake = engine()
    const listing = new Listing(fake.read)
    await listing.records()
    await listing.records()
    expect(fake.reads).toBe(2)
  })

  it('keeps a listing while events are followed, until a change', async () => {
    const fake = engine()
    fake.add('a')
    const listing = new Listing(fake.read)
    listing.following(true)
    expect((await listing.records()).map((r) => r.name)).toEqual(['a'])
    await listing.records()
    expect(fake.reads).toBe(1)
    fake.add('b')
    listing.changed()
    expect((await listing.records()).map((r) => r.name)).toEqual(['a', 'b'])
    expect(fake.reads).toBe(2)
    listing.following(false)
    await listing.records()
    expect(fake.reads).toBe(3)
  })

  it('never keeps a read that a change overtook, nor lets later callers share it', async () => {
    const fake = engine()
    fake.add('a')
    const listing = new Listing(fake.read)
    listing.following(true)
    const release = fake.holdNextRead()
    const early = listing.records()
    fake.add('b')
    listing.changed()
    const late = listing.records()
    release()
    expect((await early).map((r) => r.name)).toEqual(['a'])
    expect((await late).map((r) => r.name)).toEqual(['a', 'b'])
    expect(fake.reads).toBe(2)
    // The later read is kept; the overtaken one is not.
    expect((await listing.records()).map((r) => r.name)).toEqual(['a', 'b'])
    expect(fake.reads).toBe(2)
  })

  it('shares one engine call between concurrent readers, and gives each its own array', async () => {
    const fake = engine()
    fake.add('a')
    const listing = new Listing(fake.read)
    const all = await Promise.all(Array.from({ length: 20 }, () => listing.records()))
    expect(fake.reads).toBe(1)
    all[0]!.pop()
    expect(all[1]).toHaveLength(1)
  })

  it('reads again after 30 s even when nothing said it changed', async () => {
    const fake = engine()
    let now = 0
    const listing = new Listing(fake.read, () => now)
    listing.following(true)
    await listing.records()
    now += 29_000
    await listing.records()
    expect(fake.reads).toBe(1)
    now += 1_001
    await listing.records()
    expect(fake.reads).toBe(2)
  })
})

describe('the list API with a kept listing', () => {
  const { setup } = useMemoryGateways()

  /** Wait until the gateway follows events (it re-lists once it connected). */
  const following = async (backend: { calls: Record<string, number> }) => {
    for (let i = 0; i < 100 && !backend.calls.list; i++) await new Promise((r) => setTimeout(r, 10))
    await new Promise((r) => setTimeout(r, 20))
  }
  const names = async (app: { request(path: string): Response | Promise<Response> }) => {
    const body = (await (await app.request('/api/containers')).json()) as {
      containers: { name: string; status: string }[]
    }
    return body.containers.map((c) => (c.status === 'exited' ? `${c.name}:exited` : c.name)).sort()
  }

  it('answers from the kept listing, and shows every change made by the gateway or reported by the engine', async () => {
    const { app, backend, launch, show } = setup({}, { background: true })
    /** A readiness change re-reads the listing too: let it happen before counting engine calls. */
    const ready = async (name: string) => {
      for (let i = 0; i < 200 && (await show(name)).status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 10))
    }
    await following(backend)
    expect((await launch({ name: 'one' })).status).toBe(201)
    await ready('one')
    await names(app)
    const reads = backend.calls.list ?? 0
    expect(await names(app)).toEqual(['one'])
    expect(backend.calls.list).toBe(reads)

    // Made by the gateway: seen at once.
    expect((await launch({ name: 'two' })).status).toBe(201)
    expect(await names(app)).toEqual(['one', 'two'])
    await ready('two')
    expect((await app.request('/api/containers/one', { method: 'DELETE' })).status).toBe(204)
    expect(await names(app)).toEqual(['two'])

    // Reported by the engine: seen at once.
    backend.setState('two', 'exited', 3)
    expect(await names(app)).toEqual(['two:exited'])

    // Any event, even one that changes no route (a container another gateway created, not
    // started), means the engine's listing is read again.
    const before = backend.calls.list ?? 0
    await names(app)
    expect(backend.calls.list).toBe(before)
    backend.emit({ action: 'create', id: 'elsewhere', name: 'elsewhere' })
    await names(app)
    expect(backend.calls.list).toBe(before + 1)
  })

  it('answers exactly as a gateway that asks the engine every time', async () => {
    const kept = setup({}, { background: true })
    const fresh = setup({}, { backend: kept.backend })
    await following(kept.backend)
    const body = async (app: typeof kept.app) => {
      const { containers } = (await (await app.request('/api/containers')).json()) as {
        containers: { status: string }[]
      }
      // Each gateway probes readiness on its own: a running container may be ready in one a moment earlier.
      return containers.map((c) => ({
        ...c,
        lastActivity: undefined,
        status: c.status === 'exited' ? 'exited' : 'running',
      }))
    }
    await kept.launch({ name: 'same-a' })
    await kept.launch({ name: 'same-b', labels: { team: 'x' } })
    expect(await body(kept.app)).toEqual(await body(fresh.app))
    kept.backend.setState('same-a', 'exited', 1)
    expect(await body(kept.app)).toEqual(await body(fresh.app))
    await fresh.app.request('/api/containers/same-b', { method: 'DELETE' })
    expect(await body(kept.app)).toEqual(await body(fresh.app))
    expect((await body(kept.app)).length).toBe(1)
  })

  it('asks the engine on every list once the event stream broke', async () => {
    const { app, backend, launch } = setup({}, { background: true })
    await following(backend)
    await launch({ name: 'three' })
    await names(app)
    backend.endWatches()
    await new Promise((r) => setTimeout(r, 10))
    const reads = backend.calls.list ?? 0
    await names(app)
    await names(app)
    expect(backend.calls.list).toBeGreaterThanOrEqual(reads + 2)
  })
})
