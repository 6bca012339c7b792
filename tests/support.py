"""Helpers shared by tests: where the real data lives, what the suite needs installed, text
normalisation and word error rate.

A test needing a tool (mpv, tmux) or a data file that is missing skips locally, saying why, but
**fails when ``CI`` is set**: CI runs on a fresh clone after ``.ci/setup``, so anything missing
there is a broken setup or a file somebody forgot to commit, and a silent skip would hide it.
"""

from __future__ import annotations

import csv
import functools
import http.server
import importlib.util
import os
import re
import shutil
import socket
import threading
import warnings
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
"""The real recordings and subtitle samples the tests use, with their licences (README.md)."""
SHARED_SET = ROOT.parent / "shared" / "data" / "real"
"""The project's larger shared evaluation set, where files in DATA are copied from."""
DEMO = ROOT / "media" / "demo.mp4"
DEMO_TRUTH = ROOT / "media" / "demo_truth.tsv"
TOOL_MARKERS = ("mpv", "tmux")
"""Markers (declared in pyproject.toml) naming the program a test drives; tests/conftest.py
requires that program before the test starts."""


def in_ci() -> bool:
    """True under CI (``CI`` set to anything but an empty string, ``0`` or ``false``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def missing(reason: str) -> NoReturn:
    """Skip the test for ``reason`` locally; fail it under CI, where nothing may be missing."""
    if in_ci():
        pytest.fail(f"{reason} [CI is set: a missing tool or file fails the run]", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str, install: str | None = None) -> str:
    """The path of executable ``name`` on PATH, else skip (locally) or fail (CI).

    Every tool named here must be in ``.ci/setup``'s list; ``test_quality`` checks that.
    """
    path = shutil.which(name)
    if path is None:
        how = install or f"apt-get install {name}; .ci/setup installs it"
        missing(f"{name} is not installed ({how})")
    return path


def require_module(name: str, install: str) -> None:
    """Skip (locally) or fail (CI) unless Python module ``name`` is importable."""
    if importlib.util.find_spec(name) is None:
        missing(f"Python module {name} is not installed ({install})")


def shared_file(name: str) -> Path:
    """A real recording, reference or subtitle sample from tests/data (a file or folder).

    The single entry point for real data. A name that is not in tests/data fails under CI, since
    a fresh clone would not have it. Locally it falls back to ``../shared/data/real`` with a
    warning (so a new test can be written before its file is copied), else skips.
    """
    path = DATA / name
    if path.exists():
        return path
    message = (
        f"{name} is not in tests/data: copy it unchanged from {SHARED_SET / name} and add its "
        "manifest.tsv row and licence (tests/data/README.md)"
    )
    if in_ci():
        pytest.fail(message, pytrace=False)
    fallback = SHARED_SET / name
    if fallback.exists():
        warnings.warn(message, stacklevel=2)
        return fallback
    pytest.skip(message)


_UNITS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SPOKEN = {"mr": "mister", "mrs": "missus", "dr": "doctor", "oh": "zero"}


def _number_words(token: str) -> list[str]:
    """Spell 0-99 as words (the references spell numbers); longer digit runs digit by digit."""
    n = int(token)
    if len(token) > 2:
        return [_UNITS[int(d)] for d in token]
    if n < 20:
        return [_UNITS[n]]
    return [_TENS[n // 10]] + ([_UNITS[n % 10]] if n % 10 else [])


def normalise(text: str) -> list[str]:
    """Lower-case, drop punctuation (keeping in-word apostrophes), spell numbers, expand
    common abbreviations, split on whitespace."""
    text = text.lower().replace("—", " ").replace("-", " ")
    text = re.sub(r"[^\w\s']", " ", text)
    words: list[str] = []
    for raw in text.split():
        word = raw.strip("'")
        if not word:
            continue
        if word.isdigit():
            words.extend(_number_words(word))
        else:
            words.append(_SPOKEN.get(word, word))
    return words


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level Levenshtein distance over the reference length."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / max(len(ref), 1)


def demo_truth() -> list[dict[str, str]]:
    with DEMO_TRUTH.open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def tiled_demo(folder: Path, times: int) -> Path:
    """The demo clip ``times`` times back to back as a 16 kHz WAV: a real recording long
    enough for cuts between pieces (the engine's decoder is imported only when called)."""
    import wave

    from faster_whisper import decode_audio

    clip = (decode_audio(str(DEMO)) * 32767).astype("<i2").tobytes()
    path = folder / f"demo-x{times}.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(clip * times)
    return path


def demo_excerpt(out: Path, seconds: float, *, keyframe_each_second: bool = False,
                 loop: bool = False) -> Path:
    """The first ``seconds`` of the demo recording re-encoded (H.264 and AAC) into ``out``,
    whose suffix picks the container (.ts: what HLS carries; .flv: what RTMP carries). A
    keyframe every second lets a live muxer cut 1-s segments without re-encoding; ``loop``
    plays the demo twice, for excerpts longer than it."""
    import subprocess

    ffmpeg = require_tool("ffmpeg")
    subprocess.run(
        [ffmpeg, "-loglevel", "error", *(["-stream_loop", "1"] if loop else []),
         "-i", str(DEMO), "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
         *(["-force_key_frames", "expr:gte(t,n_forced)"] if keyframe_each_second else []),
         "-c:a", "aac", str(out)],
        check=True, timeout=60,
    )
    return out


class DiskFull:
    """A stand-in for ``annotator.core.runs.store_draft`` that stores ``allowed`` segments,
    then fails as SQLite does on a full disk (install it with ``monkeypatch.setattr``)."""

    def __init__(self, allowed: int) -> None:
        from annotator.core import runs

        self.allowed = allowed
        self.original = runs.store_draft

    def __call__(self, *args: object) -> object:
        import sqlite3

        if self.allowed <= 0:
            raise sqlite3.OperationalError("database or disk is full")
        self.allowed -= 1
        return self.original(*args)


class Server:
    """A static HTTP server for one folder on 127.0.0.1 (a live stream's folder, as a CDN
    would serve it) that can be stopped and restarted on the same port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.httpd: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        handler = functools.partial(_QuietHandler, directory=str(self.folder))
        self.httpd = _QuietServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-response (a capture stopping) is not news


def run_drafts(ws: Any, path: Path) -> list[tuple[Any, ...]]:
    """(start, end, text, words, language record) of every draft of ``path``'s current run:
    what a resumed run must equal a clean one in, languages included."""
    from annotator.core import runs

    media = ws.find_media(str(path))
    run = ws.current_run(media.id)
    assert run is not None
    languages = runs.draft_languages(ws, media.id)
    return [(d.start_ms, d.end_ms, d.text, d.words, languages[d.id]) for d in ws.drafts(run.id)]
