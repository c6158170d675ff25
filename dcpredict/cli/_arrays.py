"""Numbers from the command line: a comma list, or a file (.npy, .txt, .csv) named in its place.

``--lam``, ``--b``, ``--weights`` and ``--beta`` take a comma list ``1,0.5,0.25`` or a file whose name ends in
``.npy`` (a 1-D array, or 2-D with one row or one column), ``.txt`` (numbers separated by white space) or ``.csv``
(numbers separated by commas or new lines); ``--covariance`` takes a square matrix in the same formats (.txt: one
row per line).  A name with any other ending is read as a comma list.
"""
from __future__ import annotations

import numpy as np

from .._validate import DCPredictError

FILE_ENDINGS = (".npy", ".txt", ".csv")


def is_file_arg(text: str) -> bool:
    return str(text).strip().lower().endswith(FILE_ENDINGS)


def read_array(option: str, path: str, *, ndim: int) -> np.ndarray:
    """A finite float64 array of ``ndim`` dimensions from a .npy, .txt or .csv file; one-line errors."""
    p = str(path).strip()
    try:
        if p.lower().endswith(".npy"):
            arr = np.load(p, allow_pickle=False)
        else:
            delim = "," if p.lower().endswith(".csv") else None
            arr = np.loadtxt(p, delimiter=delim, dtype=np.float64, ndmin=2)
    except OSError as exc:
        raise DCPredictError(f"{option} {p}: cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        msg = " ".join(str(exc).split())
        raise DCPredictError(f"{option} {p}: not a file of numbers ({msg[:160]})") from None
    if arr.dtype.kind not in "iuf":
        raise DCPredictError(f"{option} {p}: holds {arr.dtype} values, not real numbers")
    arr = np.asarray(arr, dtype=np.float64)
    if ndim == 1:
        if arr.ndim == 2 and 1 in arr.shape:
            arr = arr.ravel()
        if arr.ndim != 1:
            raise DCPredictError(f"{option} {p}: must hold a vector (one row or one column); got shape {arr.shape}")
    elif arr.ndim != ndim:
        raise DCPredictError(f"{option} {p}: must hold a {ndim}-D array; got shape {arr.shape}")
    if arr.size == 0:
        raise DCPredictError(f"{option} {p}: holds no numbers")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(v[0]) for v in np.nonzero(bad))
        pos = f"entry {where[0]}" if ndim == 1 else f"row {where[0]}, column {where[1]}"
        raise DCPredictError(f"{option} {p}: must contain only finite numbers; {pos} is {float(arr[where])!r}")
    return arr


def vector_arg(option: str, text: str) -> list[float] | np.ndarray:
    """A comma list or a file (see the module docstring)."""
    if is_file_arg(text):
        return read_array(option, text, ndim=1)
    from ._common import float_list
    return float_list(option, text)


def matrix_arg(option: str, text: str) -> np.ndarray:
    if not is_file_arg(text):
        raise DCPredictError(f"{option} must name a file ending in {', '.join(FILE_ENDINGS)} holding a square "
                             f"matrix; got {text!r}")
    return read_array(option, text, ndim=2)
