import { afterAll, beforeAll, expect } from 'vitest'
import { eventually, removeRunContainers } from './docker.js'
import { startGateway, type GatewayProcess, type Runtime } from './gateway-process.js'
import { startSocketRelay, type SocketRelay } from './socket-relay.js'

type Json = Record<string, any>

/** One gateway process for a describe block, reaching Docker through its own socket relay. */
export interface AcceptanceGateway {
  readonly gw: GatewayProcess
  readonly relay: SocketRelay
  /** `fetch` on the gateway. */
  api(path: string, init?: RequestInit): Promise<Response>
  /** `POST /api/containers`. */
  launch(body: Json): Promise<Response>
  /** A launch that must answer 201; resolves its JSON. */
  launchOk(body: Json): Promise<Json>
  /** The first non-503 answer from a container's path. */
  whenServing(name: string, path?: string): Promise<Response>
}

/**
 * For a describe block: start `hono-docker-engine serve` on `runtime` before its tests, with the
 * config `configFor(relayPath)`, and stop it, its relay and the run's containers after them.
 */
export function useAcceptanceGateway(runtime: Runtime, configFor: (relayPath: string) => object): AcceptanceGateway {
  let gw: GatewayProcess | undefined
  let relay: SocketRelay | undefined
  beforeAll(async () => {
    relay = await startSocketRelay()
    gw = await startGateway(runtime, configFor(relay.path))
  })
  afterAll(async () => {
    await gw?.stop()
    await relay?.close()
    await removeRunContainers()
  })
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useAcceptanceGateway: the gateway starts in beforeAll')
    return value
  }
  const api = (path: string, init?: RequestInit) => fetch(`${started(gw).url}${path}`, init)
  const launch = (body: Json) =>
    api('/api/containers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  return {
    get gw() {
      return started(gw)
    },
    get relay() {
      return started(relay)
    },
    api,
    launch,
    async launchOk(body) {
      const res = await launch(body)
      const json = (await res.json()) as Json
      expect(res.status, JSON.stringify(json)).toBe(201)
      return json
    },
    whenServing: (name, path = '/') =>
      eventually(
        async () => {
          const res = await api(`/docker/${name}${path}`)
          if (res.status === 503) {
            await res.body?.cancel()
            return false
          }
          return res
        },
        20_000,
        `${name} to serve`,
      ),
  }
}

/** Launch a container through the gateway at `base` (201 expected), then wait until its root answers 200. */
export async function launchServing(base: string, body: Json): Promise<void> {
  const res = await fetch(`${base}/api/containers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(res.status, await res.clone().text()).toBe(201)
  await eventually(
    async () => (await fetch(`${base}/docker/${body.name}/`)).status === 200,
    20_000,
    `${body.name} serving`,
  )
}
