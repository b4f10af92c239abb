#!/usr/bin/env bash
# Prints the path of a working promtool, fetching it first if needed.
#
# Looks at $PROMTOOL, then promtool on the PATH, then the copy cached in
# ~/.cache/riskstream/promtool. Otherwise takes promtool out of Debian's prometheus package
# (apt-get download, then extract just that binary): installing the package would also
# create a system user and start a Prometheus server on machines with an init system.
# Needs apt lists; runs `apt-get update` once when it must and may (as root).
set -euo pipefail

fail() {
  echo "ensure-promtool: $*" >&2
  exit 1
}
works() { [ -n "$1" ] && "$1" --version >/dev/null 2>&1; }

cached="${XDG_CACHE_HOME:-$HOME/.cache}/riskstream/promtool"
for candidate in "${PROMTOOL:-}" "$(command -v promtool || true)" "$cached"; do
  if works "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
  fail "no promtool found and no apt-get to fetch Debian's; install Prometheus' promtool and set PROMTOOL"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # apt-get downloads as its own user
download() { (cd "$work" && apt-get download prometheus) >"$work/log" 2>&1; }
if ! download; then
  [ "$(id -u)" = 0 ] || fail "apt-get download prometheus failed (run 'apt-get update' as root?): $(tail -1 "$work/log")"
  apt-get update -qq >"$work/log" 2>&1 || fail "apt-get update failed: $(tail -1 "$work/log")"
  download || fail "apt-get download prometheus failed: $(tail -1 "$work/log")"
fi
dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$work" ./usr/bin/promtool ||
  fail "no promtool in Debian's prometheus package"
works "$work/usr/bin/promtool" || fail "the promtool of Debian's prometheus package does not run here"
mkdir -p "$(dirname "$cached")"
mv "$work/usr/bin/promtool" "$cached"
echo "$cached"
