"""Real English speech is never written in a guessed language (annotator/transcribe/routing.py).

AMI dev01 (tests/data) is 30 s of a real meeting in English between two people, one of
them with an accent. Measured with the bundled base model: the whole speech's window is
English 0.70, but a 4.6-s turn alone scores Welsh 0.59 (English 0.35), and a 2.1-s turn
Czech 0.40 (English 0.01). Before the rule that a language new to the run must be heard with
:data:`~annotator.transcribe.routing.NEW_SURE`, that turn made Welsh a language of the run
and base wrote the other turn as invented Welsh ("Gwi'n gweithio, o'r gweithio i'r
gweithio."). Now nothing is written in a language other than English: a turn the detector
cannot place is held back with its reason, and the English turns are written as before.
"""

from __future__ import annotations

from pathlib import Path

from annotator.core import runs
from annotator.core.store import Workspace
from annotator.transcribe.engine import TranscribeOptions
from annotator.transcribe.pipeline import run_batch
from annotator.transcribe.routing import unsure_reason

from support import shared_file


def test_a_real_english_meeting_is_not_written_in_another_language(tmp_path: Path) -> None:
    media = shared_file("ami_debug_dev01.wav")
    with Workspace(tmp_path / "w.db") as ws:
        (result,) = run_batch(ws, [media], TranscribeOptions())
        assert result.status == "done", result.error
        found = ws.find_media(str(media))
        run = ws.current_run(found.id)
        assert run is not None
        languages = runs.draft_languages(ws, found.id)
        written = [(seg.start_ms, seg.text, languages[seg.draft_id or 0].language)
                   for seg in ws.segments(found.id)]
        held = ws.suppressed(run.id)
    assert written and {language for *_, language in written} == {"en"}, written
    # the English turns from 15 s on ("what's the username ...") are still written
    assert sum(start >= 15000 for start, *_ in written) >= 3
    assert "username" in " ".join(text for _start, text, _lang in written).lower()
    # a turn that could not be placed is held back as such (with the detector's guess)
    assert all(s.reason == unsure_reason(s.reason.rsplit(": ", 1)[-1][:-1]) for s in held
               if s.reason.startswith("language")), held
