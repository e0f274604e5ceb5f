import * as v from 'valibot'
import { ConfigError } from '../errors.js'
import { describeIssue } from '../util/describe-issue.js'

const PrefixSchema = v.pipe(
  v.string(),
  v.regex(
    /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/,
    'must start with "/", not end with "/", and use URL-safe segments',
  ),
)
const PositiveIntSchema = v.pipe(v.number(), v.integer(), v.minValue(1))

/**
 * The gateway configuration, as read from `wrangler-free-local-config.json`. Strict at every
 * level: an unknown key (a typo) is an error, never silently ignored.
 */
export const ConfigSchema = v.strictObject({
  /** Editors' schema reference; ignored by the gateway. */
  $schema: v.optional(v.string()),
  /** Where the standalone server listens. */
  listen: v.optional(
    v.strictObject({
      hostname: v.optional(v.pipe(v.string(), v.nonEmpty()), '127.0.0.1'),
      port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), 8000),
      /**
       * Idle time after which a connection with no request in flight is closed (Bun's
       * `idleTimeout`, Node's socket timeout). Proxied exchanges — streams, long polls,
       * WebSockets — are exempt once their request has arrived.
       */
      idleTimeoutSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)), 120),
      /**
       * Carry plain requests to running containers on the server's fast path (Node streams
       * and undici on Node, no Hono routing on Bun). Answers are the same either way.
       */
      fastPath: v.optional(v.boolean(), true),
      /**
       * Host names the API, `/metrics` and the dashboard answer for (DNS rebinding defence):
       * a browser tricked into sending `Host: attacker.example` to loopback gets `421`. Always
       * allowed: `localhost`, `127.0.0.1`, `[::1]`, the listen address and the host of
       * `input.publicApiUrl`. Without this key: only those while no `auth.tokens` are set, any
       * host once they are (a request without a token gains nothing). `"*"` allows any host.
       */
      allowedHosts: v.optional(
        v.array(
          v.pipe(
            v.string(),
            v.nonEmpty(),
            v.regex(/^(\*|[^\s/:#?@]+|\[[0-9a-fA-F:.]+\])$/, 'must be a host name without port, "[v6]", or "*"'),
          ),
        ),
      ),
    }),
    {},
  ),
  /** Graceful shutdown of the standalone server (`SIGTERM`, `SIGINT`; a second signal exits at once). */
  shutdown: v.optional(
    v.strictObject({
      /**
       * Seconds requests in flight get to finish once shutdown begins; WebSockets still open then
       * are closed with 1001. The process exits as soon as nothing is in flight.
       */
      graceSeconds: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(3600)), 30),
    }),
    {},
  ),
  /** Path prefix of the JSON API. */
  apiPrefix: v.optional(PrefixSchema, '/api'),
  /** Path prefix under which containers are proxied. */
  proxyPrefix: v.optional(PrefixSchema, '/docker'),
  /** Root of the ownership labels; containers without `<labelRoot>=true` are never touched. */
  labelRoot: v.optional(
    v.pipe(v.string(), v.regex(/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/, 'must be a lowercase reverse-DNS label key')),
    'io.github.refinery-project.django_docker_engine',
  ),
  /**
   * The engine the gateway drives: `docker` (one Docker Engine), or `swarm` (a Docker Swarm
   * cluster, through a manager's engine: the `docker` section's connection keys say which).
   */
  backend: v.optional(v.picklist(['docker', 'swarm']), 'docker'),
  /** Settings of the `swarm` backend. */
  swarm: v.optional(
    v.strictObject({
      /**
       * The attachable overlay network (created when missing): with `isolate`, the prefix of each
       * service's own network (`<network>-<name>`); without, the network every service joins.
       */
      network: v.optional(v.pipe(v.string(), v.nonEmpty()), 'hde-overlay'),
      /**
       * A network of its own per service, joined only by its task and the gateway's container, so
       * that no task can open another's port. `false`: every service on `network`.
       */
      isolate: v.optional(v.boolean(), true),
      /**
       * The gateway's container (name or id), joined to every service's network. Default: the
       * container this process runs in, found by its host name.
       */
      gatewayContainer: v.optional(v.pipe(v.string(), v.nonEmpty())),
      /** Placement constraints for every service, e.g. `["node.role==worker"]`. */
      constraints: v.optional(v.array(v.pipe(v.string(), v.nonEmpty())), []),
      /** How long a launch or wake waits for its task to run, pulls included. */
      startTimeoutSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 120),
    }),
    {},
  ),
  /** The Docker Engine connection. Without `socketPath`, `DOCKER_HOST` or the local socket is used. */
  docker: v.optional(
    v.pipe(
      v.strictObject({
        socketPath: v.optional(v.pipe(v.string(), v.nonEmpty())),
        /** Engine address: `unix:///path`, `tcp://host:port` or `https://host:port` (overrides `DOCKER_HOST`). */
        host: v.optional(
          v.pipe(
            v.string(),
            v.regex(/^(unix|tcp|https?):\/\//, 'must start with unix://, tcp://, http:// or https://'),
          ),
        ),
        /** PEM files for a TLS engine (as `docker --tlsverify` uses them). */
        tls: v.optional(
          v.strictObject({
            caFile: v.optional(v.pipe(v.string(), v.nonEmpty())),
            certFile: v.optional(v.pipe(v.string(), v.nonEmpty())),
            keyFile: v.optional(v.pipe(v.string(), v.nonEmpty())),
          }),
        ),
        /** Upper bound for one Docker API call (not for log streams). */
        apiTimeoutMs: v.optional(PositiveIntSchema, 10_000),
        /** Upper bound of the engine calls that create and start a container (a burst queues them in the engine). */
        launchTimeoutMs: v.optional(PositiveIntSchema, 120_000),
        /**
         * How the gateway reaches containers: `network` at the container's address on a Docker
         * network (no host port, no docker-proxy hop; the gateway must run on the Docker host or in
         * a container on that network), `published` through a port published on the host (through
         * Docker's userland proxy), or `auto`: `network` when this host is on the containers'
         * network (a local engine on Linux), else `published`. The choice is logged at start-up.
         */
        reach: v.optional(v.picklist(['auto', 'published', 'network']), 'auto'),
        /** Docker network containers join (`docker run --network`), as you set it up; default: the gateway's isolated network. */
        network: v.optional(
          v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a Docker network name')),
        ),
        /**
         * Without `network`: attach containers to a bridge the gateway creates (`hde-isolated`) on
         * which they cannot reach each other; the gateway reaches all of them. `false`: the
         * engine's default bridge, where every container can open every other's ports.
         */
        isolate: v.optional(v.boolean(), true),
        /** Host address container ports are published on (default 127.0.0.1, or 0.0.0.0 for a remote engine). */
        publishHost: v.optional(v.pipe(v.string(), v.nonEmpty())),
        /** Host the gateway uses to reach published ports; defaults to `publishHost`. */
        upstreamHost: v.optional(v.pipe(v.string(), v.nonEmpty())),
        /** Seconds a stopping container gets between SIGTERM and SIGKILL. */
        stopTimeoutSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(3600)), 10),
        /** Set `no-new-privileges` on every container. */
        noNewPrivileges: v.optional(v.boolean(), true),
        /** Capabilities dropped from every container (default: NET_RAW, MKNOD, SYS_CHROOT, AUDIT_WRITE, SETFCAP, SETPCAP). */
        capDrop: v.optional(
          v.array(v.pipe(v.string(), v.regex(/^[A-Z_]+$/, 'must be a capability name like NET_RAW'))),
        ),
      }),
      v.check(
        (docker) => docker.reach !== 'network' || (!docker.publishHost && !docker.upstreamHost),
        'publishHost and upstreamHost apply only with reach "published" or "auto"',
      ),
    ),
    {},
  ),
  /** Defaults applied to launches that leave these fields out. */
  defaults: v.optional(
    v.strictObject({
      cpus: v.optional(v.pipe(v.number(), v.minValue(0.01), v.maxValue(1024)), 0.5),
      port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)), 80),
      /** Process limit per container (fork bombs stop there). */
      pidsLimit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(16), v.maxValue(1_000_000)), 512),
    }),
    {},
  ),
  /** Bounds on what one launch may ask for. */
  limits: v.optional(
    v.strictObject({
      /** Most `extraDirectories` one launch may ask for (each is a volume on the engine). */
      extraDirectories: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000)), 16),
    }),
    {},
  ),
  /** How launch input reaches containers. */
  input: v.optional(
    v.strictObject({
      /** Largest `INPUT_JSON` environment entry; Linux caps one at 128 KiB. */
      maxEnvBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024), v.maxValue(131_072)), 131_072),
      /** Base URL of this gateway's API as containers reach it, e.g. `http://host.docker.internal:8000/api` (for `inputDelivery: "url"`). */
      publicApiUrl: v.optional(v.pipe(v.string(), v.url(), v.regex(/[^/]$/, 'must not end with "/"'))),
    }),
    {},
  ),
  /** Which images may be launched. Without `allow`, any image. */
  images: v.optional(
    v.strictObject({
      /** Patterns over the full reference with tag, `*` matching any run of characters, e.g. `registry.example/tools/*`. */
      allow: v.optional(v.array(v.pipe(v.string(), v.nonEmpty()))),
      /** When launches pull: only a `missing` image, `always`, or `never`. */
      pull: v.optional(v.picklist(['missing', 'always', 'never']), 'missing'),
    }),
    {},
  ),
  /** The 503 page shown to browsers while a container is missing or starting. */
  pleaseWait: v.optional(
    v.strictObject({
      /** Page title; HTML-escaped. */
      title: v.optional(v.string(), 'Please wait'),
      /** Page body; trusted HTML from the operator, inserted as is. */
      bodyHtml: v.optional(v.string(), '<h1>Please wait</h1><p>The application is starting.</p>'),
      retryAfterSeconds: v.optional(PositiveIntSchema, 2),
    }),
    {},
  ),
  /** How the gateway talks to containers. */
  upstream: v.optional(
    v.strictObject({
      /** Time to wait for response headers, once the request is sent, before answering 504. */
      headersTimeoutMs: v.optional(PositiveIntSchema, 300_000),
      /** Time to wait for a TCP connection to a container before answering 504. */
      connectTimeoutMs: v.optional(PositiveIntSchema, 10_000),
      /**
       * A client's request body may pause this long between bytes; then the exchange ends on
       * both sides (`408`), so a stalled upload cannot hold a client and a container forever.
       */
      bodyIdleTimeoutMs: v.optional(PositiveIntSchema, 60_000),
      /**
       * Send the client's `Host` to the container, as other reverse proxies do by default: apps
       * that compare `Origin` with `Host` (Jupyter) or build absolute URLs need it. `false` sends
       * the container's own address instead. `X-Forwarded-Host` carries it either way.
       */
      preserveHost: v.optional(v.boolean(), true),
    }),
    {},
  ),
  /** Where history and per-container state are kept across restarts (the CLI's file store). */
  dataDir: v.optional(v.pipe(v.string(), v.nonEmpty()), '.data'),
  /**
   * Where the CLI keeps its state: `file` (in `dataDir`, for one gateway) or `redis` (shared by
   * any number of replicas in front of the same engine; see `redis`).
   */
  store: v.optional(v.picklist(['file', 'redis']), 'file'),
  /** The Redis server of `store: "redis"`. */
  redis: v.optional(
    v.strictObject({
      /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
      url: v.optional(v.pipe(v.string(), v.regex(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL'))),
      /** Prepended to every key, so several deployments can share one Redis. */
      keyPrefix: v.optional(v.pipe(v.string(), v.nonEmpty()), 'hde:'),
      /** Longest a Redis command may take before it fails (the gateway keeps proxying meanwhile). */
      commandTimeoutMs: v.optional(PositiveIntSchema, 5_000),
    }),
    {},
  ),
  /** Gateways sharing a store. */
  replicas: v.optional(
    v.strictObject({
      /**
       * How long the leader's lease lasts unrenewed: when the leader dies, another replica takes
       * its background work (idle reaping) over within this time.
       */
      leaseSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(300)), 5),
    }),
    {},
  ),
  /** Per-container access history. */
  history: v.optional(
    v.strictObject({
      /** Entries kept per container; older ones are dropped. */
      maxEntries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000)), 1_000),
    }),
    {},
  ),
  /** The idle reaper. Without `timeoutSeconds`, only containers launched with `idleTimeoutSeconds` are reaped. */
  idle: v.optional(
    v.strictObject({
      /** Inactivity after which a container is reaped. */
      timeoutSeconds: v.optional(PositiveIntSchema),
      /** `remove` deletes it (the original's purge); `stop` scales it to zero, and the next request wakes it. */
      action: v.optional(v.picklist(['remove', 'stop']), 'remove'),
      /** How often the reaper looks (and asks the engine whether it restarted). */
      checkIntervalSeconds: v.optional(PositiveIntSchema, 30),
      /**
       * A container the engine's own shutdown stopped (a daemon restart or upgrade) is woken by its
       * next request, as one the gateway stopped is. `false`: it stays `exited` (`502`).
       */
      wakeAfterEngineRestart: v.optional(v.boolean(), true),
    }),
    {},
  ),
  /** When a started container counts as ready. */
  readiness: v.optional(
    v.strictObject({
      /** Path that must answer 2xx/3xx; without it any HTTP answer on the port counts. */
      path: v.optional(v.pipe(v.string(), v.regex(/^\/[^\s]*$/, 'must start with "/"'))),
      /** After this long without becoming ready a container is `failed`. */
      startTimeoutSeconds: v.optional(PositiveIntSchema, 60),
    }),
    {},
  ),
  /** How long a request sent with `Prefer: wait=N` may be held while its container wakes. */
  maxWaitSeconds: v.optional(PositiveIntSchema, 60),
  /** Total memory reservation (MiB) of running managed containers; least-recently-active ones are evicted to fit a launch. */
  memLimitMb: v.optional(PositiveIntSchema),
  /** When eviction cannot make room: `reject` answers 507, `startAnyway` logs a warning and launches. */
  memLimitPolicy: v.optional(v.picklist(['reject', 'startAnyway']), 'reject'),
  /** Hostname routing: with `.docker.localhost`, `Host: <name>.docker.localhost` proxies every path to `<name>`. */
  hostSuffix: v.optional(
    v.pipe(
      v.string(),
      v.regex(
        /^\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
        'must look like ".docker.example.org"',
      ),
    ),
  ),
  /** Cookies of the parent app (e.g. its session cookie) that are never forwarded to containers. */
  cookies: v.optional(v.strictObject({ strip: v.optional(v.array(v.pipe(v.string(), v.nonEmpty())), []) }), {}),
  /** Proxy access for launches that do not say: `public`, or `token` (a one-time access link per container). */
  defaultAccess: v.optional(v.picklist(['public', 'token']), 'public'),
  /** Operator logs: one JSON line per event. */
  log: v.optional(
    v.strictObject({
      level: v.optional(v.picklist(['debug', 'info', 'warn', 'error']), 'info'),
      /**
       * How the CLI writes its log: `json` (one object per line, for collectors), `pretty` (a
       * readable line, coloured unless `NO_COLOR` is set), or `auto`: pretty on a terminal, else JSON.
       */
      format: v.optional(v.picklist(['auto', 'json', 'pretty']), 'auto'),
      /** One line per proxied request (container, method, path, status, duration). */
      access: v.optional(v.boolean(), false),
    }),
    {},
  ),
  /** Prometheus metrics at `<mount>/metrics` (behind the API's authentication). */
  metrics: v.optional(v.strictObject({ enabled: v.optional(v.boolean(), true) }), {}),
  /** Who may use the API. */
  auth: v.optional(
    v.strictObject({
      /**
       * Bearer tokens accepted by the API (`Authorization: Bearer <token>`); the CLI adds
       * `HONO_DOCKER_ENGINE_TOKENS` (comma-separated). Without any, the API answers loopback clients only.
       */
      tokens: v.optional(v.array(v.pipe(v.string(), v.minLength(16, 'must be at least 16 characters'))), []),
    }),
    {},
  ),
  /**
   * The operator dashboard. The standalone server serves it on a listener of its own: it must
   * never share an origin with path-routed containers, whose pages could read it and act through it.
   */
  dashboard: v.optional(
    v.strictObject({
      /** Serve the dashboard (the standalone server on its own port; embedders mount `gateway.dashboard`). */
      enabled: v.optional(v.boolean(), true),
      /** Where the standalone server serves it (default: `listen.hostname`). */
      hostname: v.optional(v.pipe(v.string(), v.nonEmpty())),
      /** Its port (0 picks a free one); never the proxy's. */
      port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), 8001),
      /** How long a dashboard session lasts after sign-in. */
      sessionTtlSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(60), v.maxValue(30 * 86_400)), 28_800),
      /**
       * Where visitors open containers, e.g. `https://tools.example.org` (the proxy's origin, plus
       * the mount path when embedded). Default: the dashboard's host name with `listen.port`.
       */
      proxyUrl: v.optional(v.pipe(v.string(), v.url('must be a URL such as https://tools.example.org'))),
    }),
    {},
  ),
  /** Trust `X-Forwarded-*` from the client (only behind a proxy you control). */
  trustProxy: v.optional(v.boolean(), false),
  /** Largest JSON body the API accepts. */
  apiBodyLimitBytes: v.optional(PositiveIntSchema, 1_048_576),
})

/** Configuration as written by the operator (every key optional). */
export type ConfigInput = v.InferInput<typeof ConfigSchema>
/** Configuration with every default applied. */
export type Config = v.InferOutput<typeof ConfigSchema>

/** Configurations {@link parseConfig} produced (an embedder may hand one to several entry points). */
const PARSED = new WeakSet<object>()

/**
 * Validate a configuration object and apply defaults.
 * @throws ConfigError naming each wrong key and what was expected.
 * @example parseConfig({ listen: { port: 9000 } }).apiPrefix // '/api'
 */
export function parseConfig(input: unknown, source = 'configuration'): Config {
  // A configuration this function produced is valid as it is: no second pass.
  if (typeof input === 'object' && input !== null && PARSED.has(input)) return input as Config
  const result = v.safeParse(ConfigSchema, input ?? {})
  if (result.success) {
    PARSED.add(result.output)
    return result.output
  }
  const lines = result.issues.map((issue) => {
    const key = v.getDotPath(issue) ?? '(root)'
    return `  - ${key}: ${describeIssue(issue)}`
  })
  throw new ConfigError(`Invalid ${source}:\n${lines.join('\n')}`)
}
