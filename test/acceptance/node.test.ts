import { dockerReady } from '../helpers/docker.js'
import { resilienceSuite } from './resilience-suite.js'
import { acceptanceSuite } from './suite.js'

if (await dockerReady('acceptance on node')) {
  acceptanceSuite('node')
  resilienceSuite('node')
}
