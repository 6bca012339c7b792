"""Listening: the playback controller of the review screen (mpv through
:class:`annotator.player.Player`).

:class:`Playback` is a plain object the screen owns; it never touches a widget. It posts its
news to the screen as messages (:class:`Playback.Off`, ``Ready``, ``Failed``, ``Position``,
``Playing``), and the screen decides what they mean on screen (the status bar clock, the table
following playback, notifications).

Threads: the player is started in a thread worker (loading a file can take a moment) and every
player command runs in a thread worker too, so a slow or dead mpv never freezes the screen.
The player calls back on its reader thread; that callback only posts :class:`Playback.Position`.

Without mpv the app works as before: :class:`Playback.Off` says how to install it and
:attr:`Playback.state` stays ``"none"`` (the screen disables the playback keys). A file whose
SHA-256 is not the recorded one (issue 10.1) is never played: :class:`Playback.Off` says so
and the state becomes ``FAILED``; the transcript stays reviewable. When mpv found
no audio device and fell back to silent output (``Player.silent``),
:meth:`Playback.silence_notice` says so once, unless the app asked for ``--ao=null`` itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import get_current_worker

from annotator.errors import AnnotatorError
from annotator.player import PlayerState

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from annotator.player import Player

#: No position report for this long means playback stopped (end of range, pause).
IDLE_AFTER_S = 0.6


class Playback:
    """Play the media being reviewed; see the module docstring. ``state`` is a
    :class:`~annotator.player.PlayerState` (``NONE`` while there is no player)."""

    class Off(Message):
        """There is no playback (no mpv, no media file): ``reason`` says why and what to do."""

        def __init__(self, title: str, reason: str, timeout: float = 10) -> None:
            super().__init__()
            self.title = title
            self.reason = reason
            self.timeout = timeout  # how long to show it

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

    class Playing(Message):
        """Playback started or stopped (no position for :data:`IDLE_AFTER_S`)."""

        def __init__(self, playing: bool) -> None:
            super().__init__()
            self.playing = playing

    def __init__(
        self, host: DOMNode, media_path: Path, *, video: bool = False,
        player_args: Sequence[str] = (), sha256: str | None = None,
    ) -> None:
        self.host = host
        self.media_path = media_path
        self.sha256 = sha256  # the recorded hash: another file is never played as this media
        self.video = video
        self.player_args = tuple(player_args)
        self.player: Player | None = None
        self.state = PlayerState.NONE
        self.playing = False
        self._last_position_at = 0.0
        self._silence_noted = False

    def start(self) -> None:
        """Start mpv in a thread worker, or post :class:`Playback.Off` saying why not."""
        from annotator import player as player_mod

        if player_mod.find_mpv() is None:
            self.host.post_message(Playback.Off("No player", (
                f"Audio playback is off: mpv was not found. To listen, "
                f"{player_mod.INSTALL_ADVICE}. Everything else works without it."), 15))
            if self.media_path.is_file():  # still say when it is another recording
                self.host.run_worker(self._same_recording, name="media check",
                                     group="player-start", thread=True, exit_on_error=False)
            return
        if not self.media_path.is_file():
            self.host.post_message(Playback.Off(
                "No media file", f"Audio playback is off: {self.media_path} is not there."))
            return
        self.state = PlayerState.STARTING
        self.host.run_worker(self._start_player, name="player", group="player-start",
                             exclusive=True, thread=True, exit_on_error=False)
        self.host.set_interval(0.3, self._check_idle)

    def _same_recording(self) -> bool:
        """Runs in a thread worker (hashing a long recording takes a while): is the file the
        recording that was transcribed? If not, post :class:`Playback.Off` saying so and
        refuse to play it (its words and times would be taken for this media's)."""
        from annotator.core.media import file_sha256

        if self.sha256 is None:
            return True
        try:
            found = file_sha256(self.media_path)
        except AnnotatorError:
            return True  # unreadable: the player says so when it tries
        if found == self.sha256:
            return True
        self.state = PlayerState.FAILED
        self.host.post_message(Playback.Off("Not the recording that was transcribed", (
            f"Playback is off: {self.media_path} is not the recording that was transcribed "
            f"(its SHA-256 is {found[:12]}…, recorded {self.sha256[:12]}…: edited, re-encoded "
            "or replaced), so it is not played as this media. If the original has moved, "
            "`annotator media relink MEDIA PATH` accepts it (same SHA-256 only); then open "
            "the review again. The transcript can still be reviewed."), 30))
        return False

    def _start_player(self) -> None:
        """Runs in a thread worker."""
        from annotator.player import Player

        if not self._same_recording():
            return
        player = Player(self.media_path, video=self.video, extra_args=self.player_args,
                        on_position=self._on_position)
        try:
            player.start()
        except AnnotatorError as exc:
            self.host.post_message(Playback.Failed(str(exc)))
            return
        if get_current_worker().is_cancelled:  # the app closed meanwhile
            player.close()
            return
        self.host.post_message(Playback.Ready(player))

    def _on_position(self, ms: int | None) -> None:
        """Runs on the player's reader thread: hand over and return at once."""
        if ms is not None:
            self._last_position_at = time.monotonic()
        self.host.post_message(Playback.Position(ms))

    def _check_idle(self) -> None:
        playing = time.monotonic() - self._last_position_at < IDLE_AFTER_S
        if playing != self.playing:
            self.playing = playing
            self.host.post_message(Playback.Playing(playing))

    # -- what the screen tells it ---------------------------------------------------------------

    def adopt(self, player: Player) -> None:
        """The started player (from :class:`Playback.Ready`)."""
        self.player = player
        self.state = PlayerState.READY

    def failed(self) -> None:
        """A command failed: the player is gone unless it still runs."""
        if self.player is None or not self.player.running:
            self.state = PlayerState.FAILED

    def silence_notice(self) -> str | None:
        """What to say, once, when mpv plays without an audio device."""
        player = self.player
        if (player is None or self._silence_noted or not player.silent
                or "--ao=null" in self.player_args):
            return None
        self._silence_noted = True
        message = "No audio device: playback is silent (check your sound setup)"
        reason = player.silent_reason
        return f"{message}\n{reason}" if reason else message

    # -- commands (each in a thread worker) --------------------------------------------------

    def play_range(self, start_ms: int, end_ms: int) -> None:
        self._do(lambda p: p.play_range(start_ms, end_ms), playing=True)

    def play_from(self, start_ms: int) -> None:
        self._do(lambda p: p.play_from(start_ms), playing=True)

    def toggle_pause(self) -> None:
        self._do(lambda p: p.toggle_pause())

    def seek(self, delta_ms: int) -> None:
        self._do(lambda p: p.seek_relative(delta_ms))

    def set_speed(self, speed: float) -> None:
        self._do(lambda p: p.set_speed(speed))

    def _do(self, command: Callable[[Player], object], *, playing: bool = False) -> None:
        player = self.player
        if player is None:
            return
        if playing and not self.playing:
            self.playing = True  # shown at once; the idle check turns it off again
            self.host.post_message(Playback.Playing(True))

        def run() -> None:
            try:
                command(player)
            except AnnotatorError as exc:
                self.host.post_message(Playback.Failed(str(exc)))

        self.host.run_worker(run, name="player command", group="player", thread=True,
                             exit_on_error=False)

    def close(self) -> None:
        player, self.player = self.player, None
        if player is not None:
            player.close()
