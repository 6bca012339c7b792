"""The core: domain model, workspace, codebook and review logic.

Nothing under ``annotator.core`` imports Textual or the speech engine; the CLI, the TUI and the
tests all drive the same functions here.
"""
