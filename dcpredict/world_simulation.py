"""Monte Carlo simulation of the fixed-world experiment (the paper's Figs. 3 and 7).

Every risk that :func:`dcpredict.predict_world` computes in the limit is measured here on finite worlds
(theory page, section :ref:`theory-world`), plus same-sample retraining, which has no exact DC.

The finite world
----------------
Given a law of (Lambda, B) as atoms (lam_k, b_k, w_k) and a world size ``P``: atom k gets ``c_k``
features, ``c_k`` proportional to ``w_k`` (largest-remainder rounding, as :func:`dcpredict.simulation.atom_counts`);
feature i has variance ``lam_i`` and true weight ``beta_i = B_i / sqrt(P)``.  The world is fixed; each
trial draws a design with **all P columns** (n x P, rows ~ N(0, diag(lam))) and labels
``y = X beta + sigma z`` (the signal of every world feature is in the labels).

The model of size p fits the first p columns in an order:

* ``order="saliency"`` (the paper): features sorted by decreasing true saliency ``lam_i beta_i^2``
  (ties by atom order, as the theory's fill);
* ``order="random"``: a uniformly random permutation of the world, drawn once per trial (seeded by
  ``(seed, trial)``) and shared by every p of that trial, so the models of one trial are nested.  A
  single permutation for all trials would measure one composition of the first p features, whose atom
  counts deviate from the law by O(sqrt(p)) -- a bias the standard error does not see (measured: a
  2.4 % relative spread of the dense risk across permutations at P = 400, p = 100); a permutation per
  trial averages it out.

Common random numbers: every p of one trial fits on the first p columns of the same n x P design.

One (p, trial)
--------------
All risks are exact population risks ``sigma^2 + (b - beta)^T Sigma (b - beta)`` over the whole world,
from Sigma and beta (no test set).

* ``dense``: the fit on the model's p columns (min-norm if p > n, OLS if p <= n, ridge if r > 0).
* supports of size s in the model: ``magnitude`` (s largest ``|beta_hat_i|``), ``hessian`` (s largest
  ``lam_i beta_hat_i^2``), ``random`` (uniform s-subset of the p columns), and ``oracle_pruned``: the
  dense fit kept on the s features of largest true saliency *among the p* (no refit).
* ``small_oracle``: least squares on the world's s features of largest true saliency (whatever the
  order), fitted on the training samples.
* ``*_retrained``: least squares on the kept columns with **fresh** samples (only the kept columns are
  drawn; the label noise includes the signal of everything not kept).
* ``*_retrained_same``: least squares on the kept columns with the training samples.
* baselines ``small_random`` (s world features chosen uniformly at random, per trial) and
  ``small_top_variance`` (the s features of largest lam; ties broken at random, per trial), both fitted
  on the training samples.

Seeds are keyed by values: the design and labels of trial t by ``(seed, t)``; the random order and the
baselines' subsets by ``(seed, t)``; the random support and the fresh samples of (p, t) by
``(seed, p, t)``.  So a (p, trial)'s numbers do not depend on the workers, on the order of completion or
on the other p of the sweep.  Each trial is one task: the design is drawn once, stored column-major in the
model order (a model of p features fits on the contiguous slice of its first p columns, no copy), and every p
of the trial that is not yet in the log is evaluated on it; the model's coefficients are then read in
increasing feature index, as if its columns had been sorted (so a model of all P features fits on the world's
natural column order whatever ``order`` is: the design's columns are permuted in place for it).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from ._fit import fit_least_squares
from ._results import Result
from ._select import top_indices
from ._validate import DCPredictError, check_choice, check_int, check_real
from .law import Law
from ._parallel import _BLAS, default_workers, run_dask, run_parallel
from .simulation import SIM_FIELDS, _t975, atom_counts, warn_if_coarse
from .world import ORDERS

__all__ = ["simulate_world", "WorldSimulationResult", "WORLD_SIM_FIELDS", "world_instance", "run_world_unit",
           "run_world_trial", "WorldSpec"]

#: every field a world simulation measures: the linear simulator's 12 and the two labelled baselines
WORLD_SIM_FIELDS = tuple(SIM_FIELDS) + ("small_random", "small_top_variance")
_FIDX = {f: i for i, f in enumerate(WORLD_SIM_FIELDS)}
# first element of every SeedSequence spawn key of this module (the linear simulator uses 0 and 1)
_KEY_DATA, _KEY_POINT, _KEY_TRIAL = 3, 4, 5


def world_instance(law: Law, P: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lam, beta)`` of the finite world of ``P`` features, grouped by atom; ``beta_i = B_i / sqrt(P)``."""
    counts = atom_counts(law.weights, P)
    return np.repeat(law.lam, counts), np.repeat(law.b, counts) / math.sqrt(P)


@dataclass(frozen=True)
class WorldSpec:
    """Everything one (p, trial) task needs: picklable, sent to local or Dask workers."""

    lam: np.ndarray
    beta: np.ndarray
    sigma2: float
    ridge: float
    n: int
    s: int
    seed: int
    order: str
    saliency_order: np.ndarray = field(repr=False)

    @property
    def P(self) -> int:
        return int(self.lam.size)


def _make_spec(law: Law, *, P: int, n: int, s: int, sigma2: float, ridge: float, seed: int,
               order: str) -> WorldSpec:
    lam, beta = world_instance(law, P)
    sal = np.argsort(-(lam * beta * beta), kind="stable")  # ties by atom order, as the theory's fill
    return WorldSpec(lam=lam, beta=beta, sigma2=sigma2, ridge=ridge, n=n, s=s, seed=seed, order=order,
                     saliency_order=sal)


def _warn_if_coarse(law: Law, spec: WorldSpec) -> None:
    """CoarseInstanceWarning when the world of P features misrepresents the law (too few features per atom)."""
    warn_if_coarse(law, spec.lam, spec.beta, f"the world of P={spec.P} features",
                   "use a larger P or a law with fewer atoms")


def run_world_unit(spec: WorldSpec, p: int, trial: int) -> np.ndarray:
    """One trial at one model size p: the risks in the order of :data:`WORLD_SIM_FIELDS`.

    Top-level and picklable; deterministic given ``(spec, p, trial)`` (one BLAS thread).  Equal to the
    row of p of :func:`run_world_trial` (which draws the design once for many p).
    """
    return run_world_trial(spec, (int(p),), trial)[0]


def run_world_trial(spec: WorldSpec, ps: tuple[int, ...], trial: int) -> np.ndarray:
    """One trial at every model size of ``ps``: an array (len(ps), len(WORLD_SIM_FIELDS)).

    The world design is drawn once and every p fits on it (common random numbers); a p's row depends
    only on ``(spec, p, trial)``, never on the other values of ``ps``.  Top-level and picklable (the
    task of :func:`simulate_world`); one BLAS thread.
    """
    with _BLAS.limit(1):
        return _run_world_trial(spec, tuple(int(p) for p in ps), int(trial))


#: rows of the design drawn at a time (at most this fraction of the design in temporaries)
_CHUNK_FRACTION = 16


def _run_world_trial(spec: WorldSpec, ps: tuple[int, ...], trial: int) -> np.ndarray:
    n, P, s, r = spec.n, spec.P, spec.s, spec.ridge
    lam, beta, sigma2 = spec.lam, spec.beta, spec.sigma2
    sqrt_lam = np.sqrt(lam)
    lam_beta2 = lam * beta * beta
    signal = float(lam_beta2.sum())

    trng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_KEY_TRIAL, trial)))
    perm = trng.permutation(P)                      # the random order of this trial
    small_random = np.sort(trng.choice(P, size=s, replace=False, shuffle=False))
    tie = trng.random(P)                            # random tie-break among equal variances
    top_var = np.sort(np.lexsort((tie, -lam))[:s])

    # the design, drawn once, stored column-major in the model order (a model of p features is the
    # contiguous slice X[:, :p], no copy): the same numbers as drawing the n x P design row by row
    layout = np.asarray(spec.saliency_order if spec.order == "saliency" else perm, dtype=np.int64)
    pos = np.empty(P, dtype=np.int64)               # position in X of each world feature
    pos[layout] = np.arange(P)
    drng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_KEY_DATA, trial)))
    X = np.empty((n, P), order="F")
    y = np.empty(n)
    step = max(1, n // _CHUNK_FRACTION)
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        Z = drng.standard_normal((r1 - r0, P))
        Z *= sqrt_lam
        np.dot(Z, beta, out=y[r0:r1])
        X[r0:r1, :] = Z[:, layout]
        del Z
    y += math.sqrt(sigma2) * drng.standard_normal(n)

    def risk_on(S: np.ndarray, coef: np.ndarray) -> float:
        """World risk of the model with coefficients ``coef`` on world features ``S`` (zero elsewhere)."""
        d = coef - beta[S]
        return sigma2 + signal - float(lam_beta2[S].sum()) + float(np.dot(lam[S], d * d))

    def fit_same(S: np.ndarray) -> np.ndarray:
        """Least squares on the world features S (sorted) with the training samples."""
        return fit_least_squares(X[:, pos[S]], y, r)

    base = {}
    for name, S in (("small_oracle", np.sort(spec.saliency_order[:s])), ("small_random", small_random),
                    ("small_top_variance", top_var)):
        base[name] = risk_on(S, fit_same(S))

    out = np.empty((len(ps), len(WORLD_SIM_FIELDS)))
    for i in sorted(range(len(ps)), key=lambda i: ps[i]):  # p = P last: it may reorder X in place
        p = ps[i]
        if p == P and not np.array_equal(layout, np.arange(P)):
            # every column: fit in the world's natural order, as a model of all P features in any order
            from ._kernels import permute_columns
            permute_columns(X, layout)
            layout = np.arange(P, dtype=np.int64)
            pos = layout.copy()
        row = out[i]
        prng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_KEY_POINT, p, trial)))
        fit = fit_least_squares(X[:, :p], y, r)     # coefficients in the order of layout[:p]
        cols = np.sort(layout[:p])                   # the model's world features, sorted
        b_hat = fit[pos[cols]]                       # ... and their coefficients
        row[_FIDX["dense"]] = risk_on(cols, b_hat)
        local = {
            "magnitude": top_indices(np.abs(b_hat), s),
            "hessian": top_indices(lam[cols] * b_hat * b_hat, s),
            "random": np.sort(prng.choice(p, size=s, replace=False, shuffle=False)),
            "oracle_pruned": np.sort(np.argsort(-lam_beta2[cols], kind="stable")[:s]),
        }
        for rule, idx in local.items():
            S = cols[idx]
            row[_FIDX[rule]] = risk_on(S, b_hat[idx])
            if rule != "oracle_pruned":
                row[_FIDX[rule + "_retrained_same"]] = risk_on(S, fit_same(S))
        for rule in ("magnitude", "hessian", "random"):  # fresh samples: only the kept columns are drawn
            S = cols[local[rule]]
            Xf = prng.standard_normal((n, s))
            Xf *= sqrt_lam[S]
            noise2 = sigma2 + max(signal - float(lam_beta2[S].sum()), 0.0)
            yf = Xf @ beta[S]
            yf += math.sqrt(noise2) * prng.standard_normal(n)
            row[_FIDX[rule + "_retrained"]] = risk_on(S, fit_least_squares(Xf, yf, r))
        for name, v in base.items():
            row[_FIDX[name]] = v
    return out


# --------------------------------------------------------------------------- result
def _fmt(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) else str(x)


@dataclass(frozen=True)
class WorldSimulationResult(Result):
    """Monte Carlo risks of the fixed-world experiment at every model size p of ``ps``.

    Attributes: the inputs (``law``, ``n``, ``P``, ``ps``, ``s``, ``sigma2``, ``ridge``, ``order``,
    ``trials``, ``seed``) and ``samples``, an array ``(len(ps), trials, 14)`` of the per-trial risks in
    the order of :data:`WORLD_SIM_FIELDS`.  ``mean``, ``stderr`` and ``ci95`` are dicts
    field -> array over ``ps`` (``ci95``: 95 % Student-t interval, shape ``(len(ps), 2)``);
    :meth:`point` gives one p.  ``save(path)`` / ``WorldSimulationResult.load(path)`` round-trip it
    losslessly (every per-trial risk).
    """

    law: Law
    n: int
    P: int
    ps: tuple[int, ...]
    s: int
    sigma2: float
    ridge: float
    order: str
    trials: int
    seed: int
    samples: np.ndarray = field(repr=False)

    fields = WORLD_SIM_FIELDS

    def _index(self, p: Any) -> int:
        p = check_int("p", p)
        try:
            return self.ps.index(p)
        except ValueError:
            raise DCPredictError(f"p must be one of the simulated sizes {list(self.ps)}; got {p}") from None

    def __getitem__(self, name: str) -> np.ndarray:
        """Per-trial risks of one field, shape ``(len(ps), trials)``."""
        check_choice("field", name, WORLD_SIM_FIELDS)
        return self.samples[:, :, _FIDX[name]]

    @property
    def mean(self) -> dict[str, np.ndarray]:
        m = self.samples.mean(axis=1)
        return {f: m[:, i] for i, f in enumerate(WORLD_SIM_FIELDS)}

    @property
    def stderr(self) -> dict[str, np.ndarray]:
        se = self.samples.std(axis=1, ddof=1) / math.sqrt(self.trials)
        return {f: se[:, i] for i, f in enumerate(WORLD_SIM_FIELDS)}

    @property
    def ci95(self) -> dict[str, np.ndarray]:
        q = _t975(self.trials - 1)
        m, se = self.mean, self.stderr
        return {f: np.stack([m[f] - q * se[f], m[f] + q * se[f]], axis=1) for f in WORLD_SIM_FIELDS}

    def point(self, p: int) -> dict[str, dict[str, float]]:
        """``{field: {"mean", "stderr"}}`` at one simulated p (the CLI's JSON for one ``--p``)."""
        i = self._index(p)
        m, se = self.mean, self.stderr
        return {f: {"mean": float(m[f][i]), "stderr": float(se[f][i])} for f in WORLD_SIM_FIELDS}

    def inputs(self) -> dict[str, Any]:
        """The arguments that determine the numbers, JSON-ready."""
        return {"world": {**self.law.to_dict(), "P": self.P}, "n": self.n, "s": self.s, "sigma2": self.sigma2,
                "ridge": self.ridge, "order": self.order, "trials": self.trials, "seed": self.seed}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the inputs, ``"p"`` (list) and per field ``{"mean": [...], "stderr": [...],
        "ci95": [[lo, hi], ...]}`` (lists over p)."""
        m, se, ci = self.mean, self.stderr, self.ci95
        d: dict[str, Any] = {**self.inputs(), "p": list(self.ps)}
        for f in WORLD_SIM_FIELDS:
            d[f] = {"mean": [float(x) for x in m[f]], "stderr": [float(x) for x in se[f]],
                    "ci95": [[float(a), float(b)] for a, b in ci[f]]}
        return d

    def to_dataframe(self):
        """One row per (p, field): columns p, field, mean, stderr, ci95_low, ci95_high; inputs in ``attrs``."""
        import pandas as pd
        m, se, ci = self.mean, self.stderr, self.ci95
        rows = [{"p": p, "field": f, "mean": float(m[f][i]), "stderr": float(se[f][i]),
                 "ci95_low": float(ci[f][i, 0]), "ci95_high": float(ci[f][i, 1])}
                for i, p in enumerate(self.ps) for f in WORLD_SIM_FIELDS]
        df = pd.DataFrame(rows)
        df.attrs.update(self.inputs())
        return df

    def summary(self) -> str:
        m, se = self.mean, self.stderr
        head = (f"world simulation: P={self.P} n={self.n} s={self.s} order={self.order} sigma2={self.sigma2:g} "
                f"ridge={self.ridge:g} trials={self.trials} seed={self.seed}")
        blocks = [head]
        for i, p in enumerate(self.ps):
            lines = [f"  p = {p} (p/n = {p / self.n:.4g})", f"  {'field':<26}{'mean':>12}{'stderr':>12}"]
            for f in WORLD_SIM_FIELDS:
                lines.append(f"  {f:<26}{_fmt(float(m[f][i])):>12}{float(se[f][i]):>12.3g}")
            blocks.append("\n".join(lines))
        return "\n".join(blocks)

    def _records(self) -> list[dict[str, Any]]:
        """One row per p: p, then each field's mean and ``<field>_stderr``."""
        m, se = self.mean, self.stderr
        return [{"p": p, **{f: float(m[f][i]) for f in WORLD_SIM_FIELDS},
                 **{f"{f}_stderr": float(se[f][i]) for f in WORLD_SIM_FIELDS}} for i, p in enumerate(self.ps)]

    def _plot(self, ax, fields: Sequence[str] | None = None, logx: bool = True, logy: bool = True) -> None:
        """Each field's mean ±1 standard error (caps) against p; default fields: dense, magnitude, hessian,
        oracle_pruned, magnitude_retrained, hessian_retrained.  Overlay the theory with
        ``sim.plot(ax=curve.plot())`` (a :class:`~dcpredict.world.WorldCurve`)."""
        from ._results import plot_errorbars
        fields = ("dense", "magnitude", "hessian", "oracle_pruned", "magnitude_retrained", "hessian_retrained") \
            if fields is None else tuple(check_choice("field", f, WORLD_SIM_FIELDS) for f in fields)
        m, se = self.mean, self.stderr
        plot_errorbars(ax, self.ps, {f: m[f] for f in fields}, {f: se[f] for f in fields},
                       logx=logx and len(self.ps) > 1, logy=logy)
        ax.set_xlabel(f"p (features the model fits; n = {self.n}, P = {self.P}, pruned to s = {self.s})")
        ax.set_ylabel("test risk")
        ax.set_title(f"world simulation: {self.trials} trials per p, {self.order} order, "
                     f"$\\sigma^2$ = {self.sigma2:g}, ridge = {self.ridge:g}", fontsize=10)

    def __repr__(self) -> str:
        ps = list(self.ps) if len(self.ps) <= 4 else f"{len(self.ps)} values {self.ps[0]}..{self.ps[-1]}"
        return (f"<WorldSimulationResult P={self.P} n={self.n} s={self.s} order={self.order!r} p={ps} "
                f"trials={self.trials}>")


# --------------------------------------------------------------------------- public API
def _ps(ps: Any, s: int, P: int) -> tuple[int, ...]:
    if isinstance(ps, (str, bytes)) or not isinstance(ps, Iterable):
        ps = [ps]
    out = tuple(check_int("ps", v, lo=s, hi=P) for v in ps)
    if not out:
        raise DCPredictError("ps must have at least one value; got an empty list")
    if len(set(out)) != len(out):
        raise DCPredictError(f"ps must not repeat a value; got {list(out)}")
    return out


def simulate_world(law: Law, *, n: int, P: int, ps: Any, s: int, sigma2: float, ridge: float = 0.0,
                   order: str = "saliency", trials: int, seed: int = 0, workers: int | None = None,
                   out: str | os.PathLike | None = None, scheduler: str | None = None,
                   progress: bool = True) -> WorldSimulationResult:
    """Simulate the fixed-world experiment: a world of P features, models of p of them, pruned to s.

    Parameters
    ----------
    law : Law
        The world's law of (Lambda, B); the finite world has P features (module docstring).
    n : int >= 2
        Training samples.
    P : int >= 1
        Features in the world.
    ps : int or sequence of int
        Model sizes, each in [s, P], no repeats.
    s : int >= 1
        Weights kept after pruning (and the size of the small baselines).
    sigma2 : float >= 0
        Label noise variance.
    ridge : float >= 0
        r of the ridge estimator; 0 = min-norm / OLS (the same estimator for every fit).
    order : {"saliency", "random"}
        Which p features the model fits (module docstring).
    trials : int >= 2
        Trials per p.
    seed : int >= 0
        Root seed; the numbers depend only on (seed, p, trial) and the other arguments, never on
        ``workers``, ``scheduler`` or the other values of ``ps``.
    workers : int >= 1, optional
        Local worker processes (default: all cores available; spawn start method, one BLAS thread each).
    out : path, optional
        JSONL trial log, one line per finished (p, trial) with keys kappa (= p/n), alpha (= s/p), trial,
        seed, n, p, s, the 14 risks of :data:`WORLD_SIM_FIELDS` and ``run`` (the arguments' fingerprint,
        the number of trials excluded); the arguments are in ``FILE.args.json``.  A rerun with the same
        arguments resumes (only missing (p, trial) are run; more trials extend the log); a file that is
        not this run's log is refused and left untouched (the rules of :func:`dcpredict.simulate_sweep`).
    scheduler : str, optional
        Address of a Dask distributed scheduler; tasks then run on that cluster.
    progress : bool
        Progress on stderr (default True): a bar with an estimate of the remaining time, and a line saying
        how many trials a resumed ``out`` read back.

    Returns
    -------
    WorldSimulationResult
        Per-p mean, standard error and 95 % interval of every field.  Compare with
        :func:`dcpredict.predict_world` (the same fields; the ``*_retrained_same`` fields have no exact
        theory).
    """
    if not isinstance(law, Law):
        raise DCPredictError(f"law must be a dcpredict.Law; got {type(law).__name__}")
    n = check_int("n", n, lo=2)
    P = check_int("P", P, lo=1)
    s = check_int("s", s, lo=1, hi=P)
    ps_t = _ps(ps, s, P)
    sigma2 = check_real("sigma2", sigma2, lo=0.0)
    ridge = check_real("ridge", ridge, lo=0.0)
    order = check_choice("order", order, ORDERS)
    trials = check_int("trials", trials, lo=2)
    seed = check_int("seed", seed, lo=0)
    workers = default_workers() if workers is None else check_int("workers", workers, lo=1)
    from ._limits import MAX_FEATURES, _unit_bytes, check_memory, check_scheduler
    if P > MAX_FEATURES or n > MAX_FEATURES:
        raise DCPredictError(f"P and n must be <= {MAX_FEATURES}; got P={P}, n={n}")
    inflight = 1 if scheduler is not None else min(workers, trials)
    unit = _unit_bytes(n, P, s)   # the world design (drawn once per trial; a model's columns are a slice of it)
    check_memory("this world simulation", unit * inflight + 8.0 * len(ps_t) * trials * len(WORLD_SIM_FIELDS))
    if scheduler is not None:
        scheduler = check_scheduler(scheduler)

    spec = _make_spec(law, P=P, n=n, s=s, sigma2=sigma2, ridge=ridge, seed=seed, order=order)
    _warn_if_coarse(law, spec)
    header = {"mode": "world", "law": law.to_dict(), "P": P, "ps": list(ps_t), "s": s, "sigma2": sigma2,
              "ridge": ridge, "order": order, "n": n, "seed": seed}
    by_kappa = {p / n: p for p in ps_t}
    samples = np.empty((len(ps_t), trials, len(WORLD_SIM_FIELDS)))
    filled = np.zeros((len(ps_t), trials), dtype=bool)
    pidx = {p: i for i, p in enumerate(ps_t)}

    store = None
    if out is not None:
        from ._store import TrialLog
        store = TrialLog(out, header, fields=WORLD_SIM_FIELDS, points={(p / n, s / p): (p, s) for p in ps_t},
                         seed=seed, n=n)
        for (kappa, _alpha, t), row in store.open().items():
            if t < trials:
                i = pidx[by_kappa[kappa]]
                samples[i, t] = row
                filled[i, t] = True
    try:
        def tasks():  # one task per trial: the design is drawn once for every p of the trial still missing
            for t in range(trials):
                missing = tuple(p for p in ps_t if not filled[pidx[p], t])
                if missing:
                    yield (spec, missing, t)

        from ._progress import bar as _bar, note
        if store is not None and filled.any():
            note(f"resumed {os.fspath(out)}: {int(filled.sum())} trials read back, {int((~filled).sum())} to run",
                 enabled=progress)
        bar = _bar(int((~filled).sum()), f"simulate world: {len(ps_t)} model size(s) x {trials} trials",
                   enabled=progress)
        try:
            runner = (run_dask(tasks(), scheduler, run_world_trial) if scheduler is not None
                      else run_parallel(run_world_trial, tasks(), workers))
            for (_, tps, t), rows in runner:
                recs = []
                for p, row in zip(tps, rows):
                    if not np.isfinite(row).all():
                        if store is not None and recs:  # the finished p of this trial are kept
                            store.write_trials(recs)
                        f = WORLD_SIM_FIELDS[int(np.nonzero(~np.isfinite(row))[0][0])]
                        raise DCPredictError(
                            f"the world simulation produced {f} = {float(row[_FIDX[f]])!r} at p={p} trial {t}: "
                            "the problem is out of the range double precision can simulate (check the scales of "
                            "lam, b, sigma2 and ridge)")
                    i = pidx[p]
                    samples[i, t] = row
                    filled[i, t] = True
                    rec = {"kappa": p / n, "alpha": s / p, "trial": t, "seed": seed, "n": n, "p": p, "s": s}
                    rec.update({f: float(row[j]) for j, f in enumerate(WORLD_SIM_FIELDS)})
                    recs.append(rec)
                if store is not None:
                    store.write_trials(recs)
                bar.update(len(tps))
        finally:
            bar.close()
    finally:
        if store is not None:
            store.close()
    if not filled.all():  # pragma: no cover - every task has run
        raise RuntimeError("internal error: world simulation trials missing")
    return WorldSimulationResult(law=law, n=n, P=P, ps=ps_t, s=s, sigma2=sigma2, ridge=ridge, order=order,
                                 trials=trials, seed=seed, samples=samples)
