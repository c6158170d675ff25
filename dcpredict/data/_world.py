"""A user's dataset as the population: :class:`DataWorld` (its second moments, its equivalent linear Gaussian problem).

The population is the uniform law over the N rows of a dataset: features phi in R^P (the user's own features,
embeddings, or random features of raw inputs) and a scalar label y.  Features and labels are centred by their
population means (the fits have no intercept); nothing else is transformed.  The equivalent linear Gaussian
problem (the theory page, :ref:`theory-correlated`; the paper's Definition 2) is

* ``Sigma = Phi^T Phi / N`` (P x P, from the centred rows), ``c = Phi^T y / N``, ``m2 = mean(y^2)``;
* ``beta = Sigma^+ c``, the minimum-norm population least squares, from the eigendecomposition of Sigma with
  eigenvalues at or below ``P * eps * lambda_max`` treated as zero (the tolerance of
  :func:`dcpredict.correlated.spectrum`, so the theory sees the same rank);
* ``sigma2 = m2 - beta^T Sigma beta`` (>= 0 exactly; a rounding residue down to ``-SIGMA2_RTOL * m2`` is
  set to 0, anything more negative is a DCPredictError).

Sigma is accumulated in float64 over blocks of ``chunk_rows`` rows (two passes: the means, then the centred
products), so a memory-mapped ``.npy`` larger than memory works; the blocks are the same for arrays and
files, so a file and the same array give bit-identical Sigma.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import DCPredictError, check_choice, check_int

__all__ = ["DataWorld", "ORDERS", "DEFAULT_CHUNK_ROWS", "SIGMA2_RTOL", "ModelProblem"]

#: the orders in which a growing model takes the columns
ORDERS = ("given", "variance", "saliency")
#: rows per block of the chunked accumulation of Sigma
DEFAULT_CHUNK_ROWS = 4096
#: the p x p matrices of the most recent models are kept up to this many bytes (their beta_p always)
MODEL_CACHE_BYTES = 256 * 2 ** 20
#: a negative sigma^2 down to -SIGMA2_RTOL * mean(y^2) is rounding and is set to 0
SIGMA2_RTOL = 1e-9


# --------------------------------------------------------------------------- reading
def _shown(path: Any) -> str:
    return repr(os.fspath(path))


def _numeric(arr: np.ndarray, what: str) -> None:
    if arr.dtype.kind not in "biuf":
        raise DCPredictError(f"{what} must hold real numbers; its dtype is {arr.dtype}")


def _open_npy(path: str, what: str) -> np.ndarray:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DCPredictError(f"{what} {_shown(path)} cannot be read as a .npy array: {exc}") from None
    _numeric(arr, f"{what} {_shown(path)}")
    return arr


def _open_npz(path: str, what: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            if len(keys) != 1:
                raise DCPredictError(f"{what} {_shown(path)} holds {len(keys)} arrays ({', '.join(keys[:8])}); "
                                     "give a .npz with exactly one array (or a .npy)")
            arr = z[keys[0]]
    except DCPredictError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise DCPredictError(f"{what} {_shown(path)} cannot be read as a .npz archive: {exc}") from None
    _numeric(arr, f"{what} {_shown(path)}")
    return arr


def _read_csv(path: str, what: str) -> np.ndarray:
    """A CSV of numbers (comma, semicolon, tab or whitespace separated; one header line of names allowed)."""
    import csv
    rows: list[list[float]] = []
    width = None
    try:
        with open(path, newline="") as fh:
            sample = fh.read(65536)
            fh.seek(0)
            delim = next((d for d in (",", ";", "\t") if d in sample), None)
            reader = csv.reader(fh, delimiter=delim) if delim else (line.split() for line in fh)
            for lineno, cells in enumerate(reader, start=1):
                cells = [c.strip() for c in cells]
                if not cells or all(c == "" for c in cells):
                    continue
                try:
                    vals = [float(c) for c in cells]
                except ValueError:
                    if lineno == 1 and not rows:
                        continue  # a header line
                    bad = next(c for c in cells if not _is_float(c))
                    raise DCPredictError(f"{what} {_shown(path)} line {lineno}: {bad!r} is not a number") from None
                if width is None:
                    width = len(vals)
                elif len(vals) != width:
                    raise DCPredictError(f"{what} {_shown(path)} line {lineno} has {len(vals)} values, the first row "
                                         f"{width}: not a matrix")
                rows.append(vals)
    except UnicodeDecodeError:
        raise DCPredictError(f"{what} {_shown(path)} is neither .npy, .npz nor a text CSV file") from None
    except OSError as exc:
        raise DCPredictError(f"{what} {_shown(path)} cannot be read: {exc.strerror or exc}") from None
    if not rows:
        raise DCPredictError(f"{what} {_shown(path)} has no rows of numbers")
    return np.array(rows, dtype=np.float64)


def _is_float(c: str) -> bool:
    try:
        float(c)
        return True
    except ValueError:
        return False


def read_matrix(path: Any, what: str) -> np.ndarray:
    """A ``.npy`` (memory-mapped), ``.npz`` (one array) or CSV file as an array (not validated further)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DCPredictError(f"{what} {_shown(path)} does not exist")
    if os.path.isdir(path):
        raise DCPredictError(f"{what} {_shown(path)} is a directory, not a file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise DCPredictError(f"{what} {_shown(path)} cannot be read: {exc.strerror or exc}") from None
    if head == b"\x93NUMPY":
        return _open_npy(path, what)
    if head[:2] == b"PK":
        return _open_npz(path, what)
    return _read_csv(path, what)


def _as_features(X: Any, what: str) -> np.ndarray:
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except (TypeError, ValueError):
            raise DCPredictError(f"{what} must be a matrix of real numbers (N rows x P columns)") from None
    _numeric(X, what)
    if X.ndim != 2:
        raise DCPredictError(f"{what} must be a matrix (N rows x P columns); got an array of shape {X.shape}")
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise DCPredictError(f"{what} must have at least 2 rows and 1 column; got shape {X.shape}")
    return X


def _as_labels(y: Any, N: int, what: str) -> np.ndarray:
    try:
        arr = np.asarray(y)
    except (TypeError, ValueError):
        raise DCPredictError(f"{what} must be a vector of real numbers") from None
    _numeric(arr, what)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise DCPredictError(f"{what} must be a vector (one label per row); got an array of shape {arr.shape}")
    if arr.size != N:
        raise DCPredictError(f"{what} has {arr.size} entries but the features have N = {N} rows")
    out = np.array(arr, dtype=np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DCPredictError(f"{what} must be finite; row {i} is {float(out[i])!r} (rows counted from 0)")
    return out


def _block(X: np.ndarray, a: int, b: int) -> np.ndarray:
    """Rows a:b as a float64 copy (the caller may modify it; the user's array is never written)."""
    return np.array(X[a:b], dtype=np.float64)


def _moments(X: np.ndarray, y: np.ndarray, chunk_rows: int, what: str):
    """(mean, label mean, Sigma, c, m2, fingerprint) of the centred rows, in blocks of ``chunk_rows``."""
    N, P = X.shape
    h = hashlib.sha256()
    h.update(f"dcpredict-data-v1 {N} {P}".encode())
    total = np.zeros(P)
    for a in range(0, N, chunk_rows):
        B = _block(X, a, a + chunk_rows)
        fin = np.isfinite(B)
        if not fin.all():
            r, c = np.argwhere(~fin)[0]
            raise DCPredictError(f"{what} must be finite; row {a + int(r)}, column {int(c)} is {float(B[r, c])!r} "
                                 "(rows and columns counted from 0)")
        h.update(np.ascontiguousarray(B).tobytes())
        total += B.sum(axis=0)
    h.update(y.tobytes())
    mean = total / N
    ymean = float(y.mean())
    yc = y - ymean
    Sigma = np.zeros((P, P))
    c = np.zeros(P)
    for a in range(0, N, chunk_rows):
        B = _block(X, a, a + chunk_rows)
        B -= mean
        Sigma += B.T @ B
        c += B.T @ yc[a:a + chunk_rows]
    Sigma /= N
    c /= N
    Sigma = 0.5 * (Sigma + Sigma.T)
    m2 = float(yc @ yc) / N
    return mean, ymean, Sigma, c, m2, yc, h.hexdigest()[:20]


# --------------------------------------------------------------------------- least squares in the population
@dataclass(frozen=True)
class ModelProblem:
    """The linear Gaussian problem of a model of some columns: covariance, population weights, noise."""

    cols: np.ndarray          # the dataset's column indices, in the model's order
    Sigma: np.ndarray         # Sigma[cols][:, cols]
    beta: np.ndarray          # its own population least squares (min-norm)
    sigma2: float             # mean(y^2) - beta^T Sigma beta
    signal: float             # beta^T Sigma beta
    rank: int
    eig: tuple                # numpy.linalg.eigh(Sigma) (before clipping), for predict_correlated(eig=...)


def population_ls(Sigma: np.ndarray, c: np.ndarray, m2: float, what: str = "the dataset"):
    """(beta, sigma2, signal, rank, eig) of the min-norm population least squares ``Sigma^+ c``."""
    from ..correlated import spectrum
    eig = np.linalg.eigh(Sigma)
    if not np.any(Sigma):
        raise DCPredictError(f"every feature of {what} is constant (Sigma = 0): there is nothing to fit")
    lam, V = spectrum(Sigma, "Sigma", eig=eig)
    a = V.T @ c
    keep = lam > 0.0
    coef = np.zeros_like(a)
    coef[keep] = a[keep] / lam[keep]
    beta = V @ coef
    signal = float(np.sum(a[keep] ** 2 / lam[keep]))
    sigma2 = m2 - signal
    if sigma2 < 0.0:
        if sigma2 < -SIGMA2_RTOL * max(m2, 1e-300):
            raise DCPredictError(f"the label variance left unexplained by {what} is {sigma2!r} < 0 beyond rounding "
                                 f"(mean(y^2) = {m2!r}); Sigma is too ill-conditioned for its rank tolerance")
        sigma2 = 0.0
    return beta, sigma2, signal, int(keep.sum()), eig


# --------------------------------------------------------------------------- the world
class DataWorld:
    """A dataset as the population (module docstring): its second moments and its models.

    Build it with :meth:`from_arrays` or :meth:`from_files`.  Attributes: ``name``, ``N`` (rows), ``P``
    (columns), ``mean`` (the column means), ``label_mean``, ``Sigma`` (P x P), ``cross`` (``c = Phi^T y / N``),
    ``m2`` (``mean(y^2)`` of the centred labels), ``beta``, ``sigma2``, ``signal`` (``beta^T Sigma beta``),
    ``rank`` and ``fingerprint`` (a hash of the data: a trial log is only resumed on the same data).

    :meth:`predict` gives the theory, :meth:`experiment` the actual risks, :meth:`compare` both side by side.
    """

    def __init__(self, features: np.ndarray, labels: np.ndarray, *, name: str, chunk_rows: int,
                 source_path: str | None = None) -> None:
        self._X = features
        self.name = name
        self.N, self.P = (int(v) for v in features.shape)
        self.chunk_rows = chunk_rows
        self.source_path = source_path
        from .._limits import check_memory
        # Sigma, its eigendecomposition (values, vectors, workspace) and a block of rows
        check_memory(f"the covariance of {self.P} columns", 8.0 * (4 * self.P * self.P + 2 * chunk_rows * self.P),
                     detail=" (P x P float64 matrices)")
        (self.mean, self.label_mean, self.Sigma, self.cross, self.m2, self._y,
         self.fingerprint) = _moments(features, labels, chunk_rows, "features" if source_path is None
                                      else f"features {source_path!r}")
        self.beta, self.sigma2, self.signal, self.rank, self._eig = population_ls(self.Sigma, self.cross, self.m2)
        from collections import OrderedDict
        self._models: OrderedDict = OrderedDict()   # the most recent models, at most MODEL_CACHE_BYTES
        self._betas: dict = {}                      # every model's beta_p (p floats each)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(cls, features: Any, labels: Any, *, name: str | None = None,
                    chunk_rows: int = DEFAULT_CHUNK_ROWS) -> "DataWorld":
        """A world from an array ``features`` (N x P, any real dtype; kept by reference, not copied) and
        ``labels`` (N).  NaN or inf is a DCPredictError naming the row and the column."""
        X = _as_features(features, "features")
        y = _as_labels(labels, X.shape[0], "labels")
        chunk_rows = check_int("chunk_rows", chunk_rows, lo=1)
        return cls(X, y, name=name or f"array {X.shape[0]} x {X.shape[1]}", chunk_rows=chunk_rows)

    @classmethod
    def from_files(cls, features_path: Any, labels_path: Any, *, name: str | None = None,
                   chunk_rows: int = DEFAULT_CHUNK_ROWS) -> "DataWorld":
        """A world from files: ``.npy`` (memory-mapped: the features never need to fit in memory), ``.npz``
        (exactly one array) or CSV (numbers; one header line allowed; read into memory).  The format is
        recognised from the content, not the file name."""
        fpath = os.fspath(features_path)
        X = _as_features(read_matrix(fpath, "features"), f"features {fpath!r}")
        y = _as_labels(read_matrix(labels_path, "labels"), X.shape[0], f"labels {os.fspath(labels_path)!r}")
        chunk_rows = check_int("chunk_rows", chunk_rows, lo=1)
        is_npy = isinstance(X, np.memmap)
        return cls(X, y, name=name or os.path.basename(fpath), chunk_rows=chunk_rows,
                   source_path=os.path.abspath(fpath) if is_npy else None)

    # ------------------------------------------------------------------ rows
    @property
    def labels(self) -> np.ndarray:
        """The centred labels (N,)."""
        return self._y

    def rows(self, idx: np.ndarray) -> np.ndarray:
        """Centred float64 rows ``idx`` (sorted indices read fastest from a memory map)."""
        out = np.asarray(self._X[idx], dtype=np.float64)
        out -= self.mean
        return out

    # ------------------------------------------------------------------ models
    def column_order(self, order: str) -> np.ndarray:
        """The dataset's columns in the order a growing model takes them: ``given`` (as they come),
        ``variance`` (decreasing Sigma_ii) or ``saliency`` (decreasing Sigma_ii beta_i^2); ties by column index."""
        order = check_choice("order", order, ORDERS)
        if order == "given":
            return np.arange(self.P)
        d = np.diagonal(self.Sigma)
        score = d if order == "variance" else d * self.beta ** 2
        return np.argsort(-score, kind="stable")

    def model(self, p: int, order: str = "given") -> ModelProblem:
        """The linear Gaussian problem of the model of the first ``p`` columns in ``order``: Sigma_pp, its own
        population least squares beta_p and sigma_p^2 = mean(y^2) - beta_p^T Sigma_pp beta_p."""
        p = check_int("p", p, lo=1, hi=self.P)
        key = (p, order)
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        from .._parallel import _BLAS
        cols = self.column_order(order)[:p]
        S = self.Sigma[np.ix_(cols, cols)]
        with _BLAS.limit(1):  # the same bits whoever asks first (theory or experiment), and fast on a busy machine
            beta, sigma2, signal, rank, eig = population_ls(S, self.cross[cols], self.m2,
                                                            f"the first {p} columns ({order} order)")
        m = ModelProblem(cols=cols, Sigma=S, beta=beta, sigma2=sigma2, signal=signal, rank=rank, eig=eig)
        self._betas[key] = beta
        self._models[key] = m
        size = lambda q: 2 * 8 * q.Sigma.size  # noqa: E731  (Sigma_pp and its eigenvectors)
        while len(self._models) > 1 and sum(size(q) for q in self._models.values()) > MODEL_CACHE_BYTES:
            self._models.popitem(last=False)
        return m

    def model_beta(self, p: int, order: str = "given") -> np.ndarray:
        """beta_p of :meth:`model` (kept for every model computed, without its p x p matrices)."""
        key = (check_int("p", p, lo=1, hi=self.P), order)
        return self._betas[key] if key in self._betas else self.model(p, order).beta

    def oracle_columns(self, s: int) -> np.ndarray:
        """The s columns of the whole dataset with the largest Sigma_ii beta_i^2 (``small_oracle``), ties by index."""
        return np.sort(self.column_order("saliency")[:s])

    # ------------------------------------------------------------------ theory and experiment
    def predict(self, n: int, s: int, ps: Any, *, order: str = "given", ridge: float = 0.0, draws: int = 400,
                seed: int = 0, retrain_draws: int | None = None, progress: bool = False):
        """Theory: :func:`dcpredict.data.predict_data` on this world."""
        from ._theory import predict_data
        return predict_data(self, n=n, s=s, ps=ps, order=order, ridge=ridge, draws=draws, seed=seed,
                            retrain_draws=retrain_draws, progress=progress)

    def experiment(self, n: int, s: int, ps: Any, *, trials: int, seed: int = 0, order: str = "given",
                   ridge: float = 0.0, workers: int | None = None, scheduler: str | None = None,
                   out: Any = None, progress: bool = True):
        """Actual risks: :func:`dcpredict.data.run_experiment` on this world."""
        from ._experiment import run_experiment
        return run_experiment(self, n=n, s=s, ps=ps, trials=trials, seed=seed, order=order, ridge=ridge,
                              workers=workers, scheduler=scheduler, out=out, progress=progress)

    def compare(self, n: int, s: int, ps: Any, *, trials: int, seed: int = 0, order: str = "given",
                ridge: float = 0.0, draws: int = 400, workers: int | None = None, scheduler: str | None = None,
                out: Any = None, progress: bool = True):
        """Theory and actual side by side: :func:`dcpredict.data.compare_data` on this world."""
        from ._compare import compare_data
        return compare_data(self, n=n, s=s, ps=ps, trials=trials, seed=seed, order=order, ridge=ridge,
                            draws=draws, workers=workers, scheduler=scheduler, out=out, progress=progress)

    def advise(self, n: int, s: int, *, order: str = "given", ridge: float = 0.0, rules: Any = None,
               tol: float | None = None, draws: int = 400, seed: int = 0, progress: bool = False):
        """Train small or prune big on this dataset: :func:`dcpredict.data.advise_data`."""
        from ._advise import advise_data
        return advise_data(self, n=n, s=s, order=order, ridge=ridge, rules=rules, tol=tol, draws=draws, seed=seed,
                           progress=progress)

    def describe(self) -> dict[str, Any]:
        """The dataset's summary, JSON-ready (no arrays)."""
        return {"name": self.name, "N": self.N, "P": self.P, "rank": self.rank, "sigma2": self.sigma2,
                "signal": self.signal, "mean_y2": self.m2, "fingerprint": self.fingerprint}

    def __repr__(self) -> str:
        return (f"DataWorld({self.name!r}, N={self.N}, P={self.P}, rank={self.rank}, sigma2={self.sigma2:.6g}, "
                f"signal={self.signal:.6g})")


def check_n_s_ps(world: DataWorld, n: Any, s: Any, ps: Any) -> tuple[int, int, tuple[int, ...]]:
    """Validated (n, s, ps): 1 <= s <= p <= P for every p, no repeats, n >= 1."""
    from collections.abc import Iterable
    n = check_int("n", n, lo=1)
    s = check_int("s", s, lo=1)
    if isinstance(ps, (str, bytes)) or not isinstance(ps, Iterable):
        ps = [ps]
    vals = tuple(check_int("p", v, lo=1, hi=world.P) for v in ps)
    if not vals:
        raise DCPredictError("ps must have at least one model size; got an empty list")
    if len(set(vals)) != len(vals):
        raise DCPredictError(f"ps must not repeat a value; got {list(vals)}")
    small = [p for p in vals if p < s]
    if small:
        raise DCPredictError(f"s = {s} weights cannot be kept from a model of p = {small[0]} columns: every p must be "
                             f">= s (s <= p <= P = {world.P})")
    return n, s, vals
