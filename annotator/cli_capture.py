"""``annotator capture``: the live-capture command (see :mod:`annotator.live`).

Kept apart from :mod:`annotator.cli` like :mod:`annotator.cli_record`; same conventions:
results on stdout, ``annotator: ...`` lines on stderr, exit 0 (captured to the end), 1 (the
source was lost, or the transcription failed), 2 (bad arguments), 130 (stopped with Ctrl-C:
everything captured so far is kept and hashed).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import click

from annotator.cli_record import db_option
from annotator.core.store import Workspace
from annotator.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK


def _say(message: str) -> None:
    click.echo(f"annotator: {message}", err=True)


@click.command("capture")
@click.argument("source")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("captures"), show_default=True,
              help="Folder for the captured file.")
@click.option("--name", default=None, metavar="STEM",
              help="Name of the captured file, without suffix (default: the source's name and "
                   "the UTC start time).")
@click.option("--via", type=click.Choice(["auto", "hls", "file", "remux", "relay"]),
              default="auto", show_default=True,
              help="How to read SOURCE: hls (http(s) .m3u8 fetched segment by segment, original "
                   "bytes kept), file (a local file still growing, copied as it grows), remux "
                   "(RTMP/RTSP or anything PyAV's FFmpeg opens, packets copied into MPEG-TS), "
                   "relay (DASH .mpd and srt://, which PyAV cannot open: the ffmpeg program "
                   "copies the packets into MPEG-TS).")
@click.option("--give-up", "give_up", type=click.FloatRange(1, 86400), default=60.0,
              show_default=True, metavar="SECONDS",
              help="End the capture after this long without reading anything (drops are "
                   "retried with backoff until then, each recorded as a gap).")
@click.option("--idle", type=click.FloatRange(0.5, 86400), default=10.0, show_default=True,
              metavar="SECONDS", help="A growing file that stops growing this long is finished.")
@click.option("--transcribe", is_flag=True,
              help="Transcribe the capture a few seconds behind, into the same workspace "
                   "(`annotator review FILE` shows the segments as they are stored).")
@click.option("--model", default=None, help="Model for --transcribe (default: the default).")
@click.option("--language", default=None, metavar="CODE",
              help="Language for --transcribe, when known (skips detection; faster).")
@click.option("--chunk-s", type=click.FloatRange(5, 3600), default=None, metavar="SECONDS",
              help="Piece length for --transcribe (default 10: a live transcript is decoded "
                   "again from the last cut as audio arrives, so shorter pieces keep it close "
                   "behind; `transcribe --chunk-s` gives the same transcript from the file).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@db_option
def capture_cmd(
    source: str, out: Path, name: str | None, via: str, give_up: float, idle: float,
    transcribe: bool, model: str | None, language: str | None, chunk_s: float | None,
    as_json: bool, db: Path,
) -> None:
    """Capture a live SOURCE (an HLS URL, RTMP/SRT/RTSP/DASH URL, or a growing file) into a
    file that plays at any moment, hashing every piece as it arrives (chained SHA-256), and
    optionally transcribe it a few seconds behind. Ctrl-C stops cleanly."""
    from annotator.live.capture import CaptureOptions, run_capture, sigint_stops

    options = CaptureOptions(out=out, name=name, give_up_s=give_up, idle_s=idle, via=via)
    stop = threading.Event()
    follower = None
    with Workspace(db) as ws, sigint_stops(stop, _say):
        if transcribe:
            from annotator.live.follow import Follower, live_options

            follower = Follower(db, live_options(model, chunk_s, language), say=_say)
            follower.start()
        try:
            result = run_capture(
                ws, source, options, stop, say=_say,
                on_piece=None if follower is None else follower.arrived,
                on_start=None if follower is None else follower.started,
            )
        finally:
            if follower is not None:
                follower.capture_done(ws)
        if follower is not None:
            follower.finish(stop)
    capture = result.capture
    summary = {
        "capture": capture.id, "status": capture.status, "file": capture.path,
        "sha256": capture.sha256, "size": capture.size, "pieces": result.pieces,
        "gaps": [g.to_dict() for g in result.gaps], "media_id": result.media_id,
        "notes": result.notes,
        "transcript": None if follower is None else follower.summary(),
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(f"{capture.path}: {capture.status}, {result.pieces} pieces, "
                   f"{capture.size} bytes, sha256 {capture.sha256}")
        for gap in result.gaps:
            click.echo(f"  gap from {gap.started_at} to {gap.ended_at or '(not reconnected)'}"
                       f" after piece {gap.after_seq}, {gap.attempts} attempts: {gap.reason}")
        if follower is not None:
            click.echo(f"  transcript: {follower.summary()}")
    for note in result.notes:
        _say(note)
    if result.lost:
        _say(f"source lost: {result.lost}")
    if result.interrupted:
        _say("interrupted; everything captured so far is kept and hashed")
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    failed = result.lost is not None and result.pieces == 0
    if follower is not None and follower.error is not None:
        _say(f"transcription failed: {follower.error}")
        failed = True
    raise click.exceptions.Exit(EXIT_FAILURE if failed else EXIT_OK)


COMMANDS: list[click.Command] = [capture_cmd]
