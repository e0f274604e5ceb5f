/**
 * Calls the generated types must refuse: each line below is an error, and `@ts-expect-error`
 * fails the type-check if it is not, so a document that lost its types (a `limit` typed as a
 * string, a body typed as anything) is caught.
 */
import createClient from 'openapi-fetch'
import type { paths } from './generated/schema.js'

export async function misuse(api = createClient<paths>({ baseUrl: 'http://127.0.0.1:1' })) {
  // @ts-expect-error `limit` is an integer, not a string
  await api.GET('/api/containers', { params: { query: { limit: '10' } } })
  // @ts-expect-error a launch needs an image
  await api.POST('/api/containers', { body: { name: 'no-image' } })
  // @ts-expect-error `port` is a number
  await api.POST('/api/containers', { body: { image: 'tool:1', port: '8080' } })
  // @ts-expect-error removal needs the container's name
  await api.DELETE('/api/containers/{name}', {})
  // @ts-expect-error there is no PUT on a container
  await api.PUT('/api/containers/{name}', { params: { path: { name: 'x' } } })
  const shown = await api.GET('/api/containers/{name}', { params: { path: { name: 'x' } } })
  // @ts-expect-error `status` is one of the documented values
  if (shown.data?.status === 'sleeping') return
}
