import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** Names made by `uniqueName()` in test/helpers/docker.ts: hde-<stem>-<run id>-<5 chars>. */
const TEST_CONTAINER = /^hde-[A-Za-z0-9]+-r[a-z0-9]+-[a-z0-9]{5}$/

/** Tags of images pulled from a test run's loopback registry: 127.0.0.1:<port>/hde/<name>:<tag>. */
const TEST_REGISTRY_TAG = /^127\.0\.0\.1:\d+\/hde\/[^\s]+$/

/**
 * Before the run: give it a mark that every worker puts in its container names (`RUN_ID`). After
 * it: remove any container of this run that a suite left behind (e.g. one interrupted mid-way),
 * and image tags pulled from the tests' loopback registries. Only names this run made match: a
 * test run beside it on the same engine keeps its containers, and nothing else is touched.
 */
export default function setup(): () => Promise<void> {
  const run = `r${process.pid.toString(36)}${Date.now().toString(36)}`
  process.env.HDE_TEST_RUN = run
  return async () => {
    const names = await exec('docker', ['ps', '-a', '--format', '{{.Names}}']).then(
      ({ stdout }) => stdout.split('\n').filter((n) => TEST_CONTAINER.test(n) && n.includes(`-${run}`)),
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
