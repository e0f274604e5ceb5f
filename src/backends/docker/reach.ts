/**
 * How the gateway reaches containers, and the choice `reach: "auto"` makes: a container's own
 * address on its Docker network when this host is on that network (a local engine on Linux), else
 * the port Docker publishes for it on the host, through Docker's userland proxy.
 */
import { createSocket } from 'node:dgram'
import { networkInterfaces } from 'node:os'
import type { Reach } from './records.js'

/** The reach in force and why it was chosen. */
export interface ReachChoice {
  reach: Reach
  reason: string
}

/** What the choice looks at. */
export interface ReachFacts {
  /** The engine's host when it is not on this machine. */
  remoteHost: string | undefined
  /** The Docker network containers join (`bridge` when the engine's default). */
  network: string
  /** The IPv4 subnets of that network, e.g. `172.18.0.0/16`, with its gateway address on each. */
  subnets: () => Promise<{ subnet: string; gateway?: string }[]>
  /** Where published ports are reached. */
  publishedHost: string
  platform?: string
  /** This host's addresses on interfaces that are up (default: its network interfaces). */
  localAddresses?: () => string[]
  /**
   * Whether an address belongs to this host, whatever the state of its link (default: whether a
   * socket can bind to it). A bridge with no container attached yet is down, and not listed above.
   */
  isLocal?: (address: string) => Promise<boolean>
}

/**
 * `auto`: the container's network address when this host has an address on that network (then
 * nothing stands between the gateway and the container), else its published port. The
 * `published` cases: a remote engine, an engine in a VM (Docker Desktop), a gateway in a network
 * namespace of its own (in a container not attached to the containers' network).
 */
export async function chooseReach(facts: ReachFacts): Promise<ReachChoice> {
  const published: Reach = { kind: 'published', host: facts.publishedHost }
  if (facts.remoteHost) return { reach: published, reason: `the engine is remote (${facts.remoteHost})` }
  const platform = facts.platform ?? process.platform
  if (platform !== 'linux')
    return { reach: published, reason: `on ${platform} the engine runs in a VM, where container addresses live` }
  const subnets = await facts.subnets()
  const local = (facts.localAddresses ?? interfaceAddresses)()
  let address = local.find((candidate) => subnets.some(({ subnet }) => inSubnet(candidate, subnet)))
  for (const { gateway } of subnets) {
    if (address) break
    if (gateway && (await (facts.isLocal ?? canBind)(gateway))) address = gateway
  }
  if (address)
    return {
      reach: { kind: 'network', network: facts.network },
      reason: `this host is on Docker network "${facts.network}" (${address}): containers are reached at their address there, with no docker-proxy in between`,
    }
  return {
    reach: published,
    reason: `no address of this host is on Docker network "${facts.network}" (${subnets.map(({ subnet }) => subnet).join(', ') || 'no IPv4 subnet'}): containers are reached through their published ports`,
  }
}

/** Whether this host holds an IPv4 address: a UDP socket can bind to it. */
function canBind(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.once('error', () => {
      socket.close()
      resolve(false)
    })
    socket.bind(0, address, () => {
      socket.close()
      resolve(true)
    })
  })
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry?.family === 'IPv4')
    .map((entry) => entry!.address)
}

/** Whether an IPv4 address lies in a CIDR subnet. */
export function inSubnet(address: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/')
  const a = ipv4(address)
  const b = ipv4(base ?? '')
  const length = Number(bits)
  if (a === undefined || b === undefined || !Number.isInteger(length) || length < 0 || length > 32) return false
  const mask = length === 0 ? 0 : (~0 << (32 - length)) >>> 0
  return (a & mask) >>> 0 === (b & mask) >>> 0
}

function ipv4(text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    const n = Number(part)
    if (!/^\d{1,3}$/.test(part) || n > 255) return undefined
    value = value * 256 + n
  }
  return value
}
