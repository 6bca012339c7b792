"""Turning untrusted transcript data into things the terminal shows literally.

Transcript text, speaker names, notes and codebook labels come from an engine that wrote what
it heard and from people who typed them: a segment may read ``[bold red]x[/]`` or contain
``ESC [31m``. Nothing here ever goes through Rich/Textual markup: every piece becomes a
:class:`rich.text.Text` built from the plain string (styles are applied as spans, never parsed
from the text), after :func:`clean` removed terminal control codes and folded line breaks.

Everything is a pure function of domain values, so widgets and tests share it.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from annotator.core.agency import effective_agency
from annotator.core.model import Codebook, ReviewState, Segment, Speaker
from annotator.core.search import LOW_WORD_PROBABILITY, is_low_confidence
from annotator.formats.text import one_line, strip_controls

#: One glyph per review state, shown in the marker column.
STATE_GLYPH: dict[ReviewState, str] = {
    ReviewState.UNREVIEWED: "•",
    ReviewState.REVIEWED: "✓",
    ReviewState.VERIFIED: "✔",
    ReviewState.DISPUTED: "!",
}
STATE_STYLE: dict[ReviewState, str] = {
    ReviewState.UNREVIEWED: "bold yellow",
    ReviewState.REVIEWED: "green",
    ReviewState.VERIFIED: "bold green",
    ReviewState.DISPUTED: "bold red",
}
LOW_GLYPH = "?"
EDITED_GLYPH = "✎"


def clean(value: str) -> str:
    """One display line: control codes and escape sequences removed, breaks folded."""
    return one_line(value)


def clean_block(value: str) -> str:
    """Multi-line display text: control codes removed, line breaks kept."""
    return strip_controls(value)


def literal(value: str, style: str = "") -> Text:
    """A :class:`Text` that shows ``value`` exactly (never parsed as markup)."""
    return Text(clean(value), style=style, no_wrap=True, end="")


def clock(ms: int, *, tenths: bool = True) -> str:
    """``m:ss.t`` (or ``h:mm:ss.t`` past an hour) for a time in integer milliseconds."""
    ms = max(ms, 0)
    seconds, rest = divmod(ms, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    frac = f".{rest // 100}" if tenths else ""
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}{frac}"
    return f"{minutes}:{seconds:02d}{frac}"


def speaker_label(seg: Segment, speakers: Mapping[int, Speaker]) -> str:
    if seg.speaker_id is None:
        return ""
    sp = speakers.get(seg.speaker_id)
    return sp.label if sp is not None else f"#{seg.speaker_id}"


#: How an agency inherited from the speaker looks, next to one tagged on the line itself.
INHERITED_STYLE = "italic dim"


def agency_text(seg: Segment, speakers: Mapping[int, Speaker], codebook: Codebook) -> Text:
    """The agency cell: the line's own agency tags plain, the speaker's agency in
    :data:`INHERITED_STYLE` (a decision about this line vs one made once for the person)."""
    found = effective_agency(seg, speakers, codebook)
    if found is None:
        return literal("")
    return literal(", ".join(found.labels(codebook)), INHERITED_STYLE if found.inherited else "")


def _kind(codebook: Codebook, key: str) -> str:
    entry = codebook.get(key)
    return entry.kind if entry is not None else "other"


def row_cells(
    seg: Segment, speakers: Mapping[int, Speaker], codebook: Codebook
) -> tuple[Text, ...]:
    """The cells of one table row: markers, start time, speaker, agency, tags, text."""
    marker = Text(no_wrap=True, end="")
    marker.append(STATE_GLYPH[seg.state], STATE_STYLE[seg.state])
    marker.append(LOW_GLYPH if is_low_confidence(seg) else " ", "bold magenta")
    marker.append(EDITED_GLYPH if (seg.corrected or seg.note) else " ", "cyan")
    tags = ", ".join(codebook.label(k) for k in seg.tags if _kind(codebook, k) != "agency")
    return (
        marker,
        literal(clock(seg.start_ms), "dim"),
        literal(speaker_label(seg, speakers)),
        agency_text(seg, speakers, codebook),
        literal(tags),
        literal(seg.text),
    )


def words_text(seg: Segment, threshold: float = LOW_WORD_PROBABILITY) -> Text:
    """The machine words with those below ``threshold`` highlighted (style from spans only)."""
    text = Text(end="")
    for i, word in enumerate(seg.words):
        if i:
            text.append(" ")
        style = "reverse bold magenta" if word.probability < threshold else ""
        text.append(clean(word.text), style)
    if not seg.words:
        text.append(clean(seg.machine_text))
    text.rstrip()
    return text


def detail_text(
    seg: Segment, speakers: Mapping[int, Speaker], codebook: Codebook,
    suggested: Text | None = None,
) -> Text:
    """Everything about one segment for the detail pane (``suggested``: the lines about its
    open suggestions, shown right below the text so the fixed-height pane keeps them)."""
    out = Text(end="")
    out.append(f"{clock(seg.start_ms)} - {clock(seg.end_ms)}", "bold")
    out.append(f"  ({(seg.end_ms - seg.start_ms) / 1000:.1f} s)  ", "dim")
    out.append(STATE_GLYPH[seg.state] + " " + seg.state.value, STATE_STYLE[seg.state])
    who = speaker_label(seg, speakers)
    out.append("   speaker: ", "dim")
    out.append(clean(who) if who else "—")
    found = effective_agency(seg, speakers, codebook)
    if found is not None:
        out.append("   agency: ", "dim")
        out.append(clean(", ".join(found.labels(codebook))), "bold")
        out.append(" (of the speaker)" if found.inherited else " (this line)", "dim")
    out.append("\n")
    if seg.corrected:
        out.append(clean_block(seg.text))
        out.append("\nmachine: ", "dim italic")
        out.append_text(words_text(seg))
    else:
        out.append_text(words_text(seg))
    if suggested is not None:
        out.append_text(suggested)
    if seg.tags:
        out.append("\ntags: ", "dim")
        for i, key in enumerate(seg.tags):
            if i:
                out.append(", ")
            out.append(clean(codebook.label(key)), "bold cyan")
    if seg.note:
        out.append("\nnote: ", "dim")
        out.append(clean_block(seg.note), "italic")
    return out
