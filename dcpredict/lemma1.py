"""Lemma 1 of the paper: perfectly correlated features, exact at finite n (the theory page, :ref:`theory-lemma1`).

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
(:func:`rank_one_problem`); the simulator that checks them is the general correlated-features simulator
:func:`dcpredict.correlated_simulation.simulate_correlated`, available here as :func:`simulate`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._results import Result
from ._validate import DCPredictError, check_array, check_int, check_real
from .correlated_simulation import SIM_FIELDS, CorrelatedSimulation, simulate_correlated

#: The Lemma 1 checks use the general correlated-features simulator.
simulate = simulate_correlated
GeneralSimulation = CorrelatedSimulation

__all__ = ["closed_forms", "Lemma1Risks", "rank_one_problem", "simulate", "GeneralSimulation", "SIM_FIELDS"]

@dataclass(frozen=True, repr=False)
class Lemma1Risks(Result):
    """Exact risks of Lemma 1 (the theory page, :ref:`theory-lemma1`) and their inputs."""
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

    def to_dict(self) -> dict[str, Any]:
        return {"dense": self.dense, "pruned": self.pruned, "retrained": self.retrained,
                "pruning_bias": self.pruning_bias, "lam": self.lam, "S": self.S, "sigma2": self.sigma2,
                "n": self.n, "alpha": self.alpha}

    def summary(self) -> str:
        return (f"Lemma 1 (perfectly correlated features), exact at n = {self.n}: lam = {self.lam:g}, S = {self.S:g}, "
                f"sigma2 = {self.sigma2:g}, alpha = {self.alpha:g}\n  dense {self.dense:.6g}   pruned {self.pruned:.6g} "
                f"(bias {self.pruning_bias:.6g})   retrained {self.retrained:.6g}")

    def __repr__(self) -> str:
        return (f"Lemma1Risks(n={self.n}, alpha={self.alpha:g}, dense={self.dense:.6g}, pruned={self.pruned:.6g}, "
                f"retrained={self.retrained:.6g})")


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
