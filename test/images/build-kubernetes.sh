#!/usr/bin/env bash
# Build the Kubernetes test cluster's parts, from the Go module proxy and Debian only:
#   - kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubectl and etcd, compiled
#     from the build module in test/kubernetes/build (k8s.io/kubernetes at one release), cached by
#     release under $HDE_KUBE_CACHE (default /var/cache/hde-test/kubernetes) so a second run skips it;
#   - hde-test/kube-node:1: a debootstrapped bookworm with Debian's containerd, runc and CNI plugins,
#     plus the kubelet; every node of the cluster (the control plane's programs run there too).
# Prints how long each step took. --force rebuilds everything.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=debootstrap.sh
. "$here/debootstrap.sh"
force="${1:-}"
build="$root/test/kubernetes/build"
release="$(cd "$build" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
cache="${HDE_KUBE_CACHE:-/var/cache/hde-test/kubernetes}/$release"
programs="kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl"
image=hde-test/kube-node:1
packages="containerd runc containernetworking-plugins iptables iproute2 conntrack ethtool socat ca-certificates procps util-linux mount"

command -v go >/dev/null || { echo "build-kubernetes.sh: go is required" >&2; exit 1; }
command -v docker >/dev/null || { echo "build-kubernetes.sh: docker is required" >&2; exit 1; }

# The release the programs report (kubectl version, a node's kubeletVersion), as its own build stamps it.
minor="$(echo "$release" | cut -d. -f2)"
stamp="-s -w"
for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  stamp="$stamp -X $package.gitVersion=$release -X $package.gitMajor=1 -X $package.gitMinor=$minor -X $package.gitTreeState=clean"
done
missing=false
for program in $programs etcd; do [ -x "$cache/$program" ] || missing=true; done
[ "$(cat "$cache/.ldflags" 2>/dev/null)" = "$stamp" ] || missing=true
if [ "$force" = "--force" ] || $missing; then
  mkdir -p "$cache"
  started=$(date +%s)
  # Static programs: they run in the node image whatever its libraries.
  (cd "$build" && CGO_ENABLED=0 go build -trimpath -ldflags="$stamp" -o "$cache/" \
    $(for program in $programs; do echo "k8s.io/kubernetes/cmd/$program"; done))
  (cd "$build" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$cache/etcd" ./etcd)
  echo "$stamp" > "$cache/.ldflags"
  echo "build-kubernetes.sh: built $programs etcd ($release) in $(($(date +%s) - started)) s into $cache"
else
  echo "build-kubernetes.sh: $release programs are cached in $cache"
fi

current_hash() { docker image inspect --format '{{ index .Config.Labels "hde.test.hash" }}' "$1" 2>/dev/null || true; }
hash="$( (cat "$here/debootstrap.sh" "$0"; echo "$packages"; cd "$cache" && sha256sum -- *) | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash "$image")" != "$hash" ]; then
  started=$(date +%s)
  base="$image-base"
  debootstrap_import "$base" "$hash" "$packages"
  context="$(mktemp -d)"
  cp "$cache"/* "$context/"
  cat > "$context/Dockerfile" <<EOF
FROM $base
COPY kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl etcd /usr/local/bin/
LABEL hde.test.hash=$hash
CMD ["sleep", "infinity"]
EOF
  docker build -q -t "$image" "$context" >/dev/null
  rm -rf "$context"
  docker rmi "$base" >/dev/null
  echo "build-kubernetes.sh: built $image in $(($(date +%s) - started)) s"
else
  echo "$image is up to date"
fi

# The pods' sandbox image: a process that sleeps, on the busybox test image (build.sh makes it).
pause=hde-test/pause:1
pause_hash="$( (docker image inspect --format '{{.Id}}' hde-test/static:1; echo sleep) | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash "$pause")" != "$pause_hash" ]; then
  printf 'FROM hde-test/static:1\nLABEL hde.test.hash=%s\nCMD ["/bin/busybox", "sleep", "2147483647"]\n' "$pause_hash" \
    | docker build -q -t "$pause" - >/dev/null
  echo "build-kubernetes.sh: built $pause"
else
  echo "$pause is up to date"
fi
