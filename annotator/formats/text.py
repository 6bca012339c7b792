"""Making untrusted transcript text safe to put in a subtitle file.

Everything a transcript says is untrusted: the engine writes what it heard (anyone can say
"curly brace backslash a n 8" into a phone), reviewers type corrections, and speaker labels and
codebook labels are typed too. Subtitle formats are markup: SRT players obey ``<i>``,
``<font>`` and ``{\\an8}``, ASS renderers obey ``{...}`` override blocks and ``\\N``, WebVTT
has tags and ends a cue at a blank line, and lenient parsers start a new cue at any line that
looks like a timing line. Text that is published as captions or produced as evidence must come
out exactly as words, so every subtitle writer passes text through these helpers:

- :func:`strip_controls` removes terminal escape sequences (``ESC [31m``...), C0 and C1
  control characters (keeping tab and newline) and the Unicode bidirectional embedding,
  override and isolate controls, which can make displayed text read differently from the
  stored text;
- :func:`one_line` also folds every line break into one space: one segment is one caption line,
  and a line break inside cue text could end the cue or start a forged one;
- :func:`lookalike_markup` swaps the markup characters ``< > { } \\`` for their full-width
  forms (U+FF1C, U+FF1E, U+FF5B, U+FF5D, U+FF3C). They look the same to a reader, survive
  every player and parser unchanged, and can never start a tag, an override block or a
  ``\\N`` line break. (HTML entities would be decoded by some SRT players and shown raw by
  others, and SRT and ASS have no escape for braces or backslashes that all renderers agree
  on.) :func:`restore_markup` maps them back (full-width forms that were in the text already
  come back as ASCII too);
- :func:`break_timestamps` swaps the colons of timestamp-shaped text (``00:00:05,000``) for
  U+2236 RATIO (a look-alike) so lenient parsers (pysubs2 among them) cannot read a caption
  line as the timing line of a new cue.

The lossless record is the JSON export; it keeps the text exactly as stored.
"""

from __future__ import annotations

import re

#: Terminal escape sequences, removed whole so no "[31m" residue is left behind.
_ESCAPE_SEQUENCE = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]                 # CSI: colours, cursor moves, erase
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)       # OSC: window titles, hyperlinks (terminated)
    | \x1b[PX^_][^\x1b]*\x1b\\                # DCS, SOS, PM, APC strings (terminated)
    | \x1b[ -/]*[0-~]                         # two-byte escapes (ESC c, ESC ( B, lone ESC ])
    | \x9b[0-?]*[ -/]*[@-~]                   # 8-bit CSI
    """,
    re.VERBOSE,
)
_LINE_BREAK = re.compile("\r\n|[\r\v\f\x85\u2028\u2029]")
#: C0 except tab and newline, DEL, C1, a lone ESC, and the bidi embedding/override/isolate
#: controls (U+202A-U+202E, U+2066-U+2069).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FOLD = re.compile(r"\s*[\t\n]\s*")

_LOOKALIKE = {"<": "\uff1c", ">": "\uff1e", "{": "\uff5b", "}": "\uff5d", "\\": "\uff3c"}
_TO_LOOKALIKE = str.maketrans(_LOOKALIKE)
_FROM_LOOKALIKE = str.maketrans({v: k for k, v in _LOOKALIKE.items()})

#: Anything a subtitle parser could take for a timestamp: SRT ``0:00:05,000``, WebVTT
#: ``00:05.000`` and ``1:00:05.000``.
_TIMESTAMP = re.compile(r"\d+:\d+(?::\d+)?[.,]\d+")
RATIO = "\u2236"


def strip_controls(text: str) -> str:
    """Remove escape sequences and control characters; line breaks become ``\\n``."""
    text = _LINE_BREAK.sub("\n", text)
    text = _ESCAPE_SEQUENCE.sub("", text)
    return _CONTROL.sub("", text)


def one_line(text: str) -> str:
    """:func:`strip_controls`, then fold tabs and line breaks (and the spaces around them)
    into single spaces and trim the ends."""
    return _FOLD.sub(" ", strip_controls(text)).strip()


def lookalike_markup(text: str) -> str:
    """Replace ``< > { } \\`` with their full-width look-alikes."""
    return text.translate(_TO_LOOKALIKE)


def restore_markup(text: str) -> str:
    """Undo :func:`lookalike_markup` (for readers that want the typed characters back)."""
    return text.translate(_FROM_LOOKALIKE)


def break_timestamps(text: str) -> str:
    """Replace the colons of timestamp-shaped substrings with U+2236 RATIO."""
    return _TIMESTAMP.sub(lambda m: m.group(0).replace(":", RATIO), text)
