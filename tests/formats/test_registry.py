"""The format registry, file naming and the atomic writer."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from annotator.core.document import Transcript
from annotator.errors import EXIT_USAGE, AnnotatorError, UnknownFormatError, UsageError
from annotator.formats import (
    FILE_EXTENSION_TO_FORMAT_IDENTIFIER,
    FORMAT_IDENTIFIER_TO_FORMAT_CLASS,
    ExportError,
    FormatBase,
    InvalidStemError,
    default_stem,
    export,
    get_format,
    get_format_identifier,
    parse_formats,
)
from annotator.formats.ass import AssFormat
from annotator.formats.json_format import JsonFormat
from annotator.formats.rttm import RttmFormat
from annotator.formats.srt import SrtFormat
from annotator.formats.vtt import VttFormat

from .builders import STOP, STOP_SPEAKERS, TranscriptBuilder


def test_registry_maps_identifiers_and_extensions() -> None:
    expected = {"json": JsonFormat, "srt": SrtFormat, "vtt": VttFormat, "ass": AssFormat,
                "rttm": RttmFormat}
    assert expected == FORMAT_IDENTIFIER_TO_FORMAT_CLASS
    extensions = {".json": "json", ".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".rttm": "rttm"}
    assert extensions == FILE_EXTENSION_TO_FORMAT_IDENTIFIER
    for identifier, cls in FORMAT_IDENTIFIER_TO_FORMAT_CLASS.items():
        assert cls.identifier == identifier
        assert cls.description


def test_get_format() -> None:
    assert get_format("srt") is SrtFormat
    assert get_format(" VTT ") is VttFormat
    with pytest.raises(UnknownFormatError) as info:
        get_format("docx")
    assert info.value.format_ == "docx"
    assert isinstance(info.value, UsageError)
    assert info.value.exit_code == EXIT_USAGE


def test_get_format_identifier() -> None:
    assert get_format_identifier(".SRT") == "srt"
    with pytest.raises(UnknownFormatError) as info:
        get_format_identifier(".txt")
    assert info.value.format_ == ".txt"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("json,srt", ["json", "srt"]),
        ("vtt, ass ,json", ["vtt", "ass", "json"]),
        ("srt,json,SRT,srt", ["srt", "json"]),
        ("json,", ["json"]),
    ],
)
def test_parse_formats(spec: str, expected: list[str]) -> None:
    assert parse_formats(spec) == expected


@pytest.mark.parametrize(
    ("spec", "bad"), [("json,pdf,srt", "pdf"), ("srt, Word ", "Word"), ("", ""), (" , ", ",")]
)
def test_parse_formats_names_the_bad_one(spec: str, bad: str) -> None:
    with pytest.raises(UnknownFormatError) as info:
        parse_formats(spec)
    assert info.value.format_ == bad
    assert repr(bad) in str(info.value)


def test_export_names_files_after_media_and_hash(stop: Transcript, tmp_path: Path) -> None:
    out = tmp_path / "exports" / "nested"  # created on demand
    paths = [export(stop, fmt, out) for fmt in FORMAT_IDENTIFIER_TO_FORMAT_CLASS]
    stem = f"demo.{stop.media.sha256[:12]}"
    assert default_stem(stop.media) == stem
    assert [p.name for p in paths] == [f"{stem}.json", f"{stem}.srt", f"{stem}.vtt", f"{stem}.ass",
                                       f"{stem}.rttm"]
    assert sorted(os.listdir(out)) == sorted(p.name for p in paths)  # no temp files left
    for path in paths:
        assert path.read_text(encoding="utf-8") == get_format(path.suffix[1:]).to_string(stop)


def test_same_file_name_from_two_phones_does_not_clobber(
    build: TranscriptBuilder, tmp_path: Path
) -> None:
    first = build(STOP[:1], STOP_SPEAKERS, media_path="/phone-a/IMG_0001.MOV", content=b"a")
    second = build(STOP[1:], STOP_SPEAKERS, media_path="/phone-b/IMG_0001.MOV", content=b"b")
    a, b = export(first, "srt", tmp_path), export(second, "srt", tmp_path)
    assert a != b and a.name.startswith("IMG_0001.") and b.name.startswith("IMG_0001.")
    assert "Step out" in a.read_text() and "stopping me" in b.read_text()


def test_export_with_explicit_stem(stop: Transcript, tmp_path: Path) -> None:
    assert export(stop, "vtt", tmp_path, stem="case-42").name == "case-42.vtt"


@pytest.mark.parametrize("stem", ["", "  ", ".", "..", "../up", "a/b", "a\\b", "nul\x00"])
def test_export_refuses_stems_that_are_paths(stop: Transcript, tmp_path: Path, stem: str) -> None:
    with pytest.raises(InvalidStemError) as info:
        export(stop, "srt", tmp_path / "out", stem=stem)
    assert info.value.stem == stem
    assert not (tmp_path / "out").exists()


def test_unknown_format_writes_nothing(stop: Transcript, tmp_path: Path) -> None:
    with pytest.raises(UnknownFormatError) as info:
        export(stop, "pdf", tmp_path / "out")
    assert info.value.format_ == "pdf"
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_permissions_like_a_plain_write(stop: Transcript, tmp_path: Path) -> None:
    umask = os.umask(0o027)
    try:
        path = export(stop, "srt", tmp_path)
        assert path.stat().st_mode & 0o777 == 0o640  # new file: 0666 minus the umask
        path.chmod(0o600)
        export(stop, "srt", tmp_path)
        assert path.stat().st_mode & 0o777 == 0o600  # replaced file keeps its mode
    finally:
        os.umask(umask)


class BrokenFormat(FormatBase):
    """A format added the documented way (one registry line) whose writer fails."""

    identifier = "broken"
    extension = ".srt"
    description = "fails half way"

    @classmethod
    def to_string(cls, transcript: Transcript) -> str:
        raise RuntimeError("writer bug")


def test_failing_writer_leaves_old_file(
    stop: Transcript, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = export(stop, "srt", tmp_path)
    before = old.read_bytes()
    monkeypatch.setitem(FORMAT_IDENTIFIER_TO_FORMAT_CLASS, "broken", BrokenFormat)
    with pytest.raises(RuntimeError, match="writer bug"):
        export(stop, "broken", tmp_path)
    assert old.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == sorted(["workspace", old.name])


def test_rename_failure_removes_temp_file(stop: Transcript, tmp_path: Path) -> None:
    target = tmp_path / f"{default_stem(stop.media)}.srt"
    target.mkdir()  # os.replace(file, directory) fails after the data was written
    (target / "keep").write_text("x")
    with pytest.raises(ExportError) as info:
        export(stop, "srt", tmp_path)
    assert info.value.path == target
    assert isinstance(info.value, AnnotatorError)
    assert sorted(os.listdir(tmp_path)) == sorted(["workspace", target.name])
    assert (target / "keep").read_text() == "x"


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_disk_full_mid_write_keeps_old_file(stop: Transcript, tmp_path: Path) -> None:
    """A real write failure: the OS refuses to grow the temp file past a size limit."""
    old = export(stop, "json", tmp_path)
    before = old.read_bytes()
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from annotator.core.document import load_transcript
        from annotator.core.store import Workspace
        from annotator.formats import ExportError, export

        with Workspace({str(tmp_path / "workspace" / "annotator.db")!r}) as ws:
            transcript = load_transcript(ws, {stop.media.id})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))
        try:
            export(transcript, "json", Path({str(tmp_path)!r}))
        except ExportError as exc:
            print(exc.cause)
            sys.exit(3)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 3, proc.stderr
    assert "cannot write" in proc.stdout
    assert old.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == sorted(["workspace", old.name])
