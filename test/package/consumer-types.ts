// Type-checked against the packed package's .d.ts files.
import { Hono } from 'hono'
import {
  createGateway,
  memory,
  type ContainerView,
  type Gateway,
  type LaunchBody,
  type LaunchRequest,
} from 'hono-docker-engine'
import { docker, DEFAULT_LABEL_ROOT } from 'hono-docker-engine/docker'
import { createNodeGateway, handleUpgrades, serveNode } from 'hono-docker-engine/node'
import { bunWebSocket, createBunGateway } from 'hono-docker-engine/bun'

const gateway: Gateway = createGateway({ backend: memory(), config: { apiPrefix: '/api', idle: { action: 'stop' } } })
const app = new Hono().route('/viz', gateway.app)
const body: LaunchBody = {
  image: 'x:1',
  env: {},
  labels: {},
  extraDirectories: [],
  inputDelivery: ['env'],
  inputPath: '/tmp/input.json',
  inputApiPrefix: false,
  readOnlyRootfs: false,
  stripPrefix: true,
}
const request: LaunchRequest = { image: 'jupyter:1', port: 8888, stripPrefix: false }
const view: Partial<ContainerView> = { name: 'x', status: 'ready' }
export const checks = [
  app,
  body,
  request,
  view,
  docker,
  DEFAULT_LABEL_ROOT,
  createNodeGateway,
  handleUpgrades,
  serveNode,
  bunWebSocket,
  createBunGateway,
]
