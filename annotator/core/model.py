"""The domain model: media, transcription runs, segments, words, speakers and tags.

Everything here is a plain frozen dataclass with times in **integer milliseconds** (conversion
from the engine's float seconds happens once, in :mod:`annotator.transcribe`). Frozen values
make snapshots free: the review session keeps "before" and "after" copies of rows for undo and
for the audit log without defensive copying.

Two layers of text are kept apart on purpose, because these transcripts can become evidence:

- the **machine draft** (:class:`DraftSegment`) is written once by a transcription run and
  never changed;
- the **review layer** (:class:`Segment`) starts as a copy of the draft and carries every human
  decision. ``Segment.machine_text`` is always what the engine said for that span (recomputed
  from machine words on split/merge, never typed by a person); ``Segment.human_text`` is
  ``None`` until a reviewer corrects the words. Exports therefore always know which is which.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, replace
from typing import Any


class ReviewState(enum.StrEnum):
    """Where a segment stands in review. Stored by value in the workspace and in exports."""

    UNREVIEWED = "unreviewed"
    REVIEWED = "reviewed"
    VERIFIED = "verified"
    DISPUTED = "disputed"


#: The rate (Hz, mono) audio is decoded at for the engine; checkpoints count in these samples.
SAMPLE_RATE = 16000


class RunStatus(enum.StrEnum):
    """Where a transcription run stands. A ``running`` run whose process is gone (no lock
    holder, see :mod:`annotator.core.runlock`) is an interrupted one; so is ``failed``."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class TagKind(enum.StrEnum):
    """The families of codebook entries a segment can carry."""

    AGENCY = "agency"
    ACTION = "action"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """One stream of a media container, as PyAV describes it."""

    index: int
    kind: str  # "audio", "video", "subtitle", "data"
    codec: str
    duration_ms: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    width: int | None = None
    height: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as stored in the workspace and written to JSON exports."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Media:
    """A media file, identified by the SHA-256 of its bytes (the path is only where it was)."""

    id: int
    path: str
    sha256: str
    size: int
    duration_ms: int
    streams: tuple[StreamInfo, ...] = ()
    added_at: str = ""
    typed_path: str = ""  # the path as the user typed it (``path`` is absolute, resolved)


@dataclass(frozen=True, slots=True)
class Run:
    """One transcription run: which model, which engine, which options, what it detected.

    This is the provenance of every machine word; it is copied into every export.
    """

    id: int
    media_id: int
    model_id: str
    model_sha256: str
    engine_versions: dict[str, str]
    options: dict[str, Any]
    language: str
    language_probability: float
    created_at: str
    finished_at: str | None = None
    status: RunStatus = RunStatus.RUNNING
    owner: dict[str, Any] = field(default_factory=dict)  # host, pid, started of its process
    heartbeat_at: str | None = None  # last sign of life from that process
    decoded_ms: int | None = None  # audio actually decoded (vs the container's duration)
    warnings: tuple[str, ...] = ()  # e.g. "truncated at 0:16 of 0:59"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The decoder's state at the start of one piece of a run (see
    :mod:`annotator.transcribe.chunks`), stored before any of the piece's segments so that an
    interrupted run can be decoded again from exactly here and give what an uninterrupted run
    gives: the same restart point and overlap, the same prompt, the same numbering.

    Positions are stream samples at 16 kHz (exact; milliseconds would lose the sample a
    restart falls on). ``cut_sample`` is -1 for the first piece (nothing before it).
    ``context`` is the prompt; ``carry`` holds the (end in seconds, tokens) of segments the
    engine wrote before this piece that later cuts still look at; ``languages``: what the run
    heard before this piece, per language (sorted): milliseconds of speech and whether it is a
    language of the run, which short stretches choose among
    (:mod:`annotator.transcribe.routing`).
    """

    piece: int
    restart_sample: int
    cut_sample: int
    first_index: int
    context: tuple[int, ...] = ()
    carry: tuple[tuple[float, tuple[int, ...]], ...] = ()
    languages: tuple[tuple[str, int, bool], ...] = ()

    @property
    def restart_ms(self) -> int:
        return self.restart_sample * 1000 // SAMPLE_RATE

    @property
    def cut_ms(self) -> int:
        return -1 if self.cut_sample < 0 else self.cut_sample * 1000 // SAMPLE_RATE


#: Where a run starts: the first piece, from the first sample, with nothing before it.
FIRST_CHECKPOINT = Checkpoint(piece=0, restart_sample=0, cut_sample=-1, first_index=0)


@dataclass(frozen=True, slots=True)
class Word:
    """A word with its timing and the engine's probability for it."""

    start_ms: int
    end_ms: int
    text: str
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "text": self.text,
            "probability": self.probability,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        return cls(
            int(data["start_ms"]),
            int(data["end_ms"]),
            str(data["text"]),
            float(data["probability"]),
        )


@dataclass(frozen=True, slots=True)
class MachineSegment:
    """A segment as the engine decoded it, in domain units (what the transcription stage
    yields and the workspace stores as the draft)."""

    index: int
    start_ms: int
    end_ms: int
    text: str
    words: tuple[Word, ...]
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    #: The language the detector heard under this segment ('' when not detected: an old run,
    #: or ``--language`` forced it and no detector ran) and its probability, and the model
    #: that wrote the text (see :mod:`annotator.transcribe.routing`).
    language: str = ""
    language_probability: float | None = None
    model_id: str = ""
    #: A machine translation of the text (``--translate en``), kept beside it.
    translation: Translation | None = None


@dataclass(frozen=True, slots=True)
class SegmentLanguage:
    """What a run recorded about a draft segment's language: the language, the detector's
    probability (None when ``--language`` forced it) and the model that wrote the text."""

    language: str
    probability: float | None
    model_id: str


@dataclass(frozen=True, slots=True)
class Translation:
    """A segment's translation, kept beside the original text and never replacing it.

    ``machine_text`` is what a model wrote (whisper's translate task: machine translation,
    named by ``model_id``/``model_sha256``); ``human_text`` is a reviewer's correction of it
    (None until one is made), a human layer of its own like :attr:`Segment.human_text`.
    """

    language: str
    machine_text: str
    model_id: str
    model_sha256: str = ""
    human_text: str | None = None

    @property
    def text(self) -> str:
        return self.human_text if self.human_text is not None else self.machine_text


@dataclass(frozen=True, slots=True, kw_only=True)
class DraftSegment(MachineSegment):
    """A stored machine segment of one run. Never modified after insertion."""

    id: int
    run_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SuppressedSegment(MachineSegment):
    """Text the engine produced for a stretch judged to hold no speech.

    Whisper models "hear" words in silence (measured on the demo clip: its silent sub-second
    tail came back as a repeat of the previous line, or as "Take it off." or "Stay in the
    car." on some runs). When the engine's own no-speech probability is above its threshold
    and either the text came from a sampled retry or a VAD pass hears almost no speech under
    it (:mod:`annotator.transcribe.silence`), the segment is held back from the draft. It is
    never thrown away: the workspace keeps it with the run and the JSON export lists it, so a
    reviewer can see exactly what was left out and why.
    """

    temperature: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "text": self.text,
            "words": [w.to_dict() for w in self.words],
            "avg_logprob": self.avg_logprob,
            "no_speech_prob": self.no_speech_prob,
            "compression_ratio": self.compression_ratio,
            "temperature": self.temperature,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Segment:
    """A segment of the review layer: the draft plus every human decision about it."""

    id: int
    media_id: int
    start_ms: int
    end_ms: int
    machine_text: str
    words: tuple[Word, ...] = ()
    human_text: str | None = None
    draft_id: int | None = None
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    speaker_id: int | None = None
    tags: tuple[str, ...] = ()  # codebook keys, sorted, unique
    state: ReviewState = ReviewState.UNREVIEWED
    note: str = ""

    @property
    def text(self) -> str:
        """The text to show and publish: the reviewer's if there is one, else the machine's."""
        return self.human_text if self.human_text is not None else self.machine_text

    @property
    def corrected(self) -> bool:
        """True when a person changed the words the machine produced."""
        return self.human_text is not None and self.human_text != self.machine_text

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    def with_human(self, human: str | None) -> Segment:
        """Set the human layer, keeping the rule that a correction never equals the machine."""
        if human is not None and human == self.machine_text.strip():
            human = None
        return replace(self, human_text=human)

    def tagged(self, key: str, present: bool) -> Segment:
        """With codebook tag ``key`` present or absent (tags stay sorted and unique)."""
        tags = set(self.tags) | {key} if present else set(self.tags) - {key}
        return replace(self, tags=tuple(sorted(tags)))

    def min_word_probability(self) -> float | None:
        """The weakest word's probability, or ``None`` for a segment without machine words."""
        return min((w.probability for w in self.words), default=None)


@dataclass(frozen=True, slots=True)
class Speaker:
    """A person heard in one media file. ``agency`` is a codebook key (kind agency) or ''."""

    id: int
    media_id: int
    label: str
    role: str = ""
    agency: str = ""


@dataclass(frozen=True, slots=True)
class CodebookEntry:
    """One codebook line: a speaker role, an agency or an action, with a one-key shortcut."""

    kind: str  # "speaker" or a TagKind value
    key: str
    label: str
    description: str = ""
    shortcut: str = ""


@dataclass(frozen=True, slots=True)
class Codebook:
    """A versioned list of codebook entries; stored in the workspace with its SHA-256."""

    name: str
    version: str
    entries: tuple[CodebookEntry, ...] = field(default_factory=tuple)

    def of_kind(self, kind: str) -> tuple[CodebookEntry, ...]:
        return tuple(e for e in self.entries if e.kind == kind)

    def get(self, key: str) -> CodebookEntry | None:
        for entry in self.entries:
            if entry.key == key:
                return entry
        return None

    def label(self, key: str) -> str:
        entry = self.get(key)
        return entry.label if entry is not None else key


def words_text(words: tuple[Word, ...] | list[Word]) -> str:
    """Join machine words the way the engine does (each word carries its leading space)."""
    return "".join(w.text for w in words).strip()
