import { startGateway } from './helpers/gateway-process.js'
import { rawRequest } from './helpers/sockets.js'
const runtime = process.argv[2] as 'node' | 'bun'
const gw = await startGateway(runtime, {})
const host = new URL(gw.url).host
const name = 'probe-' + Date.now()
await fetch(`${gw.url}/api/containers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: 'hde-test/echo:1', name }) })
for (let i = 0; i < 100; i++) { if ((await fetch(`${gw.url}/docker/${name}/`)).status === 200) break; await new Promise(r => setTimeout(r, 200)) }
const show = async (label: string, payload: string) => { const t = Date.now(); const a = await rawRequest(gw.url, payload, { waitMs: 5000 }); console.log(label, a.status, a.ended, a.bodyBytes, Date.now() - t, 'ms', JSON.stringify(a.head.split('\r\n')[0])) }
for (let i = 0; i < 30; i++) for (const up of ['', 'Connection: Upgrade\r\nUpgrade: foo\r\n', 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n']) {
  for (const p of ['truncated', 'bytes?n=300000']) await rawRequest(gw.url, `GET /docker/${name}/${p} HTTP/1.1\r\nHost: ${host}\r\n${up}\r\n`, { waitMs: 300, abortAfterBytes: 1 + (i * 997) % 20000 })
}
console.log(gw.output().split('\n').filter((l) => /error|warn/i.test(l)).slice(0, 6).join('\n'))
await fetch(`${gw.url}/api/containers/${name}`, { method: 'DELETE' })
await gw.stop()
