"""``annotator review``: resolve what to review, pick its codebook, run the app.

MEDIA is either a media file on disk or a reference to one already in the workspace (id,
SHA-256 prefix, path or file name, see :meth:`~annotator.core.store.Workspace.find_media`).
A file that was never transcribed is registered and handed to the app, which transcribes it
in the background while segments appear on screen.

The codebook is, in order: the ``--codebook`` TOML (installed for this media, with its source
text and hash as provenance), the one stored for the media, or the shipped default. User
errors raise :class:`~annotator.errors.AnnotatorError` subclasses; the CLI prints them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from annotator.core.media import Probe
from annotator.core.model import Media
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.errors import MediaError, NotFoundError, UsageError
from annotator.transcribe.models import DEFAULT_MODEL
from annotator.tui.app import ReviewApp
from annotator.tui.live import capture_running
from annotator.tui.transcription import TranscribeJob


@dataclass(frozen=True)
class Target:
    """What to review: the media record, where its file is, and whether to transcribe."""

    media: Media
    path: Path
    transcribe: TranscribeJob | None


def resolve_media(ws: Workspace, ref: str, model: str) -> Target:
    """Find or register MEDIA; raise :class:`NotFoundError` or :class:`MediaError`."""
    path = Path(ref).expanduser()
    if path.is_file():
        resolved = path.resolve()
        for media in ws.list_media():
            if Path(media.path).expanduser().resolve() == resolved:
                return _target(ws, media, path, model)
        from annotator.core.media import probe

        info = probe(path)
        media = ws.add_probed(info)
        return _target(ws, media, path, model, info)
    try:
        media = ws.find_media(ref)
    except NotFoundError:
        raise NotFoundError("media file or workspace media", ref) from None
    return _target(ws, media, Path(media.path), model)


def _target(
    ws: Workspace, media: Media, path: Path, model: str, info: Probe | None = None
) -> Target:
    if ws.current_run(media.id) is not None or capture_running(ws, media.id):
        return Target(media, path, None)  # (a live capture is transcribed by `capture`)
    if not path.is_file():
        raise MediaError(path, "not transcribed yet, and the file is not there to transcribe")
    return Target(media, path, TranscribeJob(path, model, info))


def install_codebook_file(ws: Workspace, media_id: int, path: Path) -> None:
    from annotator.core.codebook import install_codebook, load_codebook

    codebook = load_codebook(path)
    install_codebook(ws, media_id, codebook, path.read_text(encoding="utf-8"))


def keymap_path() -> Path:
    """Where a user's key remapping lives: ``$ANNOTATOR_KEYMAP``, else
    ``$XDG_CONFIG_HOME/annotator/keymap.toml`` (``~/.config/...``)."""
    explicit = os.environ.get("ANNOTATOR_KEYMAP")
    if explicit:
        return Path(explicit).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "annotator" / "keymap.toml"


def load_keymap(path: Path) -> dict[str, str]:
    """Read ``binding id = "keys"`` pairs (ids as in the help screen, e.g. ``"edit.text" =
    "f2"``); a missing file is an empty keymap."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: not a readable keymap ({exc})") from exc
    if not all(isinstance(v, str) for v in data.values()):
        raise UsageError(f'{path}: every line must be "binding.id" = "key[,key...]"')
    return {str(k): str(v) for k, v in data.items()}


def build_app(
    ws: Workspace,
    db: Path,
    media: str,
    reviewer: str,
    *,
    codebook: Path | None = None,
    model: str = DEFAULT_MODEL,
    video: bool = False,
    player_args: Sequence[str] = (),
    export_dir: Path = Path("exports"),
    keymap: Mapping[str, str] | None = None,
    read_only: bool = False,
) -> ReviewApp:
    """Everything :func:`launch_review` does short of running the app (tests use this).
    ``read_only``: every key that would change the review is off (see ``--read-only``)."""
    target = resolve_media(ws, media, model)
    if codebook is not None:
        install_codebook_file(ws, target.media.id, codebook)
    session = ReviewSession(ws, target.media.id, reviewer)
    app = ReviewApp(
        session, db_path=db, media_path=target.path, transcribe=target.transcribe,
        video=video, player_args=player_args, export_dir=export_dir, read_only=read_only,
    )
    if keymap:
        app.set_keymap(dict(keymap))
    return app


def launch_review(
    *, db: Path, media: str, reviewer: str, codebook: Path | None = None,
    model: str = DEFAULT_MODEL, video: bool = False, read_only: bool = False,
) -> None:
    """Open the review app on MEDIA in workspace ``db`` (created if MEDIA is a file).

    ``read_only`` opens the workspace without writing to it (every write then raises
    :class:`~annotator.errors.WorkspaceError`); MEDIA must be transcribed already.
    """
    if not db.exists() and (read_only or not Path(media).expanduser().is_file()):
        raise UsageError(f"{db}: no workspace here (give a media file, or --db)")
    with Workspace(db, read_only=read_only) as ws:
        if read_only and resolve_media(ws, media, model).transcribe is not None:
            raise UsageError(f"{media}: not transcribed yet, and --read-only cannot transcribe")
        app = build_app(ws, db, media, reviewer, codebook=codebook, model=model, video=video,
                        keymap=load_keymap(keymap_path()), read_only=read_only)
        app.run()

