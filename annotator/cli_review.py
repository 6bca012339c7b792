"""The interactive and inventory commands: ``review`` (the Textual app) and ``models``.

Kept apart from :mod:`annotator.cli` (transcribe, export, list) so each file stays readable;
:mod:`annotator.cli` adds these commands to its group. Textual is imported only when
``review`` runs, so the batch commands start fast.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from annotator.cli_output import print_table
from annotator.cli_record import db_option
from annotator.core.store import Workspace
from annotator.errors import UsageError
from annotator.transcribe.models import DEFAULT_MODEL


@click.command("review")
@click.argument("media")
@click.option("--reviewer", default=None, help="Your name for the audit log (default: $USER).")
@click.option("--codebook", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="Codebook TOML (speakers, agencies, actions).")
@click.option("--model", default=DEFAULT_MODEL, show_default=True,
              help="Model used if the file still needs transcribing.")
@click.option("--video", is_flag=True, help="Show a video window when playing.")
@click.option("--read-only", "read_only", is_flag=True,
              help="Open the workspace without writing to it (read-only media, or a look at "
                   "someone else's review): listening, searching and exporting work; edits, "
                   "tags and background transcription are off.")
@click.option("--relink", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="The media's recording has moved: accept this copy (only "
                                 "with the same SHA-256; audited) before opening it.")
@db_option
def review_cmd(
    media: str, reviewer: str | None, codebook: Path | None, model: str, video: bool,
    read_only: bool, relink: Path | None, db: Path,
) -> None:
    """Review a transcript in the terminal: listen, correct, tag, export.

    MEDIA is a media file (transcribed in the background if new) or the id, sha256 prefix or
    name of one already in the workspace. Every change is saved at once. A recording whose
    file changed since it was transcribed is not played or exported as the same media; if it
    only moved, --relink NEW_PATH (or `annotator media relink`) accepts the copy.
    """
    import getpass

    from annotator.tui.launch import launch_review

    who = reviewer or getpass.getuser() or "reviewer"
    if read_only and codebook is not None:
        raise UsageError("--codebook installs a codebook into the workspace: not with --read-only")
    if relink is not None:
        if read_only:
            raise UsageError("--relink records the new place in the workspace: not with "
                             "--read-only")
        if not db.exists():
            raise UsageError(f"{db}: no workspace here, nothing to relink")
        from annotator.core.acquisition import relink as relink_media

        with Workspace(db) as ws:
            relink_media(ws, ws.find_media(media), relink, who)
    launch_review(db=db, media=media, reviewer=who, codebook=codebook, model=model, video=video,
                  read_only=read_only)


@click.command("models")
def models_cmd() -> None:
    """List the speech models available offline, where they come from and if verified."""
    from annotator.transcribe.models import available_models, is_verified

    table = Table(title="speech models")
    for col in ("model", "installed", "verified", "source", "sha256 (model.bin)"):
        table.add_column(col, overflow="fold")
    for info in available_models():
        table.add_row(
            info.model_id, "yes" if info.installed else "no",
            "yes" if is_verified(info) else "not yet (checked on first use)",
            escape(info.source), info.expected_sha256 or "",
        )
    print_table(table)
    click.echo("Also accepted: a CTranslate2 model folder path, or a faster-whisper model name "
               "(downloaded; needs internet).")


COMMANDS: list[click.Command] = [review_cmd, models_cmd]
