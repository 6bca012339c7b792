"""Codebook rules: segments whose text matches an entry's phrases or patterns get its tag
suggested.

The rules live in the codebook itself (``phrases`` and ``patterns`` of a tag entry, see
:func:`annotator.core.codebook.parse_rules`), so an organisation that adapts the codebook
adapts its rules in the same reviewed file. A rule only *suggests*: a reviewer accepts or
rejects each match (a line can mention ICE without an ICE agent present).

The rules of a media are those of the codebook it is tagged with, read from the source text
the workspace stored with it. A codebook extended from the review screen is stored as
generated text without rules; it then keeps the rules of the codebook of the same name that
has them, else of the shipped default when it is that one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from annotator.core.codebook import TagRule, default_codebook, default_codebook_source, parse_rules
from annotator.core.model import Segment
from annotator.core.store import Workspace
from annotator.core.suggestions import Kind, Proposal

#: Name of this detector in a suggestion's source.
DETECTOR = "codebook-rules"
#: Confidence of a rule match: a literal match is sure of the words, not of the meaning.
CONFIDENCE = 0.8


def media_rules(ws: Workspace, media_id: int) -> tuple[dict[str, TagRule], dict[str, str]]:
    """The tag rules for a media and the codebook they come from (name, version, sha256)."""
    cb_id = ws.media_codebook(media_id)
    if cb_id is None:
        cb = default_codebook()
        return parse_rules(default_codebook_source(), "default codebook"), {
            "name": cb.name, "version": cb.version, "sha256": "default"}
    info = ws.codebook_info(cb_id)
    rows = ws.conn.execute(
        "SELECT source, version, sha256 FROM codebook WHERE name=? ORDER BY id=? DESC, id DESC",
        (info["name"], cb_id),
    ).fetchall()
    for row in rows:
        rules = parse_rules(str(row[0]), f"codebook {info['name']} {row[1]}")
        if rules:
            return rules, {"name": info["name"], "version": str(row[1]), "sha256": str(row[2])}
    if info["name"] == default_codebook().name:
        return parse_rules(default_codebook_source(), "default codebook"), dict(info)
    return {}, dict(info)


def propose(
    segments: Iterable[Segment], rules: Mapping[str, TagRule], codebook: Mapping[str, str],
    known: Iterable[str] | None = None,
) -> list[Proposal]:
    """One tag proposal per (segment, entry) whose text matches, unless the segment already
    carries the tag. ``known``: the keys of the media's codebook (a rule for a key the
    codebook no longer has proposes nothing)."""
    keys = None if known is None else set(known)
    source = {"detector": DETECTOR, "codebook": dict(codebook)}
    out: list[Proposal] = []
    for seg in segments:
        text = seg.text
        for key, rule in rules.items():
            if key in seg.tags or (keys is not None and key not in keys):
                continue
            hit = next((m for m in (p.search(text) for p in rule.compiled) if m), None)
            if hit is None:
                continue
            out.append(Proposal(
                Kind.TAG, seg.start_ms, seg.end_ms, key,
                {**source, "rule": hit.re.pattern}, CONFIDENCE, segment_id=seg.id,
                detail={"matched": hit.group(0), "kind": rule.kind},
            ))
    return out
