"""Run the detectors for one media in the workspace and store what they propose.

:func:`suggest` runs, as asked: the codebook rules (tags), the distrust queue, the impact
detector (events and their action suggestions) and the voice detector (speaker suggestions,
per-word voices and splits where the voice changes inside a segment), and stores each pass
with :func:`annotator.core.suggestions.replace_open`: the pass's open suggestions are
replaced, decided ones kept, and a proposal a person already rejected is not made again.

The audio detectors are optional: ``impacts`` needs numpy/scipy and ``voices`` the
``annotator[voices]`` extra. They are imported only when asked for; one that cannot be
imported is reported in :attr:`Report.unavailable` (with what to install) and the other
passes still run. The media's audio is decoded once, for all of them.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotator.core import suggestions as layer
from annotator.core.model import Segment
from annotator.core.store import Workspace
from annotator.core.suggestions import Event, Kind, Proposal
from annotator.errors import AnnotatorError
from annotator.suggest import distrust, rules

#: Every pass, in the order they run.
PASSES = ("rules", "distrust", "impacts", "voices")
#: Which kinds each pass owns (its open suggestions are replaced by a re-run).
KINDS: dict[str, tuple[Kind, ...]] = {
    "rules": (Kind.TAG,), "distrust": (Kind.DISTRUST,), "impacts": (Kind.EVENT,),
    "voices": (Kind.SPEAKER, Kind.SPLIT),
}
#: What an impact event suggests, by its kind: codebook action keys.
EVENT_ACTIONS = {"glass": "window_broken", "knock": "strike_on_vehicle",
                 "impulse": "strike_on_vehicle"}
#: A run of words in another voice shorter than this (both) is folded into its neighbour:
#: one stray word is more likely an embedding error than a second person.
MIN_RUN_WORDS = 2
MIN_RUN_MS = 600
SAMPLE_RATE = 16000
#: Cosine similarity of voice embeddings above which a voice "sounds like" one named in
#: another media: a hint shown to the reviewer, never applied by itself. Measured
#: (``bench/voices.py``, the voices found in AMI dev00 and dev01, which hold the same two
#: people, and in six one-speaker clips): the same person in two recordings 0.88, two
#: different people 0.31-0.63. Two people with near-identical voices are not told apart
#: (the demo's two low male espeak-ng voices score 0.88).
LIKE_SIMILARITY = 0.75

Progress = Callable[[str, str], None]


@dataclass
class Report:
    """What one :func:`suggest` call did, per pass."""

    media_id: int
    added: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def suggest(
    ws: Workspace, media_id: int, passes: Sequence[str] = PASSES, *,
    speakers: int | None = None, progress: Progress | None = None,
) -> Report:
    """Run ``passes`` (see :data:`PASSES`) for a media and store their suggestions."""
    say = progress or (lambda step, message: None)
    report = Report(media_id)
    segments = ws.segments(media_id)
    audio: Any = None
    speech: list[tuple[int, int]] | None = None
    if any(p in passes for p in ("distrust", "impacts", "voices")):
        say("audio", "decoding the audio")
        started = time.perf_counter()
        try:
            audio = _load(Path(ws.media(media_id).path))
            speech = _speech(audio)
        except (AnnotatorError, ImportError) as exc:
            report.notes.append(f"audio not decoded ({exc}): checks that need it are skipped")
        report.seconds["audio"] = time.perf_counter() - started
    for name in PASSES:
        if name not in passes:
            continue
        say(name, f"running {name}")
        started = time.perf_counter()
        try:
            proposals = _PASS[name](ws, media_id, segments, audio, speech, speakers, report)
        except ImportError as exc:
            report.unavailable[name] = _unavailable(name, exc)
            continue
        if proposals is None:
            continue
        report.added[name], report.skipped[name] = layer.replace_open(
            ws, media_id, KINDS[name], proposals)
        report.seconds[name] = time.perf_counter() - started
        say(name, f"{name}: {report.added[name]} suggestion(s)")
    return report


def _unavailable(name: str, exc: ImportError) -> str:
    extra = {"voices": "voices"}.get(name)
    hint = f"install annotator[{extra}]" if extra else "its module is missing"
    return f"{name} unavailable: {hint} ({exc})"


# -- the passes -------------------------------------------------------------------------------


def _rules(ws: Workspace, media_id: int, segments: list[Segment], *_: Any) -> list[Proposal]:
    found, info = rules.media_rules(ws, media_id)
    return rules.propose(segments, found, info, _codebook_keys(ws, media_id))


def _distrust(
    ws: Workspace, media_id: int, segments: list[Segment], audio: Any,
    speech: list[tuple[int, int]] | None, *_: Any,
) -> list[Proposal]:
    return distrust.flag(segments, speech)


def _impacts(
    ws: Workspace, media_id: int, segments: list[Segment], audio: Any,
    speech: Any, speakers: Any, report: Report,
) -> list[Proposal] | None:
    impacts = importlib.import_module("annotator.suggest.impacts")
    if audio is None:
        report.notes.append("impacts skipped: no audio")
        return None
    found = impacts.bursts(impacts.detect(audio, SAMPLE_RATE))
    keys = _codebook_keys(ws, media_id)
    events = layer.replace_events(ws, media_id, [
        Event(0, media_id, b.kind, round(b.start * 1000), round(b.end * 1000), b.count,
              float(b.strength), {"confidence": float(b.confidence), "impacts": [
                  {"start_ms": round(i.start * 1000), "end_ms": round(i.end * 1000),
                   "kind": i.kind, "strength": float(i.strength)} for i in b.impacts]})
        for b in found
    ])
    source = {"detector": "impacts", **dict(getattr(impacts, "SOURCE", {}))}
    out = []
    for ev, burst in zip(events, found, strict=True):
        action = EVENT_ACTIONS.get(ev.kind, "strike_on_vehicle")
        if action in keys:
            out.append(Proposal(Kind.EVENT, ev.start_ms, ev.end_ms, action, source,
                                float(burst.confidence), event_id=ev.id,
                                detail={"count": ev.count, "kind": ev.kind}))
    return out


def _voices(
    ws: Workspace, media_id: int, segments: list[Segment], audio: Any,
    speech: list[tuple[int, int]] | None, speakers: int | None, report: Report,
) -> list[Proposal] | None:
    voices = importlib.import_module("annotator.suggest.voices")
    if audio is None:
        report.notes.append("voices skipped: no audio")
        return None
    spans = None if speech is None else [(a / 1000, b / 1000) for a, b in speech]
    diar = voices.diarize(audio, SAMPLE_RATE, speech=spans, speakers=speakers)
    layer.save_voices(ws, media_id, diar.centroids, diar.source)
    source = {"detector": "voices", **dict(diar.source)}
    like = sounds_like(diar.centroids, dict(diar.source), layer.named_voices(ws, media_id))
    return propose_voices(segments, lambda t: voices.voice_at(diar, t), source, like)


def sounds_like(
    centroids: dict[str, list[float]], source: dict[str, Any],
    named: Sequence[layer.NamedVoice], threshold: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Voice -> the most similar voice a person named in another media (cosine similarity of
    the kept embeddings at least :data:`LIKE_SIMILARITY`), from the same model only (other
    weights give other embeddings). Shown with the suggestion; the name is not applied."""
    limit = LIKE_SIMILARITY if threshold is None else threshold
    out: dict[str, dict[str, Any]] = {}
    for voice, vec in centroids.items():
        best: tuple[float, layer.NamedVoice] | None = None
        for other in named:
            if other.source.get("weights_sha256") != source.get("weights_sha256"):
                continue
            sim = _cosine(vec, other.centroid)
            if sim >= limit and (best is None or sim > best[0]):
                best = (sim, other)
        if best is not None:
            out[voice] = {"speaker": best[1].speaker, "media": best[1].media_name,
                          "voice": best[1].voice, "similarity": round(best[0], 3)}
    return out


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na, nb = sum(x * x for x in a) ** 0.5, sum(y * y for y in b) ** 0.5
    return dot / (na * nb) if na and nb else 0.0


def propose_voices(
    segments: Sequence[Segment], voice_at: Callable[[float], str | None],
    source: dict[str, Any], like: dict[str, dict[str, Any]] | None = None,
) -> list[Proposal]:
    """Speaker proposals (the voice of each segment's first run of words) and a split where
    the voice changes inside a segment. Segments a person attributed are left alone.
    ``like``: voice -> a named voice of another media it sounds like (:func:`sounds_like`)."""
    like = like or {}
    out: list[Proposal] = []
    for seg in segments:
        if seg.speaker_id is not None:
            continue
        runs = word_runs(seg, voice_at)
        if not runs:
            continue
        per_word = [v for v, n, _ in runs for _ in range(n)]
        first_voice, first_n, _ = runs[0]
        total = max(len(per_word), 1)
        end = seg.end_ms if len(runs) == 1 else runs[1][2]
        out.append(Proposal(
            Kind.SPEAKER, seg.start_ms, end, first_voice, source,
            round(first_n / total if len(runs) > 1 else _agreement(seg, voice_at, first_voice),
                  3),
            segment_id=seg.id, detail={"word_voices": per_word,
                                       **({"like": like[first_voice]} if first_voice in like
                                          else {})},
        ))
        for k in range(1, len(runs)):
            before, after, at_ms = runs[k - 1][0], runs[k][0], runs[k][2]
            word = next((w.text.strip() for w in seg.words if w.start_ms >= at_ms), "")
            out.append(Proposal(
                Kind.SPLIT, at_ms, seg.end_ms, word, source, None, segment_id=seg.id,
                detail={"at_ms": at_ms, "voice_before": before, "voice_after": after},
            ))
    return out


def word_runs(
    seg: Segment, voice_at: Callable[[float], str | None]
) -> list[tuple[str, int, int]]:
    """The segment's words grouped by voice: (voice, number of words, first word's start ms),
    with short runs folded into the run before (see :data:`MIN_RUN_WORDS`). A segment
    without machine words is one run, by the voice at its middle."""
    if not seg.words:
        mid = voice_at((seg.start_ms + seg.end_ms) / 2000)
        return [] if mid is None else [(mid, 1, seg.start_ms)]
    voiced = [voice_at((w.start_ms + w.end_ms) / 2000) for w in seg.words]
    known = [v for v in voiced if v is not None]
    if not known:
        return []
    last = known[0]
    filled = []
    for v in voiced:
        last = v if v is not None else last
        filled.append(last)
    runs: list[list[Any]] = []  # [voice, count, start_ms, end_ms]
    for w, v in zip(seg.words, filled, strict=True):
        if runs and runs[-1][0] == v:
            runs[-1][1] += 1
            runs[-1][3] = w.end_ms
        else:
            runs.append([v, 1, w.start_ms, w.end_ms])
    merged: list[list[Any]] = []
    for r in runs:
        short = r[1] < MIN_RUN_WORDS and r[3] - r[2] < MIN_RUN_MS
        if merged and (short or merged[-1][0] == r[0]):
            merged[-1][1] += r[1]
            merged[-1][3] = r[3]
        else:
            merged.append(r)
    head = merged[0]
    if len(merged) > 1 and head[1] < MIN_RUN_WORDS and head[3] - head[2] < MIN_RUN_MS:
        merged[1][1] += merged[0][1]
        merged[1][2] = merged[0][2]
        merged.pop(0)
    return [(str(v), int(n), int(start)) for v, n, start, _ in merged]


def _agreement(seg: Segment, voice_at: Callable[[float], str | None], voice: str) -> float:
    voiced = [voice_at((w.start_ms + w.end_ms) / 2000) for w in seg.words]
    return sum(v == voice for v in voiced) / len(voiced) if voiced else 1.0


_PASS: dict[str, Callable[..., list[Proposal] | None]] = {
    "rules": _rules, "distrust": _distrust, "impacts": _impacts, "voices": _voices,
}


# -- helpers ----------------------------------------------------------------------------------


def _codebook_keys(ws: Workspace, media_id: int) -> set[str]:
    from annotator.core.codebook import default_codebook

    cb_id = ws.media_codebook(media_id)
    codebook = ws.load_codebook(cb_id) if cb_id is not None else default_codebook()
    return {e.key for e in codebook.entries}


def _load(path: Path) -> Any:
    from annotator.suggest.audio import load_mono

    return load_mono(path, SAMPLE_RATE)


def _speech(audio: Any) -> list[tuple[int, int]]:
    """Where the transcription's finer VAD hears speech (ms), for distrust and voices."""
    from annotator.transcribe.vad import speech_spans

    return speech_spans(audio)
