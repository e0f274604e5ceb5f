# shellcheck shell=bash
# Sourced by the image builds that need Debian packages (build-apps.sh, build-swarm-node.sh):
# debootstrap --variant=minbase bookworm from the mirror this machine's apt is configured with,
# apt-get install in a chroot (no service starts), then docker import. Nothing is pulled from a
# registry, and containers never reach the mirror: the machine does, as apt does.

# debootstrap_import IMAGE HASH "PACKAGE…" [docker import --change arguments…]
debootstrap_import() {
  local image="$1" hash="$2" packages="$3"
  shift 3
  command -v debootstrap >/dev/null || { echo "$image: debootstrap is required (apt-get install debootstrap)" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "$image: debootstrap and chroot need root" >&2; exit 1; }
  # The Debian mirror this machine's apt uses: deb822 sources first, then the one-line format.
  local mirror
  mirror="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$mirror" ] || mirror="$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$mirror" ] || { echo "$image: no Debian mirror found in apt's sources" >&2; exit 1; }

  work="$(mktemp -d /var/tmp/hde-image.XXXXXX)"
  root="$work/root"
  trap 'for m in proc sys dev; do umount -l "$root/$m" 2>/dev/null || true; done; rm -rf "$work"' EXIT
  echo "$image: debootstrap bookworm from $mirror (a few minutes)"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  echo "$image: apt-get install $packages"
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 sh -c "
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d &&
    apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends $packages &&
    apt-get clean && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
  " >"$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; exit 1; }
  for m in proc sys dev; do umount -l "$root/$m"; done
  tar -C "$root" -c . | docker import --change 'ENV LANG=C.UTF-8' --change "LABEL hde.test.hash=$hash" "$@" - "$image" >/dev/null
  echo "built $image"
}
