import { connect } from 'node:net'
import { readdir } from 'node:fs/promises'
import WebSocket from 'ws'

/** Send raw bytes to the gateway; resolve what came back and whether the server closed the socket. */
export function rawExchange(
  url: string,
  payload: string,
  waitMs: number,
): Promise<{ response: string; closedByServer: boolean }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    let response = ''
    let closedByServer = false
    socket.on('data', (chunk) => (response += chunk.toString('latin1')))
    socket.on('end', () => (closedByServer = true))
    socket.on('close', () => {
      closedByServer = true
      clearTimeout(timer)
      resolve({ response, closedByServer })
    })
    socket.on('error', () => {})
    socket.write(payload)
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ response, closedByServer })
    }, waitMs)
  })
}

/** Open file descriptors of a process (sockets included). */
export async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length
}

/** Open a WebSocket and resolve once it is open (or reject with why it failed). */
export function openSocket(url: string, protocols: string[] = []): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols)
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)))
    ws.once('error', reject)
  })
}
/**
 * Open `count` WebSockets to `url`, 100 at a time, each into `opened` as it opens (so that a caller
 * can close them all whatever happens); resolves `opened` once all are open.
 */
export async function openSockets(url: string, count: number, opened: WebSocket[] = []): Promise<WebSocket[]> {
  for (let started = 0; started < count; started += 100) {
    const batch = Array.from({ length: Math.min(100, count - started) }, () =>
      openSocket(url).then((ws) => {
        opened.push(ws)
        return ws
      }),
    )
    await Promise.all(batch)
  }
  return opened
}

/** The next message a WebSocket receives. */
export const nextMessage = (ws: WebSocket) =>
  new Promise<{ data: Buffer; isBinary: boolean }>((resolve) =>
    ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })),
  )

/** What {@link rawRequest} saw: the status line, the head, how many body bytes, and how it ended. */
export interface RawAnswer {
  status: number
  head: string
  bodyBytes: number
  /** The body as text, with `keepBody`. */
  body?: string
  /** `end`: the server closed cleanly; `reset`: it broke the connection; `timeout`: still open at the deadline; `left`: the client left. */
  ended: 'end' | 'reset' | 'timeout' | 'left'
}

/**
 * Send raw request bytes (a head the client libraries would refuse to send) and read the answer,
 * counting body bytes without keeping them. `abortAfterBytes` leaves once that much has arrived.
 */
export function rawRequest(
  url: string,
  payload: string | Buffer,
  options: { waitMs?: number; abortAfterBytes?: number; keepBody?: boolean } = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    let head = ''
    let headDone = false
    let bodyBytes = 0
    let received = 0
    let body = ''
    const finish = (ended: RawAnswer['ended']) => {
      clearTimeout(timer)
      socket.destroy()
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0),
        head,
        bodyBytes,
        ...(options.keepBody ? { body } : {}),
        ended,
      })
    }
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (headDone) {
        bodyBytes += chunk.length
        if (options.keepBody) body += chunk.toString('latin1')
      } else {
        head += chunk.toString('latin1')
        const end = head.indexOf('\r\n\r\n')
        if (end !== -1) {
          headDone = true
          bodyBytes = head.length - end - 4
          if (options.keepBody) body = head.slice(end + 4)
          head = head.slice(0, end)
        }
      }
      if (options.abortAfterBytes !== undefined && received >= options.abortAfterBytes) finish('left')
    })
    socket.on('end', () => finish('end'))
    socket.on('error', () => finish('reset'))
    socket.write(payload)
    const timer = setTimeout(() => finish('timeout'), options.waitMs ?? 10_000)
  })
}
