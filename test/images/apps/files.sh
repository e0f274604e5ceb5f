#!/bin/sh
# nginx on port 8888 serving /srv/www, with a random file of SIZE_MB megabytes (default 50)
# and its SHA-256, so a client can check that every byte came through.
set -e
mkdir -p /srv/www
head -c "$(( ${SIZE_MB:-50} * 1048576 ))" /dev/urandom > /srv/www/big.bin
sha256sum /srv/www/big.bin | cut -d' ' -f1 > /srv/www/big.bin.sha256
cat > /tmp/nginx.conf <<'CONF'
daemon off;
error_log stderr;
pid /tmp/nginx.pid;
events {}
http {
  access_log off;
  default_type application/octet-stream;
  server { listen 8888; root /srv/www; }
}
CONF
exec nginx -c /tmp/nginx.conf
