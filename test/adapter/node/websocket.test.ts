import type { AddressInfo } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type WebSocket from 'ws'
import { WebSocketServer } from 'ws'
import { createNodeGateway, serveNode, type RunningServer } from '../../../src/adapter/node/index.js'
import { memory } from '../../../src/backends/memory.js'
import type { Gateway } from '../../../src/gateway.js'
import { silentLogger } from '../../../src/logger.js'
import { launchSpec } from '../../helpers/launch-spec.js'
import { openSocket } from '../../helpers/sockets.js'

/**
 * An open tunnel must cost its two sockets and little else: with thousands of notebooks open,
 * whatever a handshake leaves reachable is paid once per tunnel for as long as it stays open.
 */

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

let echo: WebSocketServer
let gateway: Gateway
let server: RunningServer
/** The request context and request of every handshake, held weakly. */
const handshakes: WeakRef<object>[] = []

beforeAll(async () => {
  echo = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((resolve) => echo.once('listening', resolve))
  echo.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })))
  const backend = memory({ upstreams: () => `http://127.0.0.1:${(echo.address() as AddressInfo).port}` })
  gateway = createNodeGateway({
    backend,
    logger: silentLogger,
    background: false,
    authorize: (c) => {
      handshakes.push(new WeakRef(c), new WeakRef(c.req.raw), new WeakRef(c.env as object))
      return true
    },
  })
  await backend.launch(launchSpec('tool'))
  server = await serveNode({ gateway, port: 0 })
})

afterAll(async () => {
  await server?.close()
  await gateway?.close()
  await new Promise((resolve) => echo?.close(resolve))
})

const roundTrip = (ws: WebSocket, text: string) =>
  new Promise<string>((resolve) => {
    ws.once('message', (data) => resolve(data.toString()))
    ws.send(text)
  })

describe('Node WebSocket tunnels', () => {
  it("keep nothing of their handshake's request while open", async () => {
    const sockets: WebSocket[] = []
    for (let i = 0; i < 10; i++) sockets.push(await openSocket(`${server.url.replace(/^http/, 'ws')}/docker/tool/`))
    for (const [i, ws] of sockets.entries()) expect(await roundTrip(ws, `hello ${i}`)).toBe(`hello ${i}`)
    expect(handshakes).toHaveLength(30)
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve))
      gc()
    }
    expect(handshakes.filter((ref) => ref.deref() !== undefined)).toHaveLength(0)
    // The tunnels are still open and relay.
    for (const [i, ws] of sockets.entries()) expect(await roundTrip(ws, `again ${i}`)).toBe(`again ${i}`)
    for (const ws of sockets) ws.close()
  })
})
