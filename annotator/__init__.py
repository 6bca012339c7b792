"""annotator: timed, reviewable, tagged transcripts of recorded livestreams and phone videos.

The package is split by concern so that each layer can be used without the ones above it:

- ``annotator.core``: domain model, SQLite workspace, codebook, review session (no UI, no engine);
- ``annotator.transcribe``: the only place the speech engine (faster-whisper) is imported;
- ``annotator.formats``: one module per export format behind a registry;
- ``annotator.tui``: the Textual review app;
- ``annotator.cli``: the ``annotator`` command.
"""

__version__ = "0.1.0"
