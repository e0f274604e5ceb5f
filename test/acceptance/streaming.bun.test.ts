import { dockerReady } from '../helpers/docker.js'
import { streamingSuite } from './streaming-suite.js'

if (await dockerReady('streaming acceptance on bun')) streamingSuite('bun')
