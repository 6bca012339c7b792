"""Codebooks: the vocabulary reviewers tag with (speaker roles, agencies, actions, other tags).

A codebook is a TOML file because reviewers and their organisations edit it by hand and it must
be diffable and reviewable like any other document::

    name = "police-encounter"
    version = "1.0"

    [agencies.ice]
    label = "ICE"
    description = "U.S. Immigration and Customs Enforcement"
    shortcut = "i"

Each top-level table is one *kind* (:data:`SECTIONS` maps table names to kinds) and each of its
sub-tables is one entry, keyed by its codebook key. Keys are unique across the whole codebook
because a segment stores only the key; shortcuts are unique within a kind because the UI asks
for a kind first ("tag an action") and then a single key.

Every validation problem raises :class:`~annotator.errors.CodebookError` naming the file and
the entry, so a reviewer can fix a hand-edited file without reading a traceback.

Codebooks are stored in the workspace by content (name, version, SHA-256 of the source text):
the codebook a transcript was tagged with is part of its provenance. To add a kind, add one
line to :data:`SECTIONS` (and a :class:`~annotator.core.model.TagKind` value if it is a tag).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from annotator.core.model import Codebook, CodebookEntry, TagKind
from annotator.core.store import Workspace
from annotator.errors import CodebookError

#: TOML table name -> entry kind, in the order sections are written back out.
SECTIONS: dict[str, str] = {
    "speakers": "speaker",
    "agencies": TagKind.AGENCY.value,
    "actions": TagKind.ACTION.value,
    "other": TagKind.OTHER.value,
}
#: kind -> TOML table name.
SECTION_OF: dict[str, str] = {kind: section for section, kind in SECTIONS.items()}
#: Every kind an entry may have; "speaker" entries describe roles, the rest are segment tags.
KINDS: tuple[str, ...] = tuple(SECTIONS.values())
TAG_KINDS: tuple[str, ...] = tuple(k for k in KINDS if k != "speaker")

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_TEXT_FIELDS = frozenset({"label", "description", "shortcut"})
#: Rule fields of a tag entry (see :func:`parse_rules`): lists of strings.
RULE_FIELDS = frozenset({"phrases", "patterns"})
_ENTRY_FIELDS = _TEXT_FIELDS | RULE_FIELDS
#: A pattern longer than this is refused: rules run on every segment of long streams.
MAX_PATTERN = 300
_LOCAL = re.compile(r"^(?P<base>.*)\+local\.(?P<n>\d+)$")
DEFAULT_RESOURCE = "default_codebook.toml"


def codebook_sha256(text: str) -> str:
    """Content hash of a codebook's source text: identifies the exact version used."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_codebook(text: str, source: str = "<string>") -> Codebook:
    """Parse and validate codebook TOML; ``source`` (usually the path) names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CodebookError(source, f"invalid TOML: {exc}") from exc
    name = _top_string(data, "name", source)
    version = _top_string(data, "version", source)
    entries: list[CodebookEntry] = []
    for section, body in data.items():
        if section in ("name", "version"):
            continue
        if section not in SECTIONS:
            expected = ", ".join(SECTIONS)
            raise CodebookError(source, f"unknown section [{section}] (expected {expected})")
        if not isinstance(body, dict):
            raise CodebookError(source, f"[{section}] must be a table of entries")
        for key, fields in body.items():
            entries.append(_entry(SECTIONS[section], section, key, fields, source))
    codebook = Codebook(name, version, tuple(entries))
    validate_codebook(codebook, source)
    return codebook


def load_codebook(path: Path | str) -> Codebook:
    """Read and validate a codebook file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CodebookError(str(path), f"cannot read: {exc}") from exc
    return parse_codebook(text, str(path))


def default_codebook_source() -> str:
    """The TOML text of the codebook shipped with annotator."""
    return resources.files("annotator.core").joinpath(DEFAULT_RESOURCE).read_text("utf-8")


def default_codebook() -> Codebook:
    """The shipped codebook for reviewing police encounters (local police and federal agents)."""
    return parse_codebook(default_codebook_source(), DEFAULT_RESOURCE)


def validate_codebook(codebook: Codebook, source: str = "<codebook>") -> None:
    """Check the rules every codebook keeps, whatever it was built from.

    Keys must be unique across kinds (segments store bare keys), shortcuts unique within a
    kind (the UI picks a kind, then a key).
    """
    if not codebook.name.strip():
        raise CodebookError(source, "name must not be empty")
    if not codebook.version.strip():
        raise CodebookError(source, "version must not be empty")
    seen_keys: dict[str, CodebookEntry] = {}
    seen_shortcuts: dict[tuple[str, str], CodebookEntry] = {}
    for e in codebook.entries:
        where = _where(e)
        if e.kind not in KINDS:
            raise CodebookError(source, f"{where}: bad kind {e.kind!r} (expected {KINDS})")
        if not _KEY.match(e.key):
            raise CodebookError(
                source, f"{where}: key must be letters, digits, '_' or '-' (got {e.key!r})"
            )
        if not e.label.strip():
            raise CodebookError(source, f"{where}: missing label")
        if len(e.shortcut) > 1 or e.shortcut.isspace():
            raise CodebookError(
                source, f"{where}: shortcut must be one visible character (got {e.shortcut!r})"
            )
        if e.key in seen_keys:
            raise CodebookError(
                source, f"duplicate key {e.key!r} in {_where(seen_keys[e.key])} and {where}"
            )
        seen_keys[e.key] = e
        if e.shortcut:
            other = seen_shortcuts.get((e.kind, e.shortcut))
            if other is not None:
                raise CodebookError(
                    source,
                    f"duplicate shortcut {e.shortcut!r} in [{SECTION_OF[e.kind]}]:"
                    f" {other.key} and {e.key}",
                )
            seen_shortcuts[(e.kind, e.shortcut)] = e


def dump_codebook(codebook: Codebook) -> str:
    """Write a codebook as TOML that :func:`parse_codebook` reads back to an equal codebook.

    Used for codebooks built in memory (a reviewer adding an entry), so the workspace always
    stores a readable source text and its hash, like for hand-written files.
    """
    lines = [f"name = {_toml_str(codebook.name)}", f"version = {_toml_str(codebook.version)}"]
    for e in codebook.entries:
        lines += ["", f"[{SECTION_OF[e.kind]}.{e.key}]", f"label = {_toml_str(e.label)}"]
        if e.description:
            lines.append(f"description = {_toml_str(e.description)}")
        if e.shortcut:
            lines.append(f"shortcut = {_toml_str(e.shortcut)}")
    return "\n".join(lines) + "\n"


def next_local_version(version: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """The version of a reviewer-extended codebook: "1.0" -> "1.0+local.1" -> "1.0+local.2".

    The base version stays visible so exports show which published codebook it grew from;
    ``taken`` (versions already stored under this name) keeps a number from being reused
    after an undo.
    """
    match = _LOCAL.match(version)
    base, n = (match["base"], int(match["n"])) if match else (version, 0)
    while True:
        n += 1
        candidate = f"{base}+local.{n}"
        if candidate not in taken:
            return candidate


def with_entry(codebook: Codebook, entry: CodebookEntry, version: str) -> Codebook:
    """A new codebook version with ``entry`` added after the last entry of its kind.

    Entries stay grouped by kind so :func:`dump_codebook` round-trips. Raises
    :class:`CodebookError` if the entry breaks a rule (duplicate key or shortcut...).
    """
    entries = list(codebook.entries)
    position = max((i + 1 for i, e in enumerate(entries) if e.kind == entry.kind), default=None)
    if position is None:
        order = KINDS.index(entry.kind) if entry.kind in KINDS else len(KINDS)
        position = sum(1 for e in entries if e.kind in KINDS and KINDS.index(e.kind) < order)
    entries.insert(position, entry)
    new = Codebook(codebook.name, version, tuple(entries))
    validate_codebook(new, f"{codebook.name} {version}")
    return new


def install_codebook(ws: Workspace, media_id: int, codebook: Codebook, source_text: str) -> int:
    """Store a codebook version (idempotent) and make it the media's codebook; returns its id.

    This is configuration, not a review decision, so it writes no audit entry; the review
    session records the link in the audit log with the first edit made under it.
    """
    validate_codebook(codebook, f"{codebook.name} {codebook.version}")
    with ws.transaction():
        codebook_id = ws.save_codebook(codebook, codebook_sha256(source_text), source_text)
        ws.set_media_codebook(media_id, codebook_id)
    return codebook_id


# -- rules: phrases and patterns that suggest a tag -------------------------------------------


@dataclass(frozen=True)
class TagRule:
    """What makes a segment's text suggest a tag (see :mod:`annotator.suggest.rules`).

    ``phrases`` match as whole words, ignoring case, except a phrase written all in capitals
    ("ICE"), which is an acronym and matches only in capitals (not "ice on the road").
    ``patterns`` are regular expressions, matched ignoring case anywhere in the text.
    """

    key: str
    kind: str
    phrases: tuple[str, ...]
    patterns: tuple[str, ...]
    compiled: tuple[re.Pattern[str], ...]


def parse_rules(text: str, source: str = "<string>") -> dict[str, TagRule]:
    """The tag rules of a codebook's TOML text, by entry key (entries without rules left
    out). A bad rule raises :class:`CodebookError` naming the file and the entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CodebookError(source, f"invalid TOML: {exc}") from exc
    rules: dict[str, TagRule] = {}
    for section, body in data.items():
        if section not in SECTIONS or not isinstance(body, dict):
            continue
        for key, fields in body.items():
            if isinstance(fields, dict):
                rule = _rule(key, SECTIONS[section], fields, f"[{section}.{key}]", source)
                if rule is not None:
                    rules[key] = rule
    return rules


def _rule(
    key: str, kind: str, fields: dict[str, Any], where: str, source: str
) -> TagRule | None:
    lists: dict[str, tuple[str, ...]] = {}
    for name in sorted(RULE_FIELDS):
        value = fields.get(name, [])
        if not isinstance(value, list) or not all(
                isinstance(v, str) and v.strip() for v in value):
            raise CodebookError(source, f"{where}: {name} must be a list of non-empty strings")
        lists[name] = tuple(value)
    if not lists["phrases"] and not lists["patterns"]:
        return None
    compiled = [_phrase_pattern(p) for p in lists["phrases"]]
    for pattern in lists["patterns"]:
        if len(pattern) > MAX_PATTERN:
            raise CodebookError(
                source, f"{where}: pattern longer than {MAX_PATTERN} characters")
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as exc:
            raise CodebookError(
                source, f"{where}: pattern {pattern!r} is not a valid regular expression ({exc})"
            ) from None
    return TagRule(key, kind, lists["phrases"], lists["patterns"], tuple(compiled))


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    words = r"\s+".join(re.escape(w) for w in phrase.split())
    acronym = phrase.isupper()
    return re.compile(rf"(?<!\w){words}(?!\w)", 0 if acronym else re.IGNORECASE)


# -- helpers ----------------------------------------------------------------------------------


def _top_string(data: dict[str, Any], field: str, source: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise CodebookError(source, f"missing top-level {field} (a non-empty string)")
    return value


def _entry(kind: str, section: str, key: str, fields: Any, source: str) -> CodebookEntry:
    where = f"[{section}.{key}]"
    if not isinstance(fields, dict):
        raise CodebookError(source, f"{where} must be a table with a label")
    unknown = sorted(set(fields) - _ENTRY_FIELDS)
    if unknown:
        raise CodebookError(
            source, f"{where}: unknown field {unknown[0]!r} (expected {sorted(_ENTRY_FIELDS)})"
        )
    values: dict[str, str] = {}
    for name in _TEXT_FIELDS:
        value = fields.get(name, "")
        if not isinstance(value, str):
            raise CodebookError(source, f"{where}: {name} must be a string")
        values[name] = value
    if not values["label"].strip():
        raise CodebookError(source, f"{where}: missing label")
    if RULE_FIELDS & set(fields) and kind not in TAG_KINDS:
        raise CodebookError(source, f"{where}: phrases and patterns are for tags only")
    _rule(key, kind, fields, where, source)  # a bad rule fails when the codebook is read
    return CodebookEntry(kind, key, values["label"], values["description"], values["shortcut"])


def _where(e: CodebookEntry) -> str:
    return f"[{SECTION_OF.get(e.kind, e.kind)}.{e.key}]"


def _toml_str(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes; TOML also forbids a raw DEL.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
