#!/usr/bin/env bash
# Build hde-test/apps:1, an image of real third-party web applications:
#   1. hde-test/apps-base:1: Debian packages on a debootstrapped bookworm (debootstrap.sh): Jupyter
#      Notebook 6 with a Python kernel, R Shiny, nginx. About 600 MB and a few minutes on a fresh
#      machine; skipped while its package list and debootstrap.sh are unchanged.
#   2. hde-test/apps-python:1: Python apps from PyPI in a virtual environment at /opt/py (JupyterLab
#      4, Notebook 7, Streamlit, Gradio, Marimo), every package pinned in python/requirements.lock.
#      This machine downloads the wheels (pip, as apt fetches the Debian part); they are installed
#      in a container with no network. About 1 GB and a minute; skipped while the lock is unchanged.
#   3. hde-test/apps:1: the apps' files and start scripts (test/images/apps/) on top, in seconds.
# Nothing is pulled from a registry. --force rebuilds all three.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
force="${1:-}"
base=hde-test/apps-base:1
python_image=hde-test/apps-python:1
image=hde-test/apps:1
pip_version=25.3
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

# The Python layer: wheels for the image's Python 3.11.2, installed offline into /opt/py.
lock="$here/python/requirements.lock"
python_hash="$( (cat "$lock"; echo "$pip_version $base_hash") | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash "$python_image")" != "$python_hash" ]; then
  need pip "install python3-pip"
  wheels="$(mktemp -d /var/tmp/hde-wheels.XXXXXX)"
  builder="hde-apps-python-build-$$"
  trap 'rm -rf "$wheels"; docker rm -f "$builder" >/dev/null 2>&1 || true' EXIT
  echo "$python_image: downloading $(grep -c '==' "$lock") pinned wheels from PyPI"
  pip download --quiet --no-deps --only-binary=:all: --python-version 3.11.2 --implementation cp \
    --platform manylinux_2_36_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_26_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform linux_x86_64 --platform any \
    -d "$wheels" -r "$lock" "pip==$pip_version" >&2
  cp "$lock" "$wheels/requirements.lock"
  echo "$python_image: installing them into /opt/py (no network)"
  docker run --name "$builder" --network none -v "$wheels:/wheels:ro" "$base" sh -c "
    python3 -m venv --without-pip /opt/py &&
    /opt/py/bin/python /wheels/pip-$pip_version-py3-none-any.whl/pip install --quiet --no-index \
      --find-links /wheels --no-deps -r /wheels/requirements.lock &&
    /opt/py/bin/python /wheels/pip-$pip_version-py3-none-any.whl/pip check
  " >&2
  docker commit --change "LABEL hde.test.hash=$python_hash" --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/sh"]' "$builder" "$python_image" >/dev/null
  docker rm "$builder" >/dev/null
  echo "built $python_image"
else
  echo "$python_image is up to date"
fi

# The scripts layer; its hash covers the layers it sits on.
app_hash="$( (cd "$here/apps" && find . -type f | sort | xargs sha256sum; echo "$python_hash") | sha256sum | cut -c1-16)"
if [ "$force" = "--force" ] || [ "$(current_hash "$image")" != "$app_hash" ]; then
  docker build -q --label "hde.test.hash=$app_hash" -t "$image" "$here/apps" >/dev/null
  echo "built $image"
else
  echo "$image is up to date"
fi
