import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A unix-socket relay in front of the Docker socket that a test can cut and restore. */
export interface SocketRelay {
  /** The relay's socket path; point the gateway's `docker.socketPath` at it. */
  path: string
  /** Drop every connection and stop accepting: Docker is "gone". */
  cut(): Promise<void>
  /** Request lines (`METHOD /path`) the relay carried to Docker, in order. */
  readonly requests: string[]
  /** Accept connections again. */
  restore(): Promise<void>
  /** Hold all traffic, new and open connections alike: Docker is "slow" (hung). */
  pause(): void
  /** Let held traffic flow again. */
  resume(): void
  close(): Promise<void>
}

/** Start a relay to `target` (default: the local Docker socket). */
export async function startSocketRelay(target = '/var/run/docker.sock'): Promise<SocketRelay> {
  const path = join(await mkdtemp(join(tmpdir(), 'hde-relay-')), 'docker.sock')
  const sockets = new Set<Socket>()
  const requests: string[] = []
  let paused = false
  let server: Server | undefined
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = createConnection(target)
        sockets.add(client).add(upstream)
        if (paused) {
          client.pause()
          upstream.pause()
        }
        client.on('data', (chunk: Buffer) => {
          for (const match of chunk.toString('latin1').matchAll(/^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.1\r$/gm)) {
            requests.push(`${match[1]} ${match[2]}`)
          }
        })
        client.pipe(upstream).pipe(client)
        const drop = () => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }
        client.on('error', drop).on('close', drop)
        upstream.on('error', drop).on('close', drop)
      })
      server.listen(path, resolve)
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      sockets.clear()
      if (!server) return resolve()
      server.close(() => resolve())
      server = undefined
    })
  await listen()
  return {
    path,
    requests,
    cut: stop,
    restore: listen,
    close: stop,
    pause() {
      paused = true
      for (const socket of sockets) socket.pause()
    },
    resume() {
      paused = false
      for (const socket of sockets) socket.resume()
    },
  }
}

/** A loopback TCP (optionally TLS with client certificates) front for the Docker socket: a "remote" engine. */
export interface TcpRelay {
  /** `tcp://127.0.0.1:<port>` */
  address: string
  close(): Promise<void>
}

/** Serve the Docker socket on a loopback TCP port; with `tls`, only clients with a certificate from `tls.ca` get through. */
export async function startTcpRelay(
  tls?: { ca: Buffer; cert: Buffer; key: Buffer },
  target = '/var/run/docker.sock',
): Promise<TcpRelay> {
  const { createServer: createTlsServer } = await import('node:tls')
  const sockets = new Set<Socket>()
  const relay = (client: Socket) => {
    const upstream = createConnection(target)
    sockets.add(client).add(upstream)
    client.pipe(upstream).pipe(client)
    const drop = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
  }
  const server = tls
    ? createTlsServer({ ...tls, requestCert: true, rejectUnauthorized: true }, relay)
    : createServer(relay)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    address: `tcp://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
