/**
 * The gateway's own answers (errors, please-wait, denials) as plain data, so that every path —
 * the Hono app, Bun's fast path, and the Node fast path writing straight to its `ServerResponse` —
 * sends the same status, headers and body without building Web objects it does not need.
 */

/** One of the gateway's own answers: small, complete, never streamed. */
export interface Answer {
  status: number
  headers: Record<string, string>
  /** `null` for an answer without a body (e.g. to `HEAD`). */
  body: string | null
}

/** What the gateway's answers look at in a request: HTML for a browser navigation, JSON otherwise. */
export interface RequestHints {
  method: string
  accept?: string | null | undefined
  secFetchMode?: string | null | undefined
}

/** The hints of a Web request. */
export function hintsOf(request: Request): RequestHints {
  return {
    method: request.method,
    accept: request.headers.get('accept'),
    secFetchMode: request.headers.get('sec-fetch-mode'),
  }
}

/** The JSON shape of every error the gateway answers: `{ error: { code, message, … } }`. */
export function errorBody(code: string, message: string, extra: Record<string, unknown> = {}) {
  return { error: { code, message, ...extra } }
}

/** A JSON error answer that is never cached. */
export function errorAnswer(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Answer {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(errorBody(code, message)),
  }
}

/** An answer as a Web `Response`. */
export function toResponse(answer: Answer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers })
}

/**
 * Statuses whose answers never carry a body (the Fetch standard's "null body status", RFC 9110
 * §15.2 and §6.4.1): whatever a container sends after such a head is not passed on.
 */
export const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304])
