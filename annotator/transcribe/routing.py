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
   e.g. Finnish or Thai for espeak-ng English). Short stretches are hard, so a stretch's
   language is chosen among the *candidates* (:func:`candidates`): the ``--languages`` set
   when given (authoritative), else the languages the run has **heard**.

What the detector can and cannot say on a few seconds of speech (``base``, espeak-ng lines of
1.3-3 s alone, padded to 10 s): English, its majority language, it says reliably (all five
English lines 0.76-0.99; no line in another language above 0.32 for English); *which* other
language, it gets right about half the time, and is as sure when wrong as when right (a
Spanish line: Thai 0.86 alone and 0.95 in a bilingual piece; other Spanish, French and German
lines 0.88-0.998 right, or under 0.5; real accented English in a meeting: Welsh 0.59). So a
language is **heard** in a stretch when the stretch's top language has probability >=
:data:`SURE` (a language not yet of the run other than English: >= :data:`NEW_SURE`), or
else the window it lies in does;
English is a language of the run (a candidate) once heard in one such stretch, any other
language only once the run holds :data:`NEW_LANGUAGE_S` seconds of speech heard in it (two
or three lines, one long stretch, or a sure window over that much speech) and it holds
:data:`CANDIDATE_SHARE` of the piece where it gets there: a one-off guess on one short line,
or the same guess on a few lines of a long piece, never becomes a language of the run. The
window pass's shortcut, too, applies only to a language of the run.

What the run has heard (:data:`RunLanguages`) is **carried across pieces**, in every checkpoint
(:class:`~annotator.core.model.Checkpoint` ``languages``), counting only speech after the
piece's cut (the overlap before it was counted by the piece before): in short pieces (live
capture's 10 s, ``--chunk-s``) a later piece holding one Spanish line alone falls back among
the languages the run has heard (the line scored Thai 0.95 alone; Spanish was heard earlier)
instead of a guess, and a resumed piece sees what the clean run saw. A stretch whose top
language is not a candidate gets the likeliest candidate; a stretch the detector gives
English with probability under :data:`SURE` gets the likeliest other candidate when there is
one (measured on espeak-ng Spanish lines alternating with English: two Spanish lines scored
English 0.28 and <0.01, and an English decode of them is sound-alike gibberish), or stays
English when there is none and the stretch is sure of no language but gives English some
probability, in a piece holding no speech heard in another language (speech in noise:
:func:`choose`). Otherwise
(nothing heard yet but a guess: a first piece holding one short line in another language)
the stretch is **unsure**: it is decoded (by the multilingual model, in the guessed
language), but every segment of it is held back with the reason "language not identified"
(:func:`unsure_reason`) rather than written in a guessed language or as invented English.
Before this rule the candidates came from the piece alone, and in 8-s pieces a lone Spanish
line was written by the multilingual model as Thai.

A stretch is written by the English-only model only when it is English; any other stretch is
written by the multilingual model in its language, or, with ``--other-languages hold``,
decoded by the English-only model and *held back* with the reason "language xx, model writes
only English". Consecutive stretches with the same language and writer form one
:class:`Part`; parts tile the piece (cut in the middle of the pause between them), so a
segment never mixes two languages' decodes.

Detection is deterministic (no sampling) and what the run heard is in the checkpoint, so a
resumed piece routes the same way.
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
#: A stretch (or the window it lies in) whose top language is at least this probable is
#: heard in that language; the English-only model writes a stretch only when English is.
SURE = 0.5
#: A language other than English that is not yet a language of the run is heard only at this
#: probability (English, or a language of the run, at :data:`SURE`). Measured with base: the
#: espeak-ng Spanish, French and German lines that name their language score 0.88-1.0; real
#: accented English in a meeting (AMI dev01) scores Welsh 0.59 on a 4.6-s turn, which made
#: Welsh a language of the run and had base write the next turn as invented Welsh.
NEW_SURE = 0.8
#: Seconds of speech heard in a language other than English before it is a language of the
#: run (a candidate): more than one short line (espeak-ng lines are 1.3-3 s).
NEW_LANGUAGE_S = 4.0
#: ... and the share of the piece's detected speech (weighted by probability) it must hold in
#: the piece where it becomes one: a guess repeated on a few lines of a long piece is not.
CANDIDATE_SHARE = 0.15

#: A stretch sure of no language stays English (a language of the run) only when it gives
#: English at least this (see :func:`choose`).
NOISY_ENGLISH = 0.1

#: What a run has heard so far, per language (sorted): milliseconds of speech heard in it,
#: and whether it is a language of the run (a candidate); carried from piece to piece in the
#: checkpoints (see the module docstring).
RunLanguages = tuple[tuple[str, int, bool], ...]

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
    unsure: bool = False  # no candidate: ``language`` is the detector's guess, held back


@dataclass(frozen=True)
class Part:
    """A stretch of the piece (samples) decoded as one: its language and who writes it."""

    start: int
    end: int
    language: str
    probability: float | None
    route: Route
    unsure: bool = False


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


@dataclass(frozen=True)
class Detection:
    """A piece's stretches with their languages, and what the run has heard after it."""

    stretches: list[Stretch]
    languages: RunLanguages


def detect(
    detector: Detector, audio: Audio, spans: list[tuple[int, int]],
    carried: RunLanguages = (), cut: int = -1,
) -> Detection:
    """The language of every stretch (see the module docstring for the two passes);
    ``carried``: what the run heard before this piece; ``cut``: where in ``audio`` (samples)
    the speech this piece adds begins (before it: the overlap the piece before counted)."""
    if not spans:
        return Detection([], carried)
    speech = np.concatenate([audio[a:b] for a, b in spans])
    window = WINDOW_S * SAMPLE_RATE
    tops = [
        _top(detector.probabilities(speech[i : i + window], WINDOW_S))
        for i in range(0, len(speech), window)
    ]
    # the window each stretch mostly lies in
    of_window, position = [], 0
    for a, b in spans:
        of_window.append(min((position + (b - a) // 2) // window, len(tops) - 1))
        position += b - a
    after = [(a + b) // 2 >= cut for a, b in spans]
    languages = {language for language, _p in tops}
    if len(languages) == 1 and all(p >= WINDOW_SURE for _l, p in tops):
        (language,) = languages
        found = languages_after(
            carried, spans, [language] * len(spans), [{language: tops[w][1]} for w in of_window],
            after,
        )
        if detector.allowed or language in candidates(found):
            return Detection(
                [Stretch(a, b, *tops[w]) for (a, b), w in zip(spans, of_window, strict=True)],
                found,
            )
    each = [detector.probabilities(audio[a:b], STRETCH_WINDOW_S) for a, b in spans]
    known = set(candidates(carried))

    def sure(language: str, p: float) -> bool:
        return p >= (SURE if language == "en" or language in known else NEW_SURE)

    heard = []
    for probs, w in zip(each, of_window, strict=True):
        language, p = _top(probs)
        if not sure(language, p):
            language, p = tops[w]
        heard.append(language if sure(language, p) else "")
    found = languages_after(carried, spans, heard, each, after)
    pool = list(detector.allowed or candidates(found))
    # English in noise is told from unsure speech in another language only where the piece
    # holds no speech heard in another language (see choose)
    noisy = not any(h not in ("", "en") for h in heard)
    return Detection([
        choose(a, b, probs, pool, given=bool(detector.allowed), noisy=noisy)
        for (a, b), probs in zip(spans, each, strict=True)
    ], found)


def languages_after(
    carried: RunLanguages, spans: list[tuple[int, int]], heard: list[str],
    each: list[Probabilities], after: list[bool],
) -> RunLanguages:
    """What the run has heard once a piece is added: ``heard``, the language each stretch
    was heard in ("" for none), counted for the stretches ``after`` the cut. English is a
    language of the run once heard; another language once the run holds
    :data:`NEW_LANGUAGE_S` of speech heard in it and it holds :data:`CANDIDATE_SHARE` of
    the piece's detected speech, overlap included (``each``: every stretch's probabilities;
    measured on 10-s pieces of a clip repeating a Spanish line scored Thai 0.95 and 0.84:
    its share after the cut alone reached 27 % and made Thai a language of the run, over the
    whole piece it is 8 %); a language of the run stays one."""
    ms = {language: n for language, n, _c in carried}
    known = {language for language, _n, c in carried if c}
    mass: dict[str, float] = {}
    for (a, b), language, probs, counted in zip(spans, heard, each, after, strict=True):
        if language and counted:
            ms[language] = ms.get(language, 0) + (b - a) * 1000 // SAMPLE_RATE
        for k, p in probs.items():  # the overlap too: a short piece alone is little context
            mass[k] = mass.get(k, 0.0) + p * (b - a)
    total = sum(mass.values()) or 1.0
    for language, n in ms.items():
        if n > 0 and (language == "en" or (
            n >= NEW_LANGUAGE_S * 1000 and mass.get(language, 0.0) / total >= CANDIDATE_SHARE
        )):
            known.add(language)
    return tuple(sorted((language, n, language in known) for language, n in ms.items()))


def candidates(languages: RunLanguages) -> list[str]:
    """The languages of the run: what a stretch chooses among without ``--languages``."""
    return [language for language, _ms, known in languages if known]


def choose(a: int, b: int, probs: Probabilities, pool: Sequence[str],
           given: bool = False, noisy: bool = True) -> Stretch:
    """A stretch's language among the candidates ``pool``: the likeliest, except that
    English under :data:`SURE` gives way to the likeliest other candidate (an English decode
    of speech in another language is what this module exists to prevent), and, with none,
    stays English only when the ``pool`` was ``given`` (``--languages``), or the stretch is
    sure of no language, gives English at least :data:`NOISY_ENGLISH` and the piece holds no
    speech heard in another language (``noisy``: English in noise, English being a language
    of the run). Otherwise the stretch is unsure, with the detector's own guess.

    Measured (``base``): the unsure stretches of English in street noise (four reference
    clips, -2 to -10 dB SNR) give English 0.12-0.49; of eleven espeak-ng Spanish, French and
    German lines alone, nine give English 0.04 or less, but one gave 0.15 alone and 0.28
    between English and Spanish lines, which is why a piece holding another language's
    speech never counts as noise; a stretch sure of another language (0.7 Chinese for one
    noisy English clip, 0.9 French) is not English, whatever else the run holds."""
    others = [k for k in pool if k != "en"]
    if pool:
        language, p = _top(probs, pool)
        if language != "en" or p >= SURE:
            return Stretch(a, b, language, p)
        if others:
            return Stretch(a, b, *_top(probs, others))
        if given or (noisy and _top(probs)[1] < SURE and p >= NOISY_ENGLISH):
            return Stretch(a, b, language, p)
    return Stretch(a, b, *_top(probs), unsure=True)


def route_stretches(
    stretches: list[Stretch], *, english_only: bool, multilingual: bool, hold: bool
) -> list[Route]:
    """Who writes each stretch (see the module docstring)."""
    routes = []
    for s in stretches:
        if s.unsure:
            routes.append(Route.HOLD)
        elif not english_only or s.language == "en":
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
        if last is not None and (
            stretches[last].language, routes[last], stretches[last].unsure
        ) == (stretch.language, routes[i], stretch.unsure):
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
        out.append(
            Part(start, end, head.language, probability, routes[members[0]], head.unsure))
    return out


def hold_reason(language: str, model_id: str) -> str:
    """Why a segment in another language is held back from an English-only model's draft."""
    return f"language {language}, model writes only English ({model_id})"


def unsure_reason(language: str) -> str:
    """Why a segment of an unsure stretch is held back (no language the run has heard fits
    it, and the detector's guess on so little speech is not evidence)."""
    return (f"language not identified (too little speech to tell; the detector's guess: "
            f"{language})")


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
