"""The audit chain: every entry hashed and linked, machine work recorded, old workspaces
migrated with the chain starting at the upgrade and saying so."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

import pytest

from annotator.core import chain
from annotator.core.schema import APPLICATION_ID, MIGRATIONS
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.verify import check_chain

from .builders import add_media, add_transcript


def _rows(db: Path) -> list[dict[str, object]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY id")]
    finally:
        conn.close()


def test_a_new_workspace_starts_its_chain_and_links_every_entry(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        media = add_media(ws)
        add_transcript(ws, media)
        session = ReviewSession(ws, media.id, "alice")
        session.set_text(session.segments[0].id, "Step out of the car, now.")
        # People's entries only: machine records are not review work.
        assert [e["action"] for e in ws.audit(media.id)] == ["set_text"]
        assert ws.human_work_count(media.id) == 1
        head = chain.head(ws.conn)
    rows = _rows(db)
    assert rows[0]["action"] == chain.CHAIN_STARTED and rows[0]["prev_hash"] == chain.GENESIS
    actions = [r["action"] for r in rows]
    assert actions.count("machine.draft") == 6
    assert actions[1] == "machine.run" and "machine.run_outcome" in actions
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["hash"]
    assert head is not None and head.id == rows[-1]["id"] and head.sha256 == rows[-1]["hash"]
    draft = next(r for r in rows if r["action"] == "machine.draft")
    recorded = json.loads(str(draft["changes"]))
    with Workspace(db, read_only=True) as ws:
        assert recorded["sha256"] == chain.row_sha256(
            ws.conn, "draft_segment", chain.DRAFT_COLUMNS, recorded["id"]
        )
        assert all(f.ok for f in check_chain(ws.conn))


def _schema_3_workspace(db: Path) -> None:
    """A workspace as annotator left it before the chain: schema 3, with a run, two drafts
    and a reviewer's audit entry."""
    conn = sqlite3.connect(db, isolation_level=None)
    for migration in MIGRATIONS[:3]:
        for statement in migration:
            conn.execute(statement)
    conn.execute("PRAGMA user_version=3")
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.execute("INSERT INTO media(sha256, path, size, duration_ms, added_at) VALUES"
                 " (?, '/x/old.mp4', 10, 5000, '2025-01-01T00:00:00+00:00')", ("a" * 64,))
    conn.execute("INSERT INTO run(media_id, model_id, model_sha256, engine_versions, options,"
                 " created_at, status, finished_at) VALUES (1, 'tiny.en', ?, '{}', '{}',"
                 " '2025-01-01T00:00:00+00:00', 'done', '2025-01-01T00:01:00+00:00')",
                 ("b" * 64,))
    for i, text in enumerate(["Hello there.", "Stop right there."]):
        conn.execute("INSERT INTO draft_segment(run_id, idx, start_ms, end_ms, text, words,"
                     " avg_logprob, no_speech_prob, compression_ratio) VALUES"
                     " (1, ?, ?, ?, ?, '[]', -0.2, 0.01, 1.1)", (i, i * 1000, i * 1000 + 900, text))
    conn.execute("INSERT INTO audit(ts, reviewer, media_id, action, changes) VALUES"
                 " ('2025-01-02T00:00:00+00:00', 'carol', 1, 'set_text', '[]')")
    conn.close()


def test_an_old_workspace_is_migrated_and_its_chain_starts_at_the_upgrade(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.db"
    _schema_3_workspace(db)
    with Workspace(db) as ws:
        assert [e["reviewer"] for e in ws.audit(1)] == ["carol"]
        assert all(f.ok for f in check_chain(ws.conn)), check_chain(ws.conn)
    rows = _rows(db)
    start = rows[1]
    assert start["action"] == chain.CHAIN_STARTED and start["reviewer"] == "annotator"
    info = json.loads(str(start["changes"]))
    assert info["earlier_entries"] == 1 and info["drafts_before"] == 2
    assert "chain starts here" in info["note"]
    # The pre-chain entry is covered by the start's prev_hash, the old drafts and run by
    # machine entries written when the chain was sealed.
    assert start["prev_hash"] != chain.GENESIS
    assert [r["action"] for r in rows[2:]] == [
        "machine.run", "machine.run_outcome", "machine.draft", "machine.draft"
    ]
    conn = sqlite3.connect(db)
    conn.execute("UPDATE audit SET reviewer='dave' WHERE id=1")
    conn.commit()
    conn.close()
    with Workspace(db, read_only=True) as ws:
        (problem,) = check_chain(ws.conn)
    assert not problem.ok and "earlier entry (before the chain start)" in problem.detail


def test_an_upgrade_opened_read_only_reports_an_unsealed_start(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _schema_3_workspace(db)
    with Workspace(db, read_only=True) as ws:  # upgraded, but nothing can be written
        findings = check_chain(ws.conn)
    assert all(f.ok for f in findings)
    assert "not sealed yet" in findings[0].detail
    with Workspace(db) as ws:
        assert chain.seal(ws.conn) is False  # sealed once, by the writable open
        assert "entries from entry 2 hold" in check_chain(ws.conn)[0].detail


def test_a_discarded_run_and_a_dropped_draft_stay_accounted_for(tmp_path: Path) -> None:
    from annotator.core import runs

    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        media = add_media(ws)
        add_transcript(ws, media)
        run = ws.start_run(media.id, "test-model", "0" * 64, {}, {})
        ws.add_draft(run, 0, 0, 500, "Partial.", (), -0.1, 0.0, 1.0)
        second = ws.add_draft(run, 1, 600, 900, "Dropped.", (), -0.1, 0.0, 1.0)
        assert second.draft_id is not None
        runs.drop_draft(ws, second.draft_id)
        assert all(f.ok for f in check_chain(ws.conn)), check_chain(ws.conn)
        assert ws.discard_unfinished_runs(media.id) == 1
        assert all(f.ok for f in check_chain(ws.conn)), check_chain(ws.conn)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM draft_segment WHERE id=1")
    conn.commit()
    conn.close()
    with Workspace(db, read_only=True) as ws:
        problem = check_chain(ws.conn)[1]
    assert not problem.ok and problem.what == "draft segment 1" and "deleted" in problem.detail


def test_other_machine_rows_are_rechecked_from_what_their_entry_names(tmp_path: Path) -> None:
    """A machine-written row of another table (as a draft's machine translation is):
    recorded with record_row, rechecked by verify, allowed to go with its draft."""
    from annotator.core import runs

    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        media = add_media(ws)
        run = ws.start_run(media.id, "test-model", "0" * 64, {}, {})
        seg = ws.add_draft(run, 0, 0, 900, "Hola.", (), -0.1, 0.0, 1.0)
        kept = ws.add_draft(run, 1, 1000, 1900, "Alto.", (), -0.1, 0.0, 1.0)
        assert seg.draft_id is not None and kept.draft_id is not None
        ws.conn.execute("CREATE TABLE machine_gloss (draft_id INTEGER PRIMARY KEY, text TEXT)")
        with ws.transaction() as c:
            for draft_id, text in ((seg.draft_id, "Hello."), (kept.draft_id, "Stop.")):
                c.execute("INSERT INTO machine_gloss VALUES (?, ?)", (draft_id, text))
                chain.record_row(c, "machine_gloss", "draft_id", draft_id, ["text"], media.id)
        assert check_chain(ws.conn)[-1].detail == "2 rows match the chain"
        with pytest.raises(ValueError, match="not a plain SQL name"):
            chain.record_row(ws.conn, "machine_gloss; DROP TABLE run", "id", 1, ["text"])
        with ws.transaction() as c:  # the draft goes, and its gloss with it
            c.execute("DELETE FROM machine_gloss WHERE draft_id=?", (seg.draft_id,))
            runs.drop_draft(ws, seg.draft_id)
        assert all(f.ok for f in check_chain(ws.conn)), check_chain(ws.conn)
        ws.conn.execute("UPDATE machine_gloss SET text='Go.' WHERE draft_id=?", (kept.draft_id,))
        problem = check_chain(ws.conn)[-1]
    assert not problem.ok and problem.what == f"machine_gloss row draft_id={kept.draft_id}"
    assert "differs from the machine output hashed in audit entry" in problem.detail
