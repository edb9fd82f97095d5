#!/usr/bin/env bash
# /metrics exposition: vllm-sim against Python's prometheus_client (what vLLM uses)
# rendering the same families, label sets, buckets and values. Medians of RUNS runs.
#
#   bench/exposition.sh [pod|render|prometheus|all] [RUNS]     (defaults: all 3)
#
#   pod         one pod: `wrk -t1 -c8 -d5s` on the AWQ pod of `vllm-sim run healthy` and on
#               bench/python/metrics_server.py serving a registry rebuilt from a saved
#               scrape of that pod (prometheus_client.start_http_server, and its ASGI app
#               under uvicorn as vLLM mounts it); scrapes/s, CPU per scrape, series, bytes.
#   render      a fleet of 1,000 pods (bench/fleet-idle.yaml): one sequential scrape of all
#               1,000 over keep-alive vs prometheus_client's generate_latest() of a 1,000-pod
#               registry.
#   prometheus  Prometheus (on PATH) scraping bench/fleet-idle.yaml and bench/fleet.yaml
#               every 15 s for 60 s: the simulator's CPU as % of one core, and its RSS.
#
# Needs wrk, python3 (a venv is made in bench/python/.venv), and prometheus for the last.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
what=${1:-all}
runs=${2:-3}
setup

pod() {
  echo "== one pod: wrk -t1 -c8 -d5s /metrics, $runs runs each (interleaved)"
  # The healthy lab at --speed 10 for 20 s, so every histogram of the AWQ pod is populated.
  $sim run healthy --base-port 24301 --gateway-port 24300 --speed 10 2>"$work/sim.log" &
  local simpid=$!; pids+=("$simpid")
  wait_http http://127.0.0.1:24302/metrics
  sleep 20
  curl -fsS http://127.0.0.1:24302/metrics > "$work/fixture.txt"
  mkdir -p bench/results
  cp "$work/fixture.txt" bench/results/awq-pod-metrics.txt
  $PY bench/python/metrics_server.py serve "$work/fixture.txt" --port 24390 --server http 2>"$work/py-http.log" &
  local pyhttp=$!; pids+=("$pyhttp")
  $PY bench/python/metrics_server.py serve "$work/fixture.txt" --port 24391 --server asgi 2>"$work/py-asgi.log" &
  local pyasgi=$!; pids+=("$pyasgi")
  wait_http http://127.0.0.1:24390/metrics
  wait_http http://127.0.0.1:24391/metrics
  curl -fsS http://127.0.0.1:24390/metrics > "$work/py.txt"
  echo "vllm-sim AWQ pod body:           $($PY bench/python/metrics_server.py count "$work/fixture.txt")"
  echo "prometheus_client body:          $($PY bench/python/metrics_server.py count "$work/py.txt")"
  # The simulator also runs the healthy traffic of its four pods: measure that
  # background CPU first and subtract it from the CPU per scrape.
  local c0 c1 bg
  c0=$(cpu_seconds "$simpid"); sleep 5; c1=$(cpu_seconds "$simpid")
  bg=$(awk -v a="$c1" -v b="$c0" 'BEGIN {printf "%.4f", (a - b) / 5}')
  echo "vllm-sim background CPU (healthy traffic at --speed 10, 4 pods): $bg s/s"
  : > "$work/sim.rates"; : > "$work/http.rates"; : > "$work/asgi.rates"
  for run in $(seq "$runs"); do
    read -r rps n cpu < <(wrk_run "$simpid" -t1 -c8 -d5s http://127.0.0.1:24302/metrics)
    echo "$rps $(awk -v c="$cpu" -v n="$n" -v bg="$bg" 'BEGIN {printf "%.1f %.1f", c / n * 1e6, (c - bg * 5) / n * 1e6}')" >> "$work/sim.rates"
    read -r rps n cpu < <(wrk_run "$pyhttp" -t1 -c8 -d5s http://127.0.0.1:24390/metrics)
    echo "$rps $(awk -v c="$cpu" -v n="$n" 'BEGIN {printf "%.1f", c / n * 1e6}')" >> "$work/http.rates"
    read -r rps n cpu < <(wrk_run "$pyasgi" -t1 -c8 -d5s http://127.0.0.1:24391/metrics)
    echo "$rps $(awk -v c="$cpu" -v n="$n" 'BEGIN {printf "%.1f", c / n * 1e6}')" >> "$work/asgi.rates"
    echo "run $run (load $(load)): vllm-sim $(tail -1 "$work/sim.rates") | start_http_server $(tail -1 "$work/http.rates") | asgi+uvicorn $(tail -1 "$work/asgi.rates")   (scrapes/s, CPU µs/scrape[, net of background])"
  done
  local s h a
  s=$(cut -d' ' -f1 "$work/sim.rates" | median); h=$(cut -d' ' -f1 "$work/http.rates" | median); a=$(cut -d' ' -f1 "$work/asgi.rates" | median)
  printf '%-44s %10s scrapes/s  %8s µs CPU/scrape (%s net of background)\n' "vllm-sim pod (hyper)" "$s" \
    "$(cut -d' ' -f2 "$work/sim.rates" | median)" "$(cut -d' ' -f3 "$work/sim.rates" | median)"
  printf '%-44s %10s scrapes/s  %8s µs CPU/scrape\n' "prometheus_client start_http_server" "$h" "$(cut -d' ' -f2 "$work/http.rates" | median)"
  printf '%-44s %10s scrapes/s  %8s µs CPU/scrape\n' "prometheus_client make_asgi_app + uvicorn" "$a" "$(cut -d' ' -f2 "$work/asgi.rates" | median)"
  echo "ratio vllm-sim / start_http_server: $(ratio "$s" "$h")x; vllm-sim / asgi+uvicorn: $(ratio "$s" "$a")x"
  stop "$simpid"; stop "$pyhttp"; stop "$pyasgi"
}

render() {
  echo "== fleet of 1,000 pods: one scrape of every pod vs prometheus_client rendering 1,000 pods"
  $sim run bench/fleet-idle.yaml --gateway-port 19990 2>"$work/fleet.log" &
  local simpid=$!; pids+=("$simpid")
  wait_http http://127.0.0.1:21149/metrics 600
  $PY bench/python/scrape_fleet.py --pid "$simpid" --runs "$runs" \
    --ports 20000-20249 20300-20549 20600-20849 20900-21149
  stop "$simpid"
  # The Python peer: the AWQ pod's families (saved by the `pod` part, else scraped now
  # from a healthy lab) for 1,000 distinct label sets in one registry.
  local fixture=bench/results/awq-pod-metrics.txt
  if [ ! -s "$fixture" ]; then
    $sim run healthy --base-port 24301 --gateway-port 24300 --speed 10 2>/dev/null &
    local h=$!; pids+=("$h"); wait_http http://127.0.0.1:24302/metrics; sleep 20
    mkdir -p bench/results; curl -fsS http://127.0.0.1:24302/metrics > "$fixture"; stop "$h"
  fi
  $PY bench/python/metrics_server.py render "$fixture" --pods 1000 --runs "$runs"
}

prometheus_fleet() { # SCENARIO LABEL
  local scenario=$1 label=$2 port=29090
  : > "$work/prom.$label"
  for run in $(seq "$runs"); do
    $sim run "$scenario" --gateway-port 19990 2>"$work/fleet.log" &
    local simpid=$!; pids+=("$simpid")
    wait_http http://127.0.0.1:21149/metrics 600
    sleep 5
    # Background: the fleet's own CPU with nobody scraping, over 15 s.
    local c0 c1 t0 t1 bg
    c0=$(cpu_seconds "$simpid"); t0=$(now); sleep 15; c1=$(cpu_seconds "$simpid"); t1=$(now)
    bg=$(awk -v a="$c1" -v b="$c0" -v t="$t1" -v s="$t0" 'BEGIN {printf "%.2f", (a - b) / (t - s) * 100}')
    $sim scrape-config "$scenario" --interval 15s --gateway-port 19990 > "$work/prometheus.yml"
    rm -rf "$work/tsdb"
    command prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
      --web.listen-address="127.0.0.1:$port" --log.level=error 2>"$work/prom.log" &
    local prom=$!; pids+=("$prom")
    wait_http "http://127.0.0.1:$port/-/ready" 300
    # Wait for a first full round (every target scraped once), then measure 60 s.
    local up=0
    for _ in $(seq 60); do
      up=$(curl -fsS "http://127.0.0.1:$port/api/v1/query" --data-urlencode 'query=count(up == 1)' \
        | sed -n 's/.*"value":\[[^,]*,"\([0-9]*\)".*/\1/p')
      [ "${up:-0}" -ge 1001 ] && break
      sleep 1
    done
    c0=$(cpu_seconds "$simpid"); t0=$(now); sleep 60; c1=$(cpu_seconds "$simpid"); t1=$(now)
    local pct
    pct=$(awk -v a="$c1" -v b="$c0" -v t="$t1" -v s="$t0" 'BEGIN {printf "%.2f", (a - b) / (t - s) * 100}')
    local scrapes
    scrapes=$(curl -fsS "http://127.0.0.1:$port/api/v1/query" --data-urlencode 'query=count(up == 1)' \
      | sed -n 's/.*"value":\[[^,]*,"\([0-9]*\)".*/\1/p')
    echo "$pct $bg $(rss_kib "$simpid") $(hwm_kib "$simpid")" >> "$work/prom.$label"
    echo "run $run $label (load $(load)): up targets $up→$scrapes; CPU with Prometheus ${pct}% of a core, without ${bg}%, RSS $(rss_kib "$simpid") KiB (peak $(hwm_kib "$simpid"))"
    stop "$prom"; stop "$simpid"
  done
  local with without
  with=$(cut -d' ' -f1 "$work/prom.$label" | median); without=$(cut -d' ' -f2 "$work/prom.$label" | median)
  printf '%-28s CPU %s%% of one core while scraped every 15 s, %s%% unscraped (scraping: %s points); RSS %s MiB\n' \
    "$label" "$with" "$without" "$(awk -v a="$with" -v b="$without" 'BEGIN {printf "%.2f", a - b}')" \
    "$(cut -d' ' -f3 "$work/prom.$label" | median | awk '{printf "%.0f", $1 / 1024}')"
}

scrape_by_prometheus() {
  command -v prometheus >/dev/null || { echo "prometheus is not on PATH" >&2; return 1; }
  echo "== fleet of 1,000 pods scraped by Prometheus $(command prometheus --version 2>&1 | awk 'NR==1 {print $3}') every 15 s, 60 s after the first round, $runs runs"
  prometheus_fleet bench/fleet-idle.yaml "idle fleet"
  prometheus_fleet bench/fleet.yaml "fleet with healthy traffic"
}

case $what in
  pod) pod ;;
  render) render ;;
  prometheus) scrape_by_prometheus ;;
  all) pod; render; scrape_by_prometheus ;;
  *) echo "usage: bench/exposition.sh [pod|render|prometheus|all] [RUNS]" >&2; exit 2 ;;
esac
