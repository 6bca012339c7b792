"""Export one media's transcript with its manifest: what every export path should call.

:func:`annotator.formats.export` writes one format; a handed-over export also needs its
manifest (:mod:`annotator.formats.manifest`), written from the same snapshot: the transcript
and the audit chain's head are read in one workspace transaction, so the manifest names the
chain state the files were made from, not a later one. The CLI's ``export`` and
``transcribe --export`` use :func:`export_media`; the review app should too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from annotator.core import chain
from annotator.core.document import Transcript, load_transcript
from annotator.core.redaction import redact_stated_facts
from annotator.core.store import Workspace
from annotator.formats import export, manifest


@dataclass(frozen=True)
class Published:
    """What one export wrote: the files (in format order) and their manifest."""

    transcript: Transcript
    files: tuple[Path, ...]
    manifest: Path


def export_media(
    ws: Workspace, media_id: int, formats: Sequence[str], out: Path, *, reviewer: str,
    redaction: manifest.Redaction | None = None,
    prepare: Callable[[Transcript], Transcript] | None = None,
) -> Published:
    """Write ``formats`` of a media's transcript into ``out`` and the manifest beside them.

    ``prepare`` sees the transcript as loaded (to warn about it) and returns what to write
    (redacted, say); ``redaction`` is what the manifest says was left out."""
    with ws.transaction():
        transcript = load_transcript(ws, media_id)
        head = chain.head(ws.conn)
    if prepare is not None:
        transcript = prepare(transcript)
    if redaction is not None and redaction.names:
        transcript = without_fact_names(transcript)
    files = [export(transcript, fmt, out) for fmt in formats]
    data = manifest.build(
        transcript, files, reviewer=reviewer, head=head,
        redaction=redaction or manifest.Redaction(), formats=formats,
    )
    written = manifest.write(data, manifest.manifest_path(files[0]))
    return Published(transcript, tuple(files), written)


def without_fact_names(transcript: Transcript) -> Transcript:
    """The acquisition facts as a ``--redact names`` export carries them
    (:func:`annotator.core.redaction.redact_stated_facts`)."""
    stated = redact_stated_facts(transcript.acquisition.get("stated", {}))
    return replace(transcript, acquisition={**transcript.acquisition, "stated": stated})
