#!/usr/bin/env bash
# Prints the path of a working promtool, fetching it first if needed.
#
# Looks at $PROMTOOL, then promtool on the PATH, then the copy cached in
# ~/.cache/riskstream/promtool. Otherwise takes promtool out of Debian's prometheus package
# (apt-get download, then extract just that binary): installing the package would also
# create a system user and start a Prometheus server on machines with an init system.
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

# shellcheck source=deploy/debian-download.sh
source "$(dirname "${BASH_SOURCE[0]}")/../debian-download.sh"
debian_download "install Prometheus' promtool and set PROMTOOL" prometheus
dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$work" ./usr/bin/promtool ||
  fail "no promtool in Debian's prometheus package"
works "$work/usr/bin/promtool" || fail "the promtool of Debian's prometheus package does not run here"
mkdir -p "$(dirname "$cached")"
mv "$work/usr/bin/promtool" "$cached"
echo "$cached"
