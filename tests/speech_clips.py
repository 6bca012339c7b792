"""Spoken clips in several languages, made on the spot with espeak-ng and sox.

Language detection and routing need speech in other languages with a known script. Real
recordings with a free licence and a transcript in Spanish, French and German are not in
``tests/data``; synthetic voices are (espeak-ng is a formant synthesiser: every voice and
language sounds alike to a listener, so a model that tells them apart hears the language,
not a recording setup). Each clip is generated into a folder the caller gives, the same way
as ``media/make_demo.sh`` makes the demo clip: one line per voice call, leading and trailing
silence trimmed, lines joined with fixed pauses, 16 kHz mono WAV.

Used by ``tests/transcribe/test_routing.py`` and ``bench/languages.py``.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

RATE = 16000

#: espeak-ng voice per language.
VOICES = {"en": "en-us+m3", "es": "es", "fr": "fr-fr", "de": "de"}

SPANISH = (
    "Por favor no rompa la ventana.",
    "Tenemos un bebé en el asiento de atrás.",
    "Quiero ver una orden firmada por un juez.",
    "No tengo armas en el coche.",
    "Mi hermano está grabando todo con su teléfono.",
)
FRENCH = (
    "Je ne comprends pas ce que vous voulez.",
    "Mon fils est dans la voiture avec moi.",
    "Nous rentrons du travail à la maison.",
)
GERMAN = (
    "Ich verstehe nicht, was Sie von mir wollen.",
    "Mein Sohn sitzt hinten im Auto.",
    "Wir fahren gerade von der Arbeit nach Hause.",
)
#: English lines from the demo script, alternating with the Spanish ones in a bilingual clip.
ENGLISH = (
    "Driver, roll your window down right now.",
    "Do you have a warrant?",
    "Step out of the vehicle.",
    "I am not asking again. Open the window.",
    "Keep your hands where I can see them.",
)

#: Pauses between lines (seconds), cycled: conversational turns, shorter than the engine's
#: 2 s VAD gap, so lines of both languages fall into one speech chunk of the engine's VAD.
PAUSES = (0.7, 1.0, 0.6, 1.2, 0.8)


@dataclass(frozen=True)
class Line:
    """One spoken line of a clip: its language, text and where it lies (ms)."""

    language: str
    text: str
    start_ms: int
    end_ms: int


def tools_missing() -> list[str]:
    return [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def _samples(path: Path) -> int:
    out = subprocess.run(["soxi", "-s", str(path)], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def make_clip(folder: Path, name: str, lines: list[tuple[str, str]]) -> tuple[Path, list[Line]]:
    """Speak ``lines`` ((language, text) pairs) into ``folder/name.wav``; returns the file and
    where each line lies. The truth is also written to ``folder/name.tsv``."""
    folder.mkdir(parents=True, exist_ok=True)
    work = folder / f".{name}"
    work.mkdir(exist_ok=True)
    pieces: list[Path] = []
    truth: list[Line] = []
    position = 0

    def silence(seconds: float, out: Path) -> None:
        _run(["sox", "-R", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(out),
              "trim", "0", str(seconds)])

    lead = work / "lead.wav"
    silence(0.5, lead)
    pieces.append(lead)
    position += _samples(lead)
    for n, (language, text) in enumerate(lines):
        if n:
            gap = work / f"gap{n}.wav"
            silence(PAUSES[(n - 1) % len(PAUSES)], gap)
            pieces.append(gap)
            position += _samples(gap)
        raw, line = work / f"raw{n}.wav", work / f"line{n}.wav"
        _run(["espeak-ng", "-v", VOICES[language], "-s", "150", "-w", str(raw), "--", text])
        _run(["sox", "-R", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(line),
              "silence", "1", "0.01", "-55d", "reverse", "silence", "1", "0.01", "-55d",
              "reverse", "norm", "-3"])
        length = _samples(line)
        truth.append(Line(language, text, position * 1000 // RATE,
                          (position + length) * 1000 // RATE))
        pieces.append(line)
        position += length
    tail = work / "tail.wav"
    silence(0.8, tail)
    pieces.append(tail)
    out = folder / f"{name}.wav"
    _run(["sox", "-R", *map(str, pieces), str(out)])
    shutil.rmtree(work, ignore_errors=True)
    with (folder / f"{name}.tsv").open("w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t")
        writer.writerow(["language", "start_ms", "end_ms", "text"])
        for t in truth:
            writer.writerow([t.language, t.start_ms, t.end_ms, t.text])
    return out, truth


def bilingual_lines(count: int = 5) -> list[tuple[str, str]]:
    """English and Spanish lines alternating, English first."""
    out: list[tuple[str, str]] = []
    for en, es in zip(ENGLISH[:count], SPANISH[:count], strict=True):
        out += [("en", en), ("es", es)]
    return out


def single(language: str) -> list[tuple[str, str]]:
    texts = {"es": SPANISH, "fr": FRENCH, "de": GERMAN, "en": ENGLISH}[language]
    return [(language, t) for t in texts]
