"""The workspace schema, as an ordered list of migrations, each a list of SQL statements.

``PRAGMA user_version`` holds how many of these have been applied. To change the schema,
append a migration; never edit one that has shipped, since existing workspaces (possibly
holding evidence) were built from it. Pending migrations are applied in one transaction
together with the new ``user_version`` (see :meth:`annotator.core.store.Workspace._migrate`),
so a crash mid-upgrade leaves the old schema, never a mixture. Statements are kept apart
(not one script split at ``;``) so that a statement may contain a semicolon in a string.

``PRAGMA application_id`` marks a file as an annotator workspace (:data:`APPLICATION_ID`), so
that another program's SQLite file is recognised and left untouched.
"""

from __future__ import annotations

#: "ANNO" in ASCII: written into the SQLite header of every workspace (from migration 3).
APPLICATION_ID = 0x414E4E4F


def _statements(script: str) -> list[str]:
    """The statements of a shipped migration written as one script (no ``;`` in strings)."""
    return [s.strip() for s in script.split(";") if s.strip()]


_SHIPPED: list[str] = [
    # 1: initial schema
    """
    CREATE TABLE media (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        streams TEXT NOT NULL DEFAULT '[]',
        added_at TEXT NOT NULL
    );
    CREATE TABLE run (
        id INTEGER PRIMARY KEY,
        media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
        model_id TEXT NOT NULL,
        model_sha256 TEXT NOT NULL,
        engine_versions TEXT NOT NULL,
        options TEXT NOT NULL,
        language TEXT NOT NULL DEFAULT '',
        language_probability REAL NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL DEFAULT 'running'
    );
    CREATE TABLE draft_segment (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        text TEXT NOT NULL,
        words TEXT NOT NULL,
        avg_logprob REAL NOT NULL,
        no_speech_prob REAL NOT NULL,
        compression_ratio REAL NOT NULL,
        UNIQUE (run_id, idx)
    );
    CREATE TABLE speaker (
        id INTEGER PRIMARY KEY,
        media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT '',
        agency TEXT NOT NULL DEFAULT '',
        UNIQUE (media_id, label)
    );
    CREATE TABLE segment (
        id INTEGER PRIMARY KEY,
        media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        machine_text TEXT NOT NULL,
        words TEXT NOT NULL DEFAULT '[]',
        human_text TEXT,
        draft_id INTEGER REFERENCES draft_segment(id) ON DELETE SET NULL,
        avg_logprob REAL,
        no_speech_prob REAL,
        compression_ratio REAL,
        speaker_id INTEGER REFERENCES speaker(id) ON DELETE SET NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL DEFAULT 'unreviewed',
        note TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX segment_media_start ON segment(media_id, start_ms, id);
    CREATE TABLE codebook (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (name, version, sha256)
    );
    CREATE TABLE codebook_entry (
        codebook_id INTEGER NOT NULL REFERENCES codebook(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        label TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        shortcut TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (codebook_id, key)
    );
    CREATE TABLE media_codebook (
        media_id INTEGER PRIMARY KEY REFERENCES media(id) ON DELETE CASCADE,
        codebook_id INTEGER NOT NULL REFERENCES codebook(id)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        media_id INTEGER REFERENCES media(id) ON DELETE CASCADE,
        action TEXT NOT NULL,
        changes TEXT NOT NULL
    );
    CREATE INDEX audit_media ON audit(media_id, id);
    """,
    # 2: machine segments held back as probable hallucinations (see SuppressedSegment)
    """
    CREATE TABLE suppressed_segment (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        text TEXT NOT NULL,
        words TEXT NOT NULL,
        avg_logprob REAL NOT NULL,
        no_speech_prob REAL NOT NULL,
        compression_ratio REAL NOT NULL,
        temperature REAL NOT NULL,
        reason TEXT NOT NULL,
        UNIQUE (run_id, start_ms, end_ms, text)
    );
    """,
]

MIGRATIONS: list[list[str]] = [
    *(_statements(script) for script in _SHIPPED),
    # 3: which process runs a run, how much audio it decoded, what it warned about, where to
    # resume it from, and speech heard but not written; the path as the user typed it.
    # A checkpoint is the decoder's state at the start of a piece (see
    # annotator.transcribe.engine): positions in samples (exact; the _ms columns are for
    # people), the prompt tokens (``context``) and the (end s, tokens) of segments the engine
    # wrote that the following pieces still look at (``carry``); once the piece is done, how
    # much speech a VAD heard in it and how much of that its segments cover (the gaps
    # themselves go to speech_gap).
    [
        "ALTER TABLE run ADD COLUMN owner TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE run ADD COLUMN heartbeat_at TEXT",
        "ALTER TABLE run ADD COLUMN decoded_ms INTEGER",
        "ALTER TABLE run ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE media ADD COLUMN typed_path TEXT NOT NULL DEFAULT ''",
        """CREATE TABLE run_checkpoint (
            run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
            piece INTEGER NOT NULL,
            restart_ms INTEGER NOT NULL,
            cut_ms INTEGER NOT NULL,
            first_index INTEGER NOT NULL,
            context TEXT NOT NULL,
            restart_sample INTEGER NOT NULL,
            cut_sample INTEGER NOT NULL,
            carry TEXT NOT NULL DEFAULT '[]',
            heard_ms INTEGER,
            written_ms INTEGER,
            PRIMARY KEY (run_id, piece)
        )""",
        """CREATE TABLE speech_gap (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            reason TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}',
            UNIQUE (run_id, start_ms, end_ms)
        )""",
        f"PRAGMA application_id={APPLICATION_ID}",
    ],
    # 4: the tamper-evident audit chain (annotator.core.chain): each entry's hash and its
    # predecessor's; the entry where the chain starts (sealed with its hash from Python at
    # the first writable open: SQL cannot hash), saying what existed before it; acquisition
    # facts per media (annotator.core.acquisition), one value per key, set by a person.
    [
        "ALTER TABLE audit ADD COLUMN prev_hash TEXT",
        "ALTER TABLE audit ADD COLUMN hash TEXT",
        """CREATE TABLE media_fact (
            media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            set_at TEXT NOT NULL,
            set_by TEXT NOT NULL,
            PRIMARY KEY (media_id, key)
        )""",
        """INSERT INTO audit(ts, reviewer, media_id, action, changes) VALUES (
            strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), 'annotator', NULL, 'chain.started',
            json_object(
                'note', 'the audit chain starts here; earlier entries are covered by the '
                        || 'prev_hash of this one (a digest of them), earlier runs and drafts '
                        || 'by the machine entries that follow it',
                'earlier_entries', (SELECT COUNT(*) FROM audit),
                'runs_before', (SELECT COALESCE(MAX(id), 0) FROM run),
                'drafts_before', (SELECT COALESCE(MAX(id), 0) FROM draft_segment)
            )
        )""",
    ],
    # 5: language is data (annotator.transcribe.routing): per machine-draft segment, the
    # language the detector heard, its probability and the model that wrote the text (an
    # English-only model and a multilingual one may share a run); machine translations beside
    # the original (never replacing it), and the reviewer's correction of a translation as
    # its own human layer. Kept in tables of their own so the draft rows (and their hashes in
    # the audit chain) stay as they are.
    [
        """CREATE TABLE draft_language (
            draft_id INTEGER PRIMARY KEY REFERENCES draft_segment(id) ON DELETE CASCADE,
            language TEXT NOT NULL,
            probability REAL,
            model_id TEXT NOT NULL
        )""",
        """CREATE TABLE draft_translation (
            draft_id INTEGER PRIMARY KEY REFERENCES draft_segment(id) ON DELETE CASCADE,
            language TEXT NOT NULL,
            text TEXT NOT NULL,
            model_id TEXT NOT NULL,
            model_sha256 TEXT NOT NULL
        )""",
        """CREATE TABLE segment_translation (
            segment_id INTEGER PRIMARY KEY REFERENCES segment(id) ON DELETE CASCADE,
            text TEXT NOT NULL
        )""",
    ],
    # 6: the suggestion layer (annotator.core.suggestions): what a detector or a codebook
    # rule proposes (speaker, tag, split, event, distrust), with its source and confidence,
    # and what a person decided (open, accepted, rejected; who, when, which audit entry).
    # Decided rows are kept so a re-run never proposes again what was rejected (``key``).
    # Events are sounds on the timeline (impact bursts) with their own review state and
    # tags; voices keep each media's voice embeddings for later cross-video suggestions.
    [
        """CREATE TABLE event (
            id INTEGER PRIMARY KEY,
            media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            count INTEGER NOT NULL DEFAULT 1,
            strength REAL NOT NULL DEFAULT 0,
            detail TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'unreviewed',
            tags TEXT NOT NULL DEFAULT '[]',
            note TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX event_media ON event(media_id, start_ms)",
        """CREATE TABLE suggestion (
            id INTEGER PRIMARY KEY,
            media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            segment_id INTEGER REFERENCES segment(id) ON DELETE SET NULL,
            event_id INTEGER REFERENCES event(id) ON DELETE SET NULL,
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            value TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}',
            source TEXT NOT NULL DEFAULT '{}',
            confidence REAL,
            status TEXT NOT NULL DEFAULT 'open',
            decided_by TEXT,
            decided_at TEXT,
            audit_id INTEGER,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX suggestion_media ON suggestion(media_id, status, kind)",
        "CREATE INDEX suggestion_key ON suggestion(media_id, key)",
        """CREATE TABLE voice (
            media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            centroid TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            PRIMARY KEY (media_id, label)
        )""",
    ],
    # 7: live captures (annotator.core.captures): a capture of a stream or growing file, its
    # pieces (byte ranges of the captured file, each hashed and chained to the one before,
    # with when it arrived, the stream's timestamps, the playlist's sequence number and the
    # HTTP headers kept) and the gaps (drops, reconnects) with their times.
    [
        """CREATE TABLE capture (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            path TEXT NOT NULL,
            media_id INTEGER REFERENCES media(id) ON DELETE SET NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            status TEXT NOT NULL DEFAULT 'running',
            sha256 TEXT,
            size INTEGER,
            note TEXT NOT NULL DEFAULT ''
        )""",
        """CREATE TABLE capture_piece (
            id INTEGER PRIMARY KEY,
            capture_id INTEGER NOT NULL REFERENCES capture(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            byte_offset INTEGER NOT NULL,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            chain_sha256 TEXT NOT NULL,
            arrived_at TEXT NOT NULL,
            arrived_s REAL NOT NULL,
            stream_start_ms INTEGER,
            stream_end_ms INTEGER,
            media_sequence INTEGER,
            uri TEXT,
            headers TEXT NOT NULL DEFAULT '{}',
            UNIQUE (capture_id, seq)
        )""",
        """CREATE TABLE capture_gap (
            id INTEGER PRIMARY KEY,
            capture_id INTEGER NOT NULL REFERENCES capture(id) ON DELETE CASCADE,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            after_seq INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            reason TEXT NOT NULL,
            missed TEXT NOT NULL DEFAULT '[]'
        )""",
    ],
    # 8: which worker decoded each piece of a run (annotator.core.workers): a cluster run's
    # pieces may be decoded on several machines, each with its host and versions.
    [
        """CREATE TABLE run_piece_worker (
            run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
            piece INTEGER NOT NULL,
            host TEXT NOT NULL,
            record TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (run_id, piece)
        )""",
    ],
    # 9: the languages a run has heard before each piece (annotator.transcribe.routing): JSON
    # [[language, ms of speech heard, a language of the run], ...], carried from piece to
    # piece so that short stretches of a later piece choose among them, and a resumed piece
    # routes as the clean run did.
    ["ALTER TABLE run_checkpoint ADD COLUMN languages TEXT NOT NULL DEFAULT '[]'"],
]
