"""Generate crates/core/data/vllm/<release>.json and goldens from vLLM's own metric code.

    python3 tools/vllm-metrics/generate.py --all          every release from 0.6.0 on
    python3 tools/vllm-metrics/generate.py 0.33.0 ...     the named releases
    python3 tools/vllm-metrics/generate.py --new          releases newer than the newest file
    python3 tools/vllm-metrics/generate.py --check 0.33.0 regenerate to a temp dir and diff

Each release's wheel is fetched from PyPI (sources cached under ~/.cache/vllm-metrics),
then render.py executes its metric code in a subprocess, with the prometheus_client
release that was newest when the wheel was uploaded.
"""

import argparse
import difflib
import importlib.metadata
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pypi

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "crates" / "core" / "data" / "vllm"
FIRST = "0.6.0"
FIRST_V1 = "0.8.0"

BASE_POD = {"max_model_len": 4096, "block_size": 16, "gpu_memory_utilization": 0.9,
            "swap_space": 4, "num_gpu_blocks": 2841, "num_cpu_blocks": 2048}
# A second pod with every parameter changed, to see which values depend on which.
VARIANT = {"max_model_len": 8192, "block_size": 32, "gpu_memory_utilization": 0.8,
           "swap_space": 8, "num_gpu_blocks": 1000, "num_cpu_blocks": 1024}
CACHE_PARAMS = ["block_size", "gpu_memory_utilization", "swap_space", "swap_space_bytes",
                "num_gpu_blocks", "num_cpu_blocks", "enable_prefix_caching"]


class GenerationError(Exception):
    pass


def build_1_2_5_buckets(max_value):
    buckets, exponent = [], 0
    while True:
        for mantissa in (1, 2, 5):
            value = mantissa * 10 ** exponent
            if value > max_value:
                return [float(b) for b in buckets]
            buckets.append(value)
        exponent += 1


def pods(engine, frontend_knows_gpu_blocks):
    """The pods rendered for a release: the two goldens and the variant."""
    def pod(name, lora, values):
        values = dict(values)
        if engine == "v1":
            # The API server's CacheConfig: num_cpu_blocks stays as configured (None);
            # num_gpu_blocks only arrives in releases whose frontend receives it.
            values["num_cpu_blocks"] = None
            if not frontend_knows_gpu_blocks:
                values["num_gpu_blocks"] = None
        return {"served_model_name": name, "lora": lora, **values}
    return {"plain": pod("mistral-7b-fp16", False, BASE_POD),
            "lora": pod("mistral-7b-lora", True, BASE_POD),
            "variant": pod("mistral-7b-fp16", False, VARIANT)}


def frontend_knows_gpu_blocks(sources):
    """Whether the V1 API server process learns num_gpu_blocks from the engine core."""
    engine_dir = sources / "vllm" / "v1" / "engine"
    pattern = re.compile(r"cache_config\.num_gpu_blocks\s*=")
    return any(pattern.search(f.read_text()) for f in engine_dir.glob("*.py") if f.name != "core.py")


def serving(sources, asgi, instrumentator):
    """How /metrics and /metrics/ are answered: by the instrumentator's route where the
    executed API server set one up (server.py found its http_* families), else by the
    prometheus_client mount, which the release's code must have."""
    entrypoints = sources / "vllm" / "entrypoints"
    texts = [f.read_text() for f in entrypoints.rglob("*.py")]
    regex_mount = any('path_regex = re.compile("^/metrics(?P<path>.*)$")' in t for t in texts)
    if not regex_mount:
        raise GenerationError("no /metrics mount with the path_regex workaround found")
    mount = {"text_content_type": asgi["text_content_type"],
             "openmetrics_content_type": asgi["openmetrics_content_type"], "gzip": asgi["gzip"]}
    if instrumentator:
        exposed = {"text_content_type": asgi["content_type_latest"],
                   "openmetrics_content_type": None, "gzip": False}
    else:
        exposed = mount
    return [{"path": "/metrics", **exposed}, {"path": "/metrics/", **mount}]


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
SUFFIXES = {"counter": ["_total", "_created"], "gauge": [""],
            "histogram": ["_bucket", "_count", "_sum", "_created"],
            "summary": ["_count", "_sum", "_created"]}


def children(text, families):
    """Per family, the distinct label sets (without engine, model_name, le) in text."""
    by_sample = {}
    for family in families:
        for suffix in SUFFIXES[family["type"]]:
            by_sample[family["name"] + suffix] = family["name"]
    found = {family["name"]: [] for family in families}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        match = SAMPLE.match(line)
        if not match or match[1] not in by_sample:
            raise GenerationError(f"unexpected sample line {line!r}")
        labels = {k: v for k, v in LABEL.findall(match[2] or "")
                  if k not in ("engine", "model_name", "le")}
        entries = found[by_sample[match[1]]]
        if labels not in entries:
            entries.append(labels)
    return found


def cache_config_labels(result):
    """Describe each vllm:cache_config_info label as a pod parameter or a constant."""
    plain, variant = result["pods"]["plain"]["cache_config"], result["pods"]["variant"]["cache_config"]
    family = next(f for f in result["pods"]["plain"]["families"] if f["name"] == "vllm:cache_config_info")
    labels = []
    for label in family["labels"]:
        if label == "engine":
            labels.append({"label": "engine", "value": "0"})
            continue
        value, other = plain[label], variant[label]
        if label in CACHE_PARAMS and value["type"] in ("int", "float", "bool"):
            if label != "enable_prefix_caching" and value["str"] == other["str"]:
                raise GenerationError(f"cache_config label {label} ignores the pod's {label}")
            labels.append({"label": label, "param": label, "format": value["type"]})
        elif value["str"] == other["str"]:
            labels.append({"label": label, "value": value["str"]})
        else:
            raise GenerationError(f"cache_config label {label} depends on the pod "
                                  f"({value['str']} vs {other['str']}) but maps to no parameter")
    return labels


def bucket_rule(name, buckets, variant_buckets, cudagraph_sizes):
    if cudagraph_sizes is not None and buckets == cudagraph_sizes:
        return "cudagraph"
    if buckets == variant_buckets:
        return None
    if (buckets == build_1_2_5_buckets(BASE_POD["max_model_len"])
            and variant_buckets == build_1_2_5_buckets(VARIANT["max_model_len"])):
        return "1-2-5"
    raise GenerationError(f"buckets of {name} depend on the pod in an unknown way")


def describe_release(version, wheel, prom_version, sources, result):
    engine = result["engine"]
    plain, lora, variant = (result["pods"][k] for k in ("plain", "lora", "variant"))
    variant_buckets = {f["name"]: f["buckets"] for f in variant["families"]}
    plain_children = children(plain["text"], plain["families"])
    lora_children = children(lora["text"], lora["families"])
    plain_names = {f["name"] for f in plain["families"]}
    order = [f["name"] for f in lora["families"]]
    if [n for n in order if n in plain_names] != [f["name"] for f in plain["families"]]:
        raise GenerationError("the plain and lora pods register families in different orders")
    families = []
    for family in lora["families"]:
        name = family["name"]
        gate = None if name in plain_names else "lora"
        startup = plain_children[name] if gate is None else lora_children[name]
        entry = {
            "name": name, "type": family["type"], "help": family["help"],
            "labels": family["labels"], "buckets": family["buckets"],
            "buckets_rule": bucket_rule(name, family["buckets"], variant_buckets.get(name),
                                        plain["cudagraph_sizes"])
            if family["type"] == "histogram" else None,
            "startup": startup, "gate": gate}
        if gate is None and lora_children[name] != startup:
            entry["startup_lora"] = lora_children[name]  # e.g. max_lora="1"
        families.append(entry)
    finish = result["finish_reasons"] or v0_finish_reasons(sources)
    described = {
        "release": version,
        "uploaded": wheel["uploaded"][:10],
        "engine": engine,
        "prometheus_client": prom_version,
        "created_series": "_created" in plain["text"],
        "serving": serving(sources, result["asgi"], result["instrumented"]),
        "finish_reasons": finish,
        "error_body": error_body(sources),
        "sleep_mode": sleep_mode(sources),
        "defaults": result["defaults"],
        "cache_config_info": cache_config_labels(result),
        "families": families,
    }
    if plain["prefill_decode_swapped"]:
        described["prefill_decode_swapped"] = True  # vLLM's bug, reproduced
    return described


def error_body(sources):
    """How the OpenAI server's ErrorResponse nests its fields: "flat" ({"object":
    "error", "message", ...}) or "nested" ({"error": {"message", ...}}), read from the
    release's pydantic model."""
    import ast
    for path in sorted((sources / "vllm" / "entrypoints").rglob("protocol.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name == "ErrorResponse":
                fields = [f.target.id for f in node.body
                          if isinstance(f, ast.AnnAssign) and isinstance(f.target, ast.Name)]
                if fields == ["error"]:
                    return "nested"
                if fields == ["object", "message", "type", "param", "code"]:
                    return "flat"
                raise GenerationError(f"ErrorResponse has fields {fields}")
    raise GenerationError("no ErrorResponse in entrypoints/**/protocol.py")


def sleep_mode(sources):
    """Whether the OpenAI server's engine can sleep: the engine client it runs
    (V0's AsyncLLMEngine, V1's AsyncLLM) has an async `sleep`."""
    for engine in ("engine/async_llm_engine.py", "v1/engine/async_llm.py"):
        path = sources / "vllm" / engine
        if path.exists() and "async def sleep(" in path.read_text():
            return True
    return False


def v0_finish_reasons(sources):
    """V0 finished_reason values: SequenceStatus.get_finished_reason's strings, in order."""
    text = (sources / "vllm" / "sequence.py").read_text()
    body = text[text.index("def get_finished_reason"):]
    body = body[:body.index("return finish_reason")]
    reasons = list(dict.fromkeys(re.findall(r'finish_reason = "(\w+)"', body)))
    if not reasons:
        raise GenerationError("could not read SequenceStatus.get_finished_reason")
    return reasons


def render(version, wheel, out_dir):
    """Render one release into out_dir (data file and goldens)."""
    try:
        write_release(version, wheel, out_dir)
    except GenerationError as error:
        raise GenerationError(f"vLLM {version}: {error}") from None


def write_release(version, wheel, out_dir):
    sources = pypi.vllm_sources(version, wheel)
    prom_version = pypi.prometheus_client_before(wheel["uploaded"])
    engine = "v0" if pypi.version_key(version) < pypi.version_key(FIRST_V1) else "v1"
    knows = engine == "v0" or frontend_knows_gpu_blocks(sources)
    result = {"pods": {}}
    for name, pod in pods(engine, knows).items():
        request = {"sources": str(sources), "engine": engine, "pod": pod, "release": version,
                   "prometheus_client_path": str(pypi.prometheus_client_path(prom_version))}
        one = run_script("render.py", request, f"the {name} pod on {sources}")
        result["pods"][name] = one.pop("pod")
        result.update(one)
    result["engine"] = engine
    server, server_text = render_server(version, wheel, sources, prom_version)
    result["instrumented"] = server["status_label"] is not None
    data = describe_release(version, wheel, prom_version, sources, result)
    data = insert_after(data, "families", server)
    (out_dir / "golden").mkdir(parents=True, exist_ok=True)
    (out_dir / f"{version}.json").write_text(json.dumps(data, indent=1) + "\n")
    for pod in ("plain", "lora"):
        (out_dir / "golden" / f"{version}-{pod}.txt").write_text(result["pods"][pod]["text"])
        (out_dir / "golden" / f"{version}-{pod}-traffic.txt").write_text(
            result["pods"][pod]["traffic_text"])
    server_golden = out_dir / "golden" / f"{version}-server.txt"
    if server_text is not None:
        server_golden.write_text(server_text)
    elif server_golden.exists():
        server_golden.unlink()


def insert_after(data, key, new):
    """data with the items of new inserted after key (existing order kept)."""
    out = {}
    for k, v in data.items():
        out[k] = v
        if k == key:
            out.update(new)
    return out


def server_stack(version, wheel):
    """The API server packages of the time: the newest prometheus-fastapi-instrumentator
    and FastAPI releases uploaded before the vLLM wheel that its metadata accepts, and the
    newest Starlette, AnyIO (annotated-doc, typing-extensions) releases before it that
    those accept (typing-extensions only where newer than the installed one).
    Returns ({project: version}, [paths])."""
    uploaded, vllm = wheel["uploaded"], pypi.vllm_metadata(version, wheel)
    versions, paths = {}, {}
    for dependency, requirers in (("prometheus-fastapi-instrumentator", ["vllm"]),
                                  ("fastapi", ["vllm"]),
                                  ("starlette", ["vllm", "fastapi", "prometheus-fastapi-instrumentator"]),
                                  ("anyio", ["starlette"]), ("annotated-doc", ["fastapi"]),
                                  ("typing-extensions", ["anyio", "starlette", "fastapi"])):
        specs = [pypi.requirement(vllm if r == "vllm" else paths[r], dependency)
                 for r in requirers if r == "vllm" or r in paths]
        if all(s is None for s in specs) and dependency not in ("fastapi", "prometheus-fastapi-instrumentator"):
            continue
        found = pypi.newest_before(dependency, uploaded, ",".join(s for s in specs if s))
        if dependency == "typing-extensions" and (pypi.version_key(found) <= pypi.version_key(
                importlib.metadata.version("typing_extensions"))):
            continue  # the installed one (pydantic_core needs it) is at least as new
        versions[dependency] = found
        paths[dependency] = pypi.package_path(dependency, found)
    return versions, [str(p) for p in paths.values()]


def v0_server_check(sources):
    """V0 releases serve a MultiProcessCollector registry: no default-registry collector
    and no instrumentator can appear. Fail if the release's API server says otherwise."""
    text = (sources / "vllm" / "entrypoints" / "openai" / "api_server.py").read_text()
    if "Instrumentator" in text or "REGISTRY" in text:
        raise GenerationError("V0 api_server.py uses the default registry or an instrumentator")
    if "MultiProcessCollector(registry)" not in text or 'PROMETHEUS_MULTIPROC_DIR"] =' not in text:
        raise GenerationError("V0 api_server.py does not serve a multiprocess registry")


def run_script(script, request, what):
    """Run one of the rendering scripts in a subprocess on `request`; its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        request_path, result_path = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request_path.write_text(json.dumps(request))
        proc = subprocess.run([sys.executable, str(HERE / script), str(request_path),
                               str(result_path)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise GenerationError(f"{script} failed for {what}:\n{proc.stderr[-4000:]}")
        return json.loads(result_path.read_text())


def render_server(version, wheel, sources, prom_version):
    """The non-vllm families of the API server's /metrics, by running server.py."""
    if pypi.version_key(version) < pypi.version_key(FIRST_V1):
        v0_server_check(sources)
        return {"server_families": [], "handler_label_values": None, "status_label": None}, None
    versions, paths = server_stack(version, wheel)
    request = {"sources": str(sources), "server_paths": paths,
               "prometheus_client_path": str(pypi.prometheus_client_path(prom_version))}
    result = run_script("server.py", request, str(sources))
    instrumented = any(f["name"].startswith("http_") for f in result["families"])
    startup = children(result["startup_text"], result["families"])
    described = {
        # Each with the children it has before the server answers a request.
        # `created`: whether it prints `_created` series (prometheus_client's own metric
        # objects do; the process and gc collectors do not).
        "server_families": [{**f, "startup": startup[f["name"]],
                             "created": f"\n{f['name']}_created" in result["text"]}
                            for f in result["families"]],
        "handler_label_values": result["handlers"] if instrumented else None,
        "status_label": result["statuses"] if instrumented else None,
    }
    if instrumented:
        described["server_stack"] = versions
    return described, result["text"]


def releases(wheels):
    return sorted((v for v in wheels if pypi.version_key(v) >= pypi.version_key(FIRST)),
                  key=pypi.version_key)


def output_files(version, root):
    return [root / f"{version}.json", root / "golden" / f"{version}-plain.txt",
            root / "golden" / f"{version}-lora.txt", root / "golden" / f"{version}-server.txt",
            root / "golden" / f"{version}-plain-traffic.txt",
            root / "golden" / f"{version}-lora-traffic.txt"]


def check(versions, wheels):
    """Regenerate into a temp dir; report differences with the committed files."""
    differs = False
    with tempfile.TemporaryDirectory() as tmp:
        for version in versions:
            render(version, wheels[version], Path(tmp))
            for new, old in zip(output_files(version, Path(tmp)), output_files(version, DATA)):
                new_text = new.read_text() if new.exists() else ""
                old_text = old.read_text() if old.exists() else ""
                if new_text != old_text:
                    differs = True
                    sys.stdout.writelines(difflib.unified_diff(
                        old_text.splitlines(True), new_text.splitlines(True), str(old), str(new)))
    return 1 if differs else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("versions", nargs="*")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--all", action="store_true")
    group.add_argument("--new", action="store_true")
    group.add_argument("--check", action="store_true")
    args = parser.parse_args()
    wheels = pypi.vllm_wheels()
    if args.all:
        versions = releases(wheels)
    elif args.new:
        have = [p.stem for p in DATA.glob("*.json")]
        newest = max(have, key=pypi.version_key) if have else "0"
        versions = [v for v in releases(wheels) if pypi.version_key(v) > pypi.version_key(newest)]
    else:
        versions = args.versions
    if not versions and not args.new:
        parser.error("name releases, or use --all / --new")
    unknown = [v for v in versions if v not in wheels]
    if unknown:
        parser.error(f"no x86_64 wheel on PyPI for {', '.join(unknown)}")
    if args.check:
        try:
            return check(versions, wheels)
        except GenerationError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    failed = []
    for version in versions:
        try:
            render(version, wheels[version], DATA)
            print(f"{version}: written", flush=True)
        except GenerationError as error:
            print(f"error: {error}", file=sys.stderr, flush=True)
            failed.append(version)
    if failed:
        print(f"failed: {' '.join(failed)}", file=sys.stderr)
        return 2
    return 0

if __name__ == "__main__":
    sys.exit(main())
