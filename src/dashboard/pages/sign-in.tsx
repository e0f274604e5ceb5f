import { Layout, type PageFrame } from './layout.js'

/** Trade an API token for a dashboard session. */
export function SignInPage(props: { frame: PageFrame; error?: string }) {
  return (
    <Layout frame={props.frame} title="Sign in" scripts={false}>
      <h1>Sign in</h1>
      <form method="post" action={`${props.frame.base}/sign-in`} class="sign-in">
        <input type="hidden" name="csrf" value={props.frame.csrf} />
        <div class="field">
          <label for="token">API token</label>
          <input
            id="token"
            name="token"
            type="password"
            required
            autocomplete="current-password"
            aria-invalid={props.error ? 'true' : undefined}
            aria-describedby={props.error ? 'token-error' : undefined}
          />
          {props.error ? (
            <p class="field-error" id="token-error" role="alert">
              {props.error}
            </p>
          ) : null}
        </div>
        <button type="submit">Sign in</button>
      </form>
      <p class="hint">Any of the gateway's API tokens (auth.tokens). The dashboard keeps a session, never the token.</p>
    </Layout>
  )
}

/** A plain page for an error a person navigated into. */
export function MessagePage(props: { frame: PageFrame; title: string; message: string }) {
  return (
    <Layout frame={props.frame} title={props.title} scripts={false}>
      <h1>{props.title}</h1>
      <p>{props.message}</p>
    </Layout>
  )
}
