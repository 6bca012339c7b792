"""The ``annotator`` command.

Conventions scripts can rely on:

- results (tables, lists) go to stdout; progress bars and errors go to stderr;
- an error is one line on stderr naming the file and the cause (``--debug`` adds the traceback);
- exit codes: 0 all done, 1 something failed (other files were still processed),
  2 usage error (nothing was done).

:func:`main` is a plain callable returning the exit code, so tests call it in-process.
Heavy imports (the speech engine, Textual) happen inside the command that needs them.
"""

from __future__ import annotations

import dataclasses
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from annotator import __version__
from annotator.cli_capture import COMMANDS as CAPTURE_COMMANDS
from annotator.cli_output import (
    BatchProgress,
    labels_option,
    media_json,
    print_json,
    print_table,
    result_json,
    summary,
)
from annotator.cli_record import COMMANDS as RECORD_COMMANDS
from annotator.cli_record import fact_options, redact_what_option, stated_facts
from annotator.cli_review import COMMANDS as REVIEW_COMMANDS
from annotator.cli_suggest import COMMANDS as SUGGEST_COMMANDS
from annotator.cli_suggest import suggest_after, suggest_option
from annotator.core.model import Media
from annotator.core.store import DEFAULT_DB, Workspace
from annotator.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    AnnotatorError,
    UsageError,
)
from annotator.transcribe.models import DEFAULT_MODEL

if TYPE_CHECKING:
    from annotator.transcribe.pipeline import FileResult

DEFAULT_OUT = Path("exports")

db_option = click.option(
    "--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
    show_default=True, help="Workspace file (SQLite) holding media, runs and reviews.",
)

captions_option = click.option(
    "--captions", type=click.Choice(["original", "translation", "both"]), default="original",
    show_default=True,
    help="What SRT, WebVTT and ASS captions show: the original words, the translation "
         "(segments without one keep their original), or both (bilingual: the original line "
         "above its translation). JSON always carries both.",
)

redact_option = click.option(
    "--redact-paths", is_flag=True,
    help="Write only file and folder names, not full paths, into exports (folder names can "
         "name people and places; the SHA-256 hashes still identify media and model).",
)


json_transcribe_option = click.option(
    "--json", "as_json", is_flag=True,
    help="Print the summary as JSON on stdout (a list, one object per file) instead of a "
         "table: path (as given), status (done, skipped or failed), media_id and sha256 (null "
         "if the file could not be read), segments, held_back, audio_ms (the container's "
         "duration), decoded_ms (audio actually decoded; null if not transcribed now), "
         "truncated, warnings (list of sentences), seconds (wall clock), error and note (null "
         "or a sentence), exports (paths written).",
)

json_list_option = click.option(
    "--json", "as_json", is_flag=True,
    help="Print JSON on stdout (a list, one object per media) instead of a table: id, file, "
         "path (absolute), typed_path (as first given), sha256, size, duration_ms, added_at, "
         "segments, reviewed, held_back, model (of the finished run, else of an unfinished "
         "one, else null), status (done, running, interrupted or not transcribed) and "
         "warnings (what an export would warn about).",
)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _formats(value: str | None) -> list[str]:
    if not value:
        return []
    from annotator.formats import parse_formats

    return parse_formats(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="annotator")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Timed, reviewable transcripts of recorded livestreams and phone videos.

    Typical use: `annotator transcribe media/demo.mp4 --export json,srt,vtt,ass`, then
    `annotator review demo.mp4` to correct and tag it, then `annotator export`.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


for _command in [*RECORD_COMMANDS, *CAPTURE_COMMANDS]:  # verify, media, report; capture
    cli.add_command(_command)
for _command in [*SUGGEST_COMMANDS, *REVIEW_COMMANDS]:  # suggest; review, models
    cli.add_command(_command)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, metavar="FILE_OR_DIR...")
@click.option("--model", default=DEFAULT_MODEL, show_default=True,
              help="tiny.en (bundled), base (multilingual, installed with annotator), a "
                   "CTranslate2 model folder, or a faster-whisper model name (needs "
                   "internet).")
@click.option("--language", default=None,
              help="Force one language (code, e.g. en) for the whole file: nothing is "
                   "detected. Default: the language of every stretch of speech is detected, "
                   "and speech the model cannot write (tiny.en writes only English) is "
                   "written by the multilingual model base in its own language.")
@click.option("--languages", default=None, metavar="CODES",
              help="Limit detection to these languages (comma list, e.g. en,es): fewer "
                   "mistakes on short stretches when you know who speaks what.")
@click.option("--other-languages", type=click.Choice(["transcribe", "hold"]),
              default="transcribe", show_default=True,
              help="With an English-only model: speech in other languages is transcribed by "
                   "the multilingual model (transcribe), or held back from the draft with the "
                   "reason 'language xx, model writes only English' (hold; kept in the "
                   "workspace, counted in the summary and listed in the JSON export).")
@click.option("--translate", type=click.Choice(["en", "none"]), default="en",
              show_default=True,
              help="Add an English translation to every segment in another language "
                   "(whisper's translate task on the multilingual model), kept beside the "
                   "original text, never replacing it, and marked as machine translation "
                   "with its model; 'none' adds none (English speech is never translated).")
@click.option("--beam-size", type=click.IntRange(1, 20), default=5, show_default=True)
@click.option("--threads", type=click.IntRange(0, 256), default=0,
              help="CPU threads for the engine (0: automatic: one per core, but one in all "
                   "for tiny.en on a machine with two cores or fewer, where that is faster).")
@click.option("--no-vad", is_flag=True, help="Do not skip silence with voice activity detection.")
@click.option("--vad-min-silence", type=click.IntRange(100, 10000), default=2000,
              show_default=True, metavar="MS",
              help="Silence that ends a speech chunk; lower may merge two speakers' lines into "
                   "one segment.")
@click.option("--keep-hallucinations", is_flag=True,
              help="Put into the draft even text produced where the engine and a VAD pass "
                   "judge there is no speech, and retry such windows with sampling (by "
                   "default that text is held back, kept in the workspace and listed under "
                   "'suppressed' in the JSON export).")
@click.option("--force", is_flag=True,
              help="Transcribe again files already done (never replaces reviewed work).")
@click.option("--only", default=None, metavar="START-END",
              help="Transcribe again only this span of one file already transcribed (e.g. a "
                   "speech gap: 0:41-0:52) with the options given (--no-vad, --model base, "
                   "--language): a run of its own, never the file's main run; its text is "
                   "added as unreviewed machine segments where no segment is (audited).")
@click.option("--reviewer", default=None,
              help="With --only: your name for the audit log (default: $USER).")
@click.option("--wait", is_flag=True,
              help="If another process is transcribing the same file into this workspace, "
                   "wait for it (default: that file fails, naming the process).")
@click.option("--allow-truncated", is_flag=True,
              help="Exit 0 even when a file's audio ends before its container says (it is "
                   "always stored with a 'truncated at' warning).")
@click.option("--scheduler", envvar="ANNOTATOR_SCHEDULER", default=None,
              metavar="ADDRESS|local[:N]",
              help="Decode on a Dask cluster, one task per piece of a file: the scheduler's "
                   "address (tcp://host:8786, from `dask scheduler`; workers from `dask worker "
                   "ADDRESS`, each with annotator[cluster] and the same model installed), or "
                   "local[:N] for N worker processes on this machine (default: one per core). "
                   "Files already in the workspace are not sent; only this process writes to "
                   "the workspace. Also $ANNOTATOR_SCHEDULER. Needs annotator[cluster].")
@click.option("--shared-fs", is_flag=True,
              help="With --scheduler: the workers see the files at the same absolute paths "
                   "and read them there (checked against their SHA-256) instead of receiving "
                   "their bytes.")
@click.option("--chunk-s", type=click.FloatRange(5, 3600), default=None, hidden=True,
              help="Seconds per piece (tests: many cuts on a short file; recorded in the run).")
@click.option("--export", "export_", default="", metavar="FORMATS",
              help="Also export each file: comma list of json,srt,vtt,ass,rttm.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Folder for exports.")
@redact_option
@captions_option
@labels_option
@fact_options
@json_transcribe_option
@suggest_option
@db_option
def transcribe(
    inputs: tuple[str, ...], scheduler: str | None, shared_fs: bool,
    model: str, language: str | None, languages: str | None,
    other_languages: str, translate: str | None, beam_size: int, threads: int,
    no_vad: bool, vad_min_silence: int, keep_hallucinations: bool, force: bool, export_: str,
    out: Path, redact_paths: bool, db: Path, wait: bool, allow_truncated: bool,
    chunk_s: float | None, as_json: bool, captions: str, labels: str, only: str | None,
    reviewer: str | None, suggest: bool,
) -> None:
    """Transcribe audio or video files (or every media file in folders) into the workspace.

    Files are identified by content hash: a file already transcribed is skipped. Each file's
    segments are saved as they are decoded. The summary's "held back" column counts segments
    the engine sampled out of what it judged silence (see --keep-hallucinations). Exit 0 if
    every file worked, 1 if any failed.
    """
    if language is not None:  # checked before the engine is imported: a typo fails at once
        language = language.strip().lower()
        _check_language(language, model)
    allowed = _language_set(languages) if languages else None
    if allowed is not None and language is not None:
        raise UsageError("--language forces one language; --languages limits detection: "
                         "give one of them")
    from annotator.core.media import expand_inputs
    from annotator.transcribe.engine import TranscribeOptions

    formats = _formats(export_)
    options = TranscribeOptions(
        model=model, language=language, beam_size=beam_size, vad_filter=not no_vad,
        vad_min_silence_ms=vad_min_silence, cpu_threads=threads,
        suppress_silent_hallucinations=not keep_hallucinations, languages=allowed,
        other_languages=other_languages, translate=None if translate == "none" else translate,
    )
    if chunk_s is not None:
        options = dataclasses.replace(options, chunk_s=chunk_s)
    if only is not None:  # one span of one file again (annotator.cli_retranscribe)
        from annotator.cli_retranscribe import transcribe_only

        raise click.exceptions.Exit(transcribe_only(
            db, inputs, only, options, reviewer=reviewer or _user(), force=force,
            export=bool(formats), as_json=as_json,
        ))
    paths = expand_inputs(list(inputs))
    if not paths:
        raise UsageError("no media files found in " + ", ".join(inputs))
    err = _stderr()

    stated = stated_facts()
    with Workspace(db) as ws:

        def after_file(result: FileResult) -> None:
            if stated and result.media is not None:
                from annotator.core.acquisition import set_facts

                set_facts(ws, result.media.id, stated, _user())
            if suggest and result.media is not None and result.status != "failed":
                suggest_after(ws, result.media.id)
            if formats and result.media is not None:
                result.exports = _export_media(
                    ws, result.media.id, formats, out, redact_paths, captions=captions,
                    labels=labels,
                )

        with BatchProgress(err) as progress:
            try:
                results = _batch(scheduler, shared_fs)(
                    ws, paths, options, force=force, wait=wait, progress=progress,
                    after_file=after_file,
                )
            except KeyboardInterrupt:
                progress.close()
                current = progress.current
                where = f" during {current.name}" if current is not None else ""
                _error(
                    f"interrupted{where}; every segment stored so far is kept, and running "
                    "the same command again resumes where it stopped"
                )
                raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    for r in results:
        if r.status == "failed":
            _error(r.error or str(r.path))
    if as_json:
        print_json([result_json(r) for r in results])
    else:
        summary(results)
    refused = [r for r in results if r.truncated and r.status != "failed"]
    for r in refused:
        warning = next((w for w in r.warnings if w.startswith("truncated")), "truncated")
        _error(f"{r.path}: {warning}: its audio ends early (stored with that warning; "
               "--allow-truncated accepts it)")
    if any(r.status == "failed" for r in results) or (refused and not allow_truncated):
        raise click.exceptions.Exit(EXIT_FAILURE)


def _export_media(
    ws: Workspace, media_id: int, formats: Sequence[str], out: Path, redact_paths: bool,
    *, warn: bool = False, reviewer: str | None = None, redact_names: bool = False,
    captions: str = "original", labels: str = "name",
) -> list[Path]:
    """Export one media with its manifest (:mod:`annotator.publish`); with ``warn``, each
    of its transcript's warnings (a partial transcript, a file that ends early) also goes to
    stderr, as the files say too."""
    from annotator.core.document import Transcript
    from annotator.core.redaction import without_names
    from annotator.formats.manifest import Redaction
    from annotator.publish import export_media

    def prepare(transcript: Transcript) -> Transcript:
        transcript = dataclasses.replace(transcript, captions=captions, labels=labels)
        if warn:
            for warning in transcript.warnings:
                _warning(f"{transcript.media.path}: {warning}")
        if redact_names:
            transcript = without_names(transcript)
        return transcript.without_paths() if redact_paths else transcript

    done = export_media(
        ws, media_id, formats, out, reviewer=reviewer or _user(),
        redaction=Redaction(paths=redact_paths, names=redact_names), prepare=prepare,
    )
    return [*done.files, done.manifest]


def _user() -> str:
    """Who runs the command, for manifests and audit entries (``$USER``)."""
    import getpass

    try:
        return getpass.getuser() or "unknown"
    except (KeyError, OSError):
        return "unknown"



@cli.command("export")
@click.argument("media", nargs=-1, required=True)
@click.option("--format", "format_", default="json,srt,vtt,ass", show_default=True,
              help="Comma list of json,srt,vtt,ass,rttm (rttm: speaker turns).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True)
@redact_option
@redact_what_option
@captions_option
@labels_option
@click.option("--reviewer", default=None,
              help="Who exports, as the manifest records it (default: $USER).")
@click.option("--relink", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="The media's recording has moved: accept this copy (only "
                                 "with the same SHA-256; audited) before exporting.")
@db_option
def export_cmd(
    media: tuple[str, ...], format_: str, out: Path, redact_paths: bool, db: Path,
    reviewer: str | None, relink: Path | None, redact: frozenset[str], captions: str, labels: str,
) -> None:
    """Export transcripts (MEDIA: id, sha256 prefix, path or file name) with their review.

    Each export also writes <stem>.manifest.json beside the files: their SHA-256 and size,
    the media and model hashes, the audit chain's head, who exported and when (checked by
    `annotator verify --exports DIR`). A MEDIA that names several media (a shared file name
    or SHA-256 prefix) lists them and exits 2; other media given are still exported.
    """
    from annotator.core import acquisition

    formats = _formats(format_)
    _require_db(db)
    if relink is not None:
        if len(media) != 1:
            raise UsageError("--relink names the new place of one media: give one MEDIA")
        with Workspace(db) as ws:
            acquisition.relink(ws, ws.find_media(media[0]), relink, reviewer or _user())
    code = EXIT_OK
    with Workspace(db, read_only=True) as ws:
        for ref in media:
            try:
                m = ws.find_media(ref)
                acquisition.require_same_file(m)  # another recording under its name: refuse
                for path in _export_media(
                    ws, m.id, formats, out, redact_paths or "paths" in redact, warn=True,
                    reviewer=reviewer, redact_names="names" in redact, captions=captions,
                    labels=labels,
                ):
                    click.echo(str(path))
            except AnnotatorError as exc:
                code = max(code, exc.exit_code)
                _error(str(exc))
    if code != EXIT_OK:
        raise click.exceptions.Exit(code)


@cli.command("list")
@json_list_option
@db_option
def list_cmd(db: Path, as_json: bool) -> None:
    """List media in the workspace with duration, segments and review progress."""
    from annotator.core.document import held_back

    _require_db(db)
    if as_json:
        with Workspace(db, read_only=True) as ws:
            print_json([media_json(ws, m) for m in ws.list_media()])
        return
    rows: list[tuple[str, ...]] = []
    with Workspace(db, read_only=True) as ws:
        for m in ws.list_media():
            total, reviewed = ws.segment_counts(m.id)
            pct = f"{reviewed}/{total} ({100 * reviewed / total:.0f}%)" if total else "0/0"
            rows.append((
                str(m.id), escape(Path(m.path).name), m.sha256[:12], _clock(m.duration_ms),
                str(total), pct, str(len(held_back(ws, m.id))),
                _run_state(ws, m),
            ))
    table = Table(title=f"workspace {escape(str(db))}")
    # File names identify the media for people: they get the room, other columns wrap.
    name_width = min(max((len(r[1]) for r in rows), default=4), 32)
    for col in ("id", "file", "sha256", "duration", "segments", "reviewed", "held back", "model"):
        width = name_width if col == "file" else 4 if col == "held back" else len(col)
        table.add_column(col, no_wrap=col in ("id", "sha256"), overflow="fold",
                         min_width=width)
    for row in rows:
        table.add_row(*row)
    print_table(table)


def _run_state(ws: Workspace, media: Media) -> str:
    """The model column of ``list``: the model, and whether a run is going on now (a process
    holds the media's lock), was interrupted (no process does), or warned (truncated...)."""
    from annotator.core.runlock import holder

    run, partial = ws.current_run(media.id), ws.unfinished_run(media.id)
    if partial is not None:
        live = holder(ws.path, media.sha256)
        if live is not None:
            return f"{escape(partial.model_id)}, running (pid {live.get('pid', '?')})"
        if run is None:
            return f"{escape(partial.model_id)}, interrupted (transcribe again to resume)"
    if run is None:
        return "not transcribed"
    from annotator.core.runs import coverage

    heard = coverage(ws, run.id)
    said = [heard.summary()] if heard is not None and not heard.low else []
    return "; ".join([escape(run.model_id), *(escape(w) for w in run.warnings), *said])


def _error(message: str) -> None:
    """One plain line on stderr (never wrapped or styled: scripts grep it)."""
    click.echo(f"annotator: error: {message}", err=True)


def _warning(message: str) -> None:
    """One plain line on stderr for something the user should know but that did not fail."""
    click.echo(f"annotator: warning: {message}", err=True)


def _clock(ms: int) -> str:
    s = ms // 1000
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _check_language(language: str, model: str) -> None:
    from annotator.transcribe.languages import check_language

    problem = check_language(language, model)
    if problem is not None:
        raise UsageError(problem)


def _batch(scheduler: str | None, shared_fs: bool) -> Callable[..., list[FileResult]]:
    """The local batch, or with ``--scheduler`` the cluster batch (Dask is imported only
    then: it takes about a second and a one-machine run does not need it)."""
    if not scheduler:
        if shared_fs:
            raise UsageError("--shared-fs says how workers read files: give --scheduler too")
        from annotator.transcribe.pipeline import run_batch

        return run_batch
    import functools

    try:
        from annotator.transcribe.cluster import run_cluster_batch
    except ImportError as exc:
        raise UsageError(
            f"--scheduler needs Dask: pip install 'annotator[cluster]' ({exc})"
        ) from exc
    return functools.partial(run_cluster_batch, scheduler=scheduler, shared_fs=shared_fs)


def _language_set(value: str) -> tuple[str, ...]:
    """``"en, ES"`` -> ``("en", "es")``, each a language whisper knows (else a usage error)."""
    from annotator.transcribe.languages import check_language

    codes = tuple(dict.fromkeys(c.strip().lower() for c in value.split(",") if c.strip()))
    if not codes:
        raise UsageError(f"--languages {value!r} names no language")
    for code in codes:
        problem = check_language(code, "base")
        if problem is not None:
            raise UsageError(problem)
    return codes


def _require_db(db: Path) -> None:
    if not db.exists():
        raise UsageError(f"{db}: no workspace here (run `annotator transcribe` first or --db)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises for expected errors)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        # With standalone_mode=False click returns the code of a `click.exceptions.Exit`.
        code = cli.main(args=args, prog_name="annotator", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            _error("interrupted; everything saved so far is kept")
            return EXIT_INTERRUPTED
        click.echo("aborted", err=True)
        return EXIT_FAILURE
    except click.ClickException as exc:
        exc.show(file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except AnnotatorError as exc:
        if debug:
            traceback.print_exc()
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted; everything saved so far is kept")
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still one line, unless --debug
        if debug:
            traceback.print_exc()
        click.echo(
            f"annotator: internal error: {type(exc).__name__}: {exc} (--debug shows the traceback)",
            err=True,
        )
        return EXIT_FAILURE
    return code if isinstance(code, int) else EXIT_OK
