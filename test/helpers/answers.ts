import { request } from 'undici'

/** One answer, as compared between two ways of serving the same request. */
export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/** Options for {@link askFor}. */
export interface AskOptions {
  method?: string
  headers?: Record<string, string>
  body?: Buffer
}

/** Send one request and keep its answer, minus the per-connection and per-moment headers. */
export async function askFor(url: string, options: AskOptions = {}): Promise<Answer> {
  const res = await request(url, {
    method: (options.method ?? 'GET') as 'GET',
    headers: options.headers ?? {},
    body: options.body ?? null,
  })
  const body = Buffer.from(await res.body.arrayBuffer())
  const headers = { ...res.headers }
  for (const name of ['date', 'connection', 'keep-alive']) delete headers[name]
  return { status: res.statusCode, headers, body }
}

/**
 * An answer in comparable form: a JSON echo becomes data, with `X-Forwarded-Host` masked, and
 * `Host` where it is the same (two servers listen on different ports, which they report); anything
 * else stays as bytes.
 */
export function comparable(answer: Answer): unknown {
  const type = String(answer.headers['content-type'] ?? '')
  if (!type.includes('json') || answer.body.length === 0) return answer
  const data = JSON.parse(answer.body.toString()) as { headers?: Record<string, string> }
  const gateway = data.headers?.['x-forwarded-host']
  if (gateway) {
    data.headers!['x-forwarded-host'] = '(the gateway)'
    if (data.headers!.host === gateway) data.headers!.host = '(the gateway)'
  }
  return { ...answer, body: data, headers: { ...answer.headers, 'content-length': undefined } }
}

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
