"""Visible speaker labels at the start of caption cues: ``Officer (Local police): text``.

Who speaks must be *visible* in captions, not only present as metadata: video players do
not display WebVTT ``<v Speaker>`` names, and libass shows ASS speakers only as a style's
colour (the Name field is for editors). So SRT, WebVTT and ASS all begin a cue's text with a
label, chosen by :attr:`Transcript.labels <annotator.core.document.Transcript.labels>`
(``annotator export --labels``):

- ``name`` (the default): the speaker's label, ``Officer: text`` (what SRT always wrote);
- ``name+agency``: with the segment's effective agency (the line's own agency tag, else its
  speaker's, :mod:`annotator.core.agency`), ``Officer (Local police): text``; a line with an
  agency but no speaker reads ``(Local police): text``;
- ``none``: no visible label (the VTT ``<v>`` span and the ASS Name field stay: they are
  structure, not text a viewer sees).

**Every cue** carries the label, not only the first cue after a change of speaker. The
"only on change" convention (broadcast captioning's ``>>``) assumes a viewer who watches
from the start; these captions are watched from a link to a moment, clipped, and quoted one
cue at a time as evidence, and a cue must not be attributable to the previous speaker by
someone who did not see the cue before it. It also keeps the SRT output of earlier
versions unchanged.

Labels are untrusted text (typed names, codebook labels): :func:`caption_label` returns the
label raw, on one line, and each format escapes it its own way, as it does cue text.
"""

from __future__ import annotations

from annotator.core.agency import effective_agency
from annotator.core.document import Transcript
from annotator.core.model import Segment
from annotator.errors import UsageError
from annotator.formats.text import one_line

#: What ``--labels`` may ask for, the default first.
LABELS = ("name", "name+agency", "none")


def caption_label(transcript: Transcript, seg: Segment) -> str | None:
    """The raw (unescaped, one-line) label for ``seg``'s cue, or None for no label.
    Raises :class:`~annotator.errors.UsageError` for a labels mode that is not in
    :data:`LABELS`."""
    mode = transcript.labels
    if mode not in LABELS:
        raise UsageError(f"--labels {mode!r}: expected one of {', '.join(LABELS)}")
    if mode == "none":
        return None
    name = one_line(transcript.speaker_label(seg) or "")
    if mode == "name+agency":
        found = effective_agency(seg, transcript.speakers, transcript.codebook)
        labels = found.labels(transcript.codebook) if found is not None else ()
        agency = ", ".join(label for label in map(one_line, labels) if label)
        if agency:
            return f"{name} ({agency})" if name else f"({agency})"
    return name or None


def labelled(label: str | None, text: str) -> str:
    """``label: text`` (both already escaped by the caller), or the text alone."""
    return f"{label}: {text}" if label else text
