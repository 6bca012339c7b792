"""The transcription stage: the only package that imports the speech engine (faster-whisper).

Import :mod:`annotator.transcribe.pipeline` or :mod:`annotator.transcribe.engine` only when
transcription is about to happen; this ``__init__`` imports nothing heavy.
"""
