#!/usr/bin/env bash
# Idle-connection flood: does the lab give its memory back once the connections close?
#
#   bench/connections.sh [ROUNDS] [N] [MODE]     (defaults: 5 19800 idle)
#
# Starts the default lab (healthy: 4 pods on 21501-21504, the gateway on 21500) and,
# ROUNDS times, opens N TCP connections spread evenly over the five listeners, holds
# them HOLD seconds (default 2), closes them all and waits SETTLE seconds (default 15;
# jemalloc hands freed pages back over about 10 s), with bench/python/flood.py
# (standard library only). MODE `idle`: the connections send nothing; `request`: each
# sends one keep-alive GET /health, reads the answer, then idles. Prints the
# simulator's VmRSS before each round, at its peak and SETTLE seconds after the close,
# then the medians over the rounds and the RSS after the last.
#
# Both the simulator and the client need N file descriptors: the soft limit is raised
# to the hard one (`ulimit -Hn`); N must stay below it. VLLM_SIM=/path/to/vllm-sim
# skips `cargo build --release -p vllm-sim`; the rest of the environment (such as
# MALLOC_ARENA_MAX) reaches the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
rounds=${1:-5}
n=${2:-19800}
mode=${3:-idle}
hold=${HOLD:-2}
settle=${SETTLE:-15}
ulimit -n "$(ulimit -Hn)"
[ -n "${VLLM_SIM:-}" ] || { cargo build --profile dist --quiet -p vllm-sim --features jemalloc; VLLM_SIM=${CARGO_TARGET_DIR:-target}/dist/vllm-sim; }
work=$(mktemp -d)
"$VLLM_SIM" --base-port 21501 --gateway-port 21500 2>"$work/sim.log" &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; rm -rf "$work"' EXIT
for port in 21500 21501 21502 21503 21504; do wait_http "http://127.0.0.1:$port/metrics"; done
sleep 1
echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ulimit -n $(ulimit -n); $rounds rounds of $n $mode connections over 5 listeners, held ${hold} s, RSS ${settle} s after closing"
python3 bench/python/flood.py --pid "$sim" --ports 21500,21501,21502,21503,21504 \
  --n "$n" --mode "$mode" --rounds "$rounds" --hold "$hold" --settle "$settle" | tee "$work/rounds"
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' "$work/rounds" | median; }
echo "median RSS (KiB): before $(field before), peak $(field peak), after $(field after); after the last round $(rss_kib "$sim")"
curl -fsS -o /dev/null http://127.0.0.1:21501/health || { echo "the pod no longer answers" >&2; exit 1; }
