"""Average-linkage agglomerative clustering in numpy, for the voice windows.

Why not scipy's ``linkage``: importing ``scipy.cluster`` pulls ``scipy.spatial`` and took
about a second of the suggestion pass on the shared machine, for a few hundred windows that
numpy merges in milliseconds. Same definition (UPGMA: the distance between two clusters is
the mean of their members' pairwise distances, updated by the Lance-Williams rule); each row
keeps its nearest neighbour so a merge costs O(n), and the whole run O(n^2) in practice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["average_linkage"]

Labels = np.ndarray[Any, np.dtype[np.int64]]


def average_linkage(distances: np.ndarray[Any, Any], *, clusters: int | None = None,
                    threshold: float | None = None) -> Labels:
    """Cluster labels (0..k-1, in order of first member) from a symmetric distance matrix:
    merge the two nearest clusters while there are more than ``clusters`` of them and
    (with ``threshold``) their distance is at most ``threshold``."""
    count = distances.shape[0]
    target = max(1, clusters or 1)
    d = np.array(distances, dtype=np.float64)
    np.fill_diagonal(d, np.inf)
    size = np.ones(count)
    owner = np.arange(count)
    nearest = d.argmin(axis=1) if count > 1 else np.zeros(count, dtype=np.int64)
    best = d[np.arange(count), nearest] if count > 1 else np.full(count, np.inf)
    alive = count
    while alive > target:
        i = int(best.argmin())
        j = int(nearest[i])
        if not np.isfinite(best[i]) or (threshold is not None and best[i] > threshold):
            break
        merged = (size[i] * d[i] + size[j] * d[j]) / (size[i] + size[j])
        d[i], d[:, i] = merged, merged
        d[i, i] = np.inf
        d[j], d[:, j] = np.inf, np.inf
        size[i] += size[j]
        owner[owner == j] = i
        best[j] = np.inf
        alive -= 1
        stale = np.flatnonzero((nearest == i) | (nearest == j))
        for k in (*stale, i):
            nearest[k] = d[k].argmin()
            best[k] = d[k, nearest[k]]
        closer = d[:, i] < best
        nearest[closer], best[closer] = i, d[closer, i]
    _, first = np.unique(owner, return_index=True)
    order = {int(owner[f]): n for n, f in enumerate(sorted(first))}
    return np.array([order[int(o)] for o in owner], dtype=np.int64)
