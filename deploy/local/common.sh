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
