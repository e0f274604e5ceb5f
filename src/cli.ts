import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { loadConfigFile, DEFAULT_CONFIG_FILE } from './config/file.js'
import { ConfigError } from './errors.js'
import type { Gateway, GatewayOptions } from './gateway.js'
import { withoutBackendKeys } from './config/backend-keys.js'
import { consoleLogger } from './logger.js'
import { isLoopbackAddress } from './util/secrets.js'
import { fileStore } from './stores/file.js'
import type { ContainerStore } from './stores/store.js'
import type { Config } from './config/schema.js'
import type { Logger } from './logger.js'
import type { RunningServer } from './adapter/running-server.js'
import { CliError, EXIT, progressDone } from './cli/client.js'
import { COMMANDS } from './cli/commands.js'
import { startTracing } from './cli/tracing.js'
import { didYouMean } from './cli/suggest.js'

const USAGE = `Usage: hono-docker-engine serve [options]

Run the gateway: a JSON API at /api and a proxy at /docker/<name>/ on a local Docker Engine.

Options:
  -c, --config FILE   config file (default: $HONO_DOCKER_ENGINE_CONFIG, else ./${DEFAULT_CONFIG_FILE} if present)
  -p, --port N        listen port (overrides listen.port; 0 picks a free port)
      --host ADDRESS  listen address (overrides listen.hostname)
      --log-level L   debug, info, warn or error (overrides log.level and HDE_LOG_LEVEL)
  -h, --help          show this help

Docker is reached through docker.socketPath in the config, else DOCKER_HOST, else the local socket.
The log is readable lines on a terminal and JSON lines otherwise (log.format, HDE_LOG_FORMAT).`

/** A runtime's way to build and serve a gateway. Chosen here, at the edge, never in the core. */
interface Runtime {
  name: string
  createGateway(options: Omit<GatewayOptions, 'fetch' | 'getClientAddress' | 'websocket' | 'dashboardAssets'>): Gateway
  serve(options: {
    gateway: Gateway
    hostname: string
    port: number
    idleTimeoutSeconds: number
    fastPath: boolean
  }): Promise<RunningServer>
  serveDashboard(options: { gateway: Gateway; hostname: string; port: number }): Promise<RunningServer>
}

async function loadRuntime(): Promise<Runtime> {
  if ('Bun' in globalThis) {
    const bun = await import('./adapter/bun/index.js')
    return {
      name: 'bun',
      createGateway: bun.createBunGateway,
      serve: bun.serveBun,
      serveDashboard: bun.serveBunDashboard,
    }
  }
  const node = await import('./adapter/node/index.js')
  return {
    name: 'node',
    createGateway: node.createNodeGateway,
    serve: node.serveNode,
    serveDashboard: node.serveNodeDashboard,
  }
}

/**
 * The store the configuration names: the data directory's files, or a Redis shared by replicas
 * (its client is loaded only then). Redis connection errors are logged at most every 30 s.
 */
async function openStore(config: Config, logger: Logger): Promise<ContainerStore> {
  if (config.store === 'file') return fileStore({ dir: config.dataDir, maxEntries: config.history.maxEntries })
  const { url, keyPrefix, commandTimeoutMs } = config.redis
  if (!url) throw new ConfigError('redis.url: required with store "redis" (e.g. redis://127.0.0.1:6379)')
  const { redisStore } = await import('./stores/redis.js')
  let reportedAt = Number.NEGATIVE_INFINITY
  return redisStore({
    url,
    keyPrefix,
    commandTimeoutMs,
    maxEntries: config.history.maxEntries,
    onError: (err) => {
      if (performance.now() - reportedAt < 30_000) return
      reportedAt = performance.now()
      logger.warn('the Redis store cannot be reached; proxying goes on, retrying', { error: err.message })
    },
  })
}

function parsePort(text: string): number {
  const port = Number(text)
  if (!/^\d{1,5}$/.test(text) || port > 65535)
    throw new ConfigError(`--port must be a number from 0 to 65535, got "${text}"`)
  return port
}

/** `--log-level`, checked as the configuration checks `log.level`. */
function parseLogLevel(text: string): Config['log']['level'] {
  const levels = ['debug', 'info', 'warn', 'error'] as const
  const level = levels.find((each) => each === text)
  if (!level) throw new ConfigError(`--log-level must be one of ${levels.join(', ')}, got "${text}"`)
  return level
}

async function serveCommand(values: {
  config?: string
  port?: string
  host?: string
  'log-level'?: string
}): Promise<void> {
  const { config, source, unknownVariables } = await loadConfigFile(values.config, process.env)
  if (values['log-level'] !== undefined) config.log.level = parseLogLevel(values['log-level'])
  const pretty = config.log.format === 'pretty' || (config.log.format === 'auto' && process.stdout.isTTY === true)
  const logger = consoleLogger(config.log.level, {
    format: pretty ? 'pretty' : 'json',
    color: pretty && process.stdout.isTTY === true && !process.env.NO_COLOR,
  })
  if (unknownVariables.length)
    logger.warn('environment variables that set no configuration key (ignored)', { variables: unknownVariables })
  // Before the gateway is built, so that every span it makes has somewhere to go.
  const stopTracing = await startTracing(process.env, logger, await version())
  const hostname = values.host ?? config.listen.hostname
  const envTokens = (process.env.HONO_DOCKER_ENGINE_TOKENS ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
  if (envTokens.some((t) => t.length < 16))
    throw new ConfigError('HONO_DOCKER_ENGINE_TOKENS: every token must be at least 16 characters')
  config.auth.tokens = [...config.auth.tokens, ...envTokens]
  if (config.auth.tokens.length === 0 && !isLoopbackAddress(hostname)) {
    throw new ConfigError(
      `Refusing to listen on ${hostname} without API tokens: anyone who reaches it could launch containers. Set auth.tokens or HONO_DOCKER_ENGINE_TOKENS, or listen on 127.0.0.1.`,
    )
  }
  const dashboardHostname = config.dashboard.hostname ?? hostname
  if (config.dashboard.enabled && config.auth.tokens.length === 0 && !isLoopbackAddress(dashboardHostname)) {
    throw new ConfigError(
      `Refusing to serve the dashboard on ${dashboardHostname} without API tokens: anyone who reaches it could launch containers. Set auth.tokens, or dashboard.hostname to 127.0.0.1, or dashboard.enabled to false.`,
    )
  }
  // The API answers for the address it listens on (see listen.allowedHosts).
  config.listen.hostname = hostname
  const port = values.port === undefined ? config.listen.port : parsePort(values.port)
  const tlsFiles = config.docker.tls
  const readPem = async (file: string | undefined) => (file ? await readFile(file) : undefined)
  const tls = tlsFiles
    ? {
        ca: await readPem(tlsFiles.caFile),
        cert: await readPem(tlsFiles.certFile),
        key: await readPem(tlsFiles.keyFile),
      }
    : undefined
  // The config's docker section names the backend's own options; only the TLS files are read here.
  const { tls: _tlsFiles, ...dockerOptions } = config.docker
  const backend =
    config.backend === 'swarm'
      ? (await import('./backends/swarm/index.js')).swarm({
          labelRoot: config.labelRoot,
          ...(dockerOptions.socketPath ? { socketPath: dockerOptions.socketPath } : {}),
          ...(dockerOptions.host ? { host: dockerOptions.host } : {}),
          ...(tls ? { tls } : {}),
          apiTimeoutMs: dockerOptions.apiTimeoutMs,
          stopTimeoutSeconds: dockerOptions.stopTimeoutSeconds,
          capDrop: dockerOptions.capDrop,
          network: config.swarm.network,
          isolate: config.swarm.isolate,
          ...(config.swarm.gatewayContainer ? { gatewayContainer: config.swarm.gatewayContainer } : {}),
          constraints: config.swarm.constraints,
          startTimeoutMs: config.swarm.startTimeoutSeconds * 1000,
        })
      : (await import('./backends/docker/index.js')).docker({
          labelRoot: config.labelRoot,
          ...dockerOptions,
          ...(tls ? { tls } : {}),
        })
  const runtime = await loadRuntime()
  const store = await openStore(config, logger)
  // The backend is built from the docker/swarm keys above; the gateway is given it without them.
  const gateway = runtime.createGateway({ backend, config: withoutBackendKeys(config), logger, store })
  const server = await runtime.serve({
    gateway,
    hostname,
    port,
    idleTimeoutSeconds: config.listen.idleTimeoutSeconds,
    fastPath: config.listen.fastPath,
  })
  // Signals drain from the moment the server listens (see shutdown.graceSeconds).
  let dashboard: RunningServer | undefined
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting without waiting for requests in flight', { signal })
      process.exit(1)
    }
    stopping = true
    const graceSeconds = config.shutdown.graceSeconds
    // Readiness fails at once; what is in flight finishes; containers keep running for the next gateway.
    gateway.drain.start()
    logger.info('draining', { signal, inFlight: gateway.drain.inFlight, graceSeconds })
    const started = performance.now()
    await Promise.all([server.close(graceSeconds * 1000), dashboard?.close()])
    const ms = Math.round(performance.now() - started)
    // The drain ends early when nothing is left in flight; at the grace period, what was open was closed.
    logger.info(ms >= graceSeconds * 1000 ? 'grace period over: closed what was still open' : 'drained', { ms })
    await gateway.close()
    await store.close?.()
    // The last spans (those of the drain) are sent before the process ends.
    await stopTracing?.().catch((err: unknown) => logger.warn('tracing: last spans not sent', { error: String(err) }))
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
  logger.info('listening', {
    url: server.url,
    runtime: runtime.name,
    config: source,
    store: config.store,
    ...(config.store === 'file' ? { dataDir: config.dataDir } : {}),
    replica: gateway.manager.replicaId,
  })
  // The port in force: the dashboard links containers to it.
  gateway.config.listen.port = server.port
  dashboard = config.dashboard.enabled
    ? await runtime
        .serveDashboard({ gateway, hostname: dashboardHostname, port: config.dashboard.port })
        .catch(async (err: Error) => {
          await server.close()
          throw new ConfigError(
            `Cannot serve the dashboard on ${dashboardHostname}:${config.dashboard.port}: ${err.message} (set dashboard.port, or dashboard.enabled to false)`,
          )
        })
    : undefined
  if (dashboard) logger.info('dashboard listening', { url: `${dashboard.url}/` })
  logger.info(
    config.auth.tokens.length
      ? `API authentication on: ${config.auth.tokens.length} bearer token(s)`
      : 'API authentication off: the API answers loopback clients only (set auth.tokens to open it)',
  )
  gateway.manager.ping().then(
    (info) => {
      logger.info('docker reachable', { version: info.version, liveRestore: info.liveRestore })
      backend.reach().then(
        ({ kind, reason }) =>
          logger.info(
            `containers are reached through ${kind === 'network' ? 'their network address' : 'published ports'}`,
            { reach: kind, reason },
          ),
        (err: Error) => logger.warn('could not choose how to reach containers yet', { reason: err.message }),
      )
      if (info.liveRestore === false)
        logger.info(
          'hint: live-restore is off, so restarting dockerd stops every container (each is woken by its next request); with "live-restore": true in /etc/docker/daemon.json they keep running',
        )
    },
    (err: Error) => logger.warn('docker unreachable; the API answers 503 until it is back', { reason: err.message }),
  )
}

const HELP = `Usage: hono-docker-engine <command> [options]

Commands:
  serve              run the gateway (see: serve --help)
  health [--ready]   ask a gateway whether it is live (or ready); exit 0 if so
  launch IMAGE       launch a container and wait until it is ready
  ls                 list managed containers
  logs NAME [-f]     print (or follow) a container's output
  rm NAME…           remove containers and their volumes
  purge              remove containers by inactivity and/or label
  pull IMAGE         pull an image, showing progress

Options:
  -h, --help         show this help
  -v, --version      print the version

Client commands talk to a running gateway:
  --url URL          gateway URL (default $HONO_DOCKER_ENGINE_URL, else http://127.0.0.1:8000)
  --token TOKEN      API token (default $HONO_DOCKER_ENGINE_TOKEN)

Run "hono-docker-engine <command> --help" for a command's options.`

/** Entry point of the `hono-docker-engine` command. Resolves the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (!command || command === '--help' || command === '-h') {
    console.log(HELP)
    return command ? 0 : EXIT.usage
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    console.log(await version())
    return 0
  }
  if (command === 'serve') return serveMain(rest)
  const client = COMMANDS[command]
  if (!client) {
    const what = command.startsWith('-') ? `option "${command}"` : `command "${command}"`
    const known = command.startsWith('-') ? ['--help', '--version'] : ['serve', ...Object.keys(COMMANDS)]
    console.error(`hono-docker-engine: unknown ${what}.${didYouMean(command, known)}\n\n${HELP}`)
    return EXIT.usage
  }
  const options = {
    ...client.options,
    url: { type: 'string' },
    token: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const
  const parsed = parseOrExplain(client.usage, Object.keys(options), () =>
    parseArgs({ args: rest, allowPositionals: true, options }),
  )
  if (!parsed) return EXIT.usage
  if (parsed.values.help) {
    console.log(client.usage)
    return 0
  }
  const token = (parsed.values.token as string | undefined) ?? process.env.HONO_DOCKER_ENGINE_TOKEN
  try {
    const url =
      (parsed.values.url as string | undefined) ||
      process.env.HONO_DOCKER_ENGINE_URL ||
      (client.defaultUrl ? await client.defaultUrl(parsed.values) : 'http://127.0.0.1:8000')
    await client.run(parsed.values, parsed.positionals, { url, ...(token ? { token } : {}) })
    return 0
  } catch (err) {
    progressDone()
    if (err instanceof CliError) {
      console.error(`hono-docker-engine ${command}: ${err.message}`)
      return err.exitCode
    }
    if (err instanceof ConfigError) {
      console.error(`hono-docker-engine ${command}: ${err.message}`)
      return EXIT.usage
    }
    console.error(`hono-docker-engine ${command}: ${(err as Error).message}`)
    return EXIT.api
  }
}

async function serveMain(args: string[]): Promise<number> {
  const options = {
    config: { type: 'string', short: 'c' },
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const
  const parsed = parseOrExplain(USAGE, Object.keys(options), () =>
    parseArgs({ args, allowPositionals: false, options }),
  )
  if (!parsed) return EXIT.usage
  if (parsed.values.help) {
    console.log(USAGE)
    return 0
  }
  try {
    await serveCommand(parsed.values)
    return 0
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      return 78 // EX_CONFIG
    }
    console.error(`Cannot start: ${(err as Error).message}`)
    return 1
  }
}

const code = await main(process.argv.slice(2))
if (code !== 0) process.exit(code)

/** Parse arguments; a mistake is printed in plain words with the usage, and answers `undefined`. */
function parseOrExplain<T>(usage: string, options: string[], parse: () => T): T | undefined {
  try {
    return parse()
  } catch (err) {
    console.error(`${describeParseError(err as Error & { code?: string }, options)}\n\n${usage}`)
    return undefined
  }
}

/** What `util.parseArgs` refused, in one plain sentence naming the option or argument. */
function describeParseError(err: Error & { code?: string }, options: string[]): string {
  const quoted = /'([^']+)'/.exec(err.message)?.[1]
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const typed = quoted ?? err.message
      const suggestion = didYouMean(
        typed,
        options.map((name) => `--${name}`),
      )
      return `Unknown option "${typed}".${suggestion || ' (Values that start with "-" go after "--".)'}`
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `Option "${(quoted ?? '').replace(/ <value>$/, '')}" ${/argument missing/.test(err.message) ? 'needs a value' : 'takes no value'}.`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `Unexpected argument "${quoted ?? err.message}".`
    default:
      return err.message
  }
}

/** The package's version, from its package.json (one level up from the sources and from dist/). */
async function version(): Promise<string> {
  const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return manifest.version
}
