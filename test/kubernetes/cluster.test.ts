import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dockerCli, dockerReady, eventually } from '../helpers/docker.js'
import { type KubeCluster, startKubeCluster } from '../helpers/kubernetes-cluster.js'

const exec = promisify(execFile)

/** A pod of the echo test image on one node, never pulled (the image is in each node's containerd). */
const echoPod = (name: string, node: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'echo' } },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      containers: [
        { name: 'echo', image: 'hde-test/echo:1', imagePullPolicy: 'Never', ports: [{ containerPort: 80 }] },
      ],
    },
  })

/**
 * Step 1 of the Kubernetes backend: a real cluster built here from the Go module proxy and Debian
 * (test/images/build-kubernetes.sh), in containers of this machine's engine. The scheduler places
 * pods, containerd runs them, and a pod reaches a pod on the other node over the pod network.
 */
describe.runIf(await dockerReady('the Kubernetes test cluster'))('a Kubernetes cluster built here', () => {
  let cluster: KubeCluster
  beforeAll(async () => {
    cluster = await startKubeCluster()
    console.log(`Kubernetes test cluster started in ${JSON.stringify(cluster.timings)} s`)
  }, 600_000)
  afterAll(async () => {
    await cluster?.destroy()
  })

  it('schedules pods on both workers, runs them, and one reaches the other across nodes', async () => {
    const [w1, w2] = cluster.workers as [(typeof cluster.workers)[0], (typeof cluster.workers)[0]]
    // The programs are the release the build module names, as they report it.
    const release = /k8s\.io\/kubernetes (v[\d.]+)/.exec(
      readFileSync(new URL('build/go.mod', import.meta.url), 'utf8'),
    )?.[1]
    expect(release).toMatch(/^v1\.\d+\.\d+$/)
    expect(await cluster.kubectl('get', 'nodes', '-o', 'jsonpath={.items[*].status.nodeInfo.kubeletVersion}')).toBe(
      `${release} ${release}`,
    )
    for (const [name, node] of [
      ['echo-a', w1.name],
      ['echo-b', w2.name],
    ] as const)
      await dockerCli(
        'exec',
        '-i',
        cluster.controlPlane.name,
        'sh',
        '-c',
        `kubectl --kubeconfig=/etc/kubernetes/pki/admin.conf apply -f - <<'EOF'\n${echoPod(name, node)}\nEOF`,
      )
    const podIp = async (name: string) =>
      eventually(
        async () => {
          const [phase, ip, node] = (
            await cluster.kubectl('get', 'pod', name, '-o', 'jsonpath={.status.phase} {.status.podIP} {.spec.nodeName}')
          ).split(' ')
          return phase === 'Running' && ip ? { ip, node } : undefined
        },
        180_000,
        `pod ${name} running`,
      )
    const a = await podIp('echo-a')
    const b = await podIp('echo-b')
    expect(a.node).toBe(w1.name)
    expect(b.node).toBe(w2.name)
    expect(a.ip.startsWith('10.244.1.')).toBe(true)
    expect(b.ip.startsWith('10.244.2.')).toBe(true)
    // From the pod on w1 to the pod on w2, through the API server's exec (kubelet streaming) too.
    const answer = await cluster.kubectl(
      'exec',
      'echo-a',
      '--',
      'node',
      '-e',
      `fetch('http://${b.ip}/across').then((r) => r.json()).then((j) => console.log(j.path))`,
    )
    expect(answer.trim()).toBe('/across')
    // Measured for the report: each node's memory, and the disk the programs and image take.
    const memory = await dockerCli(
      'stats',
      '--no-stream',
      '--format',
      '{{.Name}} {{.MemUsage}}',
      cluster.controlPlane.name,
      ...cluster.workers.map((w) => w.name),
    )
    const cache = process.env.HDE_KUBE_CACHE ?? '/var/cache/hde-test/kubernetes'
    const { stdout: disk } = await exec('sh', [
      '-c',
      `du -sh ${cache}; docker image inspect --format '{{.Size}}' hde-test/kube-node:1`,
    ])
    console.log(`Kubernetes test cluster: memory\n${memory}\ndisk\n${disk}`)
  }, 420_000)
})
