"""What one run of the review app was started with (``annotator review`` options)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from annotator.tui.transcription import TranscribeJob


@dataclass(frozen=True)
class ReviewSettings:
    """The workspace file (workers open their own connection to it), the media file to play,
    a transcription to run first, player options, the export folder offered, and whether
    the review is read-only (every editing key off)."""

    db_path: Path
    media_path: Path
    transcribe: TranscribeJob | None = None
    video: bool = False
    player_args: tuple[str, ...] = ()
    export_dir: Path = Path("exports")
    read_only: bool = False
