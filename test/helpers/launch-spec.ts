import type { LaunchSpec } from '../../src/backend.js'

/** A launch spec with the plain values tests use, for calling a backend directly. */
export function launchSpec(name: string, overrides: Partial<LaunchSpec> = {}): LaunchSpec {
  return {
    name,
    image: 'a:1',
    port: 80,
    env: {},
    labels: {},
    cpus: 0.5,
    memReservationMb: 0,
    extraDirectories: [],
    ...overrides,
  }
}
