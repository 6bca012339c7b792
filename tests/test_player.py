"""The mpv controller against the real mpv (``--ao=null --vo=null``, which plays in real time).

No sound device is needed, nor used: the "no audio device" tests give mpv an output that cannot
open anywhere (the ``pcm`` output writing into a missing directory, a nonexistent ALSA device).

The media is a 4 s sine WAV written with the standard library. Tests needing mpv skip, saying
why, when it is not installed; the "unavailable" tests run everywhere. Ranges stay clear of the
file's last ~0.6 s: with ``--ao=null`` mpv reaches end of file as soon as that tail is decoded.
"""

from __future__ import annotations

import array
import math
import os
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from annotator.errors import AnnotatorError, MediaError
from annotator.player import Player, PlayerError, PlayerUnavailable, find_mpv

NULL_OUTPUT = ("--no-config", "--ao=null", "--vo=null")  # silent, and the user's config kept out


@pytest.fixture
def sine_wav(tmp_path: Path) -> Path:
    """4 s of a 440 Hz sine, 8 kHz mono 16-bit."""
    rate, seconds = 8000, 4
    samples = array.array(
        "h", (int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(rate * seconds))
    )
    path = tmp_path / "sine.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


@pytest.fixture
def positions() -> list[int | None]:
    return []


@pytest.fixture
def player(sine_wav: Path, positions: list[int | None]) -> Iterator[Player]:
    with Player(sine_wav, extra_args=NULL_OUTPUT, on_position=positions.append) as player:
        yield player


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> float:
    """Poll ``condition`` every 10 ms; return the seconds it took to hold."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "condition not met in time"
        time.sleep(0.01)
    return time.monotonic() - start


def position(player: Player) -> int:
    ms = player.position_ms()
    assert ms is not None
    return ms


# -- without mpv ---------------------------------------------------------------------------


def test_missing_mpv_says_how_to_install(
    sine_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")
    assert find_mpv() is None
    with pytest.raises(PlayerUnavailable) as caught:
        Player(sine_wav).start()
    assert isinstance(caught.value, AnnotatorError)
    assert caught.value.mpv is None
    assert "apt-get install mpv" in str(caught.value)
    assert "brew install mpv" in str(caught.value)


def test_bogus_mpv_path_is_unavailable(sine_wav: Path, tmp_path: Path) -> None:
    bogus = str(tmp_path / "no-such-mpv")
    with pytest.raises(PlayerUnavailable, match="apt-get install mpv") as caught:
        Player(sine_wav, mpv=bogus).start()
    assert caught.value.mpv == bogus


def test_commands_need_a_started_player(sine_wav: Path) -> None:
    player = Player(sine_wav)
    with pytest.raises(PlayerError, match="not started"):
        player.pause()
    with pytest.raises(ValueError):
        player.play_range(1000, 1000)
    player.close()  # harmless before start()


def test_player_module_does_not_import_textual() -> None:
    code = "import sys, annotator.player; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- with the real mpv ---------------------------------------------------------------------


@pytest.mark.mpv  # tests/conftest.py: skips without mpv locally, fails under CI
class TestWithMpv:
    def test_starts_paused_at_the_beginning(self, player: Player) -> None:
        assert player.running
        assert player.is_paused()
        assert position(player) == 0
        assert player.get_property("duration") == pytest.approx(4.0, abs=0.01)
        assert player.silent  # asked for: --ao=null
        assert "--ao=null" in player.silent_reason

    @pytest.mark.parametrize(
        ("unopenable", "reason"),
        [
            pytest.param(("--ao=pcm", "--ao-pcm-file={missing}/out.wav"), "[ao/pcm]", id="pcm"),
            pytest.param(
                ("--ao=alsa", "--audio-device=alsa/nonexistent-device"), "[ao/alsa]", id="alsa",
                marks=pytest.mark.skipif(sys.platform != "linux", reason="ALSA is Linux only"),
            ),
        ],
    )
    def test_no_audio_device_plays_silently(
        self, sine_wav: Path, tmp_path: Path, unopenable: tuple[str, ...], reason: str
    ) -> None:
        missing = tmp_path / "missing"
        args = ("--no-config", "--vo=null", *(a.format(missing=missing) for a in unopenable))
        with Player(sine_wav, extra_args=args) as player:
            assert player.silent
            assert reason in player.silent_reason
            assert player.get_property("current-ao") == "null"
            player.play_range(1000, 1400)  # plays in real time, and stops at the end
            elapsed = wait_for(player.is_paused)
            assert elapsed == pytest.approx(0.4, abs=0.2)
            assert position(player) == pytest.approx(1400, abs=100)
            player.seek_relative(500)
            with pytest.raises(PlayerError) as caught:  # failures quote mpv's recent lines
                player.get_property("no-such-property")
            assert reason in str(caught.value)
        assert not missing.exists()

    def test_a_working_audio_output_is_not_silent(self, sine_wav: Path, tmp_path: Path) -> None:
        pcm = tmp_path / "out.wav"  # mpv's file "device" opens anywhere (and plays unpaced)
        args = ("--no-config", "--vo=null", "--ao=pcm", f"--ao-pcm-file={pcm}")
        with Player(sine_wav, extra_args=args) as player:
            assert not player.silent
            assert player.silent_reason == ""
            assert player.get_property("current-ao") == "pcm"

    def test_play_range_pauses_at_its_end(
        self, player: Player, positions: list[int | None]
    ) -> None:
        positions.clear()
        player.play_range(1000, 1600)
        elapsed = wait_for(player.is_paused)
        assert elapsed == pytest.approx(0.6, abs=0.3)
        assert position(player) == pytest.approx(1600, abs=100)
        seen = [ms for ms in positions if ms is not None and ms >= 1000]  # 0: from the load
        assert seen and seen[0] < 1200 and seen[-1] <= 1700
        time.sleep(0.3)  # it stays paused
        assert player.is_paused()
        assert position(player) == pytest.approx(1600, abs=100)

    def test_play_range_at_speed_and_after_a_pause(self, player: Player) -> None:
        player.set_speed(1.5)
        player.play_range(500, 1700)  # 0.8 s of wall-clock time at 1.5x
        time.sleep(0.2)
        player.pause()
        wait_for(player.is_paused)
        time.sleep(0.1)  # a position mpv sent before it paused may still be on its way
        paused_at = position(player)
        time.sleep(0.3)
        assert position(player) == paused_at
        assert player.toggle_pause() is False  # resumes, and still stops at the range end
        wait_for(player.is_paused)
        assert position(player) == pytest.approx(1700, abs=150)

    def test_play_range_while_playing_past_its_end(self, player: Player) -> None:
        player.play_from(3000)
        time.sleep(0.1)  # positions past the new range's end are in flight
        player.play_range(1000, 1400)
        elapsed = wait_for(player.is_paused)
        assert elapsed == pytest.approx(0.4, abs=0.2)
        assert position(player) == pytest.approx(1400, abs=100)

    def test_on_position_cannot_deadlock_the_reader(self, sine_wav: Path) -> None:
        errors: list[Exception] = []

        def on_position(ms: int | None) -> None:
            try:
                own.is_paused()
            except PlayerError as exc:
                errors.append(exc)

        with Player(sine_wav, extra_args=NULL_OUTPUT, on_position=on_position) as own:
            own.play_from(0)
            wait_for(lambda: bool(errors))
            assert "on_position callback" in str(errors[0])
            assert own.position_ms() is not None  # the reader still answers

    def test_play_from_advances(self, player: Player) -> None:
        player.play_from(2000)
        time.sleep(0.5)
        assert not player.is_paused()
        assert 2200 <= position(player) <= 2900

    def test_seek_relative(self, player: Player) -> None:
        player.seek_relative(2500)
        wait_for(lambda: position(player) == pytest.approx(2500, abs=50))
        player.seek_relative(-2000)
        wait_for(lambda: position(player) == pytest.approx(500, abs=50))
        assert player.is_paused()  # seeking does not start playback

    def test_set_speed_reaches_mpv(self, player: Player) -> None:
        for speed in (0.75, 1.5, 1.0):
            player.set_speed(speed)
            assert player.get_property("speed") == pytest.approx(speed)
        with pytest.raises(ValueError):
            player.set_speed(0)

    def test_pause_and_toggle(self, player: Player) -> None:
        player.play_from(0)
        assert not player.is_paused()
        player.pause()
        assert player.is_paused()
        assert player.toggle_pause() is False
        assert not player.is_paused()
        assert player.toggle_pause() is True
        assert player.is_paused()

    def test_close_reaps_mpv_and_its_temp_dir(self, sine_wav: Path) -> None:
        with Player(sine_wav, extra_args=NULL_OUTPUT) as player:
            pid, tmp = player.pid, player._dir
            assert pid is not None and tmp is not None and tmp.is_dir()
        assert player._proc is not None and player._proc.poll() is not None
        with pytest.raises(ProcessLookupError):  # gone, not a zombie: it was waited for
            os.kill(pid, 0)
        assert not tmp.exists()
        assert not player.running
        with pytest.raises(PlayerError, match="closed"):
            player.pause()
        player.close()  # twice is fine

    def test_mpv_dying_is_reported(self, player: Player, positions: list[int | None]) -> None:
        player.play_from(0)
        assert player.pid is not None
        os.kill(player.pid, signal.SIGKILL)
        wait_for(lambda: not player.running)
        seen = len(positions)
        with pytest.raises(PlayerError, match="exited with code -9"):
            player.position_ms()
        time.sleep(0.2)
        assert len(positions) == seen  # callbacks stopped

    def test_missing_media_file(self, tmp_path: Path) -> None:
        with pytest.raises(MediaError, match="no such file"):
            Player(tmp_path / "missing.wav", extra_args=NULL_OUTPUT).start()

    def test_unplayable_media_file(self, tmp_path: Path) -> None:
        junk = tmp_path / "junk.wav"
        junk.write_bytes(b"this is not audio\n" * 10)
        player = Player(junk, extra_args=NULL_OUTPUT)
        with pytest.raises(MediaError, match="mpv cannot play it"):
            player.start()
        assert player._proc is not None and player._proc.poll() is not None

    def test_bad_option_shows_mpv_stderr(self, sine_wav: Path) -> None:
        player = Player(sine_wav, extra_args=(*NULL_OUTPUT, "--no-such-option=1"))
        with pytest.raises(PlayerError, match="no-such-option"):
            player.start()
