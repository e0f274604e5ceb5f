/** Talking to a running gateway's API for the CLI's client commands. */

/** Where the gateway is and how to authenticate. */
export interface ClientOptions {
  url: string
  token?: string
}

/** A failure the CLI reports in one line, with its exit code. */
export class CliError extends Error {
  override name = 'CliError'
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
  }
}

/** Exit codes: 1 the API refused, 2 usage, 69 the gateway cannot be reached (sysexits EX_UNAVAILABLE). */
export const EXIT = { api: 1, usage: 2, unavailable: 69 } as const

/** Call the API; non-2xx answers become a CliError with the gateway's own message. */
export async function call(options: ClientOptions, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  if (options.token) headers.set('authorization', `Bearer ${options.token}`)
  let res: Response
  try {
    res = await fetch(`${options.url.replace(/\/+$/, '')}${path}`, { ...init, headers })
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause
    const reason = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (err as Error).message
    throw new CliError(`cannot reach the gateway at ${options.url} (${reason})`, EXIT.unavailable)
  }
  if (res.ok) return res
  const text = await res.text()
  let message = text
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text
  } catch {
    // not JSON
  }
  throw new CliError(`${res.status}: ${message || res.statusText}`, res.status === 503 ? EXIT.unavailable : EXIT.api)
}

/** Read an NDJSON response line by line. */
export async function* ndjsonLines(res: Response): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      const line = buffer.slice(0, newline).trim()
      buffer = buffer.slice(newline + 1)
      if (line) yield JSON.parse(line) as Record<string, unknown>
    }
  }
  if (buffer.trim()) yield JSON.parse(buffer) as Record<string, unknown>
}

/** Render rows as an aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}

/** One progress line on stderr, rewritten in place on a terminal. */
export function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`)
  else process.stderr.write(`${text}\n`)
}

/** End a progress line. */
export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K')
}
