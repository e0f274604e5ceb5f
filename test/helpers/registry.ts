import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerCli, eventually } from './docker.js'
import { freePort } from './free-port.js'

/** A private registry on loopback (Debian's docker-registry), for pull tests that never leave the machine. */
export interface LoopbackRegistry {
  /** `127.0.0.1:<port>` */
  host: string
  /** Push a local image under `<host>/<repository>` and remove the local tag, so a pull must fetch it. */
  push(localImage: string, repository: string): Promise<string>
  /** Stop it, and remove every image tag pulled from it. */
  stop(): Promise<void>
}

/** Start `docker-registry` on a free loopback port with storage in a temp directory. */
export async function startRegistry(): Promise<LoopbackRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'hde-registry-'))
  const port = await freePort()
  const config = join(dir, 'config.yml')
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  )
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: 'ignore' })
  const host = `127.0.0.1:${port}`
  await eventually(async () => (await fetch(`http://${host}/v2/`)).status === 200, 15_000, 'the loopback registry')
  return {
    host,
    async push(localImage, repository) {
      const remote = `${host}/${repository}`
      await dockerCli('tag', localImage, remote)
      await dockerCli('push', remote)
      await dockerCli('rmi', remote)
      return remote
    },
    // Images pulled from it during the run are tagged with its address: remove them, so a run
    // leaves nothing behind on the engine.
    stop: async () => {
      child.kill()
      const tags = (await dockerCli('images', '--format', '{{.Repository}}:{{.Tag}}').catch(() => ''))
        .split('\n')
        .filter((tag) => tag.startsWith(`${host}/`))
      if (tags.length) await dockerCli('rmi', '-f', ...tags).catch(() => '')
    },
  }
}

/** Whether the registry binary is installed (setup.sh installs it with --test-images). */
export async function registryAvailable(): Promise<boolean> {
  const { execFile } = await import('node:child_process')
  return new Promise((resolve) => execFile('docker-registry', ['--version'], (err) => resolve(!err)))
}
