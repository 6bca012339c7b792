"""Helpers shared by tests: where the real data lives, text normalisation and word error rate."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "real"
DEMO = ROOT / "media" / "demo.mp4"
DEMO_TRUTH = ROOT / "media" / "demo_truth.tsv"


def shared_file(name: str) -> Path:
    """A file of ../shared/data/real, or skip the test saying why."""
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} not present (the shared data folder sits beside the checkout)")
    return path


_UNITS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SPOKEN = {"mr": "mister", "mrs": "missus", "dr": "doctor", "oh": "zero"}


def _number_words(token: str) -> list[str]:
    """Spell 0-99 as words (the references spell numbers); longer digit runs digit by digit."""
    n = int(token)
    if len(token) > 2:
        return [_UNITS[int(d)] for d in token]
    if n < 20:
        return [_UNITS[n]]
    return [_TENS[n // 10]] + ([_UNITS[n % 10]] if n % 10 else [])


def normalise(text: str) -> list[str]:
    """Lower-case, drop punctuation (keeping in-word apostrophes), spell numbers, expand
    common abbreviations, split on whitespace."""
    text = text.lower().replace("—", " ").replace("-", " ")
    text = re.sub(r"[^\w\s']", " ", text)
    words: list[str] = []
    for raw in text.split():
        word = raw.strip("'")
        if not word:
            continue
        if word.isdigit():
            words.extend(_number_words(word))
        else:
            words.append(_SPOKEN.get(word, word))
    return words


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level Levenshtein distance over the reference length."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / max(len(ref), 1)


def demo_truth() -> list[dict[str, str]]:
    with DEMO_TRUTH.open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))
