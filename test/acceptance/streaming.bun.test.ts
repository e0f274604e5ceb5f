import { describe } from 'vitest'
import { dockerReady } from '../helpers/docker.js'
import { streamingSuite } from './streaming-suite.js'

describe.runIf(await dockerReady('streaming acceptance on bun'))('streaming acceptance on bun', () =>
  streamingSuite('bun'),
)
