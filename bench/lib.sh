# Helpers shared by the bench/ scripts (sourced, not run).

# The Python venv of bench/python (created on first use from requirements.txt).
venv() {
  local dir=bench/python/.venv
  if [ ! -x "$dir/bin/python" ]; then
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --upgrade pip
  fi
  "$dir/bin/pip" install --quiet -r bench/python/requirements.txt
  PY=$dir/bin/python
  GUIDELLM=$dir/bin/guidellm
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
now() { date +%s.%N; }
# CPU seconds (user + system, all threads) a process has used so far.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
wait_http() { # URL [tries]: wait until it answers
  for _ in $(seq "${2:-300}"); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2; return 1
}
load() { awk '{print $1}' /proc/loadavg; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "nan"; else printf "%.1f", a / b}'; }

# wrk_run PID ARGS...: runs wrk, prints "requests/s requests cpu_seconds_of_PID"
wrk_run() {
  local pid=$1; shift
  local c0 c1 out
  c0=$(cpu_seconds "$pid")
  out=$(wrk "$@")
  c1=$(cpu_seconds "$pid")
  local rps n errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<< "$out")
  n=$(awk '/requests in/ {print $1}' <<< "$out")
  errors=$(grep -E 'Non-2xx|Socket errors' <<< "$out" | tr -s ' ' | paste -sd ';' || true)
  [ -n "$errors" ] && echo "  wrk: $errors" >&2
  echo "$rps $n $(awk -v a="$c1" -v b="$c0" 'BEGIN {printf "%.2f", a - b}')"
}

# Shared set-up of the comparison scripts: wrk present, the simulator built (or
# $VLLM_SIM), the Python venv, a work directory, and cleanup of started processes
# (append their PIDs to `pids`). Sets `sim`, `work`, `pids`; defines `stop PID`.
setup() {
  command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
  [ -n "${VLLM_SIM:-}" ] || { cargo build --profile dist --quiet -p vllm-sim --features jemalloc; VLLM_SIM=./target/dist/vllm-sim; }
  sim=$VLLM_SIM
  venv
  work=$(mktemp -d)
  pids=()
  trap cleanup EXIT
  echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
}
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# completion_lua STREAM: a wrk script POSTing a 16-token completion to the AWQ pod,
# streamed or not (STREAM is true or false).
completion_lua() {
  cat <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model": "mistral-7b-awq", "prompt": "Hello", "max_tokens": 16, "ignore_eos": true, "stream": $1}'
LUA
}
