/**
 * What a nested engine or cluster node (dockerd for Swarm, containerd and a kubelet for
 * Kubernetes) needs in a container of this machine's engine, without `--privileged` (refused on
 * these machines: the kernel lacks CAP_SYS_RESOURCE for it): every other capability, no seccomp or
 * AppArmor profile, the host's cgroups writable, every device allowed by the device cgroup.
 * Checked to run engines that start containers.
 */
export const NESTED_NODE_FLAGS = [
  '--cap-add',
  'ALL',
  '--cap-drop',
  'SYS_RESOURCE',
  '--security-opt',
  'seccomp=unconfined',
  '--security-opt',
  'apparmor=unconfined',
  '--security-opt',
  'systempaths=unconfined',
  '--device-cgroup-rule',
  'a *:* rwm',
  '--tmpfs',
  '/run',
  '-v',
  '/sys/fs/cgroup:/sys/fs/cgroup:rw',
]
