import { PULL_FAILURE_REASONS } from '../backends/pull-failure.js'
import * as v from 'valibot'

/** Container names: the routing key in URLs, so no encoding, no slashes, no leading dot. */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/

/** A container name as accepted in URLs and launch bodies. */
export const ContainerNameSchema = v.pipe(
  v.string(),
  v.regex(NAME_PATTERN, 'must be 1–63 characters of letters, digits, "_", "." or "-", starting with a letter or digit'),
)

const StringMapSchema = v.record(v.pipe(v.string(), v.nonEmpty('keys must not be empty')), v.string())

const EnvSchema = v.record(
  v.pipe(
    v.string(),
    v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names must match [A-Za-z_][A-Za-z0-9_]*'),
  ),
  v.string(),
)

const AbsolutePathSchema = v.pipe(
  v.string(),
  v.check(
    (path) => path.startsWith('/'),
    (issue) => `"${String(issue.input)}" is not absolute`,
  ),
  v.check(
    (path) => !path.split('/').includes('..'),
    (issue) => `"${String(issue.input)}" must not contain ".."`,
  ),
)

/** Kernel interfaces a volume must never shadow (and Docker refuses to mount over, with host paths in its error). */
const SYSTEM_PATHS = ['/proc', '/sys', '/dev']

const VolumePathSchema = v.pipe(
  AbsolutePathSchema,
  v.check((path) => path.replace(/\/+$/, '') !== '', 'must not be the root directory'),
  v.check(
    (path) => !SYSTEM_PATHS.some((system) => path === system || path.startsWith(`${system}/`)),
    (issue) => `"${String(issue.input)}" is a kernel interface (${SYSTEM_PATHS.join(', ')}) and cannot hold a volume`,
  ),
)

/** The environment variable that tells every container its public path prefix, e.g. `/docker/nb1/`. */
export const PUBLIC_PREFIX_VARIABLE = 'PUBLIC_PREFIX'

/** Largest memory figure a launch may name, in MiB (1 TiB): beyond any host, and beyond what the engine parses. */
const MAX_MEMORY_MB = 1_048_576

/**
 * The body of `POST /api/containers`. Unknown keys are rejected so a typo never launches
 * a container with silently missing settings.
 */
export const LaunchBodySchema = v.pipe(
  v.strictObject({
    /** Image reference; `:latest` is appended when it has no tag or digest. */
    image: v.pipe(v.string(), v.nonEmpty('is required'), v.regex(/^[^\s]+$/, 'must not contain whitespace')),
    /** Container name; generated when absent. */
    name: v.optional(ContainerNameSchema),
    /** The HTTP port the app listens on inside the container. */
    port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))),
    /** Any JSON; delivered as the `inputDelivery` modes say. */
    input: v.optional(v.unknown()),
    /** `env` (`INPUT_JSON`), `file` (written at `inputPath`), `url` (`INPUT_JSON_URL`), or several. */
    inputDelivery: v.optional(
      v.pipe(
        v.union([
          v.picklist(['env', 'file', 'url']),
          v.pipe(v.array(v.picklist(['env', 'file', 'url'])), v.minLength(1)),
        ]),
        v.transform((mode) => (Array.isArray(mode) ? mode : [mode])),
      ),
      'env',
    ),
    /** In-container path of the input file (`file` mode). */
    inputPath: v.optional(AbsolutePathSchema, '/tmp/input.json'),
    /** Add `api_prefix: "/docker/<name>/"` to an object input, as Refinery tools expect. */
    inputApiPrefix: v.optional(v.boolean(), false),
    env: v.optional(EnvSchema, {}),
    cmd: v.optional(v.array(v.string())),
    labels: v.optional(StringMapSchema, {}),
    /** CPU share (0.5 = half a core). */
    cpus: v.optional(v.pipe(v.number(), v.minValue(0.01), v.maxValue(1024))),
    /** Soft memory reservation in MiB. */
    memReservationMb: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_MEMORY_MB))),
    /** Hard memory limit in MiB (Docker's minimum is 6). */
    memLimitMb: v.optional(v.pipe(v.number(), v.integer(), v.minValue(6), v.maxValue(MAX_MEMORY_MB))),
    /** Absolute in-container paths, each backed by a fresh volume (at most `limits.extraDirectories`). */
    extraDirectories: v.optional(v.array(VolumePathSchema), []),
    /** Idle seconds after which the reaper removes or stops this container (overrides `idle.timeoutSeconds`). */
    idleTimeoutSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    /** Who may reach it: anyone (`public`) or holders of its one-time access link (`token`). Default `defaultAccess`. */
    access: v.optional(v.picklist(['public', 'token'])),
    /** When to pull the image (default `images.pull`). */
    pull: v.optional(v.picklist(['missing', 'always', 'never'])),
    /** Process limit (default `defaults.pidsLimit`). */
    pidsLimit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(16), v.maxValue(1_000_000))),
    /** Read-only root filesystem, with a tmpfs at /tmp. */
    readOnlyRootfs: v.optional(v.boolean(), false),
    /** Path that must answer 2xx/3xx before the container is ready (overrides `readiness.path`). */
    readinessPath: v.optional(
      v.pipe(v.string(), v.regex(/^\/[\x21-\x7e]*$/, 'must start with "/" and contain no spaces')),
    ),
    /**
     * `true` (default): the container receives the path after its prefix (`/docker/<name>/a` → `/a`).
     * `false`: it receives the full public path, for apps told their base URL (`PUBLIC_PREFIX`).
     */
    stripPrefix: v.optional(v.boolean(), true),
  }),
  v.forward(
    v.check(
      (body) => body.memLimitMb === undefined || (body.memReservationMb ?? 0) <= body.memLimitMb,
      'must not exceed memLimitMb',
    ),
    ['memReservationMb'],
  ),
  v.forward(
    v.check(
      (body) =>
        body.input === undefined || !['INPUT_JSON', 'INPUT_JSON_URL'].some((key) => Object.hasOwn(body.env, key)),
      'INPUT_JSON and INPUT_JSON_URL are set from "input"; pass one or the other',
    ),
    ['env'],
  ),
  v.forward(
    v.check(
      (body) => !Object.hasOwn(body.env, PUBLIC_PREFIX_VARIABLE),
      `${PUBLIC_PREFIX_VARIABLE} is set by the gateway to the container's public path prefix`,
    ),
    ['env'],
  ),
)

/** A validated launch body, every default applied. */
export type LaunchBody = v.InferOutput<typeof LaunchBodySchema>
/** A launch body as a client writes it (`POST /api/containers`): only `image` is required. */
export type LaunchRequest = v.InferInput<typeof LaunchBodySchema>

const FlagSchema = v.optional(
  v.pipe(
    v.picklist(['0', '1', 'true', 'false'], 'must be 0, 1, true or false'),
    v.transform((s) => s === '1' || s === 'true'),
  ),
  '0',
)

/** Query of `GET /api/containers/:name/logs`. */
export const LogsQuerySchema = v.strictObject({
  tail: v.optional(v.pipe(v.string(), v.regex(/^\d{1,7}$/, 'must be a whole number'), v.transform(Number))),
  timestamps: FlagSchema,
  follow: FlagSchema,
})

/** Append `:latest` when the reference has neither a tag nor a digest. */
export function withDefaultTag(image: string): string {
  if (image.includes('@')) return image
  const lastSegment = image.slice(image.lastIndexOf('/') + 1)
  return lastSegment.includes(':') ? image : `${image}:latest`
}

/** A label selector: `key=value`, or `key` for any value (see `containers/label-selector.ts`). */
const LabelSelectorSchema = v.pipe(v.string(), v.nonEmpty(), v.regex(/^[^=]+(=.*)?$/, 'must be "key" or "key=value"'))

/** Most containers one page of `GET /api/containers` holds. */
export const MAX_PAGE = 1000

/** Query of `GET /api/containers`; every parameter is optional, and without any the list is whole. */
export const ListQuerySchema = v.strictObject({
  /** Only containers carrying every one of these labels (the parameter may repeat). */
  label: v.optional(v.array(LabelSelectorSchema), []),
  /** At most this many containers, in name order; the answer's `next` continues the list. */
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,7}$/, 'must be a whole number'),
      v.transform(Number),
      v.minValue(1),
      v.maxValue(MAX_PAGE),
    ),
  ),
  /** Start after this container name: the `next` of the previous page. */
  after: v.optional(ContainerNameSchema),
})

/** Body of `POST /api/purge`: at least one criterion. */
export const PurgeBodySchema = v.pipe(
  v.strictObject({
    /** Remove containers idle for at least this many seconds (0: regardless of activity). */
    inactiveSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    /** Remove containers with this label: `key=value`, or `key` for any value. */
    label: v.optional(LabelSelectorSchema),
  }),
  v.check(
    (body) => body.inactiveSeconds !== undefined || body.label !== undefined,
    'give inactiveSeconds, label, or both',
  ),
)

/** Body of `POST /api/images/pull`. */
export const PullBodySchema = v.strictObject({
  image: v.pipe(v.string(), v.nonEmpty('is required'), v.regex(/^[^\s]+$/, 'must not contain whitespace')),
})

// Response shapes. The TypeScript types of the answers derive from these, and so does the OpenAPI document.

/** The error body every failure answers with. */
export const ErrorBodySchema = v.object({
  error: v.object({
    code: v.string(),
    message: v.string(),
    issues: v.optional(v.array(v.object({ path: v.string(), message: v.string() }))),
    /** Why an image is not available (`image_unavailable`). */
    reason: v.optional(v.picklist(PULL_FAILURE_REASONS)),
  }),
})

/** A container as the API shows it. */
export const ContainerViewSchema = v.object({
  name: v.string(),
  id: v.string(),
  image: v.string(),
  status: v.picklist(['starting', 'ready', 'unreachable', 'stopped', 'exited', 'failed']),
  /** Why it is `failed` or `unreachable`, or why it is not ready yet after a few seconds `starting`. */
  reason: v.optional(v.string()),
  exitCode: v.optional(v.number()),
  /** The proxied URL, e.g. `/docker/<name>/`. */
  url: v.string(),
  createdAt: v.pipe(v.string(), v.isoTimestamp()),
  /** Last proxied request (or start, if none since), ISO 8601 UTC. */
  lastActivity: v.pipe(v.string(), v.isoTimestamp()),
  port: v.number(),
  memReservationMb: v.number(),
  idleTimeoutSeconds: v.optional(v.number()),
  /** Whether the container receives the path after its prefix (`true`) or the full public path. */
  stripPrefix: v.boolean(),
  /** Who may reach it: anyone, or holders of its access link (`POST …/access-link` makes a new one). */
  access: v.picklist(['public', 'token']),
  labels: v.record(v.string(), v.string()),
})

/** The answer to a launch. */
export const LaunchResultSchema = v.object({
  name: v.string(),
  id: v.string(),
  /** The proxied URL; for `access: "token"`, with its one-time access token. */
  url: v.string(),
  status: v.picklist(['starting', 'ready', 'unreachable', 'stopped', 'exited', 'failed']),
})

/** `POST /api/containers/:name/access-link`. */
export const AccessLinkSchema = v.object({
  name: v.string(),
  /** The container's URL with a new one-time access token. */
  url: v.string(),
})

/** `GET /api/health/live` and `GET /api/health/ready`. */
export const ProbeSchema = v.object({
  status: v.picklist(['live', 'ready', 'draining', 'engine_unreachable']),
})

/** A stop or a wake (`POST /api/containers/{name}/stop`, `…/wake`). */
export const ActionResultSchema = v.object({ name: v.string(), status: v.picklist(['stopped', 'starting']) })

/** `GET /api/health`. */
export const HealthSchema = v.object({
  ok: v.boolean(),
  backend: v.object({
    name: v.string(),
    reachable: v.boolean(),
    version: v.optional(v.string()),
    /** The engine keeps containers running while it restarts (Docker's `live-restore`), when it tells. */
    liveRestore: v.optional(v.boolean()),
    error: v.optional(v.string()),
  }),
})

/** `GET /api/containers/:name/history`. */
export const HistorySchema = v.object({
  name: v.string(),
  entries: v.array(v.object({ time: v.pipe(v.string(), v.isoTimestamp()), method: v.string(), path: v.string() })),
})

/** `GET /api/containers`. */
export const ContainerListSchema = v.object({
  /** In name order. */
  containers: v.array(ContainerViewSchema),
  /** Present when a `limit` left containers out: pass it as `after` for the next page. */
  next: v.optional(ContainerNameSchema),
})

/** `POST /api/purge`. */
export const PurgeResultSchema = v.object({ removed: v.array(v.string()) })
