"""End to end, as a person works: the real ``annotator review`` command in a real terminal
(a private tmux server), keys typed with ``send-keys``, the screen read with ``capture-pane``;
then the workspace is reopened and ``annotator export`` run to check that every decision was
saved."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pysubs2
import pytest

from annotator.core.model import ReviewState
from annotator.core.store import Workspace

from support import DEMO

pytestmark = pytest.mark.tmux

EDITED = "Why did you pull me over?"


class Tmux:
    """One detached session on a private tmux server (its own socket, no user config)."""

    def __init__(self, tmp: Path, env: dict[str, str], width: int = 120,
                 height: int = 35) -> None:
        self.socket = f"annotator-e2e-{uuid.uuid4().hex[:12]}"
        self.conf = tmp / "tmux.conf"
        # Keep the pane (and its last screen) after the command exits.
        self.conf.write_text("set -g remain-on-exit on\n", encoding="utf-8")
        self.size = (width, height)
        # The server hands its environment to the app. Passed explicitly on purpose: pytest
        # imports readline, which puts COLUMNS=80 LINES=24 in the process environment behind
        # os.environ's back, and the app would take them for the terminal size.
        self.env = {k: v for k, v in os.environ.items()
                    if k not in {"COLUMNS", "LINES", "TMUX", "TMUX_PANE"}}
        self.env.update(env)
        self.socket_path: Path | None = None
        self.status_file: Path | None = None

    def tmux(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.conf), *args],
            capture_output=True, text=True, timeout=10, check=True, env=self.env,
        )
        return proc.stdout

    def start(self, command: list[str], cwd: Path) -> None:
        """Run ``command`` in the session; its exit status goes to a file (tmux 3.3 does not
        always notice that a pane's process ended, so ``#{pane_dead}`` can stay 0)."""
        width, height = self.size
        self.status_file = cwd / f"{self.socket}.status"
        script = f'"$@"; echo $? > {shlex.quote(str(self.status_file))}'
        self.tmux("new-session", "-d", "-s", "e2e", "-x", str(width), "-y", str(height),
                  "-c", str(cwd), "sh", "-c", script, "sh", *command)
        self.socket_path = Path(self.tmux("display-message", "-p", "#{socket_path}").strip())

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "e2e")

    def send(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", "e2e", *(["-l"] if literal else []), *keys)

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 10) -> str:
        """Poll the screen until ``check`` accepts it; fail showing the last screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; the screen shows:\n{screen}")
            time.sleep(0.1)

    def wait_for_text(self, text: str, timeout: float = 10) -> str:
        return self.wait_for(lambda screen: text in screen, repr(text), timeout)

    def exit_status(self, timeout: float = 10) -> int:
        """Wait for the command to end; its exit status."""
        assert self.status_file is not None
        deadline = time.monotonic() + timeout
        while not self.status_file.is_file() or not self.status_file.read_text().strip():
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not exit; the screen shows:\n{self.screen()}")
            time.sleep(0.1)
        return int(self.status_file.read_text())

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=10, check=False, env=self.env)
        if self.socket_path is not None:  # tmux may leave it behind
            self.socket_path.unlink(missing_ok=True)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    """A private tmux server whose programs use a private cache and no user keymap."""
    session = Tmux(tmp_path, {
        "ANNOTATOR_CACHE": str(tmp_path / "cache"),
        "ANNOTATOR_KEYMAP": str(tmp_path / "no-keymap.toml"),  # the user's keys stay out
    })
    try:
        yield session
    finally:
        session.kill()


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (read from /proc: no procps needed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def row_of(screen: str, text: str) -> str:
    """The table line showing ``text`` (empty if none)."""
    return next((line for line in screen.splitlines() if text in line), "")


@pytest.fixture
def review_db(transcribed_db: Path, tmp_path: Path) -> Path:
    """A private copy of the transcribed workspace, with demo.mp4 beside it."""
    with Workspace(transcribed_db) as src:  # everything in the main file, then copy it
        src.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db = tmp_path / "annotator.db"
    shutil.copy(transcribed_db, db)
    shutil.copy(DEMO, tmp_path / "demo.mp4")
    return db


def test_review_in_a_real_terminal(tmux: Tmux, review_db: Path, tmp_path: Path) -> None:
    db = review_db
    with Workspace(db) as ws:
        media_id = ws.find_media("demo.mp4").id
        before = ws.segments(media_id)
    first, edited = before[0], before[2]

    tmux.start([sys.executable, "-m", "annotator", "review", "demo.mp4", "--db", str(db),
                "--reviewer", "e2e"], cwd=tmp_path)
    total = len(before)
    shown = first.text[:30]  # what the text column shows at any width
    tmux.wait_for(lambda s: shown in s and f"reviewed 0/{total}" in s,
                  "the transcript", timeout=20)

    # Each step waits for what a person would see before the next key.
    def row_shows(label: str) -> Callable[[str], bool]:
        return lambda screen: label in row_of(screen, shown) and "press a key" not in screen

    for chord, choice, label in (("s", "o", "Officer"), ("a", "l", "Local police"),
                                 ("t", "v", "Verbal order")):
        tmux.send(chord)  # the choices replace the detail pane
        tmux.wait_for_text(f"{choice} {label}")
        tmux.send(choice)
        tmux.wait_for(row_shows(label), f"{label} in the first row")
    tmux.send("r")  # reviewed: the cursor moves to the next line
    screen = tmux.wait_for_text(f"reviewed 1/{total}")
    row = row_of(screen, shown)
    assert "Officer" in row and "Local police" in row and "Verbal order" in row, screen

    tmux.send("j", "e")  # down once more, edit the third line's text
    screen = tmux.wait_for_text("Enter: OK")
    assert f"machine: {edited.text}" in screen  # the dialog shows the draft being corrected
    # ctrl+u, the new words and Enter without waiting in between: the dialog applies keys in
    # the order typed, even those that arrive before it can take them.
    tmux.send("C-u")
    tmux.send(EDITED, literal=True)
    tmux.send("Enter")
    screen = tmux.wait_for(lambda s: "Enter: OK" not in s and EDITED in s, "the edited line")
    assert f"machine: {edited.text[:30]}" in screen  # the detail pane shows the draft too
    assert f"reviewed 1/{total}" in screen and "e2e" in screen and "saved" in screen

    tmux.send("q")
    assert tmux.exit_status() == 0, tmux.screen()

    with Workspace(db) as ws:
        tagged = ws.segment(first.id)
        assert tagged.speaker_id is not None and ws.speaker(tagged.speaker_id).label == "Officer"
        assert tagged.tags == ("local_police", "verbal_order")
        assert tagged.state is ReviewState.REVIEWED
        changed = ws.segment(edited.id)
        assert changed.human_text == EDITED
        assert changed.machine_text == edited.machine_text
        assert changed.state is ReviewState.UNREVIEWED

    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, "-m", "annotator", "export", "demo.mp4", "--format", "srt",
         "--out", str(out), "--db", str(db)],
        cwd=tmp_path, env=tmux.env, capture_output=True, text=True, timeout=60, check=True,
    )
    (srt,) = out.glob("*.srt")
    cues = pysubs2.load(str(srt))
    assert cues[0].plaintext == f"Officer: {first.text}"
    assert cues[2].plaintext == EDITED


def test_kill_9_loses_nothing_shown_as_saved(
    tmux: Tmux, review_db: Path, tmp_path: Path
) -> None:
    """Tag a line, see "saved", then SIGKILL the app: the tag is in the workspace."""
    db = review_db
    with Workspace(db) as ws:
        first = ws.segments(ws.find_media("demo.mp4").id)[0]

    tmux.start([sys.executable, "-m", "annotator", "review", "demo.mp4", "--db", str(db),
                "--reviewer", "e2e"], cwd=tmp_path)
    shown = first.text[:30]
    tmux.wait_for(lambda s: shown in s and "reviewed 0/" in s, "the transcript", timeout=20)
    assert "saved" not in tmux.screen()
    tmux.send("t")
    tmux.wait_for_text("v Verbal order")
    tmux.send("v")
    tmux.wait_for(lambda s: "Verbal order" in row_of(s, shown) and "saved" in s, "saved")

    shell = int(tmux.tmux("display-message", "-p", "-t", "e2e", "#{pane_pid}").strip())
    (app_pid,) = children_of(shell)
    os.kill(app_pid, 9)
    assert tmux.exit_status() == 128 + 9

    with Workspace(db) as ws:
        assert ws.segment(first.id).tags == ("verbal_order",)
        (entry,) = ws.audit(ws.find_media("demo.mp4").id)
        assert entry["reviewer"] == "e2e"
