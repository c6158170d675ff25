"""Finite-size risk formulas for one finite linear Gaussian problem (private; see the theory page, section
:ref:`theory-finite`).

Everything here is on the natural scale of the weights (beta_i, not B_i = sqrt(p) beta_i) and describes one
finite instance: K atoms of ``counts[k]`` features each with variance ``lam[k]`` and weight ``beta[k]``, n
samples, noise ``sigma_eff2`` (label noise plus the signal of features the model does not see).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from .._validate import DCPredictError

#: order statistics use a characteristic-function (FFT) convolution per atom; beyond this many atoms the
#: cost (atoms^2 x p x nodes) is too high and the fixed-count rules fall back to the asymptotic DC
MAX_ATOMS_ORDER_STAT = 64
#: quadrature of the coordinate law: Simpson on u in [-U_MAX, U_MAX] with N_NODES nodes (u = (x - m) / v)
U_MAX = 9.0
N_NODES = 601
#: relative tolerance of the expected kept count sum_k counts_k P(kept | k) = s (the order-statistics check)
KEEP_TOL = 1e-6

EXACT = "exact"
APPROX_ORDER = "finite: exact variance scale + finite-p order statistics (approximate)"
APPROX_MINNORM = "finite: min-norm variance with the inverse-Wishart correction (approximate)"
ASYMPTOTIC = "asymptotic (no finite-size correction for this case)"


@dataclass(frozen=True)
class CoordModel:
    """The fitted weights of one atom: beta_hat ~ m + v Z (Gaussian with the finite-size variance scale).

    ``dense`` is the finite-size expected dense risk; ``exact`` whether it (and every risk linear in the
    coordinates' second moments) is exact (OLS) or approximate (min-norm).
    """
    m: np.ndarray
    v: np.ndarray
    dense: float
    exact: bool
    regime: str


def _simpson(n: int) -> np.ndarray:
    w = np.ones(n)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    return w / 3.0


def dense_ols(p: int, n: int, sigma_eff2: float) -> float:
    """E[dense risk] of OLS with a Gaussian design: sigma_eff^2 (1 + p / (n - p - 1)) (exact; inf if p >= n - 1)."""
    if p >= n - 1:
        return math.inf if sigma_eff2 > 0 else 0.0
    return sigma_eff2 * (1.0 + p / (n - p - 1.0))


def dense_minnorm_isotropic(p: int, n: int, sigma2: float, beta_norm2: float) -> float:
    """E[dense risk] of min-norm with isotropic features: sigma^2 + ||beta||^2 (1 - n/p) + sigma^2 n / (p - n - 1)."""
    if p <= n + 1:
        return math.inf if sigma2 > 0 else sigma2 + beta_norm2 * (1.0 - n / p)
    return sigma2 + beta_norm2 * (1.0 - n / p) + sigma2 * n / (p - n - 1.0)


def _tau_minnorm(lam: np.ndarray, counts: np.ndarray, n: int) -> float:
    """The root tau of sum_i lam_i / (lam_i + tau) = n (min-norm DC of the finite composition), bracketed."""
    from scipy.optimize import brentq
    L = float(lam.max())
    f = lambda lt: float(np.dot(counts, lam / (lam + L * math.exp(lt)))) - n  # noqa: E731
    lo, hi = -80.0, 80.0
    if not (f(lo) > 0 > f(hi)):  # pragma: no cover - p > n guarantees the sign change
        raise DCPredictError(f"no certified min-norm root tau (p={int(counts.sum())}, n={n})")
    lt = brentq(f, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500)
    return L * math.exp(lt)


def coord_model(lam: np.ndarray, beta: np.ndarray, counts: np.ndarray, sigma_eff2: float, n: int) -> CoordModel:
    """The finite-size coordinate law of the ridgeless fit (OLS if p < n, min-norm if p > n).

    OLS: m = beta, v^2 = sigma_eff^2 / (lam (n - p - 1)) (the exact variance; the exact marginal is a
    Student t with n - p + 1 degrees of freedom), dense risk exact.

    Min-norm: the DC of the finite composition (tau, shrinkage c = lam / (lam + tau), D = 1 - sum c^2 / n)
    with its variance part a = (1 - D) / D corrected to 1 / (1 / a - 1 / n) (exact for isotropic features,
    where it is the inverse-Wishart mean n / (p - n - 1)); the bias part sum lam (1 - c)^2 beta^2 / D is kept.
    """
    keep = counts > 0
    p = int(counts.sum())
    if p < n:
        dense = dense_ols(p, n, sigma_eff2)
        with np.errstate(divide="ignore", invalid="ignore"):
            v2 = np.where(keep, sigma_eff2 / (lam * (n - p - 1.0)), 0.0) if p < n - 1 else np.full(lam.shape, np.inf)
        return CoordModel(beta.copy(), np.sqrt(v2), dense, True, "ols")
    if p == n:
        return CoordModel(beta.copy(), np.full(lam.shape, np.inf), math.inf if sigma_eff2 > 0 else 0.0, True,
                          "interpolation")
    tau = _tau_minnorm(lam[keep], counts[keep].astype(float), n)
    c = lam / (lam + tau)
    sum_c2 = float(np.dot(counts, c * c))
    D = 1.0 - sum_c2 / n
    bias_num = float(np.dot(counts, lam * (1.0 - c) ** 2 * beta ** 2))
    isotropic = np.unique(lam[keep]).size == 1
    if p <= n + 1:
        dense = math.inf if sigma_eff2 > 0 else bias_num / D
        v = np.full(lam.shape, np.inf) if sigma_eff2 > 0 else None
        if v is not None:
            return CoordModel(c * beta, v, dense, isotropic, "min-norm")
        a_fin = 0.0
    else:
        inv_a = D / (1.0 - D) - 1.0 / n
        if inv_a <= 0.0:
            raise DCPredictError(f"the finite-size min-norm correction is undefined at p={p}, n={n} "
                                 f"(1/a - 1/n = {inv_a:.3g} <= 0); use finite_size=False")
        a_fin = 1.0 / inv_a
        dense = sigma_eff2 * (1.0 + a_fin) + bias_num / D
    g = (dense - sigma_eff2 - bias_num) * n / sum_c2 if sum_c2 > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(keep, np.sqrt(np.maximum(c * c * g / (n * lam), 0.0)), 0.0)
    return CoordModel(c * beta, v, dense, isotropic, "min-norm")


# ------------------------------------------------------------------------------ linear (fixed-support) risks
def second_moment_err(cm: CoordModel, beta: np.ndarray) -> np.ndarray:
    """E[(beta - beta_hat)^2] per atom."""
    return (beta - cm.m) ** 2 + cm.v ** 2


def fixed_support_risk(cm: CoordModel, lam, beta, kept_counts, counts, sigma_eff2) -> float:
    """Risk of the fit kept on a support that does not depend on the data (oracle pruning, random pruning
    in expectation): linear in the coordinates' second moments, hence exact when the coordinate law is."""
    e2 = second_moment_err(cm, beta)
    with np.errstate(invalid="ignore"):
        terms = np.where(kept_counts > 0, kept_counts * lam * e2, 0.0)
    return sigma_eff2 + float(terms.sum()) + float(np.dot(counts - kept_counts, lam * beta ** 2))


# ------------------------------------------------------------------------------ fixed threshold (OLS, exact)
def _t_second_moment_below(x: np.ndarray, nu: float) -> np.ndarray:
    """E[T^2 1{T <= x}] for T ~ Student t with nu > 2 degrees of freedom (closed form)."""
    k = nu * (nu - 1.0) / (nu - 2.0)
    return k * stats.t.cdf(x * math.sqrt((nu - 2.0) / nu), nu - 2.0) - nu * stats.t.cdf(x, nu)


def threshold_risk_ols(lam, beta, counts, sigma_eff2: float, n: int, threshold: float, rule: str):
    """Exact expected risk and expected kept count of OLS pruned at a FIXED threshold.

    Coordinate i is exactly beta_i + sigma_eff / sqrt(lam_i nu) T, T ~ t_nu, nu = n - p + 1; magnitude keeps
    |beta_hat_i| > threshold, Hessian keeps sqrt(lam_i) |beta_hat_i| > threshold.  Needs p < n - 1.
    Returns (risk, expected number kept).
    """
    lam, beta, counts = (np.asarray(a, dtype=float) for a in (lam, beta, counts))
    p = int(round(counts.sum()))
    if p >= n - 1:
        raise DCPredictError(f"the fixed-threshold OLS risk needs p < n - 1; got p={p}, n={n}")
    nu = n - p + 1.0
    sd = np.sqrt(sigma_eff2 / (lam * nu))
    t_eff = threshold / (np.sqrt(lam) if rule == "hessian" else 1.0)
    hi = (t_eff - beta) / sd     # kept above: T > hi
    lo = (-t_eff - beta) / sd    # kept below: T < lo
    p_keep = stats.t.sf(hi, nu) + stats.t.cdf(lo, nu)
    m2 = nu / (nu - 2.0)
    t2_keep = (m2 - _t_second_moment_below(hi, nu)) + _t_second_moment_below(lo, nu)
    err = beta ** 2 * (1.0 - p_keep) + sd ** 2 * t2_keep
    return sigma_eff2 + float(np.dot(counts, lam * err)), float(np.dot(counts, p_keep))


# ------------------------------------------------------------------------------ fixed count: order statistics
def _tail(t: np.ndarray, m: float, v: float) -> np.ndarray:
    """P(|m + v Z| > t) for t >= 0."""
    if v == 0.0:
        return (abs(m) > t).astype(float)
    return special.ndtr((m - t) / v) + special.ndtr((-t - m) / v)


def _nodes(m: float, v: float) -> tuple[np.ndarray, np.ndarray]:
    """Simpson nodes and normal weights in u on [-U_MAX, U_MAX], split at the kink x = 0 of the score |x|
    (u0 = -m / v) so that each panel's integrand is smooth."""
    u0 = -m / v if v > 0 else -2 * U_MAX
    half = (N_NODES // 2) | 1
    pieces = [(-U_MAX, u0), (u0, U_MAX)] if -U_MAX < u0 < U_MAX else [(-U_MAX, U_MAX)]
    us, ws = [], []
    for a, b in pieces:
        nn = half if len(pieces) == 2 else N_NODES
        u = np.linspace(a, b, nn)
        us.append(u)
        ws.append(_simpson(nn) * (u[1] - u[0]) * np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi))
    u, w = np.concatenate(us), np.concatenate(ws)
    return u, w / w.sum()


def order_stat_prune(cm: CoordModel, lam, beta, counts, s: int, rule: str):
    """Kept probability and E[(beta - beta_hat 1{kept})^2] per atom when the s largest scores are kept.

    The p coordinates are treated as independent, atom k's as m_k + v_k Z (the finite-size variance scale).
    A coordinate of atom k at value x is kept iff at most s - 1 of the p - 1 others score higher; that count
    is a sum of binomials over the atoms (counts_j - [j == k] trials, success probability the atom's tail
    at the score of x), whose distribution is computed exactly by its characteristic function (FFT of length
    p).  The integral over x is Simpson's rule on N_NODES nodes.  Returns (keep_prob, err2, keep_error) with
    keep_error = |sum_k counts_k keep_prob_k - s| / s, which must be below KEEP_TOL.
    """
    K = lam.size
    p = int(counts.sum())
    if s >= p:
        return np.ones(K), second_moment_err(cm, beta), 0.0
    scale = np.sqrt(lam) if rule == "hessian" else np.ones(K)
    above = s <= p - s                      # count the others above (L = s) or below (L = p - s) the score
    L = s if above else p - s
    omega = np.exp(2j * np.pi * np.arange(p) / p)
    keep = np.zeros(K)
    err2 = np.zeros(K)
    for k in range(K):
        if counts[k] == 0:
            continue
        u, wq = _nodes(cm.m[k], cm.v[k])
        x = cm.m[k] + cm.v[k] * u
        score = scale[k] * np.abs(x)
        logcf = np.zeros((u.size, p), dtype=complex)
        for j in range(K):
            cnt = counts[j] - (1 if j == k else 0)
            if cnt == 0:
                continue
            q = _tail(score / scale[j], cm.m[j], cm.v[j])
            r = q if above else 1.0 - q
            with np.errstate(divide="ignore"):
                logcf += cnt * np.log((1.0 - r)[:, None] + r[:, None] * omega[None, :])
        pmf = np.fft.fft(np.exp(logcf), axis=1).real / p   # pmf of the count (sum of the CF's coefficients)
        cdf = np.clip(pmf[:, :L].sum(axis=1), 0.0, 1.0)    # P(count <= L - 1)
        pi = cdf if above else 1.0 - cdf                    # P(kept | x)
        keep[k] = float(np.dot(wq, pi))
        err2[k] = float(np.dot(wq, pi * (beta[k] - x) ** 2 + (1.0 - pi) * beta[k] ** 2))
    keep_error = abs(float(np.dot(counts, keep)) - s) / s
    return keep, err2, keep_error
