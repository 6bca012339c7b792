"""``annotator suggest``: run the detectors and codebook rules on media in the workspace, and
``annotator transcribe --suggest`` (:func:`suggest_option`, :func:`suggest_after`).

Suggestions are stored in the workspace's suggestion layer for a person to accept or reject
(the review app, or :class:`~annotator.core.session.ReviewSession`); nothing becomes an
annotation here. Same conventions as :mod:`annotator.cli`: results on stdout, progress and
one ``annotator: ...`` line per problem on stderr. Exit codes: 0 when every media was
processed; 1 when one failed, or a detector asked for by name (``--voices``) is not
installed; 2 for bad arguments. Without pass options every pass runs and a detector that is
not installed is only a warning.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from annotator.cli_record import db_option
from annotator.core.store import Workspace
from annotator.errors import EXIT_FAILURE, EXIT_OK, AnnotatorError, UsageError

PASS_FLAGS = ("rules", "distrust", "impacts", "voices")


def _say(message: str) -> None:
    click.echo(f"annotator: {message}", err=True)


def _progress(name: str) -> Callable[[str, str], None]:
    def report(step: str, message: str) -> None:
        click.echo(f"  {name}: {message}", err=True)
    return report


def suggest_media(
    ws: Workspace, media_id: int, passes: Sequence[str], *, speakers: int | None = None,
    quiet: bool = False,
) -> Any:
    """Run the passes for one media, with progress on stderr; returns the runner's report."""
    from annotator.suggest.runner import suggest

    name = Path(ws.media(media_id).path).name
    return suggest(ws, media_id, passes, speakers=speakers,
                   progress=None if quiet else _progress(name))


def summary_line(name: str, report: Any) -> str:
    """``demo.mp4: rules 8, distrust 3, impacts 1 (voices unavailable)``."""
    parts = [f"{p} {n}" for p, n in report.added.items()]
    skipped = sum(report.skipped.values())
    line = f"{name}: " + (", ".join(parts) or "nothing to suggest")
    if skipped:
        line += f"; {skipped} already decided, not proposed again"
    if report.unavailable:
        line += " (" + ", ".join(f"{p} unavailable" for p in report.unavailable) + ")"
    return line


@click.command("suggest")
@click.argument("media", nargs=-1, required=True)
@click.option("--rules", is_flag=True, help="Codebook phrases and patterns -> suggested tags.")
@click.option("--distrust", is_flag=True,
              help="Flag lines to check first (low confidence, loops, repeats, odd speed, text "
                   "over silence), with the reasons.")
@click.option("--impacts", is_flag=True,
              help="Impulsive sounds (strikes, glass) grouped into bursts: timeline events with "
                   "a suggested action.")
@click.option("--voices", is_flag=True,
              help="Who spoke: voices A, B, ... per segment, and splits where the voice changes "
                   "inside one (needs annotator[voices]).")
@click.option("--speakers", type=click.IntRange(1, 20), default=None,
              help="How many voices there are, when you know (default: found automatically).")
@db_option
def suggest_cmd(
    media: tuple[str, ...], rules: bool, distrust: bool, impacts: bool, voices: bool,
    speakers: int | None, db: Path,
) -> None:
    """Propose speakers, tags, events and lines to distrust for MEDIA (id, sha256 prefix, path
    or file name), as suggestions a reviewer accepts or rejects. All passes run unless some
    are named. A re-run replaces the open suggestions; decided ones are kept and never
    proposed again."""
    named = [p for p, on in zip(PASS_FLAGS, (rules, distrust, impacts, voices), strict=True)
             if on]
    passes = named or list(PASS_FLAGS)
    if not db.exists():
        raise UsageError(f"{db}: no workspace here (run `annotator transcribe` first or --db)")
    code = EXIT_OK
    with Workspace(db) as ws:
        for ref in media:
            try:
                m = ws.find_media(ref)
                report = suggest_media(ws, m.id, passes, speakers=speakers)
            except AnnotatorError as exc:
                _say(f"error: {exc}")
                code = EXIT_FAILURE
                continue
            for why in report.unavailable.values():
                _say(("error: " if named else "warning: ") + why)
            for note in report.notes:
                _say(f"warning: {note}")
            if named and report.unavailable:
                code = EXIT_FAILURE
            click.echo(summary_line(Path(m.path).name, report))
    sys.stdout.flush()
    raise click.exceptions.Exit(code)


#: ``annotator transcribe --suggest``.
suggest_option = click.option(
    "--suggest", "suggest", is_flag=True,
    help="After each file is transcribed, run `annotator suggest` on it (every pass; a "
         "detector that is not installed is a warning).",
)


def suggest_after(ws: Workspace, media_id: int) -> None:
    """What ``transcribe --suggest`` does for each file transcribed: every pass; problems are
    warnings (the transcript is stored whatever happens here)."""
    try:
        report = suggest_media(ws, media_id, PASS_FLAGS)
    except AnnotatorError as exc:
        _say(f"warning: suggestions failed: {exc}")
        return
    for why in [*report.unavailable.values(), *report.notes]:
        _say(f"warning: {why}")
    _say(summary_line(Path(ws.media(media_id).path).name, report))


COMMANDS = [suggest_cmd]
