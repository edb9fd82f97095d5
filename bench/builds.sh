#!/usr/bin/env bash
# Two builds, before and after: the same measurements on a build of an earlier commit
# (BEFORE, default 44793ef: glibc's malloc) and on this checkout (built with the
# jemalloc feature, as the image is), interleaved run by run so both see the same
# machine. Medians of RUNS runs.
#
#   bench/builds.sh [RUNS] [MEASURE...]   (default 3, all of flood rps stream scrapes
#                                          streams; also backfill and verify; needs wrk)
#
#   flood     bench/connections.sh 3 19800: VmRSS before, at the peak and 15 s after
#             19,800 idle connections over the default lab's five listeners (medians of
#             its 3 rounds)
#   rps       wrk -t2 -c64 -d10s, 16-token completions on the AWQ pod of bench/quiet.yaml
#             at --speed 1000 (as bench/openai.sh rps): requests/s, CPU µs per request
#   stream    the same, streamed (SSE)
#   scrapes   wrk -t1 -c8 -d5s on the AWQ pod's /metrics after 20 s of healthy traffic at
#             --speed 10 (as bench/profiles.sh): scrapes/s, CPU µs per scrape
#   streams   10,000 concurrent streams held 20 s by bench/python/hold_streams.py (as
#             bench/openai.sh streams): the server's VmRSS then, and whether all 10,000
#             were answered
#   backfill  `vllm-sim backfill healthy --duration 30m` (as bench/verify.sh): samples/s
#   verify    `vllm-sim verify --scenario healthy` over 30 minutes, against one Prometheus
#             on that backfill's blocks (as bench/verify.sh, without --rules): seconds
#
# BEFORE is built in a temporary git worktree; its binary is kept in target/bench-before/.
# BEFORE_BIN=/path and VLLM_SIM=/path skip the builds. Ports 21500-21504 (flood),
# 21600-21624 and 21690 (verify's Prometheus; needs prometheus and promtool).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${1:-3}
shift || true
measures=("${@:-flood rps stream scrapes streams}")
before=${BEFORE:-44793ef}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
trap cleanup EXIT

target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
old=${BEFORE_BIN:-$target/bench-before/vllm-sim-$before}
if [ ! -x "$old" ]; then
  git worktree add --detach "$work/before" "$before" >/dev/null
  (cd "$work/before" && cargo build --release --quiet -p vllm-sim --target-dir "$target" \
    --config 'profile.release.lto=false')
  mkdir -p "$target/bench-before"
  cp "$target/release/vllm-sim" "$old"
  git worktree remove --force "$work/before"
fi
if [ -z "${VLLM_SIM:-}" ]; then
  cargo build --profile dist --quiet -p vllm-sim --features jemalloc
  VLLM_SIM=$target/dist/vllm-sim
fi
new=$VLLM_SIM
echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); before: $before ($old), after: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (modified)') ($new)"

completion_lua false > "$work/rps.lua"
completion_lua true > "$work/stream.lua"

flood() { # BINARY: "before peak after" (KiB, medians of 3 rounds)
  VLLM_SIM=$1 bench/connections.sh 3 19800 > "$work/flood.log" 2>&1
  sed -n 's/^median RSS (KiB): before \([0-9.]*\), peak \([0-9.]*\), after \([0-9.]*\);.*/\1 \2 \3/p' "$work/flood.log"
}

api() { # BINARY rps|stream: "requests/s µs-CPU-per-request"
  local pid r k c
  "$1" run bench/quiet.yaml --base-port 21601 --gateway-port 21600 --speed 1000 2>/dev/null &
  pid=$!; pids+=("$pid")
  wait_http http://127.0.0.1:21602/health
  read -r r k c < <(wrk_run "$pid" -t2 -c64 -d10s -s "$work/$2.lua" http://127.0.0.1:21602/v1/completions)
  echo "$r $(awk -v c="$c" -v k="$k" 'BEGIN {printf "%.1f", c / k * 1e6}')"
  stop "$pid"
}
rps() { api "$1" rps; }
stream() { api "$1" stream; }

scrapes() { # BINARY: "scrapes/s µs-CPU-per-scrape"
  local pid r k c
  "$1" run healthy --base-port 21611 --gateway-port 21610 --speed 10 2>/dev/null &
  pid=$!; pids+=("$pid")
  wait_http http://127.0.0.1:21612/metrics
  sleep 20
  read -r r k c < <(wrk_run "$pid" -t1 -c8 -d5s http://127.0.0.1:21612/metrics)
  echo "$r $(awk -v c="$c" -v k="$k" 'BEGIN {printf "%.1f", c / k * 1e6}')"
  stop "$pid"
}

end=$(( $(date +%s) / 15 * 15 ))

backfill() { # BINARY: "samples/s"
  NO_COLOR=1 "$1" backfill healthy --duration 30m --end "$end" --out "$work/backfill.om" 2>&1 \
    | sed -n 's/.*(\([0-9]*\) samples\/s).*/\1/p'
}

verify_prometheus() { # the Prometheus verify asks, on blocks of the new build's backfill
  "$new" backfill healthy --duration 30m --end "$end" --out "$work/verify.om" 2>/dev/null
  promtool tsdb create-blocks-from openmetrics "$work/verify.om" "$work/verify-data" >/dev/null
  printf 'global:\n  scrape_interval: 15s\n' > "$work/verify-prometheus.yml"
  prometheus --config.file="$work/verify-prometheus.yml" --storage.tsdb.path="$work/verify-data" \
    --storage.tsdb.retention.time=3650d --web.listen-address=127.0.0.1:21690 --log.level=error \
    > /dev/null 2>&1 &
  pids+=("$!")
  wait_http http://127.0.0.1:21690/-/ready
}

verify() { # BINARY: "seconds"
  local t0
  t0=$(now)
  "$1" verify --prometheus http://127.0.0.1:21690 --scenario healthy \
    --from "$((end - 1800))" --to "$end" > /dev/null
  awk -v a="$(now)" -v b="$t0" 'BEGIN {printf "%.3f", a - b}'
}

streams() { # BINARY: "VmRSS-KiB answered"
  local pid out
  "$1" run bench/quiet.yaml --base-port 21621 --gateway-port 21620 --speed 1 2>/dev/null &
  pid=$!; pids+=("$pid")
  wait_http http://127.0.0.1:21622/health
  out=$(python3 bench/python/hold_streams.py --port 21622 -n 10000 --max-tokens 2000 --hold 20 --pid "$pid" 2>&1 | tr '\n' ' ')
  echo "$(sed -n 's/.*server_VmRSS_KiB=\([0-9]*\).*/\1/p' <<< "$out") $(sed -n 's/.*http_200=\([0-9]*\).*/\1/p' <<< "$out")"
  stop "$pid"
}

# Started here, not inside a measure's $(...), which would wait for its output to close.
[[ " ${measures[*]} " == *" verify "* ]] && verify_prometheus

for measure in ${measures[*]}; do
  : > "$work/$measure"
  for run in $(seq "$runs"); do
    for build in before after; do
      if [ "$build" = before ]; then bin=$old; else bin=$new; fi
      line="$build $($measure "$bin")"
      echo "$line" >> "$work/$measure"
      echo "run $run $measure (load $(load)): $line"
    done
  done
  echo "== $measure (median of $runs)"
  for build in before after; do
    cols=$(awk -v b="$build" '$1 == b {print NF - 1; exit}' "$work/$measure")
    medians=""
    for col in $(seq 2 $((cols + 1))); do
      medians+=" $(awk -v b="$build" -v c="$col" '$1 == b {print $c}' "$work/$measure" | median)"
    done
    echo "$build$medians"
  done
done
