import { startRedis } from '/work/main/test/helpers/redis.ts'
import { startGateway } from '/work/main/test/helpers/gateway-process.ts'
import { startBalancer } from '/work/main/test/helpers/balancer.ts'
import { freePort } from '/work/main/test/helpers/free-port.ts'
import { writeFileSync } from 'node:fs'
const redis = await startRedis()
const cfg = (port: number) => ({ labelRoot: 'io.github.hde-test.dbg', store: 'redis', redis: { url: redis.url, keyPrefix: 'dbg:' }, replicas: { leaseSeconds: 3 }, idle: { action: 'stop', checkIntervalSeconds: 1 }, trustProxy: true, dashboard: { enabled: false }, listen: { port } })
const pa = await freePort(), pb = await freePort()
const a = await startGateway('node', cfg(pa)); const b = await startGateway('bun', cfg(pb))
const lb = await startBalancer([`127.0.0.1:${pa}`, `127.0.0.1:${pb}`])
writeFileSync('/tmp/dbg/urls', JSON.stringify({ a: a.url, b: b.url, lb: lb.url, redis: redis.url, apid: a.pid, bpid: b.pid }))
console.log(a.url, b.url, lb.url)
setInterval(() => { writeFileSync('/tmp/dbg/a.log', a.output()); writeFileSync('/tmp/dbg/b.log', b.output()) }, 500)
