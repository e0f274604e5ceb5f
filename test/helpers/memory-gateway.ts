import { afterAll } from 'vitest'
import { memory, type MemoryBackend } from '../../src/backends/memory.js'
import type { ConfigInput } from '../../src/config/schema.js'
import { createGateway } from '../../src/gateway.js'
import type { AuthorizeHook } from '../../src/proxy/access-check.js'
import { silentLogger, type Logger } from '../../src/logger.js'
import type { ContainerStore } from '../../src/stores/store.js'
import { useTestUpstream } from './upstream.js'

type Json = Record<string, any>

/** Options for one gateway of {@link useMemoryGateways}. */
export interface MemoryGatewayOptions {
  store?: ContainerStore
  backend?: MemoryBackend
  /** Run the reaper and the engine-event follower (default false). */
  background?: boolean
  /** An embedder's access decision (see `GatewayOptions.authorize`). */
  authorize?: AuthorizeHook
  /** Where its log goes (silent by default). */
  logger?: Logger
}

/**
 * For a test file: gateways on the in-memory backend, whose containers "listen" on one shared
 * loopback upstream. Each `setup()` gives a gateway with `launch` and `show` helpers; all are
 * closed after the file's tests.
 */
export function useMemoryGateways() {
  const shared = useTestUpstream()
  const gateways: { close(): Promise<void> }[] = []
  afterAll(async () => {
    for (const gateway of gateways) await gateway.close()
  })

  function setup(config: ConfigInput = {}, options: MemoryGatewayOptions = {}) {
    const backend = options.backend ?? memory({ upstreams: () => shared.upstream.url })
    const gateway = createGateway({
      ...(options.authorize ? { authorize: options.authorize } : {}),
      backend,
      config,
      fetch: shared.client,
      logger: options.logger ?? silentLogger,
      background: options.background ?? false,
      ...(options.store ? { store: options.store } : {}),
    })
    gateways.push(gateway)
    const app = gateway.app
    const launch = async (body: Json) => {
      const res = await app.request('/api/containers', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: 'tool:1', ...body }),
      })
      return { status: res.status, body: (await res.json()) as Json }
    }
    const show = async (name: string) => (await (await app.request(`/api/containers/${name}`)).json()) as Json
    return { backend, gateway, app, launch, show, manager: gateway.manager }
  }

  return { shared, gateways, setup }
}
