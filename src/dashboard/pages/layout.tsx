import type { Child } from 'hono/jsx'

/** What every dashboard page knows about where and for whom it is rendered. */
export interface PageFrame {
  /** The dashboard's mount path (`''` standalone). */
  base: string
  /** The session's CSRF token, read by the page script for state-changing requests. */
  csrf?: string
  /** Show "Sign out" (signed in with a token). */
  signOut: boolean
}

/** The page shell: one stylesheet and one script of the gateway's own, no inline code (see the CSP). */
export function Layout(props: { frame: PageFrame; title: string; children: Child; scripts?: boolean }) {
  const { base, csrf, signOut } = props.frame
  const scripts = props.scripts !== false
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · hono-docker-engine`}</title>
        <link rel="stylesheet" href={`${base}/assets/uPlot.min.css`} />
        <link rel="stylesheet" href={`${base}/assets/dashboard.css`} />
        <meta name="hde-base" content={base} />
        {csrf ? <meta name="hde-csrf" content={csrf} /> : null}
        {scripts ? <script src={`${base}/assets/uPlot.iife.min.js`} defer /> : null}
        {scripts ? <script src={`${base}/assets/dashboard.js`} defer /> : null}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href={`${base}/`}>
            hono-docker-engine
          </a>
          <span id="live-status" class="live" role="status" />
          {signOut ? (
            <form method="post" action={`${base}/sign-out`}>
              <input type="hidden" name="csrf" value={csrf} />
              <button type="submit">Sign out</button>
            </form>
          ) : null}
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
      </body>
    </html>
  )
}
