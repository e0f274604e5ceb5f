import { request } from 'undici'

/** One answer, as compared between two ways of serving the same request. */
export interface Answer {
  status: number
  /** Its headers; a generated `X-Request-Id` reads `(its id)`, the id itself is {@link requestId}. */
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  /** The `X-Request-Id` it carried. */
  requestId?: string
}

/** Options for {@link askFor}. */
export interface AskOptions {
  method?: string
  headers?: Record<string, string>
  body?: Buffer
}

/**
 * Send one request and keep its answer, minus the per-connection and per-moment headers; its
 * generated request id (one per request) is kept aside, so that answers compare.
 */
export async function askFor(url: string, options: AskOptions = {}): Promise<Answer> {
  const res = await request(url, {
    method: (options.method ?? 'GET') as 'GET',
    headers: options.headers ?? {},
    body: options.body ?? null,
  })
  const body = Buffer.from(await res.body.arrayBuffer())
  const headers = { ...res.headers }
  for (const name of ['date', 'connection', 'keep-alive']) delete headers[name]
  const id = headers['x-request-id']
  if (typeof id !== 'string' || !UUID.test(id)) return { status: res.statusCode, headers, body }
  const answer: Answer = { status: res.statusCode, headers: { ...headers, 'x-request-id': '(its id)' }, body }
  // Kept out of comparisons of whole answers (not enumerable).
  Object.defineProperty(answer, 'requestId', { value: id, enumerable: false })
  return answer
}

/**
 * An answer in comparable form: a JSON echo becomes data, with `X-Forwarded-Host` masked, and
 * `Host` where it is the same (two servers listen on different ports, which they report); anything
 * else stays as bytes.
 */
export function comparable(answer: Answer): unknown {
  const id = answer.requestId
  const rest = { ...answer }
  const headers = rest.headers
  const type = String(answer.headers['content-type'] ?? '')
  if (!type.includes('json') || answer.body.length === 0) return rest
  const data = JSON.parse(answer.body.toString()) as { headers?: Record<string, string> }
  const gateway = data.headers?.['x-forwarded-host']
  if (gateway) {
    data.headers!['x-forwarded-host'] = '(the gateway)'
    if (data.headers!.host === gateway) data.headers!.host = '(the gateway)'
  }
  // The container saw the id its answer carries: compared as that, not as its value.
  if (data.headers?.['x-request-id'] !== undefined && data.headers['x-request-id'] === id)
    data.headers['x-request-id'] = '(its id)'
  return { ...rest, body: data, headers: { ...headers, 'content-length': undefined } }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The one known difference between the paths: for a body sent without `Content-Type`,
 * @hono/node-server (Node's general path) adds its default type, while the fast path passes
 * the answer as sent. Removes that default from the general answer so the rest can be compared.
 */
export function withoutInventedType(viaFast: Answer, viaGeneral: Answer): Answer {
  if (
    viaFast.headers['content-type'] !== undefined ||
    viaGeneral.headers['content-type'] !== 'text/plain; charset=UTF-8'
  )
    return viaGeneral
  const headers = { ...viaGeneral.headers }
  delete headers['content-type']
  return { ...viaGeneral, headers }
}
