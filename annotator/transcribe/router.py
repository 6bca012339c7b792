"""The multilingual side of an :class:`~annotator.transcribe.engine.Engine`: which model
detects languages, which one writes speech the chosen model cannot, and how a piece is split
between them (the policy itself is :mod:`annotator.transcribe.routing`).

- ``--language xx``: nothing is detected; the chosen model writes everything in ``xx``.
- a multilingual model (``--model base``): it detects the language of each stretch itself
  and writes each part in its language (code-switching is expected).
- an English-only model (``tiny.en``): the multilingual model (``base``, a default
  dependency) detects; English parts go to the chosen model, others to the multilingual
  one (or are held back with ``--other-languages hold``). Without a multilingual model
  installed nothing can be detected: every run says so in its warnings and the summary.

What the run has heard so far (:data:`~annotator.transcribe.routing.RunLanguages`) is not kept
here but passed in with every piece and handed back (:attr:`Router.last_languages`): the engine
carries it in the checkpoints, so a resumed run, a cluster worker and a live capture's
provisional tail passes (which share this router and store no checkpoint) each route a piece
from the state its checkpoint holds, and a tail pass's guesses never reach the run's state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import replace
from typing import Any

from annotator.core.model import SAMPLE_RATE, MachineSegment, Translation
from annotator.errors import ModelError
from annotator.transcribe.models import ResolvedModel, resolve_model
from annotator.transcribe.routing import (
    CANDIDATE_SHARE,
    NEW_LANGUAGE_S,
    NEW_SURE,
    SURE,
    Audio,
    Detector,
    Heard,
    Part,
    Route,
    RunLanguages,
    Stretch,
    decode_parts,
    detect,
    hold_reason,
    parts,
    route_stretches,
    speech_stretches,
    unsure_reason,
)

#: What a run warns when an English-only model runs and nothing can detect languages.
UNCHECKED = (
    "languages not checked: no multilingual model is installed ({cause}); {model} writes "
    "only English, so speech in other languages comes out as invented English "
    "(reinstall annotator: its dependencies include base)"
)


class Router:
    """Detects languages per stretch and routes parts of a piece to a model."""

    def __init__(
        self, *, primary: Any, primary_model: ResolvedModel, forced: str | None,
        allowed: tuple[str, ...] | None, multilingual_model: str, hold: bool,
        load: Callable[[ResolvedModel], Any],
    ) -> None:
        self.primary, self.primary_model = primary, primary_model
        self.forced, self.hold = forced, hold
        self.english_only = not bool(getattr(primary.model, "is_multilingual", True))
        self.warning: str | None = None
        self.model: ResolvedModel | None = None  # the multilingual model, when another one
        self.whisper: Any = None
        self.last_stretches: list[Stretch] = []
        self.last_languages: RunLanguages = ()  # what the run heard after the last piece
        if forced is not None:
            return
        if not self.english_only:
            self.whisper = primary
        else:
            try:
                self.model = resolve_model(multilingual_model)
                self.whisper = load(self.model)
            except ModelError as exc:
                self.warning = UNCHECKED.format(cause=exc, model=primary_model.model_id)
        self.detector = Detector(self.whisper, allowed) if self.whisper is not None else None

    @property
    def active(self) -> bool:
        """Whether pieces are split by language (not when forced or nothing can detect)."""
        return self.forced is None and self.whisper is not None

    def provenance(self) -> dict[str, Any]:
        return {
            "multilingual_model": None if self.model is None else {
                "model_id": self.model.model_id, "sha256": self.model.sha256,
                "path": str(self.model.path),
            },
            "english_only": self.english_only,
            "language_check": "forced" if self.forced is not None else (
                "detected per stretch" if self.active else "unchecked"),
            # the rule for the languages carried from piece to piece; what each piece started
            # from is in its checkpoint (run_checkpoint.languages, ms heard per language)
            "carried_languages": {"sure": SURE, "new_sure": NEW_SURE,
                                  "new_language_s": NEW_LANGUAGE_S,
                                  "candidate_share": CANDIDATE_SHARE},
        }

    def plan(self, audio: Audio, carried: RunLanguages = (), cut: int = -1) -> list[Part]:
        """The parts of a piece, each with its language and writer; ``carried``: what the run
        heard before the piece, ``cut``: where its own speech begins in ``audio`` (samples).
        What the run has heard after it is left in :attr:`last_languages`."""
        stretches: list[Stretch] = []
        self.last_languages = carried
        if self.detector is not None:
            found = detect(self.detector, audio, speech_stretches(audio), carried, cut)
            stretches, self.last_languages = found.stretches, found.languages
        self.last_stretches = stretches
        if not stretches:
            route = Route.PRIMARY
            return [Part(0, len(audio), "", None, route)]
        routes = route_stretches(
            stretches, english_only=self.english_only, multilingual=self.model is not None
            or not self.english_only, hold=self.hold,
        )
        return parts(stretches, routes, len(audio))

    def model_of(self, route: Route, unsure: bool = False) -> ResolvedModel:
        if (route is Route.MULTILINGUAL or unsure) and self.model is not None:
            return self.model
        return self.primary_model

    def tag(self, part: Part) -> Heard:
        model = self.model_of(part.route, part.unsure)
        hold = None
        if part.unsure:
            hold = unsure_reason(part.language)
        elif part.route is Route.HOLD:
            hold = hold_reason(part.language, model.model_id)
        return Heard(
            None, part.language, part.probability, model.model_id,
            primary=part.route is Route.PRIMARY, hold=hold,
        )

    def start(
        self, audio: Audio, language: str | None, context: list[int] | None,
        transcribe: Callable[[Any, Audio, str | None, list[int] | None], tuple[Any, Any]],
        carried: RunLanguages = (), cut: int = -1,
    ) -> tuple[Iterator[Heard], Any]:
        """Start decoding a piece: as one (forced language, or nothing detects), else part
        by part (:func:`~annotator.transcribe.routing.decode_parts`); ``carried`` and
        ``cut``: see :meth:`plan`."""
        self.last_languages = carried
        if not self.active:
            segments, info = transcribe(self.primary, audio, language, context)
            known = self.forced or ""
            model_id = self.primary_model.model_id
            return (Heard(s, known, None, model_id) for s in segments), info
        piece_parts = self.plan(audio, carried, cut)

        def decode(part: Part, piece: Audio) -> tuple[Any, Any]:
            if part.route is Route.MULTILINGUAL or part.unsure:
                # an unsure part is held back; decoded in the detector's guess by the model
                # that writes it, so a reviewer who restores it gets that decode
                return transcribe(self.whisper, piece, part.language, None)
            # the English-only model needs no language; a multilingual one is told it
            wanted = None if self.english_only else (part.language or None)
            return transcribe(self.primary, piece, wanted, context if part.start == 0 else None)

        return decode_parts(piece_parts, audio, decode, self.tag)

    def translated(
        self, seg: MachineSegment, target: str, audio: Audio, offset: int
    ) -> MachineSegment:
        """``seg`` with a machine translation into ``target`` when it is in another known
        language (whisper's translate task on the multilingual model, over the segment's
        audio: ``audio`` is the piece, starting at sample ``offset``). Greedy only (no
        sampled retries), so it never moves the sampler a resumed run depends on; windows it
        skips as silence are not counted in the piece's coverage."""
        multi = self.whisper if self.whisper is not None and self.forced is None else None
        if multi is None and self.forced is not None and not self.english_only:
            multi = self.primary  # --language xx with a multilingual model
        if multi is None or not seg.language or seg.language == target:
            return seg
        a = max(seg.start_ms * SAMPLE_RATE // 1000 - offset, 0)
        b = max(seg.end_ms * SAMPLE_RATE // 1000 - offset, a)
        aside = getattr(multi, "aside", None)
        with aside() if aside is not None else nullcontext():
            segments, _info = multi.transcribe(
                audio[a:b], task="translate", language=seg.language, temperature=0.0,
                beam_size=5, vad_filter=False, word_timestamps=False,
                condition_on_previous_text=False,
            )
            text = " ".join(s.text.strip() for s in segments).strip()
        model = self.model or self.primary_model
        return replace(seg, translation=Translation(target, text, model.model_id, model.sha256))

    def dominant(self) -> tuple[str, float] | None:
        """The language with the most speech in the last piece planned, and its mean
        probability (for the run's summary language)."""
        if not self.last_stretches:
            return None
        weight: dict[str, float] = {}
        prob: dict[str, float] = {}
        for s in self.last_stretches:
            if s.unsure:
                continue
            weight[s.language] = weight.get(s.language, 0.0) + s.end - s.start
            prob[s.language] = prob.get(s.language, 0.0) + s.probability * (s.end - s.start)
        if not weight:
            return None
        language = max(weight, key=lambda k: (weight[k], k))
        return language, prob[language] / weight[language]

