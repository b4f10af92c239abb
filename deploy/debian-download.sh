# Sourced by the ensure-* scripts: debian_download HINT PACKAGE... downloads Debian's packages
# (no install) into a fresh directory, $work, removed on exit. Needs apt lists; runs
# `apt-get update` once when it must and may (as root); without apt-get, fails with HINT (what
# to install instead). The caller defines fail().

debian_download() {
  local hint=$1
  shift
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    fail "no apt-get to fetch Debian's $*; $hint"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  chmod 755 "$work" # apt-get downloads as its own user
  if ! _download "$@"; then
    [ "$(id -u)" = 0 ] || fail "apt-get download $* failed (run 'apt-get update' as root?): $(tail -1 "$work/log")"
    apt-get update -qq >"$work/log" 2>&1 || fail "apt-get update failed: $(tail -1 "$work/log")"
    _download "$@" || fail "apt-get download $* failed: $(tail -1 "$work/log")"
  fi
}

_download() { (cd "$work" && apt-get download "$@") >"$work/log" 2>&1; }
