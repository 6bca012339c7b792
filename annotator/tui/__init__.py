"""The terminal review app (``annotator review``).

Start it with :func:`annotator.tui.launch.launch_review`. The parts:

- :mod:`~annotator.tui.app`: a thin ``App`` (stylesheet ``app.tcss``, settings, key map,
  help, quit) around one :class:`~annotator.tui.screens.review.ReviewScreen`;
- :mod:`~annotator.tui.screens.review`: the screen that owns the widgets and the
  :class:`~annotator.core.session.ReviewSession`, maps keys to session operations and
  repaints from each :class:`~annotator.core.edits.Change`;
- controllers, plain objects that run thread workers and post messages to the screen:
  :mod:`~annotator.tui.playback`, :mod:`~annotator.tui.transcription`,
  :mod:`~annotator.tui.exporting`, and :mod:`~annotator.tui.gaps` (re-transcribing a
  speech gap); the filter view's questions in :mod:`~annotator.tui.filtering`; the offers of
  a chord or picker in :mod:`~annotator.tui.choices`; speech gaps as table rows and the run's
  warnings in :mod:`~annotator.tui.gapview`; suggestions drawn in place, event rows and the
  keys that decide them in :mod:`~annotator.tui.hints` and :mod:`~annotator.tui.inplace`
  (the queue screen and the detector worker in :mod:`~annotator.tui.suggestions`); search in
  :mod:`~annotator.tui.finding`, held-back segments in :mod:`~annotator.tui.heldback`;
- widgets (:mod:`~annotator.tui.widgets`: the segment table, the detail pane that also owns a
  chord's choices, the status bar) and dialogs (:mod:`~annotator.tui.screens`, all built on
  :class:`~annotator.tui.screens.dialog.Dialog`, which takes keys typed before it opened).
"""
