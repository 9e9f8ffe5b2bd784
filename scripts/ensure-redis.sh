#!/usr/bin/env bash
# Make sure a redis-server binary exists: install Debian's package when we are root, else explain.
set -eu
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "redis-server is missing: installing Debian's redis-server package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # We start our own servers on private ports; the distribution's service is not needed.
  (service redis-server stop || true) >/dev/null 2>&1
  command -v redis-server >/dev/null 2>&1 && exit 0
fi
cat >&2 <<'MSG'
redis-server was not found. Install it (Debian/Ubuntu: sudo apt-get install redis-server;
macOS: brew install redis), or set REDIS_URL to a Redis you run yourself, then run make again.
MSG
exit 1
