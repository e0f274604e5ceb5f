import { describe, expect, it } from 'vitest'
import { serviceRecord, type TaskLike } from '../../../src/backends/swarm/records.js'
import { serviceSpec } from '../../../src/backends/swarm/service.js'
import { launchSpec } from '../../helpers/launch-spec.js'

const ROOT = 'io.github.hde-test.swarm'
const NETWORK = 'hde-overlay'
const service = (replicas: number, labels: Record<string, string> = { [ROOT]: 'true', [`${ROOT}.port`]: '8080' }) => ({
  ID: 'svc1',
  CreatedAt: '2026-11-30T10:00:00.000000000Z',
  Spec: {
    Name: 'tool',
    Labels: labels,
    Mode: { Replicated: { Replicas: replicas } },
    TaskTemplate: { ContainerSpec: { Image: 'tool:1@sha256:0123abcd' } },
  },
})
const task = (id: string, state: string, desired: string, created: string, address?: string): TaskLike => ({
  ID: id,
  ServiceID: 'svc1',
  CreatedAt: created,
  DesiredState: desired,
  Status: { State: state, Timestamp: created, ContainerStatus: { ExitCode: state === 'running' ? 0 : 143 } },
  ...(address ? { NetworksAttachments: [{ Network: { Spec: { Name: NETWORK } }, Addresses: [`${address}/24`] }] } : {}),
})

describe('swarm records', () => {
  it('reaches the newest running task at its overlay address, and shows the image as launched', () => {
    const record = serviceRecord(
      service(1),
      [
        task('old', 'shutdown', 'shutdown', '2026-11-30T10:00:01Z', '10.0.1.2'),
        task('new', 'running', 'running', '2026-11-30T10:00:05Z', '10.0.1.7'),
      ],
      ROOT,
      NETWORK,
    )
    expect(record).toMatchObject({ name: 'tool', image: 'tool:1', state: 'running', upstream: 'http://10.0.1.7:8080' })
    expect(record?.startedAt).toBe('2026-11-30T10:00:05.000Z')
  })

  it('is restarting while Swarm places a task, and stopped (created) with its last exit when scaled to zero', () => {
    const placing = serviceRecord(
      service(1),
      [task('t', 'preparing', 'running', '2026-11-30T10:00:05Z')],
      ROOT,
      NETWORK,
    )
    expect(placing).toMatchObject({ state: 'restarting' })
    expect(placing?.upstream).toBeUndefined()
    const zero = serviceRecord(
      service(0),
      [task('t', 'shutdown', 'shutdown', '2026-11-30T10:00:09Z', '10.0.1.7')],
      ROOT,
      NETWORK,
    )
    expect(zero).toMatchObject({ state: 'created', exitCode: 143, finishedAt: '2026-11-30T10:00:09.000Z' })
    expect(zero?.upstream).toBeUndefined()
  })

  it('never takes a service without the ownership label for its own', () => {
    expect(serviceRecord(service(1, { purge: 'yes' }), [], ROOT, NETWORK)).toBeUndefined()
  })

  it('creates one replica on the overlay with DNS round-robin, and task containers without the ownership label', () => {
    const spec = serviceSpec(launchSpec('tool', { memReservationMb: 64, memLimitMb: 128 }), [], {
      root: ROOT,
      network: NETWORK,
      constraints: ['node.role==worker'],
      capDrop: ['NET_RAW'],
      stopGraceSeconds: 10,
    })
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 1 } })
    expect(spec.EndpointSpec).toEqual({ Mode: 'dnsrr' })
    expect(spec.TaskTemplate.Networks).toEqual([{ Target: NETWORK }])
    expect(spec.Labels[ROOT]).toBe('true')
    expect(spec.TaskTemplate.ContainerSpec.Labels).toEqual({ [`${ROOT}.service`]: 'tool' })
    expect(spec.TaskTemplate.Resources.Reservations).toEqual({ MemoryBytes: 64 * 1024 * 1024 })
    expect(spec.TaskTemplate.Resources.Limits.MemoryBytes).toBe(128 * 1024 * 1024)
    expect(spec.TaskTemplate.Placement).toEqual({ Constraints: ['node.role==worker'] })
  })
})
