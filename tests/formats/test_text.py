"""The sanitisers every subtitle writer relies on."""

from __future__ import annotations

import pytest

from annotator.formats.text import (
    RATIO,
    break_timestamps,
    lookalike_markup,
    one_line,
    restore_markup,
    strip_controls,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[31mred\x1b[0m", "red"),  # CSI colours go whole, no "[31m" residue
        ("\x1b[2J\x1b[Hcleared", "cleared"),  # erase screen, cursor home
        ("\x1b]0;title\x07after", "after"),  # OSC window title, BEL-terminated
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink
        ("\x1bcreset", "reset"),  # two-byte escape (RIS)
        ("\x9b31mc1", "c1"),  # 8-bit CSI
        ("a\x00b\x07c\x08d\x7fe\x85f\x9fg", "abcde\nfg"),  # C0, DEL, NEL is a line break
        ("unterminated \x1b]0;title", "unterminated 0;title"),  # lone ESC ] eats no words
        ("trailing ESC\x1b", "trailing ESC"),
        ("\u202eevil\u202c and \u2066iso\u2069", "evil and iso"),  # bidi override/isolate
        ("tab\tand\nnewline", "tab\tand\nnewline"),  # kept by strip_controls
        ("crlf\r\nand\rcr", "crlf\nand\ncr"),
    ],
)
def test_strip_controls(raw: str, clean: str) -> None:
    assert strip_controls(raw) == clean


def test_strip_controls_keeps_ordinary_unicode() -> None:
    text = "Arrêtez ! ¿Qué pasa? 停下 — 🚓 \u200f\u05e2\u05d1\u05e8\u05d9\u05ea\u200e"
    assert strip_controls(text) == text


def test_one_line_folds_breaks_and_tabs() -> None:
    text = "  one\n\n  two\r\nthree\u2028four\tfive \x1b[1m\n"
    assert one_line(text) == "one two three four five"


def test_lookalike_markup_round_trips() -> None:
    text = "<b>{\\an8}</b>"
    safe = lookalike_markup(text)
    assert not set(safe) & set("<>{}\\")
    assert restore_markup(safe) == text


def test_break_timestamps_only_touches_timestamps() -> None:
    text = "at 00:00:05,000 and 01:02.500, not 12:30 or 3.5"
    assert break_timestamps(text) == (
        f"at 00{RATIO}00{RATIO}05,000 and 01{RATIO}02.500, not 12:30 or 3.5"
    )
