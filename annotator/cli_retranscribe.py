"""``annotator transcribe FILE --only START-END``: one span of one file again, other settings.

Kept apart from :mod:`annotator.cli` (which only parses the options and calls
:func:`transcribe_only`), and the engine is imported only once the arguments are checked.
What is stored is described in :mod:`annotator.core.gapfill`; the span is transcribed by
:mod:`annotator.transcribe.retranscribe`.

Prints one line on stdout (``0:41-0:52: 3 segments added (run 7: tiny.en, no VAD); speech
heard 11 s, written 9 s; no gap left``), or a JSON object with ``--json``; errors go to
stderr as for any command. Exit 0 when the span was transcribed (even when it wrote nothing:
the gap then stays, with what this attempt measured).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from annotator.core import gapfill, runs
from annotator.core.media import expand_inputs, probe
from annotator.core.store import Workspace
from annotator.errors import EXIT_OK, MediaError, NotFoundError, UsageError

if TYPE_CHECKING:
    from annotator.transcribe.engine import TranscribeOptions


def transcribe_only(
    db: Path, inputs: tuple[str, ...], only: str, options: TranscribeOptions, *,
    reviewer: str, force: bool, export: bool, as_json: bool,
) -> int:
    """Re-transcribe span ``only`` of the one file in ``inputs``; the exit code."""
    span = gapfill.parse_span(only)
    if force or export:
        raise UsageError("--only re-transcribes one span: it takes neither --force nor "
                         "--export (export afterwards with annotator export)")
    paths = expand_inputs(list(inputs))
    if len(paths) != 1:
        raise UsageError("--only takes exactly one media file")
    if not db.exists():
        raise UsageError(f"{db}: no workspace here (transcribe the whole file first, or --db)")
    info = probe(paths[0])
    from annotator.transcribe.engine import Engine
    from annotator.transcribe.retranscribe import fill, retranscribe

    with Workspace(db) as ws:
        try:
            media = ws.media_by_sha(info.sha256)
        except NotFoundError as exc:
            raise MediaError(paths[0], "not in this workspace: transcribe the whole file "
                                       "first") from exc
        outcome = retranscribe(ws, Engine(options), media, span)
        change = fill(ws, media, outcome.run, reviewer)
        placed = ws.conn.execute(
            "SELECT COUNT(DISTINCT s.draft_id) FROM segment s JOIN draft_segment d"
            " ON d.id = s.draft_id WHERE d.run_id=?", (outcome.run.id,),
        ).fetchone()[0]
        left = [g for g in gapfill.visible_gaps(ws, media.id)
                if g.end_ms > span[0] and g.start_ms < span[1]]
    added = len(change.inserted)
    skipped = len(outcome.drafts) - int(placed)
    where = f"{runs.clock(span[0])}-{runs.clock(span[1])}"
    report: dict[str, Any] = {
        "span": {"start_ms": span[0], "end_ms": span[1]}, "run": outcome.run.id,
        "settings": gapfill.settings(outcome.run), "drafts": len(outcome.drafts),
        "segments_added": added, "audit_id": change.audit_id,
        "speech_heard_ms": outcome.heard_ms, "speech_written_ms": outcome.written_ms,
        "gaps_left": [g.to_dict() for g in left],
    }
    if as_json:
        import json

        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return EXIT_OK
    parts = [f"{where}: {added} segment{'s' if added != 1 else ''} added "
             f"(run {outcome.run.id}: {gapfill.settings(outcome.run)})"]
    if skipped > 0:
        parts.append(f"{skipped} overlapped existing segments (kept in the run's draft only)")
    parts.append(f"speech heard {round(outcome.heard_ms / 1000)} s, written "
                 f"{round(outcome.written_ms / 1000)} s")
    parts.append("no gap left" if not left else "gaps left: " + ", ".join(
        f"{runs.clock(g.start_ms)}-{runs.clock(g.end_ms)} ({g.reason})" for g in left))
    click.echo("; ".join(parts))
    return EXIT_OK
