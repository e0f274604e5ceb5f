import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.js'

/** Why the load balancer cannot run here, or `undefined` when Debian's nginx is installed. */
export function balancerMissing(): string | undefined {
  if (spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status === 0) return undefined
  const reason = 'nginx is not installed (bash scripts/setup.sh --test-images installs it)'
  if (process.env.CI === 'true') throw new Error(`CI=true: ${reason}`)
  console.warn(`\n!!! SKIPPING the replica suite: ${reason}\n`)
  return reason
}

/** nginx on loopback in front of gateway replicas, configured as the README's replica recipe. */
export interface Balancer {
  url: string
  /** nginx's error log (where it notes replicas it gave up on). */
  errors(): Promise<string>
  stop(): Promise<void>
}

/**
 * The README's nginx configuration for replicas, for upstream addresses `host:port`: WebSockets
 * and server-sent events pass through, and a request that a replica refuses (connection refused or
 * reset before an answer, or `503` while it drains) is tried on the next replica. `max_fails=0`:
 * a `503` (also a container's please-wait answer) must not take a replica out of rotation.
 */
export function replicaConfig(listen: string, upstreams: string[]): string {
  return `
map $http_upgrade $connection_upgrade {
  default upgrade;
  ''      '';
}
upstream gateway {
${upstreams.map((address) => `  server ${address} max_fails=0;`).join('\n')}
  keepalive 32;
}
server {
  listen ${listen};
  location / {
    proxy_pass http://gateway;
    proxy_http_version 1.1;
    proxy_set_header Host $http_host;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_buffering off;
    proxy_request_buffering off;
    proxy_read_timeout 1h;
    client_max_body_size 0;
    proxy_connect_timeout 2s;
    proxy_next_upstream error timeout http_502 http_503;
    proxy_next_upstream_tries 3;
  }
}
`
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
  ${replicaConfig(`127.0.0.1:${port}`, upstreams)}
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
