#!/usr/bin/env bash
# Prepare this machine for running or testing the gateway. Idempotent; safe to run every time.
#   1. installs dependencies when node_modules is missing or older than package-lock.json;
#   2. makes sure a Docker Engine answers: installs docker.io (Debian) when dockerd is missing,
#      starts dockerd in the background when the socket does not answer, and waits for it;
#   3. with --test-images, installs Chromium for the browser tests and builds the test images from
#      local files and Debian's packages (nothing is pulled from a registry; the real-apps image
#      takes a few minutes once, then is reused while its inputs are unchanged).
# Without root, steps that need it are skipped with a loud reason; with CI=true they fail the run.
set -uo pipefail
cd "$(dirname "$0")/.."

want_images=false
want_bench=false
for arg in "$@"; do
  case "$arg" in
    --test-images) want_images=true ;;
    --bench) want_bench=true ;;
  esac
done
is_ci=false
[ "${CI:-}" = "true" ] && is_ci=true

say() { printf '[setup] %s\n' "$*" >&2; }
give_up() {
  if $is_ci; then say "FAILED: $*"; exit 1; fi
  say "!!! $* — Docker-backed features and tests will not work until this is fixed."
  exit 0
}

# 1. Dependencies.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  say "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund >&2 || { say "npm ci failed"; exit 1; }
  touch node_modules
fi
# The generated-client test's own tools (openapi-typescript needs TypeScript 5's JavaScript API).
client=test/openapi-client
if $want_images && { [ ! -d $client/node_modules ] || [ $client/package-lock.json -nt $client/node_modules ]; }; then
  say "installing the generated-client test's tools (npm ci in $client)"
  npm ci --prefix $client --no-audit --no-fund >&2 || { say "npm ci in $client failed"; exit 1; }
  touch $client/node_modules
fi

# 2. Docker Engine.
socket="${DOCKER_HOST:-unix:///var/run/docker.sock}"
docker_answers() { docker info >/dev/null 2>&1; }

missing_packages=()
command -v dockerd >/dev/null 2>&1 || missing_packages+=(docker.io)
# ldd exits non-zero for a static binary, so match its output rather than piping it.
static_busybox() { [ -x /bin/busybox ] && case "$(ldd /bin/busybox 2>&1)" in *"not a dynamic"*) true ;; *) false ;; esac; }
if $want_images && ! static_busybox; then missing_packages+=(busybox-static); fi
# The benchmark compares against nginx and Caddy on loopback, with wrk as the load generator.
if $want_bench && ! command -v wrk >/dev/null 2>&1; then missing_packages+=(wrk); fi
if $want_bench && ! command -v caddy >/dev/null 2>&1; then missing_packages+=(caddy); fi
# The browser tests drive Debian's Chromium with playwright-core (no browser download).
if $want_images && [ ! -x /usr/bin/chromium ]; then missing_packages+=(chromium); fi
# The real-apps image (Jupyter, Shiny) is bootstrapped from the Debian mirror apt uses.
if $want_images && ! command -v debootstrap >/dev/null 2>&1; then missing_packages+=(debootstrap); fi
# The gateway image test runs the compose example with Debian's docker-compose.
if $want_images && ! command -v docker-compose >/dev/null 2>&1; then missing_packages+=(docker-compose); fi
# The systemd unit example is checked with systemd-analyze verify.
if $want_images && ! command -v systemd-analyze >/dev/null 2>&1; then missing_packages+=(systemd); fi
# The store and replica tests run Debian's redis-server, and the replicas sit behind its nginx.
if $want_images && ! command -v redis-server >/dev/null 2>&1; then missing_packages+=(redis-server); fi
if ($want_images || $want_bench) && ! command -v nginx >/dev/null 2>&1; then missing_packages+=(nginx-light); fi
# The pull tests run Debian's registry on loopback (never a remote one).
if $want_images && ! command -v docker-registry >/dev/null 2>&1; then missing_packages+=(docker-registry); fi
if [ ${#missing_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    give_up "missing ${missing_packages[*]} and cannot install them here (needs root and apt-get)"
  fi
  say "installing ${missing_packages[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq "${missing_packages[@]}"; } >&2 || give_up "apt-get install ${missing_packages[*]} failed"
fi

if ! docker_answers; then
  if [ "$socket" != "unix:///var/run/docker.sock" ]; then
    give_up "DOCKER_HOST=$socket does not answer"
  fi
  if [ "$(id -u)" != 0 ]; then give_up "dockerd is not running and starting it needs root"; fi
  log="${HDE_DOCKERD_LOG:-/var/log/hde-dockerd.log}"
  say "starting dockerd in the background (log: $log)"
  nohup dockerd >"$log" 2>&1 &
  for _ in $(seq 1 60); do docker_answers && break; sleep 1; done
  docker_answers || { tail -n 20 "$log" >&2; give_up "dockerd did not answer within 60 s"; }
fi
say "Docker Engine $(docker version --format '{{.Server.Version}}' 2>/dev/null) answers"

# 3. Test images.
if $want_images; then
  bash test/images/build.sh >&2 || give_up "building the test images failed"
  bash test/images/build-node-base.sh >&2 || give_up "building the Node base images for the gateway image failed"
  bash test/images/build-apps.sh >&2 || give_up "building the real-apps image failed"
  bash test/images/build-swarm-node.sh >&2 || give_up "building the Swarm node image failed"
fi
exit 0
