#!/usr/bin/env python3
"""The Python peer of a vllm-sim pod's /metrics, for bench/exposition.sh.

Builds a prometheus_client registry with the same families, HELP texts, label sets,
bucket bounds and values as a saved scrape of a vllm-sim pod (the fixture), using
prometheus_client's own Counter / Gauge / Histogram objects -- the classes vLLM 0.6's
`vllm/engine/metrics.py` uses -- and then either serves it or times its rendering.

  metrics_server.py serve FIXTURE --port P [--server http|asgi]
      http: prometheus_client.start_http_server (its ThreadingWSGIServer, one thread
            per connection; wsgiref answers HTTP/1.0-style, one request per connection)
      asgi: prometheus_client.make_asgi_app() under uvicorn (keep-alive), which is how
            vLLM's OpenAI server mounts /metrics (FastAPI Mount("/metrics", ...))
  metrics_server.py render FIXTURE --pods 1000 [--runs 3]
      a registry of the fixture's families x N pods (distinct model_name, or a `pod`
      label where a family has no model_name), and the median generate_latest() time
  metrics_server.py count FILE     series and bytes of a saved exposition

Counters and histograms get no `_created` series (PROMETHEUS_DISABLE_CREATED_SERIES is
set before prometheus_client is imported) so the series match the simulator's, which
emits none. Real vLLM pods do emit `_created` series, so their bodies are larger.
"""
import argparse
import math
import os
import statistics
import sys
import time

os.environ.setdefault("PROMETHEUS_DISABLE_CREATED_SERIES", "True")

from prometheus_client import (  # noqa: E402
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402


def parse(text):
    """[(type, name, help, [(sample_name, labels dict, value)])] in exposition order."""
    out = []
    for fam in text_string_to_metric_families(text):
        out.append((fam.type, fam.name, fam.documentation,
                    [(s.name, dict(s.labels), s.value) for s in fam.samples]))
    return out


def relabel(labels, pod_index, pod_name):
    """The label set of pod `pod_index` (None: the fixture's own)."""
    if pod_index is None:
        return labels
    labels = dict(labels)
    if "model_name" in labels:
        labels["model_name"] = f"{labels['model_name']}-{pod_index}"
    else:
        labels["pod"] = pod_name
    return labels


def build(families, pods=None):
    """A CollectorRegistry holding the fixture's families, once or for `pods` pods."""
    registry = CollectorRegistry(auto_describe=False)
    indices = [None] if pods is None else list(range(pods))
    for typ, name, doc, samples in families:
        if typ == "histogram":
            bounds, label_names = [], None
            for sname, labels, _ in samples:
                if sname.endswith("_bucket"):
                    le = float(labels["le"])
                    if le not in bounds:
                        bounds.append(le)
                    if label_names is None:
                        label_names = [k for k in labels if k != "le"]
            label_names = label_names or []
            if pods is not None and "model_name" not in label_names:
                label_names.append("pod")
            metric = Histogram(name, doc, label_names, buckets=bounds, registry=registry)
            series = {}  # label tuple -> {"buckets": [(le, cumulative)], "sum": s}
            for sname, labels, value in samples:
                base = {k: v for k, v in labels.items() if k != "le"}
                key = tuple(sorted(base.items()))
                entry = series.setdefault(key, {"labels": base, "buckets": [], "sum": 0.0})
                if sname.endswith("_bucket"):
                    entry["buckets"].append((float(labels["le"]), value))
                elif sname.endswith("_sum"):
                    entry["sum"] = value
            for entry in series.values():
                cumulative = dict(entry["buckets"])
                for i in indices:
                    child = metric.labels(**relabel(entry["labels"], i, f"pod-{i}"))
                    previous = 0.0
                    for j, le in enumerate(bounds):
                        count = cumulative.get(le, previous)
                        child._buckets[j].inc(count - previous)  # counts are per bucket
                        previous = count
                    child._sum.inc(entry["sum"])
        elif typ in ("counter", "gauge"):
            label_names = list(samples[0][1].keys()) if samples else []
            if pods is not None and "model_name" not in label_names:
                label_names.append("pod")
            if typ == "counter":
                base_name = name[: -len("_total")] if name.endswith("_total") else name
                metric = Counter(base_name, doc, label_names, registry=registry)
            else:
                metric = Gauge(name, doc, label_names, registry=registry)
            for _, labels, value in samples:
                for i in indices:
                    child = metric.labels(**relabel(labels, i, f"pod-{i}")) if label_names else metric
                    if typ == "counter":
                        child.inc(value)
                    else:
                        child.set(value)
        else:
            raise SystemExit(f"unsupported family type {typ} ({name})")
    return registry


def count(text):
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    return series, len(text.encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("fixture")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--server", choices=["http", "asgi"], default="http")
    r = sub.add_parser("render")
    r.add_argument("fixture")
    r.add_argument("--pods", type=int, default=1000)
    r.add_argument("--runs", type=int, default=3)
    c = sub.add_parser("count")
    c.add_argument("file")
    args = ap.parse_args()

    if args.cmd == "count":
        series, size = count(open(args.file).read())
        print(f"{series} series, {size} bytes")
        return

    families = parse(open(args.fixture).read())
    if args.cmd == "serve":
        registry = build(families)
        series, size = count(generate_latest(registry).decode())
        print(f"python registry: {series} series, {size} bytes", file=sys.stderr, flush=True)
        if args.server == "http":
            from prometheus_client import start_http_server
            start_http_server(args.port, addr=args.host, registry=registry)
            while True:
                time.sleep(3600)
        else:
            import uvicorn
            from prometheus_client import make_asgi_app
            uvicorn.run(make_asgi_app(registry), host=args.host, port=args.port,
                        log_level="warning", access_log=False)
    elif args.cmd == "render":
        t0 = time.perf_counter()
        registry = build(families, pods=args.pods)
        built = time.perf_counter() - t0
        times, body = [], b""
        for _ in range(args.runs):
            t0 = time.perf_counter()
            body = generate_latest(registry)
            times.append(time.perf_counter() - t0)
        series, size = count(body.decode())
        print(f"pods={args.pods} series={series} bytes={size} build_s={built:.2f} "
              f"render_s={' '.join(f'{t:.3f}' for t in times)} median_render_s={statistics.median(times):.3f}")


if __name__ == "__main__":
    main()
