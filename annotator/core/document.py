"""A transcript as exporters see it: one media file, its provenance, segments and speakers.

Exporters never query the workspace themselves; :func:`load_transcript` gathers everything
in one read, so every format writes from the same consistent snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import Any

from annotator import __version__
from annotator.core import acquisition, captures, chain, runs
from annotator.core.coverage import Coverage
from annotator.core.gapfill import visible_gaps
from annotator.core.model import (
    Codebook,
    Media,
    Run,
    RunStatus,
    Segment,
    SegmentLanguage,
    Speaker,
    SuppressedSegment,
    Translation,
)
from annotator.core.runlock import holder
from annotator.core.store import Workspace, utcnow
from annotator.core.suggestions import Event, Suggestion, suggestions
from annotator.core.suggestions import events as timeline
from annotator.core.translations import segment_languages, segment_translations
from annotator.core.workers import of_run as piece_workers


@dataclass(frozen=True)
class Transcript:
    """Everything an export needs, frozen at one moment."""

    media: Media
    run: Run | None
    segments: tuple[Segment, ...]
    speakers: dict[int, Speaker] = field(default_factory=dict)
    codebook: Codebook | None = None
    codebook_info: dict[str, str] | None = None
    tool_version: str = __version__
    exported_at: str = ""
    #: machine segments the run held back as probable hallucinations (not in ``segments``)
    suppressed: tuple[SuppressedSegment, ...] = ()
    #: True when folder paths were left out (see :meth:`without_paths`)
    paths_redacted: bool = False
    #: Why this transcript may not be the whole story (a run still in progress or
    #: interrupted, a file that ends early...): plain sentences, written by every format
    #: where a reader of the file will see them (see :func:`transcript_warnings`).
    warnings: tuple[str, ...] = ()
    #: how much heard speech the run's segments cover, with the gaps (None: not recorded)
    coverage: Coverage | None = None
    #: segment id -> the language recorded for it (absent: not detected, or inserted)
    languages: dict[int, SegmentLanguage] = field(default_factory=dict)
    #: segment id -> its translation (machine, with any reviewer correction)
    translations: dict[int, Translation] = field(default_factory=dict)
    #: what caption formats write: "original", "translation" (where there is one, else the
    #: original) or "both" (bilingual: the original above its translation)
    captions: str = "original"
    #: the visible speaker label caption formats put before each cue's text: "name",
    #: "name+agency" or "none" (see :mod:`annotator.formats.labels`)
    labels: str = "name"
    #: the suggestion layer (:mod:`annotator.core.suggestions`): every suggestion with its
    #: status, and the events on the timeline (accepted ones become caption cues)
    suggestions: tuple[Suggestion, ...] = ()
    events: tuple[Event, ...] = ()

    #: the cluster worker that decoded each piece of the run (:mod:`annotator.core.workers`;
    #: empty when one process decoded it)
    workers: tuple[dict[str, Any], ...] = ()

    #: where the recording came from (issue 10.1): ``stated`` acquisition facts (value,
    #: set_at, set_by) and what the file's ``container`` metadata claims, read at export
    #: time (:mod:`annotator.core.acquisition`), so an export alone says where it came from
    acquisition: dict[str, Any] = field(default_factory=dict)
    #: the audit chain's newest entry when this snapshot was read (``audit_id``, ``sha256``;
    #: None for an empty chain): the state of the record the export was made from
    chain_head: dict[str, Any] | None = None

    def caption_cues(self) -> tuple[Segment, ...]:
        """What caption formats write, in time order: the segments, and each accepted event
        (reviewed and tagged) as a cue of its own such as ``[12 strikes]``, a segment with no
        speaker and a negative id (it is not a row of the review layer)."""
        events = [
            Segment(-ev.id, ev.media_id, ev.start_ms, ev.end_ms, ev.caption)
            for ev in self.events if ev.state != "unreviewed" and ev.tags
        ]
        if not events:
            return self.segments
        return tuple(sorted((*self.segments, *events), key=lambda s: (s.start_ms, s.id)))

    def language_of(self, seg: Segment) -> SegmentLanguage | None:
        return self.languages.get(seg.id)

    def translation_of(self, seg: Segment) -> Translation | None:
        return self.translations.get(seg.id)

    def without_paths(self) -> Transcript:
        """The same transcript with every folder path reduced to its last part (the media's
        file name, the model folder's name). Folder names can name people and places; the
        SHA-256 hashes still identify the media and the model exactly. The export says so."""
        media = replace(
            self.media, path=PurePath(self.media.path).name,
            typed_path=PurePath(self.media.typed_path).name,
        )
        run = self.run
        if run is not None and "model_path" in run.options:
            options = {**run.options, "model_path": PurePath(run.options["model_path"]).name}
            run = replace(run, options=options)
        return replace(self, media=media, run=run, paths_redacted=True)

    def speaker_of(self, seg: Segment) -> Speaker | None:
        return self.speakers.get(seg.speaker_id) if seg.speaker_id is not None else None

    def speaker_label(self, seg: Segment) -> str | None:
        sp = self.speaker_of(seg)
        return sp.label if sp is not None else None

    def tag_label(self, key: str) -> str:
        return self.codebook.label(key) if self.codebook is not None else key

    def provenance(self) -> dict[str, Any]:
        """Where this transcript came from: the media hash, the model and its hash, engine
        versions, every option, the codebook and this tool's version. Written into every
        export that has room for it."""
        run = self.run
        return {
            "tool": "annotator",
            "tool_version": self.tool_version,
            "exported_at": self.exported_at,
            "media": {
                "path": self.media.path,
                "sha256": self.media.sha256,
                "size": self.media.size,
                "duration_ms": self.media.duration_ms,
            },
            "run": None if run is None else {
                "id": run.id,
                "model_id": run.model_id,
                "model_sha256": run.model_sha256,
                "engine_versions": run.engine_versions,
                "options": run.options,
                "language": run.language,
                "language_probability": run.language_probability,
                "created_at": run.created_at,
                "finished_at": run.finished_at,
                **({"workers": list(self.workers)} if self.workers else {}),
            },
            "codebook": self.codebook_info,
            "paths_redacted": self.paths_redacted,
            "warnings": list(self.warnings),
        }


def held_back(ws: Workspace, media_id: int) -> list[SuppressedSegment]:
    """Machine segments the media's run held back as heard in silence (see
    :class:`SuppressedSegment`): shown as a count by the CLI and the review app, so nobody
    forgets they exist."""
    run = runs.layer_run(ws, media_id)
    return [] if run is None else ws.suppressed(run.id)


def run_in_progress(ws: Workspace, media: Media, run: Run) -> bool:
    """Is ``run`` still being transcribed, so that more segments may come? Only while it is
    marked running *and* a process holds its media's lock (:mod:`annotator.core.runlock`);
    a running run nobody holds was interrupted (killed, crashed, a full disk)."""
    return run.status == RunStatus.RUNNING and holder(ws.path, media.sha256) is not None


def transcript_warnings(
    run: Run | None, segments: int, *, in_progress: bool = False
) -> tuple[str, ...]:
    """What an export of a media transcribed by ``run`` (holding ``segments`` segments) must
    say about itself: a run still in progress or interrupted gives a partial transcript, and
    the run's own warnings (a file that ends early...) carry over."""
    if run is None:
        return ()
    out: list[str] = []
    if str(run.status) != "done":
        stored = f"the {segments} segment{'s' if segments != 1 else ''} stored so far"
        if in_progress:
            out.append(
                f"partial transcript: transcription (run {run.id}) was still in progress at "
                f"export; this holds only {stored}"
            )
        else:
            out.append(
                f"partial transcript: transcription (run {run.id}) was interrupted; this holds "
                f"only {stored} (transcribe the file again to finish it)"
            )
    out.extend(run.warnings)
    return tuple(out)


def load_transcript(ws: Workspace, media_id: int) -> Transcript:
    """Read one media file's transcript from the workspace in a single snapshot."""
    with ws.transaction():
        media = ws.media(media_id)
        # The run whose segments these are: a finished one, else the one still running (or
        # interrupted), so an export made mid-transcription still names its model and status.
        run = runs.layer_run(ws, media_id)
        segments = tuple(ws.segments(media_id))
        speakers = {sp.id: sp for sp in ws.speakers(media_id)}
        cb_id = ws.media_codebook(media_id)
        codebook = ws.load_codebook(cb_id) if cb_id is not None else None
        info = ws.codebook_info(cb_id) if cb_id is not None else None
        suppressed = tuple(held_back(ws, media_id))
        heard = runs.coverage(ws, run.id) if run is not None else None
        if heard is not None:  # less what re-transcribed spans now cover (core.gapfill)
            heard = replace(heard, gaps=tuple(visible_gaps(ws, media_id)))
        languages = segment_languages(ws, media_id)
        translated = segment_translations(ws, media_id)
        stated, head = acquisition.facts(ws, media_id), chain.head(ws.conn)
        suggested, events = tuple(suggestions(ws, media_id)), tuple(timeline(ws, media_id))
        decoded_by = () if run is None else tuple(piece_workers(ws, run.id))
    return Transcript(
        media, run, segments, speakers, codebook, info, __version__, utcnow(), suppressed,
        warnings=transcript_warnings(
            run, len(segments),
            in_progress=run is not None and run_in_progress(ws, media, run),
        ),
        coverage=heard, languages=languages, translations=translated,
        acquisition={"stated": stated,
                     "container": acquisition.container_facts(Path(media.path)),
                     # a live capture's record as the workspace holds it now (issue 12.4)
                     "capture": captures.provenance(ws, media_id)},
        chain_head=None if head is None else head.to_dict(),
        suggestions=suggested, events=events, workers=decoded_by,
    )
