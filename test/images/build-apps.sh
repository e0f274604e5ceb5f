#!/usr/bin/env bash
# Build hde-test/apps:1, an image of real third-party web applications from Debian's packages:
# Jupyter Notebook with a Python kernel, R Shiny, and nginx (large files and Range requests).
#   1. hde-test/apps-base:1: debootstrap --variant=minbase bookworm from the mirror this machine's
#      apt is configured with, apt-get install in a chroot, docker import. About 600 MB and a few
#      minutes on a fresh machine; skipped while its package list and this script are unchanged.
#   2. hde-test/apps:1: the apps' start scripts (test/images/apps/) on top, in seconds.
# Nothing is pulled from a registry. --force rebuilds both.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
force="${1:-}"
base=hde-test/apps-base:1
image=hde-test/apps:1
packages=(jupyter-notebook python3-ipykernel r-cran-shiny nginx-light)

need() { command -v "$1" >/dev/null || { echo "build-apps.sh: $1 is required ($2)" >&2; exit 1; }; }
need docker "install docker.io"
current_hash() { docker image inspect --format '{{ index .Config.Labels "hde.test.hash" }}' "$1" 2>/dev/null || true; }

build_base() { # hash
  need debootstrap "apt-get install debootstrap"
  [ "$(id -u)" = 0 ] || { echo "build-apps.sh: debootstrap and chroot need root" >&2; exit 1; }
  # The Debian mirror this machine's apt uses: deb822 sources first, then the one-line format.
  local mirror
  mirror="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$mirror" ] || mirror="$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)"
  [ -n "$mirror" ] || { echo "build-apps.sh: no Debian mirror found in apt's sources" >&2; exit 1; }

  work="$(mktemp -d /var/tmp/hde-apps.XXXXXX)"
  root="$work/root"
  trap 'for m in proc sys dev; do umount -l "$root/$m" 2>/dev/null || true; done; rm -rf "$work"' EXIT

  echo "build-apps.sh: debootstrap bookworm from $mirror (a few minutes)"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  echo "build-apps.sh: apt-get install ${packages[*]}"
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 sh -c "
    apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends ${packages[*]} &&
    apt-get clean && rm -rf /var/lib/apt/lists/*
  " >"$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; exit 1; }
  for m in proc sys dev; do umount -l "$root/$m"; done

  tar -C "$root" -c . | docker import --change 'ENV LANG=C.UTF-8' --change "LABEL hde.test.hash=$1" - "$base" >/dev/null
  echo "built $base"
}

base_hash="$( (sed -n '/^build_base()/,/^}/p' "$0"; echo "${packages[*]}") | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash "$base")" != "$base_hash" ]; then
  build_base "$base_hash"
else
  echo "$base is up to date"
fi

# The scripts layer; its hash covers the base it sits on.
app_hash="$( (cd "$here/apps" && find . -type f | sort | xargs sha256sum; echo "$base_hash") | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash "$image")" != "$app_hash" ]; then
  docker build -q --label "hde.test.hash=$app_hash" -t "$image" "$here/apps" >/dev/null
  echo "built $image"
else
  echo "$image is up to date"
fi
