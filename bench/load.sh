#!/usr/bin/env bash
# Load benchmark of the OpenAI API with wrk: completions/s (non-streaming and streamed,
# 16 tokens each) on a pod directly and through the gateway, and /metrics scrapes/s,
# against the idle lab of bench/quiet.yaml at --speed 1000 (simulated latency ÷ 1000).
# Prints wrk's Requests/sec for each, and the simulator's peak RSS.
#
#   bench/load.sh [DURATION] [CONNECTIONS]    (defaults 10s 64; needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
duration=${1:-10s}
connections=${2:-64}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --profile dist --quiet -p vllm-sim --features jemalloc
work=$(mktemp -d)
./target/dist/vllm-sim run bench/quiet.yaml --base-port 18101 --speed 1000 2>"$work/sim.log" &
sim=$!
trap 'kill $sim 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -fsS -o /dev/null http://127.0.0.1:18100/health 2>/dev/null && break
  sleep 0.1
done

completion_lua false > "$work/completion.lua"
completion_lua true > "$work/stream.lua"

measure() { # name, wrk arguments...
  local name=$1; shift
  local rps
  rps=$(wrk -t2 -c"$connections" -d"$duration" "$@" | awk '/Requests\/sec/ {print $2}')
  printf '%-40s %10s requests/s\n' "$name" "$rps"
}

echo "== wrk -t2 -c$connections -d$duration, $(nproc) cores"
measure "pod /v1/completions" -s "$work/completion.lua" http://127.0.0.1:18102/v1/completions
measure "pod /v1/completions (stream)" -s "$work/stream.lua" http://127.0.0.1:18102/v1/completions
measure "gateway /quantization/v1/completions" -s "$work/completion.lua" http://127.0.0.1:18100/quantization/v1/completions
measure "pod /metrics" http://127.0.0.1:18102/metrics
measure "gateway /metrics" http://127.0.0.1:18100/metrics
printf '%-40s %10s\n' "peak RSS of the simulator" "$(awk '/VmHWM/ {print $2, $3}' /proc/$sim/status)"
