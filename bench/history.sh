#!/usr/bin/env bash
# Benchmark: how soon `vllm-sim run --history` serves, and what it costs in memory.
# For each history length, RUNS times: wall seconds from starting the process to the
# gateway's /metrics answering (the history simulated and written first), and the
# process's peak RSS (VmHWM) and its RSS five seconds after it serves; a run without
# history for comparison. Prints each run and the medians.
#
#   bench/history.sh [RUNS] [HISTORY...]     (default 3 runs of 0, 1h and 24h)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${1:-3}
shift || true
if [ $# -gt 0 ]; then lengths=("$@"); else lengths=(0 1h 24h); fi
[ -n "${VLLM_SIM:-}" ] || { cargo build --profile dist --quiet -p vllm-sim; VLLM_SIM=./target/dist/vllm-sim; }
sim=$VLLM_SIM
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-4s %12s %14s %10s %12s\n' history run "serves (s)" "peak RSS (MiB)" "RSS (MiB)" "file (MiB)"
for h in "${lengths[@]}"; do
  serve=() peaks=() rss=()
  for run in $(seq "$runs"); do
    rm -f "$work/history.om"
    t0=$(now)
    $sim run --base-port 19301 --gateway-port 19300 --history "$h" --history-out "$work/history.om" 2>/dev/null &
    pid=$!
    wait_http http://127.0.0.1:19300/metrics 600
    t1=$(now)
    sleep 5
    peak=$(hwm_kib "$pid")
    now_kib=$(rss_kib "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    size=0
    [ -e "$work/history.om" ] && size=$(stat -c %s "$work/history.om")
    s=$(awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.2f", a - b}')
    m=$(awk -v k="$peak" 'BEGIN {printf "%.0f", k / 1024}')
    r=$(awk -v k="$now_kib" 'BEGIN {printf "%.0f", k / 1024}')
    printf '%-8s %-4s %12s %14s %10s %12s\n' "$h" "$run" "$s" "$m" "$r" "$(awk -v b="$size" 'BEGIN {printf "%.0f", b / 1048576}')"
    serve+=("$s") peaks+=("$m") rss+=("$r")
  done
  printf '%-8s %-4s %12s %14s %10s\n' "$h" median "$(printf '%s\n' "${serve[@]}" | median)" \
    "$(printf '%s\n' "${peaks[@]}" | median)" "$(printf '%s\n' "${rss[@]}" | median)"
done
