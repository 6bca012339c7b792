"""Build real transcripts in a real workspace for the format tests (no mocks)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from annotator.core.document import Transcript, load_transcript
from annotator.core.model import (
    Codebook,
    CodebookEntry,
    ReviewState,
    Speaker,
    TagKind,
    Word,
)
from annotator.core.store import Workspace

EXPORTED_AT = "2025-06-01T12:00:00+00:00"
MODEL_SHA256 = hashlib.sha256(b"model.bin").hexdigest()
CODEBOOK = Codebook(
    "roadside",
    "1.0",
    (
        CodebookEntry("speaker", "officer", "Officer"),
        CodebookEntry("speaker", "bystander", "Bystander"),
        CodebookEntry(TagKind.AGENCY.value, "ice", "ICE", "Immigration and Customs", "i"),
        CodebookEntry(TagKind.ACTION.value, "strike", "Strike on window or vehicle", "", "s"),
        CodebookEntry(TagKind.OTHER.value, "unclear", "Unclear audio"),
    ),
)
CODEBOOK_SHA256 = hashlib.sha256(b"roadside-1.0").hexdigest()


@dataclass(frozen=True)
class Seg:
    """What a test wants in one review-layer segment."""

    start_ms: int
    end_ms: int
    text: str
    speaker: str | None = None
    tags: tuple[str, ...] = ()
    human_text: str | None = None
    state: ReviewState = ReviewState.UNREVIEWED
    note: str = ""
    words: tuple[Word, ...] = ()


@dataclass
class TranscriptBuilder:
    """Adds media to one workspace and returns its transcript as exporters see it."""

    ws: Workspace
    count: int = 0
    media_ids: list[int] = field(default_factory=list)

    def __call__(
        self,
        segs: Sequence[Seg],
        speakers: Sequence[str] = (),
        *,
        media_path: str = "/evidence/phone/demo.mp4",
        content: bytes | None = None,
        model_id: str = "tiny.en",
        finished: bool = True,
        codebook: bool = True,
    ) -> Transcript:
        self.count += 1
        ws = self.ws
        data = content if content is not None else f"media {self.count}".encode()
        media = ws.add_media(media_path, hashlib.sha256(data).hexdigest(), len(data), 600_000)
        run = ws.start_run(
            media.id, model_id, MODEL_SHA256, {"faster-whisper": "1.2.1"},
            {"beam_size": 5, "vad_filter": True, "temperature": [0.0, 0.2]},
        )
        ws.set_run_language(run.id, "en", 0.98)
        ids = {}
        for label in speakers:
            role = "officer" if label.lower().startswith("officer") else "bystander"
            agency = "ice" if role == "officer" else ""
            sp = ws.insert_speaker(Speaker(0, media.id, label, role, agency))
            ids[label] = sp.id
        for index, s in enumerate(segs):
            seg = ws.add_draft(
                run, index, s.start_ms, s.end_ms, s.text, s.words, -0.25, 0.01, 1.3
            )
            ws.update_segment(
                dataclasses.replace(
                    seg,
                    speaker_id=ids[s.speaker] if s.speaker is not None else None,
                    tags=s.tags, human_text=s.human_text, state=s.state, note=s.note,
                )
            )
        if finished:
            ws.finish_run(run.id)
        if codebook:
            ws.set_media_codebook(media.id, ws.save_codebook(CODEBOOK, CODEBOOK_SHA256, "cb.toml"))
        self.media_ids.append(media.id)
        return dataclasses.replace(load_transcript(ws, media.id), exported_at=EXPORTED_AT)


#: A small, realistic review: speakers, a correction, tags, a note, an unknown speaker.
STOP = (
    Seg(
        0, 1500, "Step out of the vehicle.", speaker="Officer 1", tags=("ice", "strike"),
        words=(
            Word(0, 400, " Step", 0.95), Word(400, 600, " out", 0.9),
            Word(600, 800, " of", 0.99), Word(800, 1000, " the", 0.99),
            Word(1000, 1500, " vehicle.", 0.8),
        ),
        state=ReviewState.VERIFIED,
    ),
    Seg(
        1500, 3250, "Why are you stopping me", speaker="Bystander",
        human_text="Why are you stopping me?", state=ReviewState.REVIEWED,
        note="question intonation",
    ),
    Seg(3250, 4010, "Okay.", tags=("unclear",)),
)
STOP_SPEAKERS = ("Officer 1", "Bystander")

#: Text that tries to be markup, a cue, a line break or a terminal command in some format.
INJECTIONS = (
    "[bold red]x[/]",
    "<script>alert(1)</script>",
    "{\\an8}moved to the top",
    "line\\Nbreak and \\n and \\h",
    "closing </v> the voice",
    "fake --> cue",
    "\x1b[31mred\x1b[0m text",
    "<i>italic</i> <font color=red>red</font> <b>bold</b>",
    "a\n\n99\n00:00:09,000 --> 00:00:10,000\nforged",
    "& ampersand &amp; &lt;",
)
