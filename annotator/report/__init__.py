"""Incident timeline reports: ``annotator report MEDIA [--format html,md] [--out DIR]``.

:func:`write_report` reads one snapshot of a media's transcript, its acquisition facts and
the audit chain's head, builds the :class:`~annotator.report.timeline.Timeline` and writes
each format as ``<export stem>.report.<ext>`` with a manifest beside them (the same kind as
an export's, :mod:`annotator.formats.manifest`), so ``annotator verify --exports DIR``
checks reports too. The manifests of exports already in the folder are listed in the report
by their SHA-256, tying the report to the exact files it summarises.

Layout: :mod:`~annotator.report.timeline` (what is shown), :mod:`~annotator.report.html`
and :mod:`~annotator.report.markdown` (how), :mod:`~annotator.report.waveform` (the strip).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from annotator.core import acquisition, chain
from annotator.core.document import load_transcript
from annotator.core.redaction import redact_stated_facts
from annotator.core.store import Workspace
from annotator.errors import UnknownFormatError
from annotator.formats import default_stem, manifest
from annotator.formats.atomic import write_atomic
from annotator.report import html, markdown, timeline, waveform

#: Report format identifier -> file extension.
REPORT_FORMATS = {"html": ".html", "md": ".md"}


def parse_report_formats(spec: str) -> list[str]:
    """``"html, md"`` -> ``["html", "md"]``; :class:`UnknownFormatError` otherwise."""
    out: list[str] = []
    for item in spec.split(","):
        name = item.strip().lower()
        if not name:
            continue
        if name not in REPORT_FORMATS:
            raise UnknownFormatError(item.strip())
        if name not in out:
            out.append(name)
    if not out:
        raise UnknownFormatError(spec)
    return out


def _export_manifests(out: Path, sha256: str) -> tuple[tuple[str, str], ...]:
    """(name, SHA-256) of the export manifests in ``out`` for the media ``sha256``."""
    found = []
    for path in sorted(out.glob(f"*{manifest.SUFFIX}")) if out.is_dir() else []:
        if path.name.endswith(f".report{manifest.SUFFIX}"):
            continue
        try:
            data = manifest.read(path)
        except manifest.ManifestError:
            continue
        if data.get("media", {}).get("sha256") == sha256:
            found.append((path.name, manifest.file_sha256(path)))
    return tuple(found)


def write_report(
    ws: Workspace, media_id: int, formats: Sequence[str], out: Path, *, reviewer: str,
    redact_names: bool = False, redact_paths: bool = False,
) -> list[Path]:
    """Write the report in ``formats`` and its manifest; returns the paths written (the
    manifest last). Refuses (:class:`~annotator.core.acquisition.MediaChangedError`) when the
    recording on disk is no longer the one transcribed: its waveform would be another's."""
    with ws.transaction():
        transcript = load_transcript(ws, media_id)
        head = chain.head(ws.conn)
    media = transcript.media
    facts = acquisition.describe(ws, media, acquisition.require_same_file(media))
    if redact_paths:
        transcript = transcript.without_paths()
        facts["media"]["path"] = transcript.media.path
    if redact_names:
        facts["stated"] = redact_stated_facts(facts["stated"])
    tl = timeline.build(
        transcript, acquisition=facts, chain_head=None if head is None else head.to_dict(),
        manifests=_export_manifests(out, media.sha256), redact_names=redact_names,
    )
    stem = _report_stem(default_stem(transcript.media))
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for fmt in formats:
        if fmt == "html":
            strip = waveform.svg(
                waveform.peaks(Path(media.path), media.duration_ms),
                [(r.start_ms, r.end_ms, r.state) for r in tl.rows], media.duration_ms,
            )
            text = html.render(tl, strip)
        else:
            text = markdown.render(tl)
        path = out / f"{stem}{REPORT_FORMATS[fmt]}"
        write_atomic(path, text.encode("utf-8"))
        files.append(path)
    data = manifest.build(
        transcript, files, reviewer=reviewer, head=head,
        redaction=manifest.Redaction(paths=redact_paths, names=redact_names),
        formats=[f"report-{f}" for f in formats],
    )
    return [*files, manifest.write(data, manifest.manifest_path(files[0]))]


def _report_stem(export_stem: str) -> str:
    """``<export stem>.report``, the media's name shortened if ``.report.manifest.json``
    would not fit a file name (the SHA-256 prefix is always kept)."""
    room = 255 - len(f".report{manifest.SUFFIX}".encode())
    if len(export_stem.encode()) > room:
        name, sha = export_stem.rsplit(".", 1)
        name = name.encode()[: room - len(sha) - 1].decode("utf-8", errors="ignore")
        export_stem = f"{name}.{sha}"
    return f"{export_stem}.report"
