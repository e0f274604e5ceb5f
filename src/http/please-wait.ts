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
export function isNavigation(request: Request): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false
  const mode = request.headers.get('sec-fetch-mode')
  if (mode) return mode === 'navigate'
  return (request.headers.get('accept') ?? '').includes('text/html')
}

/**
 * The 503 "please wait" answer. `reason` is a short, user-safe sentence.
 * The page polls its own URL and reloads once the answer is no longer 503.
 */
export function pleaseWaitResponse(request: Request, reason: string, options: PleaseWaitOptions): Response {
  const headers = new Headers({
    'retry-after': String(options.retryAfterSeconds),
    'cache-control': 'no-store',
  })
  const message = `Container not yet available: ${reason}`
  if (!isNavigation(request)) {
    headers.set('content-type', 'application/json; charset=utf-8')
    const body = JSON.stringify({
      error: { code: 'container_unavailable', message, retryAfterSeconds: options.retryAfterSeconds },
    })
    return new Response(request.method === 'HEAD' ? null : body, { status: 503, headers })
  }
  headers.set('content-type', 'text/html; charset=utf-8')
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
  return new Response(request.method === 'HEAD' ? null : html, { status: 503, headers })
}
