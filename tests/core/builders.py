"""Build real transcripts in a real workspace for the core tests (no engine, no mocks).

The transcript is written through the same store calls the transcription pipeline uses (a run,
machine drafts with word timings, the review-layer copy), so the session is tested against
exactly what it meets in production.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from annotator.core.model import Media, Word
from annotator.core.store import Workspace

DURATION_MS = 60_000

#: A bystander's stream of a traffic stop: (start_ms, end_ms, text, low-probability word index).
LINES: list[tuple[int, int, str, int | None]] = [
    (1_000, 4_000, "Step out of the car now.", None),
    (4_500, 7_000, "I'm not opening the door.", None),
    (7_500, 10_000, "Show me a warrant first.", 3),
    (10_500, 12_000, "Break the window.", None),
    (12_500, 15_000, "There's a child in the car!", None),
    (15_500, 18_000, "I'm recording this, what's your badge number?", 5),
]


def words_for(start_ms: int, end_ms: int, text: str, weak: int | None = None) -> tuple[Word, ...]:
    """Evenly timed words the way faster-whisper writes them (each with a leading space)."""
    tokens = text.split()
    step = (end_ms - start_ms) // len(tokens)
    return tuple(
        Word(start_ms + i * step, start_ms + (i + 1) * step, f" {tok}", 0.3 if i == weak else 0.9)
        for i, tok in enumerate(tokens)
    )


def add_media(ws: Workspace, name: str = "stop.mp4", duration_ms: int = DURATION_MS) -> Media:
    sha = hashlib.sha256(name.encode()).hexdigest()
    return ws.add_media(name, sha, 1234, duration_ms)


def add_transcript(
    ws: Workspace, media: Media, lines: Sequence[tuple[int, int, str, int | None]] = LINES
) -> None:
    run = ws.start_run(media.id, "test-model", "0" * 64, {"test": "1"}, {"beam_size": 5})
    for i, (start, end, text, weak) in enumerate(lines):
        ws.add_draft(run, i, start, end, text, words_for(start, end, text, weak), -0.3, 0.01, 1.2)
    ws.finish_run(run.id)


