#!/usr/bin/env python3
"""Scrape every pod of a vllm-sim fleet once, sequentially, over keep-alive.

One persistent HTTP/1.1 connection per pod (opened by a warm-up round that is not
timed); each timed round GETs /metrics from every pod in turn and reads the whole body.
Prints the wall time of each round, its median, the series and bytes of a round, and
the simulator's CPU seconds per round (from /proc/PID/stat) when --pid is given.

  scrape_fleet.py --ports 20000-20249 20300-20549 ... [--runs 3] [--pid PID]
"""
import argparse
import http.client
import os
import statistics
import time


def cpu(pid):
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", nargs="+", required=True, help="PORT or FIRST-LAST")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pid", type=int)
    args = ap.parse_args()
    ports = []
    for p in args.ports:
        first, _, last = p.partition("-")
        ports += list(range(int(first), int(last or first) + 1))
    conns = [http.client.HTTPConnection(args.host, port) for port in ports]

    def round_():
        size = series = 0
        for c in conns:
            c.request("GET", "/metrics")
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                raise SystemExit(f"{c.port}: HTTP {r.status}")
            size += len(body)
            series += sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))
        return size, series

    round_()  # warm-up: opens the connections
    walls, cpus = [], []
    for _ in range(args.runs):
        c0, t0 = cpu(args.pid), time.perf_counter()
        size, series = round_()
        walls.append(time.perf_counter() - t0)
        cpus.append(cpu(args.pid) - c0)
    print(f"pods={len(ports)} series={series} bytes={size} "
          f"wall_s={' '.join(f'{w:.3f}' for w in walls)} median_wall_s={statistics.median(walls):.3f} "
          f"sim_cpu_s={' '.join(f'{c:.2f}' for c in cpus)} median_sim_cpu_s={statistics.median(cpus):.2f}")


if __name__ == "__main__":
    main()
