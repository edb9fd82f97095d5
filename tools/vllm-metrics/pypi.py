"""PyPI access for the generator: release lists, wheel selection, cached sources.

Only the PyPI "simple" index (JSON flavour) and files.pythonhosted.org are used.
Wheels are downloaded to a temporary file, the needed members are extracted into
``~/.cache/vllm-metrics/`` and the wheel is deleted again.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request
import zipfile
from pathlib import Path

CACHE = Path(os.environ.get("VLLM_METRICS_CACHE", Path.home() / ".cache" / "vllm-metrics"))
SIMPLE = "https://pypi.org/simple/{}/"
ACCEPT = "application/vnd.pypi.simple.v1+json"

# vllm-0.20.1-1-cp38-abi3-manylinux_2_35_x86_64.whl -> version 0.20.1, build 1
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-(?P<build>\d[^-]*))?-[^-]+-[^-]+-(?P<plat>[^-]+)\.whl$")


def _simple_index(project: str) -> dict:
    request = urllib.request.Request(SIMPLE.format(project), headers={"Accept": ACCEPT})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def version_key(version: str) -> tuple:
    """Sort key for the plain release versions vLLM and prometheus_client use."""
    parts = []
    for piece in version.split("."):
        if piece.isdigit():
            parts.append(int(piece))
        elif re.fullmatch(r"post\d+", piece):
            parts += [-1, int(piece[4:])]  # after the release itself, before a further digit
        else:
            raise ValueError(f"unsupported version {version!r}")
    return tuple(parts)


def _is_final(version: str) -> bool:
    return re.fullmatch(r"\d+(\.\d+)*(\.post\d+)?", version) is not None


def vllm_wheels() -> dict[str, dict]:
    """Map every final vLLM release to its x86_64 manylinux wheel (the one pip picks:
    the highest build tag), as {"filename", "url", "uploaded"}."""
    chosen: dict[str, tuple] = {}
    for entry in _simple_index("vllm")["files"]:
        match = _WHEEL.match(entry["filename"])
        if not match or not match["plat"].endswith("x86_64") or "manylinux" not in match["plat"]:
            continue
        if entry.get("yanked"):
            continue
        version = match["version"]
        if not _is_final(version):
            continue
        build = int(re.match(r"\d+", match["build"]).group()) if match["build"] else -1
        if version not in chosen or build > chosen[version][0]:
            chosen[version] = (build, {"filename": entry["filename"], "url": entry["url"],
                                       "uploaded": entry["upload-time"]})
    return {version: info for version, (_, info) in chosen.items()}


def prometheus_client_before(upload_time: str) -> str:
    """The newest prometheus_client release whose wheel was uploaded before upload_time."""
    best = None
    for entry in _simple_index("prometheus-client")["files"]:
        match = _WHEEL.match(entry["filename"])
        if not match or not _is_final(match["version"]) or entry.get("yanked"):
            continue
        if entry["upload-time"] < upload_time:
            if best is None or version_key(match["version"]) > version_key(best):
                best = match["version"]
    if best is None:
        raise RuntimeError(f"no prometheus_client release before {upload_time}")
    return best


def _download(url: str, target: Path) -> None:
    with urllib.request.urlopen(url, timeout=600) as response, open(target, "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)


def vllm_sources(version: str, wheel: dict) -> Path:
    """Directory holding the release's ``vllm/`` Python sources (extracted once)."""
    root = CACHE / "vllm" / version
    if (root / ".complete").exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / wheel["filename"]
        _download(wheel["url"], path)
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.startswith("vllm/") and name.endswith(".py"):
                    archive.extract(name, root)
    (root / ".complete").write_text(wheel["filename"] + "\n")
    return root


def prometheus_client_path(version: str) -> Path:
    """Directory to put on sys.path to import that prometheus_client version."""
    root = CACHE / "prometheus_client" / version
    if (root / ".complete").exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "-d", tmp, f"prometheus_client=={version}"], check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(root)
    (root / ".complete").write_text(version + "\n")
    return root
