import { describe, expect, it } from 'vitest'
import { memory } from '../../src/backends/memory.js'
import { RouteTable } from '../../src/containers/route-table.js'
import { launchSpec } from '../helpers/launch-spec.js'

const spec = (name: string) => launchSpec(name)

describe('RouteTable', () => {
  it('caches running containers until invalidated, misses for a second', async () => {
    let now = 0
    const backend = memory({ upstreams: () => 'http://127.0.0.1:1' })
    const table = new RouteTable(backend, () => now)
    await backend.launch(spec('up'))
    await table.lookup('up')
    await table.lookup('up')
    expect(backend.calls.inspect).toBe(1)
    await table.lookup('missing')
    await table.lookup('missing')
    expect(backend.calls.inspect).toBe(2)
    now += 1_001
    await table.lookup('missing')
    await table.lookup('up')
    expect(backend.calls.inspect).toBe(3)
    table.invalidate('up')
    await table.lookup('up')
    expect(backend.calls.inspect).toBe(4)
  })

  it('shares one engine call between concurrent lookups of a name', async () => {
    const backend = memory()
    const table = new RouteTable(backend)
    await Promise.all(Array.from({ length: 50 }, () => table.lookup('x')))
    expect(backend.calls.inspect).toBe(1)
  })

  it('stays bounded when asked for many different names', async () => {
    const table = new RouteTable(memory())
    for (let i = 0; i < 10_500; i++) await table.lookup(`n${i}`)
    expect(table.size).toBeLessThanOrEqual(10_000)
  })
})
