"""The review session: the one headless API through which every review decision is made.

The Textual UI, the CLI and the tests all drive :class:`ReviewSession`; nothing else writes the
review layer. That is what makes the guarantees below hold everywhere:

- **Nothing a reviewer did is lost.** Each operation is one SQLite transaction (the workspace
  runs ``synchronous=FULL``): when a method returns, its change survives ``kill -9``.
- **Machine draft and human work stay apart.** Operations write ``human_text``, speakers, tags,
  states and notes; ``machine_text`` and machine words are only ever partitioned (split) or
  joined (merge), never typed.
- **Everything is audited, and undo cannot disagree with the audit log.** Every operation
  computes ``before`` and ``after`` snapshots of the rows it touches; persistence, the audit
  entry, undo and redo all derive from that pair (see :mod:`annotator.core.edits`).
  :meth:`ReviewSession._write` refuses to overwrite a row changed outside this session. Rows
  keep their ids through undo and redo.
- **Fast on long streams.** Segments are kept in memory, sorted by ``(start_ms, id)``; reads
  and navigation never touch the database and an edit writes only the rows it changes.

The rules of each edit live by concept in edit *builders* that return ``(before, after)`` and
write nothing: text and structure in :mod:`annotator.core.editing`, speakers, roles, tags and
codebook entries in :mod:`annotator.core.attribution`; review states are a one-line map here.
To add an operation: write a builder (allocate new ids with :meth:`ReviewSession.allocate_id`)
and a method that passes it to :meth:`ReviewSession._commit`. Persistence, audit, undo and the
returned :class:`Change` (one undo step, one audit entry) follow by construction. Every method
that changes something returns that one :class:`Change`; a UI repaints from it.

Do not wrap session calls in an outer ``Workspace.transaction()``: the in-memory state is
updated after each operation commits.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from annotator.core import attribution, editing, edits, gapfill, suggesting, translations
from annotator.core import search as find
from annotator.core.codebook import (
    codebook_sha256,
    default_codebook,
    default_codebook_source,
    dump_codebook,
    validate_codebook,
)
from annotator.core.edits import Builder, Change, Edit, Rows
from annotator.core.model import (
    Codebook,
    ReviewState,
    Run,
    Segment,
    Speaker,
    SuppressedSegment,
    Translation,
)
from annotator.core.store import Workspace
from annotator.errors import EditError, NotFoundError, UsageError


class ReviewSession:
    """One reviewer reviewing one media file in one workspace.

    ``codebook``: the codebook to tag with. ``None`` uses the media's codebook, or the shipped
    default if it has none. A codebook the media is not yet linked to is stored and linked
    with the first edit (recorded in that edit's audit entry), so merely opening a session
    changes nothing. (It is stored as :func:`~annotator.core.codebook.dump_codebook` text;
    :func:`~annotator.core.codebook.install_codebook` a hand-written file first to keep its
    own text and hash.) The undo history lives as long as this object.
    """

    def __init__(
        self, ws: Workspace, media_id: int, reviewer: str, codebook: Codebook | None = None
    ) -> None:
        if not reviewer.strip():
            raise UsageError("a reviewer name is required: every change is signed")
        self.ws = ws
        self.media = ws.media(media_id)
        self.media_id = media_id
        self.reviewer = reviewer.strip()
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []
        self._high = {"segment": 0, "speaker": 0}
        self._segments: list[Segment] = []
        self._by_id: dict[int, Segment] = {}
        self._speakers: dict[int, Speaker] = {}
        self._reviewed = 0
        self._codebook_source: str | None = None
        linked = ws.media_codebook(media_id)
        if codebook is None and linked is not None:
            codebook = ws.load_codebook(linked)
        elif codebook is None:
            codebook, self._codebook_source = default_codebook(), default_codebook_source()
        else:
            validate_codebook(codebook, f"{codebook.name} {codebook.version}")
        self._codebook = codebook
        #: Id of ``self._codebook`` once the media links to it; ``None`` until then.
        self._codebook_id = (
            linked if linked is not None and ws.load_codebook(linked) == codebook else None
        )
        self.refresh()

    # -- reading ----------------------------------------------------------------------------

    @property
    def segments(self) -> Sequence[Segment]:
        """All segments in review order (start_ms, id). Read-only; do not keep indices
        across edits whose :attr:`Change.reordered` is set."""
        return self._segments

    @property
    def speakers(self) -> Mapping[int, Speaker]:
        return self._speakers

    @property
    def codebook(self) -> Codebook:
        return self._codebook

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def __len__(self) -> int:
        return len(self._segments)

    def segment(self, seg_id: int) -> Segment:
        seg = self._by_id.get(seg_id)
        if seg is None:
            raise NotFoundError("segment", seg_id)
        return seg

    def speaker(self, speaker_id: int) -> Speaker:
        sp = self._speakers.get(speaker_id)
        if sp is None:
            raise NotFoundError("speaker", speaker_id)
        return sp

    def speaker_label(self, seg: Segment) -> str | None:
        sp = self._speakers.get(seg.speaker_id) if seg.speaker_id is not None else None
        return sp.label if sp is not None else None

    def progress(self) -> tuple[int, int]:
        """(segments no longer unreviewed, all segments), kept up to date in O(1)."""
        return self._reviewed, len(self._segments)

    def index_of(self, seg_id: int) -> int:
        return find.index_of(self._segments, self.segment(seg_id))

    def filter(self, **criteria: Any) -> list[int]:
        """Indices of segments meeting the criteria of
        :func:`annotator.core.search.filter_segments` (state, speaker_id, tag...)."""
        return find.filter_segments(
            self._segments, speakers=self._speakers, codebook=self._codebook, **criteria
        )

    def refresh(self, seg_ids: Iterable[int] | None = None) -> Change:
        """Re-read rows another connection wrote (the transcription worker adding segments):
        the given segments, or everything (segments and speakers) when ``seg_ids`` is None."""
        before, after = Rows(), Rows()
        if seg_ids is None:
            fresh = {s.id: s for s in self.ws.segments(self.media_id)}
            keys = fresh.keys() | self._by_id.keys()
            speakers = {sp.id: sp for sp in self.ws.speakers(self.media_id)}
            for pid in speakers.keys() | self._speakers.keys():
                before.speakers[pid] = self._speakers.get(pid)
                after.speakers[pid] = speakers.get(pid)
        else:
            keys = set(seg_ids)
            rows = ((k, edits.stored_segment(self.ws, k)) for k in keys)
            fresh = {k: s for k, s in rows if s is not None and s.media_id == self.media_id}
        for k in keys:
            before.segments[k], after.segments[k] = self._by_id.get(k), fresh.get(k)
        edits.drop_unchanged(before, after)
        self._absorb(before, after)
        return edits.summarize("refresh", None, before, after)

    # -- text, state, note ------------------------------------------------------------------

    def set_text(self, seg_id: int, text: str) -> Change:
        """Correct a segment's words (the human layer). Text equal to the machine text (after
        trimming surrounding whitespace) clears the correction."""
        return self._commit("set_text", lambda: editing.set_text(self, seg_id, text))

    def set_state(self, seg_ids: int | Iterable[int], state: ReviewState | str) -> Change:
        """Mark segments reviewed, verified, disputed or unreviewed (one undo step however
        many); :meth:`progress` counts every state but "unreviewed"."""
        try:
            new_state = ReviewState(state)
        except ValueError:
            raise EditError(f"unknown review state {state!r}") from None
        return self._commit("set_state", self._map(seg_ids, lambda s: replace(s, state=new_state)))

    def set_note(self, seg_id: int, note: str) -> Change:
        return self._commit("set_note", self._map(seg_id, lambda s: replace(s, note=note.strip())))

    # -- speakers (rules in annotator.core.attribution) ---------------------------------------

    def set_speaker(self, seg_ids: int | Iterable[int], speaker_id: int | None) -> Change:
        if speaker_id is not None:
            self.speaker(speaker_id)
        return self._commit(
            "set_speaker", self._map(seg_ids, lambda s: replace(s, speaker_id=speaker_id))
        )

    def add_speaker(
        self, label: str, role: str = "", agency: str = "", *, assign: Iterable[int] = ()
    ) -> Change:
        """Add a person heard in this media and attribute the segments in ``assign`` to them,
        as one undo step. Labels are unique ignoring case: a taken label gets a number
        ("Officer 2"), since two people can share a role. The new speaker's id is
        ``change.speakers[0]``."""
        ids = _ids(assign)
        return self._commit(
            "add_speaker", lambda: attribution.add_speaker(self, label, role, agency, ids)
        )

    def rename_speaker(self, speaker_id: int, new_label: str) -> Change:
        """Rename a speaker everywhere; a label another speaker uses is refused."""
        return self._commit(
            "rename_speaker", lambda: attribution.rename_speaker(self, speaker_id, new_label)
        )

    def delete_speaker(self, speaker_id: int) -> Change:
        """Remove a speaker; the segments attributed to them become unattributed."""
        return self._commit(
            "delete_speaker", lambda: attribution.delete_speaker(self, speaker_id)
        )

    def set_speaker_agency(self, speaker_id: int, agency_key: str) -> Change:
        """The agency a speaker belongs to ('' clears it): every line of theirs shows it
        unless the line carries an agency tag of its own (:mod:`annotator.core.agency`)."""
        from annotator.core.agency import speaker_agency_rows

        return self._commit("set_speaker_agency",
                            lambda: speaker_agency_rows(self, speaker_id, agency_key))

    def assign_role(self, seg_ids: int | Iterable[int], codebook_key: str) -> Change:
        """Attribute segments to the speaker of a codebook role, creating that speaker if
        needed, as one undo step (what a one-key speaker shortcut does)."""
        ids = _ids(seg_ids)
        return self._commit(
            "assign_role", lambda: attribution.assign_role(self, ids, codebook_key)
        )

    def role_speaker(self, codebook_key: str) -> Speaker | None:
        """The speaker playing codebook role ``codebook_key``, if anyone does yet."""
        return attribution.role_speaker(self._speakers.values(), codebook_key)

    # -- tags and the codebook --------------------------------------------------------------

    def add_tag(self, seg_ids: int | Iterable[int], key: str) -> Change:
        attribution.tag_entry(self._codebook, key)
        return self._commit("add_tag", self._map(seg_ids, lambda s: s.tagged(key, True)))

    def remove_tag(self, seg_ids: int | Iterable[int], key: str) -> Change:
        return self._commit("remove_tag", self._map(seg_ids, lambda s: s.tagged(key, False)))

    def toggle_tag(self, seg_ids: int | Iterable[int], key: str) -> Change:
        """Remove ``key`` from all the segments if all carry it, else add it to all."""
        ids = _ids(seg_ids)
        if all(key in self.segment(i).tags for i in ids):
            return self.remove_tag(ids, key)
        return self.add_tag(ids, key)

    def add_codebook_entry(
        self, kind: str, label: str, *, key: str = "", description: str = "",
        shortcut: str | None = None, tag: Iterable[int] = (),
    ) -> Change:
        """Extend the codebook from the review screen and tag the segments in ``tag`` with the
        new entry, as one undo step. The extended codebook is stored as a new version ("1.0"
        -> "1.0+local.1") and becomes the media's codebook; undo links the previous version
        again (stored versions are never deleted). Without ``key`` / ``shortcut`` they are
        made from the label (:func:`~annotator.core.attribution.entry_key`)."""
        ids = _ids(tag)
        return self._commit("add_codebook_entry", lambda: attribution.add_codebook_entry(
            self, self._saved_codebook_id(), kind, label, key=key, description=description,
            shortcut=shortcut, tag=ids,
        ))

    # -- suggestions (rules in annotator.core.suggesting) ------------------------------------

    def accept_suggestions(self, ids: int | Iterable[int]) -> Change:
        """Accept open suggestions: the annotation is written, audited and marked as from
        them, all as one undo step (accept all of a voice or a rule: pass all their ids)."""
        return suggesting.accept(self, _ids(ids))

    def reject_suggestions(self, ids: int | Iterable[int]) -> Change:
        """Reject open suggestions (kept, so a re-run does not propose them again)."""
        return suggesting.reject(self, _ids(ids))

    def name_voice(self, voice: str, label: str, role: str = "", agency: str = "") -> Change:
        """"Voice B is the ICE agent": every open suggestion of the voice, one undo step."""
        return suggesting.name_voice(self, voice, label, role, agency)

    def toggle_event_tag(self, event_id: int, key: str) -> Change:
        """Tag an impact event by hand (or take the tag off): one undo step; adding one
        marks the event reviewed (:func:`annotator.core.suggesting.tag_event`)."""
        return suggesting.tag_event(self, event_id, key)

    # -- timing and structure (rules in annotator.core.editing) -------------------------------

    def split(self, seg_id: int, at_word_index: int) -> Change:
        """Split before machine word ``at_word_index`` (see :func:`editing.split`)."""
        return self._commit("split", lambda: editing.split(self, seg_id, at_word_index))

    def merge_with_next(self, seg_id: int) -> Change:
        """Merge with the next segment in review order (see :func:`editing.merge_with_next`)."""
        return self._commit("merge", lambda: editing.merge_with_next(self, seg_id))

    def nudge(self, seg_id: int, edge: Literal["start", "end"], delta_ms: int) -> Change:
        """Move one edge of a segment, clamped to 0 <= start < end <= media duration."""
        if edge not in ("start", "end"):
            raise EditError(f"edge must be 'start' or 'end', not {edge!r}")
        return self._commit("nudge", lambda: editing.nudge(self, seg_id, edge, delta_ms))

    def insert_segment(self, start_ms: int, end_ms: int, text: str) -> Change:
        """Add speech the machine missed: no machine words, the text is the reviewer's."""
        editing.check_span(self, start_ms, end_ms)
        return self._commit(
            "insert_segment", lambda: editing.insert_segment(self, start_ms, end_ms, text)
        )

    def set_translation(self, seg_id: int, text: str | None) -> Change:
        """Correct a segment's translation: its own human layer beside the machine
        translation (:mod:`annotator.core.translations`), audited and one undo step like
        every edit. The machine's own text (or None) clears the correction."""
        self.segment(seg_id)  # NotFoundError for an id that is not here
        with self.ws.transaction():
            before = translations.correction(self.ws, seg_id)
            after = translations.typed_correction(self.ws, self.media_id, seg_id, text)
            if after == before:
                return Change(translations.ACTION)
            audit_id = translations.write_correction(
                self.ws, self.reviewer, self.media_id, seg_id, before, after)
        self._undo.append(translations.TranslationEdit(
            translations.ACTION, Rows(), Rows(), audit_id, seg_id, before, after))
        self._redo.clear()
        return Change(translations.ACTION, audit_id, updated=(seg_id,))

    def translation(self, seg_id: int) -> Translation | None:
        """A segment's translation (machine, with the reviewer's correction), if any."""
        self.segment(seg_id)
        return translations.segment_translations(self.ws, self.media_id).get(seg_id)

    def restore_held_back(self, held: SuppressedSegment) -> Change:
        """Put back a segment held back as heard in silence (a reviewer heard speech there):
        machine text, words and figures return, unreviewed, noted with where they came from."""
        if self.is_restored(held):
            raise EditError(f"already in the transcript at {held.start_ms / 1000:.1f} s")
        return self._commit("restore_held_back", lambda: editing.restore_held_back(self, held))

    def add_retranscribed(self, run: Run) -> Change:
        """Put a re-transcribed span's drafts (a finished span run) into the transcript as
        unreviewed machine segments, on free time only (:func:`gapfill.fill_rows`)."""
        return self._commit("retranscribe_span", lambda: gapfill.fill_rows(self, run))

    def is_restored(self, held: SuppressedSegment) -> bool:
        """Is a held-back segment's machine text back in the review layer at its times?"""
        return find.holds(self._segments, held.start_ms, held.end_ms, held.text)

    def delete_segment(self, seg_id: int) -> Change:
        """Remove a segment from the review layer (a hallucination, a duplicate). Its machine
        draft stays in the workspace and the audit entry keeps the whole row."""
        return self._commit("delete_segment", lambda: editing.delete_segment(self, seg_id))

    # -- undo / redo ------------------------------------------------------------------------

    def undo(self) -> Change:
        """Undo the latest edit of this session (written and audited like any edit)."""
        if not self._undo:
            return Change("undo")
        edit = self._undo[-1]
        change = self._replay("undo", edit, edit.after, edit.before)
        self._redo.append(self._undo.pop())
        return change

    def redo(self) -> Change:
        if not self._redo:
            return Change("redo")
        edit = self._redo[-1]
        change = self._replay("redo", edit, edit.before, edit.after)
        self._undo.append(self._redo.pop())
        return change

    # -- the one write path -----------------------------------------------------------------

    def _commit(self, action: str, build: Builder) -> Change:
        """Build an edit's snapshots and write them in one transaction; remember it for undo."""
        link: tuple[int | None, int] | None = None
        with self.ws.transaction():
            before, after = build()
            edits.drop_unchanged(before, after)
            if before.empty():
                return Change(action)
            if self._codebook_id is None:
                new_id = self._saved_codebook_id()
                link = (self.ws.media_codebook(self.media_id), new_id)
                self.ws.set_media_codebook(self.media_id, new_id)
            audit_id, carried = self._write(action, before, after, link=link)
        if link is not None:
            self._codebook_id = link[1]
        self._absorb(before, after)
        self._undo.append(Edit(action, before, after, audit_id, carried=carried))
        self._redo.clear()
        return edits.summarize(action, audit_id, before, after)

    def _replay(self, action: str, edit: Edit, before: Rows, after: Rows) -> Change:
        if isinstance(edit, suggesting.SuggestionEdit):
            return suggesting.replay(self, edit, undo=action == "undo")
        if isinstance(edit, translations.TranslationEdit):
            audit_id = translations.replay(self.ws, self.reviewer, self.media_id, edit,
                                           undo=action == "undo")
            return Change(action, audit_id, updated=(edit.segment_id,), of=edit.action)
        with self.ws.transaction():
            audit_id, _ = self._write(action, before, after, of=edit,
                                      restore=edit.carried if action == "undo" else None)
        self._absorb(before, after)
        return edits.summarize(action, audit_id, before, after, of=edit.action)

    def _write(
        self, action: str, before: Rows, after: Rows,
        link: tuple[int | None, int] | None = None, of: Edit | None = None,
        restore: dict[int, str] | None = None,
    ) -> tuple[int, dict[int, str]]:
        """Check the workspace still holds ``before``, write ``after``, append the audit entry.
        Must run inside a transaction. A segment removed takes its translation correction
        with it (returned, and in the audit entry); ``restore`` writes such corrections back
        for segments the write puts back (an undone delete or merge), so no reviewer's
        translation is lost by an edit and its undo."""
        edits.check_current(self.ws, self.media_id, before)
        removed = translations.removed_corrections(self.ws, before.segments, after.segments)
        edits.write_rows(self.ws, self.media_id, before, after)
        changes = edits.audit_changes(self.ws, self.media_id, before, after, link=link, of=of)
        changes += translations.carry(self.ws, removed, restore or {}, after.segments)
        return self.ws.append_audit(self.reviewer, self.media_id, action, changes), removed

    def _absorb(self, before: Rows, after: Rows) -> None:
        """Bring the in-memory rows from ``before`` to ``after`` (after a commit)."""
        for sid, old in before.segments.items():
            new = after.segments[sid]
            if old is not None:
                del self._segments[find.index_of(self._segments, old)]
                del self._by_id[sid]
                self._reviewed -= old.state is not ReviewState.UNREVIEWED
            if new is not None:
                insort(self._segments, new, key=find.sort_key)
                self._by_id[sid] = new
                self._reviewed += new.state is not ReviewState.UNREVIEWED
        if after.speakers:
            for pid, sp in after.speakers.items():
                if sp is None:
                    self._speakers.pop(pid, None)
                else:
                    self._speakers[pid] = sp
            self._speakers = dict(sorted(self._speakers.items()))
        if after.codebook is not None:
            self._codebook = self.ws.load_codebook(after.codebook)
            self._codebook_id = after.codebook
            self._codebook_source = None

    # -- helpers ----------------------------------------------------------------------------

    def _map(self, seg_ids: int | Iterable[int], fn: Callable[[Segment], Segment]) -> Builder:
        """A builder applying ``fn`` to each segment: one undo step however many."""
        ids = _ids(seg_ids)

        def build() -> tuple[Rows, Rows]:
            segs = [self.segment(i) for i in ids]
            return edits.segment_rows(segs, [fn(s) for s in segs])
        return build

    def allocate_id(self, table: Literal["segment", "speaker"]) -> int:
        """A fresh id, never reused within this session. For edit builders
        (:mod:`~annotator.core.editing`, :mod:`~annotator.core.attribution`): call only
        inside the edit's transaction."""
        new = max(self.ws.max_row_id(table), self._high[table]) + 1
        self._high[table] = new
        return new

    def _saved_codebook_id(self) -> int:
        if self._codebook_id is not None:
            return self._codebook_id
        source = self._codebook_source or dump_codebook(self._codebook)
        return self.ws.save_codebook(self._codebook, codebook_sha256(source), source)

# -- pure helpers -----------------------------------------------------------------------------


def _ids(seg_ids: int | Iterable[int]) -> list[int]:
    return [seg_ids] if isinstance(seg_ids, int) else list(dict.fromkeys(seg_ids))

