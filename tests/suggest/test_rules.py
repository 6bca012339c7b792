"""Codebook rules: parsing (bad rules name the file and the entry), matching, and the rules
of the shipped codebook on the real demo transcript."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.core.codebook import (
    default_codebook_source,
    load_codebook,
    parse_codebook,
    parse_rules,
)
from annotator.core.model import Segment
from annotator.core.store import Workspace
from annotator.errors import CodebookError
from annotator.suggest.rules import media_rules, propose

HEAD = 'name = "t"\nversion = "1"\n'


def _seg(i: int, text: str, tags: tuple[str, ...] = ()) -> Segment:
    return Segment(i, 1, i * 1000, i * 1000 + 900, text, tags=tags)


def test_phrases_are_whole_words_and_capitals_mean_an_acronym() -> None:
    rules = parse_rules(HEAD + "[agencies.ice]\nlabel = \"ICE\"\n"
                        "phrases = [\"ICE\", \"Homeland Security\"]\n")
    segs = [_seg(1, "ICE, open the door"), _seg(2, "black ice on the road"),
            _seg(3, "homeland   security agents"), _seg(4, "Nice try"),
            _seg(5, "ICE again", tags=("ice",))]
    found = propose(segs, rules, {"name": "t"})
    assert [(p.segment_id, p.value, p.detail["matched"]) for p in found] == [
        (1, "ice", "ICE"), (3, "ice", "homeland   security")]
    assert found[0].source["detector"] == "codebook-rules"


def test_bad_pattern_names_file_and_entry(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(HEAD + "[actions.warrant]\nlabel = \"W\"\npatterns = ['(see a warrant']\n")
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    assert str(path) in str(info.value) and "[actions.warrant]" in str(info.value)
    assert "not a valid regular expression" in str(info.value)
    with pytest.raises(CodebookError, match=r"\[speakers.officer\]: phrases and patterns"):
        parse_codebook(HEAD + "[speakers.officer]\nlabel = \"O\"\nphrases = [\"officer\"]\n")
    with pytest.raises(CodebookError, match="list of non-empty strings"):
        parse_codebook(HEAD + "[other.x]\nlabel = \"X\"\nphrases = \"x\"\n")


def test_default_rules_on_the_real_demo_transcript(
        workspace_copy: Workspace, demo_media_id: int) -> None:
    rules, info = media_rules(workspace_copy, demo_media_id)
    assert {"ice", "warrant_requested", "child_present"} <= set(rules)
    assert rules == parse_rules(default_codebook_source())
    segs = workspace_copy.segments(demo_media_id)
    found = {(p.value, p.segment_id) for p in propose(segs, rules, info)}
    by_tag: dict[str, list[str]] = {}
    text = {s.id: s.text for s in segs}
    for tag, sid in found:
        by_tag.setdefault(tag, []).append(text[sid or 0])
    assert any("warrant" in t.lower() for t in by_tag["warrant_requested"])
    assert any("immigration" in t.lower() for t in by_tag["ice"])
    assert any("baby" in t.lower() for t in by_tag["child_present"])
    assert any("not need a warrant" in t.lower() for t in by_tag["warrant_refused"])
    assert "window_broken" not in by_tag  # nobody says the window is broken


def test_a_codebook_extended_in_review_keeps_its_rules(
        workspace_copy: Workspace, demo_media_id: int) -> None:
    from annotator.core.session import ReviewSession

    ws, mid = workspace_copy, demo_media_id
    session = ReviewSession(ws, mid, "ana")
    session.add_codebook_entry("action", "Door opened")  # stored as generated TOML: no rules
    assert session.codebook.version.endswith("+local.1")
    rules, info = media_rules(ws, mid)
    assert "warrant_requested" in rules and info["version"] == "1.0"
