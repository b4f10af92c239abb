#!/usr/bin/env bash
# Single-node Kafka broker (KRaft, broker+controller) for local tests and CI,
# run from jars resolved from Maven Central. Needs java, mvn and python3
# (standard library only, for the readiness probe).
#
# Usage: deploy/local/kafka.sh start|stop [--clean]|status|fetch
#   start   fetch if needed, start (or reuse) the broker, wait until it serves
#           clients, print the bootstrap address as the last stdout line
#   stop    stop the broker; --clean also deletes its run dir (data, logs)
#   status  exit 0 and print the bootstrap address if the broker serves clients
#   fetch   resolve the jars into the cache (once)
#
# Environment: KAFKA_VERSION, KAFKA_PORT, KAFKA_CONTROLLER_PORT,
#   KAFKA_START_TIMEOUT (s), KAFKA_HEAP_OPTS, RISKSTREAM_CACHE_DIR,
#   RISKSTREAM_RUN_DIR (base dir; the broker uses its kafka-$KAFKA_PORT/),
#   JAVA_HOME, PYTHON.
#   KAFKA_SECURE_PORT adds a SASL_SSL listener there: SCRAM-SHA-512 over TLS, for
#   the user KAFKA_SCRAM_USER (default riskstream) with KAFKA_SCRAM_PASSWORD, and
#   a certificate of a CA made for the broker (openssl), tls/ca.pem in its run
#   dir, which clients trust. KAFKA_MTLS_PORT adds a TLS listener there that
#   wants a client certificate (mutual TLS): tls/client.pem and tls/client.key.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
NAME=kafka.sh
# shellcheck source=deploy/local/common.sh
source "$HERE/common.sh"

KAFKA_VERSION=${KAFKA_VERSION:-3.9.1}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
KAFKA_SECURE_PORT=${KAFKA_SECURE_PORT:-}
KAFKA_SCRAM_USER=${KAFKA_SCRAM_USER:-riskstream}
KAFKA_SCRAM_PASSWORD=${KAFKA_SCRAM_PASSWORD:-}
KAFKA_MTLS_PORT=${KAFKA_MTLS_PORT:-}
CACHE_DIR=${RISKSTREAM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/riskstream}
RUN_DIR=${RISKSTREAM_RUN_DIR:-$REPO_ROOT/.run}/kafka-$KAFKA_PORT
PYTHON=${PYTHON:-python3}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java

DIST_DIR=$CACHE_DIR/kafka-$KAFKA_VERSION
LIBS_DIR=$DIST_DIR/libs
FETCHED_MARKER=$DIST_DIR/.fetched
PID_FILE=$RUN_DIR/kafka.pid
BOOTSTRAP=127.0.0.1:$KAFKA_PORT

read -ra HEAP_OPTS <<<"$KAFKA_HEAP_OPTS"
JAVA_CMD=("$JAVA" "${HEAP_OPTS[@]}" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  -Dlog4j.configuration="file:$HERE/kafka-log4j.properties"
  -Dkafka.logs.dir="$RUN_DIR" -cp "$LIBS_DIR/*")



fetch() {
  [[ -f $FETCHED_MARKER ]] && return
  require mvn "install Maven (apt-get install maven)"
  mkdir -p "$DIST_DIR"
  # The lock makes concurrent callers (e.g. parallel test workers) fetch once.
  (
    flock 9
    [[ -f $FETCHED_MARKER ]] && exit
    echo "kafka.sh: resolving Kafka $KAFKA_VERSION jars into $LIBS_DIR" >&2
    rm -rf "$LIBS_DIR"
    if ! mvn -B -q -f "$HERE/kafka-pom.xml" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DoutputDirectory="$LIBS_DIR" >"$DIST_DIR/mvn.log" 2>&1; then
      tail -n 30 "$DIST_DIR/mvn.log" >&2
      die "mvn could not resolve the Kafka $KAFKA_VERSION jars (log: $DIST_DIR/mvn.log)"
    fi
    touch "$FETCHED_MARKER"
  ) 9>"$DIST_DIR/.lock"
}

# Prints the pid from the pid file if that process is this run dir's broker.
broker_pid() {
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) && [[ -n $pid ]] || return 1
  ps -ww -o args= -p "$pid" 2>/dev/null | grep -qF "$RUN_DIR/server.properties" || return 1
  echo "$pid"
}



# Waits up to $1 seconds (0: one try) until the broker answers a Metadata
# request listing at least one live broker. Exit status: 0 ready, 1 timed
# out, 2 process $2 died.
probe() {
  "$PYTHON" - "$KAFKA_PORT" "$1" "$2" <<'EOF'
import os, socket, struct, sys, time

port, timeout, pid = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])

def recv_exactly(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf

def live_broker_count():
    client = b"riskstream-probe"
    # Header v1 (api key 3 = Metadata, version 4, correlation id, client id),
    # then an empty topic list and allow_auto_topic_creation=false.
    request = struct.pack(">hhih", 3, 4, 1, len(client)) + client + struct.pack(">i?", 0, False)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", recv_exactly(sock, 4))
        response = recv_exactly(sock, size)
    # correlation id, throttle_time_ms, then the length of the brokers array
    return struct.unpack_from(">i", response, 8)[0]

deadline = time.monotonic() + timeout
while True:
    try:
        if live_broker_count() > 0:
            sys.exit(0)
    except (OSError, struct.error):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(2)
    if time.monotonic() >= deadline:
        sys.exit(1)
    time.sleep(0.2)
EOF
}

show_logs() {
  local f
  for f in "$RUN_DIR/server.log" "$RUN_DIR/kafka.out"; do
    [[ -s $f ]] || continue
    echo "--- last lines of $f ---" >&2
    tail -n 25 "$f" >&2
  done
}

write_config() {
  cat >"$RUN_DIR/server.properties" <<EOF
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT${KAFKA_SECURE_PORT:+,SASL_SSL://127.0.0.1:$KAFKA_SECURE_PORT}${KAFKA_MTLS_PORT:+,MTLS://127.0.0.1:$KAFKA_MTLS_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT${KAFKA_SECURE_PORT:+,SASL_SSL://127.0.0.1:$KAFKA_SECURE_PORT}${KAFKA_MTLS_PORT:+,MTLS://127.0.0.1:$KAFKA_MTLS_PORT}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL
inter.broker.listener.name=PLAINTEXT
log.dirs=$RUN_DIR/data
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=16777216
EOF
  if [[ -n $KAFKA_SECURE_PORT ]]; then
    secure_config >>"$RUN_DIR/server.properties"
  fi
}

# The broker's certificate and a client's, both of a CA of this run dir alone.
make_broker_certificates() {
  local tls=$RUN_DIR/tls
  [[ -f $tls/broker-keystore.pem ]] && return
  make_certificates "$tls" broker
  cat "$tls/broker.key" "$tls/broker.pem" >"$tls/broker-keystore.pem"
}

secure_config() {
  local tls=$RUN_DIR/tls
  cat <<EOF
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$tls/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
ssl.client.auth=requested
listener.name.mtls.ssl.client.auth=required
EOF
}

format_storage() {
  [[ -f $RUN_DIR/data/meta.properties ]] && return
  local cluster_id
  cluster_id=$("$PYTHON" -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
  local scram=()
  if [[ -n $KAFKA_SECURE_PORT ]]; then
    [[ -n $KAFKA_SCRAM_PASSWORD ]] || die "KAFKA_SECURE_PORT wants KAFKA_SCRAM_PASSWORD"
    scram=(--add-scram "SCRAM-SHA-512=[name=$KAFKA_SCRAM_USER,password=$KAFKA_SCRAM_PASSWORD]")
  fi
  "${JAVA_CMD[@]}" kafka.tools.StorageTool format --config "$RUN_DIR/server.properties" \
    --cluster-id "$cluster_id" "${scram[@]}" >&2 || die "formatting $RUN_DIR/data failed"
}

launch() {
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" $KAFKA_SECURE_PORT $KAFKA_MTLS_PORT; do
    port_in_use "$port" && die "port $port is already in use by another process"
  done
  [[ -z $KAFKA_SECURE_PORT ]] || make_broker_certificates
  write_config
  format_storage
  # setsid: the broker must outlive this script and not get the signals sent
  # to the caller's process group (e.g. Ctrl-C on pytest). 8>&- keeps it from
  # holding the start lock.
  setsid "${JAVA_CMD[@]}" kafka.Kafka "$RUN_DIR/server.properties" \
    </dev/null >"$RUN_DIR/kafka.out" 2>&1 8>&- &
  echo $! >"$PID_FILE"
}

wait_ready() {
  local pid=$1 rc=0
  probe "$KAFKA_START_TIMEOUT" "$pid" || rc=$?
  case $rc in
    0) return ;;
    2) echo "kafka.sh: error: broker (pid $pid) exited during startup" >&2 ;;
    *) echo "kafka.sh: error: broker (pid $pid) not ready on $BOOTSTRAP after ${KAFKA_START_TIMEOUT}s; stopped it" >&2
       stop_pid "$pid" 30 broker ;;
  esac
  show_logs
  rm -f "$PID_FILE"
  exit 1
}

start() {
  local t0 pid
  t0=$(now_ms)
  require "$JAVA" "install a JDK 17 (apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
  require "$PYTHON" "the readiness probe needs python3"
  mkdir -p "$RUN_DIR"
  exec 8>"$RUN_DIR/.lock"
  flock 8
  if ! pid=$(broker_pid); then
    fetch
    launch
    pid=$(cat "$PID_FILE")
  fi
  wait_ready "$pid"
  echo "kafka.sh: broker ready on $BOOTSTRAP (pid $pid) in $(($(now_ms) - t0)) ms" >&2
  echo "$BOOTSTRAP"
}


stop() {
  local t0 pid
  t0=$(now_ms)
  [[ -d $RUN_DIR ]] || return 0
  exec 8>"$RUN_DIR/.lock"
  flock 8
  if pid=$(broker_pid); then
    stop_pid "$pid" 30 broker
    echo "kafka.sh: broker (pid $pid) stopped in $(($(now_ms) - t0)) ms" >&2
  fi
  rm -f "$PID_FILE"
  if [[ ${1:-} == --clean ]]; then
    rm -rf "$RUN_DIR"
  fi
}

status() {
  local pid
  if pid=$(broker_pid) && probe 0 "$pid"; then
    echo "$BOOTSTRAP"
  else
    echo "kafka.sh: no broker serving $BOOTSTRAP from $RUN_DIR" >&2
    return 1
  fi
}

usage() {
  echo "usage: $0 start|stop [--clean]|status|fetch" >&2
  exit 2
}

case ${1:-}:${2:-} in
  start:) start ;;
  stop: | stop:--clean) stop "${2:-}" ;;
  status:) status ;;
  fetch:) fetch && echo "$LIBS_DIR" ;;
  *) usage ;;
esac
