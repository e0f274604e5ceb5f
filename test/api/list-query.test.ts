import { describe, expect, it } from 'vitest'
import { labelTest } from '../../src/containers/label-selector.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

const gateways = useMemoryGateways()

type Listed = { containers: { name: string; labels: Record<string, string> }[]; next?: string }
type ErrorJson = { error: { code: string; message: string } }

/** A gateway with seven containers: four of ann's (two on team x), two of bob's, one unlabelled. */
async function setup() {
  const { app, launch } = gateways.setup()
  const owners: [string, Record<string, string>][] = [
    ['nb-4', { owner: 'ann', team: 'x' }],
    ['nb-1', { owner: 'ann' }],
    ['viz-2', { owner: 'bob', team: 'x' }],
    ['nb-3', { owner: 'ann', team: 'x' }],
    ['free', {}],
    ['nb-2', { owner: 'ann', team: '' }],
    ['viz-1', { owner: 'bob' }],
  ]
  for (const [name, labels] of owners) expect((await launch({ name, labels })).status).toBe(201)
  const list = async (query = '') => {
    const res = await app.request(`/api/containers${query}`)
    expect(res.status).toBe(200)
    return (await res.json()) as Listed
  }
  const refused = async (query: string) => {
    const res = await app.request(`/api/containers${query}`)
    expect(res.status).toBe(400)
    return ((await res.json()) as ErrorJson).error
  }
  return { app, list, refused }
}

const names = (listed: Listed) => listed.containers.map((c) => c.name)

describe('label selectors', () => {
  it('match a value exactly, or the key with any value, and every selector must match', () => {
    const labels = { owner: 'ann', team: '' }
    expect(labelTest([])(labels)).toBe(true)
    expect(labelTest(['owner=ann'])(labels)).toBe(true)
    expect(labelTest(['owner=an'])(labels)).toBe(false)
    expect(labelTest(['owner'])(labels)).toBe(true)
    expect(labelTest(['team='])(labels)).toBe(true)
    expect(labelTest(['team=x'])(labels)).toBe(false)
    expect(labelTest(['owner=ann', 'team'])(labels)).toBe(true)
    expect(labelTest(['owner=ann', 'lab'])(labels)).toBe(false)
  })

  it('see only the labels a container carries, not what every object inherits', () => {
    expect(labelTest(['constructor'])({})).toBe(false)
    expect(labelTest(['toString'])({ owner: 'ann' })).toBe(false)
    expect(labelTest(['__proto__'])({})).toBe(false)
  })
})

describe('GET /api/containers with a query', () => {
  it('lists every container in name order without one', async () => {
    const { list } = await setup()
    const all = await list()
    expect(names(all)).toEqual(['free', 'nb-1', 'nb-2', 'nb-3', 'nb-4', 'viz-1', 'viz-2'])
    expect(all.next).toBeUndefined()
  })

  it('keeps the containers carrying every given label', async () => {
    const { list } = await setup()
    expect(names(await list('?label=owner=ann'))).toEqual(['nb-1', 'nb-2', 'nb-3', 'nb-4'])
    expect(names(await list('?label=team'))).toEqual(['nb-2', 'nb-3', 'nb-4', 'viz-2'])
    expect(names(await list('?label=owner=ann&label=team=x'))).toEqual(['nb-3', 'nb-4'])
    expect(names(await list(`?label=${encodeURIComponent('team=')}`))).toEqual(['nb-2'])
    expect(names(await list('?label=owner=carl'))).toEqual([])
    expect(names(await list('?label=constructor'))).toEqual([])
  })

  it('describes a selected container exactly as the whole list does', async () => {
    const { list } = await setup()
    const all = await list()
    const anns = await list('?label=owner=ann')
    expect(anns.containers).toEqual(all.containers.filter((c) => c.labels.owner === 'ann'))
  })

  it('pages through the list: each container once, in order, until no next', async () => {
    const { list } = await setup()
    const seen: string[] = []
    let query = '?limit=3'
    const pages: number[] = []
    for (;;) {
      const page = await list(query)
      pages.push(page.containers.length)
      seen.push(...names(page))
      if (page.next === undefined) break
      expect(page.next).toBe(seen.at(-1))
      query = `?limit=3&after=${page.next}`
    }
    expect(pages).toEqual([3, 3, 1])
    expect(seen).toEqual(names(await list()))
    // Paging and labels together; a page that holds the rest has no next.
    const first = await list('?label=owner=ann&limit=2')
    expect(names(first)).toEqual(['nb-1', 'nb-2'])
    expect(first.next).toBe('nb-2')
    const rest = await list('?label=owner=ann&limit=2&after=nb-2')
    expect(names(rest)).toEqual(['nb-3', 'nb-4'])
    expect(rest.next).toBeUndefined()
    // A cursor needs no container of that name: removed since, or past the end.
    expect(names(await list('?after=nb-25'))).toEqual(['nb-3', 'nb-4', 'viz-1', 'viz-2'])
    expect(names(await list('?after=zzz'))).toEqual([])
  })

  it('refuses a bad query with 400 naming the parameter', async () => {
    const { refused } = await setup()
    for (const [query, says] of [
      ['?limit=0', 'limit: must be at least 1, not 0'],
      ['?limit=1001', 'limit: must be at most 1000, not 1001'],
      ['?limit=abc', 'limit'],
      ['?limit=-1', 'limit'],
      ['?limit=2&limit=3', 'limit'],
      ['?after=../x', 'after'],
      ['?after=a&after=b', 'after'],
      ['?label=', 'label.0: must not be empty'],
      ['?label==ann', 'label'],
      ['?owner=ann', 'owner: unknown key (check the spelling)'],
    ] as const) {
      const error = await refused(query)
      expect(error.code, query).toBe('invalid_request')
      expect(error.message, query).toMatch(/^Invalid list query: /)
      expect(error.message, query).toContain(says)
      expect(error.message, query).not.toMatch(/Expected (never|!0|[<>]=)/)
    }
  })
})

describe('POST /api/purge by label', () => {
  it('removes only the containers that carry the label itself', async () => {
    const { app, list } = await setup()
    const purge = async (label: string) => {
      const res = await app.request('/api/purge', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ label }),
      })
      expect(res.status).toBe(200)
      return ((await res.json()) as { removed: string[] }).removed.sort()
    }
    expect(await purge('constructor')).toEqual([])
    expect(await purge('team=x')).toEqual(['nb-3', 'nb-4', 'viz-2'])
    expect(names(await list())).toEqual(['free', 'nb-1', 'nb-2', 'viz-1'])
  })
})
