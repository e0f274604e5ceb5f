#!/usr/bin/env bash
# Build the stand-ins for the official Node image that the gateway's Dockerfile builds on, from
# files on this machine (no registry): the machine's node with its libraries and busybox's shell
# tools, plus, for the build stage, npm and a copy of npm's cache so `npm ci` runs offline.
#   hde-test/node-runtime:1  node, busybox (sh, env, …)
#   hde-test/node-build:1    the same with npm and its cache (npm_config_offline=true)
# Skips an image whose inputs have not changed (content hash label). --force rebuilds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
force="${1:-}"
project="$here/../.."

node_bin="$(readlink -f "$(command -v node)")"
# shellcheck source=node-rootfs.sh
. "$here/node-rootfs.sh"
npm_dir="$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)"
npm_cache="$(npm config get cache)"
current_hash() { docker image inspect --format '{{ index .Config.Labels "hde.test.hash" }}' "$1" 2>/dev/null || true; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

runtime_root() { # dir
  local root="$1"
  mkdir -p "$root/bin" "$root/usr/bin" "$root/etc"
  copy_node "$root"
  cp /bin/busybox "$root/bin/busybox"
  for tool in sh env mkdir rm cp mv ls cat chown chmod id; do ln -sf /bin/busybox "$root/bin/$tool"; done
  ln -sf /bin/env "$root/usr/bin/env"
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\n' > "$root/etc/group"
}

import_root() { # image hash dir
  tar -C "$3" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'ENV npm_config_offline=true' \
    --change 'CMD ["node"]' \
    --change "LABEL hde.test.hash=$2" - "$1" >/dev/null
  echo "built $1"
}

runtime_hash="$( (sha256sum "$node_bin" /bin/busybox "$0" "$here/node-rootfs.sh" | cut -d' ' -f1) | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash hde-test/node-runtime:1)" != "$runtime_hash" ]; then
  runtime_root "$work/runtime"
  import_root hde-test/node-runtime:1 "$runtime_hash" "$work/runtime"
else
  echo "hde-test/node-runtime:1 is up to date"
fi

# The cache holds every package of the lock file once `npm ci` has run on this machine.
build_hash="$( (echo "$runtime_hash"; sha256sum "$project/package-lock.json" "$npm_dir/package.json" | cut -d' ' -f1) | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash hde-test/node-build:1)" != "$build_hash" ]; then
  root="$work/build"
  runtime_root "$root"
  mkdir -p "$root/usr/local/lib/node_modules" "$root/root"
  cp -r "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  cp -r "$npm_cache" "$root/root/.npm"
  import_root hde-test/node-build:1 "$build_hash" "$root"
else
  echo "hde-test/node-build:1 is up to date"
fi
