/**
 * A client developer's use of the gateway's API, through a client generated from its OpenAPI
 * document (openapi-typescript + openapi-fetch): launch, list, read, remove. Type-checked against
 * the generated types and run against a gateway by test/api/openapi-client.test.ts.
 */
import createClient from 'openapi-fetch'
import type { components, paths } from './generated/schema.js'

/** Named schemas a client imports by name. */
export type Container = components['schemas']['Container']
export type LaunchRequest = components['schemas']['LaunchRequest']
export type ApiError = components['schemas']['Error']

/** What the scenario saw, for the test to check. */
export interface Outcome {
  launched: components['schemas']['LaunchResult']
  listed: string[]
  firstPage: number
  shown: Container['status']
  removed: number
  missing: ApiError['error']['code']
}

export async function scenario(baseUrl: string, fetch: (request: Request) => Promise<Response>): Promise<Outcome> {
  const api = createClient<paths>({ baseUrl, fetch })
  const request: LaunchRequest = { image: 'tool:1', name: 'generated', env: { MODE: 'typed' } }
  const launch = await api.POST('/api/containers', { body: request })
  if (!launch.data) throw new Error(`launch failed: ${JSON.stringify(launch.error)}`)
  await api.POST('/api/containers', { body: { image: 'tool:1', name: 'generated-2' } })
  const list = await api.GET('/api/containers', { params: { query: { limit: 1 } } })
  if (!list.data) throw new Error('list failed')
  const all = await api.GET('/api/containers', { params: { query: { label: [] } } })
  const shown = await api.GET('/api/containers/{name}', { params: { path: { name: 'generated' } } })
  if (!shown.data) throw new Error('show failed')
  const removed = await api.DELETE('/api/containers/{name}', { params: { path: { name: 'generated' } } })
  const again = await api.GET('/api/containers/{name}', { params: { path: { name: 'generated' } } })
  if (!again.error) throw new Error('a removed container was still found')
  return {
    launched: launch.data,
    listed: (all.data?.containers ?? []).map((container: Container) => container.name),
    firstPage: list.data.containers.length,
    shown: shown.data.status,
    removed: removed.response.status,
    missing: again.error.error.code,
  }
}
