/**
 * The network managed containers share by default: a bridge on which they cannot reach each
 * other (inter-container communication off), while the host, and so the gateway, reaches every
 * one of them, and each reaches the host (`host.docker.internal`).
 */
import type Docker from 'dockerode'
import { ConfigError } from '../../errors.js'
import { mapDockerError, statusOf } from './errors.js'

/** Name of the network the gateway creates when no `network` is configured. */
export const DEFAULT_ISOLATED_NETWORK = 'hde-isolated'

/** The bridge driver option that turns inter-container communication off. */
const ICC_OPTION = 'com.docker.network.bridge.enable_icc'

/**
 * Make sure the isolated network `name` exists, creating it when missing. A network of that name
 * that lets containers talk to each other is refused rather than silently used.
 */
export async function ensureIsolatedNetwork(
  client: Docker,
  name: string,
  root: string,
  timeoutMs: number,
): Promise<void> {
  const signal = () => AbortSignal.timeout(timeoutMs)
  // dockerode takes `abortSignal` here too; its type definitions lag.
  const inspect = () => {
    const network = client.getNetwork(name) as unknown as { inspect(opts: object): Promise<Docker.NetworkInspectInfo> }
    return network.inspect({ abortSignal: signal() })
  }
  let info: Docker.NetworkInspectInfo | undefined
  try {
    info = await inspect()
  } catch (err) {
    if (statusOf(err) !== 404) throw mapDockerError(err, timeoutMs)
  }
  if (!info) {
    try {
      await client.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Options: { [ICC_OPTION]: 'false' },
        Labels: { [root]: 'true' },
        abortSignal: signal(),
      } as Docker.NetworkCreateOptions)
      return
    } catch (err) {
      // Another launch (or gateway) created it meanwhile: check that one.
      if (statusOf(err) !== 409) throw mapDockerError(err, timeoutMs)
      info = await inspect().catch((e: unknown) => {
        throw mapDockerError(e, timeoutMs)
      })
    }
  }
  if (info.Driver !== 'bridge' || info.Options?.[ICC_OPTION] !== 'false') {
    throw new ConfigError(
      `Docker network "${name}" exists but lets containers reach each other: remove it (the gateway recreates it isolated), or name a network of your own with docker.network`,
    )
  }
}
