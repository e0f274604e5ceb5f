import { spawn } from 'node:child_process'
import { dockerCli, eventually, RUN_ID } from './docker.js'
import { NESTED_NODE_FLAGS } from './nested-node.js'

/** The image of one cluster node: Debian's docker.io (test/images/build-swarm-node.sh). */
export const SWARM_NODE_IMAGE = 'hde-test/swarm-node:1'

/** The overlay network services and the gateway share. */
export const SWARM_NETWORK = 'hde-overlay'

/** One Docker engine of the cluster, in a container on this machine. */
export interface SwarmNode {
  /** Container name on this machine. */
  name: string
  /** Its host name, and Swarm node name: `mgr`, `w1`, `w2`. */
  hostname: string
  role: 'manager' | 'worker'
  /** Its Swarm node id. */
  id: string
}

/** A three-node Swarm cluster of nested engines, for one test file. */
export interface SwarmCluster {
  manager: SwarmNode
  workers: SwarmNode[]
  /** The manager's engine API, published on loopback: `tcp://127.0.0.1:<port>`. */
  managerHost: string
  /** The loopback port published for the manager's port 8000 (where the gateway's container listens). */
  gatewayPort: number
  /** The loopback port published for the manager's port 8001 (where a second gateway replica listens). */
  replicaPort: number
  /** Run the docker CLI on a node's engine. */
  docker(node: SwarmNode, ...args: string[]): Promise<string>
  /** Load an image of this machine into every node's engine (no registry). */
  load(image: string): Promise<void>
  /** Load an image of this machine into one node's engine. */
  loadOn(node: SwarmNode, image: string): Promise<void>
  /** The node a service's running task is on. */
  nodeOf(service: string): Promise<SwarmNode | undefined>
  /** Stop a node's engine and its container (a lost node); `start` brings it back. */
  stopNode(node: SwarmNode): Promise<void>
  /** Remove nodes, volumes and the network. */
  destroy(): Promise<void>
}

/** A pipeline of two commands, e.g. `docker save | docker exec -i node docker load`. */
function pipe(from: string[], to: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const producer = spawn(from[0]!, from.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
    const consumer = spawn(to[0]!, to.slice(1), { stdio: ['pipe', 'ignore', 'inherit'] })
    producer.stdout.pipe(consumer.stdin)
    let failed = false
    const check = (what: string) => (code: number | null) => {
      if (code !== 0 && !failed) {
        failed = true
        reject(new Error(`${what} exited with ${code}`))
      }
    }
    producer.on('exit', check(from.join(' ')))
    consumer.on('exit', (code) => (code === 0 ? !failed && resolve() : check(to.join(' '))(code)))
  })
}

/**
 * Start a cluster: three engines (one manager, two workers) in containers of {@link SWARM_NODE_IMAGE}
 * on a private network this run creates, joined into a Swarm, with an attachable overlay network.
 * Names carry this run's mark, so the run's teardown removes whatever a failure leaves behind.
 */
export async function startSwarmCluster(mark: string): Promise<SwarmCluster> {
  const prefix = `hde-swarm-${mark}`
  const network = `${prefix}-net`
  const created: string[] = []
  const volumes: string[] = []
  const destroy = async () => {
    if (created.length) await dockerCli('rm', '-f', ...created).catch(() => '')
    if (volumes.length) await dockerCli('volume', 'rm', '-f', ...volumes).catch(() => '')
    await dockerCli('network', 'rm', network).catch(() => '')
  }
  try {
    await dockerCli('network', 'create', '--label', `hde.test.run=${RUN_ID}`, network)
    const startNode = async (role: 'manager' | 'worker', index: number) => {
      const hostname = role === 'manager' ? 'mgr' : `w${index}`
      const name = `${prefix}-${hostname}`
      const volume = `${name}-data`
      await dockerCli('volume', 'create', volume)
      volumes.push(volume)
      const publish =
        role === 'manager' ? ['-p', '127.0.0.1::2375', '-p', '127.0.0.1::8000', '-p', '127.0.0.1::8001'] : []
      await dockerCli(
        'run',
        '-d',
        '--name',
        name,
        '--hostname',
        hostname,
        '--network',
        network,
        ...NESTED_NODE_FLAGS,
        '-v',
        `${volume}:/var/lib/docker`,
        ...publish,
        SWARM_NODE_IMAGE,
        'sh',
        '-c',
        // Containers on a node reach the other nodes' overlays, never anything beyond the cluster:
        // connections they open towards the node's own network interface are dropped (Docker
        // keeps the rules of DOCKER-USER, and replies to published ports are not new connections).
        'iptables -N DOCKER-USER && iptables -A DOCKER-USER -o eth0 -m conntrack --ctstate NEW -j DROP && exec dockerd "$@"',
        'dockerd',
        '-H',
        'unix:///var/run/docker.sock',
        '-H',
        'tcp://0.0.0.0:2375',
        '--storage-driver',
        'overlay2',
      )
      created.push(name)
      return { name, hostname }
    }
    const started = await Promise.all([startNode('manager', 0), startNode('worker', 1), startNode('worker', 2)])
    const names = started.map((node) => node.name)
    const onNode = (name: string, ...args: string[]) => dockerCli('exec', name, 'docker', ...args)
    for (const name of names)
      await eventually(
        async () => (await onNode(name, 'info', '--format', '{{.ServerVersion}}')) !== '',
        60_000,
        `${name}'s engine`,
      )
    const [managerName, ...workerNames] = names as [string, string, string]
    const managerIp = await dockerCli(
      'inspect',
      '--format',
      `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
      managerName,
    )
    await onNode(managerName, 'swarm', 'init', '--advertise-addr', managerIp)
    const token = await onNode(managerName, 'swarm', 'join-token', '-q', 'worker')
    for (const worker of workerNames) await onNode(worker, 'swarm', 'join', '--token', token, `${managerIp}:2377`)
    await eventually(
      async () => {
        const ready = (await onNode(managerName, 'node', 'ls', '--format', '{{.Status}}')).split('\n')
        return ready.length === 3 && ready.every((status) => status === 'Ready')
      },
      60_000,
      'three ready Swarm nodes',
    )
    const idOf = (hostname: string) => onNode(managerName, 'node', 'inspect', '--format', '{{.ID}}', hostname)
    const [managerNode, ...workerNodes] = started as [(typeof started)[0], (typeof started)[0], (typeof started)[0]]
    const manager: SwarmNode = { ...managerNode, role: 'manager', id: await idOf(managerNode.hostname) }
    const workers: SwarmNode[] = []
    for (const node of workerNodes) workers.push({ ...node, role: 'worker', id: await idOf(node.hostname) })
    await onNode(managerName, 'network', 'create', '--driver', 'overlay', '--attachable', SWARM_NETWORK)
    const portOf = async (port: number) =>
      Number((await dockerCli('port', managerName, `${port}/tcp`)).split('\n')[0]!.split(':').pop())
    return {
      manager,
      workers,
      managerHost: `tcp://127.0.0.1:${await portOf(2375)}`,
      gatewayPort: await portOf(8000),
      replicaPort: await portOf(8001),
      docker: (node, ...args) => onNode(node.name, ...args),
      load: async (image) => {
        for (const name of names)
          await pipe(['docker', 'save', image], ['docker', 'exec', '-i', name, 'docker', 'load'])
      },
      loadOn: (node, image) => pipe(['docker', 'save', image], ['docker', 'exec', '-i', node.name, 'docker', 'load']),
      nodeOf: async (service) => {
        const tasks = await onNode(
          managerName,
          'service',
          'ps',
          '--filter',
          'desired-state=running',
          '--format',
          '{{.Node}} {{.CurrentState}}',
          service,
        )
        const running = tasks.split('\n').find((line) => / Running /.test(` ${line.split(' ').slice(1).join(' ')} `))
        const hostname = running?.split(' ')[0]
        return [manager, ...workers].find((node) => node.hostname === hostname)
      },
      stopNode: async (node) => {
        await dockerCli('stop', '-t', '5', node.name)
      },
      destroy,
    }
  } catch (err) {
    await destroy()
    throw err
  }
}
