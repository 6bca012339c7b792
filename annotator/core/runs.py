"""What a transcription run keeps besides its segments: checkpoints, its process, how it ended.

:class:`~annotator.core.store.Workspace` owns the connection and the rows every part of the
tool reads (media, drafts, the review layer); this module holds the writes only the
transcription stage makes while a run goes on, so the workspace stays a thin owner of the
connection and each concern stays small:

- a :class:`~annotator.core.model.Checkpoint` at the start of every piece, so an interrupted
  run can be decoded again from a point where the decoder's state is known
  (:func:`save_checkpoint`, :func:`last_checkpoint`);
- which process runs the run and its last sign of life (:func:`claim`, and the heartbeat
  written in the same transaction as each stored segment by :func:`store_draft`);
- how much audio was decoded and what the run warns about (:func:`finish`).

Every function takes the workspace and commits in its own transaction (or joins the caller's).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from typing import Any

from annotator.core import chain
from annotator.core.coverage import Coverage, SpeechGap
from annotator.core.model import (
    Checkpoint,
    DraftSegment,
    MachineSegment,
    ReviewState,
    Run,
    RunStatus,
    Segment,
    SegmentLanguage,
)
from annotator.core.store import Workspace, utcnow


def owner_record() -> dict[str, Any]:
    """This process, as a run records it: host, pid and when it started working on the run."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": utcnow()}


def claim(ws: Workspace, run_id: int, owner: dict[str, Any]) -> None:
    """Record that ``owner`` (this process) runs the run from now on, and mark it running."""
    with ws.transaction() as c:
        c.execute(
            "UPDATE run SET owner=?, heartbeat_at=?, status=?, finished_at=NULL WHERE id=?",
            (json.dumps(owner), utcnow(), str(RunStatus.RUNNING), run_id),
        )


def save_checkpoint(ws: Workspace, run_id: int, cp: Checkpoint) -> None:
    """Store the state a piece starts from (the same piece decoded again replaces it with
    what is, by construction, the same state)."""
    with ws.transaction() as c:
        c.execute(
            "INSERT OR REPLACE INTO run_checkpoint(run_id, piece, restart_ms, cut_ms,"
            " first_index, context, restart_sample, cut_sample, carry, languages)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (run_id, cp.piece, cp.restart_ms, cp.cut_ms, cp.first_index,
             json.dumps(list(cp.context)), cp.restart_sample, cp.cut_sample,
             json.dumps([[end, list(tokens)] for end, tokens in cp.carry]),
             json.dumps([list(heard) for heard in cp.languages])),
        )
        c.execute("UPDATE run SET heartbeat_at=? WHERE id=?", (utcnow(), run_id))


def last_checkpoint(ws: Workspace, run_id: int) -> Checkpoint | None:
    """The latest piece start the run stored, if any."""
    row = ws.conn.execute(
        "SELECT * FROM run_checkpoint WHERE run_id=? ORDER BY piece DESC LIMIT 1", (run_id,)
    ).fetchone()
    if row is None:
        return None
    return Checkpoint(
        piece=row["piece"], restart_sample=row["restart_sample"], cut_sample=row["cut_sample"],
        first_index=row["first_index"], context=tuple(json.loads(row["context"])),
        carry=tuple((float(end), tuple(tokens)) for end, tokens in json.loads(row["carry"])),
        languages=tuple(
            (str(lang), int(ms), bool(known)) for lang, ms, known in json.loads(row["languages"])
        ),
    )


def save_coverage(ws: Workspace, run_id: int, piece: int, coverage: Coverage) -> None:
    """Store how much heard speech a finished piece covers, and its gaps (a piece decoded
    again after an interruption stores the same ones once)."""
    with ws.transaction() as c:
        c.execute(
            "UPDATE run_checkpoint SET heard_ms=?, written_ms=? WHERE run_id=? AND piece=?",
            (coverage.heard_ms, coverage.written_ms, run_id, piece),
        )
        c.executemany(
            "INSERT OR IGNORE INTO speech_gap(run_id, start_ms, end_ms, reason, detail)"
            " VALUES (?,?,?,?,?)",
            [(run_id, g.start_ms, g.end_ms, g.reason, json.dumps(g.detail, ensure_ascii=False))
             for g in coverage.gaps],
        )


def coverage(ws: Workspace, run_id: int) -> Coverage | None:
    """The run's coverage over the pieces it finished (None before the first one)."""
    row = ws.conn.execute(
        "SELECT SUM(heard_ms), SUM(written_ms), COUNT(heard_ms) FROM run_checkpoint"
        " WHERE run_id=?", (run_id,),
    ).fetchone()
    if not row[2]:
        return None
    gaps = tuple(
        SpeechGap(r["start_ms"], r["end_ms"], r["reason"], json.loads(r["detail"]))
        for r in ws.conn.execute(
            "SELECT * FROM speech_gap WHERE run_id=? ORDER BY start_ms", (run_id,)
        )
    )
    return Coverage(int(row[0]), int(row[1]), gaps)


def store_draft(ws: Workspace, run: Run, index: int, seg: MachineSegment) -> Segment:
    """Store one machine segment (draft and review copy) and the run's heartbeat in one
    transaction."""
    with ws.transaction() as c:
        stored = ws.add_draft(
            run, index, seg.start_ms, seg.end_ms, seg.text, seg.words, seg.avg_logprob,
            seg.no_speech_prob, seg.compression_ratio,
        )
        if seg.translation is not None:
            t = seg.translation
            c.execute(
                "INSERT INTO draft_translation(draft_id, language, text, model_id, model_sha256)"
                " VALUES (?,?,?,?,?)",
                (stored.draft_id, t.language, t.machine_text, t.model_id, t.model_sha256),
            )
        if seg.language or seg.model_id:
            c.execute(
                "INSERT INTO draft_language(draft_id, language, probability, model_id)"
                " VALUES (?,?,?,?)",
                (stored.draft_id, seg.language, seg.language_probability,
                 seg.model_id or run.model_id),
            )
        c.execute("UPDATE run SET heartbeat_at=? WHERE id=?", (utcnow(), run.id))
    return stored


def draft_languages(ws: Workspace, media_id: int) -> dict[int, SegmentLanguage]:
    """The recorded language of every draft segment of a media's runs, by draft id."""
    rows = ws.conn.execute(
        "SELECT l.* FROM draft_language l JOIN draft_segment d ON d.id = l.draft_id"
        " JOIN run r ON r.id = d.run_id WHERE r.media_id=?", (media_id,),
    )
    return {
        int(r["draft_id"]): SegmentLanguage(r["language"], r["probability"], r["model_id"])
        for r in rows
    }


def language_counts(ws: Workspace, run_id: int) -> dict[str, int]:
    """How many draft segments of a run are in each language ('' = not detected)."""
    rows = ws.conn.execute(
        "SELECT COALESCE(l.language, '') AS language, COUNT(*) AS n FROM draft_segment d"
        " LEFT JOIN draft_language l ON l.draft_id = d.id WHERE d.run_id=?"
        " GROUP BY 1 ORDER BY 2 DESC, 1", (run_id,),
    )
    return {str(r["language"]): int(r["n"]) for r in rows}


def same_machine_output(draft: MachineSegment, seg: MachineSegment) -> bool:
    """Did the engine write ``seg`` exactly as the stored ``draft`` (times, text, words)?"""
    return (draft.start_ms, draft.end_ms, draft.text, draft.words) == (
        seg.start_ms, seg.end_ms, seg.text, seg.words,
    )


def untouched(ws: Workspace, draft: DraftSegment) -> bool:
    """Is the review layer of ``draft`` still exactly the machine's copy (nobody corrected,
    tagged, reviewed, split, joined, moved or deleted it)? Only such a segment may be
    replaced when a resumed run decodes it differently."""
    rows = ws.conn.execute("SELECT id FROM segment WHERE draft_id=?", (draft.id,)).fetchall()
    if len(rows) != 1:
        return False
    seg = ws.segment(int(rows[0]["id"]))
    return (
        (seg.start_ms, seg.end_ms, seg.machine_text, seg.words)
        == (draft.start_ms, draft.end_ms, draft.text, draft.words)
        and seg.human_text is None and seg.speaker_id is None and not seg.tags
        and seg.state == ReviewState.UNREVIEWED and not seg.note
    )


def drop_draft(ws: Workspace, draft_id: int) -> None:
    """Remove an unreviewed draft segment and its review copy (the caller checked
    :func:`untouched`)."""
    with ws.transaction() as c:
        chain.record_draft_dropped(c, draft_id, "a resumed run decoded it differently")
        c.execute("DELETE FROM segment WHERE draft_id=?", (draft_id,))
        c.execute("DELETE FROM draft_segment WHERE id=?", (draft_id,))


def finish(
    ws: Workspace, run_id: int, status: RunStatus, *, decoded_ms: int | None = None,
    warnings: Iterable[str] = (),
) -> None:
    """End the run: its status, the audio it decoded (if it got to the end) and its
    warnings (added to any it already has, each once)."""
    with ws.transaction() as c:
        row = c.execute("SELECT warnings FROM run WHERE id=?", (run_id,)).fetchone()
        known: list[str] = json.loads(row["warnings"]) if row is not None else []
        known += [w for w in warnings if w not in known]
        c.execute(
            "UPDATE run SET status=?, finished_at=?, heartbeat_at=?, warnings=?,"
            " decoded_ms=COALESCE(?, decoded_ms) WHERE id=?",
            (str(status), utcnow(), utcnow(), json.dumps(known), decoded_ms, run_id),
        )
        chain.record_run_outcome(c, run_id)


#: Audio may decode to a little less than its container declares (codec priming and padding,
#: an audio stream a frame shorter than the video) without anything missing. Measured: the
#: demo clip and the nine reference clips in ../shared/data/real decode to within 17 ms of
#: their declared duration (the demo 17 ms longer), while the first 30 % of the demo
#: (``head -c 131617``) decodes to 16.4 s of a declared 59.2 s. A variable-bitrate MP3
#: without a length header declares an estimate, which may be off by more than this.
TRUNCATION_TOLERANCE_MS = 1000


def clock(ms: int) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour on), as warnings show times."""
    s = max(ms, 0) // 1000
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def truncation_warning(declared_ms: int, decoded_ms: int | None) -> str | None:
    """"truncated at 0:16 of 0:59" when the audio ends well before the container says."""
    if decoded_ms is None or declared_ms - decoded_ms <= TRUNCATION_TOLERANCE_MS:
        return None
    return f"truncated at {clock(decoded_ms)} of {clock(declared_ms)}"


def truncated(run: Run, declared_ms: int) -> bool:
    """Did this run's audio end early (see :func:`truncation_warning`)?"""
    return truncation_warning(declared_ms, run.decoded_ms) is not None


def finish_done(
    ws: Workspace, run_id: int, declared_ms: int, decoded_ms: int | None,
    warnings: Iterable[str] = (),
) -> None:
    """End a run that decoded to its end, with the warnings every finished run must carry:
    a file whose audio ends early (:func:`truncation_warning`) and speech heard but not
    written (low :func:`coverage`). One place for the rule, so a file run and a live run
    of the same recording finish alike."""
    found = list(warnings)
    truncation = truncation_warning(declared_ms, decoded_ms)
    if truncation is not None:
        found.append(truncation)
    heard = coverage(ws, run_id)
    if heard is not None and heard.low:
        found.append(f"low coverage: {heard.summary()} (see the speech gaps)")
    finish(ws, run_id, RunStatus.DONE, decoded_ms=decoded_ms, warnings=found)


def layer_run(ws: Workspace, media_id: int) -> Run | None:
    """The run whose machine text the review layer holds, which exports, reports and
    ``list`` describe: the latest finished run, unless a newer full run left unfinished has
    stored a segment (a forced re-run replaces the layer with its first segment, so once
    interrupted the layer is its partial transcript, not the older run's); else the
    unfinished one."""
    done, partial = ws.current_run(media_id), ws.unfinished_run(media_id)
    if done is None or partial is None:
        return done or partial
    stored = ws.conn.execute(
        "SELECT 1 FROM draft_segment WHERE run_id=? LIMIT 1", (partial.id,)).fetchone()
    return partial if stored is not None else done
