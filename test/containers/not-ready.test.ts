import { describe, expect, it } from 'vitest'
import { memory } from '../../src/backends/memory.js'
import { eventually } from '../helpers/docker.js'
import { freePort } from '../helpers/free-port.js'
import { useMemoryGateways } from '../helpers/memory-gateway.js'

type Json = Record<string, any>

const { setup } = useMemoryGateways()

describe('a container that does not become ready', () => {
  it('says why while it starts, hints at its port, and keeps the hint when it fails', async () => {
    // Nothing listens there: every probe's connection is refused.
    const closed = `http://127.0.0.1:${await freePort()}`
    const { launch, show } = setup(
      { readiness: { startTimeoutSeconds: 6 } },
      { backend: memory({ upstreams: () => closed }) },
    )
    expect((await launch({ name: 'deaf', port: 8080 })).status).toBe(201)
    // At first it is simply starting: a moment without an answer is normal.
    const early = await show('deaf')
    expect(early.status).toBe('starting')
    expect(early.reason).toBeUndefined()
    const starting = await eventually(async () => {
      const shown = await show('deaf')
      return shown.status === 'starting' && shown.reason ? shown : undefined
    }, 20_000)
    expect(starting.reason).toMatch(
      /^not ready after \d+ s: the connection failed on port 8080; is the app listening on that port, on all interfaces \(0\.0\.0\.0\) rather than localhost only\?$/,
    )
    const failed: Json = await eventually(async () => {
      const shown = await show('deaf')
      return shown.status === 'failed' ? shown : undefined
    }, 30_000)
    expect(failed.reason).toBe(
      'not ready within 6 s: the connection failed on port 8080; is the app listening on that port, on all interfaces (0.0.0.0) rather than localhost only?',
    )
  }, 60_000)
})
