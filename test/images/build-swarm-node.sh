#!/usr/bin/env bash
# Build hde-test/swarm-node:1, a Docker Engine in an image, for the Swarm test cluster: Debian's
# docker.io (the package this machine runs) on a debootstrapped bookworm (see debootstrap.sh).
# Skipped while its inputs are unchanged; --force rebuilds it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=debootstrap.sh
. "$here/debootstrap.sh"
force="${1:-}"
image=hde-test/swarm-node:1
packages="docker.io iptables ca-certificates procps"

command -v docker >/dev/null || { echo "build-swarm-node.sh: docker is required (install docker.io)" >&2; exit 1; }
current_hash() { docker image inspect --format '{{ index .Config.Labels "hde.test.hash" }}' "$1" 2>/dev/null || true; }

hash="$( (cat "$here/debootstrap.sh"; echo "$packages") | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash "$image")" != "$hash" ]; then
  debootstrap_import "$image" "$hash" "$packages" \
    --change 'CMD ["dockerd","-H","unix:///var/run/docker.sock","-H","tcp://0.0.0.0:2375"]'
else
  echo "$image is up to date"
fi
