"""The copied whisper language list matches the installed engine's."""

from __future__ import annotations

from faster_whisper.tokenizer import _LANGUAGE_CODES

from annotator.transcribe.languages import LANGUAGE_CODES, check_language


def test_language_list_matches_the_installed_engine() -> None:
    assert tuple(_LANGUAGE_CODES) == LANGUAGE_CODES


def test_check_language() -> None:
    assert check_language("en", "tiny.en") is None
    assert check_language("fr", "base") is None
    assert "unknown language 'xx'" in (check_language("xx", "base") or "")
    assert "English-only" in (check_language("fr", "tiny.en") or "")
