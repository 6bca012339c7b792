"""Benchmark: a bilingual clip (English and Spanish lines alternating) with the default command.

Makes the clip with espeak-ng and sox (``tests/speech_clips.py``), then runs, as fresh
subprocesses, ``--repeat`` times each:

- ``default``: ``annotator transcribe`` as a new user runs it (language per stretch; English
  by tiny.en, Spanish by base);
- ``today``: ``--language en``, which is what the default did before languages were detected
  (tiny.en on everything, no detection);
- ``base-es``: ``--model base --language es`` on the same clip;
- ``base-es-alone``: ``--model base --language es`` on the Spanish lines alone (the same
  lines and pauses, no English between them): the cleanest reference for the Spanish WER,
  since on the bilingual clip a forced-Spanish run also writes the English lines and its
  segments straddle lines.

Each segment is matched to the scripted line it overlaps most. Reported: the share of the
default run's segments whose language is the line's, WER per language for each run (over
the segments matched to that language's lines), and wall time (median).

Targets (issue 8): language right for >= 95 % of segments; Spanish WER within 5 points of
base-es; English WER no worse than today; time at most 2x today's.

    .venv/bin/python bench/languages.py [--repeat 3] [--pairs 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from speech_clips import Line, bilingual_lines, make_clip, single, tools_missing  # noqa: E402

from support import wer  # noqa: E402

RUNS = {
    "default": [],  # detection, routing, and an English translation of the Spanish lines
    "no-transl": ["--translate", "none"],  # the same without the translation layer
    "today": ["--language", "en"],
    "base-es": ["--model", "base", "--language", "es"],
}


def transcribe(clip: Path, db: Path, extra: list[str]) -> float:
    cmd = [sys.executable, "-m", "annotator", "transcribe", "--db", str(db), str(clip), *extra]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr}")
    return elapsed


def segments(db: Path) -> list[tuple[int, int, str, str]]:
    """(start, end, text, language) of every segment (language '' when not recorded)."""
    conn = sqlite3.connect(db)
    try:
        return [
            (int(r[0]), int(r[1]), str(r[2]), str(r[3] or ""))
            for r in conn.execute(
                "SELECT s.start_ms, s.end_ms, s.machine_text, l.language FROM segment s"
                " LEFT JOIN draft_language l ON l.draft_id = s.draft_id ORDER BY s.start_ms"
            )
        ]
    finally:
        conn.close()


def line_of(lines: list[Line], start: int, end: int) -> Line:
    return max(lines, key=lambda ln: min(end, ln.end_ms) - max(start, ln.start_ms))


def wer_by_language(lines: list[Line], segs: list[tuple[int, int, str, str]]) -> dict[str, float]:
    said: dict[str, list[str]] = {}
    heard: dict[str, list[str]] = {}
    for ln in lines:
        said.setdefault(ln.language, []).append(ln.text)
        heard.setdefault(ln.language, [])
    for start, end, text, _lang in segs:
        heard[line_of(lines, start, end).language].append(text)
    return {k: wer(" ".join(said[k]), " ".join(heard[k])) for k in said}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=5, help="English/Spanish line pairs")
    args = parser.parse_args()
    if tools_missing():
        raise SystemExit(f"needs {', '.join(tools_missing())} (apt-get install espeak-ng sox)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip, lines = make_clip(folder, "bilingual", bilingual_lines(args.pairs))
        alone, alone_lines = make_clip(folder, "spanish", single("es")[: args.pairs])
        audio_s = lines[-1].end_ms / 1000 + 0.8
        print(f"clip: {len(lines)} lines, {audio_s:.1f} s (espeak-ng en-us / es)")
        times: dict[str, list[float]] = {name: [] for name in RUNS}
        result: dict[str, list[tuple[int, int, str, str]]] = {}
        for n in range(args.repeat):
            for name, extra in RUNS.items():
                db = folder / f"{name}-{n}.db"
                times[name].append(transcribe(clip, db, extra))
                result[name] = segments(db)
        default = result["default"]
        right = [line_of(lines, s, e).language == lang for s, e, _t, lang in default]
        print(f"language right: {sum(right)}/{len(right)} segments "
              f"({100 * sum(right) / max(len(right), 1):.0f} %)")
        for name in RUNS:
            rates = wer_by_language(lines, result[name])
            median = statistics.median(times[name])
            print(f"{name:8s} time {median:5.1f} s (RTF {median / audio_s:.3f})  "
                  + "  ".join(f"WER {k} {v:.3f}" for k, v in sorted(rates.items())))
        db = folder / "alone.db"
        transcribe(alone, db, RUNS["base-es"])
        rates = wer_by_language(alone_lines, segments(db))
        print(f"base-es-alone (Spanish lines only)  WER es {rates['es']:.3f}")
        ratio = statistics.median(times["default"]) / statistics.median(times["today"])
        print(f"default / today time: {ratio:.2f}x")
        for s, e, text, lang in default:
            print(f"  {s / 1000:6.2f}-{e / 1000:6.2f} {lang or '?':3s} {text}")


if __name__ == "__main__":
    main()
