"""Real datasets that work offline, with regression labels: scikit-learn's digits and a generated MNIST-1D.

:func:`load_dataset` returns the inputs ``X`` (rows = examples), a float label ``y`` and a description that
states every choice made.  Nothing is downloaded:

* ``"digits"``: :func:`sklearn.datasets.load_digits` (bundled with scikit-learn): 1797 images of 8 x 8
  pixels (values 0..16).  The pixel columns that are constant over the 1797 images (columns 0, 32 and 39 of
  the 64 in scikit-learn 1.x: always 0) carry no information and are dropped; every other column is
  standardized to mean 0 and variance 1 over the 1797 rows (population standard deviation, ddof = 0).
* ``"mnist1d"``: MNIST-1D (Greydanus 2020), *generated* here with the ``mnist1d`` package's generator
  :func:`mnist1d.data.make_dataset` and the fixed arguments :data:`MNIST1D_ARGS` (the package's own
  defaults, seed 42): 5000 signals of length 40, 500 per digit, the generator's train (4000) and test
  (1000) rows concatenated in that order.  The package's download path (``get_dataset``, which fetches a
  pickle from GitHub and writes a file in the working directory) is never used.  The generator seeds
  numpy's and Python's *global* random state; :func:`load_dataset` saves both states and restores them, so
  loading MNIST-1D does not change the caller's random numbers.  Columns are standardized as for digits.

Tasks (the label, a float regression target, *not* centered: :class:`dcpredict.data.DataWorld` centers it):

* ``"value"``: the digit, 0.0 .. 9.0;
* ``"parity"``: 1.0 for an odd digit, 0.0 for an even one;
* ``"one-vs-rest:K"``: 1.0 for digit K (K = 0..9), 0.0 otherwise.

Both datasets need the optional extra ``real`` (``pip install 'dcpredict[real]'``: scikit-learn, mnist1d).
"""
from __future__ import annotations

import random as _random
from typing import Any

import numpy as np

from .._validate import DCPredictError

__all__ = ["load_dataset", "DATASETS", "TASKS", "MNIST1D_ARGS", "standardize_columns"]

#: dataset names :func:`load_dataset` knows
DATASETS = ("digits", "mnist1d")
#: task names (``one-vs-rest:K`` with an integer K = 0..9)
TASKS = ("value", "parity", "one-vs-rest:K")

#: The MNIST-1D generator arguments used here: the defaults of ``mnist1d.data.get_dataset_args()`` of mnist1d
#: 0.0.2 (written out, so a new package default cannot change the data silently).  ``url`` is not passed: the
#: generator never downloads.
MNIST1D_ARGS: dict[str, Any] = {
    "num_samples": 5000, "train_split": 0.8, "template_len": 12, "padding": [36, 60], "scale_coeff": 0.4,
    "max_translation": 48, "corr_noise_scale": 0.25, "iid_noise_scale": 2e-2, "shear_scale": 0.75,
    "shuffle_seq": False, "final_seq_length": 40, "seed": 42,
}

_EXTRA = "pip install 'dcpredict[real]'"


def _need(module: str, dataset: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DCPredictError(f"dataset {dataset!r} needs the package {module.split('.')[0]!r}, which is not "
                             f"installed ({exc}); install the extra: {_EXTRA}") from None


def standardize_columns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop the columns that are constant over the rows and standardize the others to mean 0, variance 1
    (population standard deviation, ddof = 0).  Returns (standardized X, indices of the columns kept)."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    # constant: every entry equal to the first (exact), or a spread at rounding level of the column's size
    scale = np.maximum(np.abs(X).max(axis=0), 1e-300)
    keep = np.flatnonzero(std > 1e-12 * scale)
    Z = (X[:, keep] - mean[keep]) / std[keep]
    return Z, keep


def _digits() -> tuple[np.ndarray, np.ndarray, str]:
    ds = _need("sklearn.datasets", "digits")
    X, y = ds.load_digits(return_X_y=True)
    Z, keep = standardize_columns(X)
    dropped = sorted(set(range(X.shape[1])) - set(keep.tolist()))
    desc = (f"digits (scikit-learn load_digits, bundled): {X.shape[0]} images of 8x8 pixels; "
            f"{len(dropped)} constant pixel columns dropped {dropped}, the other {keep.size} standardized to mean "
            f"0, variance 1 over the {X.shape[0]} rows")
    return Z, np.asarray(y, dtype=np.int64), desc


def _mnist1d() -> tuple[np.ndarray, np.ndarray, str]:
    data = _need("mnist1d.data", "mnist1d")
    utils = _need("mnist1d.utils", "mnist1d")
    np_state, py_state = np.random.get_state(), _random.getstate()
    try:
        d = data.make_dataset(utils.ObjectView(dict(MNIST1D_ARGS)))
    finally:
        np.random.set_state(np_state)
        _random.setstate(py_state)
    X = np.concatenate([np.asarray(d["x"], dtype=np.float64), np.asarray(d["x_test"], dtype=np.float64)])
    y = np.concatenate([np.asarray(d["y"]), np.asarray(d["y_test"])]).astype(np.int64)
    Z, keep = standardize_columns(X)
    a = MNIST1D_ARGS
    desc = (f"mnist1d (generated locally by mnist1d.data.make_dataset, never downloaded; num_samples="
            f"{a['num_samples']}, final_seq_length={a['final_seq_length']}, seed={a['seed']}, the package's other "
            f"default arguments): {X.shape[0]} signals of length {X.shape[1]} (train and test rows concatenated); "
            + (f"{X.shape[1] - keep.size} constant columns dropped, " if keep.size < X.shape[1] else "")
            + f"{keep.size} columns standardized to mean 0, variance 1 over the {X.shape[0]} rows")
    return Z, y, desc


def _task_label(task: Any, digit: np.ndarray) -> tuple[np.ndarray, str]:
    allowed = "value, parity or one-vs-rest:K with K = 0..9"
    if not isinstance(task, str):
        raise DCPredictError(f"task must be one of {allowed}; got {task!r}")
    if task == "value":
        return digit.astype(np.float64), "label: the digit value 0..9 (float, not centered)"
    if task == "parity":
        return (digit % 2).astype(np.float64), "label: parity, 1 for an odd digit, 0 for an even one (not centered)"
    head, sep, k = task.partition(":")
    if head == "one-vs-rest" and sep:
        try:
            K = int(k)
        except ValueError:
            K = -1
        if str(K) == k.strip() and 0 <= K <= 9:
            return ((digit == K).astype(np.float64),
                    f"label: one vs rest, 1 for the digit {K}, 0 otherwise (not centered)")
    raise DCPredictError(f"task must be one of {allowed}; got {task!r}")


def load_dataset(name: str, task: str) -> tuple[np.ndarray, np.ndarray, str]:
    """A real dataset that works offline, as inputs, a regression label and a description.

    Parameters
    ----------
    name : {"digits", "mnist1d"}
        The dataset (module docstring: what is loaded or generated, and how it is standardized).
    task : {"value", "parity", "one-vs-rest:K"}
        The label: the digit value, 1.0 for an odd digit (0.0 for even), or 1.0 for the digit K only.

    Returns
    -------
    X : numpy.ndarray, shape (N, d)
        Inputs, float64, constant columns dropped and the others standardized over the N rows.
    y : numpy.ndarray, shape (N,)
        The label, float64, not centered.
    description : str
        The dataset, the preprocessing and the label, in words.

    Raises
    ------
    DCPredictError
        An unknown dataset or task (the message lists the allowed ones), or the optional extra ``real``
        is not installed.

    Examples
    --------
    >>> from dcpredict.data.datasets import load_dataset     # doctest: +SKIP
    >>> X, y, text = load_dataset("digits", "parity")          # doctest: +SKIP
    >>> X.shape, y.mean()                                      # doctest: +SKIP
    ((1797, 61), 0.4924874791318865)
    """
    if name not in DATASETS:
        raise DCPredictError(f"dataset must be one of {', '.join(DATASETS)}; got {name!r}")
    # the task is checked before any loading (a typo costs nothing)
    _task_label(task, np.arange(10))
    X, digit, desc = _digits() if name == "digits" else _mnist1d()
    y, ydesc = _task_label(task, digit)
    return X, y, f"{desc}; {ydesc}"
