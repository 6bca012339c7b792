"""What the ``annotator`` command prints: progress bars on stderr, and on stdout tables laid
out for a terminal or for a pipe, or JSON for scripts.

Kept apart from :mod:`annotator.cli` (the commands and their options) because how results
look and what scripts can parse are one concern: the table and JSON forms of one result are
written side by side here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from annotator.core.store import Workspace

if TYPE_CHECKING:
    from annotator.transcribe.pipeline import FileResult


def stdout_console() -> Console:
    """Rich output on stdout (no highlighting: results are data, not decoration)."""
    return Console(highlight=False, soft_wrap=True)


class BatchProgress:
    """Rich progress bars (audio seconds per file) on stderr."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(),
            TextColumn("{task.completed:>6.1f}/{task.total:.1f} s audio"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
        )
        self._tasks: dict[Path, Any] = {}
        self._current: Path | None = None

    def __enter__(self) -> BatchProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop drawing (before an interruption message)."""
        self._progress.stop()

    @property
    def current(self) -> Path | None:
        """The file being transcribed, if any."""
        return self._current

    def file_started(self, path: Path, duration_ms: int) -> None:
        self._current = path
        self._tasks[path] = self._progress.add_task(
            escape(path.name), total=max(duration_ms / 1000, 0.001)
        )

    def advanced(self, path: Path, position_ms: int) -> None:
        if path in self._tasks:
            self._progress.update(self._tasks[path], completed=position_ms / 1000)

    def waiting(self, path: Path, holder: dict[str, Any]) -> None:
        from annotator.core.runlock import describe

        self._progress.console.print(
            f"{escape(path.name)}: waiting for {escape(describe(holder))}, which is "
            "transcribing it", markup=False, highlight=False,
        )

    def file_finished(self, result: FileResult) -> None:
        self._current = None
        task = self._tasks.get(result.path)
        if task is not None:
            # The audio really decoded, never the container's claim (a truncated file).
            done = result.decoded_ms / 1000 if result.decoded_ms is not None else None
            if done is None and result.status == "done":
                done = self._progress.tasks[task].total
            self._progress.update(task, completed=done)


def print_table(table: Table) -> None:
    """A table on stdout. On a terminal it fits the window; anywhere else (a pipe, a file, a
    script) it is laid out plainly, without box lines, every column as wide as its content,
    so that nothing is cut to fit 80 columns (a status cut to "do…" misleads)."""
    if sys.stdout.isatty():
        stdout_console().print(table)
        return
    import io

    table.box = None
    table.pad_edge = False
    table.title_justify = "left"
    buffer = io.StringIO()
    Console(file=buffer, width=100_000, highlight=False, color_system=None).print(table)
    for line in buffer.getvalue().splitlines():
        click.echo(line.rstrip())


def print_json(data: object) -> None:
    """Machine-readable output on stdout (UTF-8 as is, one document)."""
    import json

    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _plain(value: object) -> object:
    """A value as JSON can hold it: paths and enums as strings, sequences as lists."""
    import enum

    if isinstance(value, Path | enum.Enum):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def result_json(result: Any) -> dict[str, object]:
    """One file of ``transcribe --json``: every field of its result (``media`` as its id and
    hash), so new fields reach scripts without a change here."""
    from dataclasses import fields

    data: dict[str, object] = {}
    for f in fields(result):
        value = getattr(result, f.name)
        if f.name == "media":
            data["media_id"] = value.id if value is not None else None
            data["sha256"] = value.sha256 if value is not None else None
        else:
            data[f.name] = _plain(value)
    return data


def media_json(ws: Workspace, media: Any) -> dict[str, object]:
    """One media of ``list --json``."""
    from annotator.core import runs
    from annotator.core.document import held_back, run_in_progress, transcript_warnings
    from annotator.core.model import RunStatus

    total, reviewed = ws.segment_counts(media.id)
    partial, shown = ws.unfinished_run(media.id), runs.layer_run(ws, media.id)
    live = partial is not None and run_in_progress(ws, media, partial)
    if live:
        status = "running"
    elif shown is None:
        status = "not transcribed"
    else:  # an interrupted forced re-run whose segments replaced the layer is interrupted
        status = "done" if shown.status == RunStatus.DONE else "interrupted"
    return {
        "id": media.id, "file": Path(media.path).name, "path": media.path,
        "typed_path": media.typed_path, "sha256": media.sha256, "size": media.size,
        "duration_ms": media.duration_ms, "added_at": media.added_at, "segments": total,
        "reviewed": reviewed, "held_back": len(held_back(ws, media.id)),
        "model": shown.model_id if shown is not None else None, "status": status,
        "warnings": list(transcript_warnings(
            shown, total,
            in_progress=live and shown is not None and shown.status != RunStatus.DONE)),
    }


def summary(results: Sequence[FileResult]) -> None:
    """The table ``annotator transcribe`` ends with: one row per file."""
    table = Table(title="annotator transcribe")
    table.add_column("file", no_wrap=True)
    for col in ("status", "audio s", "segments", "held back", "wall s", "RTF"):
        table.add_column(col, no_wrap=True)
    table.add_column("exports / notes / error", overflow="fold")
    for r in results:
        rtf = f"{r.seconds / (r.audio_ms / 1000):.3f}" if r.status == "done" and r.audio_ms else ""
        if r.status == "failed":
            detail = r.error or ""
        else:
            notes = [p.name for p in r.exports] + ([r.note] if r.note else []) + r.warnings
            notes += [r.coverage] if r.coverage and r.coverage not in " ".join(notes) else []
            notes += [languages_note(r.languages)] if set(r.languages) - {""} else []
            detail = ", ".join(notes)
        table.add_row(
            escape(r.path.name), r.status, f"{r.audio_ms / 1000:.1f}", str(r.segments),
            str(r.held_back), f"{r.seconds:.1f}", rtf, escape(detail),
        )
    print_table(table)


def languages_note(counts: dict[str, int]) -> str:
    """``languages: en 5, es 5`` (segments per detected language; '?' not detected)."""
    return "languages: " + ", ".join(f"{k or '?'} {n}" for k, n in counts.items())


#: ``--labels`` of the export commands (values: :data:`annotator.formats.labels.LABELS`,
#: repeated here so that ``--help`` does not import the formats).
labels_option = click.option(
    "--labels", type=click.Choice(["name", "name+agency", "none"]), default="name",
    show_default=True,
    help="The visible label SRT, WebVTT and ASS cues start with: the speaker's name "
         "('Officer: ...'), the name and the line's agency ('Officer (Local police): ...'; a "
         "line's own agency tag, else its speaker's), or none. Players do not show WebVTT "
         "<v> names or ASS speaker names, so this is how viewers see who speaks.",
)
