"""Staying connected: bounded exponential backoff, and every drop recorded as a gap.

A source calls :meth:`Link.failed` when it cannot read (the first failure opens a gap in the
workspace, later ones count attempts), and :meth:`Link.ok` when it reads again (the gap gets
its end time, and the playlist sequence numbers that were no longer offered). Waiting is cut
into short sleeps so a stop request (Ctrl-C) is honoured within a fraction of a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from annotator.core import captures
from annotator.core.store import Workspace

#: First wait after a failure, and the most any wait grows to (seconds).
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 8.0
#: Give up after this long without reading anything (seconds).
GIVE_UP_S = 60.0


class Link:
    """The connection state of one capture: backoff, gaps and the stop request."""

    def __init__(
        self, ws: Workspace, capture_id: int, stop: threading.Event, *,
        last_seq: Callable[[], int | None] = lambda: None,
        first_s: float = BACKOFF_FIRST_S, max_s: float = BACKOFF_MAX_S,
        give_up_s: float = GIVE_UP_S, say: Callable[[str], None] = lambda _m: None,
    ) -> None:
        self.ws, self.capture_id, self.stop = ws, capture_id, stop
        self.last_seq = last_seq
        self.first_s, self.max_s, self.give_up_s = first_s, max_s, give_up_s
        self.say = say
        self.gap: int | None = None
        self.failures = 0
        self.since = time.monotonic()  # the last time anything was read
        self.lost: str | None = None  # why the capture gave up, if it did

    def failed(self, reason: str) -> bool:
        """Record a failure and wait before the next attempt; False when the capture should
        end (stop requested, or nothing read for ``give_up_s``)."""
        if self.gap is None:
            self.gap = captures.open_gap(self.ws, self.capture_id, self.last_seq(), reason)
            self.say(f"source dropped ({reason}); reconnecting")
        else:
            captures.gap_attempt(self.ws, self.gap, reason)
        self.failures += 1
        if time.monotonic() - self.since > self.give_up_s:
            self.lost = f"nothing read for {self.give_up_s:g} s (last: {reason})"
            return False
        wait = min(self.max_s, self.first_s * 2 ** (self.failures - 1))
        return self.sleep(wait)

    def ok(self, missed: list[int] | None = None) -> None:
        """Something was read: close the open gap, if any."""
        self.since = time.monotonic()
        self.failures = 0
        if self.gap is not None:
            captures.close_gap(self.ws, self.gap, missed)
            self.say("reconnected" + (f"; {len(missed)} segments were no longer offered"
                                      if missed else ""))
            self.gap = None
        elif missed:  # the playlist moved on faster than it was read: a gap all the same
            gap = captures.open_gap(self.ws, self.capture_id, self.last_seq(),
                                    "segments left the playlist before they were read")
            captures.close_gap(self.ws, gap, missed)

    def idle_too_long(self) -> bool:
        """Nothing new for ``give_up_s``: the stream has ended without saying so."""
        if time.monotonic() - self.since > self.give_up_s:
            self.lost = f"nothing new for {self.give_up_s:g} s"
            return True
        return False

    def sleep(self, seconds: float) -> bool:
        """Wait, unless a stop is requested; False if it was."""
        return not self.stop.wait(max(seconds, 0.0))
