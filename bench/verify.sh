#!/usr/bin/env bash
# Benchmark: backfill alone (samples/s) and the whole verify-from-backfill path
# (backfill -> promtool blocks -> Prometheus -> vllm-sim verify) for every shipped
# scenario. Prints one line per run and the median of RUNS runs.
#
#   bench/verify.sh [RUNS]      (default 3; needs prometheus and promtool on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release --quiet -p vllm-sim
sim=./target/release/vllm-sim
scenarios=(healthy awq-not-quantized judge-backlog spot-preemption t4-reality)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
end=$(( $(date +%s) / 15 * 15 ))

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
now() { date +%s.%N; }

echo "== backfill alone: 30m of each scenario at 15 s, samples/s"
for s in "${scenarios[@]}"; do
  rates=$(for _ in $(seq "$runs"); do
    NO_COLOR=1 $sim backfill "$s" --duration 30m --end "$end" --out "$work/$s.om" 2>&1 \
      | sed -n 's/.*(\([0-9]*\) samples\/s).*/\1/p'
  done)
  printf '%-18s %s samples/s (median of %s)\n' "$s" "$(median <<< "$rates")" "$runs"
done

echo "== verify from backfill: all five scenarios, wall seconds"
for run in $(seq "$runs"); do
  t0=$(now)
  for s in "${scenarios[@]}"; do
    rm -rf "$work/data-$s"
    $sim backfill "$s" --duration 30m --end "$end" --out "$work/$s.om" 2>/dev/null
    promtool tsdb create-blocks-from openmetrics "$work/$s.om" "$work/data-$s" >/dev/null
    printf 'global:\n  scrape_interval: 15s\n' > "$work/prometheus.yml"
    port=$((19190 + run))
    prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data-$s" \
      --storage.tsdb.retention.time=3650d --web.listen-address="127.0.0.1:$port" --log.level=error &
    pid=$!
    until curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; do sleep 0.1; done
    $sim verify --prometheus "http://127.0.0.1:$port" --scenario "$s" \
      --from "$((end - 1800))" --to "$end" > "$work/report-$s.txt" || { cat "$work/report-$s.txt"; exit 1; }
    kill $pid; wait $pid 2>/dev/null || true
  done
  awk -v a="$(now)" -v b="$t0" 'BEGIN {printf "%.2f\n", a - b}' 
done | tee "$work/verify.txt"
printf 'verify all scenarios from backfill: median %.2f s (of %s runs)\n' "$(median < "$work/verify.txt")" "$runs"
