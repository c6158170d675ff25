"""Monte Carlo simulation of pruning and retraining on finite linear Gaussian problems.

Every risk that :func:`dcpredict.predict` computes in the p -> infinity limit (the theory page, sections
2-4) is measured here on finite instances, plus what the theory does not cover exactly:
retraining on the *same* samples after pruning.

The finite instance
-------------------
The linear Gaussian problem of the theory page (:ref:`theory-lgp`; the paper's Definition 1).
Given a law of (Lambda, B) as atoms (lam_k, b_k, w_k), a sample count ``n`` and a ratio
``kappa``: ``p = round(kappa * n)`` features (half rounded up); atom k gets ``c_k`` features with
``c_k`` proportional to ``w_k`` (largest-remainder rounding, so ``sum c_k = p`` and
``|c_k - w_k p| < 1``; remainder ties go to the lower atom index).  A law with many atoms
(quadrature) needs p well above its number of atoms, else the instance is a coarse version of
the law: a :class:`CoarseInstanceWarning` is issued when the instance's E[Lambda] or
E[Lambda B^2] is off by more than 2 %, and ``SimulationResult.instance_law()`` gives the law the
simulation actually measures.  Feature i has variance
``lam_i`` and true weight ``beta_i = B_i / sqrt(p)``.  The instance is fixed; each trial draws a
design ``X`` (n x p, rows ~ N(0, diag(lam))) and labels ``y = X beta + sigma z``.

One trial
---------
All risks are exact population risks ``sigma^2 + (b - beta)^T Sigma (b - beta)`` computed from Sigma and
beta (no test set).

* ``dense``: the fit on all p features (min-norm if p > n, OLS if p <= n, ridge if r > 0;
  :func:`dcpredict._fit.fit_least_squares`).
* supports of size ``s = round(alpha * p)`` (half up, at least 1):
  ``magnitude`` (s largest ``|beta_hat_i|``), ``hessian`` (s largest saliencies
  ``H_ii beta_hat_i^2`` with ``H_ii = lam_i`` for ``hessian="population"``, the default and the
  definition of the theory page, :ref:`theory-pruning`, or ``H_ii = (X^T X / n)_ii`` for ``hessian="empirical"``; the
  two have the same limit), ``random`` (uniform s-subset from the trial's RNG) and the oracle
  support (s largest true saliencies ``lam_i beta_i^2``, ties broken by feature index).  Ties in the
  data-driven scores are broken by ``numpy.argpartition`` (deterministic for given data).
* ``magnitude`` / ``hessian`` / ``random`` / ``oracle_pruned``: risk of the dense fit pruned to that
  support (eqs. 12-16 and the paper's Oracle pruning, no retraining).
* ``small_oracle``: least squares on the oracle support, fitted on the training samples
  (theory page, "train small with the known best features").
* ``*_retrained``: least squares on the kept support with **fresh** samples (the paper's
  Definition 5): a new design only for the s kept columns, and labels whose noise includes the
  signal of the removed features, ``sigma^2 + sum_{i not in S} lam_i beta_i^2``, which is exactly
  the law of the labels because the removed features are independent of the kept ones.
* ``*_retrained_same``: least squares on the kept support with the **training** samples
  (no exact DC; the paper's Fig. 4).

The same estimator (same ridge r, min-norm/OLS by the support's own shape) is used everywhere.

Sweeps, seeds and parallelism
-----------------------------
A sweep is a grid ``kappas x alphas`` with ``trials`` trials per point.  The unit of work is one
(kappa, trial): one training set and one dense fit shared by all alphas (common random numbers
across alpha), then per alpha its supports and retrainings.  Random streams are keyed by values,
not by positions or by workers:

* training data of (kappa, trial): ``SeedSequence(seed, spawn_key=(0, bits(kappa), trial))``;
* per alpha (random support, fresh samples):
  ``SeedSequence(seed, spawn_key=(1, bits(kappa), bits(alpha), trial))``;

``bits(x)`` is the IEEE-754 bit pattern of the float.  So a point's numbers do not depend on the
number of workers, on the order of completion, or on which other points are in the sweep:
``simulate(law, kappa=2, alpha=0.1, ...)`` equals the (2, 0.1) point of any sweep with the same
other arguments.  To make results bit-identical across workers, every trial runs with one BLAS
thread (OpenBLAS results change with the thread count); the parallelism is across processes.

Statistics: per point and field, mean, standard error ``std(ddof=1) / sqrt(T)`` and a 95 %
Student-t interval ``mean +- t_{0.975, T-1} * stderr``.
"""
from __future__ import annotations

import math
import os
import struct
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from . import RISK_FIELDS
from ._fit import fit_least_squares, gram
from ._results import Result
from ._validate import DCPredictError, check_choice, check_int, check_real
from .law import Law
from ._select import top_indices

__all__ = ["simulate", "simulate_sweep", "SimulationResult", "SimulationSweep", "SIM_FIELDS", "SAME_SAMPLE_FIELDS",
           "instance", "run_unit", "UnitSpec", "CoarseInstanceWarning"]

SAME_SAMPLE_FIELDS = ("magnitude_retrained_same", "hessian_retrained_same", "random_retrained_same")
#: all fields a simulation measures, in the order of the per-trial arrays
SIM_FIELDS = tuple(RISK_FIELDS) + SAME_SAMPLE_FIELDS
HESSIAN_CHOICES = ("population", "empirical")
#: the pass rule of a theory-vs-simulation check (dcpredict.validation, dcpredict.compression_sim): a risk
#: passes iff |sim - theory| <= Z_LIMIT se + margin theory, margin = BASE_MARGIN + SLOPE_MARGIN / (n |1 - rho|)
Z_LIMIT = 4.0
BASE_MARGIN = 0.03
SLOPE_MARGIN = 2.0
from ._store import HEADER_KEY, HEADER_VERSION  # noqa: F401  (the trial log's format)

_FIDX = {f: i for i, f in enumerate(SIM_FIELDS)}


# --------------------------------------------------------------------------- execution (dcpredict._parallel)
from ._parallel import (_BLAS, _single_thread_blas, _worker_init, default_workers, run_dask,  # noqa: E402,F401
                        run_parallel)


# --------------------------------------------------------------------------- instance
def _float_bits(x: float) -> int:
    return int.from_bytes(struct.pack("<d", float(x)), "little")


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def atom_counts(weights: np.ndarray, p: int) -> np.ndarray:
    """Counts ``c_k`` proportional to ``weights`` summing to ``p`` (largest remainders; ties to lower index)."""
    raw = np.asarray(weights, dtype=np.float64) * p
    counts = np.floor(raw).astype(np.int64)
    short = p - int(counts.sum())
    if short > 0:
        order = np.argsort(-(raw - counts), kind="stable")
        counts[order[:short]] += 1
    return counts


def instance(law: Law, kappa: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lam, beta)`` of the finite instance of size ``p = round(kappa n)`` (the theory page, :ref:`theory-lgp`).

    Features are grouped by atom; ``beta_i = B_i / sqrt(p)``.  See the module docstring for the
    largest-remainder rounding of the counts.
    """
    p = _round_half_up(kappa * n)
    counts = atom_counts(law.weights, p)
    lam = np.repeat(law.lam, counts)
    beta = np.repeat(law.b, counts) / math.sqrt(p)
    return lam, beta


@dataclass(frozen=True)
class UnitSpec:
    """Everything one (kappa, trial) unit needs: picklable, sent to local or Dask workers."""

    lam: np.ndarray
    beta: np.ndarray
    sigma2: float
    ridge: float
    n: int
    kappa: float
    alphas: tuple[float, ...]
    sizes: tuple[int, ...]
    seed: int
    hessian: str
    oracle_order: np.ndarray = field(repr=False)

    @property
    def p(self) -> int:
        return int(self.lam.size)


def _make_spec(law: Law, kappa: float, alphas: Sequence[float], *, sigma2: float, ridge: float, n: int,
               seed: int, hessian: str) -> UnitSpec:
    lam, beta = instance(law, kappa, n)
    p = lam.size
    sizes = tuple(max(1, _round_half_up(a * p)) for a in alphas)
    oracle_order = np.argsort(-(lam * beta * beta), kind="stable")
    return UnitSpec(lam=lam, beta=beta, sigma2=sigma2, ridge=ridge, n=n, kappa=kappa, alphas=tuple(alphas),
                    sizes=sizes, seed=seed, hessian=hessian, oracle_order=oracle_order)


def run_unit(spec: UnitSpec, trial: int) -> np.ndarray:
    """One trial at one kappa for every alpha of the spec: array ``(len(alphas), len(SIM_FIELDS))``.

    Top-level and picklable, for ``ProcessPoolExecutor`` and Dask.  Deterministic given
    ``(spec, trial)``: runs with one BLAS thread (see the module docstring for the seeds).
    """
    with _BLAS.limit(1):
        return _run_unit(spec, trial)


def _run_unit(spec: UnitSpec, trial: int) -> np.ndarray:
    n, p, r = spec.n, spec.p, spec.ridge
    lam, beta, sigma2 = spec.lam, spec.beta, spec.sigma2
    sigma = math.sqrt(sigma2)
    sqrt_lam = np.sqrt(lam)
    kbits = _float_bits(spec.kappa)
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(0, kbits, trial)))

    X = rng.standard_normal((n, p))
    X *= sqrt_lam
    y = X @ beta
    y += sigma * rng.standard_normal(n)

    lam_beta2 = lam * beta * beta
    signal = float(lam_beta2.sum())

    dual = p > n
    G = gram(X, dual=dual)
    if spec.hessian == "empirical":
        hdiag = (np.diagonal(G).copy() if not dual else np.einsum("ij,ij->j", X, X)) / n
    else:
        hdiag = lam
    b_hat = fit_least_squares(X, y, r, G=G)

    def risk_on(S: np.ndarray, coef: np.ndarray) -> float:
        d = coef - beta[S]
        return sigma2 + signal - float(lam_beta2[S].sum()) + float(np.dot(lam[S], d * d))

    d = b_hat - beta
    dense = sigma2 + float(np.dot(lam, d * d))
    mag_score = np.abs(b_hat)
    hes_score = hdiag * b_hat * b_hat

    out = np.empty((len(spec.alphas), len(SIM_FIELDS)))
    for j, (alpha, s) in enumerate(zip(spec.alphas, spec.sizes)):
        arng = np.random.default_rng(
            np.random.SeedSequence(spec.seed, spawn_key=(1, kbits, _float_bits(alpha), trial)))
        supports = {
            "magnitude": top_indices(mag_score, s),
            "hessian": top_indices(hes_score, s),
            "random": np.sort(arng.choice(p, size=s, replace=False, shuffle=False)),
        }
        row = out[j]
        row[_FIDX["dense"]] = dense
        for rule, S in supports.items():
            row[_FIDX[rule]] = risk_on(S, b_hat[S])
            row[_FIDX[rule + "_retrained_same"]] = risk_on(S, fit_least_squares(X[:, S], y, r))
        for rule, S in supports.items():  # fresh samples: only the kept columns are drawn
            Xf = arng.standard_normal((n, s))
            Xf *= sqrt_lam[S]
            noise2 = sigma2 + max(signal - float(lam_beta2[S].sum()), 0.0)
            yf = Xf @ beta[S]
            yf += math.sqrt(noise2) * arng.standard_normal(n)
            row[_FIDX[rule + "_retrained"]] = risk_on(S, fit_least_squares(Xf, yf, r))
        S = np.sort(spec.oracle_order[:s])
        row[_FIDX["oracle_pruned"]] = risk_on(S, b_hat[S])
        row[_FIDX["small_oracle"]] = risk_on(S, fit_least_squares(X[:, S], y, r))
    return out


# --------------------------------------------------------------------------- results
def _t975(df: int) -> float:
    from scipy.stats import t
    return float(t.ppf(0.975, df))


@dataclass(repr=False)
class SimulationResult(Result):
    """Monte Carlo risks at one (kappa, alpha).

    Attributes: the inputs (``law``, ``kappa``, ``alpha``, ``sigma2``, ``ridge``, ``n``, ``p``,
    ``s``, ``trials``, ``seed``, ``hessian_diagonal``: the ``hessian=`` argument of :func:`simulate`,
    "population" or "empirical") and ``samples``, an array ``(trials, len(SIM_FIELDS))`` of the
    per-trial risks in the order of :data:`SIM_FIELDS` (row t is trial t).
    ``result["hessian"]`` is one field's per-trial array; ``mean``, ``stderr`` and ``ci95`` are
    dicts field -> value (``ci95``: 95 % Student-t interval with trials - 1 degrees of freedom).
    """

    law: Law
    kappa: float
    alpha: float
    sigma2: float
    ridge: float
    n: int
    p: int
    s: int
    trials: int
    seed: int
    hessian_diagonal: str
    samples: np.ndarray

    fields = SIM_FIELDS

    def __getitem__(self, name: str) -> np.ndarray:
        check_choice("field", name, SIM_FIELDS)
        return self.samples[:, _FIDX[name]]

    @property
    def mean(self) -> dict[str, float]:
        m = self.samples.mean(axis=0)
        return {f: float(m[i]) for i, f in enumerate(SIM_FIELDS)}

    @property
    def stderr(self) -> dict[str, float]:
        with np.errstate(invalid="ignore"):
            se = self.samples.std(axis=0, ddof=1) / math.sqrt(self.trials)
        return {f: float(se[i]) for i, f in enumerate(SIM_FIELDS)}

    @property
    def ci95(self) -> dict[str, tuple[float, float]]:
        q = _t975(self.trials - 1)
        m, se = self.mean, self.stderr
        return {f: (m[f] - q * se[f], m[f] + q * se[f]) for f in SIM_FIELDS}

    def instance_law(self) -> Law:
        """The empirical law of the simulated instance (p atoms of weight 1/p; the theory page, :ref:`theory-lgp`).

        ``dcpredict.predict(result.instance_law(), ...)`` is the paper's non-asymptotic prediction
        for exactly this instance; it differs from the prediction for ``law`` when p is too small
        to represent the law's atoms (e.g. a quadrature law with more atoms than features).
        """
        lam, beta = instance(self.law, self.kappa, self.n)
        return Law.empirical(lam, beta * math.sqrt(lam.size))

    def to_dict(self) -> dict:
        """JSON-ready dict: the inputs and per field ``{"mean", "stderr", "ci95": [lo, hi]}``."""
        m, se, ci = self.mean, self.stderr, self.ci95
        d: dict[str, Any] = {"kappa": self.kappa, "alpha": self.alpha, "sigma2": self.sigma2, "ridge": self.ridge,
                             "n": self.n, "p": self.p, "s": self.s, "trials": self.trials, "seed": self.seed,
                             "hessian_diagonal": self.hessian_diagonal, "law": self.law.to_dict()}
        for f in SIM_FIELDS:
            d[f] = {"mean": m[f], "stderr": se[f], "ci95": [ci[f][0], ci[f][1]]}
        return d

    def _records(self) -> list[dict[str, Any]]:
        m, se = self.mean, self.stderr
        return [{"field": f, "mean": m[f], "stderr": se[f], "kappa": self.kappa, "alpha": self.alpha}
                for f in SIM_FIELDS]

    def summary(self) -> str:
        m, se, ci = self.mean, self.stderr, self.ci95
        head = (f"simulation: kappa={self.kappa:g} alpha={self.alpha:g} n={self.n} p={self.p} s={self.s} "
                f"sigma2={self.sigma2:g} ridge={self.ridge:g} trials={self.trials} seed={self.seed} "
                f"hessian diagonal: {self.hessian_diagonal}")
        lines = [head, f"  {'field':<26}{'mean':>12}{'stderr':>12}   95% interval (t)"]
        for f in SIM_FIELDS:
            lines.append(f"  {f:<26}{m[f]:>12.6g}{se[f]:>12.3g}   [{ci[f][0]:.6g}, {ci[f][1]:.6g}]")
        return "\n".join(lines)

    def _plot(self, ax, fields: Sequence[str] | None = None) -> None:
        """The mean of each field of ``fields`` (default: all 11) with its ±1 standard-error bar (caps), one
        position per field on the x axis."""
        from ._results import plot_categories
        fields = SIM_FIELDS if fields is None else tuple(check_choice("field", f, SIM_FIELDS) for f in fields)
        m, se = self.mean, self.stderr
        plot_categories(ax, {f: m[f] for f in fields}, {f: se[f] for f in fields},
                        ylabel="test risk (simulation, mean ± 1 se)",
                        title=f"kappa = {self.kappa:g}, alpha = {self.alpha:g}, n = {self.n}, p = {self.p}, "
                              f"s = {self.s}, {self.trials} trials")

    def __repr__(self) -> str:
        return (f"<SimulationResult kappa={self.kappa:g} alpha={self.alpha:g} n={self.n} p={self.p} "
                f"trials={self.trials} dense={self.mean['dense']:.6g}>")


@dataclass(repr=False)
class SimulationSweep(Result):
    """Monte Carlo risks over a grid ``kappas x alphas`` (:func:`simulate_sweep`).

    A sequence of :class:`SimulationResult` (``sweep[i]``, ``len(sweep)``, iteration, in the order
    ``[(k, a) for k in kappas for a in alphas]``) that also offers :meth:`to_dataframe` (one row per point:
    kappa, alpha, p, s, and per field its mean and ``<field>_stderr``), :meth:`to_xarray` (dims kappa, alpha,
    field), :meth:`point`, :meth:`plot` (error bars against kappa), ``save``/``load``.
    """

    law: Law
    kappas: tuple
    alphas: tuple
    sigma2: float
    ridge: float
    n: int
    trials: int
    seed: int
    hessian_diagonal: str
    results: list

    fields = SIM_FIELDS

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self):
        return iter(self.results)

    def __getitem__(self, i):
        return self.results[i]

    def point(self, kappa: float, alpha: float) -> SimulationResult:
        """The result at one (kappa, alpha) of the grid."""
        for r in self.results:
            if r.kappa == kappa and r.alpha == alpha:
                return r
        raise DCPredictError(f"(kappa, alpha) must be a point of the sweep (kappas {list(self.kappas)}, alphas "
                             f"{list(self.alphas)}); got ({kappa!r}, {alpha!r})")

    def inputs(self) -> dict[str, Any]:
        """The arguments that determine the numbers, JSON-ready."""
        return {"law": self.law.to_dict(), "kappas": list(self.kappas), "alphas": list(self.alphas),
                "sigma2": self.sigma2, "ridge": self.ridge, "n": self.n, "trials": self.trials, "seed": self.seed,
                "hessian_diagonal": self.hessian_diagonal}

    def to_dict(self) -> dict[str, Any]:
        """The inputs and ``"points"``: each point's :meth:`SimulationResult.to_dict` without the law."""
        return {**self.inputs(), "points": [{k: v for k, v in r.to_dict().items() if k != "law"}
                                            for r in self.results]}

    def _records(self) -> list[dict[str, Any]]:
        rows = []
        for r in self.results:
            m, se = r.mean, r.stderr
            row: dict[str, Any] = {"kappa": r.kappa, "alpha": r.alpha, "p": r.p, "s": r.s, "trials": r.trials}
            row.update({f: m[f] for f in SIM_FIELDS})
            row.update({f"{f}_stderr": se[f] for f in SIM_FIELDS})
            rows.append(row)
        return rows

    def to_dataframe(self):
        """One row per (kappa, alpha): kappa, alpha, p, s, trials, each field's mean and ``<field>_stderr``;
        the inputs in ``df.attrs``."""
        df = super().to_dataframe()
        df.attrs.clear()
        df.attrs.update(self.inputs())
        return df

    def to_xarray(self):
        """An :class:`xarray.Dataset` with variables ``mean`` and ``stderr`` of dims (kappa, alpha, field) and
        ``p`` (kappa), ``s`` (kappa, alpha); the inputs in ``attrs`` (the law as its repr)."""
        try:
            import xarray as xr
        except ImportError:
            raise DCPredictError("to_xarray needs xarray: pip install 'dcpredict[data]'") from None
        K, A, F = len(self.kappas), len(self.alphas), len(SIM_FIELDS)
        mean, se = np.full((K, A, F), np.nan), np.full((K, A, F), np.nan)
        p, sz = np.zeros(K, dtype=np.int64), np.zeros((K, A), dtype=np.int64)
        for r in self.results:
            i, j = self.kappas.index(r.kappa), self.alphas.index(r.alpha)
            m, e = r.mean, r.stderr
            mean[i, j] = [m[f] for f in SIM_FIELDS]
            se[i, j] = [e[f] for f in SIM_FIELDS]
            p[i], sz[i, j] = r.p, r.s
        attrs = {k: v for k, v in self.inputs().items() if k not in ("kappas", "alphas", "law")}
        attrs["law"] = repr(self.law)
        return xr.Dataset({"mean": (("kappa", "alpha", "field"), mean), "stderr": (("kappa", "alpha", "field"), se),
                           "p": (("kappa",), p), "s": (("kappa", "alpha"), sz)},
                          coords={"kappa": list(self.kappas), "alpha": list(self.alphas), "field": list(SIM_FIELDS)},
                          attrs=attrs)

    def _plot(self, ax, fields: Sequence[str] | None = None, logx: bool = True, logy: bool = True) -> None:
        """Each field's mean ±1 standard error against kappa (one series per alpha when there are several);
        default fields: dense, magnitude, hessian, oracle_pruned, small_oracle."""
        from ._results import plot_errorbars
        fields = ("dense", "magnitude", "hessian", "oracle_pruned", "small_oracle") if fields is None else \
            tuple(check_choice("field", f, SIM_FIELDS) for f in fields)
        for a in self.alphas:
            pts = sorted((r for r in self.results if r.alpha == a), key=lambda r: r.kappa)
            x = [r.kappa for r in pts]
            suffix = ", simulation (mean ± 1 se)" + (f", alpha = {a:g}" if len(self.alphas) > 1 else "")
            plot_errorbars(ax, x, {f: [r.mean[f] for r in pts] for f in fields},
                           {f: [r.stderr[f] for r in pts] for f in fields}, logx=logx and len(x) > 1,
                           logy=logy, suffix=suffix)
        ax.set_xlabel(f"kappa = p / n (n = {self.n})")
        ax.set_ylabel("test risk")
        ax.set_title(f"{self.trials} trials per point, $\\sigma^2$ = {self.sigma2:g}, ridge = {self.ridge:g}"
                     + (f", alpha = {self.alphas[0]:g}" if len(self.alphas) == 1 else ""), fontsize=10)

    def summary(self) -> str:
        return "\n\n".join(r.summary() for r in self.results)

    def __repr__(self) -> str:
        return (f"<SimulationSweep {len(self.kappas)} kappas x {len(self.alphas)} alphas, n={self.n}, "
                f"trials={self.trials}>")


# --------------------------------------------------------------------------- JSONL store
# the trial log (recognition, validation, resume) lives in dcpredict._store
from ._store import TrialLog as _Store  # noqa: E402


def _run_dask(tasks, scheduler: str, fn=None):
    """:func:`dcpredict._parallel.run_dask` with :func:`run_unit` as the default task function."""
    return run_dask(tasks, scheduler, run_unit if fn is None else fn)


# --------------------------------------------------------------------------- public API
class CoarseInstanceWarning(UserWarning):
    """The finite instance represents the law poorly (too few features for its atoms)."""


#: relative deviation of the instance's E[Lambda], E[Lambda B^2] from the law's that triggers a warning
COARSE_TOL = 0.02


def warn_if_coarse(law: Law, lam: np.ndarray, beta: np.ndarray, what: str, advice: str) -> None:
    """CoarseInstanceWarning when a finite instance (variances ``lam``, weights ``beta``) misrepresents the law:
    its E[Lambda] or E[Lambda B^2] off by more than COARSE_TOL relative (too few features per atom)."""
    checks = (("E[Lambda]", law.expect(law.lam), float(lam.mean())),
              ("E[Lambda B^2]", law.signal_power, float((lam * beta ** 2).sum())))
    for name, want, got in checks:
        if abs(got - want) > COARSE_TOL * max(abs(want), 1e-300):
            import warnings
            warnings.warn(
                f"{what} has {name} = {got:.4g} while the law has {want:.4g} (the law has {law.n_atoms} atoms); "
                f"the simulation then measures this instance, not the law: {advice}", CoarseInstanceWarning,
                stacklevel=4)
            return


def _warn_if_coarse(law: Law, spec: UnitSpec) -> None:
    warn_if_coarse(law, spec.lam, spec.beta, f"at kappa={spec.kappa:g} the instance with p={spec.p} features",
                   "use a larger n, a law with fewer atoms, or compare with predict(result.instance_law(), ...)")


def _floats(name: str, values: Any, **limits) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        values = [values]
    out = tuple(check_real(name, v, **limits) for v in values)
    if not out:
        raise DCPredictError(f"{name} must have at least one value; got an empty list")
    if len(set(out)) != len(out):
        raise DCPredictError(f"{name} must not repeat a value; got {list(out)}")
    return out


def simulate_sweep(law: Law, *, kappas: Any, alphas: Any, sigma2: float, ridge: float = 0.0, n: int,
                   trials: int, seed: int = 0, workers: int | None = None, hessian: str = "population",
                   out: str | os.PathLike | None = None, scheduler: str | None = None,
                   progress: bool = True) -> SimulationSweep:
    """Simulate a grid ``kappas x alphas`` with ``trials`` trials per point (the theory page, sections 1-4).

    Parameters
    ----------
    law : Law
        The law of (Lambda, B); the instance at each kappa has ``p = round(kappa n)`` features
        (see the module docstring for the rounding of the atom counts).
    kappas, alphas : number or sequence of numbers
        kappa > 0 (p = round(kappa n) >= 1); alpha in (0, 1] with s = round(alpha p) >= 1.
    sigma2 : float >= 0
        Label noise variance.
    ridge : float >= 0
        r of the ridge estimator ``(X^T X / n + r I)^{-1} X^T y / n``; 0 = min-norm / OLS.
    n : int >= 2
        Training samples.
    trials : int >= 2
        Trials per point.
    seed : int >= 0
        Root seed; results depend only on (seed, kappa, alpha, trial) and the other arguments,
        never on ``workers``, ``scheduler`` or the rest of the grid.
    workers : int >= 1, optional
        Local worker processes (default: all cores available); 1 runs in this process.  Workers
        are started with the "spawn" method (each runs with one BLAS thread), so a script that
        calls this with workers > 1 needs the usual ``if __name__ == "__main__":`` guard.
        Workers exit by themselves if this process is killed.
    hessian : "population" (default) or "empirical"
        Diagonal used by the Hessian rule: Sigma_ii = lam_i (the theory page, :ref:`theory-pruning`) or (X^T X / n)_ii.
    out : path, optional
        JSONL file: one line per finished (kappa, alpha, trial) with keys kappa, alpha, trial,
        seed, n, p, s, the 11 risks and ``run`` (a fingerprint of all arguments except
        ``workers``/``scheduler``/``progress`` and ``trials``), appended (and fsync'ed) as each
        trial finishes; the arguments themselves are written to the sidecar ``FILE.args.json``.
        Only a new file or a trial log of the same run is accepted; anything else raises
        DCPredictError and is left untouched.  If the log exists, every record is validated
        (a corrupted line is refused, naming it), only missing trials are run and the stored ones
        are read back (a trailing partial line from a killed run is dropped); a rerun with more
        trials extends the log (trials are seeded individually).  A symlink is followed; a device
        or pipe is refused.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``"tcp://host:port"``); trials then run on that
        cluster (``workers`` is ignored).  Workers should use one thread each (or
        OPENBLAS_NUM_THREADS=1) for bit-identical results; the same CPU type gives the same bits.
    progress : bool
        Progress on stderr (default True, as every long-running function of dcpredict): a bar with an
        estimate of the remaining time, and a line saying how many trials a resumed ``out`` read back.

    Returns
    -------
    SimulationSweep
        A sequence of :class:`SimulationResult` in the order ``[(k, a) for k in kappas for a in alphas]``,
        with ``to_dataframe``, ``to_xarray`` and ``plot``.
    """
    if not isinstance(law, Law):
        raise DCPredictError(f"law must be a dcpredict.Law; got {type(law).__name__}")
    kap = _floats("kappa", kappas, lo=0.0, lo_open=True)
    alp = _floats("alpha", alphas, lo=0.0, hi=1.0, lo_open=True)
    sigma2 = check_real("sigma2", sigma2, lo=0.0)
    ridge = check_real("ridge", ridge, lo=0.0)
    n = check_int("n", n, lo=2)
    trials = check_int("trials", trials, lo=2)
    seed = check_int("seed", seed, lo=0)
    hessian = check_choice("hessian", hessian, HESSIAN_CHOICES)
    workers = default_workers() if workers is None else check_int("workers", workers, lo=1)
    from ._limits import check_scheduler, check_simulation
    check_simulation(kap, alp, n=n, trials=trials, workers=1 if scheduler is not None else workers,
                     n_fields=len(SIM_FIELDS))
    if scheduler is not None:
        scheduler = check_scheduler(scheduler)
    for k in kap:
        p = _round_half_up(k * n)
        if p < 1:
            raise DCPredictError(f"kappa must give p = round(kappa * n) >= 1; got kappa={k!r} with n={n} (p={p})")
        for a in alp:
            if _round_half_up(a * p) < 1:
                raise DCPredictError(f"alpha must give s = round(alpha * p) >= 1; got alpha={a!r} with p={p} "
                                 f"(kappa={k!r}, n={n})")

    specs = [_make_spec(law, k, alp, sigma2=sigma2, ridge=ridge, n=n, seed=seed, hessian=hessian) for k in kap]
    for spec in specs:
        _warn_if_coarse(law, spec)
    # the number of trials is not part of the fingerprint: a rerun with more trials extends the log
    header = {"law": law.to_dict(), "kappas": list(kap), "alphas": list(alp), "sigma2": sigma2, "ridge": ridge,
              "n": n, "seed": seed, "hessian": hessian}

    store = None
    done: dict[tuple[float, float, int], np.ndarray] = {}
    if out is not None:
        points = {(spec.kappa, a): (spec.p, s) for spec in specs for a, s in zip(spec.alphas, spec.sizes)}
        store = _Store(out, header, fields=SIM_FIELDS, points=points, seed=seed, n=n)
        done = store.open()
    # per point: (trials, fields) array, allocated when its first trial arrives, and which rows are filled
    samples: dict[tuple[float, float], np.ndarray] = {}
    filled: dict[tuple[float, float], np.ndarray] = {}

    def put(kappa: float, alpha: float, t: int, row: np.ndarray) -> bool:
        key = (kappa, alpha)
        if key not in samples:
            samples[key] = np.empty((trials, len(SIM_FIELDS)))
            filled[key] = np.zeros(trials, dtype=bool)
        if filled[key][t]:
            return False
        samples[key][t] = row
        filled[key][t] = True
        return True

    done_count = 0
    for (k, a, t), row in done.items():
        if t < trials:
            done_count += put(k, a, t, row)
    done = {}
    try:
        def missing(spec: UnitSpec, t: int) -> int:
            return sum(not (filled.get((spec.kappa, a)) is not None and filled[(spec.kappa, a)][t])
                       for a in spec.alphas)

        def tasks():  # streamed: nothing per trial is built up front
            for spec in specs:
                for t in range(trials):
                    if missing(spec, t):
                        yield (spec, t)

        n_missing = len(specs) * len(alp) * trials - sum(int(f.sum()) for f in filled.values())
        from ._progress import bar as _bar, note
        if store is not None and done_count:
            note(f"resumed {os.fspath(out)}: {done_count} trials read back, {n_missing} to run", enabled=progress)
        bar = _bar(n_missing, f"simulate {len(specs) * len(alp)} point(s) x {trials} trials", enabled=progress)
        try:
            runner = (_run_dask(tasks(), scheduler) if scheduler is not None
                      else run_parallel(run_unit, tasks(), workers))
            for (spec, t), rows in runner:
                if not np.isfinite(rows).all():
                    j, i = (int(v[0]) for v in np.nonzero(~np.isfinite(rows)))
                    raise DCPredictError(
                        f"the simulation produced {SIM_FIELDS[i]} = {float(rows[j, i])!r} at kappa={spec.kappa!r} "
                        f"alpha={spec.alphas[j]!r} trial {t}: the problem is out of the range double precision can "
                        "simulate (check the scales of lam, b, sigma2 and ridge)")
                records = []
                for j, a in enumerate(spec.alphas):
                    if not put(spec.kappa, a, t, rows[j]):
                        continue
                    if store is not None:
                        rec = {"kappa": spec.kappa, "alpha": a, "trial": t, "seed": seed, "n": n, "p": spec.p,
                               "s": spec.sizes[j]}
                        rec.update({f: float(rows[j, i]) for i, f in enumerate(SIM_FIELDS)})
                        records.append(rec)
                if store is not None and records:
                    store.write_trials(records)
                bar.update(len(spec.alphas) if store is None else len(records))
        finally:
            bar.close()
    finally:
        if store is not None:
            store.close()

    results = []
    for spec in specs:
        for j, a in enumerate(alp):
            key = (spec.kappa, a)
            if key not in filled or not filled[key].all():  # pragma: no cover - every task has run
                raise RuntimeError(f"internal error: trials missing at kappa={spec.kappa!r} alpha={a!r}")
            results.append(SimulationResult(law=law, kappa=spec.kappa, alpha=a, sigma2=sigma2, ridge=ridge, n=n,
                                            p=spec.p, s=spec.sizes[j], trials=trials, seed=seed, hessian_diagonal=hessian,
                                            samples=samples[key]))
    return SimulationSweep(law=law, kappas=tuple(kap), alphas=tuple(alp), sigma2=sigma2, ridge=ridge, n=n, trials=trials,
                           seed=seed, hessian_diagonal=hessian, results=results)


def simulate(law: Law, *, kappa: float, alpha: float, sigma2: float, ridge: float = 0.0, n: int, trials: int,
             seed: int = 0, workers: int | None = None, hessian: str = "population", scheduler: str | None = None,
             out: str | os.PathLike | None = None, progress: bool = True) -> SimulationResult:
    """Simulate one point (kappa, alpha); see :func:`simulate_sweep` for the arguments.

    Returns the same numbers as the (kappa, alpha) point of any sweep with the same other
    arguments, and as ``dcpredict simulate ... --json``.
    """
    k = check_real("kappa", kappa, lo=0.0, lo_open=True)
    a = check_real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True)
    return simulate_sweep(law, kappas=[k], alphas=[a], sigma2=sigma2, ridge=ridge, n=n, trials=trials, seed=seed,
                          workers=workers, hessian=hessian, out=out, scheduler=scheduler, progress=progress)[0]
