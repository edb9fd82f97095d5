#!/usr/bin/env bash
# Soak test: DURATION of concurrent /metrics scrapes on every pod and the gateway and
# streamed completions on a pod and through the gateway (wrk), against the idle lab of
# bench/quiet.yaml at --speed 100, while bench/python/soak_check.py cuts streams on
# every pod mid-way and checks every pod's counters never go down. Samples the
# simulator's RSS every second.
#
# Passes (exit 0) when no request failed (wrk's non-2xx responses and socket errors),
# no counter went down, every pod's running and waiting gauges read 0 within a second
# of the last client ending, and the RSS after WARMUP stays within 10% (its max over
# its min); prints the counts and the first, last and max RSS either way.
#
#   bench/soak.sh [DURATION] [CONNECTIONS]   (defaults 60 and 16; seconds; needs wrk)
#   WARMUP=10 (seconds) TOLERANCE=10 (percent)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-60}
duration=${duration%s}
connections=${2:-16}
warmup=${WARMUP:-10}
tolerance=${TOLERANCE:-10}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
(( duration > warmup )) || { echo "DURATION ($duration s) must exceed WARMUP ($warmup s)" >&2; exit 1; }
cargo build --profile dist --quiet -p vllm-sim --features jemalloc
work=$(mktemp -d)
./target/dist/vllm-sim run bench/quiet.yaml --base-port 18301 --speed 100 2>"$work/sim.log" &
sim=$!
trap 'kill $sim 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -fsS -o /dev/null http://127.0.0.1:18300/metrics 2>/dev/null && break
  sleep 0.1
done

cat > "$work/stream.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model": "mistral-7b-awq", "prompt": "Hello", "max_tokens": 16, "ignore_eos": true, "stream": true}'
LUA

# name, wrk arguments: runs in the background, its report in $work/<name>.txt.
run() {
  local name=$1; shift
  wrk -t1 -c"$connections" -d"${duration}s" --timeout 10s "$@" >"$work/$name.txt" 2>&1 &
  runs+=("$name")
  pids+=($!)
}
runs=()
pids=()
for port in 18301 18302 18303 18304; do
  run "scrape-$port" "http://127.0.0.1:$port/metrics"
done
run scrape-gateway http://127.0.0.1:18300/metrics
run stream-pod -s "$work/stream.lua" http://127.0.0.1:18302/v1/completions
run stream-gateway -s "$work/stream.lua" http://127.0.0.1:18300/quantization/v1/completions
python3 bench/python/soak_check.py "$duration" "$work/clients-done" 18301 18302 18303 18304 \
  >"$work/check.txt" 2>&1 &
check=$!

rss() { awk '/^VmRSS/ {print $2}' "/proc/$sim/status"; }
: >"$work/rss"
for t in $(seq 0 "$duration"); do
  echo "$t $(rss)" >>"$work/rss"
  sleep 1
done
for pid in "${pids[@]}"; do
  wait "$pid" || true
done
touch "$work/clients-done"
wait "$check" && checked=0 || checked=1

echo "== soak: ${duration}s, wrk -t1 -c$connections per run, $(nproc) cores"
errors=0
printf '%-16s %10s %10s %10s %8s\n' run requests req/s non-2xx socket
for name in "${runs[@]}"; do
  report=$work/$name.txt
  requests=$(awk '/requests in/ {print $1}' "$report")
  rps=$(awk '/Requests\/sec/ {print $2}' "$report")
  non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$report")
  socket=$(awk -F'[ ,]+' '/Socket errors/ {print $5 + $7 + $9 + $11}' "$report")
  if [[ -z $requests ]]; then
    echo "$name: wrk failed:" >&2
    cat "$report" >&2
    errors=$((errors + 1))
    continue
  fi
  non2xx=${non2xx:-0}
  socket=${socket:-0}
  errors=$((errors + non2xx + socket))
  printf '%-16s %10s %10s %10s %8s\n' "$name" "$requests" "$rps" "$non2xx" "$socket"
done

cat "$work/check.txt"
errors=$((errors + checked))

awk -v warmup="$warmup" -v tolerance="$tolerance" -v errors="$errors" '
  NR == 1 { first = $2 }
  { last = $2; if ($2 > max) max = $2 }
  $1 >= warmup { if (!lo || $2 < lo) lo = $2; if ($2 > hi) hi = $2 }
  END {
    spread = lo ? 100 * (hi - lo) / lo : 0
    printf "RSS (KiB): first %d, last %d, max %d; after %d s warm-up %d..%d (%.1f%%)\n",
      first, last, max, warmup, lo, hi, spread
    printf "errors: %d\n", errors
    if (errors > 0) { print "FAIL: requests failed"; exit 1 }
    if (spread > tolerance) { printf "FAIL: RSS varied by more than %d%%\n", tolerance; exit 1 }
    print "PASS"
  }' "$work/rss"
