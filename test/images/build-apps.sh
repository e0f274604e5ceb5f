#!/usr/bin/env bash
# Build hde-test/apps:1, an image of real third-party web applications from Debian's packages:
# Jupyter Notebook with a Python kernel, R Shiny, and nginx (large files and Range requests).
#   1. hde-test/apps-base:1: Debian packages on a debootstrapped bookworm (debootstrap.sh). About
#      600 MB and a few minutes on a fresh machine; skipped while its package list and debootstrap.sh
#      are unchanged.
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
# shellcheck source=debootstrap.sh
. "$here/debootstrap.sh"
current_hash() { docker image inspect --format '{{ index .Config.Labels "hde.test.hash" }}' "$1" 2>/dev/null || true; }

base_hash="$( (cat "$here/debootstrap.sh"; echo "${packages[*]}") | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash "$base")" != "$base_hash" ]; then
  debootstrap_import "$base" "$base_hash" "${packages[*]}"
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
