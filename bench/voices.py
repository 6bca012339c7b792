"""Benchmark: voice suggestions (annotator/suggest/voices.py) against references.

Prints, per AMI dev clip (``../shared/data/real/ami_debug_dev0*.wav``, real meeting audio,
two speakers in the RTTM reference, scored on its UEM): DER overall and outside overlapped
speech (10 ms frames, 0.25 s collar around every reference boundary, inside the UEM,
optimal one-to-one voice mapping) and the number of voices found, with three sources of
speech regions: the energy detector (no speech given), the transcript's words (what the
suggestion pass has: ``annotator transcribe``'s words, gaps under 0.3 s closed), and the
reference's own turns (oracle speech: the embeddings and clustering alone).

On the demo clip: the share of transcript words given the right voice (words and times from
``annotator transcribe`` of ``media/demo.mp4``; a word's truth speaker is the
``media/demo_truth.tsv`` line containing its middle; voices mapped one-to-one to truth
speakers), with the voice count automatic and with ``speakers=3``; the seconds of
diarization next to transcription's for the same clip.

Synthetic conversations (``--synthetic``, needs espeak-ng): 2-4 espeak-ng voices (accent,
variant, speed and pitch drawn with fixed seeds, none of the demo's three), 12-14 lines
each from the real clips' reference texts, with their lines as speech and with the energy
detector: DER and the voice count; seeds 100-107 are the set the automatic count was
calibrated on (with AMI and one-speaker clips), 500-505 a held-out set.

Targets (issue 9): demo words on the right voice >= 95 %; DER outside overlap <= 20 % on
AMI dev; the suggestion pass <= 1/4 of the transcription time.

    .venv/bin/python bench/voices.py [--encoder campplus|resemblyzer] [--synthetic]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from annotator.suggest import voices
from annotator.suggest.audio import load_mono

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "real"
FRAME = 0.01
COLLAR = 0.25


def read_rttm(path: Path) -> list[tuple[float, float, str]]:
    turns = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "SPEAKER":
            start, dur = float(parts[3]), float(parts[4])
            turns.append((start, start + dur, parts[7]))
    return turns


def read_uem(path: Path) -> tuple[float, float]:
    parts = path.read_text().split()
    return float(parts[2]), float(parts[3])


def der(reference: list[tuple[float, float, str]], hypothesis: list[tuple[float, float, str]],
        uem: tuple[float, float]) -> tuple[float, float, tuple[float, float, float]]:
    """(DER, DER outside overlap, its (missed speech, false alarm, confusion) parts):
    frame-level, collar around reference boundaries, optimal one-to-one mapping of
    hypothesis voices to reference speakers. The parts say what a DER is made of: missed
    speech is the speech regions' fault (the transcript's words or the energy detector),
    confusion alone is the voices'."""
    frames = round(uem[1] / FRAME)
    ref_names = sorted({s for _, _, s in reference})
    hyp_names = sorted({s for _, _, s in hypothesis})
    ref = np.zeros((frames, len(ref_names)), dtype=bool)
    hyp = np.zeros((frames, max(1, len(hyp_names))), dtype=bool)
    scored = np.zeros(frames, dtype=bool)
    scored[round(uem[0] / FRAME):] = True
    for start, end, name in reference:
        ref[round(start / FRAME):round(end / FRAME), ref_names.index(name)] = True
        for edge in (start, end):
            low, high = round((edge - COLLAR) / FRAME), round((edge + COLLAR) / FRAME)
            scored[max(0, low):high] = False
    for start, end, name in hypothesis:
        hyp[round(start / FRAME):round(end / FRAME), hyp_names.index(name)] = True
    overlap = ref.sum(axis=1) >= 2
    results = []
    parts = (0.0, 0.0, 0.0)
    for mask in (scored, scored & ~overlap):
        r, h = ref[mask], hyp[mask]
        cost = -(r.T.astype(int) @ h.astype(int))
        rows, cols = linear_sum_assignment(cost)
        correct = np.zeros(r.shape[0], dtype=int)
        for i, j in zip(rows, cols, strict=True):
            correct += r[:, i] & h[:, j]
        n_ref, n_hyp = r.sum(axis=1), h.sum(axis=1)
        errors = np.maximum(n_ref, n_hyp) - correct
        total = max(1, int(n_ref.sum()))
        results.append(float(errors.sum() / total))
        parts = (float(np.maximum(n_ref - n_hyp, 0).sum() / total),
                 float(np.maximum(n_hyp - n_ref, 0).sum() / total),
                 float((np.minimum(n_ref, n_hyp) - correct).sum() / total))
    return results[0], results[1], parts


def ami() -> None:
    print("AMI dev clips (DER, 10 ms frames, 0.25 s collar, UEM):")
    for wav in sorted(REAL.glob("ami_debug_dev0*.wav")):
        reference = read_rttm(wav.with_suffix(".rttm"))
        uem = read_uem(wav.with_suffix(".uem"))
        audio = load_mono(wav)
        oracle = [(s, e) for s, e, _ in reference]
        with tempfile.TemporaryDirectory() as folder:
            words = _regions(transcript_words(wav, Path(folder))[0])
        for label, speech in (("energy speech", None), ("transcript", words),
                              ("oracle speech", oracle)):
            for speakers in (None, 2):
                result = voices.diarize(audio, 16000, speech=speech, speakers=speakers)
                hyp = [(t.start, t.end, t.voice) for t in result.turns]
                total, outside, (miss, false, confused) = der(reference, hyp, uem)
                print(f"  {wav.stem}  {label:13}  speakers={speakers!s:4}  voices "
                      f"{len(result.voices)} (truth {len({s for *_, s in reference})})  "
                      f"DER {total:6.1%}  outside overlap {outside:6.1%} (missed {miss:5.1%}"
                      f" false alarm {false:5.1%} confusion {confused:5.1%})")


def across() -> None:
    """Whether a voice named in one recording is recognised in another: the voices found
    (automatic count, reference speech) in AMI dev00 and dev01, which hold the same two
    people, each mapped to the reference speaker it overlaps most, and the one voice of each
    one-speaker clip; the cosine similarity of their kept centroids, the same person in two
    recordings against two different people, next to ``runner.LIKE_SIMILARITY``."""
    from annotator.suggest.runner import LIKE_SIMILARITY

    found: list[tuple[str, str, np.ndarray[Any, Any]]] = []  # (recording, person, centroid)
    for wav in sorted(REAL.glob("ami_debug_dev0*.wav")):
        reference = read_rttm(wav.with_suffix(".rttm"))
        result = voices.diarize(load_mono(wav), 16000, speech=[(s, e) for s, e, _ in reference])
        for voice, centroid in result.centroids.items():
            mine = [(t.start, t.end) for t in result.turns if t.voice == voice]
            person = max({n for *_, n in reference}, key=lambda n: sum(
                max(0.0, min(e, re) - max(s, rs)) for s, e in mine
                for rs, re, rn in reference if rn == n))
            found.append((wav.stem, person, np.array(centroid)))
    for wav in sorted(REAL.glob("*.wav")) + sorted(REAL.glob("*.flac")):
        if wav.stem.startswith("ami_debug_dev") or "0880" in wav.stem:  # 0880: 0870's reader
            continue
        result = voices.diarize(load_mono(wav), 16000, speakers=1)
        found += [(wav.stem, wav.stem, np.array(c)) for c in result.centroids.values()]
    same: list[float] = []
    other: list[float] = []
    for i, (rec_a, who_a, a) in enumerate(found):
        for rec_b, who_b, b in found[i + 1:]:
            if rec_a != rec_b:
                sim = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
                (same if who_a == who_b else other).append(sim)
    print(f"across recordings ({len(found)} voices; AMI dev00/dev01 share their two people):")
    print(f"  same person in two recordings: {len(same)} pairs, similarity "
          f"{min(same, default=0):.2f}-{max(same, default=0):.2f}; different people: "
          f"{len(other)} pairs, {min(other, default=0):.2f}-{max(other, default=0):.2f}; "
          f"'sounds like' threshold {LIKE_SIMILARITY}")


def transcript_words(media: Path, folder: Path) -> tuple[list[tuple[float, float]], float]:
    """The transcript's words (start, end seconds) of ``media`` by ``annotator transcribe``
    (a fresh workspace in ``folder``) and the command's wall time."""
    start = time.perf_counter()
    subprocess.run([str(ROOT / ".venv" / "bin" / "annotator"), "transcribe", str(media),
                    "--export", "json"],
                   cwd=folder, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    exported = next(p for p in (folder / "exports").glob(f"{media.stem}.*.json")
                    if not p.name.endswith(".manifest.json"))
    data = json.loads(exported.read_text())
    words = [(w["start_ms"] / 1000, w["end_ms"] / 1000)
             for s in data["segments"] for w in s.get("words") or []]
    return words, elapsed


def demo() -> None:
    truth = list(csv.DictReader((ROOT / "media" / "demo_truth.tsv").open(), delimiter="\t"))
    lines = [(int(r["start_ms"]) / 1000, int(r["end_ms"]) / 1000, r["speaker"]) for r in truth]
    with tempfile.TemporaryDirectory() as folder:
        words, transcribe_s = transcript_words(ROOT / "media" / "demo.mp4", Path(folder))
    audio = load_mono(ROOT / "media" / "demo.mp4")
    minutes = audio.size / 16000 / 60
    speech = _regions(words)
    print(f"demo clip ({len(words)} transcript words, speech = the words, gaps < 0.3 s closed):")
    voices.diarize(audio[:16000], 16000, speech=[(0.0, 1.0)])  # load the model once
    for speakers in (None, 3):
        start = time.perf_counter()
        result = voices.diarize(audio, 16000, speech=speech, speakers=speakers)
        elapsed = time.perf_counter() - start
        right = _words_right(result, words, lines)
        print(f"  speakers={speakers!s:4}  voices {len(result.voices)} (truth 3)  "
              f"words on the right voice {right:6.1%}  diarization {elapsed:5.2f} s "
              f"({elapsed / minutes:5.2f} s per audio minute)")
    print(f"  transcription (annotator transcribe, whole command) {transcribe_s:5.2f} s "
          f"({transcribe_s / minutes:5.2f} s per audio minute)")


def _regions(words: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(words):
        if merged and start - merged[-1][1] < 0.3:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _words_right(result: voices.Diarization, words: list[tuple[float, float]],
                 lines: list[tuple[float, float, str]]) -> float:
    pairs = []
    for start, end in words:
        middle = (start + end) / 2
        speaker = min(lines, key=lambda ln: 0 if ln[0] <= middle <= ln[1]
                      else min(abs(middle - ln[0]), abs(middle - ln[1])))[2]
        pairs.append((speaker, voices.voice_at(result, middle)))
    speakers = sorted({s for s, _ in pairs})
    names = sorted({v for _, v in pairs if v is not None})
    counts = np.array([[sum(1 for s, v in pairs if s == sp and v == vo) for vo in names]
                       for sp in speakers]) if names else np.zeros((len(speakers), 1))
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / max(1, len(pairs)))


ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "Andy", "Gene",
            "Mike", "david", "boris", "antonio", "Alex")
DEMO_VOICES = {("en-us", "m3"), ("en-us", "m7"), ("en-gb", "m1")}  # media/make_demo.sh


def _espeak(text: str, voice: tuple[str, str, int, int]) -> np.ndarray[Any, Any]:
    accent, variant, speed, pitch = voice
    out = subprocess.run(["espeak-ng", "-v", f"{accent}+{variant}", "-s", str(speed), "-p",
                          str(pitch), "--stdout", text], capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(out)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    x = np.interp(np.arange(round(x.size * 16000 / rate)) * rate / 16000, np.arange(x.size), x)
    loud = np.flatnonzero(np.abs(x) > 0.01)
    trimmed: np.ndarray[Any, Any] = (x[loud[0] : loud[-1] + 1] if loud.size else x)
    return trimmed.astype(np.float32)


def conversation(seed: int, people: int, lines: int
                 ) -> tuple[np.ndarray[Any, Any], list[tuple[float, float, str]]]:
    """A synthetic conversation and its truth turns (pauses of 0.3-1.2 s between lines)."""
    rng = random.Random(seed)
    sentences = [x.strip() for p in sorted(REAL.glob("*.ref.txt"))
                 for x in p.read_text().replace("?", ".").replace("!", ".").split(".")
                 if len(x.strip()) > 25]
    voices_: list[tuple[str, str, int, int]] = []
    while len(voices_) < people:
        accent, variant = rng.choice(ACCENTS), rng.choice(VARIANTS)
        if (accent, variant) not in DEMO_VOICES and all(v[:2] != (accent, variant)
                                                        for v in voices_):
            voices_.append((accent, variant, rng.randint(130, 175), rng.randint(15, 75)))
    order = [i % people for i in range(lines)]
    rng.shuffle(order)
    parts, truth, t = [np.zeros(8000, dtype=np.float32)], [], 0.5
    for who in order:
        x = _espeak(rng.choice(sentences), voices_[who])
        gap = rng.uniform(0.3, 1.2)
        truth.append((t, t + x.size / 16000, f"s{who}"))
        parts += [x, np.zeros(int(gap * 16000), dtype=np.float32)]
        t += x.size / 16000 + gap
    return np.concatenate(parts), truth


def synthetic() -> None:
    sets = {"calibration": [(100 + i, n, 14) for i, n in enumerate((2, 3, 3, 4, 2, 3, 4, 3))],
            "held out": [(500 + i, n, 12) for i, n in enumerate((2, 3, 4, 3, 2, 1))]}
    for name, specs in sets.items():
        print(f"synthetic espeak-ng conversations, {name} (seed: voices found/truth DER):")
        for label, oracle in (("lines as speech", True), ("energy speech", False)):
            rows = []
            for seed, people, lines in specs:
                audio, truth = conversation(seed, people, lines)
                speech = [(s, e) for s, e, _ in truth] if oracle else None
                result = voices.diarize(audio, 16000, speech=speech)
                hyp = [(t.start, t.end, t.voice) for t in result.turns]
                rows.append((seed, people, len(result.voices),
                             der(truth, hyp, (0.0, audio.size / 16000))[0]))
            print(f"  {label:15}  mean DER {np.mean([r[3] for r in rows]):6.1%}  count right "
                  f"{sum(r[1] == r[2] for r in rows)}/{len(rows)}  "
                  + "  ".join(f"{s}: {k}/{n} {e:.0%}" for s, n, k, e in rows))


def _slaney_mel(sr: int, n_fft: int, n_mels: int) -> np.ndarray[Any, Any]:
    """librosa.filters.mel's default (Slaney scale, Slaney area normalisation)."""
    def to_mel(hz: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        linear = hz / (200.0 / 3)
        log = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
        out: np.ndarray[Any, Any] = np.where(hz >= 1000.0, log, linear)
        return out

    def to_hz(mel: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        linear = mel * (200.0 / 3)
        log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
        out: np.ndarray[Any, Any] = np.where(mel >= 15.0, log, linear)
        return out

    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = to_hz(np.linspace(to_mel(np.array(0.0)), to_mel(np.array(sr / 2.0)), n_mels + 2))
    weights = np.zeros((n_mels, freqs.size))
    for i in range(n_mels):
        lower = (freqs - edges[i]) / (edges[i + 1] - edges[i])
        upper = (edges[i + 2] - freqs) / (edges[i + 2] - edges[i + 1])
        weights[i] = np.maximum(0, np.minimum(lower, upper)) * 2.0 / (edges[i + 2] - edges[i])
    return weights


def resemblyzer_embedder() -> Any:
    """An ``_embed`` replacement with resemblyzer 0.1.4's voice encoder (its weights from
    its wheel; its LSTM rebuilt here and its librosa mel spectrogram in numpy, since
    importing resemblyzer imports librosa and webrtcvad), for the comparison only."""
    import importlib.util

    import torch
    from torch import nn

    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        return None
    weights = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
            self.linear = nn.Linear(256, 256)

        def forward(self, mels: Any) -> Any:
            _, (hidden, _) = self.lstm(mels)
            raw = torch.relu(self.linear(hidden[-1]))
            return raw / torch.norm(raw, dim=1, keepdim=True)

    model = Encoder()
    model.load_state_dict(torch.load(weights, map_location="cpu")["model_state"], strict=False)
    model.eval()
    basis = _slaney_mel(16000, 400, 40)

    def embed(audio: Any, rate: int, windows: list[tuple[float, float]]) -> Any:
        out = []
        for begin, end in windows:
            wav = audio[int(begin * rate) : int(end * rate)].astype(np.float64)
            rms = np.sqrt(np.mean(wav**2)) + 1e-9
            gain = 10 ** ((-30 - 20 * np.log10(rms)) / 20)
            wav = wav * max(gain, 1.0)  # resemblyzer's normalize_volume(increase_only)
            padded = np.pad(wav, 200)  # librosa's centred frames
            count = 1 + (padded.size - 400) // 160
            frames = np.stack([padded[i * 160 : i * 160 + 400] for i in range(count)])
            power = np.abs(np.fft.rfft(frames * np.hanning(401)[:-1], axis=1)) ** 2
            mels = torch.from_numpy((power @ basis.T).astype(np.float32))[None]
            with torch.inference_mode():
                out.append(model(mels).numpy()[0])
        return np.array(out, dtype=np.float32)

    return embed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", choices=("campplus", "resemblyzer"), default="campplus",
                        help="resemblyzer: the same pipeline with resemblyzer 0.1.4's encoder "
                             "(pip install --no-deps resemblyzer==0.1.4), for comparison")
    parser.add_argument("--synthetic", action="store_true",
                        help="also the synthetic espeak-ng conversations (needs espeak-ng)")
    args = parser.parse_args()
    if args.encoder == "resemblyzer":
        embed = resemblyzer_embedder()
        if embed is None:
            raise SystemExit("resemblyzer is not installed")
        def pieces_embed(audio: Any, rate: int, pieces: list[tuple[float, float]]) -> Any:
            windows = [w for begin, end in pieces for w in voices._windows(begin, end)]
            return windows, embed(audio, rate, windows)

        voices._embed = pieces_embed  # type: ignore[assignment]  # the comparison's encoder
        print("encoder: resemblyzer 0.1.4 (same windows, clustering and turns)")
    if args.synthetic:
        synthetic()
    ami()
    across()
    demo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
