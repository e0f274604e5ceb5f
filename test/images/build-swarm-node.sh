#!/usr/bin/env bash
# Build hde-test/swarm-node:1, a Docker Engine in an image, for the Swarm test cluster: Debian's
# docker.io (the same package the machine runs) on debootstrap --variant=minbase bookworm from the
# mirror this machine's apt is configured with, then docker import. Nothing is pulled from a
# registry. Skipped while this script is unchanged; --force rebuilds it.
set -euo pipefail
force="${1:-}"
image=hde-test/swarm-node:1
packages=(docker.io iptables ca-certificates procps)

need() { command -v "$1" >/dev/null || { echo "build-swarm-node.sh: $1 is required ($2)" >&2; exit 1; }; }
need docker "install docker.io"
current_hash() { docker image inspect --format '{{ index .Config.Labels "hde.test.hash" }}' "$1" 2>/dev/null || true; }

build() { # hash
  need debootstrap "apt-get install debootstrap"
  [ "$(id -u)" = 0 ] || { echo "build-swarm-node.sh: debootstrap and chroot need root" >&2; exit 1; }
  local mirror
  mirror="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$mirror" ] || mirror="$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$mirror" ] || { echo "build-swarm-node.sh: no Debian mirror found in apt's sources" >&2; exit 1; }

  work="$(mktemp -d /var/tmp/hde-swarm-node.XXXXXX)"
  root="$work/root"
  trap 'for m in proc sys dev; do umount -l "$root/$m" 2>/dev/null || true; done; rm -rf "$work"' EXIT
  echo "build-swarm-node.sh: debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  echo "build-swarm-node.sh: apt-get install ${packages[*]}"
  # No service starts inside the chroot (policy-rc.d), and nothing is left behind but the packages.
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 sh -c "
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d &&
    apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends ${packages[*]} &&
    apt-get clean && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
  " >"$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; exit 1; }
  for m in proc sys dev; do umount -l "$root/$m"; done
  tar -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL hde.test.hash=$1" \
    --change 'CMD ["dockerd","-H","unix:///var/run/docker.sock","-H","tcp://0.0.0.0:2375"]' \
    - "$image" >/dev/null
  echo "built $image"
}

hash="$( (sed -n '/^build()/,/^}/p' "$0"; echo "${packages[*]}") | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash "$image")" != "$hash" ]; then
  build "$hash"
else
  echo "$image is up to date"
fi
