import { isReservedLabel, type LaunchSpec } from '../backend.js'
import { InvalidSpecError } from '../errors.js'

/** The default label root, the one django_docker_engine used. */
export const DEFAULT_LABEL_ROOT = 'io.github.refinery-project.django_docker_engine'

/**
 * The labels a launch is stored in: the caller's own, the ownership label `<root>=true`, and the
 * settings the proxy needs under `<root>.` — so that any gateway, after any restart, can rebuild
 * its routes from the engine alone. The same on every engine (containers, Swarm services).
 */
export function launchLabels(spec: LaunchSpec, root: string): Record<string, string> {
  return {
    ...spec.labels,
    [root]: 'true',
    [`${root}.port`]: String(spec.port),
    [`${root}.mem_reservation_mb`]: String(spec.memReservationMb),
    ...(spec.idleTimeoutSeconds ? { [`${root}.idle_timeout_seconds`]: String(spec.idleTimeoutSeconds) } : {}),
    ...(spec.readinessPath ? { [`${root}.readiness_path`]: spec.readinessPath } : {}),
    ...(spec.access === 'token' ? { [`${root}.access`]: 'token' } : {}),
    ...(spec.stripPrefix === false ? { [`${root}.strip_prefix`]: 'false' } : {}),
  }
}

/** The launch settings read back from labels written by {@link launchLabels}. */
export function launchSettings(labels: Record<string, string>, root: string) {
  const idle = Number(labels[`${root}.idle_timeout_seconds`])
  const readinessPath = labels[`${root}.readiness_path`]
  return {
    ...(labels[`${root}.access`] === 'token' ? { access: 'token' as const } : {}),
    ...(labels[`${root}.strip_prefix`] === 'false' ? { stripPrefix: false as const } : {}),
    port: Number(labels[`${root}.port`]),
    memReservationMb: Number(labels[`${root}.mem_reservation_mb`]) || 0,
    ...(idle > 0 ? { idleTimeoutSeconds: idle } : {}),
    ...(readinessPath ? { readinessPath } : {}),
  }
}

/**
 * Refuse a launch whose own labels would set one of the gateway's: keys under `root` or the
 * default root.
 * @throws InvalidSpecError naming the key.
 */
export function assertNoReservedLabels(spec: LaunchSpec, root: string): void {
  const reserved = Object.keys(spec.labels).find((key) => isReservedLabel(key, [root, DEFAULT_LABEL_ROOT]))
  if (reserved !== undefined) {
    throw new InvalidSpecError(
      `labels: "${reserved}" is reserved for the gateway's own settings (keys under "${root}" and "${DEFAULT_LABEL_ROOT}"); use another key`,
    )
  }
}
