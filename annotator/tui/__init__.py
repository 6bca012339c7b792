"""The terminal review app (``annotator review``).

Start it with :func:`annotator.tui.launch.launch_review`; see :mod:`annotator.tui.app`.
"""
