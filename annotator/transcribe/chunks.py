"""Long recordings in pieces: decode as a stream, cut at quiet moments, transcribe piece by piece.

faster-whisper decodes a whole file into memory before it starts (16 kHz float32: 921 MB for
a 4-hour livestream, then its features and a VAD-trimmed copy on top), and an interrupted run
could only be resumed by decoding everything up to the interruption again. annotator instead
decodes the audio as a stream (PyAV, the same resampling to 16 kHz mono 16-bit as
faster-whisper's ``decode_audio``) and hands the engine pieces of about five minutes:

- memory stays bounded by the piece, whatever the length of the stream (faster-whisper's own
  VAD holds state for its whole input. Measured on 2 cores with ``bench/memory.py``: the
  first piece peaks at about 530 MiB with five-minute pieces and 890 MiB with ten, and a
  whole 20-minute file at 770 MiB, flat after the second piece, against 1.35 GiB for
  faster-whisper on 20 minutes and 3.5 GiB on 60);
- a resumed run decodes again only the piece it was interrupted in, from the checkpoint
  stored at that piece's start (:func:`pieces_after`), skipping the audio before it without
  transcribing it again;
- each piece ends in the middle of the longest pause of its last 30 s, so no word is cut in
  two and a piece starts, where it can, at a turn rather than a breath.

A cut must not change the transcript. Decoded on its own, a piece that starts mid-conversation
can settle into joining several lines per segment, and prompting it with the text before the
cut made tiny.en drop the first lines after it (measured on twelve back-to-back copies of the
demo clip, 710 s, two cuts: 199 segments instead of 276, or WER 0.024). So the engine decodes
each piece together with the last ``OVERLAP_S`` seconds before its cut (from the end of a
segment, so not mid-word), prompted with the tokens it wrote before that overlap, and keeps
only what comes after the cut: 276 segments and WER 0.0, as in one piece, for 5 % more audio.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import av
import numpy as np

from annotator.core.model import SAMPLE_RATE
from annotator.errors import MediaError

__all__ = ["SAMPLE_RATE", "Piece", "context_before", "decode_stream", "pieces", "pieces_after",
           "quiet_cut", "restart_at"]
#: Pieces hold about this many seconds; each cut is searched for in the last SEARCH_S of it.
CHUNK_S = 300
SEARCH_S = 30
#: Seconds before a cut that the next piece decodes again, for context (see the engine).
OVERLAP_S = 15
#: The cut lands in the middle of the quietest frame of this many samples (100 ms).
FRAME = SAMPLE_RATE // 10
#: PyAV frames are gathered into blocks of this many input samples before resampling.
BLOCK = 500_000

Audio = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True)
class Piece:
    """A stretch of the stream: its first sample's position and its samples."""

    start_sample: int
    audio: Audio

    @property
    def start_ms(self) -> int:
        return self.start_sample * 1000 // SAMPLE_RATE


def decode_stream(
    path: Path, source: BinaryIO | None = None, block: int = BLOCK,
    open_options: dict[str, str] | None = None,
) -> Iterator[Audio]:
    """The audio of ``path`` as float32 mono 16 kHz blocks, decoded as it is read.

    ``source``: read the bytes from this file object instead of opening ``path`` (a live
    capture reads its growing file through one that waits for more: :mod:`annotator.live.audio`);
    ``block``: input samples gathered before each resampling (a live reader wants blocks
    soon); ``open_options``: FFmpeg's options for opening it (a live reader probes less of
    the stream before the first audio comes out). None of them changes the samples: the
    resampler is a stream (checked by tests/live/test_live_audio.py).

    Frames the decoder rejects are skipped (as faster-whisper does); a file PyAV cannot open
    or that has no audio raises :class:`MediaError` naming the file.
    """
    try:
        container = av.open(str(path) if source is None else source, mode="r",
                            metadata_errors="ignore", options=open_options or {})
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(path, f"cannot decode audio ({type(exc).__name__}: {exc})") from exc
    with container:
        if not container.streams.audio:
            raise MediaError(path, "has no audio stream")
        resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono",
                                                      rate=SAMPLE_RATE)
        fifo = av.audio.fifo.AudioFifo()
        for frame in _valid_frames(container.decode(audio=0)):
            frame.pts = None  # timestamps are not checked: the samples are what count
            fifo.write(frame)
            if fifo.samples >= block:
                yield from _resampled(resampler, fifo.read())
        if fifo.samples:
            yield from _resampled(resampler, fifo.read())
        yield from _resampled(resampler, None)  # flush


def _valid_frames(frames: Iterator[Any]) -> Iterator[Any]:
    while True:
        try:
            yield next(frames)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            continue


def _resampled(resampler: Any, frame: Any) -> Iterator[Audio]:
    for out in resampler.resample(frame):
        samples = out.to_ndarray().reshape(-1)
        yield (samples.astype(np.float32) / 32768.0).astype(np.float32)


def quiet_cut(audio: Audio, end: int, search: int, frame: int = FRAME) -> int:
    """Where to cut ``audio`` at or before sample ``end``: in the middle of the longest run of
    quiet ``frame`` s in ``[end - search, end)``, a frame being quiet when its energy is
    within 6 dB of the quietest one's (or digital silence). The longest pause is the most
    natural place for a transcript to start again (a turn, not a breath)."""
    start = max(end - search, 0)
    frames = (end - start) // frame
    if frames < 1:
        return end
    region = audio[start : start + frames * frame].astype(np.float64).reshape(frames, frame)
    energy = np.mean(region * region, axis=1)
    quiet = energy <= max(float(energy.min()) * 4, 1e-10)
    best, best_len, run_start = 0, 0, -1
    for i, is_quiet in enumerate(np.append(quiet, False)):
        if is_quiet and run_start < 0:
            run_start = i
        elif not is_quiet and run_start >= 0:
            if i - run_start > best_len:
                best, best_len = run_start, i - run_start
            run_start = -1
    return start + best * frame + best_len * frame // 2


def pieces(
    blocks: Iterable[Audio], *, start_sample: int = 0, chunk_s: float = CHUNK_S,
    search_s: float = SEARCH_S,
) -> Iterator[Piece]:
    """Cut a stream of blocks into :class:`Piece` s of about ``chunk_s`` seconds, each ending
    at a quiet moment; samples before ``start_sample`` are skipped."""
    chunk, search = int(chunk_s * SAMPLE_RATE), int(search_s * SAMPLE_RATE)
    held: list[Audio] = []
    held_samples = 0
    position = 0  # stream position of the next sample to arrive
    begin = start_sample  # stream position of the first held sample
    for block in blocks:
        block_start, position = position, position + len(block)
        if position <= start_sample:
            continue
        if block_start < start_sample:
            block = block[start_sample - block_start :]
        held.append(block)
        held_samples += len(block)
        if held_samples < chunk + search:
            continue
        buffer = np.concatenate(held)
        while len(buffer) >= chunk + search:
            cut = quiet_cut(buffer, chunk, search)
            yield Piece(begin, buffer[:cut])
            buffer, begin = buffer[cut:], begin + cut
        held, held_samples = [buffer], len(buffer)
    if held_samples:
        yield Piece(begin, np.concatenate(held))


def pieces_after(
    blocks: Iterable[Audio], *, restart_sample: int, cut_sample: int, chunk_s: float = CHUNK_S,
    search_s: float = SEARCH_S,
) -> Iterator[Piece]:
    """The pieces a whole-stream :func:`pieces` yields from the one starting at
    ``cut_sample`` on, the first of them preceded by its overlap (the samples from
    ``restart_sample``), so it starts at ``restart_sample``: what the engine decodes when it
    resumes a run at a checkpoint.

    The cuts come out where a whole-stream pass puts them, because each cut depends only on
    the audio from the previous cut on (:func:`quiet_cut` looks at the held buffer, which
    starts at the previous cut).
    """
    overlap: list[Audio] = []

    def tapped() -> Iterator[Audio]:
        position = 0
        for block in blocks:
            start, position = position, position + len(block)
            low, high = max(start, restart_sample), min(position, cut_sample)
            if low < high:
                overlap.append(block[low - start : high - start])
            yield block

    rest = pieces(tapped(), start_sample=cut_sample, chunk_s=chunk_s, search_s=search_s)
    first = next(rest, None)
    if first is None:
        return
    yield Piece(restart_sample, np.concatenate([*overlap, first.audio]))
    yield from rest


#: How many tokens of context carry over a cut: what faster-whisper itself keeps as the prompt
#: from earlier windows (half the model's 448-token length, less one).
CONTEXT_TOKENS = 223


def restart_at(
    written: list[tuple[float, list[int]]], cut: int, overlap: int, audio_start: int
) -> int:
    """Where (in samples) the next piece's decode starts: at the end of the last segment the
    engine wrote at least ``overlap`` samples before the ``cut`` (a pause, so the decode does
    not start mid-word), else ``overlap`` before the cut; never before the audio in hand."""
    ends = [round(end * SAMPLE_RATE) for end, _ in written]
    fitting = [e for e in ends if audio_start <= e <= cut - overlap]
    return max(fitting) if fitting else max(cut - overlap, audio_start)


def context_before(written: list[tuple[float, list[int]]], before_s: float) -> list[int] | None:
    """The prompt for audio starting at ``before_s``: the last tokens the engine wrote for
    segments that ended by then, exactly what it would have had without the cut."""
    tokens = [t for end, toks in written if end <= before_s for t in toks]
    return tokens[-CONTEXT_TOKENS:] or None
