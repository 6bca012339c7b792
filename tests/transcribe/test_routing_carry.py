"""Languages carried across short pieces (annotator/transcribe/routing.py), the rule on
probability tables (a stand-in detector): a lone line in a later piece chooses among the
languages the run has heard, a lone line in a new language is held back rather than written
as a guess. The real engine on spoken clips: ``test_routing_lone_line.py``.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np

from annotator.core import runs
from annotator.core.model import Checkpoint, MachineSegment
from annotator.core.store import Workspace
from annotator.transcribe.chunks import SAMPLE_RATE
from annotator.transcribe.routing import (
    STRETCH_WINDOW_S,
    WINDOW_S,
    Detector,
    Probabilities,
    RunLanguages,
    candidates,
    detect,
    parts,
    route_stretches,
)

# -- the rule, on probability tables ---------------------------------------------------------

S = SAMPLE_RATE


class Tables(Detector):
    """A detector answering from tables: the window pass gets ``window``; stretch ``i``
    (its samples are all ``i + 1``) gets ``each[i]``."""

    def __init__(self, window: Probabilities, each: list[Probabilities],
                 allowed: tuple[str, ...] | None = None) -> None:
        super().__init__(None, allowed)
        self.window, self.each = window, each

    def probabilities(self, audio: Any, window_s: float) -> Probabilities:
        table = self.window if window_s == WINDOW_S else self.each[int(audio[0]) - 1]
        assert window_s in (WINDOW_S, STRETCH_WINDOW_S)
        if self.allowed is not None:
            table = {k: v for k, v in table.items() if k in self.allowed}
        return table


def _piece(seconds: list[tuple[float, float]]) -> tuple[Any, list[tuple[int, int]]]:
    """Audio with stretch ``i`` (start, end in s) filled with ``i + 1``, and the spans."""
    spans = [(int(a * S), int(b * S)) for a, b in seconds]
    audio = np.zeros(spans[-1][1] + S, dtype=np.float32)
    for i, (a, b) in enumerate(spans):
        audio[a:b] = i + 1
    return audio, spans


LONE_SPANISH = {"th": 0.95, "id": 0.02, "en": 0.004, "es": 0.001}  # measured: th 0.949
ENGLISH_LINE = {"en": 0.94, "cy": 0.02, "es": 0.01}
SPANISH_LINE = {"es": 0.99, "en": 0.005, "pt": 0.005}
HEARD: RunLanguages = (("en", 7190, True), ("es", 8878, True))


def test_a_lone_line_in_a_later_piece_falls_back_among_the_run_languages() -> None:
    """The window (over one short line) is sure of Thai: no shortcut to a language the run
    has not heard; the stretch gets Spanish, heard earlier, and Thai is only noted."""
    audio, spans = _piece([(1.0, 3.0)])
    found = detect(Tables({"th": 0.93, "es": 0.01}, [LONE_SPANISH]), audio, spans, HEARD)
    (stretch,) = found.stretches
    assert (stretch.language, stretch.unsure) == ("es", False)
    assert found.languages == (*HEARD, ("th", 2000, False))
    assert candidates(found.languages) == ["en", "es"]


def test_a_lone_line_in_a_new_language_is_held_back_not_guessed() -> None:
    """First piece: an English line and a line the detector calls Thai (0.95). English is
    heard from one line, another language is not: the Thai line is unsure, so held back
    (never written in Thai, never as English)."""
    audio, spans = _piece([(0.4, 3.2), (3.6, 5.9)])
    found = detect(Tables({"th": 0.62, "en": 0.24}, [ENGLISH_LINE, LONE_SPANISH]), audio, spans)
    en, th = found.stretches
    assert (en.language, en.unsure, th.language, th.unsure) == ("en", False, "th", True)
    assert found.languages == (("en", 2800, True), ("th", 2300, False))
    routes = route_stretches(found.stretches, english_only=True, multilingual=True, hold=False)
    held = parts(found.stretches, routes, len(audio))[-1]
    assert held.unsure and held.language == "th"
    # with a multilingual model too: an unsure stretch is never written
    assert route_stretches(found.stretches, english_only=False, multilingual=True,
                           hold=False)[1].value == "hold"


def test_english_under_sure_with_no_other_candidate() -> None:
    """A stretch sure of nothing that gives English 0.3 (English in noise) is English when
    English is a language of the run, unsure when nothing was heard; a stretch sure of
    another language, or giving English almost nothing (a French line alone: 0.02), is never
    English."""
    audio, spans = _piece([(0.4, 3.2), (3.6, 5.9)])
    noisy = {"en": 0.3, "my": 0.29, "ko": 0.12}
    found = detect(Tables({"en": 0.4}, [ENGLISH_LINE, noisy]), audio, spans)
    assert [(s.language, s.unsure) for s in found.stretches] == [("en", False), ("en", False)]
    (alone,) = detect(Tables({"en": 0.4}, [noisy]), *_piece([(0.4, 3.2)])).stretches
    assert (alone.language, alone.unsure) == ("en", True)
    # beside a line heard in another language (not yet a language of the run) it is unsure
    # speech, not noise: measured, a Spanish line between English ones gave English 0.28
    found = detect(Tables({"en": 0.4}, [ENGLISH_LINE, SPANISH_LINE, noisy]),
                   *_piece([(0.4, 3.2), (3.6, 5.9), (6.4, 8.0)]))
    assert [(s.language, s.unsure) for s in found.stretches] == [
        ("en", False), ("es", True), ("en", True)]
    found = detect(Tables({"en": 0.8}, [ENGLISH_LINE, LONE_SPANISH]), audio, spans)
    assert [(s.language, s.unsure) for s in found.stretches] == [("en", False), ("th", True)]
    french = {"fr": 0.47, "ja": 0.27, "en": 0.018}
    found = detect(Tables({"en": 0.8}, [ENGLISH_LINE, french]), audio, spans)
    assert [(s.language, s.unsure) for s in found.stretches] == [("en", False), ("fr", True)]


def test_a_language_needs_seconds_heard_and_a_share_of_the_piece() -> None:
    """Two Spanish lines (4.4 s) make Spanish a language of the run; the same Thai guess on
    two lines of a long English piece (4 s, under 15 % of it) does not."""
    audio, spans = _piece([(0.4, 2.9), (3.5, 5.4)])
    found = detect(Tables({"es": 0.6}, [SPANISH_LINE, SPANISH_LINE]), audio, spans)
    assert candidates(found.languages) == ["es"]
    assert [s.language for s in found.stretches] == ["es", "es"]
    long = [(i * 3.0, i * 3.0 + 2.0) for i in range(14)]  # 28 s of speech, 2 lines "Thai"
    audio, spans = _piece(long)
    tables = [ENGLISH_LINE] * 6 + [LONE_SPANISH] + [ENGLISH_LINE] * 6 + [LONE_SPANISH]
    found = detect(Tables({"en": 0.8}, tables), audio, spans)
    assert dict((k, (ms, c)) for k, ms, c in found.languages) == {
        "en": (24000, True), "th": (4000, False)}
    assert {(s.language, s.unsure) for s in found.stretches} >= {("th", True)}


def test_speech_before_the_cut_is_not_counted_again() -> None:
    """A piece decodes the overlap before its cut again; what lies there was counted by the
    piece before."""
    audio, spans = _piece([(0.4, 2.9), (3.5, 5.4)])
    found = detect(Tables({"es": 0.6}, [SPANISH_LINE, SPANISH_LINE]), audio, spans,
                   (("es", 2500, False),), cut=3 * S)
    assert found.languages == (("es", 4400, True),)


def test_the_languages_set_stays_authoritative() -> None:
    audio, spans = _piece([(1.0, 3.0)])
    for allowed, language in ((("en", "es"), "es"), (("en",), "en")):
        found = detect(Tables({"th": 0.93, "en": 0.01}, [LONE_SPANISH], allowed=allowed),
                       audio, spans)
        (stretch,) = found.stretches
        assert (stretch.language, stretch.unsure) == (language, False)


def test_checkpoint_languages_round_trip(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.db") as ws:
        media = ws.add_probed(_probe(tmp_path))
        run = ws.start_run(media.id, "tiny.en", "0" * 64, {}, {})
        cp = Checkpoint(3, 100, 200, 7, (1, 2), ((1.5, (3,)),), (("en", 4080, True),
                                                                  ("th", 2306, False)))
        runs.save_checkpoint(ws, run.id, cp)
        assert runs.last_checkpoint(ws, run.id) == cp


def _probe(folder: Path) -> Any:
    from annotator.core.media import probe

    path = folder / "tone.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(S)
        out.writeframes((np.sin(np.arange(S // 2) / 4) * 8000).astype("<i2").tobytes())
    return probe(path)


def test_a_live_tail_pass_routes_with_the_run_languages(tmp_path: Path) -> None:
    """A live capture's tail pass starts from a checkpoint made up after the last provisional
    segment: it carries the languages of the run's checkpoint (its own hearing stays in the
    pass: the tail stores no checkpoint)."""
    from annotator.live.follow import Follower

    heard = (("en", 4080, True), ("es", 4766, True))
    with Workspace(tmp_path / "w.db") as ws:
        media = ws.add_probed(_probe(tmp_path))
        run = ws.start_run(media.id, "tiny.en", "0" * 64, {}, {})
        checkpoint = Checkpoint(2, 100, 200, 0, (5,), (), heard)
        runs.save_checkpoint(ws, run.id, checkpoint)
        for i in range(2):
            runs.store_draft(ws, run, i, MachineSegment(i, 1000 * i, 1000 * i + 500, "x", (),
                                                        -0.1, 0.0, 1.0))
        tail = Follower(tmp_path / "w.db", None)._tail_start(ws, run, checkpoint)
    assert tail.piece == 3 and tail.first_index == 1 and tail.languages == heard


def test_a_new_language_must_be_heard_surely() -> None:
    """Real accented English in a meeting (AMI dev01, base): a 4.6-s turn scores Welsh 0.59,
    English 0.35, in a window English 0.70. Under :data:`NEW_SURE` a language new to the run
    is not heard, so Welsh never becomes one and no turn is written as Welsh; the same turn
    scoring 0.88 (as the espeak-ng lines that name their language do) is heard."""
    audio, spans = _piece([(0.4, 2.5), (3.0, 7.6), (8.0, 12.9)])
    turns = [{"cs": 0.40, "pl": 0.35, "en": 0.01}, {"cy": 0.59, "en": 0.35},
             {"en": 0.95, "cy": 0.04}]
    found = detect(Tables({"en": 0.70, "cy": 0.27}, turns), audio, spans)
    assert candidates(found.languages) == ["en"]
    assert [(s.language, s.unsure) for s in found.stretches] == [
        ("cs", True), ("cy", True), ("en", False)]  # held back, never written as Welsh
    sure = [turns[0], {"cy": 0.88, "en": 0.10}, turns[2]]
    found = detect(Tables({"en": 0.70, "cy": 0.27}, sure), audio, spans)
    assert candidates(found.languages) == ["cy", "en"]
    assert [s.language for s in found.stretches][1:] == ["cy", "en"]
