"""The theory on a dataset: the non-asymptotic vector DC of each model's equivalent linear Gaussian problem.

For each model size p, the model of the first p columns (in the stated order) is the linear Gaussian problem
``(Sigma_pp, beta_p, sigma_p^2)`` of :meth:`DataWorld.model`; its risks at n samples, pruned to s weights
(alpha = s / p), are :func:`dcpredict.predict_correlated` of that problem (the theory page,
:ref:`theory-correlated`): dense exactly, the pruned and retrained risks as Monte Carlo means over draws of the
DC vector with their standard errors.  Two fields are defined on the whole dataset, as in the fixed world:

* ``oracle_pruned``: the DC vector kept on the s columns of the MODEL with the largest Sigma_ii (beta_p)_i^2
  (the model's own population weights), no refit (as :func:`~dcpredict.predict_correlated` computes it);
* ``small_oracle``: least squares with n samples on the s columns of ALL P with the largest Sigma_ii beta_i^2
  (exact: the dense DC risk of that s-column problem, whose noise includes everything it leaves out).

Every risk is a population risk of the dataset: ``mean over the N rows of (y - phi^T b)^2`` for the Gaussian
equivalent of the fit (the model's noise sigma_p^2 includes the signal of the columns it leaves out).  The Hessian
rule of the theory uses the population diagonal Sigma_ii.

The computation runs with one BLAS thread: each p costs one p x p eigendecomposition and, for the retrained
risks, a few hundred s x s ones, for which BLAS threads only add overhead (measured on a loaded 2-core machine:
15 s with two threads, 0.4 s with one, at p = 800, s = 40).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import RISK_FIELDS
from .._results import Result, fmt
from .._validate import DCPredictError, check_int, check_real
from ._world import DataWorld, ORDERS, check_n_s_ps

__all__ = ["DataPrediction", "predict_data"]


@dataclass(frozen=True, repr=False)
class DataPrediction(Result):
    """Theory of the grow-then-prune experiment on a dataset, per model size p (:func:`predict_data`).

    ``theory[field]`` and ``theory_stderr[field]`` are arrays over ``ps`` for every field of
    :data:`dcpredict.RISK_FIELDS` (standard error 0 for the exact fields ``dense`` and ``small_oracle``; +inf
    risks at the interpolation threshold).  Per p also the model's ``model_sigma2`` (sigma_p^2),
    ``model_signal``, ``model_rank``, ``tau`` and ``gamma2``.
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
    sigma2: float
    signal: float
    draws: int
    retrain_draws: int
    seed: int
    theory: dict = field(repr=False)
    theory_stderr: dict = field(repr=False)
    model_sigma2: np.ndarray = field(repr=False)
    model_signal: np.ndarray = field(repr=False)
    model_rank: np.ndarray = field(repr=False)
    tau: np.ndarray = field(repr=False)
    gamma2: np.ndarray = field(repr=False)

    def point(self, p: int) -> dict[str, Any]:
        """``{"theory": {field: risk}, "theory_stderr": {field: se}}`` at one p."""
        i = _index(self.ps, p)
        return {"theory": {f: float(self.theory[f][i]) for f in RISK_FIELDS},
                "theory_stderr": {f: float(self.theory_stderr[f][i]) for f in RISK_FIELDS}}

    def inputs(self) -> dict[str, Any]:
        return {"name": self.name, "fingerprint": self.fingerprint, "N": self.N, "P": self.P, "n": self.n,
                "s": self.s, "order": self.order, "ridge": self.ridge, "sigma2": self.sigma2, "signal": self.signal,
                "draws": self.draws, "retrain_draws": self.retrain_draws, "seed": self.seed}

    def to_dict(self) -> dict[str, Any]:
        """The inputs and one row per p: p, the model's sigma2/signal/rank/tau/gamma2, theory and theory_stderr."""
        rows = []
        for i, p in enumerate(self.ps):
            rows.append({"p": int(p), "model_sigma2": float(self.model_sigma2[i]),
                         "model_signal": float(self.model_signal[i]), "model_rank": int(self.model_rank[i]),
                         "tau": float(self.tau[i]), "gamma2": float(self.gamma2[i]), **self.point(p)})
        return {**self.inputs(), "rows": rows}

    def _records(self) -> list[dict[str, Any]]:
        return [{"p": int(p), "field": f, "theory": float(self.theory[f][i]),
                 "theory_stderr": float(self.theory_stderr[f][i])}
                for i, p in enumerate(self.ps) for f in RISK_FIELDS]

    def summary(self) -> str:
        head = [f"dcpredict data theory: {self.name} (N = {self.N} rows, P = {self.P} columns), n = {self.n}, "
                f"s = {self.s}, order = {self.order}, ridge = {self.ridge:g}",
                f"dataset: sigma2 = {self.sigma2:.6g} (unexplained by all P columns), signal = {self.signal:.6g}; "
                f"pruned risks: {self.draws} DC draws (retrained {self.retrain_draws}), seed {self.seed}",
                f"{'p':>6}{'sigma_p2':>11}" + "".join(f"{_short(f):>10}" for f in RISK_FIELDS)]
        for i, p in enumerate(self.ps):
            head.append(f"{p:>6}{fmt(float(self.model_sigma2[i]), 4):>11}"
                        + "".join(f"{fmt(float(self.theory[f][i]), 4):>10}" for f in RISK_FIELDS))
        return "\n".join(head)

    def __repr__(self) -> str:
        return (f"<DataPrediction {self.name!r} N={self.N} P={self.P} n={self.n} s={self.s} order={self.order!r} "
                f"{len(self.ps)} model sizes>")


_SHORT = {"dense": "dense", "magnitude": "mag", "hessian": "hes", "random": "rand", "oracle_pruned": "orc_pr",
          "small_oracle": "small_or", "magnitude_retrained": "mag_rt", "hessian_retrained": "hes_rt",
          "random_retrained": "rand_rt", "magnitude_retrained_same": "mag_rs", "hessian_retrained_same": "hes_rs"}


def _short(f: str) -> str:
    return _SHORT.get(f, f[:9])


def _index(ps: tuple, p: Any) -> int:
    p = check_int("p", p)
    try:
        return list(ps).index(p)
    except ValueError:
        raise DCPredictError(f"p must be one of the model sizes {list(ps)}; got {p}") from None


def small_oracle_risk(world: DataWorld, n: int, s: int, ridge: float) -> float:
    """Exact DC risk of least squares with n samples on the s columns of largest Sigma_ii beta_i^2 of all P."""
    from ..correlated import support_risk
    return float(support_risk(world.Sigma, world.beta, world.sigma2, n, ridge, world.oracle_columns(s),
                              world.signal))


def predict_data(world: DataWorld, *, n: int, s: int, ps: Any, order: str = "given", ridge: float = 0.0,
                 draws: int = 400, seed: int = 0, retrain_draws: int | None = None,
                 progress: bool = False) -> DataPrediction:
    """Theory of the grow-then-prune experiment on a dataset (module docstring).

    Parameters
    ----------
    world : DataWorld
        The dataset.
    n : int >= 1
        Training samples.
    s : int >= 1
        Weights kept after pruning (alpha = s / p for the model of p columns).
    ps : int or sequence of int
        Model sizes, each in [s, P], no repeats.
    order : {"given", "variance", "saliency"}
        Which columns a model of size p takes (:meth:`DataWorld.column_order`).
    ridge : float >= 0
        Ridge penalty r (0: min-norm when the model's rank exceeds n, least squares below).
    draws, seed, retrain_draws
        Monte Carlo draws of the DC vector (see :func:`dcpredict.predict_correlated`); the same seed for every p.
    progress : bool
        tqdm progress bar on stderr (one step per p).

    Returns
    -------
    DataPrediction
    """
    from ..correlated import predict_correlated
    if not isinstance(world, DataWorld):
        raise DCPredictError(f"world must be a dcpredict.data.DataWorld; got {type(world).__name__}")
    n, s, ps_t = check_n_s_ps(world, n, s, ps)
    if order not in ORDERS:
        raise DCPredictError(f"order must be one of {', '.join(map(repr, ORDERS))}; got {order!r}")
    ridge = check_real("ridge", ridge, lo=0.0)
    draws = check_int("draws", draws, lo=2)
    seed = check_int("seed", seed, lo=0)
    k = len(ps_t)
    theory = {f: np.empty(k) for f in RISK_FIELDS}
    se = {f: np.empty(k) for f in RISK_FIELDS}
    msig, msignal, mrank, taus, g2s = (np.empty(k) for _ in range(5))
    so = small_oracle_risk(world, n, s, ridge)
    bar = None
    if progress:
        import sys
        from tqdm.auto import tqdm
        bar = tqdm(total=k, file=sys.stderr, unit="p", desc="theory", dynamic_ncols=True)
    rd = None
    from .._parallel import _BLAS
    try:
        for i, p in enumerate(ps_t):
            with _BLAS.limit(1):  # hundreds of small eigendecompositions: threads only add overhead
                m = world.model(p, order)
                pred = predict_correlated(m.Sigma, m.beta, sigma2=m.sigma2, n=n, alpha=s / p, ridge=ridge,
                                          draws=draws, seed=seed, retrain_draws=retrain_draws, eig=m.eig)
            if pred.s != s:  # pragma: no cover - round(s / p * p) is s for every p <= 2^52
                raise RuntimeError(f"internal error: kept {pred.s} weights instead of s = {s} at p = {p}")
            rd = pred.retrain_draws
            for f in RISK_FIELDS:
                theory[f][i] = getattr(pred, f)
                se[f][i] = pred.stderr.get(f, 0.0)
            theory["small_oracle"][i], se["small_oracle"][i] = so, 0.0
            msig[i], msignal[i], mrank[i], taus[i], g2s[i] = m.sigma2, m.signal, m.rank, pred.tau, pred.gamma2
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    for f in RISK_FIELDS:  # a divergent risk is +inf (interpolation threshold), never nan
        if np.isnan(theory[f]).any():  # pragma: no cover - predict_correlated never returns nan
            raise RuntimeError(f"internal error: nan theory for {f}")
    return DataPrediction(name=world.name, fingerprint=world.fingerprint, N=world.N, P=world.P, n=n, s=s,
                          ps=ps_t, order=order, ridge=ridge, sigma2=world.sigma2, signal=world.signal, draws=draws,
                          retrain_draws=int(rd), seed=seed, theory=theory, theory_stderr=se,
                          model_sigma2=msig, model_signal=msignal, model_rank=mrank.astype(np.int64), tau=taus,
                          gamma2=g2s)
