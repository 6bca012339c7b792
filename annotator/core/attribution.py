"""Who speaks and what happens: speakers, codebook roles, tags and new codebook entries.

Edit builders in the sense of :mod:`annotator.core.editing`: each returns the ``(before,
after)`` rows of one edit and writes nothing except, for a new codebook entry, the new
codebook *version* (stored versions are immutable and never deleted, so storing one is not a
change a reviewer could see or undo; linking the media to it is, and that is in the rows).

Decisions a UI would otherwise have to make are made here, once: a speaker label already in
use gets a number ("Officer 2", two people can share a role), a new codebook entry gets its
key from its label and the first free letter of its label as its shortcut, and "new speaker /
new tag *and* apply it" is one edit, so one undo step and one audit entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from annotator.core.codebook import (
    KINDS,
    TAG_KINDS,
    codebook_sha256,
    dump_codebook,
    next_local_version,
    with_entry,
)
from annotator.core.edits import Rows, speaker_rows
from annotator.core.model import Codebook, CodebookEntry, Speaker
from annotator.errors import CodebookError, EditError, NotFoundError

if TYPE_CHECKING:
    from annotator.core.session import ReviewSession


# -- speakers ---------------------------------------------------------------------------------


def add_speaker(
    s: ReviewSession, label: str, role: str = "", agency: str = "", assign: Iterable[int] = ()
) -> tuple[Rows, Rows]:
    """A new speaker, attributed at once to the segments in ``assign`` (if any)."""
    sp = Speaker(s.allocate_id("speaker"), s.media_id, free_label(s, label), role,
                 agency_key(s.codebook, agency))
    return _attributed(s, sp, assign, new=True)


def rename_speaker(s: ReviewSession, speaker_id: int, new_label: str) -> tuple[Rows, Rows]:
    """Segments store the speaker id, so every segment shows the new name. A label another
    speaker uses is refused: they may be the same person, which is a reviewer's call."""
    sp = s.speaker(speaker_id)
    label = new_label.strip()
    if label.casefold() != sp.label.casefold() and free_label(s, label) != label:
        raise EditError(f"another speaker is already called {label!r}")
    return speaker_rows(sp, replace(sp, label=label))


def delete_speaker(s: ReviewSession, speaker_id: int) -> tuple[Rows, Rows]:
    """The segments attributed to the speaker become unattributed."""
    sp = s.speaker(speaker_id)
    mine = [seg for seg in s.segments if seg.speaker_id == speaker_id]
    before = Rows({seg.id: seg for seg in mine}, {sp.id: sp})
    after = Rows({seg.id: replace(seg, speaker_id=None) for seg in mine}, {sp.id: None})
    return before, after


def assign_role(s: ReviewSession, seg_ids: Iterable[int], key: str) -> tuple[Rows, Rows]:
    """Attribute segments to the speaker playing a codebook role, created on first use."""
    sp = role_speaker(s.speakers.values(), key)
    if sp is not None:
        return _attributed(s, sp, seg_ids, new=False)
    entry = role_entry(s.codebook, key)
    sp = Speaker(s.allocate_id("speaker"), s.media_id, free_label(s, entry.label), entry.key)
    return _attributed(s, sp, seg_ids, new=True)


def role_speaker(speakers: Iterable[Speaker], key: str) -> Speaker | None:
    """The (first) speaker playing codebook role ``key``, if there is one yet."""
    return next((sp for sp in speakers if sp.role == key), None)


def _attributed(
    s: ReviewSession, sp: Speaker, seg_ids: Iterable[int], *, new: bool
) -> tuple[Rows, Rows]:
    segs = [s.segment(i) for i in seg_ids]
    before = Rows({seg.id: seg for seg in segs}, {sp.id: None} if new else {})
    after = Rows({seg.id: replace(seg, speaker_id=sp.id) for seg in segs},
                 {sp.id: sp} if new else {})
    return before, after


def free_label(s: ReviewSession, label: str) -> str:
    """``label`` if no other speaker uses it (ignoring case), else "label 2", "label 3"..."""
    base = label.strip()
    if not base:
        raise EditError("a speaker needs a label")
    taken = {sp.label.casefold() for sp in s.speakers.values()}
    candidate, n = base, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{base} {n}"
    return candidate


def agency_key(codebook: Codebook, key: str) -> str:
    entry = codebook.get(key) if key else None
    if key and (entry is None or entry.kind != "agency"):
        raise NotFoundError("agency", key)
    return key


def role_entry(codebook: Codebook, key: str) -> CodebookEntry:
    entry = codebook.get(key)
    if entry is None or entry.kind != "speaker":
        raise NotFoundError("speaker role", key)
    return entry


def tag_entry(codebook: Codebook, key: str) -> CodebookEntry:
    entry = codebook.get(key)
    if entry is None or entry.kind not in TAG_KINDS:
        raise NotFoundError("tag", key)
    return entry


# -- codebook entries -------------------------------------------------------------------------


def entry_key(codebook: Codebook, label: str) -> str:
    """A key for a new entry labelled ``label``: its words in snake case, numbered if taken
    ("Dog barking" -> ``dog_barking``, then ``dog_barking_2``)."""
    base = re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_") or "tag"
    key, n = base, 1
    while codebook.get(key) is not None:
        n += 1
        key = f"{base}_{n}"
    return key


def entry_shortcut(codebook: Codebook, kind: str, label: str) -> str:
    """The first letter or digit of ``label`` no other entry of ``kind`` uses ("" if none)."""
    used = {e.shortcut for e in codebook.of_kind(kind)}
    return next((c for c in label.lower() if c.isalnum() and c not in used), "")


def add_codebook_entry(
    s: ReviewSession, saved_id: int, kind: str, label: str, *, key: str = "",
    description: str = "", shortcut: str | None = None, tag: Iterable[int] = (),
) -> tuple[Rows, Rows]:
    """Extend the codebook with an entry (stored as a new local version, "1.0" ->
    "1.0+local.1", which the media then uses) and put the new tag on the segments in ``tag``.
    ``saved_id`` is the stored id of the codebook in use now (what undo links again)."""
    if kind not in KINDS:
        raise CodebookError(s.codebook.name, f"bad kind {kind!r} (expected {KINDS})")
    old = s.codebook
    key = key.strip() or entry_key(old, label)
    if shortcut is None:
        shortcut = entry_shortcut(old, kind, label)
    entry = CodebookEntry(kind, key, label.strip(), description.strip(), shortcut.strip())
    version = next_local_version(old.version, s.ws.codebook_versions(old.name))
    new = with_entry(old, entry, version)
    source = dump_codebook(new)
    new_id = s.ws.save_codebook(new, codebook_sha256(source), source)
    segs = [s.segment(i) for i in tag]
    if segs and kind not in TAG_KINDS:
        raise EditError(f"a {kind} entry is not a tag")
    before = Rows({seg.id: seg for seg in segs}, codebook=saved_id)
    after = Rows({seg.id: seg.tagged(key, True) for seg in segs}, codebook=new_id)
    return before, after
