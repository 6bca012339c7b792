"""A waveform strip for the report, drawn from the recording itself (no external service).

The eye finds shouting, silence and overlapping talk in a waveform faster than in a table.
The audio is decoded with PyAV (already needed to read media), reduced to one peak per
column, and drawn as an inline SVG path, so the report stays one self-contained file that
prints. The segments' review states are drawn under it as a strip of coloured spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: Columns of the strip: fine enough for a page's width, small in the file.
COLUMNS = 600
_RATE = 8000


def peaks(path: Path, duration_ms: int, columns: int = COLUMNS) -> list[float] | None:
    """Peak amplitude (0..1) of each of ``columns`` equal stretches of the recording, or
    None when the file is absent or cannot be decoded (the report then says so)."""
    if not path.is_file() or duration_ms <= 0:
        return None
    import av  # lazy: only when a report is drawn
    import numpy as np

    out = np.zeros(columns, dtype=np.float32)
    per_column = max(duration_ms * _RATE / 1000 / columns, 1.0)
    position = 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=_RATE)
            for frame in container.decode(stream):
                for chunk in resampler.resample(frame):
                    samples = np.abs(chunk.to_ndarray().reshape(-1).astype(np.float32)) / 32768
                    index = ((position + np.arange(samples.size)) / per_column).astype(int)
                    keep = index < columns
                    np.maximum.at(out, index[keep], samples[keep])
                    position += samples.size
    except (IndexError, av.error.FFmpegError, OSError, ValueError):
        return None
    top = float(out.max())
    return [float(v) / top if top > 0 else 0.0 for v in out]


STATE_COLOURS = {
    "unreviewed": "#b0b0b0", "reviewed": "#4a90d9", "verified": "#2e7d32",
    "disputed": "#c62828",
}


def svg(
    values: Sequence[float] | None, spans: Sequence[tuple[int, int, str]], duration_ms: int,
) -> str:
    """The strip as inline SVG: the waveform (if any) above the segments' review states.
    ``spans`` are (start_ms, end_ms, state). Only numbers and fixed colours go in: no
    transcript text, so nothing here needs escaping."""
    width, wave_h, band_h = COLUMNS, 60, 12
    parts = [
        f'<svg class="strip" viewBox="0 0 {width} {wave_h + band_h + 2}" '
        'preserveAspectRatio="none" role="img" aria-label="waveform and review states">',
        f'<rect x="0" y="0" width="{width}" height="{wave_h}" fill="#f4f4f4"/>',
    ]
    if values:
        mid = wave_h / 2
        step = width / len(values)
        path = " ".join(
            f"M{i * step:.1f} {mid - v * mid:.1f}V{mid + v * mid:.1f}"
            for i, v in enumerate(values)
        )
        parts.append(f'<path d="{path}" stroke="#37474f" stroke-width="{step:.2f}"/>')
    if duration_ms > 0:
        for start, end, state in spans:
            x = start / duration_ms * width
            w = max((end - start) / duration_ms * width, 0.5)
            colour = STATE_COLOURS.get(state, "#888888")
            parts.append(
                f'<rect x="{x:.1f}" y="{wave_h + 2}" width="{w:.1f}" height="{band_h}" '
                f'fill="{colour}"/>'
            )
    parts.append("</svg>")
    return "".join(parts)
