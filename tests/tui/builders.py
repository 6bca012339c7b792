"""Build real workspaces for the app tests (through the same store calls the pipeline uses)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from annotator.core.model import Media, Word
from annotator.core.store import Workspace


def add_transcript(
    ws: Workspace, name: str, texts: Sequence[str], *, seg_ms: int = 2000,
    probability: float = 0.9,
) -> Media:
    """A finished run whose segments say ``texts`` (one machine word per space-separated
    token, evenly timed), as if the engine had produced them."""
    sha = hashlib.sha256(name.encode()).hexdigest()
    media = ws.add_media(name, sha, 1000, seg_ms * len(texts) + 1000)
    run = ws.start_run(media.id, "tiny.en", "0" * 64, {"test": "1"}, {})
    with ws.transaction():
        for i, text in enumerate(texts):
            start = i * seg_ms
            tokens = text.split(" ") or [text]
            step = max((seg_ms - 100) // max(len(tokens), 1), 1)
            words = tuple(
                Word(start + j * step, start + (j + 1) * step, " " + tok, probability)
                for j, tok in enumerate(tokens)
            )
            ws.add_draft(run, i, start, start + seg_ms - 100, text, words, -0.2, 0.01, 1.2)
    ws.finish_run(run.id)
    return media


def long_stream(db: Path, segments: int = 5000, words_per: int = 8) -> Media:
    """A livestream-sized review: ``segments`` segments of ``words_per`` words each."""
    texts = [
        " ".join(f"w{i}_{j}" for j in range(words_per)) for i in range(segments)
    ]
    with Workspace(db) as ws:
        return add_transcript(ws, "stream.mp4", texts)
