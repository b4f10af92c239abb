# Helpers shared by kafka.sh and redis.sh; source it after setting NAME (e.g. "kafka.sh").

die() {
  echo "$NAME: error: $*" >&2
  exit 1
}

now_ms() {
  local us=${EPOCHREALTIME//[!0-9]/}
  echo $((us / 1000))
}

# A zombie (exited, not yet reaped) holds no port or file: it counts as gone.
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $state != Z* ]]
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# stop_pid PID SECONDS WHAT: SIGTERM for a clean shutdown; SIGKILL only if it hangs.
stop_pid() {
  local pid=$1 seconds=$2 what=$3 tick
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((tick = 0; tick < seconds * 10; tick++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  echo "$NAME: $what (pid $pid) still running after $seconds s, killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

require() {
  command -v "$1" >/dev/null || die "$1 not found; $2"
}

# make_certificates DIR SERVER: in DIR, a CA of its own (ca.pem), and certificates it signed
# for SERVER (SERVER.pem, SERVER.key; for 127.0.0.1 and localhost) and for a client
# (client.pem, client.key).
make_certificates() {
  local tls=$1 name
  require openssl "install openssl (apt-get install openssl) to make the $2's certificate"
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=riskstream-local-ca \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null || die "openssl could not make a CA"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/san.ext"
  for name in "$2" client; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$tls/$name.key" \
      -out "$tls/$name.csr" 2>/dev/null &&
      openssl x509 -req -days 7 -in "$tls/$name.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
        -CAcreateserial -extfile "$tls/san.ext" -out "$tls/$name.pem" 2>/dev/null ||
      die "openssl could not make the $name certificate"
  done
}
