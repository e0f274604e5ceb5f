#!/bin/sh
# Jupyter Notebook on port 8888. Its base URL is the gateway's public prefix (launch it with
# "stripPrefix": false, so requests arrive with that prefix), or JUPYTER_BASE_URL: "/" under
# hostname routing, where it is served at the root. No token: the gateway decides who reaches
# the container (use "access": "token" for a per-container link). XSRF protection stays on.
exec jupyter notebook --allow-root --no-browser --ip=0.0.0.0 --port=8888 \
  --notebook-dir=/srv/notebooks \
  --NotebookApp.base_url="${JUPYTER_BASE_URL:-${PUBLIC_PREFIX:-/}}" \
  --NotebookApp.token='' --NotebookApp.password=''
