import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STATIC_IMAGE, dockerCli, dockerReady, eventually, removeRunContainers, uniqueName } from '../helpers/docker.js'
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js'
import { registryAvailable, startRegistry, type LoopbackRegistry } from '../helpers/registry.js'

type Json = Record<string, any>

async function readLines(res: Response): Promise<Json[]> {
  return (await res.text())
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Json)
}

const ready = (await dockerReady('image pull acceptance')) && (await registryAvailable())
if (!ready && process.env.CI === 'true') throw new Error('image pull acceptance: docker-registry is required in CI')
if (!ready)
  console.warn(
    '\n!!! SKIPPING image pull acceptance: docker-registry is not installed (npm test installs it as root).\n',
  )

describe.runIf(ready)('pulling images from a loopback registry', () => {
  let registry: LoopbackRegistry
  let gw: GatewayProcess
  beforeAll(async () => {
    registry = await startRegistry()
    gw = await startGateway('node', {})
  })
  afterAll(async () => {
    await gw?.stop()
    await registry?.stop()
    await removeRunContainers()
  })
  const post = (path: string, body: Json, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })

  it('streams pull progress as NDJSON and leaves the image present', async () => {
    const image = await registry.push(STATIC_IMAGE, `hde/static:${uniqueName('pull')}`)
    const res = await post('/api/images/pull', { image })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/x-ndjson')
    const lines = await readLines(res)
    expect(lines.length).toBeGreaterThan(1)
    expect(lines.some((l) => /Pull complete|Download complete|Downloaded newer image/.test(l.status ?? ''))).toBe(true)
    expect(lines.at(-1)).toEqual({ status: 'done', image })
    await dockerCli('image', 'inspect', image)
  })

  it('pulls during a launch, reporting progress, and serves the container', async () => {
    const image = await registry.push(STATIC_IMAGE, `hde/static:${uniqueName('launch')}`)
    const name = uniqueName('pulled')
    const res = await post('/api/containers', { image, name }, { accept: 'application/x-ndjson' })
    expect(res.status).toBe(200)
    const lines = await readLines(res)
    expect(lines.filter((l) => l.event === 'progress').length).toBeGreaterThan(0)
    expect(lines.at(-1)).toMatchObject({ event: 'launched', name, url: `/docker/${name}/` })
    await eventually(
      async () => (await fetch(`${gw.url}/docker/${name}/`)).status === 200,
      20_000,
      'pulled container serving',
    )
  })

  it('fails fast and clearly for an image the registry does not have', async () => {
    const started = Date.now()
    const image = `${registry.host}/hde/does-not-exist:1`
    const res = await post('/api/images/pull', { image })
    expect(res.status).toBe(422)
    const body = (await res.json()) as Json
    expect(body.error.code).toBe('image_unavailable')
    expect(body.error.reason).toBe('not_found')
    expect(body.error.message).toContain(image)
    // The registry's and engine's own words are the operator's, not the client's.
    expect(body.error.message).not.toMatch(/manifest|v2|http/i)
    const launch = await post('/api/containers', { image, name: uniqueName('nope') })
    expect(launch.status).toBe(422)
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it('says when the registry cannot be reached, by reason', async () => {
    // Nothing listens on port 9 of loopback: the engine's connection is refused at once.
    const res = await post('/api/images/pull', { image: '127.0.0.1:9/hde/x:1' })
    expect(res.status).toBe(422)
    const body = (await res.json()) as Json
    expect(body.error).toMatchObject({ code: 'image_unavailable', reason: 'unreachable' })
    expect(body.error.message).toContain('cannot be reached')
  })

  it('does not pull with the "never" policy', async () => {
    const image = await registry.push(STATIC_IMAGE, `hde/static:${uniqueName('never')}`)
    const res = await post('/api/containers', { image, name: uniqueName('never'), pull: 'never' })
    expect(res.status).toBe(422)
    expect(((await res.json()) as Json).error).toMatchObject({ reason: 'not_present' })
    await expect(dockerCli('image', 'inspect', image)).rejects.toThrow()
  })
})
