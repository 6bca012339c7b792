"""Redacted sharing: a transcript without people's names, for handing to someone who needs
what happened but not who the bystanders were.

Names are the one thing a reviewer types that can endanger someone (a bystander who filmed
an arrest, a witness). :func:`without_names` replaces every speaker's label with their role
and a stable number (``Officer (speaker 3)``), keeps the agency (what the record is about),
and blanks every note (free text, where names end up). Only the copy handed to an exporter
changes: the workspace is never touched, and the manifest written with the export records
``redacted.names`` (see :mod:`annotator.formats.manifest`).

Not covered, on purpose, and said in ``--help``: names *spoken* in the recording stay in
the transcript text, since changing what was said would make the transcript wrong; folder
paths are a separate choice (``--redact paths``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from annotator.core.document import Transcript
from annotator.core.model import Speaker


def role_label(transcript: Transcript, speaker: Speaker) -> str:
    """``<role> (speaker <id>)``: the role's codebook label (``speaker`` without one) and
    the speaker's id, so lines by one person stay recognisably one person."""
    role = transcript.tag_label(speaker.role) if speaker.role else "speaker"
    return f"{role} (speaker {speaker.id})"


def without_names(transcript: Transcript) -> Transcript:
    """The same transcript with speakers known by role and notes blanked."""
    speakers = {
        sid: replace(sp, label=role_label(transcript, sp))
        for sid, sp in transcript.speakers.items()
    }
    segments = tuple(replace(seg, note="") for seg in transcript.segments)
    return replace(transcript, speakers=speakers, segments=segments)


#: Stated acquisition facts that name people or hold free text (where names end up).
NAMING_FACTS = frozenset({"captured_by", "obtained_from", "notes"})


def redact_stated_facts(stated: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stated acquisition facts as a ``--redact names`` export or report carries them: who
    stated each fact, and the facts that name people or are free text, become
    ``(redacted)``; where, when and how it was obtained stay (they say what the record is),
    as do the file's own claims (container metadata, kept elsewhere). One function for
    every output so an export and a report of the same media never redact differently."""
    return {
        key: {**fact, "set_by": "(redacted)",
              "value": "(redacted)" if key in NAMING_FACTS else fact["value"]}
        for key, fact in stated.items()
    }
