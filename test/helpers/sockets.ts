import { connect } from 'node:net'
import { readdir } from 'node:fs/promises'
import WebSocket from 'ws'

/** Send raw bytes to the gateway; resolve what came back and whether the server closed the socket. */
export function rawExchange(url: string, payload: string, waitMs: number): Promise<{ response: string; closedByServer: boolean }> {
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
/** The next message a WebSocket receives. */
export const nextMessage = (ws: WebSocket) =>
  new Promise<{ data: Buffer; isBinary: boolean }>((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })))
