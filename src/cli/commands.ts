import { readFile } from 'node:fs/promises'
import type { ParseArgsConfig } from 'node:util'
import { describePull } from '../containers/pull-progress.js'
import { CliError, EXIT, call, ndjsonLines, progress, progressDone, table, type ClientOptions } from './client.js'

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>

/** A client command of the CLI. */
export interface Command {
  usage: string
  options: NonNullable<ParseArgsConfig['options']>
  run(values: Values, args: string[], client: ClientOptions): Promise<void>
  /** The gateway's URL when neither `--url` nor `HONO_DOCKER_ENGINE_URL` gives one (default: port 8000 on loopback). */
  defaultUrl?(values: Values): Promise<string>
}

const json = { type: 'boolean' } as const
const print = (value: unknown) => console.log(JSON.stringify(value, null, 2))
const pairs = (list: unknown, what: string): Record<string, string> =>
  Object.fromEntries(
    ((list as string[] | undefined) ?? []).map((item) => {
      const at = item.indexOf('=')
      if (at < 1) throw new CliError(`${what} "${item}" must be KEY=VALUE`, EXIT.usage)
      return [item.slice(0, at), item.slice(at + 1)]
    }),
  )
const needArgs = (args: string[], count: number, usage: string) => {
  if (args.length < count) throw new CliError(`missing argument\n\n${usage}`, EXIT.usage)
}
const number = (value: unknown, flag: string): number | undefined => {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n)) throw new CliError(`${flag} must be a number, got "${String(value)}"`, EXIT.usage)
  return n
}

/** Follow a container until it is ready (or fails), showing its status. */
async function waitUntilReady(client: ClientOptions, name: string, quiet: boolean): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 120_000
  let said = ''
  for (;;) {
    const shown = (await (await call(client, `/api/containers/${name}`)).json()) as Record<string, unknown>
    if (shown.status === 'ready') return shown
    if (shown.status === 'failed' || shown.status === 'exited') {
      throw new CliError(
        `${name} is ${String(shown.status)}${shown.reason ? `: ${String(shown.reason)}` : shown.exitCode !== undefined ? ` with code ${String(shown.exitCode)}` : ''} (its output: hono-docker-engine logs ${name})`,
        EXIT.api,
      )
    }
    // While it starts, the gateway says why it is not ready yet (e.g. nothing answers on its port).
    const why = shown.reason ? ` (${String(shown.reason)})` : ''
    if (Date.now() > deadline)
      throw new CliError(`${name} was not ready after 120 s: ${String(shown.status)}${why}`, EXIT.api)
    const line = `${name}: ${String(shown.status)}${why}…`
    // A terminal's line is redrawn; elsewhere a line is written when what it says changes (not its seconds).
    if (!quiet && (process.stderr.isTTY || line.replace(/\d+ s\b/, '') !== said)) progress(line)
    said = line.replace(/\d+ s\b/, '')
    await new Promise((r) => setTimeout(r, 300))
  }
}

/** The loopback URL of the gateway the config (file and `HDE_` variables) describes on this machine. */
async function configuredUrl(values: Values): Promise<string> {
  const { loadConfigFile } = await import('../config/file.js')
  const { config } = await loadConfigFile(values.config as string | undefined, process.env)
  const host = config.listen.hostname
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' || host === '[::]' ? '[::1]' : host
  return `http://${reachable.includes(':') && !reachable.startsWith('[') ? `[${reachable}]` : reachable}:${config.listen.port}`
}

export const COMMANDS: Record<string, Command> = {
  health: {
    usage: `Usage: hono-docker-engine health [--ready] [-c, --config FILE]

Ask a gateway whether it is live (default) or ready (engine reachable, not draining); exit 0 if
so, 69 if not. Without --url or $HONO_DOCKER_ENGINE_URL, the gateway on this machine that the
config describes (-c FILE, $HONO_DOCKER_ENGINE_CONFIG or the default file, and HDE_ variables).
The image's HEALTHCHECK runs it.`,
    options: { ready: { type: 'boolean' }, config: { type: 'string', short: 'c' } },
    defaultUrl: configuredUrl,
    async run(values, _args, client) {
      const probe = values.ready ? 'ready' : 'live'
      const res = await call(client, `/api/health/${probe}`, { signal: AbortSignal.timeout(5_000) })
      const { status } = (await res.json()) as { status: string }
      console.log(status)
    },
  },

  launch: {
    usage: `Usage: hono-docker-engine launch IMAGE [options]

Launch a container and wait until it is ready; prints its URL.
  --name NAME            container name (default: generated)
  --port N               HTTP port inside the container (default 80)
  --env KEY=VALUE        environment variable (repeatable)
  --label KEY=VALUE      label (repeatable)
  --input JSON|@FILE     input document, delivered as INPUT_JSON
  --mem-mb N             memory reservation in MiB
  --cpus N               CPU share (default 0.5)
  --private              access: token (prints a one-time link)
  --no-wait              return once started, without waiting for ready
  --json                 print the result as JSON`,
    options: {
      name: { type: 'string' },
      port: { type: 'string' },
      env: { type: 'string', multiple: true },
      label: { type: 'string', multiple: true },
      input: { type: 'string' },
      'mem-mb': { type: 'string' },
      cpus: { type: 'string' },
      private: { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      json,
    },
    async run(values, args, client) {
      needArgs(args, 1, this.usage)
      let input: unknown
      if (typeof values.input === 'string') {
        const text = values.input.startsWith('@') ? await readFile(values.input.slice(1), 'utf8') : values.input
        try {
          input = JSON.parse(text)
        } catch {
          throw new CliError('--input is not valid JSON', EXIT.usage)
        }
      }
      const body = {
        image: args[0],
        ...(values.name ? { name: values.name } : {}),
        ...(values.port ? { port: number(values.port, '--port') } : {}),
        ...(values.env ? { env: pairs(values.env, '--env') } : {}),
        ...(values.label ? { labels: pairs(values.label, '--label') } : {}),
        ...(input !== undefined ? { input } : {}),
        ...(values['mem-mb'] ? { memReservationMb: number(values['mem-mb'], '--mem-mb') } : {}),
        ...(values.cpus ? { cpus: number(values.cpus, '--cpus') } : {}),
        ...(values.private ? { access: 'token' } : {}),
      }
      const res = await call(client, '/api/containers', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
        body: JSON.stringify(body),
      })
      let launched: Record<string, unknown> | undefined
      for await (const line of ndjsonLines(res)) {
        if (line.error)
          throw new CliError(String((line.error as { message?: string }).message ?? 'launch failed'), EXIT.api)
        if (line.event === 'progress' && !values.json) progress(describePull(line as { status: string }))
        if (line.event === 'launched') launched = line
      }
      if (!launched) throw new CliError('the gateway ended the launch without an answer', EXIT.api)
      const name = String(launched.name)
      const result = values['no-wait']
        ? launched
        : { ...(await waitUntilReady(client, name, Boolean(values.json))), url: launched.url }
      progressDone()
      const url = `${client.url.replace(/\/+$/, '')}${String(result.url)}`
      if (values.json) print({ ...result, url })
      else console.log(`${name} ${String(result.status)} ${url}`)
    },
  },

  ls: {
    usage: `Usage: hono-docker-engine ls [--label KEY[=VALUE]]… [--json]

List the containers the gateway manages, or those carrying every given label.`,
    options: { label: { type: 'string', multiple: true }, json },
    async run(values, _args, client) {
      const query = new URLSearchParams(((values.label as string[] | undefined) ?? []).map((label) => ['label', label]))
      const path = query.size ? `/api/containers?${query}` : '/api/containers'
      const { containers } = (await (await call(client, path)).json()) as {
        containers: Record<string, string>[]
      }
      if (values.json) return print(containers)
      if (containers.length === 0) return console.log('no containers')
      console.log(
        table(
          ['NAME', 'STATUS', 'IMAGE', 'URL', 'LAST ACTIVITY'],
          containers.map((c) => [c.name!, c.status!, c.image!, c.url!, c.lastActivity!]),
        ),
      )
    },
  },

  logs: {
    usage: `Usage: hono-docker-engine logs NAME [-f] [--tail N] [--timestamps]

Print a container's stdout and stderr; -f follows until interrupted.`,
    options: { follow: { type: 'boolean', short: 'f' }, tail: { type: 'string' }, timestamps: { type: 'boolean' } },
    async run(values, args, client) {
      needArgs(args, 1, this.usage)
      const query = new URLSearchParams({
        ...(values.follow ? { follow: '1' } : {}),
        ...(values.tail ? { tail: String(number(values.tail, '--tail')) } : {}),
        ...(values.timestamps ? { timestamps: '1' } : {}),
      })
      const res = await call(client, `/api/containers/${encodeURIComponent(args[0]!)}/logs?${query}`)
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) process.stdout.write(chunk)
    },
  },

  rm: {
    usage: `Usage: hono-docker-engine rm NAME [NAME…]

Remove containers and their volumes.`,
    options: {},
    async run(_values, args, client) {
      needArgs(args, 1, this.usage)
      const failures: string[] = []
      for (const name of args) {
        try {
          await call(client, `/api/containers/${encodeURIComponent(name)}`, { method: 'DELETE' })
          console.log(`removed ${name}`)
        } catch (err) {
          failures.push(`${name}: ${(err as Error).message}`)
        }
      }
      if (failures.length) throw new CliError(failures.join('; '), EXIT.api)
    },
  },

  purge: {
    usage: `Usage: hono-docker-engine purge [--inactive SECONDS] [--label KEY[=VALUE]] [--json]

Remove managed containers idle for SECONDS and/or carrying a label.`,
    options: { inactive: { type: 'string' }, label: { type: 'string' }, json },
    async run(values, _args, client) {
      if (values.inactive === undefined && values.label === undefined)
        throw new CliError(`give --inactive, --label, or both\n\n${this.usage}`, EXIT.usage)
      const body = {
        ...(values.inactive !== undefined ? { inactiveSeconds: number(values.inactive, '--inactive') } : {}),
        ...(values.label ? { label: values.label } : {}),
      }
      const { removed } = (await (
        await call(client, '/api/purge', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as { removed: string[] }
      if (values.json) return print({ removed })
      console.log(removed.length ? removed.map((n) => `removed ${n}`).join('\n') : 'nothing to remove')
    },
  },

  pull: {
    usage: `Usage: hono-docker-engine pull IMAGE [--json]

Pull an image through the gateway, showing progress (--json: one JSON event per line).`,
    options: { json },
    async run(values, args, client) {
      needArgs(args, 1, this.usage)
      const res = await call(client, '/api/images/pull', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: args[0] }),
      })
      for await (const line of ndjsonLines(res)) {
        if (values.json) console.log(JSON.stringify(line))
        if (line.error)
          throw new CliError(String((line.error as { message?: string }).message ?? 'pull failed'), EXIT.api)
        if (!values.json && line.status !== 'done') progress(describePull(line as { status: string }))
      }
      progressDone()
      if (!values.json) console.log(`pulled ${args[0]}`)
    },
  },
}
