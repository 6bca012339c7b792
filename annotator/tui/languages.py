"""The review app's view of languages and translations (issue 8.4), as one composed part.

A run records, per segment, the language the detector heard, its probability and the model
that wrote the text, and with ``--translate en`` a machine translation
(:mod:`annotator.core.translations`). :class:`LanguageLayer` reads them from the workspace
and answers what the screen's parts ask: the language label of a row, the lines the detail
pane adds (language, original and translation, machine or corrected), which text the table
shows (``b`` toggles original / translation) and which segments a language filter keeps;
``y`` asks for a reviewer's correction of a translation (:meth:`LanguageLayer.ask_correction`).
It never touches widgets: the review screen hands it to the table and the detail pane.
All text it returns is built as :class:`rich.text.Text` from cleaned plain strings
(:func:`annotator.tui.display.clean`): a translation is as untrusted as the transcript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rich.text import Text

from annotator.core.edits import Change
from annotator.core.model import Segment, SegmentLanguage, Translation
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.core.translations import ACTION, segment_languages, segment_translations
from annotator.tui.display import clean


class Prompt(Protocol):
    """The review screen's one-line dialog (:meth:`ReviewScreen.ask`)."""

    def __call__(self, title: str, done: Callable[[str], object], value: str = "", *,
                 context: Text | None = None) -> None: ...


class LanguageLayer:
    """Languages and translations of one media's segments, and which text the table shows."""

    def __init__(self, ws: Workspace, media_id: int) -> None:
        self.ws, self.media_id = ws, media_id
        self.show_translation = False
        self.languages: dict[int, SegmentLanguage] = {}
        self.translations: dict[int, Translation] = {}
        self.reload()

    def reload(self) -> None:
        """Read again (segments arrive while a file is being transcribed)."""
        self.languages = segment_languages(self.ws, self.media_id)
        self.translations = segment_translations(self.ws, self.media_id)

    def _known(self, seg: Segment) -> None:
        if seg.draft_id is not None and seg.id not in self.languages:
            self.reload()  # a segment stored after the last read

    def language(self, seg: Segment) -> SegmentLanguage | None:
        self._known(seg)
        return self.languages.get(seg.id)

    def translation(self, seg: Segment) -> Translation | None:
        self._known(seg)
        return self.translations.get(seg.id)

    def label(self, seg: Segment) -> str:
        """``es`` for a row (empty when no language was recorded)."""
        found = self.language(seg)
        return clean(found.language) if found is not None else ""

    def toggle(self) -> str:
        """Show translations (where there is one) in the table, or the original again;
        returns what to tell the reviewer."""
        self.show_translation = not self.show_translation
        shown = "translations" if self.show_translation else "original text"
        return f"Table shows {shown} (b toggles)."

    def table_text(self, seg: Segment) -> str:
        """The text a table row shows: the translation when toggled on and there is one."""
        if self.show_translation:
            translated = self.translation(seg)
            if translated is not None and translated.text.strip():
                return translated.text
        return seg.text

    def detail(self, seg: Segment) -> Text:
        """The detail pane's language lines: the language with the detector's figure and
        the writing model, then the translation (machine, or the reviewer's correction)."""
        out = Text(end="")
        found = self.language(seg)
        if found is not None and found.language:
            out.append("language ", "dim")
            out.append(clean(found.language), "bold")
            figure = "forced" if found.probability is None else f"{found.probability:.2f}"
            out.append(f" ({figure}, written by {clean(found.model_id)})", "dim")
        translated = self.translation(seg)
        if translated is None:
            return out
        machine = f"machine translation by {clean(translated.model_id)}"
        out.append("\n")
        if translated.human_text is not None:
            out.append(f"{clean(translated.language)} (corrected translation): ", "dim")
            out.append(clean(translated.human_text), "bold italic")
            if translated.machine_text:
                out.append(f"\n{machine}: ", "dim")
                out.append(clean(translated.machine_text), "dim italic")
            return out
        out.append(f"{clean(translated.language)} ({machine}): ", "dim")
        out.append(clean(translated.text), "italic")
        return out

    def absorb(self, change: Change) -> bool:
        """Read the translations again after a change of one (an edit, its undo or redo);
        True when it was one (the segment rows themselves did not change)."""
        if ACTION not in (change.action, change.of):
            return False
        self.translations = segment_translations(self.ws, self.media_id)
        return True

    def ask_correction(
        self, seg: Segment | None, session: ReviewSession, prompt: Prompt,
        apply: Callable[[Callable[[], Change]], object], notify: Callable[[str], object],
    ) -> None:
        """Open the edit dialog for a segment's translation (the reviewer's own layer, kept
        beside the machine's): Enter saves it through the session (audited, one undo step),
        an empty line or the machine's text again takes the correction back."""
        if seg is None:
            return
        translated = self.translation(seg)
        found = self.language(seg)
        if translated is None and (found is None or found.language == "en"):
            notify("This segment has no translation: it is in English (or in no language "
                   "recorded). Translations come with transcribe --translate en.")
            return
        context = Text("original: ", style="dim italic") + Text(clean(seg.text), style="dim")
        if translated is not None and translated.machine_text:
            context.append(f"\nmachine translation by {clean(translated.model_id)}: ",
                           style="dim italic")
            context.append(clean(translated.machine_text), style="dim")
        prompt("Edit translation (empty: back to the machine's)", lambda text: apply(
            lambda: session.set_translation(seg.id, text)),
            translated.text if translated is not None else "", context=context)

    def codes(self) -> list[str]:
        """The languages recorded for this media, most segments first."""
        counts: dict[str, int] = {}
        for found in self.languages.values():
            if found.language:
                counts[found.language] = counts.get(found.language, 0) + 1
        return sorted(counts, key=lambda k: (-counts[k], k))

    def segment_ids(self, code: str) -> frozenset[int]:
        """The segments in language ``code`` (for the filter view)."""
        return frozenset(i for i, found in self.languages.items() if found.language == code)
