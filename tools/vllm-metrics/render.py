"""Render one vLLM release's metrics with that release's own code (run as a subprocess).

Usage: python3 render.py REQUEST.json RESULT.json

The request names the extracted ``vllm`` sources, the prometheus_client directory,
the engine generation ("v0"/"v1") and the pod to render (one pod per process, as
prometheus_client keeps its multiprocess files open).  Heavy imports are served
by ``stubs``; the ``vllm`` package is created without running its ``__init__``.
Only the vllm:* collectors are rendered: the default registry's process/platform/gc
collectors are unregistered first.
"""

import ast
import inspect
import json
import os
import sys
import tempfile
import time
import types
from pathlib import Path

REAL_MODULES = ["prometheus_client", "pydantic", "pydantic_core", "typing_extensions",
                "annotated_types", "typing_inspection", "numpy"]
# Probes of vllm.platforms: absent, so that no accelerator platform is detected.
BLOCKED_MODULES = ["libtpu", "tpu_info", "pynvml", "amdsmi", "intel_extension_for_pytorch",
                   "oneccl_bindings_for_pytorch", "transformers_neuronx",
                   "neuronx_distributed_inference", "habana_frameworks", "torch_npu"]
# Parts of vllm that the metric code does not use and that do torch work at import
# time (custom op registration, dtype limits).
STUBBED_VLLM = ["vllm.ir", "vllm.entrypoints"]
START = 1700000000.0
FIXED_PID = 1


class Strict(types.SimpleNamespace):
    """A config stand-in that fails loudly on any attribute it was not given."""

    def __getattr__(self, name):
        raise AttributeError(f"config stand-in has no attribute {name!r} "
                             f"(have: {sorted(vars(self))})")


class TopConfig(Strict):
    """The VllmConfig stand-in: feature configs it was not given (``*_config``) are
    off (None), as they are for a pod that does not enable the feature."""

    assumed_off: set = set()

    def __getattr__(self, name):
        if name.endswith("_config"):
            TopConfig.assumed_off.add(name)
            return None
        return super().__getattr__(name)


class Clock:
    """Replacement for time.time so timestamps in the goldens are fixed."""

    now = START

    @classmethod
    def time(cls):
        return cls.now


def load_vllm_package(sources):
    """Make `vllm` importable from the extracted sources without running its __init__."""
    source = sources / "vllm"
    package = types.ModuleType("vllm")
    package.__path__ = [str(source)]
    package.__file__ = str(source / "__init__.py")
    package.__package__ = "vllm"
    sys.modules["vllm"] = package


def setup(request):
    sys.path.insert(0, request["prometheus_client_path"])
    sys.path.insert(1, str(Path(__file__).parent))
    import importlib.metadata
    import stubs
    stubs.install(REAL_MODULES, BLOCKED_MODULES, STUBBED_VLLM)
    real_version = importlib.metadata.version

    def version(name):  # stubbed packages have no metadata
        if name == "vllm":
            return request["release"]
        try:
            return real_version(name)
        except importlib.metadata.PackageNotFoundError:
            return "99.0.0"
    importlib.metadata.version = version
    os.getpid = lambda: FIXED_PID  # the multiprocess files (and pid labels) use it
    time.time = Clock.time
    load_vllm_package(Path(request["sources"]))
    import prometheus_client
    for collector in (prometheus_client.PROCESS_COLLECTOR, prometheus_client.PLATFORM_COLLECTOR,
                      prometheus_client.GC_COLLECTOR):
        prometheus_client.REGISTRY.unregister(collector)


def kwargs_for(func, values):
    """The subset of values that func accepts (all of them if it takes **kwargs)."""
    params = inspect.signature(func).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return dict(values)
    return {k: v for k, v in values.items() if k in params}


def cache_config_class():
    try:
        from vllm.config.cache import CacheConfig
    except ImportError:
        from vllm.config import CacheConfig
    return CacheConfig


def make_cache_config(pod, defaults):
    CacheConfig = cache_config_class()
    values = {"block_size": pod["block_size"],
              "gpu_memory_utilization": pod["gpu_memory_utilization"],
              "swap_space": pod["swap_space"], "cache_dtype": "auto",
              "is_attention_free": False, "num_gpu_blocks_override": None,
              "sliding_window": None,
              "enable_prefix_caching": defaults["enable_prefix_caching"]}
    config = CacheConfig(**kwargs_for(CacheConfig, values))
    if pod.get("num_gpu_blocks") is not None:
        config.num_gpu_blocks = pod["num_gpu_blocks"]
    if pod.get("num_cpu_blocks") is not None:
        config.num_cpu_blocks = pod["num_cpu_blocks"]
    return config


def field_default(cls, name):
    """Default of a (pydantic) dataclass field or __init__ parameter, or None."""
    fields = getattr(cls, "__dataclass_fields__", {})
    if name in fields:
        default = fields[name].default
        if default.__class__.__name__ == "FieldInfo":  # pydantic Field(default=...)
            default = default.default
        return None if default.__class__.__name__ in ("_MISSING_TYPE", "PydanticUndefinedType") else default
    param = inspect.signature(cls.__init__).parameters.get(name)
    if param is not None and param.default is not inspect.Parameter.empty:
        return param.default
    return None


def engine_args_default(sources, name):
    """Default of an EngineArgs field, read from arg_utils.py without importing it."""
    tree = ast.parse((Path(sources) / "vllm" / "engine" / "arg_utils.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "EngineArgs":
            for item in node.body:
                if (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                        and item.target.id == name and item.value is not None):
                    value = item.value
                    if isinstance(value, ast.IfExp):  # e.g. 16 if not is_hpu() else 128
                        value = value.body
                    if isinstance(value, ast.Attribute) and value.value.id == "CacheConfig":
                        return field_default(cache_config_class(), value.attr)
                    return ast.literal_eval(value)
    return None


def release_defaults(request):
    """The engine-argument defaults (EngineArgs, else CacheConfig) of the release."""
    CacheConfig = cache_config_class()
    result = {}
    for name in ("gpu_memory_utilization", "enable_prefix_caching", "block_size", "swap_space"):
        value = engine_args_default(request["sources"], name)
        if value is None and name == "enable_prefix_caching":
            # None: V1 turns prefix caching on for generative models; V0 leaves it off.
            value = request["engine"] == "v1"
        if value is None:
            value = field_default(CacheConfig, name)
        result[name] = value
    if result["block_size"] is None:
        result["block_size"] = 16  # chosen by the CUDA platform
    return result


def lora_config(pod):
    if not pod["lora"]:
        return None
    return Strict(max_loras=1, max_lora_rank=16, max_cpu_loras=None, fully_sharded_loras=False,
                  lora_extra_vocab_size=256, lora_dtype="auto", long_lora_scaling_factors=None,
                  bias_enabled=False)


def model_config(pod):
    return Strict(served_model_name=pod["served_model_name"], max_model_len=pod["max_model_len"],
                  model=pod["served_model_name"], runner_type="generate", task="generate",
                  is_diffusion=False, enforce_eager=False)


def compilation_config(engine):
    """The release's CompilationConfig with the CUDA graph sizes its VllmConfig picks for
    max_num_seqs=256, max_num_batched_tokens=2048 (OpenAI server on a GPU), eager off."""
    import vllm.config
    os.environ["VLLM_USE_V1"] = "1" if engine == "v1" else "0"
    config = vllm.config.CompilationConfig()
    class Owner(types.SimpleNamespace):
        def __getattr__(self, name):  # other VllmConfig members: properties or defaults
            member = inspect.getattr_static(vllm.config.VllmConfig, name, None)
            if isinstance(member, property):
                return member.fget(self)
            return field_default(vllm.config.VllmConfig, name)

    owner = Owner(
        compilation_config=config, model_config=Strict(enforce_eager=False),
        scheduler_config=Strict(max_num_seqs=256, max_num_batched_tokens=2048),
        parallel_config=Strict(tensor_parallel_size=1, pipeline_parallel_size=1),
        speculative_config=None)
    vllm.config.VllmConfig._set_cudagraph_sizes(owner)
    return config


def observability_config():
    """The release's own ObservabilityConfig with its defaults, where it has one."""
    try:
        from vllm.config.observability import ObservabilityConfig
    except ImportError:
        return Strict(show_hidden_metrics=False)
    return ObservabilityConfig()


def registered_collectors():
    import prometheus_client
    return [c for c in prometheus_client.REGISTRY._collector_to_names
            if getattr(c, "_name", "").startswith("vllm:")]


def describe(collector):
    kind = collector._type
    return {"name": collector._name, "type": kind, "help": collector._documentation,
            "labels": sorted(collector._labelnames),
            "buckets": [float(b) for b in collector._upper_bounds[:-1]] if kind == "histogram" else None}


def unregister_all():
    import prometheus_client
    for collector in registered_collectors():
        prometheus_client.REGISTRY.unregister(collector)


def render_v1(request, pod, defaults):
    import prometheus_client
    from vllm.v1.metrics import loggers
    Clock.now = START
    cache_config = make_cache_config(pod, defaults)
    vllm_config = TopConfig(
        model_config=model_config(pod), cache_config=cache_config, lora_config=lora_config(pod),
        speculative_config=None, kv_transfer_config=None, kv_events_config=None,
        ec_transfer_config=None,
        observability_config=observability_config(),
        parallel_config=Strict(data_parallel_size=1, data_parallel_rank=0,
                               pipeline_parallel_size=1, tensor_parallel_size=1),
        scheduler_config=Strict(max_num_seqs=256, max_num_batched_tokens=2048),
    )
    if cudagraph_sizes("v1") is not None:
        vllm_config.compilation_config = compilation_config("v1")
    cls = loggers.PrometheusStatLogger
    kwargs = kwargs_for(cls.__init__, {"engine_indexes": [0], "engine_index": 0})
    logger = cls(vllm_config, **kwargs)
    if hasattr(logger, "log_engine_initialized"):  # before 0.8.x the constructor logs it
        logger.log_engine_initialized()
    return logger, cache_config


class FakeScheduler:
    """An idle V0 scheduler: nothing running, every block free."""

    def __init__(self, cache_config, hit_rate):
        from collections import deque
        self.running, self.swapped, self.waiting = deque(), deque(), deque()
        self.block_manager = Strict(
            get_num_free_gpu_blocks=lambda: cache_config.num_gpu_blocks,
            get_num_free_cpu_blocks=lambda: cache_config.num_cpu_blocks)
        self._hit_rate = hit_rate

    def get_prefix_cache_hit_rate(self, device):
        return self._hit_rate()


def render_v0(request, pod, defaults):
    import prometheus_client
    from prometheus_client import multiprocess
    from vllm.engine import llm_engine, metrics
    from vllm.core.block.naive_block import NaiveBlockAllocator
    Clock.now = START
    cache_config = make_cache_config(pod, defaults)
    lora = lora_config(pod)
    vllm_config = Strict(model_config=model_config(pod), cache_config=cache_config,
                         lora_config=lora)
    if cudagraph_sizes("v0") is not None:
        vllm_config.compilation_config = compilation_config("v0")
    cls = metrics.PrometheusStatLogger
    logger = cls(**kwargs_for(cls.__init__, {
        "local_interval": llm_engine._LOCAL_LOGGING_INTERVAL_SEC,
        "labels": {"model_name": pod["served_model_name"]},
        "max_model_len": pod["max_model_len"], "vllm_config": vllm_config}))
    logger.info("cache_config", cache_config)
    # The MQLLMEngine calls do_log_stats() after every idle 10 s poll.
    Clock.now = START + 10.0
    hit_rate = lambda: NaiveBlockAllocator.get_prefix_cache_hit_rate(None)  # prefix caching off
    engine = Strict(scheduler=[FakeScheduler(cache_config, hit_rate)], cache_config=cache_config,
                    lora_config=lora, model_config=vllm_config.model_config)
    stats = llm_engine.LLMEngine._get_stats(engine, scheduler_outputs=None)
    logger.log(stats)
    global IDLE_STATS
    IDLE_STATS = stats
    return logger, cache_config


IDLE_STATS = None


def exposition(engine):
    """What the pod's /metrics serves now."""
    import prometheus_client
    if engine == "v1":
        return prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()
    from prometheus_client import multiprocess
    registry = prometheus_client.CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return prometheus_client.generate_latest(registry).decode()


LORA_ADAPTER = "domain-adapter"
TRAFFIC = json.loads((Path(__file__).parents[2] / "crates/core/data/vllm/golden/traffic.json").read_text())


def set_fields(obj, values):
    """Sets those of values that obj has as attributes (releases differ in which)."""
    for name, value in values.items():
        if hasattr(obj, name) and not isinstance(inspect.getattr_static(type(obj), name, None), property):
            setattr(obj, name, value)


def feed_v1(logger, traffic, adapter):
    """Hands the release's logger each of the traffic's engine steps, as the release's
    own IterationStats and SchedulerStats."""
    from collections import Counter
    from vllm.v1.metrics import stats as S
    from vllm.v1.engine import FinishReason
    from vllm.v1.engine.parallel_sampling import ParentRequest
    unfinished = Counter(r["parent"] for step in traffic["steps"] for r in step["finished"]
                         if "parent" in r)
    parents = {}
    for step in traffic["steps"]:
        if "v1" not in step.get("engines", ["v1"]):
            continue
        Clock.now = START + step["at"]
        it = S.IterationStats()
        it.num_generation_tokens = step["generation_tokens"]
        if hasattr(S, "PrefillStats"):  # 0.20 on
            prefill = S.PrefillStats()
            prefill.set(**kwargs_for(prefill.set, {"num_prompt_tokens": step["prompt_tokens"],
                                                   "num_local_cached_tokens": 0,
                                                   "num_external_cached_tokens": 0}))
            it.prompt_token_stats.update_from_output(prefill)
        elif hasattr(it, "prompt_token_stats"):  # 0.16 to 0.19
            update = it.prompt_token_stats.update_from_output
            update(**kwargs_for(update, {"num_cached_tokens": 0, "num_external_computed_tokens": 0,
                                         "prompt_len": step["prompt_tokens"]}))
        else:
            it.num_prompt_tokens = step["prompt_tokens"]
        it.num_preempted_reqs = step["preemptions"]
        it.time_to_first_tokens_iter.extend(step["time_to_first_token"])
        latencies = getattr(it, "inter_token_latencies_iter", None)
        if latencies is None:
            latencies = it.time_per_output_tokens_iter
        latencies.extend(step["inter_token_latency"])
        for r in step["finished"]:
            queued = 1000.0  # engine-core timestamps are monotonic, not wall-clock
            req = S.RequestStateStats()
            set_fields(req, {"num_generation_tokens": r["generation_tokens"],
                             "arrival_time": Clock.now - r["e2e"], "queued_ts": queued,
                             "scheduled_ts": queued + r["queue"],
                             "first_token_ts": queued + r["queue"] + r["prefill"],
                             "last_token_ts": queued + r["queue"] + r["prefill"] + r["decode"]})
            finish = it.update_from_finished_request
            finish(**kwargs_for(finish, {"finish_reason": FinishReason[r["reason"].upper()],
                                         "request_id": "request",
                                         "num_prompt_tokens": r["prompt_tokens"],
                                         "max_tokens_param": r["max_tokens"], "req_stats": req,
                                         "num_cached_tokens": 0}))
            parent = None
            if "parent" in r:  # the release's ParentRequest, its other children unfinished
                parent = parents.setdefault(r["parent"], fake_parent(ParentRequest, r["n"]))
                unfinished[r["parent"]] -= 1
                parent.child_requests = set(range(unfinished[r["parent"]]))
            ParentRequest.observe_finished_request(parent, it, r["generation_tokens"])
        running = {adapter: 1} if adapter and step["lora_running"] else {}
        waiting = {adapter: 1} if adapter and step["lora_waiting"] else {}
        set_fields(it, {"running_lora_adapters": running, "waiting_lora_adapters": waiting})
        prefix = S.PrefixCacheStats()
        set_fields(prefix, {"requests": len(step["time_to_first_token"]),
                            "queries": step["prompt_tokens"], "hits": 0})
        scheduler = S.SchedulerStats()
        set_fields(scheduler, {"num_running_reqs": step["running"],
                               "num_waiting_reqs": step["waiting"],
                               "kv_cache_usage": step["kv_cache_usage"],
                               "gpu_cache_usage": step["kv_cache_usage"],
                               "prefix_cache_stats": prefix,
                               "running_lora_adapters": running,
                               "waiting_lora_adapters": waiting})
        record = logger.record
        record(**kwargs_for(record, {"scheduler_stats": scheduler, "iteration_stats": it,
                                     "engine_idx": 0, "mm_cache_stats": None}))


def fake_parent(cls, n):
    """A ParentRequest of n children, made without the engine request it is built from."""
    parent = cls.__new__(cls)
    parent.max_num_generation_tokens = 0
    if isinstance(inspect.getattr_static(cls, "n", None), property):
        parent.sampling_params = types.SimpleNamespace(n=n)
    else:
        parent.n = n
    return parent


def feed_v0(logger, traffic, adapter):
    """Hands the release's logger the Stats LLMEngine builds for each of the traffic's
    engine steps."""
    import dataclasses
    fields = {f.name for f in dataclasses.fields(IDLE_STATS)}
    for step in traffic["steps"]:
        if "v0" not in step.get("engines", ["v0"]):
            continue
        finished = step["finished"]
        each = lambda key: [r[key] for r in finished]
        Clock.now = START + step["at"]
        stats = {
            "num_running_sys": step["running"], "num_waiting_sys": step["waiting"],
            "gpu_cache_usage_sys": step["kv_cache_usage"],
            "num_prompt_tokens_iter": step["prompt_tokens"],
            "num_generation_tokens_iter": step["generation_tokens"],
            "num_tokens_iter": step["prompt_tokens"] + step["generation_tokens"],
            "num_preemption_iter": step["preemptions"],
            "time_to_first_tokens_iter": step["time_to_first_token"],
            "time_per_output_tokens_iter": step["inter_token_latency"],
            "time_e2e_requests": each("e2e"), "time_queue_requests": each("queue"),
            "time_in_queue_requests": each("queue"),  # set with first_scheduled_time
            "time_prefill_requests": each("prefill"), "time_decode_requests": each("decode"),
            "time_inference_requests": [r["prefill"] + r["decode"] for r in finished],
            "num_prompt_tokens_requests": each("prompt_tokens"),
            "num_generation_tokens_requests": each("generation_tokens"),
            "max_num_generation_tokens_requests": each("generation_tokens"),
            "n_requests": each("n"), "max_tokens_requests": each("max_tokens"),
            "finished_reason_requests": each("reason"),
            "running_lora_adapters": [adapter] if adapter and step["lora_running"] else [],
            "waiting_lora_adapters": [adapter] if adapter and step["lora_waiting"] else [],
        }
        logger.log(dataclasses.replace(IDLE_STATS, now=Clock.now,
                                       **{k: v for k, v in stats.items() if k in fields}))

PREFILL_DECODE_SWAPPED = False


def prefill_decode_swapped(logger, stats):
    """Whether the release observes prefill times into the decode-time histogram and
    decode times into the prefill-time one (0.6.4 does): the logger is handed a
    prefill time of 1 and a decode time of 2, and asked where each went."""
    m = logger.metrics
    if not (hasattr(m, "histogram_prefill_time_request")
            and hasattr(stats, "time_prefill_requests")):
        return False
    seen = {}
    logger._log_histogram = lambda histogram, data: seen.setdefault(id(histogram), list(data))
    stats.time_prefill_requests, stats.time_decode_requests = [1.0], [2.0]
    logger._log_prometheus(stats)
    return seen.get(id(m.histogram_prefill_time_request)) == [2.0]


def cudagraph_sizes(engine):
    """The sorted capture sizes, where the release's metric code reads them."""
    metric_files = ["engine/metrics.py"] if engine == "v0" else ["v1/metrics/loggers.py"]
    source = Path(sys.modules["vllm"].__path__[0])
    if not any("capture_sizes" in (source / f).read_text() for f in metric_files):
        return None
    config = compilation_config(engine)
    sizes = getattr(config, "cudagraph_capture_sizes", None) or config.capture_sizes
    return sorted(float(s) for s in sizes)


def render_pod(request, pod, defaults):
    engine = request["engine"]
    render = render_v0 if engine == "v0" else render_v1
    logger, cache_config = render(request, pod, defaults)
    text = exposition(engine)
    families = [describe(c) for c in registered_collectors()]
    adapter = LORA_ADAPTER if pod["lora"] else None
    (feed_v0 if engine == "v0" else feed_v1)(logger, TRAFFIC, adapter)
    traffic_text = exposition(engine)
    global PREFILL_DECODE_SWAPPED
    if engine == "v0":
        PREFILL_DECODE_SWAPPED = prefill_decode_swapped(logger, IDLE_STATS)
    info = {k: {"type": type(v).__name__, "str": str(v)} for k, v in vars(cache_config).items()}
    return {"text": text, "traffic_text": traffic_text, "families": families, "cache_config": info,
            "cudagraph_sizes": cudagraph_sizes(request["engine"]),
            "prefill_decode_swapped": PREFILL_DECODE_SWAPPED,
            "assumed_off": sorted(TopConfig.assumed_off)}


SCRAPER_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def asgi_behaviour():
    """Ask prometheus_client's make_asgi_app what it answers to a plain request and to
    a Prometheus scraper asking for OpenMetrics and gzip."""
    import asyncio
    import prometheus_client

    app = prometheus_client.make_asgi_app(registry=prometheus_client.CollectorRegistry())

    def call(headers):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/", "root_path": "",
                 "query_string": b"", "headers": [(k.encode(), v.encode()) for k, v in headers]}
        asyncio.run(app(scope, receive, send))
        start = next(m for m in sent if m["type"] == "http.response.start")
        return {k.decode().lower(): v.decode() for k, v in start["headers"]}

    plain = call([])
    scraper = call([("accept", SCRAPER_ACCEPT), ("accept-encoding", "gzip")])
    openmetrics = scraper["content-type"]
    return {"text_content_type": plain["content-type"],
            "openmetrics_content_type": openmetrics if "openmetrics" in openmetrics else None,
            "gzip": scraper.get("content-encoding") == "gzip",
            "content_type_latest": prometheus_client.CONTENT_TYPE_LATEST}


def finish_reasons(engine):
    if engine == "v1":
        from vllm.v1.engine import FinishReason
        return [str(reason) for reason in FinishReason]
    return None


def main():
    request = json.loads(Path(sys.argv[1]).read_text())
    if request["engine"] == "v0":
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="vllm-metrics-mp-")
    setup(request)
    defaults = release_defaults(request)
    result = {"defaults": defaults, "finish_reasons": finish_reasons(request["engine"]),
              "asgi": asgi_behaviour(), "pod": render_pod(request, request["pod"], defaults)}
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
