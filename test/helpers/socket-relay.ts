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
  /** Accept connections again. */
  restore(): Promise<void>
  close(): Promise<void>
}

/** Start a relay to `target` (default: the local Docker socket). */
export async function startSocketRelay(target = '/var/run/docker.sock'): Promise<SocketRelay> {
  const path = join(await mkdtemp(join(tmpdir(), 'hde-relay-')), 'docker.sock')
  const sockets = new Set<Socket>()
  let server: Server | undefined
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = createConnection(target)
        sockets.add(client).add(upstream)
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
  return { path, cut: stop, restore: listen, close: stop }
}
