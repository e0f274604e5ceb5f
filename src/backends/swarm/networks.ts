import { hostname } from 'node:os'
import type Docker from 'dockerode'
import { statusOf } from '../docker/errors.js'
import { serviceLabel } from './service.js'

/** What {@link serviceNetworks} works with: the backend's client and its bounded calls. */
export interface ServiceNetworksOptions {
  client: Docker
  root: string
  /** The shared overlay (without isolation, every service's network; with it, the prefix of theirs). */
  network: string
  /** A network per service (default), or every service on the shared overlay. */
  isolate: boolean
  /** The container that reaches tasks; by default the one this process runs in, found by its host name. */
  gatewayContainer?: string
  /** An engine call bounded by the API timeout, its errors mapped. */
  call<T>(fn: (opts: object) => Promise<T>, opts?: object): Promise<T>
  /** How long a network may take to be freed by its service's tasks before it is removed. */
  releaseWithinMs: number
}

/** The part of a container's inspection that names its networks. */
interface ContainerNetworks {
  NetworkSettings?: { Networks?: Record<string, unknown> }
}

/** The networks of services, and the gateway's place on them. */
export interface ServiceNetworks {
  /** The network a service's tasks join. */
  networkOf(service: string): string
  /** Where the gateway looks for a task's address, in order (a service's own network, then the shared one). */
  addressNetworks(service: string): readonly string[]
  /** Before a service is created: its network exists, and the gateway is attached to it. */
  prepare(service: string): Promise<void>
  /** The gateway is attached to the service's network (once per network and process; failures are retried later). */
  join(service: string): Promise<void>
  /** After a service is removed: the gateway leaves its network, and the network is removed once its tasks are gone. */
  release(service: string): void
  /**
   * On shutdown: the gateway's container leaves every service network. A container restarted
   * with a network that was removed meanwhile (by another gateway) fails to start, so it keeps
   * none; the next gateway joins them again as it reads each service.
   */
  leave(): Promise<void>
  /** How the gateway reaches tasks, in words. */
  describe(): Promise<string>
}

/**
 * Task isolation on Swarm. Overlay networks have no switch that stops their containers from
 * reaching each other (the Docker backend's bridge has `enable_icc`), so with `isolate` each
 * service gets an attachable overlay of its own, `<network>-<service>`, that only its task and
 * the gateway's container join: a task can reach the gateway (and the outside), never another
 * task, so it cannot bypass `access: "token"` by opening another tool's port.
 */
export function serviceNetworks(options: ServiceNetworksOptions): ServiceNetworks {
  const { client, root, network, isolate, call } = options
  const networkOf = (service: string) => (isolate ? `${network}-${service}` : network)
  const joined = new Map<string, Promise<void>>()
  let self: Promise<string | undefined> | undefined

  /** The gateway's container on this engine: named, or the one whose id this host name is (Docker's default). */
  const gatewayContainer = () =>
    (self ??= call((opts) =>
      (client.getContainer(options.gatewayContainer ?? hostname()).inspect as (o: object) => Promise<{ Id: string }>)(
        opts,
      ),
    ).then(
      (container) => container.Id,
      (err: unknown) => {
        if (statusOf((err as Error).cause) === 404 && !options.gatewayContainer) return undefined
        self = undefined
        throw err
      },
    ))

  const join = (service: string): Promise<void> => {
    if (!isolate) return Promise.resolve()
    const name = networkOf(service)
    let joining = joined.get(name)
    if (!joining) {
      joining = (async () => {
        const container = await gatewayContainer()
        if (!container) return
        await call((opts) => client.getNetwork(name).connect({ ...opts, Container: container })).catch(
          // Already attached (a restarted gateway container keeps its networks).
          (err: unknown) => (statusOf((err as Error).cause) === 403 ? undefined : Promise.reject(err)),
        )
      })()
      joined.set(name, joining)
      joining.catch(() => joined.delete(name))
    }
    return joining
  }

  return {
    networkOf,
    addressNetworks: (service) => (isolate ? [networkOf(service), network] : [network]),
    async prepare(service) {
      if (!isolate) return
      await call((opts) =>
        client.createNetwork({
          ...opts,
          Name: networkOf(service),
          Driver: 'overlay',
          // Attachable, so that the gateway's container (not a service) can join it.
          Attachable: true,
          Labels: { [root]: 'true', [serviceLabel(root)]: service },
        }),
      ).catch((err: unknown) => (statusOf((err as Error).cause) === 409 ? undefined : Promise.reject(err)))
      joined.delete(networkOf(service))
      await join(service)
    },
    join,
    release(service) {
      if (!isolate) return
      const name = networkOf(service)
      joined.delete(name)
      // In the background: the service's tasks take up to their stop grace period to leave.
      void (async () => {
        const container = await gatewayContainer().catch(() => undefined)
        const deadline = Date.now() + options.releaseWithinMs
        for (;;) {
          try {
            if (container)
              await call((opts) =>
                client.getNetwork(name).disconnect({ ...opts, Container: container, Force: true }),
              ).catch(() => {})
            await call((opts) => (client.getNetwork(name).remove as (o: object) => Promise<unknown>)(opts))
            return
          } catch (err) {
            if (statusOf((err as Error).cause) === 404 || Date.now() > deadline) return
            await new Promise((resolve) => setTimeout(resolve, 1_000))
          }
        }
      })()
    },
    async leave() {
      if (!isolate) return
      const container = await gatewayContainer().catch(() => undefined)
      if (!container) return
      joined.clear()
      const inspected = await call((opts) =>
        (client.getContainer(container).inspect as (o: object) => Promise<ContainerNetworks>)(opts),
      ).catch(() => undefined)
      const own = Object.keys(inspected?.NetworkSettings?.Networks ?? {}).filter((name) =>
        name.startsWith(`${network}-`),
      )
      await Promise.allSettled(
        own.map((name) =>
          call((opts) => client.getNetwork(name).disconnect({ ...opts, Container: container, Force: true })),
        ),
      )
    },
    async describe() {
      if (!isolate) return `every service joins the overlay network "${network}", where the gateway reaches its task`
      const container = await gatewayContainer().catch(() => undefined)
      return container
        ? `each service has an overlay network of its own ("${network}-<name>"), which this gateway's container ${container.slice(0, 12)} joins`
        : `each service has an overlay network of its own ("${network}-<name>"); this process runs in no container of the manager, so it cannot join them (set swarm.gatewayContainer)`
    },
  }
}
