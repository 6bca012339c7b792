"""The filter view: which segments the table shows, and the questions that choose it.

A filter is a :class:`ViewFilter`: a name for the status bar and criteria for
:meth:`~annotator.core.session.ReviewSession.filter`. :class:`FilterQuestions` asks for one:
a picker of review states and kinds (:data:`FILTERS`), then, for "with a tag", "by speaker"
and "containing text", a second question. It is a plain object: it opens dialogs and reports
through the callables it is given, so it runs without a review screen in tests.

"with open suggestions" (:data:`BY_SUGGESTION`) is not a question about segments alone: it
keeps the lines with an open suggestion *and* the open event rows, which only the screen's
suggestion overlay knows (:meth:`annotator.tui.inplace.InPlace.open_rows`), so its
:class:`ViewFilter` says ``suggested`` instead of giving criteria. It is read whenever the row
list is rebuilt, so a line whose suggestions are decided leaves the view then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from annotator.core.model import ReviewState, Speaker
from annotator.core.session import ReviewSession
from annotator.tui.choices import all_tag_choices
from annotator.tui.languages import LanguageLayer
from annotator.tui.screens.dialog import Dialog
from annotator.tui.screens.picker import CLEAR, Choice, PickerScreen, assign_keys
from annotator.tui.screens.prompt import PromptScreen

#: The filter view's choices: key -> (name, criteria). "t", "s" and "/" ask a second question.
FILTERS: dict[str, tuple[str, dict[str, Any]]] = {
    "u": ("unreviewed", {"state": ReviewState.UNREVIEWED}),
    "r": ("reviewed", {"state": ReviewState.REVIEWED}),
    "v": ("verified", {"state": ReviewState.VERIFIED}),
    "d": ("disputed", {"state": ReviewState.DISPUTED}),
    "c": ("low confidence", {"low_confidence": True}),
    "e": ("corrected", {"corrected": True}),
    "n": ("no speaker", {"unassigned": True}),
}
BY_TAG, BY_SPEAKER, BY_TEXT, BY_LANGUAGE = "t", "s", "/", "l"
BY_SUGGESTION = "w"  # the key that opens the suggestion queue, too

#: Opens a dialog and calls back with its result (the review screen's ``open_dialog``).
Ask = Callable[[Dialog[Any], Callable[[Any], None]], None]


@dataclass(frozen=True)
class ViewFilter:
    """What the filter view shows: criteria for :meth:`ReviewSession.filter` and a name."""

    name: str
    criteria: dict[str, Any] = field(default_factory=dict)
    #: lines with open suggestions and open event rows (the criteria are then not used)
    suggested: bool = False


#: The filter view of open suggestions.
SUGGESTED = ViewFilter("with open suggestions", suggested=True)


def filter_choices(current: ViewFilter | None, languages: bool = False) -> list[Choice]:
    items = [(key, key, name, "", current is not None and current.name == name)
             for key, (name, _) in FILTERS.items()]
    items += [(BY_SUGGESTION, BY_SUGGESTION, SUGGESTED.name, "lines and events", current
               is not None and current.suggested),
              (BY_TAG, BY_TAG, "with a tag…", "", False),
              (BY_SPEAKER, BY_SPEAKER, "by speaker…", "", False),
              (BY_TEXT, BY_TEXT, "containing text…", "", False)]
    if languages:
        items.append((BY_LANGUAGE, BY_LANGUAGE, "in a language…", "", False))
    return assign_keys(items)


def speaker_filter_choices(speakers: Sequence[Speaker]) -> list[Choice]:
    return assign_keys(("", str(sp.id), sp.label, sp.role, False) for sp in speakers)


class FilterQuestions:
    """Ask which filter view to show; ``done`` gets it (``None``: all segments). Nothing is
    reported when the reviewer cancels; ``say`` explains a question that cannot be asked."""

    def __init__(self, session: ReviewSession, ask: Ask,
                 done: Callable[[ViewFilter | None], None], say: Callable[[str], None],
                 languages: LanguageLayer | None = None) -> None:
        self.session = session
        self.languages = languages
        self.ask = ask
        self.done = done
        self.say = say

    def start(self, current: ViewFilter | None) -> None:
        known = self.languages is not None and bool(self.languages.codes())
        self.ask(PickerScreen("Filter view", filter_choices(current, known),
                              clear_label="all segments"), self._chosen)

    def _chosen(self, value: str | None) -> None:
        if value == CLEAR:
            self.done(None)
        elif value in FILTERS:
            name, criteria = FILTERS[value]
            self.done(ViewFilter(name, dict(criteria)))
        elif value == BY_SUGGESTION:
            self.done(SUGGESTED)
        elif value == BY_TAG:
            self.ask(PickerScreen("Show segments with tag…",
                                  all_tag_choices(self.session.codebook)), self._tag)
        elif value == BY_SPEAKER:
            self._ask_speaker()
        elif value == BY_TEXT:
            self.ask(PromptScreen("Show segments containing…"), self._text)
        elif value == BY_LANGUAGE and self.languages is not None:
            codes = assign_keys(("", code, code, "", False) for code in self.languages.codes())
            self.ask(PickerScreen("Show segments in language…", codes), self._language)

    def _tag(self, key: str | None) -> None:
        if key:
            self.done(ViewFilter(f"tag {self.session.codebook.label(key)}", {"tag": key}))

    def _ask_speaker(self) -> None:
        speakers = list(self.session.speakers.values())
        if not speakers:
            self.say("No speakers yet: press s on a segment to name one.")
            return
        self.ask(PickerScreen("Show segments of speaker…", speaker_filter_choices(speakers)),
                 self._speaker)

    def _speaker(self, value: str | None) -> None:
        if value:
            sp = self.session.speaker(int(value))
            self.done(ViewFilter(f"speaker {sp.label}", {"speaker_id": sp.id}))

    def _language(self, code: str | None) -> None:
        if code and self.languages is not None:
            ids = self.languages.segment_ids(code)
            self.done(ViewFilter(f"language {code}", {"segment_ids": ids}))

    def _text(self, query: str | None) -> None:
        if query and query.strip():
            self.done(ViewFilter(f"text {query.strip()!r}", {"query": query}))
