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
N_NODES = 321
#: relative tolerance of the expected kept count sum_k counts_k P(kept | k) = s (the order-statistics check)
KEEP_TOL = 1e-5
#: doublings of N_NODES tried before the order statistics are declared uncertified
MAX_REFINE = 4

EXACT = "exact"
APPROX_ORDER = "finite: exact variance scale + finite-p order statistics (approximate)"
APPROX_MINNORM = "finite: min-norm variance with the inverse-Wishart correction (approximate)"
ASYMPTOTIC = "asymptotic (no finite-size correction for this case)"
UNCORRECTED_MINNORM = ("asymptotic variance scale (anisotropic min-norm beyond p/n = 1.6, where no correction was "
                       "validated) with finite-p order statistics")
#: anisotropic min-norm: the variance correction is applied for p/n up to this (validated range), not beyond
MINNORM_CORRECTION_MAX = 1.6


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
    with its variance part a = (1 - D) / D corrected to 1 / (1 / a - theta / n), theta = E[c^2]^2 / E[c^4]
    (theta = 1 and the result exact for isotropic features, where it is the inverse-Wishart mean
    n / (p - n - 1); theta < 1 for anisotropic ones is an empirical effective-rank factor, fitted on two
    spectra and checked on the others, see validation/FINITE_SIZE.md); the bias part
    sum lam (1 - c)^2 beta^2 / D is kept (exact for isotropic features).
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
        w = counts[keep] / counts[keep].sum()
        ck = c[keep]
        theta = float(np.dot(w, ck ** 2)) ** 2 / float(np.dot(w, ck ** 4))   # 1 for isotropic features
        if not isotropic and p > MINNORM_CORRECTION_MAX * n:
            theta = 0.0     # beyond the validated range: the asymptotic variance (the result says so)
        inv_a = D / (1.0 - D) - theta / n
        if inv_a <= 0.0:
            raise DCPredictError(f"the finite-size min-norm correction is undefined at p={p}, n={n} "
                                 f"(1/a - 1/n = {inv_a:.3g} <= 0); use finite_size=False")
        a_fin = 1.0 / inv_a
        dense = sigma_eff2 * (1.0 + a_fin) + bias_num / D
    g = (dense - sigma_eff2 - bias_num) * n / sum_c2 if sum_c2 > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(keep, np.sqrt(np.maximum(c * c * g / (n * lam), 0.0)), 0.0)
    return CoordModel(c * beta, v, dense, isotropic,
                      "min-norm" if isotropic or p <= MINNORM_CORRECTION_MAX * n else "min-norm-uncorrected")


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
    """:func:`_order_stat_prune` with the quadrature refined (nodes doubled, up to MAX_REFINE times) until the
    expected kept count matches s within KEEP_TOL; the last result is returned with its keep_error."""
    global N_NODES
    base = N_NODES
    try:
        for _ in range(MAX_REFINE + 1):
            out = _order_stat_prune(cm, lam, beta, counts, s, rule)
            if out[2] <= KEEP_TOL:
                return out
            N_NODES = 2 * N_NODES + 1
        return out
    finally:
        N_NODES = base


def _order_stat_prune(cm: CoordModel, lam, beta, counts, s: int, rule: str):
    K = lam.size
    p = int(round(float(np.sum(counts))))
    if s >= p:
        return np.ones(K), second_moment_err(cm, beta), 0.0
    scale = np.sqrt(lam) if rule == "hessian" else np.ones(K)
    live = counts > 0
    mu, sd = scale * np.abs(cm.m), scale * cm.v
    # the score grid: every atom's zone |score - mu_j| <= Z sd_j resolved by ZONE_INTERVALS intervals, plus a
    # global grid; each interval gets its midpoint (Simpson per interval).  Outside the zones every atom's
    # tail probability and density are constant to double precision.
    Z = 10.0
    top = float(np.max((mu + Z * sd)[live]))
    pts = [np.linspace(0.0, top, N_NODES // 8 + 1)]
    for j in np.flatnonzero(live):
        if sd[j] > 0:
            pts.append(np.linspace(max(mu[j] - Z * sd[j], 0.0), mu[j] + Z * sd[j], N_NODES // 8 + 1))
        else:
            pts.append(np.array([mu[j]]))
    g = np.unique(np.concatenate(pts))
    g = g[(g >= 0.0) & (g <= top)]
    nodes = np.empty(2 * g.size - 1)
    nodes[0::2] = g
    nodes[1::2] = 0.5 * (g[:-1] + g[1:])
    h = np.diff(g)
    wsimp = np.zeros(nodes.size)               # Simpson weights per interval: h/6 (f0 + 4 fm + f1)
    wsimp[0:-1:2] += h / 6.0
    wsimp[2::2] += h / 6.0
    wsimp[1::2] += 4.0 * h / 6.0
    above = s <= p - s                         # count the others above (L = s) or below (L = p - s) the score
    L = s if above else p - s
    omega = np.exp(2j * np.pi * np.arange(p) / p)
    logs = np.zeros((K, nodes.size, p), dtype=complex)
    for j in np.flatnonzero(live):
        q = _tail(nodes / scale[j], cm.m[j], cm.v[j])
        r = q if above else 1.0 - q
        z = (1.0 - r)[:, None] + r[:, None] * omega[None, :]
        z = np.where(np.abs(z) < 1e-300, 1e-300, z)
        logs[j] = np.log(z)
    total = np.tensordot(counts, logs, axes=(0, 0))
    keep = np.zeros(K)
    err2 = np.zeros(K)
    for k in np.flatnonzero(live):
        pmf = np.fft.fft(np.exp(total - logs[k]), axis=1).real / p
        cdf = np.clip(pmf[:, :L].sum(axis=1), 0.0, 1.0)
        pi = cdf if above else 1.0 - cdf       # P(kept | score), the coordinate's own atom excluded once
        if cm.v[k] == 0.0:                     # a point mass at x = m_k
            x = cm.m[k]
            pik = float(np.interp(scale[k] * abs(x), nodes, pi))
            keep[k] = pik
            err2[k] = pik * (beta[k] - x) ** 2 + (1.0 - pik) * beta[k] ** 2
            continue
        xs = nodes / scale[k]
        dens = []
        for sign in (1.0, -1.0):
            u = (sign * xs - cm.m[k]) / cm.v[k]
            dens.append(np.exp(-0.5 * u * u) / (math.sqrt(2.0 * math.pi) * cm.v[k] * scale[k]))
        f = dens[0] + dens[1]
        keep[k] = float(np.dot(wsimp, pi * f))
        gain = dens[0] * ((beta[k] - xs) ** 2 - beta[k] ** 2) + dens[1] * ((beta[k] + xs) ** 2 - beta[k] ** 2)
        err2[k] = beta[k] ** 2 + float(np.dot(wsimp, pi * gain))
    keep_error = abs(float(np.dot(counts, keep)) - s) / s
    return keep, err2, keep_error


#: bins of the shared-scale mixture (equal probability in V ~ chi^2_nu)
MIX_BINS = 6


def scale_mixture(nu: float, bins: int = MIX_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Bins of the shared variance scale: (probabilities, factors) with factor_i = (nu - 2) E[1/V | bin i],
    V ~ chi^2_nu, equal-probability bins; sum_i prob_i factor_i = 1 exactly (E[1/V] = 1 / (nu - 2))."""
    edges = stats.chi2.ppf(np.linspace(0.0, 1.0, bins + 1), nu)
    prob = np.diff(stats.chi2.cdf(edges, nu))
    inv = np.diff(stats.chi2.cdf(edges, nu - 2.0)) / (nu - 2.0)     # E[1/V; bin] = P(chi^2_{nu-2} in bin)/(nu-2)
    return prob, (nu - 2.0) * inv / prob


def mixed_order_stat_prune(cm: CoordModel, lam, beta, counts, s: int, rule: str, nu: float):
    """:func:`order_stat_prune` averaged over a shared scale of the coordinates' noise: given V ~ chi^2_nu the
    coordinates are independent N(m_k, v_k^2 (nu - 2) / V).  For OLS (nu = n - p + 1) this reproduces the exact
    Student-t marginals (and so every exact fixed-threshold and linear risk) and adds the common scale the p
    coordinates share; for min-norm nu = p - n + 1 (the isotropic inverse-Wishart scale)."""
    if not nu > 4.0:
        return order_stat_prune(cm, lam, beta, counts, s, rule)
    prob, fac = scale_mixture(nu)
    keep = np.zeros(lam.size)
    err2 = np.zeros(lam.size)
    ke = 0.0
    for pr, f in zip(prob, fac):
        cmi = CoordModel(cm.m, cm.v * math.sqrt(f), cm.dense, cm.exact, cm.regime)
        k, e, kerr = order_stat_prune(cmi, lam, beta, counts, s, rule)
        keep += pr * k
        err2 += pr * e
        ke = max(ke, kerr)
    return keep, err2, ke
