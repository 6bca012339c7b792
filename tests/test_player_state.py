"""The player's state is one enum (issue 7.5), driven by the real mpv."""

from __future__ import annotations

import os
import signal
import wave
from pathlib import Path

import pytest

from annotator.errors import AnnotatorError
from annotator.player import Player, PlayerState

from support import require_tool

NULL_OUTPUT = ("--no-config", "--ao=null", "--vo=null")


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "quiet.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 16000)
    return path


def _need_mpv() -> None:
    require_tool("mpv")  # skips locally, fails under CI


def test_states_compare_equal_to_their_old_names() -> None:
    assert [str(s) for s in PlayerState] == ["none", "starting", "ready", "failed"]
    assert PlayerState.READY == "ready"


def test_ready_then_none_after_close(wav: Path) -> None:
    _need_mpv()
    player = Player(wav, extra_args=NULL_OUTPUT)
    assert player.state is PlayerState.NONE
    player.start()
    try:
        assert player.state is PlayerState.READY and player.failure is None
    finally:
        player.close()
    assert player.state is PlayerState.NONE


def test_failed_when_mpv_dies(wav: Path) -> None:
    _need_mpv()
    with Player(wav, extra_args=NULL_OUTPUT) as player:
        assert player.pid is not None
        os.kill(player.pid, signal.SIGKILL)
        with pytest.raises(AnnotatorError):  # a command finds it dead
            while True:
                player.position_ms()
        assert player.state is PlayerState.FAILED and player.failure


def test_failed_when_mpv_cannot_start(wav: Path) -> None:
    player = Player(wav, mpv="/nonexistent/mpv")
    with pytest.raises(AnnotatorError):
        player.start()
    assert player.state is PlayerState.FAILED
    assert player.failure is not None and "mpv" in player.failure
