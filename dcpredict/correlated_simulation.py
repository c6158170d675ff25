"""Monte Carlo of least squares with a general, possibly singular, feature covariance Sigma.

The finite-problem counterpart of :func:`dcpredict.predict_correlated` (theory page,
:ref:`theory-correlated`) and the check of Lemma 1's closed forms (:mod:`dcpredict.lemma1`,
:ref:`theory-lemma1`): features x = Sigma^{1/2} g, labels y = x^T beta + sigma z, the fit of
:func:`dcpredict._fit.fit_least_squares`, pruning by magnitude and Hessian, retraining on the same and on
fresh samples, exact population risks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._fit import fit_least_squares
from ._results import Result
from ._select import top_indices
from ._validate import DCPredictError, check_int, check_real
from .correlated import check_problem, kept_count, spectrum

__all__ = ["simulate_correlated", "CorrelatedSimulation", "SIM_FIELDS"]

#: Fields of :func:`simulate_correlated`: dense, pruned (magnitude / Hessian), retrained on fresh samples
#: (``*_retrained``, the paper's Definition 5) and on the same samples (``*_retrained_same``).
SIM_FIELDS = ("dense", "magnitude", "hessian", "magnitude_retrained", "hessian_retrained",
              "magnitude_retrained_same", "hessian_retrained_same")


@dataclass(frozen=True, repr=False)
class CorrelatedSimulation(Result):
    """Monte Carlo risks (means over trials, ``stderr``, per-trial ``values``) of least squares on
    x ~ N(0, Sigma), y = x^T beta + sigma z, named as ``SIM_FIELDS``; inputs carried along."""
    dense: float
    magnitude: float
    hessian: float
    magnitude_retrained: float
    hessian_retrained: float
    magnitude_retrained_same: float
    hessian_retrained_same: float
    stderr: dict[str, float]
    values: np.ndarray = field(repr=False)
    p: int = 0
    n: int = 0
    s: int = 0
    alpha: float = 1.0
    sigma2: float = 0.0
    ridge: float = 0.0
    trials: int = 0
    seed: int | None = None
    hessian_diagonal: str = "empirical"

    def summary(self) -> str:
        lines = [f"simulation: p={self.p}, n={self.n}, alpha={self.alpha:g} (s={self.s}), sigma2={self.sigma2:g}, "
                 f"ridge={self.ridge:g}, trials={self.trials}, seed={self.seed}, Hessian diagonal: "
                 f"{self.hessian_diagonal}"]
        for k in SIM_FIELDS:
            lines.append(f"  {k:<25s} {getattr(self, k):.6g} +- {self.stderr[k]:.3g}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Inputs and per field {"mean", "stderr"}."""
        out: dict[str, Any] = {k: getattr(self, k) for k in ("p", "n", "s", "alpha", "sigma2", "ridge", "trials",
                                                             "seed", "hessian_diagonal")}
        out.update({k: {"mean": getattr(self, k), "stderr": self.stderr[k]} for k in SIM_FIELDS})
        return out

    def _records(self) -> list[dict[str, Any]]:
        return [{"field": k, "mean": getattr(self, k), "stderr": self.stderr[k]} for k in SIM_FIELDS]

    def _plot(self, ax) -> None:
        """Each field's mean with its ±1 standard-error bar, one position per field."""
        from ._results import plot_categories
        plot_categories(ax, {k: getattr(self, k) for k in SIM_FIELDS}, self.stderr,
                        ylabel="test risk (simulation, mean ± 1 se)",
                        title=f"p = {self.p}, n = {self.n}, s = {self.s}, {self.trials} trials")

    def __repr__(self) -> str:
        return (f"CorrelatedSimulation(p={self.p}, n={self.n}, s={self.s}, trials={self.trials}, "
                f"dense={self.dense:.6g})")


def simulate_correlated(Sigma: Any, beta: Any, *, sigma2: float, n: int, alpha: float, ridge: float = 0.0, trials: int = 2000,
             seed: int | None = 0, hessian_diagonal: str = "empirical",
             progress: bool = True) -> CorrelatedSimulation:
    """Simulate least squares with pruning and retraining for a general (possibly singular) Sigma.

    Features x = Sigma^{1/2} g with Sigma^{1/2} from ``eigh`` with eigenvalues clipped at 0
    (numerically zero ones set to 0, see :func:`dcpredict.correlated.spectrum`); labels
    y = x^T beta + sigma z; the fit is :func:`dcpredict._fit.fit_least_squares` (min-norm / OLS /
    ridge; a rank-deficient design falls back to lstsq, so the rank-one design of Lemma 1 returns the
    min-norm solution).  Pruning keeps s = round(alpha p) weights by magnitude ``|b_i|`` or by Hessian
    saliency D_ii b_i^2, with D the empirical diagonal (X^T X / n)_ii (``hessian_diagonal="empirical"``)
    or the population diagonal Sigma_ii (``"population"``).  Retraining refits on the kept support
    with the same samples and with n fresh samples.  Risks are exact: sigma^2 + (b - beta)^T Sigma (b - beta).
    ``progress`` (default True): a bar on stderr.
    """
    Sg, b = check_problem(Sigma, beta)
    p = Sg.shape[0]
    s2 = check_real("sigma2", sigma2, lo=0.0)
    n = check_int("n", n, lo=1)
    al = check_real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True)
    r = check_real("ridge", ridge, lo=0.0)
    trials = check_int("trials", trials, lo=2)
    if seed is not None:
        seed = check_int("seed", seed, lo=0)
    if hessian_diagonal not in ("empirical", "population"):
        raise DCPredictError(f"hessian_diagonal must be 'empirical' or 'population'; got {hessian_diagonal!r}")
    lam, V = spectrum(Sg)
    root = V * np.sqrt(lam)                   # Sigma^{1/2} = root @ V.T; x = root @ g -> rows X = G @ root.T
    s = kept_count(al, p)
    sigma = math.sqrt(s2)
    col = {k: i for i, k in enumerate(SIM_FIELDS)}
    out = np.empty((trials, len(SIM_FIELDS)))

    def risk(coef: np.ndarray, idx: np.ndarray | None = None) -> float:
        full = coef if idx is None else np.zeros(p)
        if idx is not None:
            full[idx] = coef
        dv = (full - b) @ V
        return float(s2 + np.dot(lam, dv * dv))

    rng = np.random.default_rng(seed)
    from ._progress import bar as _bar
    bar = _bar(trials, f"simulate correlated (p = {p}, n = {n})", enabled=progress)
    for t in range(trials):
        bar.update(1)
        X = rng.standard_normal((n, p)) @ root.T
        y = X @ b + sigma * rng.standard_normal(n)
        X2 = rng.standard_normal((n, p)) @ root.T
        y2 = X2 @ b + sigma * rng.standard_normal(n)
        bh = fit_least_squares(X, y, r)
        out[t, col["dense"]] = risk(bh)
        dg = np.einsum("ij,ij->j", X, X) / n if hessian_diagonal == "empirical" else np.diagonal(Sg)
        for rule, idx in (("magnitude", top_indices(np.abs(bh), s)), ("hessian", top_indices(dg * bh ** 2, s))):
            out[t, col[rule]] = risk(bh[idx], idx)
            out[t, col[f"{rule}_retrained_same"]] = risk(fit_least_squares(X[:, idx], y, r), idx)
            out[t, col[f"{rule}_retrained"]] = risk(fit_least_squares(X2[:, idx], y2, r), idx)
    bar.close()
    means = out.mean(axis=0)
    ses = out.std(axis=0, ddof=1) / math.sqrt(trials)
    return CorrelatedSimulation(**{k: float(means[i]) for k, i in col.items()},
                             stderr={k: float(ses[i]) for k, i in col.items()}, values=out, p=p, n=n, s=s,
                             alpha=al, sigma2=s2, ridge=r, trials=trials, seed=seed,
                             hessian_diagonal=hessian_diagonal)
