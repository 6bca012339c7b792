"""The speech engine: faster-whisper, wrapped so the rest of annotator sees only domain types.

This package is the only place that imports faster-whisper (importing it costs ~0.4 s, so the
CLI imports this module only when it is about to transcribe). :meth:`Engine.transcribe` is a
generator, like faster-whisper's own: segments reach the workspace and the UI as they are
decoded, so a crash or a cancel loses at most the segment in progress.

Float seconds from the engine become integer milliseconds here, once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel

from annotator.core.coverage import (
    BUDGET_CUT,
    ENGINE_SKIPPED,
    HELD_BACK,
    Coverage,
    Dropped,
    measure,
)
from annotator.core.model import (
    FIRST_CHECKPOINT,
    Checkpoint,
    MachineSegment,
    SuppressedSegment,
    Word,
    words_text,
)
from annotator.errors import MediaError, ModelError
from annotator.transcribe.chunks import (
    CHUNK_S,
    OVERLAP_S,
    SAMPLE_RATE,
    Audio,
    Piece,
    context_before,
    decode_stream,
    pieces,
    pieces_after,
    restart_at,
)
from annotator.transcribe.models import DEFAULT_MODEL, ResolvedModel, resolve_model
from annotator.transcribe.router import Router
from annotator.transcribe.routing import Heard, RunLanguages
from annotator.transcribe.silence import CHECK_VAD, MIN_HEARD_SHARE, TOKEN_BUDGET, judge
from annotator.transcribe.vad import speech_spans
from annotator.transcribe.whisper_model import SilenceAwareWhisper


@dataclass(frozen=True)
class TranscribeOptions:
    """Options a user can set; all of them are recorded in the run's provenance.

    ``initial_prompt``/hotwords are deliberately absent: measured on tiny.en, a prompt makes it
    drop whole lines.
    """

    model: str = DEFAULT_MODEL
    language: str | None = None
    beam_size: int = 5
    word_timestamps: bool = True
    vad_filter: bool = True
    compute_type: str = "int8"
    cpu_threads: int = 0  # 0 = auto (see engine_threads)
    # Silence (ms) that ends a VAD speech chunk; 2000 is faster-whisper's default. Measured on
    # the demo clip: 2000 keeps one scripted line per segment (23/23) but keeps the file's
    # sub-second silent tail, which tiny.en fills with invented text (see silence.py, which
    # holds that back and skips its retries); 1000 drops the tail but merges two speakers'
    # lines into one segment. Review needs the segmentation, so the default stays 2000.
    vad_min_silence_ms: int = 2000
    # Hold back text the engine produced where it and a VAD pass judge there is no speech, and
    # skip sampled retries on such windows (see silence.py); kept in the workspace, not the
    # draft.
    suppress_silent_hallucinations: bool = True
    # Seed for CTranslate2's sampler (used only by temperature-fallback retries), set afresh
    # for every piece with a freshly loaded decoder (Engine._fresh_decoder), so a piece's text
    # does not depend on what the process decoded before it (a resumed run, a batch).
    seed: int = 0
    # Audio is transcribed in pieces of about this many seconds, cut at quiet moments (see
    # chunks.py): bounded memory on long streams, and resumes that skip finished audio.
    chunk_s: float = CHUNK_S
    # Seconds before each cut decoded again with the next piece, prompted with the text
    # before them, so the engine goes on as if the audio had not been cut (see chunks.py).
    overlap_s: float = OVERLAP_S
    # Languages the detector may choose among (--languages en,es); None: any it knows.
    languages: tuple[str, ...] | None = None
    # The model that detects languages and writes speech an English-only model cannot
    # (see router.py); "hold": hold such speech back instead (--other-languages hold).
    multilingual_model: str = "base"
    other_languages: str = "transcribe"
    # Add a machine translation into this language (whisper translates only into English)
    # to every segment in another language (--translate en, the default: a reader of a
    # bilingual recording needs it, and it costs nothing where all speech is English);
    # None: no translation (--translate none).
    translate: str | None = "en"
    extra: dict[str, Any] = field(default_factory=dict)

    def engine_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``WhisperModel.transcribe``."""
        return {
            "language": self.language,
            "beam_size": self.beam_size,
            "word_timestamps": self.word_timestamps,
            "vad_filter": self.vad_filter,
            "vad_parameters": {"min_silence_duration_ms": self.vad_min_silence_ms},
            **self.extra,
        }


@dataclass(frozen=True)
class StreamEnd:
    """The last event of a transcription: how much audio the file really decoded to (a file
    that ends early decodes to less than its container declares)."""

    decoded_ms: int


@dataclass(frozen=True)
class PieceCoverage:
    """After a piece's segments: how much speech a VAD heard in it and how much the segments
    cover, with the gaps (:mod:`annotator.core.coverage`)."""

    piece: int
    coverage: Coverage


#: What :meth:`Engine.transcribe` yields.
EngineEvent = MachineSegment | SuppressedSegment | Checkpoint | PieceCoverage | StreamEnd


@dataclass(frozen=True)
class EngineInfo:
    """What the engine reports before the first segment: language and the options it used."""

    language: str
    language_probability: float
    options: dict[str, Any]


def engine_versions() -> dict[str, str]:
    """Versions of every package that shapes the output, for provenance."""
    versions: dict[str, str] = {}
    for dist in ("faster-whisper", "ctranslate2", "av", "onnxruntime", "tokenizers"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


#: Models smaller than this (tiny: 75 MB) run on one thread on small machines; see below.
SMALL_MODEL_BYTES = 100 * 1024 * 1024


def engine_threads(requested: int, model_path: Path, cores: int | None = None) -> int:
    """CPU threads for CTranslate2: ``requested`` if set, else 0 (CTranslate2's default, one
    per core), except for a small model on a machine with two cores or fewer, which gets 1.

    Measured on 2 shared cores (decode of the demo clip / ami_debug_dev00 with the model
    loaded): tiny.en takes 2.95 s / 0.9 s on one thread and 4.7 s / 1.65 s on two, its
    matrix products being too small to share out; base is 6 % faster on two threads.
    """
    if requested > 0:
        return requested
    cores = cores if cores is not None else (os.cpu_count() or 1)
    try:
        small = (model_path / "model.bin").stat().st_size < SMALL_MODEL_BYTES
    except OSError:
        small = False
    return 1 if small and cores <= 2 else 0


def to_ms(seconds: float) -> int:
    return round(seconds * 1000)


class Engine:
    """A loaded model plus the options to run it with. Load once per batch."""

    def __init__(self, options: TranscribeOptions | None = None) -> None:
        self.options = options or TranscribeOptions()
        self.model: ResolvedModel = resolve_model(self.options.model)
        self.threads = engine_threads(self.options.cpu_threads, self.model.path)
        model_class = (
            SilenceAwareWhisper if self.options.suppress_silent_hallucinations else WhisperModel
        )
        try:
            self._whisper = model_class(
                str(self.model.path),  # always a folder: a bare name would try a download
                device="cpu",
                compute_type=self.options.compute_type,
                cpu_threads=self.threads,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(
                self.model.model_id, f"cannot load from {self.model.path}: {exc}"
            ) from exc
        self.router = Router(
            primary=self._whisper, primary_model=self.model, forced=self.options.language,
            allowed=self.options.languages, multilingual_model=self.options.multilingual_model,
            hold=self.options.other_languages == "hold", load=self._load,
        )
        ctranslate2.set_random_seed(self.options.seed)
        self._decoder_used = False  # see _fresh_decoder
        self.versions = engine_versions()

    def _load(self, model: ResolvedModel) -> Any:
        """Load another model (the multilingual one) the way the chosen one is loaded."""
        model_class = (
            SilenceAwareWhisper if self.options.suppress_silent_hallucinations else WhisperModel
        )
        try:
            return model_class(
                str(model.path), device="cpu", compute_type=self.options.compute_type,
                cpu_threads=engine_threads(self.options.cpu_threads, model.path),
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(model.model_id, f"cannot load from {model.path}: {exc}") from exc

    def provenance_options(self) -> dict[str, Any]:
        opts = asdict(self.options)
        opts["model_path"] = str(self.model.path)
        opts["cpu_threads_used"] = self.threads
        opts["languages_routing"] = self.router.provenance()
        if self.options.suppress_silent_hallucinations:
            opts["silence_check"] = {
                "vad": CHECK_VAD if self.options.vad_filter else None,
                "min_heard_share": MIN_HEARD_SHARE, "token_budget": TOKEN_BUDGET,
            }
        return opts

    def transcribe(
        self, path: Path, resume: Checkpoint | None = None, language: str | None = None,
        audio: Iterable[Audio] | None = None, languages: RunLanguages = (),
    ) -> tuple[EngineInfo, Iterator[EngineEvent]]:
        """Start transcribing ``path``, from its beginning or from a ``resume`` checkpoint a
        run stored earlier (``language``: the one that run found); returns the info and a
        lazy iterator of events: a :class:`Checkpoint` at the start of every piece, before
        its segments, then the piece's segments, and a final :class:`StreamEnd`.

        The audio is decoded as a stream and transcribed in pieces (:mod:`.chunks`); the
        first piece is decoded and started here, so a file that cannot be decoded fails now.
        The language found in the first piece is kept for the rest. Decoding from a
        checkpoint gives what the uninterrupted run gave from there: the same audio, the same
        prompt and the same carried state, with a decoder seeded afresh for every piece
        (:meth:`_fresh_decoder`).

        ``audio``: the file's decoded blocks (what :func:`decode_stream` gives) when the caller
        has them already: a live capture decodes its growing file once for all its passes
        (:mod:`annotator.live.audio`) and hands each pass the audio arrived so far.
        ``languages``: what was heard before the first piece (a span of a transcribed file).
        """
        start = resume if resume is not None and resume.piece > 0 else replace(
            FIRST_CHECKPOINT, languages=languages)
        blocks = decode_stream(path) if audio is None else iter(audio)
        stream = (
            pieces(blocks, chunk_s=self.options.chunk_s) if start.piece == 0 else
            pieces_after(blocks, restart_sample=start.restart_sample,
                         cut_sample=start.cut_sample, chunk_s=self.options.chunk_s)
        )
        wanted = self.options.language if start.piece == 0 else language
        try:
            first = next(stream, None)
            if first is None:  # no audio at all
                return EngineInfo(self.options.language or "", 0.0, {}), iter([StreamEnd(0)])
            self._fresh_decoder()
            segments, info, heard = self._start(
                first.audio, wanted, list(start.context), start.languages,
                start.cut_sample - first.start_sample)
        except MediaError:
            raise
        except Exception as exc:  # PyAV and the engine raise many types for bad input
            raise MediaError(path, f"cannot decode audio ({type(exc).__name__}: {exc})") from exc
        used = {
            "transcription_options": _jsonable(asdict(info.transcription_options)),
            # a dataclass with VAD on; with --no-vad faster-whisper hands back the dict given
            "vad_options": _jsonable(
                asdict(info.vad_options)  # type: ignore[arg-type]
                if is_dataclass(info.vad_options) else info.vad_options
            ) if info.vad_options else None,
        }
        language, probability = self.router.dominant() or (
            info.language, float(info.language_probability))
        engine_info = EngineInfo(language, probability, used)
        threshold = info.transcription_options.no_speech_threshold
        return engine_info, self._stream(
            path, start, first, (segments, heard), stream, info.language, threshold
        )

    def _fresh_decoder(self) -> None:
        """Seed CTranslate2's sampler and, if the decoder has drawn samples since it was
        loaded, load it again, so every piece starts from the same sampler state.

        Sampled retries (temperature fallback) draw from a generator CTranslate2 seeds once
        per decoding thread, so ``set_random_seed`` alone does not reset a decoder that has
        sampled before, and a piece's text would depend on everything the process decoded
        earlier (a resumed run would not equal an uninterrupted one). Measured (CTranslate2
        4.8.5, tiny.en): after ``set_random_seed(0)`` twice, two sampled decodes of the same
        window differ; with a freshly loaded decoder after each seeding they are identical.
        Loading tiny.en takes about 0.2 s. glibc keeps the freed decoder's memory, so it is
        handed back at once (:func:`_release_freed_memory`): measured on six minutes in
        100-second pieces, a reload before every piece peaks at 880 MiB without that and
        570 MiB with it, against 460 MiB without reloads. A decoder that drew no sample (the
        silence-aware model says so; faster-whisper's own cannot) is kept.
        """
        ctranslate2.set_random_seed(self.options.seed)
        decoders = [(self._whisper, self.model.path, self.threads)]
        other = self.router.model
        if other is not None and self.router.whisper is not None:  # the multilingual one too
            threads = engine_threads(self.options.cpu_threads, other.path)
            decoders.append((self.router.whisper, other.path, threads))
        for whisper, path, threads in decoders:
            if self._decoder_used and getattr(whisper, "sampled", True):
                whisper.model = None  # free the old decoder before loading the new one
                _release_freed_memory()
                whisper.model = ctranslate2.models.Whisper(
                    str(path), device="cpu", compute_type=self.options.compute_type,
                    intra_threads=threads,
                )
            if isinstance(whisper, SilenceAwareWhisper):
                whisper.sampled = False
        self._decoder_used = True

    def _start(
        self, audio: Any, language: str | None, context: list[int] | None = None,
        carried: RunLanguages = (), cut: int = -1,
    ) -> tuple[Iterator[Heard], Any, RunLanguages]:
        """The lazy segments (tagged with their language and model), info and what the run
        has heard after it, for one piece; ``context`` is the prompt (the tokens the engine
        wrote just before this piece). The router splits the piece by language when it can
        (:mod:`.router`; ``carried``, ``cut``: see :meth:`.Router.plan`)."""
        segments, info = self.router.start(
            audio, language, context, self._transcribe, carried, cut)
        return segments, info, self.router.last_languages

    def _transcribe(
        self, whisper: Any, audio: Any, language: str | None, context: list[int] | None
    ) -> tuple[Any, Any]:
        """faster-whisper's lazy segments and info for one stretch of audio."""
        kwargs = {**self.options.engine_kwargs(), "language": language}
        if context:
            kwargs["initial_prompt"] = context
        segments, info = whisper.transcribe(audio, **kwargs)
        return segments, info

    def _stream(
        self, path: Path, start: Checkpoint, first: Piece,
        started: tuple[Any, RunLanguages], rest: Iterator[Piece], language: str,
        threshold: float,
    ) -> Iterator[EngineEvent]:
        """Events of every piece, with times from the start of the file and one index
        sequence; errors name the file.

        Every piece after the first is decoded together with the last ``overlap_s`` seconds
        before its cut, prompted with the tokens the engine wrote before that overlap, so it
        goes on as if the audio had not been cut (see :mod:`.chunks`); what the overlap
        yields again is dropped (:func:`after_cut`). Each piece starts with its
        :class:`Checkpoint`: everything needed to decode it again the same way, including
        what the run heard before it (``started``: the first piece's segments and after).
        """
        check = self.options.suppress_silent_hallucinations
        vad_check = check and self.options.vad_filter
        overlap = int(self.options.overlap_s * SAMPLE_RATE)
        piece_no, index, audio = start.piece, start.first_index, first.audio
        offset, cut = first.start_sample, start.cut_sample
        # (end in s, tokens) of engine segments that later cuts look at
        written: list[tuple[float, list[int]]] = [(e, list(t)) for e, t in start.carry]
        context = list(start.context)
        segments, after = started
        languages = start.languages  # what the run heard before this piece
        try:
            while True:
                yield Checkpoint(
                    piece_no, offset, cut, index, tuple(context),
                    tuple((e, tuple(t)) for e, t in written), languages,
                )
                if segments is None:
                    # A piece after the first is prepared once its checkpoint is out, so a
                    # caller that stops there (a cluster task decodes one piece, the next
                    # task starts from that checkpoint) has not paid for preparing it.
                    self._fresh_decoder()
                    segments, _info, after = self._start(
                        audio, language, context, languages, cut - offset)
                languages = after
                end_sample = offset + len(audio)
                spans = speech_spans(audio)  # where speech is heard: the check and coverage
                self._take_skipped()  # windows dropped as silence count from this piece on
                self._take_budget_cuts()  # and so do decodes the token budget stopped
                converted = convert_segments(
                    _tap(segments, written, offset / SAMPLE_RATE), threshold if check else None,
                    spans if vad_check else None, offset_s=offset / SAMPLE_RATE,
                )
                cut_ms = -1 if cut < 0 else cut * 1000 // SAMPLE_RATE
                kept: list[tuple[int, int]] = []
                held: list[Dropped] = []
                for seg in after_cut(converted, cut_ms):
                    if isinstance(seg, SuppressedSegment):
                        held.append(Dropped(seg.start_ms, seg.end_ms, HELD_BACK, {
                            "text": seg.text, "why": seg.reason,
                        }))
                    else:
                        seg = replace(seg, index=index)
                        index += 1
                        if self.options.translate is not None:
                            seg = self.router.translated(
                                seg, self.options.translate, audio, offset
                            )
                        kept.append((seg.start_ms, seg.end_ms))
                    yield seg
                yield self._coverage(piece_no, offset, cut_ms, end_sample, spans, kept, held)
                piece = next(rest, None)
                if piece is None:
                    yield StreamEnd(end_sample * 1000 // SAMPLE_RATE)
                    return
                restart = restart_at(written, piece.start_sample, overlap, offset)
                # Let go of the finished piece (its audio, features and VAD state) before the
                # next one is prepared: only one piece is ever held.
                segments, spans = None, []
                del converted
                tail = audio[restart - offset :]
                offset, cut, piece_no = restart, piece.start_sample, piece_no + 1
                context = context_before(written, offset / SAMPLE_RATE) or []
                written = [w for w in written if w[0] > offset / SAMPLE_RATE]
                audio = np.concatenate([tail, piece.audio])
                del tail, piece
        except MediaError:
            raise
        except Exception as exc:  # a decode error mid-stream: name the file and the cause
            raise MediaError(
                path, f"decoding failed mid-stream ({type(exc).__name__}: {exc})"
            ) from exc


    def _take_skipped(self) -> list[dict[str, float | None]]:
        """Windows the engine dropped as silence since the last call (only the silence-aware
        model reports them; faster-whisper's own model drops them without a trace)."""
        skipped: list[dict[str, float | None]] = []
        for whisper in {id(w): w for w in (self._whisper, self.router.whisper) if w}.values():
            take = getattr(whisper, "take_skipped", None)
            skipped += take() if take is not None else []
        return skipped

    def _take_budget_cuts(self) -> list[dict[str, int]]:
        """Decodes the token budget stopped since the last call (silence-aware model only)."""
        cuts: list[dict[str, int]] = []
        for whisper in {id(w): w for w in (self._whisper, self.router.whisper) if w}.values():
            take = getattr(whisper, "take_budget_cuts", None)
            cuts += take() if take is not None else []
        return cuts

    def _coverage(
        self, piece: int, offset: int, cut_ms: int, end_sample: int,
        spans: list[tuple[int, int]], kept: list[tuple[int, int]], held: list[Dropped],
    ) -> PieceCoverage:
        """How much of the speech heard in this piece (after its cut: the overlap belongs to
        the piece before) its segments cover, and the gaps with the rule that dropped them.

        faster-whisper does not say *which* window it dropped as silence, so a window it
        skipped is reported over the whole piece: a gap no held-back segment explains is put
        down to the engine's no-speech rule whenever the piece had such a skip, else to the
        token budget when a decode of the piece was stopped by it.
        """
        offset_ms = offset * 1000 // SAMPLE_RATE
        start_ms, end_ms = max(cut_ms, offset_ms), end_sample * 1000 // SAMPLE_RATE
        heard = [
            (max(offset_ms + a, start_ms), offset_ms + b) for a, b in spans
            if offset_ms + b > start_ms
        ]
        skipped = self._take_skipped()
        dropped = list(held)
        if skipped:
            dropped.append(Dropped(start_ms, end_ms, ENGINE_SKIPPED, {
                "windows_skipped_in_piece": len(skipped), "decisions": skipped,
            }))
        cuts = self._take_budget_cuts()
        if cuts:  # after the skip: on a tie the first report of the largest overlap names it
            dropped.append(Dropped(start_ms, end_ms, BUDGET_CUT, {
                "decodes_cut_in_piece": len(cuts), "cuts": cuts,
            }))
        return PieceCoverage(piece, measure(heard, kept, dropped))


def _release_freed_memory() -> None:
    """Ask the C allocator to return freed memory to the system (glibc's ``malloc_trim``;
    elsewhere nothing happens). A dropped CTranslate2 decoder otherwise stays in the
    process's memory (see :meth:`Engine._fresh_decoder`)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    if trim is not None:
        trim(0)


def _tap(
    segments: Iterator[Heard], written: list[tuple[float, list[int]]], offset_s: float
) -> Iterator[Heard]:
    """Pass segments through, noting the end (from the start of the file) and tokens
    (timestamps included) of each one the chosen model wrote, for the next piece's prompt
    (another model's tokens are another vocabulary)."""
    for heard in segments:
        if heard.primary:
            written.append((offset_s + heard.seg.end, list(heard.seg.tokens)))
        yield heard


def after_cut(
    segments: Iterator[MachineSegment | SuppressedSegment], cut_ms: int
) -> Iterator[MachineSegment | SuppressedSegment]:
    """Only what lies after ``cut_ms`` (the overlap before it was already written by the
    previous piece): segments ending by the cut are dropped, and a segment across it keeps
    only the words that start after it, so no word is lost or written twice."""
    for seg in segments:
        if seg.end_ms <= cut_ms:
            continue
        if seg.start_ms < cut_ms and seg.words:
            words = tuple(w for w in seg.words if w.start_ms >= cut_ms)
            if not words:
                continue
            seg = replace(seg, start_ms=words[0].start_ms, text=words_text(words), words=words)
        elif seg.start_ms < cut_ms and (seg.start_ms + seg.end_ms) // 2 < cut_ms:
            continue  # without word timings: the side of the cut the segment mostly lies on
        yield seg


def convert_segments(
    segments: Any, no_speech_threshold: float | None,
    spans: list[tuple[int, int]] | None = None, *, offset_s: float = 0.0,
) -> Iterator[MachineSegment | SuppressedSegment]:
    """faster-whisper segments of one piece (times from ``offset_s``) to domain segments.
    With a ``no_speech_threshold``, segments :func:`annotator.transcribe.silence.judge`
    finds silent (``spans``: where a VAD hears speech in the piece) come out as
    :class:`SuppressedSegment`; draft indices stay contiguous (from 0 in each piece; the
    engine numbers them across pieces)."""
    offset_ms = to_ms(offset_s)
    index = 0
    for item in segments:
        heard = item if isinstance(item, Heard) else Heard(item)
        seg = heard.seg
        words = tuple(
            Word(to_ms(offset_s + w.start), to_ms(offset_s + w.end), w.word,
                 float(w.probability))
            for w in (seg.words or ())
        )
        start_ms, end_ms = to_ms(offset_s + seg.start), to_ms(offset_s + seg.end)
        no_speech = float(seg.no_speech_prob)
        temperature = float(seg.temperature or 0.0)
        common: dict[str, Any] = {
            "start_ms": start_ms, "end_ms": end_ms, "text": seg.text.strip(),
            "words": words, "avg_logprob": float(seg.avg_logprob),
            "no_speech_prob": no_speech, "compression_ratio": float(seg.compression_ratio),
            "language": heard.language, "language_probability": heard.probability,
            "model_id": heard.model_id,
        }
        reason = heard.hold or judge(
            start_ms=start_ms - offset_ms, end_ms=end_ms - offset_ms, no_speech_prob=no_speech,
            temperature=temperature, no_speech_threshold=no_speech_threshold, spans=spans,
        )
        if reason is not None:
            yield SuppressedSegment(index=-1, temperature=temperature, reason=reason, **common)
            continue
        yield MachineSegment(index=index, **common)
        index += 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value == float("inf"):
        return "inf"
    return value
