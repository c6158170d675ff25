"""Lemma 1 of the paper: perfectly correlated features, exact at finite n (THEORY.md section 5).

All p features equal: x = sqrt(lambda) g (1, ..., 1), g ~ N(0, 1), so Sigma = lambda 1 1^T (rank one)
and only S = sum_i beta_i matters.  The min-norm fit spreads the one-dimensional least-squares
estimate S_hat evenly, beta_hat_i = S_hat / p, with E[(S_hat - S)^2] = sigma^2 / (lambda (n - 2)).
Exactly, for n > 2 and s = alpha p kept weights (eqs. 5-6):

* dense:                     sigma^2 (1 + 1/(n - 2))
* pruned (magnitude and Hessian tie; any s coordinates):
                             sigma^2 + lambda (1 - alpha)^2 S^2 + alpha^2 sigma^2 / (n - 2)
* retrained on the kept s (same or fresh samples): sigma^2 (1 + 1/(n - 2)).

Pruning alone is biased; retraining removes the bias because the kept features carry the prediction
of the removed ones.  This module gives the closed forms (:func:`closed_forms`), the rank-one problem
(:func:`rank_one_problem`) and a small simulator for a general, possibly singular, covariance
(:func:`simulate`) that checks them and the retraining logic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._fit import fit_least_squares
from ._validate import DCPredictError, check_array, check_int, check_real
from .correlated import check_problem, kept_count, spectrum
from ._select import top_indices

__all__ = ["closed_forms", "Lemma1Risks", "rank_one_problem", "simulate", "GeneralSimulation", "SIM_FIELDS"]

#: Fields of :func:`simulate`: dense, pruned (magnitude / Hessian), retrained on fresh samples
#: (``*_retrained``, the paper's Definition 5) and on the same samples (``*_retrained_same``).
SIM_FIELDS = ("dense", "magnitude", "hessian", "magnitude_retrained", "hessian_retrained",
              "magnitude_retrained_same", "hessian_retrained_same")


@dataclass(frozen=True)
class Lemma1Risks:
    """Exact risks of Lemma 1 (THEORY.md section 5) and their inputs."""
    dense: float
    pruned: float
    retrained: float
    lam: float
    S: float
    sigma2: float
    n: int
    alpha: float

    @property
    def pruning_bias(self) -> float:
        """lambda (1 - alpha)^2 S^2: the bias that pruning without retraining adds."""
        return self.lam * (1.0 - self.alpha) ** 2 * self.S ** 2


def closed_forms(*, lam: float, S: float, sigma2: float, n: int, alpha: float) -> Lemma1Risks:
    """Lemma 1 closed forms (exact at finite n > 2; alpha = s / p, the fraction kept)."""
    lam = check_real("lam", lam, lo=0.0, lo_open=True)
    S = check_real("S", S)
    sigma2 = check_real("sigma2", sigma2, lo=0.0)
    n = check_int("n", n, lo=3)
    alpha = check_real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True)
    var = sigma2 / (n - 2)
    return Lemma1Risks(dense=sigma2 + var, pruned=sigma2 + lam * (1.0 - alpha) ** 2 * S ** 2 + alpha ** 2 * var,
                       retrained=sigma2 + var, lam=lam, S=S, sigma2=sigma2, n=n, alpha=alpha)


def rank_one_problem(p: int, lam: float, beta: Any) -> tuple[np.ndarray, np.ndarray]:
    """(Sigma, beta) of Lemma 1: Sigma = lam 1 1^T (p x p, rank one), beta of length p
    (a scalar beta is spread evenly: beta_i = beta / p, so S = beta)."""
    p = check_int("p", p, lo=1)
    lam = check_real("lam", lam, lo=0.0, lo_open=True)
    b = check_array("beta", beta)
    if b.size == 1 and p > 1:
        b = np.full(p, float(b[0]) / p)
    if b.shape != (p,):
        raise DCPredictError(f"beta must be a number or have length p = {p}; got {b.size} entries")
    return np.full((p, p), lam), b


@dataclass(frozen=True)
class GeneralSimulation:
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

    def __str__(self) -> str:
        return self.summary()


def simulate(Sigma: Any, beta: Any, *, sigma2: float, n: int, alpha: float, ridge: float = 0.0, trials: int = 2000,
             seed: int | None = 0, hessian_diagonal: str = "empirical") -> GeneralSimulation:
    """Simulate least squares with pruning and retraining for a general (possibly singular) Sigma.

    Features x = Sigma^{1/2} g with Sigma^{1/2} from ``eigh`` with eigenvalues clipped at 0
    (numerically zero ones set to 0, see :func:`dcpredict.correlated.spectrum`); labels
    y = x^T beta + sigma z; the fit is :func:`dcpredict._fit.fit_least_squares` (min-norm / OLS /
    ridge; a rank-deficient design falls back to lstsq, so the rank-one design of Lemma 1 returns the
    min-norm solution).  Pruning keeps s = round(alpha p) weights by magnitude |b_i| or by Hessian
    saliency D_ii b_i^2, with D the empirical diagonal (X^T X / n)_ii (``hessian_diagonal="empirical"``)
    or the population diagonal Sigma_ii (``"population"``).  Retraining refits on the kept support
    with the same samples and with n fresh samples.  Risks are exact: sigma^2 + (b - beta)^T Sigma (b - beta).
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
    for t in range(trials):
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
    means = out.mean(axis=0)
    ses = out.std(axis=0, ddof=1) / math.sqrt(trials)
    return GeneralSimulation(**{k: float(means[i]) for k, i in col.items()},
                             stderr={k: float(ses[i]) for k, i in col.items()}, values=out, p=p, n=n, s=s,
                             alpha=al, sigma2=s2, ridge=r, trials=trials, seed=seed,
                             hessian_diagonal=hessian_diagonal)
