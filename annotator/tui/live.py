"""The review app on a live capture another process (``annotator capture --transcribe``)
transcribes: new, replaced and dropped segments appear as they are stored.

The app does not transcribe such a media itself (:func:`capture_running`, asked by
:func:`annotator.tui.launch.resolve_media`): two writers on one run would each undo the
other's work. Instead :class:`LiveFollow` looks at the workspace once a second and hands every
segment id that appeared or vanished (a provisional segment the live run replaced) to the
screen as the transcription worker's own :class:`~annotator.tui.transcription.Transcriber`
messages, so the screen updates the rows the same way, keeping the reviewer's cursor where
it is. It stops when the capture has ended and its run is finished.

While following, ``B`` ("bookmark now") inserts a one-second reviewer segment
``[bookmark]`` ending at the live time (how much of the stream has arrived), audited and
undoable like any inserted segment, so a moment is marked while the words for it are still
being transcribed. The key is bound on the app here (Textual's ``App.bind``) rather than in
:mod:`annotator.tui.bindings`, since it only exists while a capture is followed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annotator.core import captures
from annotator.core.store import Workspace
from annotator.tui.display import clock
from annotator.tui.transcription import Transcriber

#: How often (seconds) the workspace is looked at for new segments.
POLL_S = 1.0
#: The key that marks the live moment, and the text of the segment it inserts.
BOOKMARK_KEY = "B"
BOOKMARK_TEXT = "[bookmark]"


def capture_running(ws: Workspace, media_id: int) -> bool:
    """Is this media a live capture still being written (and transcribed elsewhere)?"""
    capture = captures.for_media(ws, media_id)
    return capture is not None and capture.status == "running"


def follow_live(host: Any, db_path: Path) -> str:
    """Start following if ``host`` (the review screen) shows a live capture; the progress
    line to show ("" when there is nothing to follow)."""
    session = getattr(host, "session", None)
    if session is None or not capture_running(session.ws, session.media_id):
        return ""
    LiveFollow(host, session.ws, session.media_id).start()
    return "live capture: new segments appear as they are transcribed"


class LiveFollow:
    """Polls the workspace for the segments of one media and tells the screen what changed."""

    def __init__(self, host: Any, ws: Workspace, media_id: int) -> None:
        self.host, self.ws, self.media_id = host, ws, media_id
        self.known = self._ids()
        self.timer: Any = None

    def start(self) -> None:
        self.host.post_message(Transcriber.Started(self.ws.media(self.media_id).duration_ms))
        self.timer = self.host.set_interval(POLL_S, self.poll)
        app = self.host.app
        app.action_live_bookmark = self.bookmark
        app.bind(BOOKMARK_KEY, "app.live_bookmark", description="Bookmark now")

    def bookmark(self) -> None:
        """Insert ``[bookmark]`` over the last second that has arrived (see the module doc)."""
        session = self.host.session
        if getattr(self.host.settings, "read_only", False):
            self.host.notify("Read-only: nothing is changed.", timeout=3, markup=False)
            return
        session.media = self.ws.media(self.media_id)  # the file has grown since it opened
        live_ms = session.media.duration_ms
        start = max(live_ms - 1000, 0)
        change = self.host.apply(lambda: session.insert_segment(start, live_ms, BOOKMARK_TEXT))
        if change is not None:
            self.host.notify(f"Bookmarked {clock(live_ms)}.", timeout=3, markup=False)

    def _ids(self) -> dict[int, tuple[Any, ...]]:
        """Every segment row of the media, by id (a row replaced under the same id, as SQLite
        may reuse the highest one, differs in its values)."""
        rows = self.ws.conn.execute(
            "SELECT id, end_ms, start_ms, machine_text, human_text, draft_id, state, tags, note,"
            " speaker_id FROM segment WHERE media_id=?", (self.media_id,)
        ).fetchall()
        return {int(r[0]): tuple(r) for r in rows}

    def poll(self) -> None:
        now = self._ids()
        for seg_id in sorted(now.keys() | self.known.keys()):
            if now.get(seg_id) != self.known.get(seg_id):
                end_ms = now[seg_id][1] if seg_id in now else 0
                self.host.post_message(Transcriber.SegmentAdded(seg_id, int(end_ms)))
        self.known = now
        if not capture_running(self.ws, self.media_id):
            run = self.ws.current_run(self.media_id)
            if run is not None or self.ws.unfinished_run(self.media_id) is None:
                self.host.post_message(Transcriber.Finished(len(now)))
                if self.timer is not None:
                    self.timer.stop()
