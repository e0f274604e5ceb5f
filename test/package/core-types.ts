// The core entry type-checks without Node's types: it is Web standards only.
import { createGateway, memory, type Backend } from 'hono-docker-engine'

const backend: Backend = memory()
export const gateway = createGateway({ backend })
