"""Listening: mpv through :class:`annotator.player.Player`, and the table following playback.

Threads: the player is started in a thread worker (loading a file can take a moment) and every
player command runs in a thread worker too, so a slow or dead mpv never freezes the screen.
The player calls ``on_position`` on its reader thread; that callback only posts
:class:`Playback.Position`, and the handler (on the event loop) moves the status bar clock
and, when the playing segment changes, the table's playing marker and cursor ("follow", ``L``
toggles it).

Without mpv the app works as before: playback keys are disabled and one notification says
how to install it. When mpv found no audio device and fell back to silent output
(``Player.silent``), one notification says so, unless the app asked for ``--ao=null`` itself.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from annotator.errors import AnnotatorError
from annotator.tui.base import ReviewBase
from annotator.tui.bindings import PLAYER_ACTIONS

if TYPE_CHECKING:
    from annotator.player import Player

#: No position report for this long means playback stopped (end of range, pause).
IDLE_AFTER_S = 0.6


class Playback:
    """Messages about the player (posted from worker and player threads)."""

    class Ready(Message):
        def __init__(self, player: Player) -> None:
            super().__init__()
            self.player = player

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class Position(Message):
        def __init__(self, ms: int | None) -> None:
            super().__init__()
            self.ms = ms


class PlaybackActions(ReviewBase):
    """Play, pause, seek, speed, and follow-along."""

    _last_position_at = 0.0
    _playing_id: int | None = None
    _silence_noted = False

    def start_player(self) -> None:
        from annotator import player as player_mod

        if player_mod.find_mpv() is None:
            self.player_state = "none"
            self.notify(
                f"Audio playback is off: mpv was not found. To listen, {player_mod.INSTALL_ADVICE}."
                " Everything else works without it.",
                title="No player", severity="warning", timeout=15, markup=False,
            )
            return
        if not self.media_path.is_file():
            self.player_state = "none"
            self.notify(f"Audio playback is off: {self.media_path} is not there.",
                        title="No media file", severity="warning", timeout=10, markup=False)
            return
        self.player_state = "starting"
        self._start_player()
        self.set_interval(0.3, self._check_idle)

    @work(thread=True, exclusive=True, group="player-start", exit_on_error=False)
    def _start_player(self) -> None:
        from annotator.player import Player

        player = Player(self.media_path, video=self.video, extra_args=self.player_args,
                        on_position=self._on_position)
        try:
            player.start()
        except AnnotatorError as exc:
            self.post_message(Playback.Failed(str(exc)))
            return
        if get_current_worker().is_cancelled:  # the app closed meanwhile
            player.close()
            return
        self.post_message(Playback.Ready(player))

    def _on_position(self, ms: int | None) -> None:
        """Runs on the player's reader thread: hand over and return at once."""
        self.post_message(Playback.Position(ms))

    def on_playback_ready(self, message: Playback.Ready) -> None:
        self.player = message.player
        self.player_state = "ready"
        self.refresh_bindings()
        self.note_silence(message.player)

    def note_silence(self, player: Player) -> None:
        """Say once that playback is silent when mpv fell back to no audio output."""
        # getattr: players without the attribute (older annotator.player) are never silent.
        if (self._silence_noted or not getattr(player, "silent", False)
                or "--ao=null" in self.player_args):
            return
        self._silence_noted = True
        message = "No audio device: playback is silent (check your sound setup)"
        reason = str(getattr(player, "silent_reason", "") or "")
        if reason:
            message += f"\n{reason}"
        self.notify(message, title="Player", severity="warning", timeout=10, markup=False)

    def on_playback_failed(self, message: Playback.Failed) -> None:
        self.status.playing = False
        if self.player is None or not self.player.running:
            self.player_state = "failed"
            self.refresh_bindings()
        self.notify(message.error, title="Player", severity="error", timeout=8, markup=False)

    def on_playback_position(self, message: Playback.Position) -> None:
        if message.ms is None:
            return
        self._last_position_at = time.monotonic()
        self.status.position_ms = message.ms
        self.follow_position(message.ms)

    def follow_position(self, ms: int) -> None:
        """Mark the segment playing at ``ms``; move the cursor there if following."""
        rows = self.table.rows
        i = bisect_right(rows, ms, key=lambda s: s.start_ms) - 1
        seg = rows[i] if i >= 0 and rows[i].end_ms > ms else None
        seg_id = seg.id if seg is not None else None
        if seg_id == self._playing_id:
            return
        self._playing_id = seg_id
        self.table.set_playing(seg_id)
        if seg is not None and self.follow and i != self.table.cursor:
            self.table.move_to(i)

    def _check_idle(self) -> None:
        playing = time.monotonic() - self._last_position_at < IDLE_AFTER_S
        if self.status.playing != playing:
            self.status.playing = playing

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in PLAYER_ACTIONS and self.player_state != "ready":
            return None  # shown dimmed, does nothing
        return True

    # -- commands -------------------------------------------------------------------------

    def player_do(self, command: Callable[[Player], object]) -> None:
        if self.player is not None:
            self._run_player(self.player, command)

    @work(thread=True, group="player", exit_on_error=False)
    def _run_player(self, player: Player, command: Callable[[Player], object]) -> None:
        try:
            command(player)
        except AnnotatorError as exc:
            self.post_message(Playback.Failed(str(exc)))

    def action_play_segment(self) -> None:
        seg = self.table.current
        if seg is not None:
            self.status.playing = True
            self.player_do(lambda p: p.play_range(seg.start_ms, seg.end_ms))

    def action_play_from_here(self) -> None:
        seg = self.table.current
        start = seg.start_ms if seg is not None else 0
        self.status.playing = True
        self.player_do(lambda p: p.play_from(start))

    def action_toggle_pause(self) -> None:
        self.player_do(lambda p: p.toggle_pause())

    def action_seek(self, delta_ms: int) -> None:
        self.player_do(lambda p: p.seek_relative(delta_ms))

    def action_speed(self, speed: float) -> None:
        self.status.speed = speed
        self.player_do(lambda p: p.set_speed(speed))

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.notify(f"Follow playback: {'on' if self.follow else 'off'}", timeout=2)

    def stop_player(self) -> None:
        player, self.player = self.player, None
        if player is not None:
            player.close()
