# Sourced by the lab scripts. wait_line FILE ERE PID: waits (up to 60 s) until a line of FILE
# matches ERE; returns 1 at once when PID exits first, 2 on timeout.
wait_line() {
  local file=$1 ere=$2 pid=$3
  for _ in $(seq 600); do
    grep -qE "$ere" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { grep -qE "$ere" "$file" 2>/dev/null && return 0; return 1; }
    sleep 0.1
  done
  return 2
}
