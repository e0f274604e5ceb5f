import { describe, expect, it } from 'vitest'
import { chooseReach, inSubnet } from '../../../src/backends/docker/reach.js'

describe('reach "auto"', () => {
  const facts = {
    remoteHost: undefined,
    network: 'hde-isolated',
    subnets: async () => [{ subnet: '172.18.0.0/16', gateway: '172.18.0.1' }],
    publishedHost: '127.0.0.1',
    platform: 'linux',
    localAddresses: () => ['127.0.0.1', '10.0.0.5', '172.18.0.1'],
    isLocal: async () => false,
  }

  it('reaches containers at their address when this host is on their network', async () => {
    const choice = await chooseReach(facts)
    expect(choice.reach).toEqual({ kind: 'network', network: 'hde-isolated' })
    expect(choice.reason).toContain('172.18.0.1')
  })

  it("also when the network's bridge is down (no container on it yet) but holds its gateway address here", async () => {
    const choice = await chooseReach({
      ...facts,
      localAddresses: () => ['127.0.0.1'],
      isLocal: async (a) => a === '172.18.0.1',
    })
    expect(choice.reach.kind).toBe('network')
    expect(choice.reason).toContain('172.18.0.1')
  })

  it('publishes ports for a remote engine, an engine in a VM, or a host off the network', async () => {
    for (const [changed, why] of [
      [{ remoteHost: 'docker.example' }, 'remote'],
      [{ platform: 'darwin' }, 'VM'],
      [{ localAddresses: () => ['127.0.0.1', '10.0.0.5'] }, 'no address of this host'],
    ] as const) {
      const choice = await chooseReach({ ...facts, ...changed })
      expect(choice.reach).toEqual({ kind: 'published', host: '127.0.0.1' })
      expect(choice.reason).toContain(why)
    }
  })

  it('matches IPv4 addresses to CIDR subnets', () => {
    expect(inSubnet('172.18.0.1', '172.18.0.0/16')).toBe(true)
    expect(inSubnet('172.19.0.1', '172.18.0.0/16')).toBe(false)
    expect(inSubnet('10.1.2.3', '0.0.0.0/0')).toBe(true)
    expect(inSubnet('192.168.1.255', '192.168.1.0/24')).toBe(true)
    expect(inSubnet('192.168.2.0', '192.168.1.0/24')).toBe(false)
    expect(inSubnet('fe80::1', '172.18.0.0/16')).toBe(false)
    expect(inSubnet('172.18.0.1', 'nonsense')).toBe(false)
  })
})
