#!/usr/bin/env bash
# Build the acceptance-test images from files on this machine; nothing is pulled.
#   hde-test/static:1  busybox httpd serving a static page on port 80
#   hde-test/echo:1    the machine's node binary running test/images/echo.mjs on port 80
# Skips an image whose inputs have not changed (content hash label). --force rebuilds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
force="${1:-}"

need() { command -v "$1" >/dev/null || { echo "build.sh: $1 is required ($2)" >&2; exit 1; }; }
need docker "install docker.io"
busybox_bin=/bin/busybox
# ldd exits non-zero for a static binary, so match its output rather than piping it.
[ -x "$busybox_bin" ] && [[ "$(ldd "$busybox_bin" 2>&1 || true)" == *"not a dynamic"* ]] \
  || { echo "build.sh: a static /bin/busybox is required (apt-get install busybox-static)" >&2; exit 1; }
node_bin="$(readlink -f "$(command -v node)")"
# shellcheck source=node-rootfs.sh
. "$here/node-rootfs.sh"

current_hash() { docker image inspect --format '{{ index .Config.Labels "hde.test.hash" }}' "$1" 2>/dev/null || true; }

import_rootfs() { # image hash rootfs cmd-json
  tar -C "$3" -c . | docker import \
    --change "CMD $4" --change "EXPOSE 80" --change "ENV PORT=80" \
    --change "LABEL hde.test.hash=$2" - "$1" >/dev/null
  echo "built $1"
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Static page.
static_hash="$( (sha256sum "$busybox_bin" "$0" | cut -d' ' -f1) | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash hde-test/static:1)" != "$static_hash" ]; then
  root="$work/static"
  mkdir -p "$root/bin" "$root/www"
  cp "$busybox_bin" "$root/bin/busybox"
  printf '<!doctype html><title>hde static</title><h1>Welcome to the hde static test page</h1>\n' > "$root/www/index.html"
  import_rootfs hde-test/static:1 "$static_hash" "$root" '["/bin/busybox","httpd","-f","-vv","-p","80","-h","/www"]'
else
  echo "hde-test/static:1 is up to date"
fi

# Echo server on the machine's node.
ws_dir="$here/../../node_modules/ws"
[ -f "$ws_dir/package.json" ] || { echo "build.sh: node_modules/ws is missing (run npm ci)" >&2; exit 1; }
echo_hash="$( (sha256sum "$node_bin" "$here/echo.mjs" "$0" "$here/node-rootfs.sh" "$ws_dir/package.json" | cut -d' ' -f1) | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash hde-test/echo:1)" != "$echo_hash" ]; then
  root="$work/echo"
  mkdir -p "$root/app"
  copy_node "$root"
  cp "$here/echo.mjs" "$root/app/echo.mjs"
  # The WebSocket library the echo server uses, from this project's own dependencies.
  mkdir -p "$root/app/node_modules"
  cp -r "$ws_dir" "$root/app/node_modules/ws"
  import_rootfs hde-test/echo:1 "$echo_hash" "$root" '["/usr/local/bin/node","/app/echo.mjs"]'
else
  echo "hde-test/echo:1 is up to date"
fi
