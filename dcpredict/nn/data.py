"""Classification data for the network experiments: digits, MNIST-1D, or the user's own arrays / Datasets.

Every loader returns an :class:`NNData`: float32 inputs ``(N, *shape)`` and int64 class labels ``0..C-1`` for
a training and a test set, a name, a description of where the data came from, and a fingerprint (SHA-256 of
the arrays) that the resumable log uses to refuse resuming on other data.  Nothing is downloaded:

* ``digits``: scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes), pixels / 16, shape
  ``(1, 8, 8)``; a seeded random split of ``n_train`` training images (default 300), the rest for testing.
* ``mnist1d``: MNIST-1D (Greydanus 2020), *generated locally* by the ``mnist1d`` package's generator with its
  default arguments (5000 signals of length 40, seed 42, split 4000 / 1000); its download path is never used.
  ``n_train`` (default 4000) takes the first ``n_train`` training signals.
* arrays: ``(X_train, y_train, X_test, y_test)``; torch ``Dataset`` pairs ``(train, test)`` whose items are
  ``(x, label)`` (materialised once into tensors; e.g. torchvision's CIFAR-10 with ``ToTensor()``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import DCPredictError, check_int

__all__ = ["NNData", "load_data", "DATASETS"]

DATASETS = ("digits", "mnist1d")


@dataclass
class NNData:
    """A classification data set split into training and test parts (numpy arrays)."""
    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: int
    description: str

    @property
    def n_train(self) -> int:
        return int(self.y_train.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.X_train.shape[1:])

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for a in (self.X_train, self.y_train, self.X_test, self.y_test):
            h.update(str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits: read its data file directly when it is where scikit-learn keeps it
    (importing scikit-learn costs about a second), else through ``sklearn.datasets.load_digits``."""
    import importlib.util
    import os
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise DCPredictError("dataset 'digits' needs scikit-learn: pip install scikit-learn")
    for root in spec.submodule_search_locations or []:
        path = os.path.join(root, "datasets", "data", "digits.csv.gz")
        if os.path.isfile(path):
            data = np.loadtxt(path, delimiter=",")
            if data.shape == (1797, 65):
                return data[:, :64].reshape(-1, 8, 8), data[:, 64].astype(np.int64)
    from sklearn.datasets import load_digits
    d = load_digits()
    return d.images, d.target.astype(np.int64)


def _digits(n_train: int | None, split_seed: int) -> NNData:
    images, y = _digits_arrays()
    X = (images / 16.0).astype(np.float32)[:, None, :, :]
    n = 300 if n_train is None else check_int("n_train", n_train, lo=10, hi=len(y) - 100)
    perm = np.random.default_rng(split_seed).permutation(len(y))
    tr, te = perm[:n], perm[n:]
    return NNData("digits", X[tr], y[tr], X[te], y[te], 10,
                  f"scikit-learn digits (8x8, pixels/16): {n} training images drawn at random (split seed "
                  f"{split_seed}), the other {len(te)} for testing")


_MNIST1D_CACHE: dict = {}


def _mnist1d(n_train: int | None) -> NNData:
    if "d" not in _MNIST1D_CACHE:
        try:
            from mnist1d.data import get_dataset_args, make_dataset
        except ImportError:
            raise DCPredictError("dataset 'mnist1d' needs the mnist1d package (its local generator): "
                                 "pip install mnist1d") from None
        state = np.random.get_state()  # the generator seeds numpy's global state; leave the caller's alone
        import random
        pystate = random.getstate()
        try:
            _MNIST1D_CACHE["d"] = make_dataset(get_dataset_args())
        finally:
            np.random.set_state(state)
            random.setstate(pystate)
    d = _MNIST1D_CACHE["d"]
    Xtr, ytr = np.asarray(d["x"], np.float32), np.asarray(d["y"], np.int64)
    n = len(ytr) if n_train is None else check_int("n_train", n_train, lo=10, hi=len(ytr))
    return NNData("mnist1d", Xtr[:n], ytr[:n], np.asarray(d["x_test"], np.float32),
                  np.asarray(d["y_test"], np.int64), 10,
                  f"MNIST-1D generated locally (mnist1d package defaults: length 40, seed 42): the first {n} "
                  f"of its 4000 training signals, its {len(d['y_test'])} test signals")


def _npz(path: str, n_train: int | None) -> NNData:
    import os
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("X_train", "y_train", "X_test", "y_test") if k not in z.files]
            if missing:
                raise DCPredictError(f"dataset {path!r} must hold the arrays X_train, y_train, X_test, y_test; "
                                     f"missing {', '.join(missing)}")
            arrays = tuple(z[k] for k in ("X_train", "y_train", "X_test", "y_test"))
    except (OSError, ValueError) as exc:
        if isinstance(exc, DCPredictError):
            raise
        raise DCPredictError(f"dataset {path!r} cannot be read as a .npz file: {exc}") from None
    D = load_data(arrays)
    if n_train is not None:
        n = check_int("n_train", n_train, lo=2, hi=D.n_train)
        D = NNData(D.name, D.X_train[:n], D.y_train[:n], D.X_test, D.y_test, D.classes, D.description)
    return NNData(os.path.basename(path), D.X_train, D.y_train, D.X_test, D.y_test, D.classes,
                  f"{path}: {D.n_train} training and {len(D.y_test)} test examples of shape {D.input_shape}, "
                  f"{D.classes} classes")


def _labels(name: str, y: Any) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.size == 0:
        raise DCPredictError(f"{name} must be a 1-d array of integer class labels; got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise DCPredictError(f"{name} must hold integer class labels 0..C-1; it has non-integer values")
    elif arr.dtype.kind not in "iu":
        raise DCPredictError(f"{name} must hold integer class labels 0..C-1; got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise DCPredictError(f"{name} must hold class labels 0..C-1; it has {int(arr.min())}")
    return arr


def _inputs(name: str, X: Any) -> np.ndarray:
    try:
        arr = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError):
        raise DCPredictError(f"{name} must be a numeric array (N, ...); got {type(X).__name__}") from None
    if arr.ndim < 2:
        raise DCPredictError(f"{name} must have shape (N, features...) ; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise DCPredictError(f"{name} must contain only finite numbers")
    return arr


def _materialise(name: str, ds: Any) -> tuple[np.ndarray, np.ndarray]:
    from ._torch import require_torch
    torch = require_torch()
    try:
        n = len(ds)
    except TypeError:
        raise DCPredictError(f"{name} must be a map-style torch Dataset (with __len__); got {type(ds).__name__}") from None
    if n == 0:
        raise DCPredictError(f"{name} is empty")
    xs, ys = [], []
    for i in range(n):
        item = ds[i]
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise DCPredictError(f"{name}[{i}] must be a pair (x, label); got {type(item).__name__}")
        x, lab = item
        xs.append(torch.as_tensor(x, dtype=torch.float32))
        ys.append(int(lab))
    return torch.stack(xs).numpy(), np.asarray(ys, dtype=np.int64)


def load_data(data: Any, *, n_train: int | None = None, split_seed: int = 0) -> NNData:
    """The data of an experiment.

    Parameters
    ----------
    data : str, tuple or NNData
        ``"digits"``, ``"mnist1d"``, the path of a ``.npz`` file holding ``X_train``, ``y_train``, ``X_test``,
        ``y_test`` (inputs ``(N, ...)``, integer labels), a tuple ``(X_train, y_train, X_test, y_test)`` of arrays, a pair
        ``(train_dataset, test_dataset)`` of map-style torch Datasets yielding ``(x, label)``, or an
        :class:`NNData`.
    n_train : int, optional
        Training examples taken (digits: default 300; mnist1d: default all 4000; a .npz: the first n_train);
        not for arrays or Datasets passed directly.
    split_seed : int
        Seed of the digits train/test split.

    Returns
    -------
    NNData
    """
    if isinstance(data, NNData):
        return data
    if isinstance(data, str):
        if data == "digits":
            return _digits(n_train, check_int("split_seed", split_seed, lo=0))
        if data == "mnist1d":
            return _mnist1d(n_train)
        if data.endswith(".npz"):
            return _npz(data, n_train)
        raise DCPredictError(f"dataset must be one of {', '.join(map(repr, DATASETS))} or a FILE.npz with X_train, "
                             f"y_train, X_test, y_test (or arrays / torch Datasets through the Python API); "
                             f"got {data!r}")
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 4):
        raise DCPredictError("data must be 'digits', 'mnist1d', (X_train, y_train, X_test, y_test) or "
                             f"(train_dataset, test_dataset); got {type(data).__name__}")
    if n_train is not None:
        raise DCPredictError("n_train applies to the built-in data sets only; subset your own data yourself")
    if len(data) == 2:
        Xtr, ytr = _materialise("train_dataset", data[0])
        Xte, yte = _materialise("test_dataset", data[1])
        name = type(data[0]).__name__
    else:
        Xtr, ytr, Xte, yte = (_inputs("X_train", data[0]), _labels("y_train", data[1]),
                              _inputs("X_test", data[2]), _labels("y_test", data[3]))
        name = "arrays"
    if Xtr.shape[0] != ytr.shape[0] or Xte.shape[0] != yte.shape[0]:
        raise DCPredictError(f"inputs and labels differ in length: {Xtr.shape[0]} vs {ytr.shape[0]} (train), "
                             f"{Xte.shape[0]} vs {yte.shape[0]} (test)")
    if Xtr.shape[1:] != Xte.shape[1:]:
        raise DCPredictError(f"train and test inputs differ in shape: {Xtr.shape[1:]} vs {Xte.shape[1:]}")
    classes = int(max(ytr.max(), yte.max())) + 1
    if classes < 2:
        raise DCPredictError("the labels must contain at least 2 classes")
    return NNData(name, Xtr, ytr, Xte, yte, classes,
                  f"user data ({name}): {len(ytr)} training and {len(yte)} test examples of shape {Xtr.shape[1:]}, "
                  f"{classes} classes")
