"""Support selection shared by the simulators (private)."""
from __future__ import annotations

import numpy as np


def top_indices(score: np.ndarray, s: int) -> np.ndarray:
    """Sorted indices of the s largest entries of ``score`` (all of them if s >= size).

    Ties are broken by ``numpy.argpartition``: deterministic for given data, unspecified otherwise.
    """
    if s >= score.size:
        return np.arange(score.size)
    idx = np.argpartition(score, score.size - s)[score.size - s:]
    idx.sort()
    return idx
