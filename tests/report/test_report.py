"""The incident timeline report: what it says, that untrusted text stays text, and that a
real browser renders it (headless Chromium: a screenshot that is not blank, the table's rows
in the DOM)."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from formats.builders import STOP, Seg, TranscriptBuilder

from annotator.cli import main
from annotator.core.model import ReviewState
from annotator.core.store import Workspace
from annotator.report import markdown

from support import DEMO, require_tool

SCRIPT = "<script>document.body.innerHTML='pwned'</script>"
NAMES = {"Officer 1": "Officer Dana Jones", "Bystander": "Maria Lopez"}  # role from the name
LINES = (
    *(dataclasses.replace(s, speaker=NAMES.get(s.speaker or "")) for s in STOP),
    Seg(4100, 6000, SCRIPT, speaker="Maria Lopez", state=ReviewState.DISPUTED),
    Seg(6100, 8000, "Hands | on the *car*", speaker="Officer Dana Jones", tags=("strike",),
        human_text="Hands on the car [inaudible]"),
)


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, int]:
    """A stop reviewed over the demo clip's real bytes (so the waveform is drawn), with
    codebook actions, a correction, a disputed line that tries to be a script, and a stated
    fact."""
    clip = tmp_path / "demo.mp4"
    shutil.copyfile(DEMO, clip)
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        TranscriptBuilder(ws)(LINES, tuple(NAMES.values()), media_path=str(clip),
                              content=clip.read_bytes())
        media_id = ws.list_media()[0].id
    assert main(["media", "set", str(media_id), "source_url=https://example.org/<b>live</b>",
                 "--by", "erin", "--db", str(db)]) == 0
    return db, media_id


def _report(db: Path, media_id: int, out: Path, *extra: str) -> list[Path]:
    assert main(["report", str(media_id), "--out", str(out), "--db", str(db), *extra]) == 0
    return sorted(out.glob("*.report.*"))


class _Table(HTMLParser):
    """The timeline table's cells, as a browser's DOM holds them, and every element."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: list[str] = []
        self._in_timeline = self._in_body = self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "table" and ("class", "timeline") in attrs:
            self._in_timeline = True
        elif self._in_timeline and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_cell = False
        elif tag == "table":
            self._in_timeline = self._in_body = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.rows[-1][-1] += data


def test_the_html_report_renders_in_chromium_with_every_row(
    workspace: tuple[Path, int], tmp_path: Path
) -> None:
    chromium = require_tool("chromium")
    db, media_id = workspace
    out = tmp_path / "out"
    html, manifest, md = _report(db, media_id, out)
    assert html.suffix == ".html" and md.suffix == ".md" and manifest.name.endswith(
        ".report.manifest.json")
    flags = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ]
    shot = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    subprocess.run(
        [*flags, f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1000,1400",
         html.as_uri()], check=True, capture_output=True, timeout=120,
    )
    dom = subprocess.run(
        [*flags, f"--user-data-dir={tmp_path / 'profile2'}", "--dump-dom", html.as_uri()],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout
    import av

    with av.open(str(shot)) as container:
        pixels = next(container.decode(video=0)).to_ndarray(format="rgb24")
    ink = (pixels.min(axis=2) < 128).mean()
    # Not blank: text, and the waveform strip (ink even where a machine has no fonts).
    assert pixels.shape[:2] == (1400, 1000) and 0.003 < ink < 0.6, ink

    table = _Table()
    table.feed(dom)
    # The line stayed text: no script element, and the page was not replaced by it.
    assert "script" not in table.tags and "<h1>Incident timeline: demo.mp4</h1>" in dom
    assert len(table.rows) == len(LINES)
    cells = [[c.strip() for c in row] for row in table.rows]
    assert cells[0] == [
        "0:00:00.0 to 0:00:01.5", "Officer Dana Jones", "ICE", "Strike on window or vehicle",
        "Step out of the vehicle.", "verified",
    ]
    # The reviewed quote, then the machine draft it differs from, then the note.
    assert cells[1][4] == "Why are you stopping me?Why are you stopping mequestion intonation"
    assert cells[3][1:5] == ["Maria Lopez", "", "", SCRIPT] and cells[3][5] == "disputed"
    assert cells[4][4].startswith("Hands on the car [inaudible]Hands | on the *car*")
    assert 'href="demo.mp4#t=0,1.5"' in html.read_text()
    text = html.read_text()
    assert "<script" not in text and "http://" not in text.replace(
        "http-equiv", "") and "https://example.org/&lt;b&gt;live&lt;/b&gt;" in text


def test_the_summary_counts_actions_and_unreviewed_time(
    workspace: tuple[Path, int], tmp_path: Path
) -> None:
    db, media_id = workspace
    out = tmp_path / "out"
    assert main(["export", str(media_id), "--format", "srt", "--out", str(out),
                 "--db", str(db)]) == 0
    _html, manifest, md = _report(db, media_id, out, "--format", "md,html")
    text = md.read_text()
    assert "- Strike on window or vehicle: 2" in text
    assert "- ICE: Strike on window or vehicle 2" in text  # both strikes by an ICE officer
    assert "- Officer Dana Jones: Strike on window or vehicle 2" in text
    # Unreviewed: "Okay." (760 ms) and "Hands..." (1.9 s); disputed: the script line (1.9 s),
    # of a recording the builder declares 600 s long.
    assert "unreviewed: 0% of the recording (0:00:02.6)" in text
    assert "disputed: 0% of the recording (0:00:01.9)" in text
    (export_manifest,) = (m for m in out.glob("*.manifest.json") if m != manifest)
    digest = hashlib.sha256(export_manifest.read_bytes()).hexdigest()
    assert f"- manifest {export_manifest.name}: `{digest}`" in text  # the export, by hash
    assert "&lt;script&gt;" in text and "<script" not in text
    assert "Hands \\| on the \\*car\\*" in text
    assert main(["verify", "--db", str(db), "--exports", str(out)]) == 0
    assert manifest.exists()


def test_redacted_names_leave_roles_and_agencies(
    workspace: tuple[Path, int], tmp_path: Path
) -> None:
    db, media_id = workspace
    out = tmp_path / "out"
    html, manifest, md = _report(db, media_id, out, "--redact", "names,paths")
    for path in (html, md):
        text = path.read_text()
        assert "Jones" not in text and "Lopez" not in text and "erin" not in text
        assert "question intonation" not in text  # notes are left out
        assert str(tmp_path) not in text
    rows = [line for line in md.read_text().splitlines() if line.startswith("| [")]
    assert "| Officer (speaker 1) | ICE | Strike on window or vehicle |" in rows[0]
    assert "| Bystander (speaker 2) |" in rows[1]
    import json

    assert json.loads(manifest.read_text())["redacted"] == {"paths": True, "names": True}


def test_markdown_text_is_inert() -> None:
    assert markdown.md("a | b *c* [d](e) <i>x</i> &\n# h") == (
        "a \\| b \\*c\\* \\[d\\](e) &lt;i&gt;x&lt;/i&gt; &amp; # h"
    )


def test_redacted_report_blanks_who_captured_it_like_the_export(
    workspace: tuple[Path, int], tmp_path: Path
) -> None:
    """``captured_by``, ``obtained_from`` and ``notes`` name people: a names-redacted report
    leaves them out exactly as a names-redacted export does; the plain report shows them."""
    db, media_id = workspace
    assert main(["media", "set", str(media_id), "captured_by=Rosa Quintana",
                 "notes=filmed from the porch of number 12", "--by", "erin",
                 "--db", str(db)]) == 0
    plain = _report(db, media_id, tmp_path / "plain", "--format", "md")[-1]
    assert "Rosa Quintana" in plain.read_text()
    for out, cmd in ((tmp_path / "r", "report"), (tmp_path / "e", "export")):
        args = [cmd, str(media_id), "--out", str(out), "--db", str(db), "--redact", "names"]
        assert main([*args, "--format", "md" if cmd == "report" else "json"]) == 0
        for path in out.iterdir():
            text = path.read_text()
            assert "Rosa Quintana" not in text and "porch" not in text, path.name
            assert "example.org" in text or path.name.endswith("manifest.json")


def test_agency_per_line_follows_the_speaker_unless_the_line_says_otherwise(
    tmp_path: Path,
) -> None:
    """The report asks the same rule as every other output: a line's own agency tag wins
    over the speaker's agency (not both run together)."""
    from formats.builders import CODEBOOK

    from annotator.core.model import CodebookEntry, TagKind
    from annotator.report import timeline

    codebook = dataclasses.replace(CODEBOOK, entries=(
        *CODEBOOK.entries,
        CodebookEntry(TagKind.AGENCY.value, "local", "Local police", "", "l"),
    ))
    lines = (Seg(0, 1000, "Roll it down.", speaker="Officer 1"),
             Seg(1000, 2000, "I said roll it down.", speaker="Officer 1", tags=("local",)))
    with Workspace(tmp_path / "w.db") as ws:
        transcript = TranscriptBuilder(ws)(lines, ("Officer 1",))
    transcript = dataclasses.replace(transcript, codebook=codebook)
    rows = timeline.build(transcript).rows
    assert [r.agency for r in rows] == ["ICE", "Local police"]


def test_impact_events_are_rows_and_accepted_ones_count(
    workspace: tuple[Path, int], tmp_path: Path
) -> None:
    """An accepted burst is a row with its action counted; an open detection is a row marked
    unreviewed; a rejected detection is left out."""
    from annotator.core import suggestions as layer
    from annotator.core.suggestions import Event, Kind, Status, Suggestion

    db, media_id = workspace
    with Workspace(db) as ws:
        layer.add_event(ws, Event(0, media_id, "knock", 5000, 5800, count=12, strength=0.8,
                                  state=ReviewState.REVIEWED, tags=("strike",)))
        layer.add_event(ws, Event(0, media_id, "glass", 9000, 9100, strength=0.9))
        gone = layer.add_event(ws, Event(0, media_id, "knock", 9500, 9600, strength=0.2))
        layer.write_suggestion(ws, Suggestion(
            layer.max_suggestion_id(ws) + 1, media_id, Kind.EVENT, "impacts", 9500, 9600,
            "strike", None, gone.id, source={"detector": "test"}, confidence=0.2,
            status=Status.REJECTED), insert=True)
    (md,) = [p for p in _report(db, media_id, tmp_path / "out", "--format", "md")
             if p.suffix == ".md"]
    rows = [line for line in md.read_text().splitlines() if line.startswith("| [")]
    sounds = [r for r in rows if "sound detected" in r]
    assert len(sounds) == 2, sounds
    assert "\\[12 strikes\\]" in sounds[0] and "Strike on window or vehicle" in sounds[0]
    assert "| reviewed |" in sounds[0]
    assert "\\[glass breaking\\]" in sounds[1] and "| unreviewed |" in sounds[1]
    assert rows.index(sounds[0]) > 0 and "0:00:05.0" in sounds[0]  # in time order
    assert "- Strike on window or vehicle: 3" in md.read_text()  # 2 lines + the burst
