import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** Names made by `uniqueName()` in test/helpers/docker.ts: hde-<stem>-<run id>-<5 chars>. */
const TEST_CONTAINER = /^hde-[A-Za-z0-9]+-r[a-z0-9]+-[a-z0-9]{5}$/

/** Tags of images pulled from a test run's loopback registry: 127.0.0.1:<port>/hde/<name>:<tag>. */
const TEST_REGISTRY_TAG = /^127\.0\.0\.1:\d+\/hde\/[^\s]+$/

/**
 * After the whole run: remove any test container a suite left behind (e.g. one interrupted
 * mid-way), and image tags pulled from the tests' loopback registries. Only names made by the
 * tests match; nothing else on the engine is touched.
 */
export default function setup(): () => Promise<void> {
  return async () => {
    const names = await exec('docker', ['ps', '-a', '--format', '{{.Names}}']).then(
      ({ stdout }) => stdout.split('\n').filter((n) => TEST_CONTAINER.test(n)),
      () => [] as string[],
    )
    if (names.length) await exec('docker', ['rm', '-f', '-v', ...names]).catch(() => undefined)
    const tags = await exec('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}']).then(
      ({ stdout }) => stdout.split('\n').filter((tag) => TEST_REGISTRY_TAG.test(tag)),
      () => [] as string[],
    )
    if (tags.length) await exec('docker', ['rmi', '-f', ...tags]).catch(() => undefined)
  }
}
