"""Random-features regression and its equivalent linear Gaussian problem (the theory page, :ref:`theory-correlated`).

The paper's Sec. 3.2 (Figs. 2 and 4), Definition 2 (equivalent LGP) and Definition 4 (pruning a
random-features model).  Inputs z ~ N(0, I_d), a fixed first layer W (p x d, unit-norm rows),
features x = ReLU(W z) (p of them), and a nonlinear label

    y = (u.z)^2                      (the paper's quadratic target, u a unit vector), or
    y = a (v.z) + (u.z)^2            (linear-plus-quadratic variant, u, v unit, not necessarily orthogonal).

Closed-form moments (exact; t_ij the angle between rows w_i, w_j; rho_i = w_i.u; nu_i = w_i.v):

* Sigma_ij = E[ReLU(w_i.z) ReLU(w_j.z)] = (sin t + (pi - t) cos t) / (2 pi), Sigma_ii = 1/2
  (the degree-1 arc-cosine kernel; cos t is clipped to [-1, 1]);
* E[ReLU(w.z) (u.z)^2] = (1 + rho^2) / sqrt(2 pi)
  (write u.z = rho X + sqrt(1 - rho^2) Y with X = w.z, Y independent: E[ReLU(X) X^2] = 2 / sqrt(2 pi),
  E[ReLU(X)] = 1 / sqrt(2 pi));
* E[ReLU(w.z) (v.z)] = nu E[ReLU(X) X] = nu / 2 (same decomposition; E[X^2 1{X > 0}] = 1/2);
* E[y^2] = E[(u.z)^4] + 2 a E[(v.z)(u.z)^2] + a^2 E[(v.z)^2] = 3 + 0 + a^2
  (the middle term is an odd Gaussian moment, 0 whatever the angle between u and v).

The equivalent LGP (Definition 2) has covariance Sigma, weights beta = Sigma^{-1} E[x y] and noise
sigma^2 = E[y^2] - beta^T Sigma beta; the Gaussian equivalence (a real ReLU design with a nonlinear
label behaves, for least squares and pruning, like x ~ N(0, Sigma) with y = x^T beta + sigma z) is
the approximation the paper validates, and :func:`compare_rf` measures it.

Solving for beta.  Sigma is a kernel matrix of a smooth kernel on the sphere S^{d-1}; when p >> d
its eigenvalues decay quickly and Sigma can be very badly conditioned.  :func:`equivalent_lgp`
uses the eigendecomposition Sigma = V diag(mu) V^T and the pseudo-inverse with a relative eigenvalue
floor ``rcond`` (default 1e-12): beta = sum_{mu_k > rcond mu_max} V_k (V_k^T E[xy]) / mu_k.  This is
the minimum-norm best linear predictor in the numerically resolved span of the features.  Why this
is safe: every coefficient c_k = V_k^T E[x y] = E[(V_k^T x) y] satisfies c_k^2 <= mu_k E[y^2]
(Cauchy-Schwarz), so the explained variance sum c_k^2 / mu_k is a partial sum of the Bessel
inequality sum_k c_k^2 / mu_k <= E[y^2]; truncation can only drop explained variance, sigma^2 stays
>= 0, and the dropped directions (eigenvalues below 1e-12 mu_max, near the rounding error
p eps mu_max of the computed eigenvalues, where c_k / mu_k is noise) carry negligible explained
variance: on the circle (d = 2, p = 600, cond(Sigma) ~ 1e16) sigma^2 changes by less than 1e-7
between floors 1e-8 and 1e-16 (tests/test_random_features.py).  An exactly singular Sigma (duplicated
rows) gives the minimum-norm beta, which splits weight evenly between copies.  The relative residual
||Sigma beta - E[xy]|| / ||E[xy]|| and the number of dropped directions are reported.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import RISK_FIELDS as _RISK_FIELDS
from ._fit import fit_least_squares
from ._validate import DCPredictError, check_array, check_int, check_real
from .correlated import CorrelatedPrediction, kept_count, predict_correlated
from ._results import Result, fmt
from ._select import top_indices

__all__ = ["draw_first_layer", "relu_moments", "RFMoments", "equivalent_lgp", "EquivalentLGP",
           "relu_features", "rf_labels", "population_risk", "simulate_rf", "RFSimulation",
           "compare_rf", "RFComparison", "RF_FIELDS"]

SQRT_2PI = math.sqrt(2.0 * math.pi)
UNIT_TOL = 1e-8
RCOND_BETA = 1e-12

#: Fields of a random-features simulation: the 9 risk names (``*_retrained`` = retrained on fresh
#: samples, the paper's Definition 5) plus retraining on the same samples.
RF_FIELDS = _RISK_FIELDS + ("magnitude_retrained_same", "hessian_retrained_same", "random_retrained_same")


# ---------------------------------------------------------------------------------------- inputs
def draw_first_layer(p: int, d: int, rng: Any = None) -> np.ndarray:
    """A first layer W (p x d) with rows drawn uniformly on the unit sphere S^{d-1}.

    ``rng`` is a numpy Generator, an int seed or None."""
    p = check_int("p", p, lo=1)
    d = check_int("d", d, lo=1)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(
        None if rng is None else check_int("rng", rng, lo=0))
    W = gen.standard_normal((p, d))
    norms = np.linalg.norm(W, axis=1, keepdims=True)
    while np.any(norms == 0.0):  # pragma: no cover - probability zero
        bad = norms[:, 0] == 0.0
        W[bad] = gen.standard_normal((int(bad.sum()), d))
        norms = np.linalg.norm(W, axis=1, keepdims=True)
    return W / norms


def _check_W(W: Any) -> np.ndarray:
    Wa = check_array("W", W, ndim=2)
    norms = np.linalg.norm(Wa, axis=1)
    bad = np.abs(norms - 1.0) > UNIT_TOL
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DCPredictError(f"W must have unit-norm rows (within {UNIT_TOL:g}); row {i} has norm {float(norms[i])!r}")
    return Wa


def _check_unit(name: str, x: Any, d: int) -> np.ndarray:
    xa = check_array(name, x)
    if xa.shape != (d,):
        raise DCPredictError(f"{name} must have length d = {d} (the columns of W); got {xa.size}")
    nrm = float(np.linalg.norm(xa))
    if abs(nrm - 1.0) > UNIT_TOL:
        raise DCPredictError(f"{name} must be a unit vector (within {UNIT_TOL:g}); its norm is {nrm!r}")
    return xa


def _check_target(W: Any, u: Any, a: Any, v: Any) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
    Wa = _check_W(W)
    d = Wa.shape[1]
    ua = _check_unit("u", u, d)
    aa = check_real("a", a)
    va = None
    if v is not None:
        va = _check_unit("v", v, d)
    elif aa != 0.0:
        raise DCPredictError(f"v must be given (a unit vector of length {d}) when a is nonzero; got a={aa!r}, v=None")
    return Wa, ua, aa, va


# ---------------------------------------------------------------------------------------- moments
@dataclass(frozen=True, repr=False)
class RFMoments(Result):
    """Exact second moments of (x, y) = (ReLU(W z), a (v.z) + (u.z)^2) (module docstring)."""
    Sigma: np.ndarray
    Exy: np.ndarray
    Ey2: float

    def to_dict(self) -> dict[str, Any]:
        return {"Sigma": self.Sigma.tolist(), "Exy": self.Exy.tolist(), "Ey2": self.Ey2}

    def summary(self) -> str:
        return f"ReLU random-features moments: p = {self.Sigma.shape[0]}, E[y^2] = {self.Ey2:.6g}"

    def _records(self) -> list[dict[str, Any]]:
        return [{"feature": i, "Sigma_ii": float(self.Sigma[i, i]), "Exy": float(e)} for i, e in enumerate(self.Exy)]

    def __repr__(self) -> str:
        return f"RFMoments(p={self.Sigma.shape[0]}, Ey2={self.Ey2:.6g})"


def relu_kernel(W: np.ndarray) -> np.ndarray:
    """Sigma = E[ReLU(W z) ReLU(W z)^T] for unit rows: (sin t + (pi - t) cos t) / (2 pi), 1/2 on the diagonal."""
    c = np.clip(W @ W.T, -1.0, 1.0)
    t = np.arccos(c)
    K = (np.sin(t) + (np.pi - t) * c) / (2.0 * np.pi)
    np.fill_diagonal(K, 0.5)
    return 0.5 * (K + K.T)


def relu_moments(W: Any, u: Any, a: float = 0.0, v: Any = None) -> RFMoments:
    """Closed-form Sigma = E[x x^T], E[x y] and E[y^2] for x = ReLU(W z), y = a (v.z) + (u.z)^2
    (the theory page, :ref:`theory-correlated`; the linear-term moments are derived in the module docstring)."""
    Wa, ua, aa, va = _check_target(W, u, a, v)
    rho = Wa @ ua
    Exy = (1.0 + rho ** 2) / SQRT_2PI
    if va is not None and aa != 0.0:
        Exy = Exy + aa * (Wa @ va) / 2.0
    return RFMoments(Sigma=relu_kernel(Wa), Exy=Exy, Ey2=3.0 + aa ** 2)


@dataclass(frozen=True, repr=False)
class EquivalentLGP(Result):
    """The equivalent linear Gaussian problem of a random-features model (the paper's Definition 2).

    ``Sigma``, ``Exy`` = E[x y], ``beta`` = Sigma^+ E[x y] (eigenvalue floor, see ``solve_note``),
    ``sigma2`` = E[y^2] - beta^T Sigma beta, ``Ey2``; ``residual`` = ||Sigma beta - Exy|| / ||Exy||,
    ``dropped`` = number of eigen-directions below the floor, ``cond`` = mu_max / mu_min (inf if
    Sigma is singular)."""
    Sigma: np.ndarray
    Exy: np.ndarray
    beta: np.ndarray
    sigma2: float
    Ey2: float
    residual: float
    dropped: int
    cond: float
    rcond: float
    solve_note: str
    W: np.ndarray = field(repr=False)
    u: np.ndarray = field(repr=False)
    a: float = 0.0
    v: np.ndarray | None = field(default=None, repr=False)
    #: ``numpy.linalg.eigh(Sigma)``, reused by :func:`dcpredict.predict_correlated` (``eig=``)
    eig: tuple | None = field(default=None, repr=False)

    @property
    def p(self) -> int:
        return int(self.Sigma.shape[0])

    @property
    def d(self) -> int:
        return int(self.W.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """The equivalent problem and its inputs (W, u, a, v), JSON-ready."""
        return {"Sigma": self.Sigma.tolist(), "Exy": self.Exy.tolist(), "beta": self.beta.tolist(),
                "sigma2": self.sigma2, "Ey2": self.Ey2, "residual": self.residual, "dropped": self.dropped,
                "cond": self.cond, "rcond": self.rcond, "solve_note": self.solve_note, "W": self.W.tolist(),
                "u": self.u.tolist(), "a": self.a, "v": None if self.v is None else self.v.tolist()}

    def summary(self) -> str:
        return (f"equivalent LGP of ReLU random features: p = {self.p}, d = {self.d}, sigma2 = {self.sigma2:.6g}, "
                f"beta'Sigma beta = {float(self.beta @ self.Sigma @ self.beta):.6g}, cond = {self.cond:.3g}, "
                f"dropped directions = {self.dropped}, residual = {self.residual:.2g}")

    def _records(self) -> list[dict[str, Any]]:
        return [{"feature": i, "Sigma_ii": float(self.Sigma[i, i]), "beta": float(b), "Exy": float(e)}
                for i, (b, e) in enumerate(zip(self.beta, self.Exy))]

    def __repr__(self) -> str:
        return f"EquivalentLGP(p={self.p}, d={self.d}, sigma2={self.sigma2:.6g}, cond={self.cond:.3g})"


def equivalent_lgp(W: Any, u: Any, a: float = 0.0, v: Any = None, *, rcond: float = RCOND_BETA) -> EquivalentLGP:
    """Equivalent LGP (Sigma, beta, sigma^2) of ReLU random features with label a (v.z) + (u.z)^2.

    beta = Sigma^+ E[x y] by the eigendecomposition of Sigma with eigenvalues below
    ``rcond * mu_max`` dropped (module docstring: the truncation only drops explained variance, so
    sigma^2 >= 0; it is clipped at 0 against rounding).
    """
    Wa, ua, aa, va = _check_target(W, u, a, v)
    rc = check_real("rcond", rcond, lo=0.0, hi=1.0, hi_open=True)
    mom = relu_moments(Wa, ua, aa, va)
    mu, V = np.linalg.eigh(mom.Sigma)
    mu_max = float(mu.max())
    keep = mu > rc * mu_max
    c = V.T @ mom.Exy
    coef = np.zeros_like(c)
    coef[keep] = c[keep] / mu[keep]
    beta = V @ coef
    explained = float(np.sum(c[keep] ** 2 / mu[keep]))
    sigma2 = max(0.0, mom.Ey2 - explained)
    resid = float(np.linalg.norm(mom.Sigma @ beta - mom.Exy) / np.linalg.norm(mom.Exy))
    mu_min = float(mu.min())
    cond = mu_max / mu_min if mu_min > 0.0 else math.inf
    dropped = int(np.count_nonzero(~keep))
    note = (f"beta = Sigma^+ E[xy] by eigh with relative eigenvalue floor {rc:g}: {dropped} of {mu.size} "
            f"directions dropped, cond(Sigma) = {cond:.3g}, relative residual {resid:.2e}")
    for arr in (mom.Sigma, mom.Exy, beta):
        arr.setflags(write=False)
    return EquivalentLGP(Sigma=mom.Sigma, Exy=mom.Exy, beta=beta, sigma2=sigma2, Ey2=mom.Ey2, residual=resid,
                         dropped=dropped, cond=cond, rcond=rc, solve_note=note, W=Wa, u=ua, a=aa, v=va,
                         eig=(mu, V))


# ---------------------------------------------------------------------------------------- sampling
def relu_features(W: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """x = ReLU(W z) for each row z of Z (n x d) -> n x p."""
    return np.maximum(Z @ W.T, 0.0)


def rf_labels(Z: np.ndarray, u: np.ndarray, a: float = 0.0, v: np.ndarray | None = None) -> np.ndarray:
    """y = a (v.z) + (u.z)^2 for each row z of Z."""
    y = (Z @ u) ** 2
    if v is not None and a != 0.0:
        y = y + a * (Z @ v)
    return y


def population_risk(b: np.ndarray, lgp: EquivalentLGP | RFMoments) -> np.ndarray | float:
    """Exact population risk E[(y - x^T b)^2] = E[y^2] - 2 b.E[xy] + b^T Sigma b of a real
    random-features predictor (no test set needed).  ``b`` may be (p,) or (k, p)."""
    b = np.asarray(b, dtype=np.float64)
    if b.ndim == 1:
        return float(lgp.Ey2 - 2.0 * b @ lgp.Exy + b @ lgp.Sigma @ b)
    return lgp.Ey2 - 2.0 * b @ lgp.Exy + np.einsum("ij,ij->i", b @ lgp.Sigma, b)


@dataclass(frozen=True, repr=False)
class RFSimulation(Result):
    """Monte Carlo risks of random-features regression with real ReLU features and real labels.

    Attributes named as ``RF_FIELDS`` (means over trials); ``stderr`` the standard errors;
    ``values`` the per-trial risks (trials x len(RF_FIELDS)); inputs ``p, d, n, s, alpha, ridge,
    trials, seed, a``.  ``*_retrained`` = retrained with fresh samples on the pruned support
    (Definition 5), ``*_retrained_same`` = on the same samples.  Hessian pruning uses the empirical
    diagonal (X^T X / n)_ii (the population diagonal is 1/2 for every feature, which would make it
    identical to magnitude pruning); ``small_oracle`` trains small on the s features of largest
    Sigma_ii beta_i^2 of the equivalent LGP and ``oracle_pruned`` keeps the dense fit on them.
    """
    dense: float
    magnitude: float
    hessian: float
    random: float
    oracle_pruned: float
    small_oracle: float
    magnitude_retrained: float
    hessian_retrained: float
    random_retrained: float
    magnitude_retrained_same: float
    hessian_retrained_same: float
    random_retrained_same: float
    stderr: dict[str, float]
    values: np.ndarray = field(repr=False)
    p: int = 0
    d: int = 0
    n: int = 0
    s: int = 0
    alpha: float = 1.0
    ridge: float = 0.0
    trials: int = 0
    seed: int | None = None
    a: float = 0.0

    def summary(self) -> str:
        lines = [f"random-features simulation: p={self.p}, d={self.d}, n={self.n}, alpha={self.alpha:g} "
                 f"(s={self.s}), ridge={self.ridge:g}, a={self.a:g}, trials={self.trials}, seed={self.seed}"]
        for k in RF_FIELDS:
            lines.append(f"  {k:<25s} {getattr(self, k):.6g} +- {self.stderr[k]:.3g}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Inputs and per field {"mean", "stderr"} (per-trial values are in ``values``)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in ("p", "d", "n", "s", "alpha", "ridge", "trials", "seed", "a")}
        out.update({k: {"mean": getattr(self, k), "stderr": self.stderr[k]} for k in RF_FIELDS})
        return out

    def _records(self) -> list[dict[str, Any]]:
        return [{"field": k, "mean": getattr(self, k), "stderr": self.stderr[k]} for k in RF_FIELDS]

    def __repr__(self) -> str:
        return f"RFSimulation(p={self.p}, d={self.d}, n={self.n}, s={self.s}, trials={self.trials}, dense={fmt(self.dense)})"


def simulate_rf(W: Any, u: Any, *, n: int, alpha: float, ridge: float = 0.0, trials: int = 100,
                seed: int | None = 0, a: float = 0.0, v: Any = None,
                lgp: EquivalentLGP | None = None, progress: bool = True) -> RFSimulation:
    """Simulate random-features least squares with pruning and retraining (the paper's Sec. 3.2,
    Definition 4; the theory page, :ref:`theory-correlated`).

    Per trial: n inputs z ~ N(0, I_d), real features ReLU(W z) and real labels a (v.z) + (u.z)^2;
    the fit of :func:`dcpredict._fit.fit_least_squares` (min-norm if p > n, OLS if p <= n, ridge if
    ``ridge`` > 0); pruning to s = round(alpha p) weights by magnitude ``|b_i|``, by Hessian saliency
    (X^T X / n)_ii b_i^2 (empirical diagonal) and at random; retraining on the kept support with the
    same samples and with n fresh samples (one fresh set per trial, shared by the three rules); the
    oracle fit on the s features of largest saliency of the equivalent LGP.  Every risk is the exact
    population risk E[y^2] - 2 b.E[xy] + b^T Sigma b from the closed-form moments.

    ``lgp`` may pass a precomputed :func:`equivalent_lgp` of the same (W, u, a, v) to save work.
    Trials use independent streams spawned from ``numpy.random.SeedSequence(seed)``.  ``progress``
    (default True): a bar on stderr.
    """
    Wa, ua, aa, va = _check_target(W, u, a, v)
    n = check_int("n", n, lo=1)
    al = check_real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True)
    r = check_real("ridge", ridge, lo=0.0)
    trials = check_int("trials", trials, lo=2)
    if seed is not None:
        seed = check_int("seed", seed, lo=0)
    from ._limits import check_memory
    _p, _d = Wa.shape  # designs n x p (training, fresh, a support copy), Sigma p x p and its solve, results
    check_memory("this random-features simulation",
                 8.0 * (4.0 * n * _p + 2.0 * n * _d + 3.0 * _p * _p + 2.0 * min(n, _p) ** 2)
                 + 8.0 * trials * len(RF_FIELDS), detail=f" (n={n}, p={_p}, d={_d}, {trials} trials)")
    if lgp is None:
        lgp = equivalent_lgp(Wa, ua, aa, va)
    elif lgp.Sigma.shape[0] != Wa.shape[0]:
        raise DCPredictError(f"lgp must be the equivalent LGP of W (p = {Wa.shape[0]}); it has p = {lgp.Sigma.shape[0]}")
    p, d = Wa.shape
    s = kept_count(al, p)
    oracle_idx = top_indices(np.diagonal(lgp.Sigma) * lgp.beta ** 2, s)
    out = np.empty((trials, len(RF_FIELDS)))
    col = {k: i for i, k in enumerate(RF_FIELDS)}

    def risk_on(idx: np.ndarray, coef: np.ndarray) -> float:
        full = np.zeros(p)
        full[idx] = coef
        return population_risk(full, lgp)

    from ._progress import bar as _bar
    bar = _bar(trials, f"simulate random features (p = {p}, n = {n})", enabled=progress)
    for t, child in enumerate(np.random.SeedSequence(seed).spawn(trials)):
        bar.update(1)
        rng = np.random.default_rng(child)
        Z = rng.standard_normal((n, d))
        X = relu_features(Wa, Z)
        y = rf_labels(Z, ua, aa, va)
        b = fit_least_squares(X, y, r)
        out[t, col["dense"]] = population_risk(b, lgp)
        hess_diag = np.einsum("ij,ij->j", X, X) / n
        supports = {"magnitude": top_indices(np.abs(b), s),
                    "hessian": top_indices(hess_diag * b ** 2, s),
                    "random": np.sort(rng.choice(p, size=s, replace=False))}
        Z2 = rng.standard_normal((n, d))
        X2 = relu_features(Wa, Z2)
        y2 = rf_labels(Z2, ua, aa, va)
        for rule, idx in supports.items():
            out[t, col[rule]] = risk_on(idx, b[idx])
            out[t, col[f"{rule}_retrained_same"]] = risk_on(idx, fit_least_squares(X[:, idx], y, r))
            out[t, col[f"{rule}_retrained"]] = risk_on(idx, fit_least_squares(X2[:, idx], y2, r))
        out[t, col["oracle_pruned"]] = risk_on(oracle_idx, b[oracle_idx])
        out[t, col["small_oracle"]] = risk_on(oracle_idx, fit_least_squares(X[:, oracle_idx], y, r))
    bar.close()
    means = out.mean(axis=0)
    ses = out.std(axis=0, ddof=1) / math.sqrt(trials)
    return RFSimulation(**{k: float(means[i]) for k, i in col.items()},
                        stderr={k: float(ses[i]) for k, i in col.items()}, values=out, p=p, d=d, n=n, s=s,
                        alpha=al, ridge=r, trials=trials, seed=seed, a=aa)


# ---------------------------------------------------------------------------------------- comparison
@dataclass(frozen=True, repr=False)
class RFComparison(Result):
    """Theory (vector-form DC of the equivalent LGP) next to the random-features simulation."""
    theory: CorrelatedPrediction
    simulation: RFSimulation
    lgp: EquivalentLGP

    def rows(self, fields: tuple[str, ...] = _RISK_FIELDS) -> list[dict[str, float]]:
        """Per field: theory, its stderr, simulation, its stderr, relative gap (sim - theory) / theory,
        and the gap in units of the combined standard error."""
        out = []
        for k in fields:
            th, sim = getattr(self.theory, k), getattr(self.simulation, k)
            se_t, se_s = self.theory.stderr.get(k, 0.0), self.simulation.stderr[k]
            se = math.hypot(se_t, se_s)
            rel = (sim - th) / th if math.isfinite(th) and th != 0.0 else math.nan
            z = (sim - th) / se if se > 0.0 and math.isfinite(se) else math.nan
            out.append({"field": k, "theory": th, "theory_se": se_t, "simulation": sim, "simulation_se": se_s,
                        "rel_gap": rel, "z": z})
        return out

    def table(self, fields: tuple[str, ...] = _RISK_FIELDS) -> str:
        sim = self.simulation
        head = (f"p={sim.p} d={sim.d} n={sim.n} alpha={sim.alpha:g} ridge={sim.ridge:g} a={sim.a:g}: "
                f"equivalent LGP sigma2={self.lgp.sigma2:.4g}, beta'Sigma beta={self.theory.signal:.4g}")
        lines = [head, f"  {'field':<20s} {'theory':>22s} {'simulation':>22s} {'rel gap':>8s} {'z':>6s}"]
        for row in self.rows(fields):
            th = f"{row['theory']:.4f}" + (f" +- {row['theory_se']:.4f}" if row["theory_se"] else "")
            lines.append(f"  {row['field']:<20s} {th:>22s} {row['simulation']:.4f} +- {row['simulation_se']:.4f}"
                         f" {100 * row['rel_gap']:7.2f}% {row['z']:6.2f}")
        return "\n".join(lines)

    def summary(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        """The theory and the simulation (their own to_dict) and the comparison rows."""
        return {"theory": self.theory.to_dict(), "simulation": self.simulation.to_dict(), "rows": self.rows()}

    def _records(self) -> list[dict[str, Any]]:
        return self.rows()

    def __repr__(self) -> str:
        sim = self.simulation
        return f"RFComparison(p={sim.p}, d={sim.d}, n={sim.n}, s={sim.s}, trials={sim.trials})"


def compare_rf(W: Any, u: Any, *, n: int, alpha: float, ridge: float = 0.0, trials: int = 100, draws: int = 400,
               retrain_draws: int | None = None, seed: int | None = 0, a: float = 0.0,
               v: Any = None, progress: bool = True) -> RFComparison:
    """Theory and simulation of pruned random-features regression in one call (the paper's Figs. 2, 4).

    Theory: :func:`dcpredict.predict_correlated` on the equivalent LGP (Sigma, beta, sigma^2) of
    :func:`equivalent_lgp`; simulation: :func:`simulate_rf` with real ReLU features and labels.
    The Gaussian equivalence is an approximation: ``RFComparison.rows()`` reports the gap.
    """
    lgp = equivalent_lgp(W, u, a, v)
    theory = predict_correlated(lgp.Sigma, lgp.beta, sigma2=lgp.sigma2, n=n, alpha=alpha, ridge=ridge,
                                draws=draws, seed=seed, retrain_draws=retrain_draws, eig=lgp.eig)
    sim = simulate_rf(lgp.W, lgp.u, n=n, alpha=alpha, ridge=ridge, trials=trials, seed=seed, a=lgp.a, v=lgp.v,
                      lgp=lgp, progress=progress)
    return RFComparison(theory=theory, simulation=sim, lgp=lgp)
