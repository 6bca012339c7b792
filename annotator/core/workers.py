"""Which worker decoded each piece of a run (``annotator transcribe --scheduler``, issue 11).

A run decoded on a Dask cluster may have its pieces decoded on several machines: the first on
one worker, the next on another after the first was lost, or a resumed run's last pieces by
a client started the next day. The run's identity (model, its hash, engine versions,
options) is hashed into the audit chain when it starts and cannot change after, so the
workers are kept beside it, one row per piece: the host, and a record of the process (pid,
Dask address, annotator and engine versions, seconds spent decoding). A piece decoded again
(a resumed run) names the worker of its last decode, the one whose segments are stored.

A run decoded in one process (no ``--scheduler``) has no rows: its machine is the one that
ran the command, and its engine versions are the run's.
"""

from __future__ import annotations

import json
from typing import Any

from annotator.core.store import Workspace


def record(ws: Workspace, run_id: int, piece: int, worker: dict[str, Any]) -> None:
    """Store the worker that decoded ``piece`` of run ``run_id`` (replacing an earlier
    decode of the same piece)."""
    host = str(worker.get("host") or "")
    rest = {k: v for k, v in worker.items() if k != "host"}
    with ws.transaction() as c:
        c.execute(
            "INSERT OR REPLACE INTO run_piece_worker(run_id, piece, host, record)"
            " VALUES (?,?,?,?)",
            (run_id, piece, host, json.dumps(rest, sort_keys=True, default=str)),
        )


def of_run(ws: Workspace, run_id: int) -> list[dict[str, Any]]:
    """Every piece's worker, in piece order: ``piece``, ``host`` and the rest of its
    record; empty for a run decoded in one process."""
    rows = ws.conn.execute(
        "SELECT piece, host, record FROM run_piece_worker WHERE run_id=? ORDER BY piece",
        (run_id,),
    )
    return [{"piece": int(r["piece"]), "host": r["host"], **json.loads(r["record"])}
            for r in rows]
