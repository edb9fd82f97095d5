#!/usr/bin/env bash
# Benchmark: backfill alone (samples/s) and the whole verify-from-backfill path
# (backfill -> promtool blocks -> Prometheus -> recording rules backfilled with
# promtool, Prometheus restarted -> vllm-sim verify) for every shipped scenario; and
# verify alone against each backfilled Prometheus, without and with
# --rules dashboard/rules/*.yaml. Prints one line per run and the median of RUNS runs.
#
#   bench/verify.sh [RUNS]      (default 3; needs prometheus and promtool on PATH;
#                                VLLM_SIM=PATH measures that binary)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
# VLLM_SIM=PATH measures that binary instead of building this checkout.
[ -n "${VLLM_SIM:-}" ] || cargo build --profile dist --quiet -p vllm-sim
sim=${VLLM_SIM:-${CARGO_TARGET_DIR:-target}/dist/vllm-sim}
rules=(dashboard/rules/*.yaml)
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

start_prometheus() { # DATA PORT
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$1" \
    --storage.tsdb.retention.time=3650d --web.listen-address="127.0.0.1:$2" --log.level=error &
  pid=$!
  until curl -fs "http://127.0.0.1:$2/-/ready" >/dev/null 2>&1; do sleep 0.1; done
}
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN {printf "%.3f\n", a - b}'; }

echo "== verify from backfill, with --rules: all five scenarios, wall seconds"
printf 'global:\n  scrape_interval: 15s\n' > "$work/prometheus.yml"
: > "$work/plain.txt"; : > "$work/rules.txt"; : > "$work/record.txt"
for run in $(seq "$runs"); do
  t0=$(now)
  for s in "${scenarios[@]}"; do
    rm -rf "$work/data-$s" "$work/rules-$s"
    $sim backfill "$s" --duration 30m --end "$end" --out "$work/$s.om" 2>/dev/null
    promtool tsdb create-blocks-from openmetrics "$work/$s.om" "$work/data-$s" >/dev/null
    port=$((19190 + run))
    start_prometheus "$work/data-$s" "$port"
    t1=$(now)
    promtool tsdb create-blocks-from rules --quiet --start "$((end - 1800))" --end "$end" \
      --url "http://127.0.0.1:$port" --output-dir "$work/rules-$s" "${rules[@]}" \
      2> "$work/promtool-rules.log" || { cat "$work/promtool-rules.log"; exit 1; }
    kill $pid; wait $pid 2>/dev/null || true
    mv "$work/rules-$s"/* "$work/data-$s/"
    start_prometheus "$work/data-$s" "$port"
    elapsed "$t1" >> "$work/record.txt"
    t1=$(now)
    $sim verify --prometheus "http://127.0.0.1:$port" --scenario "$s" \
      --from "$((end - 1800))" --to "$end" > "$work/report-$s.txt" || { cat "$work/report-$s.txt"; exit 1; }
    elapsed "$t1" >> "$work/plain.txt"
    t1=$(now)
    $sim verify --prometheus "http://127.0.0.1:$port" --scenario "$s" --rules "${rules[@]}" \
      --from "$((end - 1800))" --to "$end" > "$work/report-$s.txt" || { cat "$work/report-$s.txt"; exit 1; }
    elapsed "$t1" >> "$work/rules.txt"
    kill $pid; wait $pid 2>/dev/null || true
  done
  elapsed "$t0"
done | tee "$work/verify.txt"
printf 'whole path, all scenarios (both verifies included): median %.2f s (of %s runs)\n' "$(median < "$work/verify.txt")" "$runs"
printf 'recording rules backfilled + Prometheus restarted, per scenario: median %.3f s\n' "$(median < "$work/record.txt")"
printf 'verify, per scenario: median %.3f s without --rules, %.3f s with --rules\n' \
  "$(median < "$work/plain.txt")" "$(median < "$work/rules.txt")"
