import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** Names made by `uniqueName()` in test/helpers/docker.ts: hde-<stem>-<run id>-<5 chars>. */
const TEST_CONTAINER = /^hde-[A-Za-z0-9]+-r[a-z0-9]+-[a-z0-9]{5}$/

/**
 * After the whole run: remove any test container a suite left behind (e.g. one interrupted
 * mid-way). Only names made by the tests match; nothing else on the engine is touched.
 */
export default function setup(): () => Promise<void> {
  return async () => {
    const names = await exec('docker', ['ps', '-a', '--format', '{{.Names}}']).then(
      ({ stdout }) => stdout.split('\n').filter((n) => TEST_CONTAINER.test(n)),
      () => [] as string[],
    )
    if (names.length) await exec('docker', ['rm', '-f', '-v', ...names]).catch(() => undefined)
  }
}
