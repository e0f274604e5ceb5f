import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../../errors.js'

/** TLS material for a `tcp://` engine (PEM contents). */
export interface DockerTls {
  ca?: string | Buffer
  cert?: string | Buffer
  key?: string | Buffer
}

/** How to reach the engine, in the shape dockerode's constructor takes. */
export interface DockerConnection {
  options?:
    | { socketPath: string }
    | {
        host: string
        port: number
        protocol: 'http' | 'https'
        ca?: string | Buffer
        cert?: string | Buffer
        key?: string | Buffer
      }
  /** The engine's host name when it is reached over the network, for deriving upstream URLs. */
  remoteHost?: string
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/

/** Whether an engine host is this machine. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host)
}

/**
 * Work out the engine connection from explicit options, else `DOCKER_HOST` (with
 * `DOCKER_TLS_VERIFY` / `DOCKER_CERT_PATH`, as the docker CLI reads them), else the local socket.
 * Accepts `unix:///path`, `tcp://host:port` and `http(s)://host:port`.
 * @throws ConfigError for an address it cannot use (e.g. `ssh://`).
 */
export function resolveConnection(
  explicit: { socketPath?: string; host?: string; tls?: DockerTls },
  env: Record<string, string | undefined> = {},
): DockerConnection {
  if (explicit.socketPath) return { options: { socketPath: explicit.socketPath } }
  const address = explicit.host ?? env.DOCKER_HOST
  if (!address) return {}
  let tls = explicit.tls
  if (!explicit.host && env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0') {
    const dir = env.DOCKER_CERT_PATH ?? join(env.HOME ?? '', '.docker')
    const read = (file: string) => readFileSync(join(dir, file))
    tls = { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') }
  }
  let url: URL
  try {
    url = new URL(address)
  } catch {
    throw new ConfigError(
      `Docker host "${address}" is not a URL (expected unix:///path, tcp://host:port or https://host:port)`,
    )
  }
  if (url.protocol === 'unix:') return { options: { socketPath: url.pathname } }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(
      `Docker host "${address}": ${url.protocol.slice(0, -1)} is not supported (use unix, tcp, http or https)`,
    )
  }
  const secure = url.protocol === 'https:' || Boolean(tls)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port) || (secure ? 2376 : 2375)
  return {
    options: {
      host,
      port,
      protocol: secure ? 'https' : 'http',
      ...(tls?.ca ? { ca: tls.ca } : {}),
      ...(tls?.cert ? { cert: tls.cert } : {}),
      ...(tls?.key ? { key: tls.key } : {}),
    },
    remoteHost: host,
  }
}
