"""The one place annotator overrides faster-whisper's internals, for one faster-whisper version.

:class:`SilenceAwareWhisper` applies the silence policy of :mod:`annotator.transcribe.silence`
inside the engine, which needs two of faster-whisper's internal methods: ``encode`` (to see
how much of a window is audio) and ``generate_with_fallback`` (to stop sampled retries on
windows judged silent and to give short windows a token budget). Internal methods change
without notice between releases, so this module refuses, on import, any faster-whisper but
the one it was written and measured against (:data:`FASTER_WHISPER_VERSION`, also the exact
pin in ``pyproject.toml``), and ``tests/transcribe/test_whisper_model.py`` pins the overridden
signatures against the installed package. To move to a new faster-whisper: read its
``generate_with_fallback`` and ``generate_segments``, adjust :func:`silence.best_of` (which
copies upstream's choice when every attempt fails), then change the pin, this constant and the
signature test together.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any

import numpy as np

from annotator.errors import AnnotatorError
from annotator.transcribe.silence import (
    Decode,
    best_of,
    content_frames,
    engine_skips,
    settle_first_decode,
    token_budget,
)

#: The faster-whisper release whose internals :class:`SilenceAwareWhisper` overrides.
FASTER_WHISPER_VERSION = "1.2.1"


class EngineVersionError(AnnotatorError):
    """The installed faster-whisper is not the release annotator's engine patch was made for."""

    def __init__(self, installed: str) -> None:
        self.installed = installed
        super().__init__(
            f"faster-whisper {installed} is installed, but annotator overrides internals of "
            f"faster-whisper {FASTER_WHISPER_VERSION} only (install faster-whisper=="
            f"{FASTER_WHISPER_VERSION}, as pyproject.toml pins it)"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.installed,))


def check_version(installed: str | None = None) -> None:
    """Raise :class:`EngineVersionError` unless faster-whisper is the supported release."""
    found = installed if installed is not None else metadata.version("faster-whisper")
    if found != FASTER_WHISPER_VERSION:
        raise EngineVersionError(found)


check_version()

from faster_whisper import WhisperModel  # noqa: E402  (only once the version is known)


class SilenceAwareWhisper(WhisperModel):  # type: ignore[misc]
    """faster-whisper's model, without sampled retries on windows it judges silent and with
    a token budget on windows shorter than 30 s (see :mod:`annotator.transcribe.silence`)."""

    _window_frames: int | None = None
    #: Whether a sampled retry ran since the engine last reset this (the decoder's random
    #: generator has moved on: see Engine._fresh_decoder).
    sampled = False
    #: Windows the engine dropped as silence since :meth:`take_skipped` was last called,
    #: with the figures behind each decision (coverage reports them).
    _skipped: list[dict[str, float | None]] | None = None
    #: Decodes that stopped because they reached the token budget (their text may end early),
    #: since :meth:`take_budget_cuts` was last called.
    _budget_cuts: list[dict[str, int]] | None = None

    def take_budget_cuts(self) -> list[dict[str, int]]:
        """The decodes the token budget stopped since the last call (and forget them)."""
        cuts, self._budget_cuts = self._budget_cuts or [], []
        return cuts

    def take_skipped(self) -> list[dict[str, float | None]]:
        """The windows dropped as silence since the last call (and forget them)."""
        skipped, self._skipped = self._skipped or [], []
        return skipped

    @contextmanager
    def aside(self) -> Iterator[None]:
        """Decodes inside this block are not the transcript's (a translation): the silence
        skips and budget cuts they cause are forgotten, those noted before are kept."""
        skipped, cuts = self.take_skipped(), self.take_budget_cuts()
        try:
            yield
        finally:
            self._skipped, self._budget_cuts = skipped, cuts

    def encode(self, features: np.ndarray[Any, Any]) -> Any:
        self._window_frames = content_frames(features)
        return super().encode(features)

    def generate_with_fallback(
        self, encoder_output: Any, prompt: list[int], tokenizer: Any, options: Any
    ) -> Decode:
        decode = self._decode(encoder_output, prompt, tokenizer, options)
        if engine_skips(decode, options):
            if self._skipped is None:
                self._skipped = []
            self._skipped.append({
                "no_speech_prob": round(float(decode[0].no_speech_prob), 3),
                "avg_logprob": round(float(decode[1]), 3) if math.isfinite(decode[1]) else None,
            })
        return decode

    def _decode(
        self, encoder_output: Any, prompt: list[int], tokenizer: Any, options: Any
    ) -> Decode:
        budgeted = self._budgeted(options, len(prompt))
        decode = self._decode_budgeted(encoder_output, prompt, tokenizer, budgeted)
        limit = budgeted.max_new_tokens
        if limit is not None and limit != options.max_new_tokens:
            written = len(decode[0].sequences_ids[0])
            if written >= limit:  # stopped by the budget, not by the model's end of text
                if self._budget_cuts is None:
                    self._budget_cuts = []
                self._budget_cuts.append({"tokens": written, "budget": int(limit)})
        return decode

    def _decode_budgeted(
        self, encoder_output: Any, prompt: list[int], tokenizer: Any, options: Any
    ) -> Decode:
        temperatures = list(options.temperatures)
        parent = super().generate_with_fallback
        if len(temperatures) < 2:
            self.sampled = self.sampled or any(t > 0 for t in temperatures)
            return parent(encoder_output, prompt, tokenizer, options)  # type: ignore[no-any-return]
        first: Decode = parent(
            encoder_output, prompt, tokenizer,
            dataclasses.replace(options, temperatures=temperatures[:1]),
        )
        settled = settle_first_decode(first, options)
        if settled is not None:
            return settled
        self.sampled = True
        rest: Decode = parent(
            encoder_output, prompt, tokenizer,
            dataclasses.replace(options, temperatures=temperatures[1:]),
        )
        return best_of(first, rest, options)

    def _budgeted(self, options: Any, prompt_length: int) -> Any:
        """``options`` with ``max_new_tokens`` lowered to :func:`token_budget` for a short
        window (never above what the caller or the model allows)."""
        if self._window_frames is None:
            return options
        budget = token_budget(self._window_frames, int(self.frames_per_second))
        if options.max_new_tokens is not None:
            budget = min(budget, options.max_new_tokens)
        if prompt_length + budget >= self.max_length or budget == options.max_new_tokens:
            return options
        return dataclasses.replace(options, max_new_tokens=budget)
