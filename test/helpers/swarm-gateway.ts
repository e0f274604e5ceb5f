import { execFile } from 'node:child_process'
import { chmod, cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { dockerCli, eventually } from './docker.js'
import { SWARM_NETWORK, type SwarmCluster } from './swarm-cluster.js'

const exec = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '../..')

/** The gateway as it runs on the cluster: a container on the manager, attached to the overlay. */
export interface ClusterGateway {
  /** `http://127.0.0.1:<port>`: the manager's port (8000, or 8001 for a second replica), published on loopback. */
  url: string
  /** Restart its container (routes are rebuilt from service labels). */
  restart(): Promise<void>
  /** `docker kill` its container: a replica lost. */
  kill(): Promise<void>
  /** What it printed. */
  logs(): Promise<string>
}

/** Copy one of this machine's binaries into `rootfs` at `target`, with every shared library it links at the same paths. */
async function copyWithLibraries(binary: string, rootfs: string, target: string): Promise<void> {
  await mkdir(join(rootfs, dirname(target)), { recursive: true })
  await cp(binary, join(rootfs, target), { dereference: true })
  const { stdout } = await exec('ldd', [binary])
  for (const lib of stdout.match(/\/[^\s)]+/g) ?? []) {
    await mkdir(join(rootfs, dirname(lib)), { recursive: true })
    await cp(lib, join(rootfs, lib), { dereference: true })
  }
}

/**
 * Build the gateway's image from this machine's `node` (and the libraries it links) and the
 * packed project installed as a user would (`npm pack`, `npm install <tarball>`), tagged `tag`.
 */
export async function buildGatewayImage(tag: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'hde-swarm-gw-'))
  try {
    await exec('npm', ['pack', '--pack-destination', work], { cwd: ROOT, maxBuffer: 1 << 24 })
    const tarball = join(work, (await readdir(work)).find((file) => file.endsWith('.tgz'))!)
    const rootfs = join(work, 'rootfs')
    const app = join(rootfs, 'app')
    await mkdir(app, { recursive: true })
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'hde-swarm-gateway', private: true }))
    await exec('npm', ['install', tarball, '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: app,
      maxBuffer: 1 << 24,
    })
    await copyWithLibraries(process.execPath, rootfs, 'usr/local/bin/node')
    await mkdir(join(rootfs, 'tmp'), { recursive: true })
    await chmod(join(rootfs, 'tmp'), 0o1777)
    await exec(
      'bash',
      [
        '-c',
        `tar -C "${rootfs}" -c . | docker import --change 'WORKDIR /app' --change 'CMD ["/usr/local/bin/node","/app/node_modules/hono-docker-engine/bin/hono-docker-engine.js","serve","--config","/etc/hde/config.json"]' - "${tag}"`,
      ],
      { maxBuffer: 1 << 24 },
    )
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/**
 * Run the gateway on the cluster's manager with `config` (backend `swarm`), attached to the overlay
 * and to the manager's engine socket, and wait until its API answers through loopback.
 */
export async function startClusterGateway(
  cluster: SwarmCluster,
  image: string,
  config: object,
  token: string,
  /** Its container's name, and the manager's port it listens on (8000, or 8001 for a second replica). */
  as: { name: string; port: 8000 | 8001 } = { name: 'hde-gateway', port: 8000 },
): Promise<ClusterGateway> {
  const json = JSON.stringify({ ...config, listen: { ...(config as { listen?: object }).listen, port: as.port } })
  if (json.includes("'")) throw new Error('startClusterGateway: the config must not contain single quotes')
  await cluster.docker(cluster.manager, 'image', 'inspect', image).catch(async () => {
    await cluster.loadOn(cluster.manager, image)
    return ''
  })
  await dockerCli(
    'exec',
    cluster.manager.name,
    'sh',
    '-c',
    `mkdir -p /etc/${as.name} && printf '%s' '${json}' > /etc/${as.name}/config.json`,
  )
  const { name } = as
  await cluster.docker(
    cluster.manager,
    'run',
    '-d',
    '--name',
    name,
    '--network',
    SWARM_NETWORK,
    '-p',
    `${as.port}:${as.port}`,
    '-v',
    '/var/run/docker.sock:/var/run/docker.sock',
    '-v',
    `/etc/${as.name}:/etc/hde:ro`,
    image,
  )
  const url = `http://127.0.0.1:${as.port === 8000 ? cluster.gatewayPort : cluster.replicaPort}`
  const healthy = () =>
    eventually(
      async () => {
        // Bounded: a connection through the published port can hang while the container starts.
        const response = await fetch(`${url}/api/health`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(5_000),
        })
        return response.status === 200
      },
      60_000,
      'the gateway on the cluster to answer',
    )
  await healthy()
  return {
    url,
    restart: async () => {
      await cluster.docker(cluster.manager, 'restart', '-t', '5', name)
      await healthy()
    },
    kill: async () => {
      await cluster.docker(cluster.manager, 'kill', name)
    },
    logs: () => cluster.docker(cluster.manager, 'logs', name),
  }
}

/**
 * An image holding this machine's `redis-server` (Debian's) and the libraries it links, tagged
 * `tag`; built once and kept (the tag names its version).
 */
export async function buildRedisImage(tag: string): Promise<void> {
  if (await dockerCli('image', 'inspect', '--format', '{{.Id}}', tag).catch(() => '')) return
  const work = await mkdtemp(join(tmpdir(), 'hde-redis-image-'))
  try {
    const rootfs = join(work, 'rootfs')
    const { stdout: found } = await exec('sh', ['-c', 'command -v redis-server'])
    await copyWithLibraries(found.trim(), rootfs, 'usr/bin/redis-server')
    for (const dir of ['tmp', 'data']) {
      await mkdir(join(rootfs, dir), { recursive: true })
      await chmod(join(rootfs, dir), 0o1777)
    }
    await exec(
      'bash',
      [
        '-c',
        `tar -C "${rootfs}" -c . | docker import --change 'WORKDIR /data' --change 'CMD ["/usr/bin/redis-server","--appendonly","yes","--protected-mode","no","--dir","/data"]' - "${tag}"`,
      ],
      { maxBuffer: 1 << 24 },
    )
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
