"""PyPI access for the generator: release lists, wheel selection, cached sources.

Only the PyPI "simple" index (JSON flavour) and files.pythonhosted.org are used.
Wheels are downloaded to a temporary file, the needed members are extracted into
``~/.cache/vllm-metrics/`` and the wheel is deleted again.
"""

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

CACHE = Path(os.environ.get("VLLM_METRICS_CACHE", Path.home() / ".cache" / "vllm-metrics"))
SIMPLE = "https://pypi.org/simple/{}/"
ACCEPT = "application/vnd.pypi.simple.v1+json"

# vllm-0.20.1-1-cp38-abi3-manylinux_2_35_x86_64.whl -> version 0.20.1, build 1
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-(?P<build>\d[^-]*))?-[^-]+-[^-]+-(?P<plat>[^-]+)\.whl$")


@functools.lru_cache(maxsize=None)
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


def newest_before(project: str, upload_time: str, specifier: str = "") -> str:
    """The newest final release of project with a wheel uploaded before upload_time
    (and within specifier, a PEP 440 specifier set such as ">=0.40.0,<0.47.0")."""
    from pip._vendor.packaging.specifiers import SpecifierSet
    allowed = SpecifierSet(specifier)
    best = None
    for entry in _simple_index(project)["files"]:
        match = _WHEEL.match(entry["filename"])
        if not match or not _is_final(match["version"]) or entry.get("yanked"):
            continue
        if entry["upload-time"] < upload_time and match["version"] in allowed:
            if best is None or version_key(match["version"]) > version_key(best):
                best = match["version"]
    if best is None:
        raise RuntimeError(f"no {project} release {specifier} before {upload_time}")
    return best


def prometheus_client_before(upload_time: str) -> str:
    """The newest prometheus_client release whose wheel was uploaded before upload_time."""
    return newest_before("prometheus-client", upload_time)


def _download(url: str, target: Path) -> None:
    with urllib.request.urlopen(url, timeout=600) as response, open(target, "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)


def _cached(root: Path, extract) -> Path:
    """`root`, filled once by `extract(root, tmp_dir)`; marked complete only when it
    finished, so an interrupted extraction is redone."""
    if (root / ".complete").exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        marker = extract(root, tmp)
    (root / ".complete").write_text(marker + "\n")
    return root


def vllm_sources(version: str, wheel: dict) -> Path:
    """Directory holding the release's ``vllm/`` Python sources (extracted once)."""
    def extract(root, tmp):
        path = Path(tmp) / wheel["filename"]
        _download(wheel["url"], path)
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.startswith("vllm/") and name.endswith(".py"):
                    archive.extract(name, root)
        return wheel["filename"]
    return _cached(CACHE / "vllm" / version, extract)


def prometheus_client_path(version: str) -> Path:
    """Directory to put on sys.path to import that prometheus_client version."""
    return package_path("prometheus_client", version)


def package_path(project: str, version: str) -> Path:
    """Directory holding the extracted wheel of project==version (downloaded once)."""
    def extract(root, tmp):
        subprocess.run(["pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "-d", tmp, f"{project}=={version}"], check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(root)
        return version
    return _cached(CACHE / project.replace("-", "_") / version, extract)


def vllm_metadata(version: str, wheel: dict) -> str:
    """The core metadata (METADATA) of the release's wheel, from PyPI's PEP 658 file."""
    path = CACHE / "vllm-metadata" / f"{version}.METADATA"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(wheel["url"] + ".metadata", timeout=60) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
            text = _zip_member(wheel["url"], ".dist-info/METADATA").decode()
        path.write_text(text)
    return path.read_text()


def _range(url: str, start: int, end: int | None = None) -> bytes:
    spec = f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"
    if start < 0:
        spec = f"bytes={start}"
    request = urllib.request.Request(url, headers={"Range": spec})
    with urllib.request.urlopen(request, timeout=120) as response:
        if response.status != 206:
            raise RuntimeError(f"{url}: no range support")
        return response.read()


def _zip_member(url: str, suffix: str) -> bytes:
    """One member of a remote zip (the first whose name ends with suffix), read with
    HTTP range requests (end of central directory, central directory, member)."""
    import struct
    import zlib
    tail = _range(url, -65558)
    eocd = tail.rindex(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", tail[eocd + 12:eocd + 20])
    directory = _range(url, cd_offset, cd_offset + cd_size)
    pos = 0
    while directory[pos:pos + 4] == b"PK\x01\x02":
        method, = struct.unpack("<H", directory[pos + 10:pos + 12])
        size, = struct.unpack("<I", directory[pos + 20:pos + 24])
        name_len, extra_len, comment_len = struct.unpack("<HHH", directory[pos + 28:pos + 34])
        offset, = struct.unpack("<I", directory[pos + 42:pos + 46])
        name = directory[pos + 46:pos + 46 + name_len].decode()
        if name.endswith(suffix):
            header = _range(url, offset, offset + 30)
            local_name, local_extra = struct.unpack("<HH", header[26:30])
            start = offset + 30 + local_name + local_extra
            data = _range(url, start, start + size)
            return zlib.decompress(data, -15) if method == 8 else data
        pos += 46 + name_len + extra_len + comment_len
    raise RuntimeError(f"{url}: no member *{suffix}")


def requirement(metadata, dependency: str) -> str | None:
    """The version specifier with which a distribution requires dependency (None if it
    does not, "" if it accepts any version); requirements under an extra are skipped.
    metadata is the METADATA text, or an extracted wheel's directory."""
    if isinstance(metadata, Path):
        (metadata,) = metadata.glob("*.dist-info/METADATA")
        metadata = metadata.read_text()
    pattern = re.compile(r"^Requires-Dist: *([A-Za-z0-9_.-]+) *(?:\[[^\]]*\])? *\(?([^;)]*)\)? *(;.*)?$")
    for line in metadata.splitlines():
        match = pattern.match(line)
        if (match and match[1].lower().replace("_", "-") == dependency
                and not (match[3] and "extra" in match[3])):
            return match[2].strip()
    return None
