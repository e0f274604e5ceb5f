import { type Answer, errorBody, hintsOf, type RequestHints, toResponse } from './answer.js'

/** Options for the 503 answer while a container is not ready. */
export interface PleaseWaitOptions {
  /** Page title; escaped. */
  title: string
  /** Operator-provided HTML for the page body; trusted, inserted as is. */
  bodyHtml: string
  /** `Retry-After` in seconds. */
  retryAfterSeconds: number
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch)
}

/**
 * A browser navigation gets the HTML page; everything else (fetch, XHR, assets,
 * non-GET methods) gets JSON, so an app's scripts never parse a wait page.
 */
export function isNavigation(hints: RequestHints): boolean {
  if (hints.method !== 'GET' && hints.method !== 'HEAD') return false
  if (hints.secFetchMode) return hints.secFetchMode === 'navigate'
  return (hints.accept ?? '').includes('text/html')
}

/**
 * The 503 "please wait" answer. `reason` is a short, user-safe sentence.
 * The page polls its own URL and reloads once the answer is no longer 503.
 */
export function pleaseWaitAnswer(hints: RequestHints, reason: string, options: PleaseWaitOptions): Answer {
  const headers: Record<string, string> = {
    'retry-after': String(options.retryAfterSeconds),
    'cache-control': 'no-store',
  }
  const message = `Container not yet available: ${reason}`
  if (!isNavigation(hints)) {
    headers['content-type'] = 'application/json; charset=utf-8'
    const body = JSON.stringify(
      errorBody('container_unavailable', message, { retryAfterSeconds: options.retryAfterSeconds }),
    )
    return { status: 503, headers, body: hints.method === 'HEAD' ? null : body }
  }
  headers['content-type'] = 'text/html; charset=utf-8'
  const delayMs = options.retryAfterSeconds * 1000
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="${options.retryAfterSeconds}"></noscript>
<title>${escapeHtml(options.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:3rem auto;max-width:40rem;padding:0 1rem;color:#222}.reason{color:#666;font-size:.9rem}</style>
</head>
<body>
${options.bodyHtml}
<p class="reason" id="reason">${escapeHtml(message)}</p>
<script>
(function poll() {
  setTimeout(function () {
    fetch(location.href, { method: 'HEAD', cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { if (r.status !== 503) location.reload(); else poll(); }, poll);
  }, ${delayMs});
})();
</script>
</body>
</html>
`
  return { status: 503, headers, body: hints.method === 'HEAD' ? null : html }
}

/** {@link pleaseWaitAnswer} for a Web request, as a `Response`. */
export function pleaseWaitResponse(request: Request, reason: string, options: PleaseWaitOptions): Response {
  return toResponse(pleaseWaitAnswer(hintsOf(request), reason, options))
}
