"""The soak's own checks, beside its wrk runs (bench/soak.sh).

For DURATION seconds: streams are opened on every pod and cut after their first
events (the client hangs up mid-stream), and every pod's /metrics is scraped twice a
second, each counter-like sample (`_total`, `_count`, `_sum`, `_bucket`) checked never
to go down. Then, once the file DONE exists (the other clients have ended), every pod's
running and waiting gauges must read 0 within a second.

    python3 soak_check.py DURATION DONE PORT...

Prints its counts; exits 1 on any failure. Standard library only.
"""
import http.client
import json
import sys
import threading
import time
from pathlib import Path

COUNTERS = ("_total", "_count", "_sum", "_bucket")
IDLE_WITHIN = 1.0


def scrape(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f":{port}/metrics answered {response.status}")
    samples = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            samples[series] = float(value)
    return samples


def model_of(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/v1/models")
    model = json.loads(conn.getresponse().read())["data"][0]["id"]
    conn.close()
    return model


class Checks:
    def __init__(self):
        self.lock = threading.Lock()
        self.cut = self.scrapes = 0
        self.failures = []

    def fail(self, message):
        with self.lock:
            if len(self.failures) < 20:
                self.failures.append(message)


def cut_streams(port, model, deadline, checks):
    body = json.dumps({"model": model, "prompt": "Hello", "max_tokens": 200,
                       "ignore_eos": True, "stream": True})
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            if response.status != 200:
                checks.fail(f":{port} stream answered {response.status}")
            response.read1(256)  # the first event or two, then hang up
            conn.sock.close()
            conn.close()
            with checks.lock:
                checks.cut += 1
        except OSError as e:
            checks.fail(f":{port} stream: {e}")
        time.sleep(0.02)


def watch_counters(ports, deadline, checks):
    last = {}
    while time.monotonic() < deadline:
        for port in ports:
            try:
                samples = scrape(port)
            except (OSError, RuntimeError) as e:
                checks.fail(str(e))
                continue
            with checks.lock:
                checks.scrapes += 1
            for series, value in samples.items():
                name = series.split("{")[0]
                if not name.endswith(COUNTERS):
                    continue
                before = last.get((port, series))
                if before is not None and value < before:
                    checks.fail(f":{port} {series} went from {before} to {value}")
                last[(port, series)] = value
        time.sleep(0.5)


def idle_gauges(port):
    samples = scrape(port)
    return [v for s, v in samples.items()
            if s.startswith(("vllm:num_requests_running", "vllm:num_requests_waiting{"))]


def main():
    duration, done = float(sys.argv[1]), Path(sys.argv[2])
    ports = [int(p) for p in sys.argv[3:]]
    checks = Checks()
    deadline = time.monotonic() + duration
    threads = [threading.Thread(target=cut_streams, args=(p, model_of(p), deadline, checks))
               for p in ports]
    threads.append(threading.Thread(target=watch_counters, args=(ports, deadline, checks)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while not done.exists():
        time.sleep(0.05)
    ended = time.monotonic()
    slowest = 0.0
    for port in ports:
        while any(v != 0 for v in idle_gauges(port)):
            if time.monotonic() - ended > 10:
                break
            time.sleep(0.05)
        slowest = max(slowest, time.monotonic() - ended)
    if slowest > IDLE_WITHIN:
        checks.fail(f"running/waiting gauges took {slowest:.2f} s to reach 0 (at most {IDLE_WITHIN})")
    print(f"cut streams: {checks.cut}, scrapes checked for monotonic counters: {checks.scrapes}, "
          f"gauges idle {slowest:.2f} s after the last client ended")
    for failure in checks.failures:
        print(f"FAIL: {failure}")
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
