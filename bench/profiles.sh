#!/usr/bin/env bash
# Release profiles, before and after: the same measurements on a build of an earlier
# commit (BEFORE, default a0ff915: the hand-written vllm-0.6/vllm-0.11 catalogue) and
# on this checkout (the catalogue from every release's data file), interleaved run by
# run so both see the same machine. Medians of RUNS runs.
#
#   bench/profiles.sh [RUNS] [MEASURE...]   (default 5, all of startup_ms scrapes backfill;
#                                            needs wrk)
#
#   start-up    ms from exec of `vllm-sim run healthy --profile P` to the first 200 on
#               the AWQ pod's /metrics
#   scrapes/s   wrk -t1 -c8 -d5s on the AWQ pod's /metrics after 20 s of healthy
#               traffic at --speed 10 (every histogram populated)
#   backfill    samples/s of `vllm-sim backfill healthy --duration 30m --profile P`
#
# Profiles: vllm-0.6 and vllm-0.11 on both builds (0.6.4 and 0.11.0), vllm-0.33.0 on
# this one. BEFORE is built in a temporary git worktree; its binary is kept in
# target/bench-before/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${1:-5}
shift || true
measures=("${@:-startup_ms scrapes backfill}")
before=${BEFORE:-a0ff915}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
trap cleanup EXIT

old=target/bench-before/vllm-sim-$before
if [ ! -x "$old" ]; then
  git worktree add --detach "$work/before" "$before" >/dev/null
  (cd "$work/before" && cargo build --release --quiet -p vllm-sim --target-dir "$OLDPWD/target" \
    --config 'profile.release.lto=false')
  mkdir -p target/bench-before
  cp target/release/vllm-sim "$old"
  git worktree remove --force "$work/before"
fi
if [ -z "${VLLM_SIM:-}" ]; then
  cargo build --profile dist --quiet -p vllm-sim --features jemalloc
  VLLM_SIM=target/dist/vllm-sim
fi
new=$VLLM_SIM
echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); before: $before, after: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (modified)')"

startup_ms() { # BINARY PROFILE
  local t0 pid
  t0=$(now)
  NO_COLOR=1 "$1" run healthy --profile "$2" --base-port 24401 --gateway-port 24400 2>/dev/null &
  pid=$!
  until curl -fsS -o /dev/null http://127.0.0.1:24402/metrics 2>/dev/null; do sleep 0.002; done
  awk -v a="$(now)" -v b="$t0" 'BEGIN {printf "%.1f", (a - b) * 1000}'
  stop "$pid"
}

scrapes() { # BINARY PROFILE
  local pid rps
  NO_COLOR=1 "$1" run healthy --profile "$2" --base-port 24411 --gateway-port 24410 --speed 10 2>/dev/null &
  pid=$!
  wait_http http://127.0.0.1:24412/metrics
  sleep 20
  read -r rps _ _ < <(wrk_run "$pid" -t1 -c8 -d5s http://127.0.0.1:24412/metrics)
  echo "$rps"
  stop "$pid"
}

backfill() { # BINARY PROFILE
  NO_COLOR=1 "$1" backfill healthy --duration 30m --end 1700000000 --profile "$2" --out "$work/b.om" 2>&1 \
    | sed -n 's/.*(\([0-9]*\) samples\/s).*/\1/p'
}

cases=("before vllm-0.6" "after vllm-0.6" "before vllm-0.11" "after vllm-0.11" "after vllm-0.33.0")
binary() { if [ "$1" = before ]; then echo "$old"; else echo "$new"; fi; }
for measure in ${measures[*]}; do
  : > "$work/$measure"
  for run in $(seq "$runs"); do
    for c in "${cases[@]}"; do
      read -r build profile <<< "$c"
      echo "$build $profile $($measure "$(binary "$build")" "$profile")" >> "$work/$measure"
    done
  done
  echo "== $measure (median of $runs)"
  for c in "${cases[@]}"; do
    printf '  %-20s %s\n' "$c" "$(grep "^$c " "$work/$measure" | awk '{print $3}' | median)"
  done
done
