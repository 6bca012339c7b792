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

To add an operation: write a method that builds ``(before, after)`` from the in-memory rows
(allocate new ids with :meth:`ReviewSession._alloc`) and pass the builder to
:meth:`ReviewSession._commit`. Persistence, audit, undo and the returned :class:`Change`
follow by construction.

Do not wrap session calls in an outer ``Workspace.transaction()``: the in-memory state is
updated after each operation commits.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from annotator.core import edits
from annotator.core import search as find
from annotator.core.codebook import (
    KINDS,
    TAG_KINDS,
    codebook_sha256,
    default_codebook,
    default_codebook_source,
    dump_codebook,
    next_local_version,
    validate_codebook,
    with_entry,
)
from annotator.core.edits import Builder, Change, Edit, Rows
from annotator.core.model import (
    Codebook,
    CodebookEntry,
    ReviewState,
    Segment,
    Speaker,
    SuppressedSegment,
    words_text,
)
from annotator.core.store import Workspace
from annotator.errors import CodebookError, EditError, NotFoundError, UsageError


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

    def next_unreviewed(self, from_index: int = -1, *, reverse: bool = False) -> int | None:
        return find.next_unreviewed(self._segments, from_index, reverse=reverse)

    def next_low_confidence(
        self, from_index: int = -1, threshold: float = find.LOW_WORD_PROBABILITY,
        *, reverse: bool = False,
    ) -> int | None:
        return find.next_low_confidence(self._segments, from_index, threshold, reverse=reverse)

    def next_with_tag(self, from_index: int, key: str, *, reverse: bool = False) -> int | None:
        return find.next_with_tag(self._segments, from_index, key, reverse=reverse)

    def search(self, query: str) -> list[int]:
        """Indices of segments matching every term (see :func:`annotator.core.search.search`)."""
        return find.search(self._segments, query, self._speakers, self._codebook)

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
        def build() -> tuple[Rows, Rows]:
            seg = self.segment(seg_id)
            return edits.segment_rows([seg], [seg.with_human(text.strip())])
        return self._commit("set_text", build)

    def set_state(self, seg_ids: int | Iterable[int], state: ReviewState | str) -> Change:
        try:
            new_state = ReviewState(state)
        except ValueError:
            raise EditError(f"unknown review state {state!r}") from None
        return self._commit("set_state", self._map(seg_ids, lambda s: replace(s, state=new_state)))

    def set_note(self, seg_id: int, note: str) -> Change:
        return self._commit("set_note", self._map(seg_id, lambda s: replace(s, note=note.strip())))

    # -- speakers ---------------------------------------------------------------------------

    def set_speaker(self, seg_ids: int | Iterable[int], speaker_id: int | None) -> Change:
        if speaker_id is not None:
            self.speaker(speaker_id)
        return self._commit(
            "set_speaker", self._map(seg_ids, lambda s: replace(s, speaker_id=speaker_id))
        )

    def add_speaker(self, label: str, role: str = "", agency: str = "") -> Speaker:
        """Add a person heard in this media. Labels are unique ignoring case: a taken label
        gets a number ("Officer 2"), since two people can share a role."""
        def build() -> tuple[Rows, Rows]:
            sp = Speaker(self._alloc("speaker"), self.media_id, self._free_label(label),
                         role, self._agency(agency))
            return Rows(speakers={sp.id: None}), Rows(speakers={sp.id: sp})
        change = self._commit("add_speaker", build)
        return self._speakers[change.speakers[0]]

    def rename_speaker(self, speaker_id: int, new_label: str) -> Change:
        """Rename a speaker; every segment shows the new name (segments store the id). A label
        another speaker uses is refused: they may be the same person, a reviewer's call."""
        def build() -> tuple[Rows, Rows]:
            sp = self.speaker(speaker_id)
            label = new_label.strip()
            if label.casefold() != sp.label.casefold() and self._free_label(label) != label:
                raise EditError(f"another speaker is already called {label!r}")
            return edits.speaker_rows(sp, replace(sp, label=label))
        return self._commit("rename_speaker", build)

    def set_speaker_agency(self, speaker_id: int, agency_key: str) -> Change:
        def build() -> tuple[Rows, Rows]:
            sp = self.speaker(speaker_id)
            return edits.speaker_rows(sp, replace(sp, agency=self._agency(agency_key)))
        return self._commit("set_speaker_agency", build)

    def delete_speaker(self, speaker_id: int) -> Change:
        """Remove a speaker; the segments attributed to them become unattributed."""
        def build() -> tuple[Rows, Rows]:
            sp = self.speaker(speaker_id)
            mine = [s for s in self._segments if s.speaker_id == speaker_id]
            before, after = edits.segment_rows(mine, [replace(s, speaker_id=None) for s in mine])
            before.speakers[sp.id], after.speakers[sp.id] = sp, None
            return before, after
        return self._commit("delete_speaker", build)

    def speaker_for_role(self, codebook_key: str) -> Speaker:
        """The speaker playing a codebook role (kind "speaker"), created on first use."""
        existing = self._role_speaker(codebook_key)
        if existing is not None:
            return existing
        entry = self._role_entry(codebook_key)
        return self.add_speaker(entry.label, role=entry.key)

    def assign_role(self, seg_ids: int | Iterable[int], codebook_key: str) -> Change:
        """Attribute segments to the speaker of a codebook role, creating that speaker if
        needed, as one undo step (what a one-key speaker shortcut does)."""
        def build() -> tuple[Rows, Rows]:
            sp = self._role_speaker(codebook_key)
            before, after = Rows(), Rows()
            if sp is None:
                entry = self._role_entry(codebook_key)
                sp = Speaker(self._alloc("speaker"), self.media_id,
                             self._free_label(entry.label), entry.key)
                before.speakers[sp.id], after.speakers[sp.id] = None, sp
            segs = [self.segment(i) for i in _ids(seg_ids)]
            before.segments.update({s.id: s for s in segs})
            after.segments.update({s.id: replace(s, speaker_id=sp.id) for s in segs})
            return before, after
        return self._commit("assign_role", build)

    # -- tags and the codebook --------------------------------------------------------------

    def add_tag(self, seg_ids: int | Iterable[int], key: str) -> Change:
        self._tag_entry(key)
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
        self, kind: str, key: str, label: str, description: str = "", shortcut: str = ""
    ) -> Change:
        """Extend the codebook from the review screen. The extended codebook is stored as a
        new version ("1.0" -> "1.0+local.1") and becomes the media's codebook; undo links
        the previous version again (stored versions are never deleted)."""
        if kind not in KINDS:
            raise CodebookError(self._codebook.name, f"bad kind {kind!r} (expected {KINDS})")

        def build() -> tuple[Rows, Rows]:
            old = self._codebook
            version = next_local_version(old.version, self.ws.codebook_versions(old.name))
            entry = CodebookEntry(kind, key.strip(), label.strip(), description.strip(),
                                  shortcut.strip())
            new = with_entry(old, entry, version)
            source = dump_codebook(new)
            new_id = self.ws.save_codebook(new, codebook_sha256(source), source)
            return Rows(codebook=self._saved_codebook_id()), Rows(codebook=new_id)
        return self._commit("add_codebook_entry", build)

    # -- timing and structure ---------------------------------------------------------------

    def split(self, seg_id: int, at_word_index: int) -> Change:
        """Split before machine word ``at_word_index``; the second part gets a new id.

        Machine words and machine text are partitioned. A correction (``human_text``) is split
        at the same word boundary when it has as many words as the machine; otherwise it is
        left whole on the first part (the second shows its machine text) for the reviewer to
        fix. Speaker, tags, state and confidence stay on both parts, the note on the first.
        The boundary is the start of the word, so the parts stay contiguous.
        """
        def build() -> tuple[Rows, Rows]:
            seg = self.segment(seg_id)
            if not 0 < at_word_index < len(seg.words):
                raise EditError(
                    f"segment {seg_id}: can only split between its {len(seg.words)} machine"
                    f" words (index 1..{len(seg.words) - 1}), not at {at_word_index}"
                )
            if seg.end_ms - seg.start_ms < 2:
                raise EditError(f"segment {seg_id} is too short to split")
            cut = min(max(seg.words[at_word_index].start_ms, seg.start_ms + 1), seg.end_ms - 1)
            w1, w2 = seg.words[:at_word_index], seg.words[at_word_index:]
            h1 = h2 = seg.human_text
            if seg.human_text is not None:
                hw = seg.human_text.split()
                if len(hw) == len(seg.words):
                    h1, h2 = " ".join(hw[:at_word_index]), " ".join(hw[at_word_index:])
                else:
                    h2 = None
            first = replace(seg, end_ms=cut, words=w1, machine_text=words_text(w1))
            second = replace(seg, id=self._alloc("segment"), start_ms=cut, words=w2,
                             machine_text=words_text(w2), note="")
            first, second = first.with_human(h1), second.with_human(h2)
            return Rows({seg.id: seg, second.id: None}), Rows({seg.id: first, second.id: second})
        return self._commit("split", build)

    def merge_with_next(self, seg_id: int) -> Change:
        """Merge a segment with the next one in review order; the first keeps its id.

        Words and machine texts are joined; a correction on either part becomes the joined
        text of both. The first part's speaker wins (else the second's); tags are united,
        notes joined; the state is kept if both agree, else "unreviewed". Confidence takes
        the weaker value so a doubtful part still shows as doubtful.
        """
        def build() -> tuple[Rows, Rows]:
            a = self.segment(seg_id)
            i = self.index_of(seg_id)
            if i + 1 >= len(self._segments):
                raise EditError(f"segment {seg_id} is the last one: nothing to merge with")
            b = self._segments[i + 1]
            machine = " ".join(t for t in (a.machine_text.strip(), b.machine_text.strip()) if t)
            human = None
            if a.human_text is not None or b.human_text is not None:
                human = " ".join(t for t in (a.text.strip(), b.text.strip()) if t)
            merged = replace(
                a, end_ms=max(a.end_ms, b.end_ms), machine_text=machine, words=a.words + b.words,
                avg_logprob=_weaker(min, a.avg_logprob, b.avg_logprob),
                no_speech_prob=_weaker(max, a.no_speech_prob, b.no_speech_prob),
                compression_ratio=_weaker(max, a.compression_ratio, b.compression_ratio),
                speaker_id=a.speaker_id if a.speaker_id is not None else b.speaker_id,
                tags=tuple(sorted(set(a.tags) | set(b.tags))),
                state=a.state if a.state is b.state else ReviewState.UNREVIEWED,
                note="\n".join(n for n in (a.note, b.note) if n),
            )
            merged = merged.with_human(human)
            return Rows({a.id: a, b.id: b}), Rows({a.id: merged, b.id: None})
        return self._commit("merge", build)

    def nudge(self, seg_id: int, edge: Literal["start", "end"], delta_ms: int) -> Change:
        """Move one edge of a segment, clamped to 0 <= start < end <= media duration.
        Segments may overlap their neighbours (people talk over each other)."""
        if edge not in ("start", "end"):
            raise EditError(f"edge must be 'start' or 'end', not {edge!r}")

        def move(s: Segment) -> Segment:
            if edge == "start":
                return replace(s, start_ms=min(max(0, s.start_ms + delta_ms), s.end_ms - 1))
            end = s.end_ms + delta_ms
            if self.media.duration_ms > 0:
                end = min(end, max(self.media.duration_ms, s.end_ms))
            return replace(s, end_ms=max(end, s.start_ms + 1))
        return self._commit("nudge", self._map(seg_id, move))

    def insert_segment(self, start_ms: int, end_ms: int, text: str) -> Change:
        """Add speech the machine missed: no machine words, the text is the reviewer's."""
        limit = self.media.duration_ms
        if not 0 <= start_ms < end_ms or (limit > 0 and end_ms > limit):
            raise EditError(
                f"a segment needs 0 <= start < end <= {limit} ms, got {start_ms}..{end_ms}"
            )

        def build() -> tuple[Rows, Rows]:
            seg = Segment(self._alloc("segment"), self.media_id, start_ms, end_ms, "")
            return Rows({seg.id: None}), Rows({seg.id: seg.with_human(text.strip())})
        return self._commit("insert_segment", build)

    def restore_held_back(self, held: SuppressedSegment) -> Change:
        """Put back a segment held back as heard in silence (a reviewer heard speech there):
        machine text, words and figures return, unreviewed, noted with where they came from."""
        if self.is_restored(held):
            raise EditError(f"already in the transcript at {held.start_ms / 1000:.1f} s")

        def build() -> tuple[Rows, Rows]:
            seg = Segment(
                self._alloc("segment"), self.media_id, held.start_ms, held.end_ms, held.text,
                held.words, None, None, held.avg_logprob, held.no_speech_prob,
                held.compression_ratio, note=f"restored; held back because {held.reason}",
            )
            return Rows({seg.id: None}), Rows({seg.id: seg})
        return self._commit("restore_held_back", build)

    def is_restored(self, held: SuppressedSegment) -> bool:
        """Is a held-back segment's machine text back in the review layer at its times?"""
        return find.holds(self._segments, held.start_ms, held.end_ms, held.text)

    def delete_segment(self, seg_id: int) -> Change:
        """Remove a segment from the review layer (a hallucination, a duplicate). Its machine
        draft stays in the workspace and the audit entry keeps the whole row."""
        def build() -> tuple[Rows, Rows]:
            seg = self.segment(seg_id)
            return Rows({seg.id: seg}), Rows({seg.id: None})
        return self._commit("delete_segment", build)

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
            audit_id = self._write(action, before, after, link=link)
        if link is not None:
            self._codebook_id = link[1]
        self._absorb(before, after)
        self._undo.append(Edit(action, before, after, audit_id))
        self._redo.clear()
        return edits.summarize(action, audit_id, before, after)

    def _replay(self, action: str, edit: Edit, before: Rows, after: Rows) -> Change:
        with self.ws.transaction():
            audit_id = self._write(action, before, after, of=edit)
        self._absorb(before, after)
        return edits.summarize(action, audit_id, before, after, of=edit.action)

    def _write(
        self, action: str, before: Rows, after: Rows,
        link: tuple[int | None, int] | None = None, of: Edit | None = None,
    ) -> int:
        """Check the workspace still holds ``before``, write ``after``, append the audit entry.
        Must run inside a transaction."""
        edits.check_current(self.ws, self.media_id, before)
        edits.write_rows(self.ws, self.media_id, before, after)
        changes = edits.audit_changes(self.ws, self.media_id, before, after, link=link, of=of)
        return self.ws.append_audit(self.reviewer, self.media_id, action, changes)

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

    def _alloc(self, table: Literal["segment", "speaker"]) -> int:
        """A fresh id, never reused within this session. Call inside the edit's transaction."""
        new = max(self.ws.max_row_id(table), self._high[table]) + 1
        self._high[table] = new
        return new

    def _saved_codebook_id(self) -> int:
        if self._codebook_id is not None:
            return self._codebook_id
        source = self._codebook_source or dump_codebook(self._codebook)
        return self.ws.save_codebook(self._codebook, codebook_sha256(source), source)

    def _free_label(self, label: str) -> str:
        """``label`` if no other speaker uses it (ignoring case), else "label 2", "label 3"..."""
        base = label.strip()
        if not base:
            raise EditError("a speaker needs a label")
        taken = {sp.label.casefold() for sp in self._speakers.values()}
        candidate, n = base, 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{base} {n}"
        return candidate

    def _agency(self, key: str) -> str:
        entry = self._codebook.get(key) if key else None
        if key and (entry is None or entry.kind != "agency"):
            raise NotFoundError("agency", key)
        return key

    def _tag_entry(self, key: str) -> CodebookEntry:
        entry = self._codebook.get(key)
        if entry is None or entry.kind not in TAG_KINDS:
            raise NotFoundError("tag", key)
        return entry

    def _role_entry(self, key: str) -> CodebookEntry:
        entry = self._codebook.get(key)
        if entry is None or entry.kind != "speaker":
            raise NotFoundError("speaker role", key)
        return entry

    def _role_speaker(self, key: str) -> Speaker | None:
        return next((sp for sp in self._speakers.values() if sp.role == key), None)


# -- pure helpers -----------------------------------------------------------------------------


def _ids(seg_ids: int | Iterable[int]) -> list[int]:
    return [seg_ids] if isinstance(seg_ids, int) else list(dict.fromkeys(seg_ids))


def _weaker(
    pick: Callable[[float, float], float], a: float | None, b: float | None
) -> float | None:
    if a is None or b is None:
        return a if b is None else b
    return pick(a, b)
