"""Language per stretch of speech, and which model writes each stretch.

An English-only model (``tiny.en``, any ``.en`` model) writes fluent, confident English for
speech in any language: an 8-second Spanish line came back as "But I'm not open, but I didn't
really get anything to do..." (issue 8). For a record that may be quoted as evidence that is
the worst failure there is, so before a piece is decoded its speech is cut into stretches
(voice activity detection, pauses of :data:`STRETCH_VAD` ``min_silence_duration_ms`` or more
apart: turns, not breaths) and whisper's own language detection runs on a multilingual model:

1. **Window pass**: the piece's speech, joined, in 30-s windows (what whisper was trained on).
   When every window is the same language with probability >= :data:`WINDOW_SURE`, every
   stretch gets that language: one detection per 30 s of speech, so an all-English
   recording costs little more than before. Measured (``base``, int8): 0.97 and 0.99 on the
   demo clip's two windows, 0.96 jfk, 0.99 AMI and goforward; 0.97 Spanish, 0.99 German,
   0.84 French (espeak-ng voices); 0.47 on English and Spanish lines alternating.
2. **Stretch pass** otherwise: each stretch alone, padded with silence to
   :data:`STRETCH_WINDOW_S` (shorter inputs cost less; unpadded ones were often wrong,
   e.g. Finnish or Thai for espeak-ng English). Short stretches are hard: a stretch's
   language is chosen among the *candidates*: the ``--languages`` set, else every language
   that holds at least :data:`CANDIDATE_SHARE` of the piece's detected speech (weighted by
   duration and probability), so a one-off "Thai" for a Spanish line falls back to Spanish.

A stretch the detector gives English with probability under :data:`ENGLISH_SURE` gets the
likeliest other candidate language instead, when there is one (measured on espeak-ng Spanish
lines alternating with English: two Spanish lines scored English 0.28 and <0.01, and an
English decode of them is sound-alike gibberish). A stretch is written by the English-only
model only when it is English; any other stretch is written by the multilingual model in its
language, or, with
``--other-languages hold``, decoded by the English-only model and *held back* with the reason
"language xx, model writes only English". Consecutive stretches with the same language and
writer form one :class:`Part`; parts tile the piece (cut in the middle of the pause between
them), so a segment never mixes two languages' decodes.

Detection is deterministic (no sampling), so a resumed piece routes the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from annotator.transcribe.chunks import SAMPLE_RATE

#: Voice activity detection that cuts a piece into stretches for language detection.
STRETCH_VAD = {"threshold": 0.5, "min_silence_duration_ms": 500, "speech_pad_ms": 100}
#: The longest stretch detected as one (longer ones are split): whisper's window.
WINDOW_S = 30
#: A stretch is detected padded with silence to this many seconds (measured on 2 cores,
#: base int8: about 0.1-0.3 s per detection against 0.9-1.8 s for a full 30-s window).
STRETCH_WINDOW_S = 10
#: Every window at least this sure of one language: the whole piece is that language.
WINDOW_SURE = 0.9
#: A language is a candidate for short stretches when it holds this share of the piece.
CANDIDATE_SHARE = 0.15
#: The English-only model writes a stretch only when English is at least this probable.
ENGLISH_SURE = 0.5

Audio = np.ndarray[Any, np.dtype[np.float32]]
Probabilities = dict[str, float]


class Route(enum.StrEnum):
    """Who writes a part of a piece."""

    PRIMARY = "primary"  # the chosen model (--model)
    MULTILINGUAL = "multilingual"  # the multilingual model, in the part's language
    HOLD = "hold"  # the English-only model, and every segment held back


@dataclass(frozen=True)
class Stretch:
    """Speech between two pauses (samples in the piece) and its detected language."""

    start: int
    end: int
    language: str
    probability: float


@dataclass(frozen=True)
class Part:
    """A stretch of the piece (samples) decoded as one: its language and who writes it."""

    start: int
    end: int
    language: str
    probability: float | None
    route: Route


@dataclass(frozen=True)
class Heard:
    """A faster-whisper segment with its times from the start of the piece and what is
    known of its language; ``primary``: written by the chosen model, so its tokens may
    prompt that model's next piece; ``hold``: the reason to hold it back, if any."""

    seg: Any
    language: str = ""
    probability: float | None = None
    model_id: str = ""
    primary: bool = True
    hold: str | None = None


class Detector:
    """Whisper's language detection (a multilingual model) on stretches of audio."""

    def __init__(self, whisper: Any, allowed: Sequence[str] | None = None) -> None:
        self._whisper = whisper
        self.allowed = tuple(allowed) if allowed else None

    def probabilities(self, audio: Audio, window_s: float) -> Probabilities:
        """Each language's probability for ``audio``, padded with silence (or cut) to
        ``window_s`` seconds; only the allowed languages when a set was given."""
        samples = int(window_s * SAMPLE_RATE)
        padded = np.zeros(samples, dtype=np.float32)
        padded[: min(len(audio), samples)] = audio[:samples]
        features = self._whisper.feature_extractor(padded)[:, : int(window_s * 100)]
        view = ctranslate2.StorageView.from_array(
            np.ascontiguousarray(features[None], dtype=np.float32)
        )
        found = self._whisper.model.detect_language(view)[0]
        probs = {token[2:-2]: float(p) for token, p in found}
        if self.allowed is not None:
            probs = {k: v for k, v in probs.items() if k in self.allowed}
        return probs


def speech_stretches(audio: Audio) -> list[tuple[int, int]]:
    """Where speech is in ``audio`` (samples), cut at pauses and at :data:`WINDOW_S`."""
    found = get_speech_timestamps(audio, VadOptions(**STRETCH_VAD))
    longest = WINDOW_S * SAMPLE_RATE
    out: list[tuple[int, int]] = []
    for span in found:
        start, end = int(span["start"]), int(span["end"])
        while end - start > longest:
            out.append((start, start + longest))
            start += longest
        out.append((start, end))
    return out


def _top(probs: Probabilities, among: Sequence[str] | None = None) -> tuple[str, float]:
    pool = {k: v for k, v in probs.items() if among is None or k in among} or probs
    language = max(pool, key=lambda k: (pool[k], k))
    return language, pool[language]


def detect(detector: Detector, audio: Audio, spans: list[tuple[int, int]]) -> list[Stretch]:
    """The language of every stretch (see the module docstring for the two passes)."""
    if not spans:
        return []
    speech = np.concatenate([audio[a:b] for a, b in spans])
    window = WINDOW_S * SAMPLE_RATE
    tops = [
        _top(detector.probabilities(speech[i : i + window], WINDOW_S))
        for i in range(0, len(speech), window)
    ]
    languages = {language for language, _p in tops}
    if len(languages) == 1 and all(p >= WINDOW_SURE for _l, p in tops):
        # one language throughout: each stretch gets the window it mostly lies in
        out, position = [], 0
        for a, b in spans:
            middle = position + (b - a) // 2
            language, p = tops[min(middle // window, len(tops) - 1)]
            out.append(Stretch(a, b, language, p))
            position += b - a
        return out
    each = [detector.probabilities(audio[a:b], STRETCH_WINDOW_S) for a, b in spans]
    candidates = list(detector.allowed or _candidates(spans, each, tops))
    others = [k for k in candidates if k != "en"]
    out = []
    for (a, b), probs in zip(spans, each, strict=True):
        language, p = _top(probs, candidates)
        if language == "en" and p < ENGLISH_SURE and others:
            # not sure it is English: the likeliest other candidate (an English decode of
            # speech in another language is what this module exists to prevent)
            language, p = _top(probs, others)
        out.append(Stretch(a, b, language, p))
    return out


def _candidates(
    spans: list[tuple[int, int]], each: list[Probabilities], tops: list[tuple[str, float]]
) -> list[str]:
    """The languages a piece's stretches choose among: each holding
    :data:`CANDIDATE_SHARE` of the detected speech and heard with some certainty (top of a
    stretch or a window at >= :data:`ENGLISH_SURE`), else the windows' top languages.
    Measured on English at -10 dB SNR: no stretch is sure of anything and a stretch's top
    guess (Japanese, 0.16) made the multilingual model write Japanese for English noise;
    the windows' guess is the most the detector can say there."""
    mass: dict[str, float] = {}
    sure = {language for language, p in tops if p >= ENGLISH_SURE}
    for (a, b), probs in zip(spans, each, strict=True):
        for language, p in probs.items():
            mass[language] = mass.get(language, 0.0) + p * (b - a)
        language, p = _top(probs)
        if p >= ENGLISH_SURE:
            sure.add(language)
    total = sum(mass.values()) or 1.0
    found = [k for k, v in mass.items() if v / total >= CANDIDATE_SHARE and k in sure]
    return found or sorted({language for language, _p in tops})


def route_stretches(
    stretches: list[Stretch], *, english_only: bool, multilingual: bool, hold: bool
) -> list[Route]:
    """Who writes each stretch (see the module docstring)."""
    routes = []
    for s in stretches:
        if not english_only or s.language == "en":
            routes.append(Route.PRIMARY)
        elif multilingual and not hold:
            routes.append(Route.MULTILINGUAL)
        else:
            routes.append(Route.HOLD)
    return routes


def parts(stretches: list[Stretch], routes: list[Route], length: int) -> list[Part]:
    """Consecutive stretches with the same language and writer joined into parts that tile
    ``[0, length)``, each border in the middle of the pause between two parts. The
    probability of a part is its stretches' duration-weighted mean."""
    groups: list[list[int]] = []
    for i, stretch in enumerate(stretches):
        last = groups[-1][-1] if groups else None
        if last is not None and (stretches[last].language, routes[last]) == (
            stretch.language, routes[i]
        ):
            groups[-1].append(i)
        else:
            groups.append([i])
    out: list[Part] = []
    for g, members in enumerate(groups):
        head, tail = stretches[members[0]], stretches[members[-1]]
        start = 0 if g == 0 else (stretches[groups[g - 1][-1]].end + head.start) // 2
        end = length if g == len(groups) - 1 else (
            tail.end + stretches[groups[g + 1][0]].start) // 2
        weight = sum(stretches[i].end - stretches[i].start for i in members) or 1
        probability = sum(
            stretches[i].probability * (stretches[i].end - stretches[i].start) for i in members
        ) / weight
        out.append(Part(start, end, head.language, probability, routes[members[0]]))
    return out


def hold_reason(language: str, model_id: str) -> str:
    """Why a segment in another language is held back from an English-only model's draft."""
    return f"language {language}, model writes only English ({model_id})"


def shifted(seg: Any, offset_s: float) -> Any:
    """A faster-whisper segment moved ``offset_s`` seconds later (it and its words)."""
    if not offset_s:
        return seg
    words = [replace(w, start=w.start + offset_s, end=w.end + offset_s) for w in seg.words or ()]
    return replace(
        seg, start=seg.start + offset_s, end=seg.end + offset_s,
        words=words if seg.words is not None else None,
    )


Decode = Callable[[Part, Audio], tuple[Iterator[Any], Any]]


def decode_parts(
    piece_parts: list[Part], audio: Audio, decode: Decode,
    tag: Callable[[Part], Heard],
) -> tuple[Iterator[Heard], Any]:
    """Decode each part of a piece with ``decode`` (started lazily, in order, except the
    first, which starts now so a piece that cannot be decoded fails at once); returns the
    tagged segments, with times from the start of the piece, and the first decode's info."""
    first_segments, info = decode(piece_parts[0], audio[piece_parts[0].start:piece_parts[0].end])

    def events() -> Iterator[Heard]:
        segments: Iterator[Any] | None = first_segments
        for part in piece_parts:
            if segments is None:
                segments, _info = decode(part, audio[part.start:part.end])
            template = tag(part)
            for seg in segments:
                yield replace(template, seg=shifted(seg, part.start / SAMPLE_RATE))
            segments = None

    return events(), info
