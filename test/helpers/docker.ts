import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { expect } from 'vitest'

const exec = promisify(execFile)

/** Images built by test/images/build.sh. */
export const STATIC_IMAGE = 'hde-test/static:1'
export const ECHO_IMAGE = 'hde-test/echo:1'
/** Real third-party apps from Debian's packages (Jupyter, Shiny, nginx), built by test/images/build-apps.sh. */
export const APPS_IMAGE = 'hde-test/apps:1'

/**
 * The mark of this test run in container names, for cleanup: one per `vitest` run (set by the
 * global setup and inherited by every worker), so that a run never removes another's containers.
 */
export const RUN_ID = process.env.HDE_TEST_RUN ?? `r${process.pid.toString(36)}${Date.now().toString(36)}`

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

/**
 * Whether the real-apps image is built (`scripts/setup.sh --test-images` builds it). Without it
 * the suite skips with a loud reason; in CI a missing image fails the run.
 */
export async function appsImageReady(suite: string): Promise<boolean> {
  const found = await dockerCli('image', 'inspect', APPS_IMAGE, '--format', '{{.Id}}').then(
    () => true,
    () => false,
  )
  if (found) return true
  const reason = `${APPS_IMAGE} is missing (run \`bash test/images/build-apps.sh\` as root)`
  if (process.env.CI === 'true') throw new Error(`${suite}: ${reason}`)
  console.warn(`\n!!! SKIPPING ${suite}: ${reason}.\n`)
  return false
}

/**
 * This test file's own mark in names. Vitest may share this module between the files one worker
 * runs, so the run id alone would let one file's cleanup remove the containers another file is
 * still using: each file's names also carry a hash of its path.
 */
function fileMark(): string {
  let path = ''
  try {
    path = expect.getState().testPath ?? ''
  } catch {
    // Outside a test run (the benchmark, the soak script): the run id alone marks the names.
  }
  let hash = 0
  for (let i = 0; i < path.length; i++) hash = (hash * 31 + path.charCodeAt(i)) >>> 0
  return `${RUN_ID}${hash.toString(36).padStart(7, '0')}`
}

/** A unique container name for this run and this test file. */
export function uniqueName(stem: string): string {
  return `hde-${stem}-${fileMark()}-${Math.random().toString(36).slice(2, 7)}`
}

/**
 * Remove every container and network whose name carries this run's and this file's mark, and
 * the containers' labelled volumes (cleanup after a suite).
 */
export async function removeRunContainers(): Promise<void> {
  const mark = fileMark()
  const ids = await dockerCli('ps', '-aq', '--filter', `name=${mark}`).catch(() => '')
  if (ids) await dockerCli('rm', '-f', '-v', ...ids.split('\n')).catch(() => '')
  // `rm -v` removes anonymous volumes only; the gateway's volumes are named and labelled with their container.
  const volumes = await dockerCli('volume', 'ls', '--format', '{{.Name}} {{.Labels}}').catch(() => '')
  const ours = volumes
    .split('\n')
    .filter((line) => line.includes(mark))
    .map((line) => line.split(' ')[0]!)
  if (ours.length) await dockerCli('volume', 'rm', '-f', ...ours).catch(() => '')
  const networks = await dockerCli('network', 'ls', '-q', '--filter', `name=${mark}`).catch(() => '')
  if (networks) await dockerCli('network', 'rm', ...networks.split('\n')).catch(() => '')
}

/** How many times the engine started a container since `since` (seconds since the epoch, by its events). */
export async function engineStarts(name: string, since: number): Promise<number> {
  const events = await dockerCli(
    'events',
    '--since',
    String(since),
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    `container=${name}`,
    '--filter',
    'event=start',
    '--format',
    '{{.Action}}',
  )
  return events.split('\n').filter(Boolean).length
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
