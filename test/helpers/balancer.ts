import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { freePort } from './free-port.js'

const ROOT = resolve(import.meta.dirname, '../..')

/** Why the load balancer cannot run here, or `undefined` when Debian's nginx is installed. */
export function balancerMissing(): string | undefined {
  if (spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status === 0) return undefined
  const reason = 'nginx is not installed (bash scripts/setup.sh --test-images installs it)'
  if (process.env.CI === 'true') throw new Error(`CI=true: ${reason}`)
  console.warn(`\n!!! SKIPPING the replica suite: ${reason}\n`)
  return reason
}

/** nginx on loopback in front of gateway replicas, configured as docs/replicas.md's recipe. */
export interface Balancer {
  url: string
  /** nginx's error log (where it notes replicas it gave up on). */
  errors(): Promise<string>
  stop(): Promise<void>
}

/**
 * The nginx configuration for replicas in docs/replicas.md, with its `server` lines
 * replaced by `upstreams` (`host:port`) and its `listen` line by `listen`. Throws when the page's
 * recipe no longer has the lines this replaces.
 */
export async function replicaConfig(listen: string, upstreams: string[]): Promise<string> {
  const page = await readFile(join(ROOT, 'docs/replicas.md'), 'utf8')
  const recipe = /```nginx\n([\s\S]*?)```/.exec(page)?.[1]
  if (!recipe) throw new Error('docs/replicas.md: no nginx recipe')
  const servers = recipe.match(/^ {2}server \S+ (.*);$/gm) ?? []
  const listens = recipe.match(/^ {2}listen \S+;$/gm) ?? []
  if (servers.length !== 2 || listens.length !== 1)
    throw new Error('docs/replicas.md: the nginx recipe should have two upstream server lines and one listen line')
  const options = / {2}server \S+ (.*);/.exec(servers[0]!)![1]
  return recipe
    .replace(servers.join('\n'), upstreams.map((address) => `  server ${address} ${options};`).join('\n'))
    .replace(listens[0]!, `  listen ${listen};`)
}

/** Start nginx on a free loopback port, balancing over `upstreams` (`host:port`). */
export async function startBalancer(upstreams: string[]): Promise<Balancer> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'hde-nginx-'))
  const temp = (name: string) => join(dir, name)
  await writeFile(
    join(dir, 'nginx.conf'),
    `
daemon off;
pid ${temp('nginx.pid')};
error_log ${temp('error.log')} warn;
worker_processes 2;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  ${await replicaConfig(`127.0.0.1:${port}`, upstreams)}
}
`,
  )
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`)
    const up = await fetch(`${url}/api/health/live`).then(
      (r) => r.status > 0,
      () => false,
    )
    if (up) break
    if (Date.now() > deadline) throw new Error(`nginx did not answer within 30 s: ${stderr}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    errors: () => readFile(temp('error.log'), 'utf8').catch(() => ''),
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((done) => child.once('exit', done))
      child.kill('SIGQUIT')
      await exited
    },
  }
}
