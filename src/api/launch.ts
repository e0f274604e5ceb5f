import type { LaunchSpec, PullPolicy } from '../backend.js'
import { ImageNotAllowedError } from '../errors.js'
import { ApiError } from '../http/errors.js'
import { containerPath } from '../proxy/path.js'
import { type InputSettings, type PreparedInput, prepareInput } from './input.js'
import { type LaunchBody, PUBLIC_PREFIX_VARIABLE, withDefaultTag } from './schemas.js'

/** The gateway's launch rules, from its configuration. */
export interface LaunchRules {
  /** Defaults for launches that leave these fields out. */
  defaults: { cpus: number; port: number; pidsLimit: number }
  /** Image allowlist patterns; any image when absent. */
  allowImages?: string[]
  /** Pull policy for launches that do not say. */
  pullPolicy: PullPolicy
  /** Proxy access for launches that do not say. */
  defaultAccess: 'public' | 'token'
  /** Most `extraDirectories` one launch may ask for. */
  maxExtraDirectories: number
  /** The readiness path of launches that do not name one (`readiness.path`). */
  readinessPath?: string
  input: InputSettings
}

/** What a validated launch body becomes: the engine's spec, and the input it serves by URL. */
export interface LaunchPlan {
  spec: LaunchSpec
  input: PreparedInput | undefined
}

/**
 * Turn a validated launch body into what the engine runs, by the gateway's rules: defaults, the
 * image allowlist, the name (generated when absent), the bounds, and the input delivery.
 * `publicProxyPrefix` is where containers are served (`/viz/docker` when embedded).
 * @throws ApiError or ImageNotAllowedError for a launch the rules refuse.
 */
export function planLaunch(body: LaunchBody, rules: LaunchRules, publicProxyPrefix: string): LaunchPlan {
  if (body.extraDirectories.length > rules.maxExtraDirectories) {
    const message = `at most ${rules.maxExtraDirectories} directories (limits.extraDirectories)`
    throw new ApiError(400, 'invalid_request', `Invalid launch request: extraDirectories: ${message}`, [
      { path: 'extraDirectories', message },
    ])
  }
  const name = body.name ?? generateName()
  const publicPrefix = `${publicProxyPrefix}/${name}/`
  const input =
    body.input === undefined
      ? undefined
      : prepareInput(
          {
            input: body.input,
            modes: body.inputDelivery,
            path: body.inputPath,
            readOnlyRootfs: body.readOnlyRootfs,
            ...(body.inputApiPrefix ? { apiPrefix: publicPrefix } : {}),
          },
          name,
          rules.input,
        )
  const spec: LaunchSpec = {
    ...toLaunchSpec(body, name, input, rules.defaults, publicPrefix),
    pull: body.pull ?? rules.pullPolicy,
    access: body.access ?? rules.defaultAccess,
  }
  // A readiness path is under the container's URL, as a visitor's path is: a container that keeps
  // its prefix is probed there, with the path it will be sent.
  const readinessPath = body.readinessPath ?? rules.readinessPath
  if (spec.stripPrefix === false && readinessPath)
    spec.readinessPath = containerPath(spec, `${publicProxyPrefix}/${name}`, readinessPath)
  if (rules.allowImages) assertImageAllowed(spec.image, rules.allowImages)
  return { spec, input }
}

function toLaunchSpec(
  body: LaunchBody,
  name: string,
  input: PreparedInput | undefined,
  defaults: LaunchRules['defaults'],
  publicPrefix: string,
): LaunchSpec {
  const env = { ...body.env, ...input?.env, [PUBLIC_PREFIX_VARIABLE]: publicPrefix }
  return {
    name,
    image: withDefaultTag(body.image),
    port: body.port ?? defaults.port,
    env,
    ...(body.cmd ? { cmd: body.cmd } : {}),
    labels: body.labels,
    cpus: body.cpus ?? defaults.cpus,
    memReservationMb: body.memReservationMb ?? 0,
    ...(body.memLimitMb === undefined ? {} : { memLimitMb: body.memLimitMb }),
    extraDirectories: body.extraDirectories,
    ...(body.idleTimeoutSeconds ? { idleTimeoutSeconds: body.idleTimeoutSeconds } : {}),
    ...(body.readinessPath ? { readinessPath: body.readinessPath } : {}),
    pidsLimit: body.pidsLimit ?? defaults.pidsLimit,
    ...(input?.files.length ? { files: input.files } : {}),
    ...(body.readOnlyRootfs ? { readOnlyRootfs: true } : {}),
    ...(body.stripPrefix ? {} : { stripPrefix: false }),
  }
}

/** Throw unless `image` matches one of the allowlist patterns (`*` matches any run of characters). */
export function assertImageAllowed(image: string, patterns: string[]): void {
  const matches = (pattern: string) =>
    new RegExp(
      `^${pattern
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    ).test(image)
  if (!patterns.some(matches)) {
    throw new ImageNotAllowedError(
      `Image "${image}" is not allowed: it matches none of images.allow (${patterns.map((p) => `"${p}"`).join(', ')})`,
    )
  }
}

/** An unguessable default name, e.g. `c-3f9a1c02d4e8b7a6`. */
function generateName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  return `c-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}
