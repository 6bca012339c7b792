"""The commands about the record itself: ``verify``, ``media`` (acquisition facts), ``report``.

Kept apart from :mod:`annotator.cli` (transcribe, export, list, review) so each file stays
readable; :mod:`annotator.cli` adds these commands to its group. Same conventions: results on
stdout, one ``annotator: error: ...`` line per problem on stderr, exit codes 0/1/2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from annotator.core.store import DEFAULT_DB, Workspace
from annotator.errors import EXIT_FAILURE, UsageError

db_option = click.option(
    "--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
    show_default=True, help="Workspace file (SQLite) holding media, runs and reviews.",
)


_FACTS_META = "annotator.stated_facts"


def fact_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--source-url``, ``--captured-by``, ... (one per stated fact key): what a command
    decorated with them was told is in :func:`stated_facts`."""
    from annotator.core.acquisition import FACT_KEYS

    def remember(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None and param.name is not None:
            ctx.meta.setdefault(_FACTS_META, {})[param.name] = value

    for key, meaning in reversed(FACT_KEYS.items()):
        command = click.option(
            f"--{key.replace('_', '-')}", key, default=None, expose_value=False,
            callback=remember, metavar="TEXT",
            help=f"Record {meaning} (stored with the media, audited; `annotator media set` "
                 "changes it later).",
        )(command)
    return command


def stated_facts() -> dict[str, str]:
    """The fact options given to the running command (see :func:`fact_options`)."""
    facts: dict[str, str] = click.get_current_context().meta.get(_FACTS_META, {})
    return dict(facts)


def _redaction(ctx: click.Context, param: click.Parameter, value: str) -> frozenset[str]:
    chosen = frozenset(w.strip().lower() for w in value.split(",") if w.strip())
    if chosen - {"names", "paths"}:
        raise click.BadParameter(f"takes names and paths, not {value!r}", ctx, param)
    return chosen


redact_what_option = click.option(
    "--redact", default="", metavar="WHAT", callback=_redaction,
    help="Comma list: names (speakers appear by role and agency, e.g. 'Officer (speaker 3)'; "
         "notes are blanked; names spoken in the recording stay, as they were said), paths "
         "(file names instead of folder paths). The workspace is unchanged; the manifest "
         "says what was redacted.",
)


def _error(message: str) -> None:
    click.echo(f"annotator: error: {message}", err=True)


@click.command("verify")
@click.argument("media", required=False)
@click.option("--exports", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also check every <stem>.manifest.json in this folder and the files it "
                   "lists (SHA-256 and size), and that the audit chain head it names is still "
                   "in the workspace.")
@click.option("--no-db", is_flag=True,
              help="Check only the manifests in --exports, without a workspace (a recipient "
                   "of exported files has none).")
@db_option
def verify_cmd(media: str | None, exports: Path | None, no_db: bool, db: Path) -> None:
    """Check that the record still holds: media files, audit chain, drafts, runs, exports.

    Recomputes the SHA-256 of each media file present (MEDIA: only that one), of every audit
    entry and its link to the one before, of every machine-draft segment and run against the
    hash the chain recorded when it was stored, and, with --exports DIR, of every manifest
    and file there. Prints what holds on stdout. Exit 0 when everything holds; exit 1 naming
    the first broken thing (which audit entry, which file, what differs) on stderr.
    """
    from annotator.verify import verify

    if no_db and exports is None:
        raise UsageError("--no-db checks manifests only: give --exports DIR")
    if not no_db and not db.exists():
        raise UsageError(f"{db}: no workspace here (give --db, or --no-db --exports DIR)")
    if no_db:
        findings = verify(None, None, exports)
    else:
        with Workspace(db, read_only=True) as ws:
            chosen = ws.find_media(media) if media is not None else None
            findings = verify(ws, chosen, exports)
    broken = [f for f in findings if not f.ok]
    for finding in findings:
        if finding.ok:
            click.echo(f"ok: {finding}")
    for finding in broken:
        _error(str(finding))
    if broken:
        raise click.exceptions.Exit(EXIT_FAILURE)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser() or "unknown"
    except (KeyError, OSError):
        return "unknown"


@click.group("media")
def media_group() -> None:
    """Acquisition facts of a media: where it came from, who captured it, when and how.

    Stated facts (set here or with `transcribe --source-url ...`) are stored and audited;
    what the file's own metadata says (creation time, device, GPS) is shown beside them and
    never overwritten.
    """


@media_group.command("set")
@click.argument("media")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@click.option("--by", "who", default=None, help="Who states these facts (default: $USER).")
@db_option
def media_set(media: str, assignments: tuple[str, ...], who: str | None, db: Path) -> None:
    """Record stated facts about MEDIA (an empty value removes one). Keys: source_url,
    captured_by, captured_at, captured_where, obtained_from, obtained_how, obtained_at,
    notes. Each change is an audit entry signed --by."""
    from annotator.core.acquisition import parse_assignment, set_facts

    values = dict(parse_assignment(a) for a in assignments)
    _require_db(db)
    with Workspace(db) as ws:
        m = ws.find_media(media)
        entry = set_facts(ws, m.id, values, who or _user())
    click.echo("unchanged" if entry is None else f"recorded (audit entry {entry})")


@media_group.command("show")
@click.argument("media")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: media (id, path, sha256, size, duration_ms, added_at), file "
                   "(state: same, missing or changed; sha256_now), stated (key -> value, "
                   "set_at, set_by) and container (what the file's metadata claims).")
@db_option
def media_show(media: str, as_json: bool, db: Path) -> None:
    """Show MEDIA's acquisition facts: stated ones and the file's own metadata side by side,
    and whether the file on disk is still the one transcribed."""
    from annotator.core.acquisition import describe

    _require_db(db)
    with Workspace(db, read_only=True) as ws:
        info = describe(ws, ws.find_media(media))
    if as_json:
        import json

        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    m = info["media"]
    click.echo(f"media {m['id']}: {m['path']}\nsha256 {m['sha256']}  file: {info['file']['state']}")
    click.echo("stated:")
    for key, fact in info["stated"].items():
        click.echo(f"  {key}: {fact['value']}  ({fact['set_by']}, {fact['set_at']})")
    click.echo("the file's own metadata (not editable):")
    for key, value in info["container"].items():
        click.echo(f"  {key}: {value}")


@media_group.command("relink")
@click.argument("media")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@db_option
def media_relink(media: str, path: Path, db: Path) -> None:
    """Point MEDIA at a moved copy of its recording (accepted only with the same SHA-256;
    audited)."""
    from annotator.core.acquisition import relink

    _require_db(db)
    with Workspace(db) as ws:
        moved = relink(ws, ws.find_media(media), path, _user())
    click.echo(moved.path)


def _require_db(db: Path) -> None:
    if not db.exists():
        raise UsageError(f"{db}: no workspace here (run `annotator transcribe` first or --db)")


@click.command("report")
@click.argument("media")
@click.option("--format", "format_", default="html,md", show_default=True,
              help="Comma list of html (one self-contained file: no network, no scripts; "
                   "prints, reads on a phone) and md (Markdown).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("exports"), show_default=True,
              help="Folder for the report (and where the export manifests it lists are).")
@redact_what_option
@click.option("--reviewer", default=None, help="Who makes the report (default: $USER).")
@db_option
def report_cmd(
    media: str, format_: str, out: Path, redact: frozenset[str], reviewer: str | None,
    db: Path,
) -> None:
    """Write an incident timeline report of MEDIA: every line in time order (a #t=start,end
    link into the recording, speaker and agency, actions, the quote, marked where a reviewer
    corrected the machine draft, review state), then actions per agency and per speaker, how
    much is still unreviewed or disputed, provenance, acquisition facts and the hashes of the
    export manifests in --out. Writes <stem>.report.html/.md and a manifest; prints the
    paths."""
    from annotator.report import parse_report_formats, write_report

    formats = parse_report_formats(format_)
    _require_db(db)
    with Workspace(db, read_only=True) as ws:
        written = write_report(
            ws, ws.find_media(media).id, formats, out, reviewer=reviewer or _user(),
            redact_names="names" in redact, redact_paths="paths" in redact,
        )
    for path in written:
        click.echo(str(path))


COMMANDS: list[click.Command] = [verify_cmd, media_group, report_cmd]
