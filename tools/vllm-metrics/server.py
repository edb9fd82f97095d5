"""Render the non-vllm families of a V1 release's API server /metrics (run as a subprocess).

Usage: python3 server.py REQUEST.json RESULT.json

Builds a FastAPI app with vLLM's OpenAI routes (answered with fixed JSON bodies), applies
the release's own metrics mounting code (``mount_metrics`` extracted from
``vllm/entrypoints/openai/api_server.py``, or the module
``vllm/entrypoints/serve/instrumentator/metrics.py`` from 0.13 on) with the
prometheus-fastapi-instrumentator, FastAPI and Starlette releases of the time, drives
REQUESTS through it as ASGI calls and renders ``generate_latest(REGISTRY)`` (no vllm:*
collector is created, so the default registry holds only the server's own families).

Deterministic stand-ins: time.time is START (the _created samples), the instrumentator's
timer advances TICK per call (every request lasts 2 * TICK), ProcessCollector reads a
fake /proc (FAKE_PROC), gc.get_stats returns GC_STATS and python_info describes PYTHON.
"""

import ast
import asyncio
import gc
import importlib.util
import json
import logging
import os
import re
import sys
import tempfile
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import render  # noqa: E402  (constants, the stub setup and the vllm package loader)

START = render.START
TICK = 0.03125  # binary-exact, so durations print exactly
SERVER_MODULES = ["starlette", "fastapi", "prometheus_fastapi_instrumentator", "anyio",
                  "sniffio", "idna", "annotated_doc", "typing_extensions"]
# Optional imports of FastAPI/Starlette/pydantic: absent (a stub would claim they exist).
OPTIONAL = ["email_validator", "orjson", "ujson", "multipart", "python_multipart", "jinja2",
            "httpx", "itsdangerous", "yaml", "fastar"]
MODEL = "mistral-7b-fp16"
# (method, path, JSON body or None); answered by the app below.
REQUESTS = [
    ("POST", "/v1/completions", {"model": MODEL, "prompt": "Hello", "max_tokens": 16}),
    ("POST", "/v1/chat/completions",
     {"model": MODEL, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 16}),
    ("GET", "/v1/models", None),
    ("GET", "/v1/no-such-route", None),  # 404
    ("GET", "/health", None),  # excluded handler
    ("GET", "/metrics", None),  # excluded handler (the scrape itself)
]
RESPONSES = {
    "/v1/completions": {"id": "cmpl-0", "object": "text_completion", "created": int(START),
                        "model": MODEL, "choices": [{"index": 0, "text": " world",
                                                     "finish_reason": "length"}]},
    "/v1/chat/completions": {"id": "chatcmpl-0", "object": "chat.completion",
                             "created": int(START), "model": MODEL,
                             "choices": [{"index": 0, "finish_reason": "stop", "message":
                                          {"role": "assistant", "content": "Hi"}}]},
    "/v1/models": {"object": "list", "data": [{"id": MODEL, "object": "model",
                                               "created": int(START), "owned_by": "vllm"}]},
}
# /proc/self/stat fields 12-13 (utime, stime), 20 (starttime, ticks after boot),
# 23 (vsize, bytes), 24 (rss, pages); /proc/stat btime; open fds; max fds.
FAKE_PROC = {"utime": 1200, "stime": 600, "starttime": 100000, "vsize": 12 * 2 ** 30,
             "rss": 262144, "btime": int(START) - 1000, "open_fds": 32, "max_fds": 1048576}
GC_STATS = [{"collections": 100, "collected": 1000, "uncollectable": 0},
            {"collections": 10, "collected": 100, "uncollectable": 0},
            {"collections": 1, "collected": 10, "uncollectable": 0}]
PYTHON = ("CPython", "3", "12", "3")


def fake_proc(root):
    f = FAKE_PROC
    (root / "self" / "fd").mkdir(parents=True)
    fields = ["1", "(python3)", "S"] + ["0"] * 49
    fields[13], fields[14] = str(f["utime"]), str(f["stime"])
    fields[21], fields[22], fields[23] = str(f["starttime"]), str(f["vsize"]), str(f["rss"])
    (root / "self" / "stat").write_text(" ".join(fields) + "\n")
    (root / "stat").write_text(f"cpu  0 0 0 0\nbtime {f['btime']}\n")
    (root / "self" / "limits").write_text(
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        f"Max open files            {f['max_fds']}              {f['max_fds']}              files     \n")
    for fd in range(f["open_fds"]):
        (root / "self" / "fd" / str(fd)).write_text("")


class FakePlatform:
    @staticmethod
    def python_version_tuple():
        return PYTHON[1:]

    @staticmethod
    def python_version():
        return ".".join(PYTHON[1:])

    @staticmethod
    def python_implementation():
        return PYTHON[0]

    @staticmethod
    def system():
        return "Linux"


def setup(request):
    for path in reversed([request["prometheus_client_path"]] + request["server_paths"]):
        sys.path.insert(0, path)
    import stubs
    stubs.install(render.REAL_MODULES + SERVER_MODULES, render.BLOCKED_MODULES + OPTIONAL,
                  render.STUBBED_VLLM)
    sys.modules["regex"] = re  # vLLM imports regex as re
    time.time = lambda: START
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # one API server: default registry
    render.load_vllm_package(Path(request["sources"]))
    import prometheus_client
    from prometheus_client import platform_collector
    proc = Path(tempfile.mkdtemp(prefix="vllm-metrics-proc-"))
    fake_proc(proc)
    process = prometheus_client.PROCESS_COLLECTOR
    process._proc, process._pid = str(proc), lambda: "self"
    process._ticks, process._pagesize = 100.0, 4096
    process._btime = process._boot_time()
    gc.get_stats = lambda: [dict(s) for s in GC_STATS]
    prometheus_client.PLATFORM_COLLECTOR._metrics = platform_collector.PlatformCollector(
        registry=None, platform=FakePlatform)._metrics
    import prometheus_fastapi_instrumentator.middleware as middleware
    clock = {"now": 1000.0}

    def timer():
        clock["now"] += TICK
        return clock["now"]
    middleware.default_timer = timer


def needed_names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def extract_function(path, name):
    """Exec the module-level function `name` of path with the imports and classes it
    uses (imports of vllm modules other than vllm.v1.metrics are left out)."""
    tree = ast.parse(path.read_text())
    top = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    wanted, needed = [top[name]], needed_names(top[name])
    changed = True
    while changed:
        changed = False
        for cls in [n for n in top.values() if isinstance(n, ast.ClassDef)]:
            if cls.name in needed and cls not in wanted:
                wanted.insert(0, cls)
                needed |= needed_names(cls)
                changed = True
    imports = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            bound = {(a.asname or a.name).split(".")[0] for a in node.names}
            if module and module.startswith("vllm") and not module.startswith("vllm.v1.metrics"):
                continue
            if bound & needed:
                imports.append(node)
    namespace = {"logger": logging.getLogger("vllm"), "__name__": "vllm_api_server_extract"}
    code = ast.Module(body=imports + [n for n in tree.body if n in wanted], type_ignores=[])
    exec(compile(code, str(path), "exec"), namespace)
    return namespace[name]


def metrics_mounter(sources):
    serve = sources / "vllm" / "entrypoints" / "serve" / "instrumentator" / "metrics.py"
    if serve.exists():
        spec = importlib.util.spec_from_file_location("vllm_serve_instrumentator_metrics", serve)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.attach_router, str(serve.relative_to(sources))
    api = sources / "vllm" / "entrypoints" / "openai" / "api_server.py"
    return extract_function(api, "mount_metrics"), str(api.relative_to(sources))


def build_app(sources):
    from fastapi import APIRouter, FastAPI, Request
    from fastapi.responses import JSONResponse, Response
    app = FastAPI()
    router = APIRouter()

    def fixed(path):
        async def endpoint(raw_request: Request):
            await raw_request.body()
            return JSONResponse(content=RESPONSES[path])
        return endpoint
    router.add_api_route("/v1/completions", fixed("/v1/completions"), methods=["POST"])
    router.add_api_route("/v1/chat/completions", fixed("/v1/chat/completions"), methods=["POST"])
    router.add_api_route("/v1/models", fixed("/v1/models"), methods=["GET"])

    async def health():
        return Response(status_code=200)
    router.add_api_route("/health", health, methods=["GET"])
    app.include_router(router)
    mount, where = metrics_mounter(sources)
    mount(app)
    return app, where


def call(app, method, path, body):
    sent = []
    data = json.dumps(body).encode() if body is not None else b""
    headers = [(b"host", b"localhost:8000"), (b"user-agent", b"vllm-metrics")]
    if body is not None:
        headers += [(b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode())]
    messages = [{"type": "http.request", "body": data, "more_body": False}]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "headers": headers,
             "server": ("localhost", 8000), "client": ("127.0.0.1", 40000)}
    asyncio.run(app(scope, receive, send))
    return next(m for m in sent if m["type"] == "http.response.start")["status"]


def request_totals():
    import prometheus_client
    totals = {}
    for metric in prometheus_client.REGISTRY.collect():
        if metric.name == "http_requests":
            for s in metric.samples:
                if s.name == "http_requests_total":
                    totals[tuple(sorted(s.labels.items()))] = s.value
    return totals


def describe_registry():
    import prometheus_client
    families = []
    for collector in list(prometheus_client.REGISTRY._collector_to_names):
        if hasattr(collector, "_type") and hasattr(collector, "_name"):
            families.append(render.describe(collector))
            continue
        for metric in collector.collect():
            labels = sorted({k for s in metric.samples for k in s.labels} - {"le", "quantile"})
            buckets = None
            if metric.type == "histogram":
                buckets = [float(s.labels["le"]) for s in metric.samples
                           if s.name.endswith("_bucket") and s.labels["le"] != "+Inf"]
            families.append({"name": metric.name, "type": metric.type,
                             "help": metric.documentation, "labels": labels,
                             "buckets": buckets})
    return families


def main():
    request = json.loads(Path(sys.argv[1]).read_text())
    setup(request)
    import prometheus_client
    app, where = build_app(Path(request["sources"]))
    handlers, statuses, answered = {}, {}, []
    startup = prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()
    for method, path, body in REQUESTS:
        before = request_totals()
        status = call(app, method, path, body)
        answered.append({"method": method, "path": path, "status": status})
        after = request_totals()
        changed = [dict(k) for k, v in after.items() if v != before.get(k, 0.0)]
        if len(changed) > 1:
            raise RuntimeError(f"{method} {path} counted in several series: {changed}")
        if path in RESPONSES or status == 404:
            handlers[path if path in RESPONSES else "unknown"] = (
                changed[0]["handler"] if changed else None)
        if changed:
            statuses[str(status)] = changed[0]["status"]
    text = prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()
    result = {"families": describe_registry(), "text": text, "startup_text": startup,
              "handlers": handlers,
              "statuses": statuses, "requests": answered, "mounted_by": where}
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
