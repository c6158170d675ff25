"""The actual grow-then-prune experiment on a dataset: draw rows, fit, prune, refit, score.

One trial (one unit of work, every model size p on the same rows):

* draw 2n distinct rows without replacement: the first n are the training rows T, the other n the fresh rows F
  of the refits on fresh samples; the remaining N - 2n rows H are held out (used for neither);
* for each p: least squares on the first p columns (in the stated order) of the training rows (min-norm when
  p > n, OLS when p <= n, ridge when r > 0: :func:`dcpredict._fit.fit_least_squares`), pruned to s weights by
  magnitude (|b_i|), Hessian (``(X^T X / n)_ii b_i^2``, the empirical diagonal), random (uniform s-subset) and
  oracle pruning (the s model columns of largest Sigma_ii (beta_p)_i^2), without refit; refitted on the kept
  columns with the training rows (``*_retrained_same``) and with the fresh rows (``*_retrained``);
  ``small_oracle``: least squares on the training rows on the s columns of all P with largest Sigma_ii beta_i^2;
* every model b (on columns S) is scored by its mean squared error on the held-out rows (``actual``) and on all N
  rows (``actual_population``, what the theory predicts).  Both come from the identity
  ``sum over all N rows of (y - x_S^T b)^2 = N (m2 - 2 b^T c_S + b^T Sigma_SS b)`` (exact for the centred data),
  the held-out sum being that minus the residuals on the 2n rows T and F: O(p^2) per model instead of O(N p).

Seeds are keyed by value: the rows of trial t by ``SeedSequence(seed, spawn_key=(11, t))``, the random support of
(p, t) by ``SeedSequence(seed, spawn_key=(12, p, t))``.  So a trial's numbers do not depend on the workers, the
scheduler, the order of completion or the other values of ps.  Every trial runs with one BLAS thread.
"""
from __future__ import annotations

import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import RISK_FIELDS
from .._results import Result, fmt
from .._validate import DCPredictError, check_int, check_real
from ._world import DataWorld, ORDERS, check_n_s_ps

__all__ = ["DataExperiment", "run_experiment", "ACTUAL_FIELDS", "run_data_trial", "DataSpec"]

#: every field the experiment measures: the nine of RISK_FIELDS and two refits on the training rows
ACTUAL_FIELDS = tuple(RISK_FIELDS) + ("magnitude_retrained_same", "hessian_retrained_same")
_FIDX = {f: i for i, f in enumerate(ACTUAL_FIELDS)}
#: the trial-log fields: held-out risks, then population risks
LOG_FIELDS = ACTUAL_FIELDS + tuple(f"population_{f}" for f in ACTUAL_FIELDS)
_KEY_ROWS, _KEY_POINT = 11, 12


@dataclass(frozen=True)
class DataSpec:
    """Everything a trial needs (picklable).  The rows come from ``path`` (a .npy, memory-mapped in the worker)
    or from ``array``."""

    path: str | None
    array: np.ndarray | None = field(repr=False)
    mean: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    Sigma: np.ndarray | str = field(repr=False)   # or the path of a .npy holding it (local pool: sent once)
    cross: np.ndarray = field(repr=False)
    m2: float
    n: int
    s: int
    ps: tuple
    columns: np.ndarray = field(repr=False)       # the column order; the model of p columns is columns[:p]
    oracle_local: dict = field(repr=False)        # p -> indices (into the model) of its oracle support
    small_oracle: np.ndarray = field(repr=False)  # the s columns of all P of largest Sigma_ii beta_i^2
    ridge: float
    seed: int

    @property
    def N(self) -> int:
        return int(self.y.size)


_OPEN: dict[tuple, np.ndarray] = {}


def _mapped(path: str) -> np.ndarray:
    """A .npy memory-mapped once per process (keyed by path, modification time and size)."""
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    arr = _OPEN.get(key)
    if arr is None:
        if len(_OPEN) >= 8:
            _OPEN.clear()
        arr = _OPEN[key] = np.load(path, mmap_mode="r", allow_pickle=False)
    return arr


def _features(spec: DataSpec) -> np.ndarray:
    return spec.array if spec.array is not None else _mapped(spec.path)


def run_data_trial(spec: DataSpec, trial: int) -> np.ndarray:
    """One trial: the risks, shape ``(len(ps), len(ACTUAL_FIELDS), 2)`` (held out, population).  Deterministic
    given ``(spec, trial)``; one BLAS thread."""
    from .._parallel import _BLAS
    with _BLAS.limit(1):
        return _trial(spec, int(trial))


def _trial(spec: DataSpec, trial: int) -> np.ndarray:
    from .._fit import fit_least_squares
    from .._select import top_indices
    N, n, s, r = spec.N, spec.n, spec.s, spec.ridge
    X = _features(spec)
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_KEY_ROWS, trial)))
    drawn = rng.choice(N, size=2 * n, replace=False)
    T, F = np.sort(drawn[:n]), np.sort(drawn[n:])
    XT = np.asarray(X[T], dtype=np.float64) - spec.mean
    XF = np.asarray(X[F], dtype=np.float64) - spec.mean
    yT, yF = spec.y[T], spec.y[F]
    H = N - 2 * n
    Sigma = _mapped(spec.Sigma) if isinstance(spec.Sigma, str) else spec.Sigma
    c, m2 = spec.cross, spec.m2

    def score(S: np.ndarray, b: np.ndarray) -> tuple[float, float]:
        pop = m2 - 2.0 * float(b @ c[S]) + float(b @ (Sigma[np.ix_(S, S)] @ b))
        rT = yT - XT[:, S] @ b
        rF = yF - XF[:, S] @ b
        held = (N * pop - float(rT @ rT) - float(rF @ rF)) / H
        return max(held, 0.0), max(pop, 0.0)

    out = np.empty((len(spec.ps), len(ACTUAL_FIELDS), 2))
    so = spec.small_oracle
    small = score(so, fit_least_squares(XT[:, so], yT, r))
    for i, p in enumerate(spec.ps):
        cols = spec.columns[:p]
        Xm = XT[:, cols]
        b = fit_least_squares(Xm, yT, r)
        prng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_KEY_POINT, p, trial)))
        d = np.einsum("ij,ij->j", Xm, Xm) / n
        local = {"magnitude": top_indices(np.abs(b), s),
                 "hessian": top_indices(d * b * b, s),
                 "random": np.sort(prng.choice(p, size=s, replace=False, shuffle=False)),
                 "oracle_pruned": spec.oracle_local[p]}
        row = out[i]
        row[_FIDX["dense"]] = score(cols, b)
        row[_FIDX["small_oracle"]] = small
        for rule, idx in local.items():
            S = cols[idx]
            row[_FIDX[rule]] = score(S, b[idx])
            if rule in ("magnitude", "hessian"):
                row[_FIDX[f"{rule}_retrained_same"]] = score(S, fit_least_squares(XT[:, S], yT, r))
            if rule != "oracle_pruned":
                row[_FIDX[f"{rule}_retrained"]] = score(S, fit_least_squares(XF[:, S], yF, r))
    return out


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, repr=False)
class DataExperiment(Result):
    """Actual risks of the grow-then-prune experiment on a dataset (:func:`run_experiment`).

    ``samples`` has shape ``(len(ps), trials, len(ACTUAL_FIELDS), 2)``: per p, trial and field the held-out
    risk (``[..., 0]``, what a user measures) and the population risk on all N rows (``[..., 1]``, what the
    theory predicts).  ``actual`` / ``actual_population`` give ``{field: {"mean": array, "stderr": array}}``
    over ps.  ``finite_population_factor`` = N / (N - n): about how much higher the held-out error of an
    interpolating fit is than its population error on a finite population.
    """

    name: str
    fingerprint: str
    N: int
    P: int
    n: int
    s: int
    ps: tuple
    order: str
    ridge: float
    trials: int
    seed: int
    samples: np.ndarray = field(repr=False)

    fields = ACTUAL_FIELDS

    @property
    def held_out_rows(self) -> int:
        return self.N - 2 * self.n

    @property
    def finite_population_factor(self) -> float:
        return self.N / (self.N - self.n)

    def _stats(self, k: int) -> dict[str, dict[str, np.ndarray]]:
        x = self.samples[..., k]
        m = x.mean(axis=1)
        se = x.std(axis=1, ddof=1) / math.sqrt(self.trials)
        return {f: {"mean": m[:, j], "stderr": se[:, j]} for j, f in enumerate(ACTUAL_FIELDS)}

    @property
    def actual(self) -> dict[str, dict[str, np.ndarray]]:
        """Held-out mean squared error: ``{field: {"mean": array over ps, "stderr": ...}}``."""
        return self._stats(0)

    @property
    def actual_population(self) -> dict[str, dict[str, np.ndarray]]:
        """Mean squared error on all N rows: ``{field: {"mean", "stderr"}}``."""
        return self._stats(1)

    def point(self, p: int) -> dict[str, Any]:
        """``{"actual": {field: {"mean", "stderr"}}, "actual_population": {...}}`` at one p."""
        from ._theory import _index
        i = _index(self.ps, p)
        a, b = self.actual, self.actual_population
        return {"actual": {f: {"mean": float(a[f]["mean"][i]), "stderr": float(a[f]["stderr"][i])}
                           for f in ACTUAL_FIELDS},
                "actual_population": {f: {"mean": float(b[f]["mean"][i]), "stderr": float(b[f]["stderr"][i])}
                                      for f in ACTUAL_FIELDS}}

    def inputs(self) -> dict[str, Any]:
        return {"name": self.name, "fingerprint": self.fingerprint, "N": self.N, "P": self.P, "n": self.n,
                "s": self.s, "order": self.order, "ridge": self.ridge, "trials": self.trials, "seed": self.seed,
                "held_out_rows": self.held_out_rows, "finite_population_factor": self.finite_population_factor}

    def to_dict(self) -> dict[str, Any]:
        """The inputs and one row per p with ``actual`` and ``actual_population`` (mean and stderr per field)."""
        return {**self.inputs(), "rows": [{"p": int(p), **self.point(p)} for p in self.ps]}

    def _records(self) -> list[dict[str, Any]]:
        a, b = self.actual, self.actual_population
        return [{"p": int(p), "field": f, "actual": float(a[f]["mean"][i]), "actual_stderr": float(a[f]["stderr"][i]),
                 "actual_population": float(b[f]["mean"][i]),
                 "actual_population_stderr": float(b[f]["stderr"][i])}
                for i, p in enumerate(self.ps) for f in ACTUAL_FIELDS]

    def summary(self) -> str:
        a = self.actual
        lines = [f"dcpredict data experiment: {self.name} (N = {self.N}, P = {self.P}), n = {self.n}, s = {self.s}, "
                 f"order = {self.order}, ridge = {self.ridge:g}, {self.trials} trials, seed {self.seed}",
                 f"held-out rows per trial: {self.held_out_rows} (N - 2n); finite-population factor N/(N-n) = "
                 f"{self.finite_population_factor:.4g}",
                 f"held-out MSE (mean +- stderr):",
                 f"{'p':>6}" + "".join(f"{f[:14]:>17}" for f in ACTUAL_FIELDS[:6])]
        for i, p in enumerate(self.ps):
            lines.append(f"{p:>6}" + "".join(f"{fmt(float(a[f]['mean'][i]), 4):>9} +-{fmt(float(a[f]['stderr'][i]), 2):<6}"
                                             for f in ACTUAL_FIELDS[:6]))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<DataExperiment {self.name!r} N={self.N} P={self.P} n={self.n} s={self.s} order={self.order!r} "
                f"{len(self.ps)} model sizes, {self.trials} trials>")


# --------------------------------------------------------------------------- running
def _spec(world: DataWorld, n: int, s: int, ps: tuple, order: str, ridge: float, seed: int, *,
          path: str | None, array: np.ndarray | None, sigma: str | None = None) -> DataSpec:
    columns = world.column_order(order)
    oracle_local = {}
    for p in ps:
        cols = columns[:p]
        sal = world.Sigma[cols, cols] * world.model_beta(p, order) ** 2
        oracle_local[p] = np.sort(np.argsort(-sal, kind="stable")[:s])
    return DataSpec(path=path, array=array, mean=world.mean, y=world.labels,
                    Sigma=world.Sigma if sigma is None else sigma, cross=world.cross,
                    m2=world.m2, n=n, s=s, ps=ps, columns=columns, oracle_local=oracle_local,
                    small_oracle=world.oracle_columns(s), ridge=ridge, seed=seed)


def run_experiment(world: DataWorld, *, n: int, s: int, ps: Any, trials: int, seed: int = 0, order: str = "given",
                   ridge: float = 0.0, workers: int | None = None, scheduler: str | None = None, out: Any = None,
                   progress: bool = True) -> DataExperiment:
    """Run the actual experiment on a dataset (module docstring).

    Parameters
    ----------
    world : DataWorld
        The dataset.
    n : int >= 1
        Training rows per trial; the fresh refits use n other rows, so N - 2n >= 1 rows must remain held out.
    s : int >= 1
        Weights kept.
    ps : int or sequence of int
        Model sizes, each in [s, P], no repeats.
    trials : int >= 2
        Trials (each evaluates every p on the same rows).
    seed : int >= 0
        Root seed; the numbers depend only on (seed, trial, p) and the other arguments.
    order : {"given", "variance", "saliency"}
        Which columns a model of size p takes.
    ridge : float >= 0
        Ridge penalty of every fit.
    workers : int >= 1, optional
        Local worker processes (default: all cores).  With more than one, the workers memory-map the rows from the
        ``.npy`` (an in-memory array is first written to a temporary ``.npy``) and Sigma from a temporary ``.npy``
        (both deleted afterwards), so a task sends only vectors to its worker.
    scheduler : str, optional
        Address of a Dask distributed scheduler (the data are sent to the cluster once).
    out : path, optional
        JSONL trial log (:class:`dcpredict._store.TrialLog`): one line per finished (p, trial); a rerun with the
        same arguments resumes, more trials extend it, a file that is not this run's log is refused unchanged.
    progress : bool
        tqdm progress bar on stderr.

    Returns
    -------
    DataExperiment
    """
    n, s, ps_t, trials = check_experiment(world, n, s, ps, trials)
    if order not in ORDERS:
        raise DCPredictError(f"order must be one of {', '.join(map(repr, ORDERS))}; got {order!r}")
    ridge = check_real("ridge", ridge, lo=0.0)
    seed = check_int("seed", seed, lo=0)
    from .._parallel import default_workers
    workers = default_workers() if workers is None else check_int("workers", workers, lo=1)
    from .._limits import check_memory, check_scheduler
    pmax = max(ps_t)
    unit = 8.0 * (4 * n * world.P + 3 * pmax * pmax + 4 * n * pmax + 4 * world.N)
    inflight = 1 if scheduler is not None else min(workers, trials)
    check_memory("this data experiment", unit * inflight + 8.0 * len(ps_t) * trials * 2 * len(ACTUAL_FIELDS))
    if scheduler is not None:
        scheduler = check_scheduler(scheduler)
    return _run(world, n, s, ps_t, trials, seed, order, ridge, workers, scheduler, out, progress)


def check_experiment(world: Any, n: Any, s: Any, ps: Any, trials: Any) -> tuple[int, int, tuple, int]:
    """Validated (n, s, ps, trials) of an experiment (N - 2n >= 1 held-out rows, trials >= 2)."""
    if not isinstance(world, DataWorld):
        raise DCPredictError(f"world must be a dcpredict.data.DataWorld; got {type(world).__name__}")
    n, s, ps_t = check_n_s_ps(world, n, s, ps)
    if world.N - 2 * n < 1:
        raise DCPredictError(f"n = {n} is too large for N = {world.N} rows: each trial uses n training rows and n "
                             f"other rows for the fresh refits, and needs held-out rows (N - 2n >= 1); use n <= "
                             f"{(world.N - 1) // 2}")
    trials = check_int("trials", trials, lo=2)
    return n, s, ps_t, trials


def _run(world, n, s, ps_t, trials, seed, order, ridge, workers, scheduler, out, progress) -> DataExperiment:
    from .._parallel import run_dask, run_parallel
    samples = np.empty((len(ps_t), trials, len(ACTUAL_FIELDS), 2))
    filled = np.zeros((len(ps_t), trials), dtype=bool)
    pidx = {p: i for i, p in enumerate(ps_t)}
    by_kappa = {p / n: p for p in ps_t}
    store = None
    if out is not None:
        from .._store import TrialLog
        header = {"mode": "data", "data": world.fingerprint, "N": world.N, "P": world.P, "ps": list(ps_t), "s": s,
                  "order": order, "ridge": ridge, "n": n, "seed": seed}
        store = TrialLog(out, header, fields=LOG_FIELDS, points={(p / n, s / p): (p, s) for p in ps_t},
                         seed=seed, n=n)
        for (kappa, _alpha, t), row in store.open().items():
            if t < trials:
                i = pidx[by_kappa[kappa]]
                samples[i, t] = row.reshape(2, len(ACTUAL_FIELDS)).T
                filled[i, t] = True
    tmpdir = None
    try:
        todo = [t for t in range(trials) if not filled[:, t].all()]
        path, array, sigma = world.source_path, None, None
        if scheduler is not None:
            path, array = None, np.asarray(world._X)
        elif workers > 1 and len(todo) > 1:
            # each task is pickled: the large arrays go to files that every worker maps once
            tmpdir = tempfile.TemporaryDirectory(prefix="dcpredict-data-")
            sigma = os.path.join(tmpdir.name, "sigma.npy")
            np.save(sigma, world.Sigma)
            if path is None:
                path = os.path.join(tmpdir.name, "features.npy")
                np.save(path, np.asarray(world._X))
        elif path is None:
            array = world._X
        spec = _spec(world, n, s, ps_t, order, ridge, seed, path=path, array=array, sigma=sigma)
        bar = None
        if progress and todo:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(todo), file=sys.stderr, unit="trial", desc="data experiment", dynamic_ncols=True)
        try:
            tasks = ((spec, t) for t in todo)
            runner = (run_dask(tasks, scheduler, run_data_trial) if scheduler is not None
                      else run_parallel(run_data_trial, tasks, workers))
            for (_, t), res in runner:
                if not np.isfinite(res).all():
                    i, j, _k = (int(v) for v in np.argwhere(~np.isfinite(res))[0])
                    raise DCPredictError(f"the experiment produced {ACTUAL_FIELDS[j]} = {res[i, j, _k]!r} at "
                                         f"p = {ps_t[i]}, trial {t}: out of the range double precision can fit")
                recs = []
                for i, p in enumerate(ps_t):
                    if not filled[i, t]:
                        samples[i, t] = res[i]
                        filled[i, t] = True
                        rec = {"kappa": p / n, "alpha": s / p, "trial": t, "seed": seed, "n": n, "p": p, "s": s}
                        rec.update({f: float(res[i, j, 0]) for j, f in enumerate(ACTUAL_FIELDS)})
                        rec.update({f"population_{f}": float(res[i, j, 1]) for j, f in enumerate(ACTUAL_FIELDS)})
                        recs.append(rec)
                if store is not None and recs:
                    store.write_trials(recs)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
    finally:
        if store is not None:
            store.close()
        if tmpdir is not None:
            tmpdir.cleanup()
    if not filled.all():  # pragma: no cover
        raise RuntimeError("internal error: data experiment trials missing")
    return DataExperiment(name=world.name, fingerprint=world.fingerprint, N=world.N, P=world.P, n=n, s=s, ps=ps_t,
                          order=order, ridge=ridge, trials=trials, seed=seed, samples=samples)


def measure_columns(world: DataWorld, *, n: int, s: int, trials: int, seed: int, ridge: float,
                    columns: dict[str, np.ndarray], small_random: bool = True) -> dict[str, tuple]:
    """Actual risks of small models trained on fixed column sets (and, with ``small_random``, on s columns drawn at
    random per trial, seeded by ``(seed, 13, trial)``), on the same rows as :func:`run_experiment` with this seed.

    Returns ``{name: (held-out mean, stderr, all-rows mean, stderr)}``.  In process (the fits are s columns wide).
    """
    from .._fit import fit_least_squares
    n, s, _ = check_n_s_ps(world, n, s, [s])
    trials = check_int("trials", trials, lo=2)
    N, H = world.N, world.N - 2 * n
    if H < 1:
        raise DCPredictError(f"n = {n} leaves no held-out rows of N = {N}")
    names = list(columns) + (["small_random"] if small_random else [])
    res = np.empty((len(names), trials, 2))
    for t in range(trials):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_KEY_ROWS, t)))
        drawn = rng.choice(N, size=2 * n, replace=False)
        T, F = np.sort(drawn[:n]), np.sort(drawn[n:])
        XT, XF = world.rows(T), world.rows(F)
        yT, yF = world.labels[T], world.labels[F]
        sets = dict(columns)
        if small_random:
            crng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(13, t)))
            sets["small_random"] = np.sort(crng.choice(world.P, size=s, replace=False))
        for k, name in enumerate(names):
            S = np.asarray(sets[name])
            b = fit_least_squares(XT[:, S], yT, ridge)
            pop = world.m2 - 2.0 * float(b @ world.cross[S]) + float(b @ (world.Sigma[np.ix_(S, S)] @ b))
            rT, rF = yT - XT[:, S] @ b, yF - XF[:, S] @ b
            res[k, t] = (max((N * pop - float(rT @ rT) - float(rF @ rF)) / H, 0.0), max(pop, 0.0))
    out = {}
    for k, name in enumerate(names):
        m, se = res[k].mean(axis=0), res[k].std(axis=0, ddof=1) / math.sqrt(trials)
        out[name] = (float(m[0]), float(se[0]), float(m[1]), float(se[1]))
    return out
