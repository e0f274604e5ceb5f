import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { makeCa, issueCert } from './certs.js'
import { RUN_ID, dockerCli, eventually } from './docker.js'
import { NESTED_NODE_FLAGS } from './nested-node.js'

const exec = promisify(execFile)

/** Every node of the test cluster: Debian's containerd, runc and CNI plugins, and the built programs. */
export const KUBE_NODE_IMAGE = 'hde-test/kube-node:1'
/** The sandbox ("pause") image of every pod: a process that sleeps, from the busybox test image. */
export const PAUSE_IMAGE = 'hde-test/pause:1'

/**
 * A node's flags: those of every nested node (see `nested-node.ts`; without SYS_RESOURCE no
 * process may lower its OOM score, so containerd is told to keep pods' scores at its own,
 * `restrict_oom_score_adj`), plus what containerd and the kubelet need.
 */
const NODE_FLAGS = [
  ...NESTED_NODE_FLAGS,
  '--tmpfs',
  '/var/run',
  // containerd's overlayfs snapshots cannot sit on the node's own overlay root.
  '--tmpfs',
  '/var/lib/containerd:rw,exec,dev,suid,size=4g',
  '-v',
  '/lib/modules:/lib/modules:ro',
]

/** Pod address ranges: each worker has its own /24, routed by the others through it. */
const POD_CIDR = (index: number) => `10.244.${index}.0/24`
const SERVICE_CIDR = '10.96.0.0/16'

/** One node of the cluster: a container on this machine. */
export interface KubeNode {
  /** Container name on this machine, and the node's name in the cluster. */
  name: string
  /** Its address on the cluster's network. */
  ip: string
  /** Its pods' range (workers only). */
  podCidr?: string
}

/** A running cluster: one control plane, two workers. */
export interface KubeCluster {
  controlPlane: KubeNode
  workers: KubeNode[]
  /** The API server's URL on this machine's loopback. */
  apiUrl: string
  /** A kubeconfig for this machine's loopback, with the cluster admin's certificate. */
  kubeconfig: string
  /** Run `kubectl` (the built one, in the control-plane container) with the admin's credentials. */
  kubectl(...args: string[]): Promise<string>
  /** How long it took to start, in seconds, by phase. */
  timings: Record<string, number>
  destroy(): Promise<void>
}

/** Run a shell script in a node. */
const inNode = (name: string, script: string) => dockerCli('exec', name, 'sh', '-c', script)

/** Make the cluster's certificates and keys with openssl, in `dir` (`<name>.crt`, `<name>.key`). */
async function makePki(dir: string, controlPlane: KubeNode, workers: KubeNode[]): Promise<void> {
  const ca = await makeCa(dir, '/CN=hde-test-kubernetes-ca', { cert: 'ca.crt', key: 'ca.key' })
  const issue = (name: string, subject: string, extensions: string) =>
    issueCert(dir, ca, subject, extensions, { cert: `${name}.crt`, key: `${name}.key` })
  const client = 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment'
  await issue(
    'apiserver',
    '/CN=kube-apiserver',
    `extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\nsubjectAltName=IP:${controlPlane.ip},IP:127.0.0.1,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:${controlPlane.name}`,
  )
  await issue('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', client)
  await issue('admin', '/O=system:masters/CN=hde-test-admin', client)
  await issue('controller-manager', '/CN=system:kube-controller-manager', client)
  await issue('scheduler', '/CN=system:kube-scheduler', client)
  for (const worker of workers)
    await issue(`kubelet-${worker.name}`, `/O=system:nodes/CN=system:node:${worker.name}`, client)
  await exec('openssl', ['genrsa', '-out', 'sa.key', '2048'], { cwd: dir })
  await exec('openssl', ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], { cwd: dir })
}

/** A kubeconfig for `server` with the client certificate `name` (paths as the nodes see them). */
function kubeconfig(server: string, name: string, dir = '/etc/kubernetes/pki'): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: hde-test
  cluster:
    server: ${server}
    certificate-authority: ${dir}/ca.crt
users:
- name: ${name}
  user:
    client-certificate: ${dir}/${name}.crt
    client-key: ${dir}/${name}.key
contexts:
- name: hde-test
  context: { cluster: hde-test, user: ${name} }
current-context: hde-test
`
}

/**
 * Start a cluster of three nodes on a private network of this machine's engine: etcd, the API
 * server, the scheduler and the controller manager on the control plane; containerd and a kubelet
 * on each worker, with a bridge of its own for its pods and routes to the other worker's pods.
 * TLS everywhere the API is reached, and service account tokens signed by a key made here.
 */
export async function startKubeCluster(): Promise<KubeCluster> {
  const prefix = `hde-kube-${RUN_ID}`
  const network = prefix
  const created: string[] = []
  const timings: Record<string, number> = {}
  const since = (started: number) => Math.round((performance.now() - started) / 100) / 10
  const destroy = async () => {
    if (created.length) await dockerCli('rm', '-f', ...created).catch(() => '')
    await dockerCli('network', 'rm', network).catch(() => '')
    // The workers' cgroups live in this machine's hierarchies: removed, deepest first.
    await exec('sh', [
      '-c',
      `for node in ${created.join(' ')}; do find /sys/fs/cgroup/*/"$node" -depth -type d -exec rmdir {} + 2>/dev/null; done; true`,
    ]).catch(() => undefined)
  }
  const started = performance.now()
  try {
    await dockerCli('network', 'create', '--label', `hde.test.run=${RUN_ID}`, network)
    const pki = await mkdtemp(join(tmpdir(), 'hde-kube-pki-'))
    const startNode = async (role: string, publish: string[] = []): Promise<KubeNode> => {
      const name = `${prefix}-${role}`
      await dockerCli(
        'run',
        '-d',
        '--name',
        name,
        '--hostname',
        name,
        '--network',
        network,
        ...NODE_FLAGS,
        '-v',
        `${pki}:/etc/kubernetes/pki:ro`,
        ...publish,
        KUBE_NODE_IMAGE,
      )
      created.push(name)
      const ip = await dockerCli(
        'inspect',
        '--format',
        `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
        name,
      )
      return { name, ip }
    }
    const controlPlane = await startNode('cp', ['-p', '127.0.0.1::6443'])
    const workers = [await startNode('w1'), await startNode('w2')].map((node, i) => ({
      ...node,
      podCidr: POD_CIDR(i + 1),
    }))
    timings.nodes = since(started)

    await makePki(pki, controlPlane, workers)
    const server = `https://${controlPlane.ip}:6443`
    for (const name of ['admin', 'controller-manager', 'scheduler', ...workers.map((w) => `kubelet-${w.name}`)])
      await writeFile(join(pki, `${name}.conf`), kubeconfig(server, name))
    await exec('chmod', ['-R', 'a+rX', pki])

    // The control plane: etcd on its loopback, the API server, the scheduler and the controller manager.
    const controlStarted = performance.now()
    const p = '/etc/kubernetes/pki'
    const background = (name: string, command: string) =>
      inNode(controlPlane.name, `mkdir -p /var/log/kube && (${command}) >/var/log/kube/${name}.log 2>&1 &`)
    await background(
      'etcd',
      'etcd --data-dir /var/lib/etcd --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379',
    )
    await background(
      'kube-apiserver',
      [
        'kube-apiserver',
        '--etcd-servers=http://127.0.0.1:2379',
        `--advertise-address=${controlPlane.ip}`,
        '--bind-address=0.0.0.0',
        '--secure-port=6443',
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        `--tls-cert-file=${p}/apiserver.crt`,
        `--tls-private-key-file=${p}/apiserver.key`,
        `--client-ca-file=${p}/ca.crt`,
        `--kubelet-client-certificate=${p}/apiserver-kubelet-client.crt`,
        `--kubelet-client-key=${p}/apiserver-kubelet-client.key`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${p}/sa.pub`,
        `--service-account-signing-key-file=${p}/sa.key`,
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
      ].join(' '),
    )
    const kubectl = (...args: string[]) =>
      dockerCli('exec', controlPlane.name, 'kubectl', `--kubeconfig=${p}/admin.conf`, ...args)
    await eventually(async () => (await kubectl('get', '--raw', '/readyz')) === 'ok', 120_000, 'the API server ready')
    timings.apiServer = since(controlStarted)
    await background(
      'kube-controller-manager',
      [
        'kube-controller-manager',
        `--kubeconfig=${p}/controller-manager.conf`,
        `--authentication-kubeconfig=${p}/controller-manager.conf`,
        `--authorization-kubeconfig=${p}/controller-manager.conf`,
        `--service-account-private-key-file=${p}/sa.key`,
        `--root-ca-file=${p}/ca.crt`,
        `--cluster-signing-cert-file=${p}/ca.crt`,
        `--cluster-signing-key-file=${p}/ca.key`,
        '--use-service-account-credentials=true',
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--leader-elect=false',
      ].join(' '),
    )
    await background(
      'kube-scheduler',
      [
        'kube-scheduler',
        `--kubeconfig=${p}/scheduler.conf`,
        `--authentication-kubeconfig=${p}/scheduler.conf`,
        `--authorization-kubeconfig=${p}/scheduler.conf`,
        '--leader-elect=false',
      ].join(' '),
    )

    // The workers: containerd with the local images, a bridge for pods, routes to the other's pods, a kubelet.
    const workersStarted = performance.now()
    // The images pods run, loaded into each worker's containerd (there is no registry).
    await exec('sh', ['-c', `docker save ${PAUSE_IMAGE} hde-test/echo:1 | gzip -1 > ${pki}/images.tar.gz`])
    const images = `${p}/images.tar.gz`
    await Promise.all(
      workers.map(async (worker, i) => {
        const other = workers[1 - i]!
        await inNode(
          worker.name,
          `
set -e
mkdir -p /etc/containerd /etc/cni/net.d /var/lib/kubelet /var/log/kube
[ -c /dev/kmsg ] || { rm -f /dev/kmsg; mknod /dev/kmsg c 1 11; }
[ -s /etc/machine-id ] || cat /proc/sys/kernel/random/uuid | tr -d - > /etc/machine-id
# The node's own cgroup under every hierarchy of this machine's (cgroup v1), for its pods.
for hierarchy in /sys/fs/cgroup/*/; do mkdir -p "\${hierarchy}${worker.name}"; done
cat /sys/fs/cgroup/cpuset/cpuset.cpus > /sys/fs/cgroup/cpuset/${worker.name}/cpuset.cpus
cat /sys/fs/cgroup/cpuset/cpuset.mems > /sys/fs/cgroup/cpuset/${worker.name}/cpuset.mems
cat > /etc/containerd/config.toml <<'EOF'
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
EOF
cat > /etc/cni/net.d/10-pods.conflist <<'EOF'
{ "cniVersion": "1.0.0", "name": "pods", "plugins": [
  { "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true,
    "ipam": { "type": "host-local", "ranges": [[{ "subnet": "${worker.podCidr}" }]], "routes": [{ "dst": "0.0.0.0/0" }] } },
  { "type": "portmap", "capabilities": { "portMappings": true } } ] }
EOF
ip route add ${other.podCidr} via ${other.ip}
(containerd >/var/log/kube/containerd.log 2>&1 &)
for i in $(seq 1 100); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done
gunzip -c ${images} | ctr -n k8s.io images import - >/dev/null
cat > /var/lib/kubelet/config.yaml <<'EOF'
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: ${p}/ca.crt }
authorization: { mode: Webhook }
cgroupDriver: cgroupfs
cgroupRoot: /${worker.name}
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
failSwapOn: false
failCgroupV1: false
resolvConf: /etc/resolv.conf
EOF
(kubelet --config=/var/lib/kubelet/config.yaml --kubeconfig=${p}/kubelet-${worker.name}.conf --hostname-override=${worker.name} --node-ip=${worker.ip} >/var/log/kube/kubelet.log 2>&1 &)
`,
        )
      }),
    )
    await eventually(
      async () => {
        const ready = (
          await kubectl(
            'get',
            'nodes',
            '-o',
            'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}',
          )
        )
          .trim()
          .split(' ')
        return ready.length === 2 && ready.every((entry) => entry.endsWith('=True'))
      },
      180_000,
      'two Ready nodes',
    )
    timings.workers = since(workersStarted)
    timings.total = since(started)
    const apiPort = (await dockerCli('port', controlPlane.name, '6443/tcp')).split(':').at(-1)
    const apiUrl = `https://127.0.0.1:${apiPort}`
    return {
      controlPlane,
      workers,
      apiUrl,
      kubeconfig: kubeconfig(apiUrl, 'admin', pki),
      kubectl,
      timings,
      destroy,
    }
  } catch (err) {
    const logs = await Promise.all(
      created.map((name) =>
        inNode(name, 'tail -n 40 /var/log/kube/*.log 2>/dev/null').then(
          (text) => `--- ${name}\n${text}`,
          () => '',
        ),
      ),
    )
    await destroy()
    throw new Error(`${(err as Error).message}\n${logs.join('\n')}`)
  }
}
