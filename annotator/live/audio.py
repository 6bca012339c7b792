"""The captured file's audio, decoded once as it grows, for every transcription pass.

A live run decodes its file pass after pass (:mod:`.follow`). Opening the file again for each
pass decodes everything from its first byte every time: measured on a loaded 2-core machine,
30 minutes of MPEG-TS take 6.7 s to decode, so late in a long stream every pass would pay
that before its first new word, and a pass that reads the file while it grows would chase its
end. Instead one thread decodes the file once, through a reader that waits for bytes still
to come (:class:`_GrowingReader`), with :func:`annotator.transcribe.chunks.decode_stream`,
so the samples are those a decode of the finished file gives (same decoder, same resampler:
its output does not depend on how the input is split, see tests/live/test_live_audio.py).
Each pass takes a :meth:`LiveAudio.snapshot`: the samples decoded so far, bounded, so a pass
never runs after the stream.

Audio no pass will read again (before the run's last checkpoint's restart) is let go
(:meth:`LiveAudio.release_before`): a snapshot stands for it with a zero-stride view of the
same length, which the piece cutter skips without reading it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from annotator.transcribe.chunks import Audio, decode_stream

#: Input samples gathered before each resampling: about half a second (the file's default of
#: ten seconds would hold new audio back that long).
LIVE_BLOCK = 24_000
#: How much of the stream FFmpeg reads to learn its streams before decoding starts: half a
#: second of it instead of FFmpeg's default five, measured to read 7.7 s of a live MPEG-TS
#: (audio and video) before its first audio, which the first words then waited for. The
#: samples are the same (tested).
LIVE_OPEN = {"analyzeduration": "500000"}


class _GrowingReader:
    """A read-only file object over a file that is still being appended to: at its end it
    waits for more until :meth:`end` says no more will come. No ``seek``: the demuxer reads it
    as a stream, never looking for the end of a file that has none yet."""

    def __init__(self, path: Path, on_idle: Callable[[], None]) -> None:
        self._file = path.open("rb")
        self._more = threading.Event()
        self._ended = threading.Event()
        self._on_idle = on_idle  # every byte so far was read: the decoder waits for more

    def read(self, size: int = -1) -> bytes:
        while True:
            data = self._file.read(size)
            if data:
                return data
            if self._ended.is_set():
                return self._file.read(size)  # what came between the read and the end
            self._on_idle()
            self._more.wait(1.0)
            self._more.clear()

    def poke(self) -> None:
        self._more.set()

    def end(self) -> None:
        self._ended.set()
        self._more.set()

    def close(self) -> None:
        self._file.close()


class LiveAudio(threading.Thread):
    """Decodes ``path`` as it grows; see the module doc. Call :meth:`arrived` when bytes were
    appended and :meth:`end` once the file is complete; :meth:`complete` then waits for the
    last samples (the resampler's flush). ``on_grow`` is called whenever the decoder has read
    every byte written so far (a pass then sees a whole piece, not part of one) and when
    decoding ends."""

    def __init__(self, path: Path, on_grow: Callable[[], None] = lambda: None) -> None:
        super().__init__(name="annotator-live-audio", daemon=True)
        self.path, self.on_grow = path, on_grow
        self._reader = _GrowingReader(path, on_grow)
        self._lock = threading.Lock()
        self._blocks: list[Audio] = []
        self._released = 0  # samples before this one are held as one zero-stride view
        self.samples = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for block in decode_stream(self.path, self._reader, LIVE_BLOCK, LIVE_OPEN):  # type: ignore[arg-type]
                with self._lock:
                    self._blocks.append(block)
                    self.samples += len(block)
        except BaseException as exc:  # the follower falls back to decoding the file itself
            self.error = exc
        finally:
            self._reader.close()
            self.on_grow()

    def arrived(self) -> None:
        self._reader.poke()

    def end(self) -> None:
        self._reader.end()

    def complete(self) -> bool:
        """Wait until the whole file is decoded; False if decoding failed."""
        self.join()
        return self.error is None

    def snapshot(self) -> tuple[list[Audio], int]:
        """The blocks decoded so far (views, not copies) and their length in samples."""
        with self._lock:
            return list(self._blocks), self.samples

    def release_before(self, sample: int) -> None:
        """Let go of the whole blocks that end before ``sample``."""
        with self._lock:
            position, drop = 0, 0
            for block in self._blocks:
                if position + len(block) > sample:
                    break
                position += len(block)
                drop += 1
            if drop < 2 or position <= self._released:
                return
            self._blocks[:drop] = [_zeros(position)]
            self._released = position


def _zeros(samples: int) -> Audio:
    """``samples`` zeros that take no memory (a read-only zero-stride view)."""
    view: Any = np.broadcast_to(np.float32(0.0), (samples,))
    return view  # type: ignore[no-any-return]
