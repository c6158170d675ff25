"""Random features of a dataset's inputs: phi(x) = act(W x) with a seeded Gaussian first layer.

The first layer is the one of :mod:`dcpredict.random_features` (the paper's Sec. 3.2):
``W = draw_first_layer(width, d, seed)``, rows drawn i.i.d. N(0, I_d) and normalized to unit length (uniform on
the sphere S^{d-1}), from ``numpy.random.default_rng(seed)``.  The scale: for inputs whose columns are
standardized (mean 0, variance 1, as :func:`dcpredict.data.datasets.load_dataset` returns them) the
pre-activation w.x of a row has mean 0 and, averaged over the draw of w, variance E||x||^2 / d = 1; a row of W
with i.i.d. N(0, 1/d) entries has the same average scale (and norm 1 + O(d^-1/2)).  There is no bias.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validate import DCPredictError, check_choice, check_int

__all__ = ["random_features", "ACTIVATIONS"]


def _erf(z: np.ndarray) -> np.ndarray:
    from scipy.special import erf
    return erf(z)


#: activation name -> function (vectorized, applied in place of the pre-activations)
ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "erf": _erf,
    "linear": lambda z: z,
    "abs": np.abs,
}


def check_inputs(name: str, X: Any) -> np.ndarray:
    """A 2-D finite float64 array (rows = examples); a one-line DCPredictError naming the first bad row and column."""
    try:
        A = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise DCPredictError(f"{name} must be a 2-D array of real numbers (rows = examples); got "
                             f"{type(X).__name__}") from None
    if A.ndim != 2 or A.shape[0] < 1 or A.shape[1] < 1:
        raise DCPredictError(f"{name} must be a 2-D array with at least one row and one column (rows = examples); "
                             f"got shape {A.shape}")
    bad = ~np.isfinite(A)
    if bad.any():
        i, j = (int(v[0]) for v in np.nonzero(bad))
        raise DCPredictError(f"{name} must contain only finite numbers; row {i}, column {j} is {float(A[i, j])!r}")
    return A


def random_features(X: Any, width: int, *, activation: str = "relu", seed: int = 0) -> np.ndarray:
    """Random features act(W x) of the rows x of ``X``.

    Parameters
    ----------
    X : array_like, shape (N, d)
        Inputs, one example per row (finite).  Standardized columns give pre-activations of unit scale
        (module docstring).
    width : int
        Number of features P >= 1 (rows of W).
    activation : {"relu", "tanh", "erf", "linear", "abs"}
        The nonlinearity: ``max(z, 0)``, ``tanh(z)``, the error function ``erf(z)``, ``z``, ``abs(z)``.
    seed : int
        Seed of the first layer: ``W = dcpredict.random_features.draw_first_layer(width, d, seed)`` (rows
        uniform on the unit sphere).  The same seed and d give the same W, whatever N.

    Returns
    -------
    numpy.ndarray, shape (N, width)
        ``act(X @ W.T)``, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from dcpredict.data.features import random_features
    >>> F = random_features(np.eye(3), 5, seed=1)
    >>> F.shape
    (3, 5)
    """
    A = check_inputs("X", X)
    width = check_int("width", width, lo=1, hi=10_000_000)
    check_choice("activation", activation, tuple(ACTIVATIONS))
    seed = check_int("seed", seed, lo=0)
    from .._limits import check_memory
    N, d = A.shape
    check_memory("these random features", 8.0 * (N * width + width * d + N * d),
                 detail=f" ({N} rows x {width} features)")
    from ..random_features import draw_first_layer
    W = draw_first_layer(width, d, seed)
    Z = A @ W.T
    return np.ascontiguousarray(ACTIVATIONS[activation](Z), dtype=np.float64)
