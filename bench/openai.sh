#!/usr/bin/env bash
# OpenAI endpoint: vllm-sim against two Python mocks of the same API -- GuideLLM's mock
# server (`guidellm mock-server`, Sanic, as shipped) and bench/python/mock_openai.py (a
# minimal FastAPI + uvicorn one, fixed tokens, no access log) -- medians of RUNS runs.
#
#   bench/openai.sh [rps|streams|all] [RUNS] [N]     (defaults: all 3 10000)
#
#   rps      wrk -t2 -c64 -d10s, 16-token completions ("max_tokens": 16, "ignore_eos": true),
#            non-streaming and streamed (SSE), on the AWQ pod of bench/quiet.yaml at
#            --speed 1000 (simulated latency ÷ 1000, the closest vllm-sim gets to zero) and on
#            the mocks with zero latency and 16 output tokens; requests/s, CPU/request, RSS.
#   streams  N concurrent streaming completions (max_tokens 2000) held open and read slowly
#            by bench/python/hold_streams.py for 20 s: vllm-sim at --speed 1 (so streams
#            last), and the mocks with 1 s between tokens; how many are open, answered,
#            receiving, and each server's RSS.
#
# Needs wrk and python3 (a venv is made in bench/python/.venv with guidellm in it).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
what=${1:-all}
runs=${2:-3}
n=${3:-10000}
setup

completion_lua false > "$work/completion.lua"
completion_lua true > "$work/stream.lua"

mock() { # PORT ITL_MS TOKENS: start guidellm's mock server (no TTFT), prints its pid
  $GUIDELLM mock-server --host 127.0.0.1 --port "$1" --model mistral-7b-awq \
    --request-latency 0 --request-latency-std 0 --ttft-ms 0 --ttft-ms-std 0 \
    --itl-ms "$2" --itl-ms-std 0 --output-tokens "$3" --output-tokens-std 0 >"$work/mock.log" 2>&1 &
  echo $!
}
fastapi() { # PORT ITL_MS: start bench/python/mock_openai.py, prints its pid
  $PY bench/python/mock_openai.py --port "$1" --itl-ms "$2" >"$work/fastapi.log" 2>&1 &
  echo $!
}

rps() {
  echo "== wrk -t2 -c64 -d10s, 16-token completions, $runs runs each (interleaved)"
  $sim run bench/quiet.yaml --base-port 25001 --gateway-port 25000 --speed 1000 2>"$work/sim.log" &
  local simpid=$!; pids+=("$simpid")
  local mockpid; mockpid=$(mock 25090 0 16); pids+=("$mockpid")
  local fapid; fapid=$(fastapi 25091 0); pids+=("$fapid")
  wait_http http://127.0.0.1:25002/health
  wait_http http://127.0.0.1:25090/health 600
  wait_http http://127.0.0.1:25091/health 600
  # Sanity: both answer the same request with 16 tokens.
  curl -fsS http://127.0.0.1:25002/v1/completions -H 'Content-Type: application/json' \
    -d '{"model": "mistral-7b-awq", "prompt": "Hello", "max_tokens": 16, "ignore_eos": true}' > "$work/sim.json"
  curl -fsS http://127.0.0.1:25090/v1/completions -H 'Content-Type: application/json' \
    -d '{"model": "mistral-7b-awq", "prompt": "Hello", "max_tokens": 16, "ignore_eos": true}' > "$work/mock.json"
  echo "vllm-sim: $(wc -c < "$work/sim.json") bytes, usage $(grep -o '"completion_tokens":[0-9]*' "$work/sim.json"); mock: $(wc -c < "$work/mock.json") bytes, usage $(grep -o '"completion_tokens":[0-9]*' "$work/mock.json")"
  for mode in completion stream; do
    : > "$work/sim.$mode"; : > "$work/mock.$mode"; : > "$work/fa.$mode"
    for run in $(seq "$runs"); do
      read -r r k c < <(wrk_run "$simpid" -t2 -c64 -d10s -s "$work/$mode.lua" http://127.0.0.1:25002/v1/completions)
      echo "$r $(awk -v c="$c" -v k="$k" 'BEGIN {printf "%.1f", c / k * 1e6}')" >> "$work/sim.$mode"
      read -r r k c < <(wrk_run "$mockpid" -t2 -c64 -d10s -s "$work/$mode.lua" http://127.0.0.1:25090/v1/completions)
      echo "$r $(awk -v c="$c" -v k="$k" 'BEGIN {printf "%.1f", c / k * 1e6}')" >> "$work/mock.$mode"
      read -r r k c < <(wrk_run "$fapid" -t2 -c64 -d10s -s "$work/$mode.lua" http://127.0.0.1:25091/v1/completions)
      echo "$r $(awk -v c="$c" -v k="$k" 'BEGIN {printf "%.1f", c / k * 1e6}')" >> "$work/fa.$mode"
      echo "run $run $mode (load $(load)): vllm-sim $(tail -1 "$work/sim.$mode") | guidellm mock $(tail -1 "$work/mock.$mode") | fastapi mock $(tail -1 "$work/fa.$mode")  (requests/s, CPU µs/request)"
    done
    local s m f
    s=$(cut -d' ' -f1 "$work/sim.$mode" | median); m=$(cut -d' ' -f1 "$work/mock.$mode" | median); f=$(cut -d' ' -f1 "$work/fa.$mode" | median)
    printf '%-11s vllm-sim %9s req/s (%s µs CPU each) | guidellm mock %8s req/s (%s µs) | fastapi mock %8s req/s (%s µs) | ratios %sx, %sx\n' \
      "$mode" "$s" "$(cut -d' ' -f2 "$work/sim.$mode" | median)" "$m" "$(cut -d' ' -f2 "$work/mock.$mode" | median)" \
      "$f" "$(cut -d' ' -f2 "$work/fa.$mode" | median)" "$(ratio "$s" "$m")" "$(ratio "$s" "$f")"
  done
  echo "peak RSS: vllm-sim $(hwm_kib "$simpid") KiB (4 pods + gateway), guidellm mock $(hwm_kib "$mockpid") KiB, fastapi mock $(hwm_kib "$fapid") KiB"
  stop "$simpid"; stop "$mockpid"; stop "$fapid"
}

streams() {
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  echo "== $n concurrent SSE streams held 20 s, read slowly (1 KiB per stream per second); ulimit -n $(ulimit -n)"
  for run in $(seq "$runs"); do
    $sim run bench/quiet.yaml --base-port 25001 --gateway-port 25000 --speed 1 2>"$work/sim.log" &
    local simpid=$!; pids+=("$simpid")
    wait_http http://127.0.0.1:25002/health
    echo "run $run vllm-sim (idle RSS $(rss_kib "$simpid") KiB, load $(load)): $($PY bench/python/hold_streams.py --port 25002 -n "$n" --max-tokens 2000 --hold 20 --pid "$simpid" 2>&1 | tr '\n' ' ')"
    stop "$simpid"
    # The mock with a token every second, 2000 of them: its streams last over half an hour.
    local mockpid; mockpid=$(mock 25090 1000 2000); pids+=("$mockpid")
    wait_http http://127.0.0.1:25090/health 600
    echo "run $run guidellm mock (idle RSS $(rss_kib "$mockpid") KiB, load $(load)): $($PY bench/python/hold_streams.py --port 25090 -n "$n" --max-tokens 2000 --hold 20 --pid "$mockpid" 2>&1 | tr '\n' ' ')"
    stop "$mockpid"
    local fapid; fapid=$(fastapi 25091 1000); pids+=("$fapid")
    wait_http http://127.0.0.1:25091/health 600
    echo "run $run fastapi mock (idle RSS $(rss_kib "$fapid") KiB, load $(load)): $($PY bench/python/hold_streams.py --port 25091 -n "$n" --max-tokens 2000 --hold 20 --pid "$fapid" 2>&1 | tr '\n' ' ')"
    stop "$fapid"
  done
}

case $what in
  rps) rps ;;
  streams) streams ;;
  all) rps; streams ;;
  *) echo "usage: bench/openai.sh [rps|streams|all] [RUNS] [N]" >&2; exit 2 ;;
esac
