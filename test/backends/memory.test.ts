import { memory } from '../../src/backends/memory.js'
import { testBackend } from './suite.js'

let n = 0
testBackend({
  name: 'memory',
  backend: memory({ upstreams: () => 'http://127.0.0.1:9' }),
  unreachable: () => {
    const gone = memory()
    gone.setUnavailable(true)
    return gone
  },
  image: 'example/app:1',
  port: 80,
  logLine: 'launched example/app:1',
  newName: () => `mem-${++n}`,
})
