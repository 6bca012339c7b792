"""Codebooks: the shipped default, TOML validation errors that name the file, storage."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from annotator.core.codebook import (
    codebook_sha256,
    default_codebook,
    default_codebook_source,
    dump_codebook,
    install_codebook,
    load_codebook,
    next_local_version,
    parse_codebook,
    with_entry,
)
from annotator.core.model import CodebookEntry, Media
from annotator.core.store import Workspace
from annotator.errors import CodebookError

AGENCIES = {"local police", "sheriff", "state patrol", "ice", "hsi / other federal",
            "unknown agency"}
ACTIONS = {
    "verbal order", "threat of force", "strike on window or vehicle", "window broken",
    "physical removal", "restraint", "warrant requested", "warrant shown", "warrant refused",
    "refusal to comply", "child present mentioned", "recording mentioned",
    "identity or badge number requested", "medical need",
}
SPEAKER_KEYS = {"officer", "second_officer", "federal_agent", "driver", "passenger",
                "bystander", "dispatcher", "unknown_speaker"}


def test_default_codebook_covers_police_encounters() -> None:
    cb = default_codebook()
    assert (cb.name, cb.version) == ("police-encounter", "1.0")
    assert {e.label.casefold() for e in cb.of_kind("agency")} == AGENCIES
    assert {e.label.casefold() for e in cb.of_kind("action")} == ACTIONS
    assert {e.key for e in cb.of_kind("speaker")} == SPEAKER_KEYS
    for kind in ("speaker", "agency", "action", "other"):
        shortcuts = [e.shortcut for e in cb.of_kind(kind)]
        assert all(len(s) == 1 for s in shortcuts), kind
        assert len(set(shortcuts)) == len(shortcuts), kind
    assert len({e.key for e in cb.entries}) == len(cb.entries)
    assert all(e.description for e in cb.entries)


def test_dump_round_trips() -> None:
    cb = default_codebook()
    assert parse_codebook(dump_codebook(cb)) == cb
    odd = with_entry(cb, CodebookEntry("other", "quote", 'Says "stop"\tnow\x7f', "a\\b", "\""),
                     "1.0+local.1")
    assert parse_codebook(dump_codebook(odd)) == odd


def test_load_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(dedent("""
        name = "mine"
        version = "0.1"
        [actions.pepper_spray]
        label = "Pepper spray"
        shortcut = "p"
        [speakers.medic]
        label = "Medic"
    """))
    cb = load_codebook(path)
    assert [(e.kind, e.key) for e in cb.entries] == [("action", "pepper_spray"),
                                                      ("speaker", "medic")]


BAD = {
    "missing label": ('[actions.x]\ndescription = "d"\n', "missing label"),
    "empty label": ('[actions.x]\nlabel = " "\n', "missing label"),
    "duplicate key": (
        '[speakers.unknown]\nlabel = "U"\n[agencies.unknown]\nlabel = "U"\n', "duplicate key"
    ),
    "duplicate shortcut": (
        '[actions.a]\nlabel = "A"\nshortcut = "w"\n[actions.b]\nlabel = "B"\nshortcut = "w"\n',
        "duplicate shortcut 'w'",
    ),
    "bad kind": ('[weather.rain]\nlabel = "Rain"\n', "unknown section [weather]"),
    "long shortcut": ('[actions.a]\nlabel = "A"\nshortcut = "ab"\n', "one visible character"),
    "unknown field": ('[actions.a]\nlable = "A"\n', "unknown field 'lable'"),
    "bad key": ('[actions."a b"]\nlabel = "A"\n', "key must be"),
    "not a table": ('actions = 3\n', "must be a table"),
    "invalid toml": ("[actions.a\n", "invalid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_errors_name_the_file_and_the_problem(tmp_path: Path, case: str) -> None:
    body, expected = BAD[case]
    path = tmp_path / "broken.toml"
    path.write_text('name = "n"\nversion = "1"\n' + body)
    with pytest.raises(CodebookError) as err:
        load_codebook(path)
    assert err.value.source == str(path)
    assert expected in err.value.cause
    assert str(path) in str(err.value)


def test_same_shortcut_in_two_kinds_is_fine() -> None:
    cb = parse_codebook('name = "n"\nversion = "1"\n[actions.a]\nlabel = "A"\nshortcut = "x"\n'
                        '[other.b]\nlabel = "B"\nshortcut = "x"\n')
    assert len(cb.entries) == 2


@pytest.mark.parametrize("field", ["name", "version"])
def test_name_and_version_are_required(field: str) -> None:
    text = 'name = "n"\nversion = "1"\n'.replace(f'{field} = ', "# ")
    with pytest.raises(CodebookError, match=f"missing top-level {field}"):
        parse_codebook(text, "x.toml")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(CodebookError) as err:
        load_codebook(tmp_path / "absent.toml")
    assert err.value.source.endswith("absent.toml")


def test_local_versions() -> None:
    assert next_local_version("1.0") == "1.0+local.1"
    assert next_local_version("1.0+local.1") == "1.0+local.2"
    assert next_local_version("1.0", {"1.0+local.1", "1.0+local.2"}) == "1.0+local.3"


def test_with_entry_keeps_kinds_grouped() -> None:
    cb = default_codebook()
    new = with_entry(cb, CodebookEntry("speaker", "medic", "Medic", "", "m"), "1.0+local.1")
    kinds = [e.kind for e in new.entries]
    assert kinds == sorted(kinds, key=["speaker", "agency", "action", "other"].index)
    assert new.version == "1.0+local.1" and cb.get("medic") is None
    with pytest.raises(CodebookError, match="duplicate key"):
        with_entry(cb, CodebookEntry("action", "ice", "Ice on road"), "x")


def test_install_stores_a_version_and_links_it(ws: Workspace, media: Media) -> None:
    source = default_codebook_source()
    cb_id = install_codebook(ws, media.id, default_codebook(), source)
    assert ws.media_codebook(media.id) == cb_id
    assert ws.codebook_info(cb_id)["sha256"] == codebook_sha256(source)
    assert ws.load_codebook(cb_id) == default_codebook()
    assert install_codebook(ws, media.id, default_codebook(), source) == cb_id  # idempotent
    assert ws.audit(media.id) == []  # configuration, not a review decision
