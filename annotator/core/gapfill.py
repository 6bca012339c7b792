"""Re-transcribing a speech gap: a run over one span of a media file, kept as its own layer.

A gap (:mod:`annotator.core.coverage`) is speech a detector heard and the run did not write
down. A reviewer may try again there with other settings (no VAD, the multilingual model, a
forced language). What that gives must stay as well accounted for as the first run, and must
never pass for more than it is:

- **A run of its own.** The attempt is an ordinary ``run`` row (hashed into the audit chain
  like any run, its drafts too), whose options record the span under :data:`SPAN_KEY`. Such a
  *span run* is never the media's current full run, never resumed, never the done run that
  makes a later plain ``transcribe`` skip the file (:meth:`~annotator.core.store.Workspace.
  current_run` and friends leave span runs out), and a failed one is left as it is.
- **Drafts only inside the span.** The engine's words outside the span are not stored.
- **The review layer takes only free time.** The drafts become unreviewed machine segments
  in one :class:`~annotator.core.session.ReviewSession` operation (:func:`fill_rows`: one
  audit entry, undone with ``z``). Where a draft overlaps a segment already in the review
  layer (reviewed or not), its words lying over that segment are left out of the review copy
  (they stay in the run's draft) and the existing segment is not touched: a reviewer's work is
  never replaced by a second machine guess, and no stretch is written twice.
- **The gap is measured again.** Once a span run's segments are in the review layer (or it
  wrote nothing), a gap disappears where its text now stands and stays, with the second
  attempt's reason, where that attempt also wrote nothing (:func:`visible_gaps`). Undoing
  the fill (or deleting all its segments) shows the gap again: what shows follows the review
  layer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from annotator.core import chain
from annotator.core.coverage import MIN_GAP_MS, Span, SpeechGap, merge, overlap_ms, subtract
from annotator.core.edits import Rows
from annotator.core.model import (
    DraftSegment,
    MachineSegment,
    Run,
    RunStatus,
    Segment,
    Word,
    words_text,
)
from annotator.core.store import Workspace
from annotator.errors import EditError, UsageError

if TYPE_CHECKING:
    from annotator.core.session import ReviewSession

#: The key of a span run's options that holds its span (``{"start_ms": .., "end_ms": ..}``).
SPAN_KEY = "only"
#: A span shorter than this is refused: the engine needs some audio to say anything.
MIN_SPAN_MS = 200


def parse_span(value: str) -> Span:
    """``"0:41-0:52"`` (also ``41-52``, ``1:02:03.5-1:02:10``) -> milliseconds."""
    parts = re.fullmatch(r"\s*([0-9:.]+)\s*[-\u2013]\s*([0-9:.]+)\s*", value)
    if parts is None:
        raise UsageError(f"--only {value!r}: give START-END, e.g. 0:41-0:52")
    start, end = (_clock_ms(p, value) for p in parts.groups())
    if end - start < MIN_SPAN_MS:
        raise UsageError(f"--only {value!r}: the end must be after the start")
    return start, end


def _clock_ms(text: str, whole: str) -> int:
    try:
        fields = [float(f) for f in text.split(":")]
    except ValueError:
        raise UsageError(f"--only {whole!r}: {text!r} is not a time (m:ss)") from None
    if len(fields) > 3 or any(f < 0 for f in fields):
        raise UsageError(f"--only {whole!r}: {text!r} is not a time (m:ss)")
    seconds = 0.0
    for f in fields:
        seconds = seconds * 60 + f
    return round(seconds * 1000)


def span_of(run: Run) -> Span | None:
    """The span a span run re-transcribed (None for a full run)."""
    only = run.options.get(SPAN_KEY)
    if not isinstance(only, dict):
        return None
    return int(only["start_ms"]), int(only["end_ms"])


def span_options(span: Span, *, full_run: int, gap: SpeechGap | None) -> dict[str, Any]:
    """What a span run's options record besides the engine's: the span, the full run it
    re-transcribes a part of, and the gap it was asked for (if it was one)."""
    return {SPAN_KEY: {
        "start_ms": span[0], "end_ms": span[1], "full_run": full_run,
        "gap": None if gap is None else gap.to_dict(),
    }}


def span_runs(ws: Workspace, media_id: int) -> list[Run]:
    """Every span run of a media, oldest first."""
    return [r for r in ws.runs(media_id) if span_of(r) is not None]


# -- drafts ---------------------------------------------------------------------------------


def clip(seg: MachineSegment, span: Span) -> MachineSegment | None:
    """The part of a machine segment inside ``span``: its words that lie inside (a segment
    without word timings: kept, its times clipped, when its middle is inside); None if
    nothing is left."""
    start, end = span
    if seg.words:
        words = tuple(w for w in seg.words if w.start_ms >= start and w.end_ms <= end)
        if not words:
            return None
        if words == seg.words and seg.start_ms >= start and seg.end_ms <= end:
            return seg
        first, last = max(words[0].start_ms, start), min(words[-1].end_ms, end)
        return replace(seg, start_ms=first, end_ms=max(last, first + 1),
                       text=_words_text(words), words=words)
    if not start <= (seg.start_ms + seg.end_ms) // 2 < end:
        return None
    return replace(seg, start_ms=max(seg.start_ms, start), end_ms=min(seg.end_ms, end))


def store_draft(ws: Workspace, run: Run, index: int, seg: MachineSegment) -> DraftSegment:
    """Store one draft segment of a span run, hashed into the audit chain, *without* a
    review copy: the review layer takes a span run's drafts in one reviewer operation
    (:func:`fill_rows`), not one by one as a full run's."""
    with ws.transaction() as c:
        cur = c.execute(
            "INSERT INTO draft_segment(run_id, idx, start_ms, end_ms, text, words,"
            " avg_logprob, no_speech_prob, compression_ratio) VALUES (?,?,?,?,?,?,?,?,?)",
            (run.id, index, seg.start_ms, seg.end_ms, seg.text,
             json.dumps([w.to_dict() for w in seg.words], ensure_ascii=False),
             seg.avg_logprob, seg.no_speech_prob, seg.compression_ratio),
        )
        draft_id = int(cur.lastrowid or 0)
        chain.record_draft(c, draft_id)
    return DraftSegment(
        index=index, start_ms=seg.start_ms, end_ms=seg.end_ms, text=seg.text,
        words=seg.words, avg_logprob=seg.avg_logprob, no_speech_prob=seg.no_speech_prob,
        compression_ratio=seg.compression_ratio, id=draft_id, run_id=run.id,
    )


def store_gaps(ws: Workspace, run_id: int, gaps: Sequence[SpeechGap]) -> None:
    """Keep the gaps a span run measured inside its span (see :func:`visible_gaps`)."""
    with ws.transaction() as c:
        c.executemany(
            "INSERT OR IGNORE INTO speech_gap(run_id, start_ms, end_ms, reason, detail)"
            " VALUES (?,?,?,?,?)",
            [(run_id, g.start_ms, g.end_ms, g.reason, json.dumps(g.detail, ensure_ascii=False))
             for g in gaps],
        )


def stored_gaps(ws: Workspace, run_id: int) -> list[SpeechGap]:
    return [
        SpeechGap(r["start_ms"], r["end_ms"], r["reason"], json.loads(r["detail"]))
        for r in ws.conn.execute(
            "SELECT * FROM speech_gap WHERE run_id=? ORDER BY start_ms", (run_id,)
        )
    ]


# -- what shows -----------------------------------------------------------------------------


def applied(ws: Workspace, run: Run) -> bool:
    """Does a finished span run count for its span: it wrote nothing (the gap is measured
    again), or some of its drafts are in the review layer (not undone nor all deleted)?"""
    if run.status != RunStatus.DONE:
        return False
    drafts = ws.conn.execute(
        "SELECT COUNT(*) FROM draft_segment WHERE run_id=?", (run.id,)
    ).fetchone()[0]
    if not drafts:
        return True
    row = ws.conn.execute(
        "SELECT 1 FROM segment s JOIN draft_segment d ON d.id = s.draft_id"
        " WHERE d.run_id=? LIMIT 1", (run.id,),
    ).fetchone()
    return row is not None


def visible_gaps(ws: Workspace, media_id: int) -> list[SpeechGap]:
    """The speech gaps a reviewer must see: the full run's, less what each span run since
    (:func:`applied`, in order) put into the review layer, with that run's findings.

    A gap only goes where text now stands: a second attempt that wrote nothing somewhere
    leaves the gap there (with the attempt's reason, or "nothing written" noted), even when
    its detector, hearing the span without what surrounds it, heard no speech there.
    Speech only the second attempt heard and did not write is a gap too.
    """
    from annotator.core import runs

    run = runs.layer_run(ws, media_id)
    if run is None:
        return []
    measured = runs.coverage(ws, run.id)
    gaps = list(measured.gaps) if measured is not None else []
    for later in span_runs(ws, media_id):
        span = span_of(later)
        if later.id < run.id or span is None or not applied(ws, later):
            continue
        covered = merge(_written(ws, later.id))
        found = stored_gaps(ws, later.id)
        tried = {"run": later.id, "settings": settings(later)}
        kept: list[SpeechGap] = []
        for gap in gaps:
            for part in _pieces(gap, covered):
                inside = (part.start_ms, part.end_ms)
                if overlap_ms(inside, span) == 0:
                    kept.append(part)
                    continue
                why = max(found, key=lambda g: overlap_ms(inside, (g.start_ms, g.end_ms)),
                          default=None)
                if why is not None and overlap_ms(inside, (why.start_ms, why.end_ms)):
                    kept.append(replace(part, reason=why.reason,
                                        detail={**why.detail, **tried}))
                else:
                    kept.append(replace(part, detail={
                        **part.detail, **tried, "result": "nothing written here"}))
        taken = covered + [(g.start_ms, g.end_ms) for g in kept]
        for gap in found:
            kept += [replace(p, detail={**p.detail, **tried}) for p in _pieces(gap, taken)]
        gaps = kept
    return sorted(gaps, key=lambda g: (g.start_ms, g.end_ms))


def _written(ws: Workspace, run_id: int) -> list[Span]:
    """Where the review layer holds segments made from a run's drafts."""
    return [
        (int(r[0]), int(r[1])) for r in ws.conn.execute(
            "SELECT s.start_ms, s.end_ms FROM segment s JOIN draft_segment d"
            " ON d.id = s.draft_id WHERE d.run_id=?", (run_id,),
        )
    ]


def _pieces(gap: SpeechGap, cuts: Sequence[Span]) -> list[SpeechGap]:
    """The parts of a gap outside ``cuts`` still long enough to be a gap."""
    return [
        replace(gap, start_ms=a, end_ms=b)
        for a, b in subtract([(gap.start_ms, gap.end_ms)], cuts) if b - a >= MIN_GAP_MS
    ]


def settings(run: Run) -> str:
    """A span run's settings as a reviewer names them: ``base, no VAD, language es``."""
    options = run.options
    out = [run.model_id]
    if options.get("vad_filter") is False:
        out.append("no VAD")
    if options.get("language"):
        out.append(f"language {options['language']}")
    return ", ".join(out)


# -- the review layer -----------------------------------------------------------------------


def fill_rows(s: ReviewSession, run: Run) -> tuple[Rows, Rows]:
    """Edit builder: the span run's drafts as unreviewed machine segments, on free time only
    (see the module: words over an existing segment are left out of the review copy)."""
    span = span_of(run)
    if span is None or run.status != RunStatus.DONE:
        raise EditError(f"run {run.id} is not a finished re-transcription of a span")
    drafts = s.ws.drafts(run.id)
    ids = {d.id for d in drafts}
    if any(seg.draft_id in ids for seg in s.segments):
        raise EditError(f"run {run.id} is already in the transcript")
    taken = [(seg.start_ms, seg.end_ms) for seg in s.segments
             if seg.end_ms > span[0] and seg.start_ms < span[1]]
    free = subtract([span], taken)
    note = f"re-transcribed ({settings(run)}; run {run.id})"
    before, after = Rows(), Rows()
    for draft in drafts:
        for start, end, words in _free_parts(draft, free):
            text = draft.text if words == draft.words else _words_text(words)
            seg = Segment(
                id=s.allocate_id("segment"), media_id=s.media_id, start_ms=start,
                end_ms=end, machine_text=text, words=words, draft_id=draft.id,
                avg_logprob=draft.avg_logprob, no_speech_prob=draft.no_speech_prob,
                compression_ratio=draft.compression_ratio, note=note,
            )
            before.segments[seg.id], after.segments[seg.id] = None, seg
    return before, after


def _free_parts(
    draft: DraftSegment, free: Sequence[Span]
) -> list[tuple[int, int, tuple[Word, ...]]]:
    """(start, end, words) of the parts of a draft lying in free time, one per free stretch
    its words fall in."""
    for a, b in free:
        if a <= draft.start_ms and draft.end_ms <= b:
            return [(draft.start_ms, draft.end_ms, draft.words)]
    parts: list[tuple[int, int, tuple[Word, ...]]] = []
    for a, b in free:
        words = tuple(w for w in draft.words if a <= w.start_ms and w.end_ms <= b)
        if words:
            parts.append((max(words[0].start_ms, a), min(words[-1].end_ms, b), words))
    return [(start, max(end, start + 1), words) for start, end, words in parts]


def _words_text(words: Sequence[Word]) -> str:
    return words_text(tuple(words))
