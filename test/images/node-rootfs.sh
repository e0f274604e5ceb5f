# shellcheck shell=bash
# Sourced by the image builds that run this machine's node (build.sh, build-node-base.sh).

# copy_node ROOT: the machine's node at ROOT/usr/local/bin/node, with every shared library it
# links at the same paths, and a world-writable /tmp.
copy_node() {
  local root="$1" node_bin lib
  node_bin="$(readlink -f "$(command -v node)")"
  mkdir -p "$root/usr/local/bin" "$root/tmp"
  chmod 1777 "$root/tmp"
  cp "$node_bin" "$root/usr/local/bin/node"
  for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
