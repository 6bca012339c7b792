"""Live capture (``annotator capture``): copy a stream or a growing file while it happens.

- :mod:`.capture`: the loop, Ctrl-C handling, the media record that follows the file;
- :mod:`.hls`, :mod:`.growing`, :mod:`.remux`: the sources (HLS fetched with urllib, a local
  file copied as it grows, anything else FFmpeg opens remuxed with PyAV);
- :mod:`.pieces`: appending, syncing, hashing and chaining each piece;
- :mod:`.link`: reconnecting with bounded backoff, recording every gap;
- :mod:`.follow`: transcribing the captured file a few seconds behind.

What is stored is in :mod:`annotator.core.captures`.
"""
