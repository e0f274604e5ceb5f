import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** Images built by test/images/build.sh. */
export const STATIC_IMAGE = 'hde-test/static:1'
export const ECHO_IMAGE = 'hde-test/echo:1'

/** A label every container and volume of this test run carries, for cleanup. */
export const RUN_ID = `r${process.pid.toString(36)}${Date.now().toString(36)}`

/** Run the docker CLI; resolves stdout. */
export async function dockerCli(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { maxBuffer: 16 * 1024 * 1024 })
  return stdout.trim()
}

/**
 * Whether a Docker Engine with the test images answers. On a laptop without Docker the
 * Docker-backed suites skip with a loud reason; in CI (`CI=true`) a missing engine fails.
 */
export async function dockerReady(suite: string): Promise<boolean> {
  let reason: string | undefined
  try {
    await dockerCli('info', '--format', '{{.ServerVersion}}')
    await dockerCli('image', 'inspect', STATIC_IMAGE, ECHO_IMAGE, '--format', '{{.Id}}').catch(() => {
      throw new Error('test images missing: run `bash test/images/build.sh`')
    })
  } catch (err) {
    reason = (err as Error).message.split('\n')[0]
  }
  if (!reason) return true
  if (process.env.CI === 'true') throw new Error(`${suite}: Docker is required in CI but ${reason}`)
  console.warn(
    `\n!!! SKIPPING ${suite}: no usable Docker Engine (${reason}). Run \`npm test\` as root to install and start one.\n`,
  )
  return false
}

/** A unique container name for this run. */
export function uniqueName(stem: string): string {
  return `hde-${stem}-${RUN_ID}-${Math.random().toString(36).slice(2, 7)}`
}

/** Remove every container and network whose name contains this run's id, and the containers' labelled volumes (cleanup after a suite). */
export async function removeRunContainers(): Promise<void> {
  const ids = await dockerCli('ps', '-aq', '--filter', `name=${RUN_ID}`).catch(() => '')
  if (ids) await dockerCli('rm', '-f', '-v', ...ids.split('\n')).catch(() => '')
  // `rm -v` removes anonymous volumes only; the gateway's volumes are named and labelled with their container.
  const volumes = await dockerCli('volume', 'ls', '--format', '{{.Name}} {{.Labels}}').catch(() => '')
  const ours = volumes
    .split('\n')
    .filter((line) => line.includes(RUN_ID))
    .map((line) => line.split(' ')[0]!)
  if (ours.length) await dockerCli('volume', 'rm', '-f', ...ours).catch(() => '')
  const networks = await dockerCli('network', 'ls', '-q', '--filter', `name=${RUN_ID}`).catch(() => '')
  if (networks) await dockerCli('network', 'rm', ...networks.split('\n')).catch(() => '')
}

/** Poll until `check` resolves truthy or the time runs out. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value) return value
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}
