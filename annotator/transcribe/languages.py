"""The language codes whisper models know, without importing the engine.

``annotator transcribe --language`` is checked against this list when the command starts, so a
typo (``--language xx``) is a usage error at once instead of an engine error minutes later, or
worse, a silently ignored option. Importing faster-whisper only to read its list would cost
~0.4 s on every command; the list is copied here from ``faster_whisper.tokenizer`` and
``tests/transcribe/test_languages.py`` checks that it still matches the installed engine.
"""

from __future__ import annotations

#: ``faster_whisper.tokenizer._LANGUAGE_CODES`` (faster-whisper 1.2.x), in its order.
LANGUAGE_CODES: tuple[str, ...] = (
    "af", "am", "ar", "as", "az", "ba", "be", "bg", "bn", "bo", "br", "bs", "ca", "cs", "cy",
    "da", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fo", "fr", "gl", "gu", "ha", "haw",
    "he", "hi", "hr", "ht", "hu", "hy", "id", "is", "it", "ja", "jw", "ka", "kk", "km", "kn",
    "ko", "la", "lb", "ln", "lo", "lt", "lv", "mg", "mi", "mk", "ml", "mn", "mr", "ms", "mt",
    "my", "ne", "nl", "nn", "no", "oc", "pa", "pl", "ps", "pt", "ro", "ru", "sa", "sd", "si",
    "sk", "sl", "sn", "so", "sq", "sr", "su", "sv", "sw", "ta", "te", "tg", "th", "tk", "tl",
    "tr", "tt", "uk", "ur", "uz", "vi", "yi", "yo", "zh", "yue"
)


def check_language(code: str, model: str) -> str | None:
    """Why ``code`` cannot be used with ``model`` (None when it can): not a whisper language,
    or not English for an English-only model (``tiny.en``: the engine would quietly
    transcribe English)."""
    if code not in LANGUAGE_CODES:
        return (
            f"unknown language {code!r}: whisper knows {', '.join(LANGUAGE_CODES)} "
            "(or leave --language out to detect it)"
        )
    if model.endswith(".en") and code != "en":
        return f"{model} is an English-only model: --language {code} needs a multilingual one"
    return None
