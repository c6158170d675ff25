"""Numba kernels for compression beyond pruning (private: use :mod:`dcpredict.compression`).

Quantization of the (optionally pruned) fit, and iterative magnitude pruning with a fresh refit per
round, both from the distributional characterization (DC) of the theory page, section 9.  The DC
primitives (tau, gamma^2, the coordinate law, pruning thresholds and refits) are imported from
:mod:`dcpredict._kernels` unchanged.

Coordinates live in the scale X = sqrt(p) beta_hat; for an atom (lambda, b) the DC gives
X ~ N(m, v^2) with m = c b, v = c sqrt(kappa gamma^2 / lambda) (section 2).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

# the pruning threshold and the refit are the theory engine's certified solvers; the coordinate law
# and the pruned squared error are restated below in the units of X itself (the pruning engine's own
# versions work in rescaled score units and return certification flags)
from ._kernels import _Phi, _Q, _uphi, _phi, gamma2, solve_tau
from ._kernels import _retrained as _engine_retrained
from ._kernels import _threshold as _atom_threshold

#: cells farther than this many standard deviations from an atom's mean are skipped (mass < 1e-32)
WINDOW_SD = 12.0

#: below this step / sd ratio (no pruning, no clipping) the cell sum is replaced by its exact Sheppard form
SHEPPARD_RATIO = 0.25

RULE_NONE = 0
RULE_MAGNITUDE = 1
RULE_HESSIAN = 2

#: columns of the per-round output of :func:`iterative`
ITER_COLUMNS = ("support_fraction", "kept_mass", "threshold", "pruned", "retrained", "kappa_S", "sigma2_S",
                "tau_S")
N_ITER = len(ITER_COLUMNS)


@njit(cache=True)
def _coordinate_law(lam, b, kappa, tau, g2, m, v, hscale):
    """Mean m and sd v of X = sqrt(p) beta_hat per atom (eq. 10 of the paper), Hessian score scale 1/sqrt(lam).

    At the interpolation threshold (gamma^2 = inf) X / gamma -> c sqrt(kappa/Lambda) H, which still fixes the
    kept sets: m = 0, v = c sqrt(kappa/lam).
    """
    infinite = not math.isfinite(g2)
    for k in range(lam.size):
        c = lam[k] / (lam[k] + tau)
        hscale[k] = 1.0 / math.sqrt(lam[k])
        if infinite:
            m[k] = 0.0
            v[k] = c * math.sqrt(kappa / lam[k])
        else:
            m[k] = c * b[k]
            v[k] = c * math.sqrt(kappa * g2 / lam[k])


@njit(cache=True)
def _threshold(m, v, scale, w, alpha, rtol, keep):
    """Threshold t with P(|X| > t scale) = alpha and the per-atom keep probabilities (ties of deterministic
    atoms filled fractionally): :func:`dcpredict._kernels._threshold`, the certified solver of the pruning
    rules.  Returns (t, residual); (nan, nan) when the root could not be certified."""
    t, res, ok = _atom_threshold(m, v, scale, w, alpha, rtol, keep)
    if not ok:
        return math.nan, math.nan
    return t, res


@njit(cache=True)
def pruned_sq_error(b, m, v, te, keep):
    """E[(b - X 1{|X| > te})^2] for X ~ N(m, v^2) (theory page, section 3); deterministic atoms use ``keep``."""
    d = b - m
    if v == 0.0:
        return keep * d * d + (1.0 - keep) * b * b
    u1 = (te - m) / v
    u0 = (-te - m) / v
    q1 = _Q(u1)
    p0 = _Phi(u0)
    f1 = _phi(u1)
    f0 = _phi(u0)
    pk = q1 + p0
    return (b * b * (1.0 - pk)
            + d * d * q1 - 2.0 * d * v * f1 + v * v * (_uphi(u1) + q1)
            + d * d * p0 + 2.0 * d * v * f0 + v * v * (p0 - _uphi(u0)))


@njit(cache=True)
def _retrained(lam, b, w, mass, kappa, alpha, ridge, sigma2, rtol, ws, bs, out, j):
    """Refit on a support of kept mass ``mass``: :func:`dcpredict._kernels._retrained`, the theory engine's
    certified refit (theory page, section 4).  Returns gamma2_S, nan if it is not certified (the caller
    refuses nan)."""
    g2, ok = _engine_retrained(lam, b, w, mass, kappa, alpha, ridge, sigma2, rtol, ws, bs, out, j)
    return g2 if ok else math.nan


@njit(cache=True)
def _interval_prob(lo, hi, m, v):
    """P(lo < X < hi) for X ~ N(m, v^2), v > 0; lo, hi may be infinite.  Tail-accurate (no 1 - 1 cancellation)."""
    if hi <= lo:
        return 0.0
    a = (lo - m) / v
    c = (hi - m) / v
    if a >= 0.0:
        return _Q(a) - _Q(c)
    if c <= 0.0:
        return _Phi(c) - _Phi(a)
    return 1.0 - _Q(c) - _Phi(a)


@njit(cache=True)
def _quantize_value(x, step, K, onebit):
    """Nearest level of the mid-tread quantizer (levels j*step, |j| <= K; bits = 1: +-step, 0 goes to +step)."""
    if onebit:
        return step if x >= 0.0 else -step
    r = x / step
    j = math.floor(abs(r) + 0.5)
    if j > K:
        j = K
    return j * step if r >= 0.0 else -j * step


@njit(cache=True)
def quant_sq_error(b, m, v, step, K, onebit, te, keep_det):
    """E[(b - Q(X) 1{|X| > te})^2] for X ~ N(m, v^2) (theory page, section 9).

    Sum over the quantizer's cells of P(X in cell and kept) (b - level)^2 plus P(not kept) b^2, with
    normal-CDF differences at the mid-points between levels.  te = 0: no pruning.  v = 0 (a deterministic
    atom): X = m, kept with probability ``keep_det`` (the tie fraction of the pruning threshold).
    """
    if v == 0.0:
        e = b - _quantize_value(m, step, K, onebit)
        return keep_det * e * e + (1.0 - keep_det) * b * b
    total = 0.0
    if te > 0.0:
        total += _interval_prob(-te, te, m, v) * b * b
    if onebit:
        for sgn in (-1.0, 1.0):
            lo = -math.inf if sgn < 0.0 else 0.0
            hi = 0.0 if sgn < 0.0 else math.inf
            pr = _interval_prob(max(lo, te), hi, m, v) + _interval_prob(lo, min(hi, -te), m, v)
            e = b - sgn * step
            total += pr * e * e
        return total
    if te == 0.0 and step <= SHEPPARD_RATIO * v and (K - 0.5) * step > abs(m) + WINDOW_SD * v:
        # fine quantizer, no clipping within the window: the quantization error of a Gaussian is uniform on
        # cells up to terms of order exp(-2 pi^2 v^2 / step^2) < 1e-130 (Sheppard's correction is then exact)
        d = b - m
        return d * d + v * v + step * step / 12.0
    xlo = (m - WINDOW_SD * v) / step
    xhi = (m + WINDOW_SD * v) / step
    xlo = min(max(xlo, -K), K)
    xhi = min(max(xhi, -K), K)
    jlo = max(int(math.floor(xlo)) - 1, -K)
    jhi = min(int(math.ceil(xhi)) + 1, K)
    for j in range(jlo, jhi + 1):
        lo = -math.inf if j == -K else (j - 0.5) * step
        hi = math.inf if j == K else (j + 0.5) * step
        pr = _interval_prob(max(lo, te), hi, m, v) + _interval_prob(lo, min(hi, -te), m, v)
        if pr > 0.0:
            e = b - j * step
            total += pr * e * e
    return total


@njit(cache=True)
def quant_risk(lam, b, w, m, v, te, keep, sigma2, step, K, onebit):
    """Risk sigma^2 + E[Lambda (B - Q(X) 1kept)^2] of the quantized (and pruned) fit at one step."""
    total = sigma2
    for k in range(lam.size):
        if w[k] > 0.0:
            total += w[k] * lam[k] * quant_sq_error(b[k], m[k], v[k], step, K, onebit, te[k], keep[k])
    return total


@njit(cache=True)
def quant_risk_scan(lam, b, w, m, v, te, keep, sigma2, steps, K, onebit):
    """:func:`quant_risk` at every step of ``steps``."""
    out = np.empty(steps.size)
    for i in range(steps.size):
        out[i] = quant_risk(lam, b, w, m, v, te, keep, sigma2, steps[i], K, onebit)
    return out


@njit(cache=True)
def coordinate_setup(lam, b, w, kappa, ridge, sigma2, alpha, rule, rtol):
    """DC of the dense fit and the pruning applied before quantization.

    Returns (tau, gamma2, t, residual, m, v, te, keep): the coordinate law per atom, the effective
    threshold te_k on |X| (t for magnitude, t / sqrt(lam_k) for Hessian, 0 without pruning) and the
    per-atom keep probabilities (ties of deterministic atoms filled fractionally, as in the pruning kernels).
    """
    n = lam.size
    tau, _, _ = solve_tau(lam, w, kappa, ridge, rtol)
    g2 = gamma2(lam, b, w, kappa, ridge, sigma2, tau)
    m = np.empty(n)
    v = np.empty(n)
    hscale = np.empty(n)
    _coordinate_law(lam, b, kappa, tau, g2, m, v, hscale)
    te = np.zeros(n)
    keep = np.ones(n)
    t = 0.0
    res = 0.0
    if rule != RULE_NONE and alpha < 1.0:
        scale = np.ones(n) if rule == RULE_MAGNITUDE else hscale
        t, res = _threshold(m, v, scale, w, alpha, rtol, keep)
        for k in range(n):
            te[k] = t * scale[k]
    return tau, g2, t, res, m, v, te, keep


@njit(cache=True)
def iterative(lam, b, w, kappa, alpha, rounds, sigma2, ridge, rtol):
    """Iterative magnitude pruning with a fresh refit per round (theory page, section 9).

    Each round keeps alpha^(1/rounds) of the current support by |fit| and refits least squares (same
    ridge) on fresh samples.  The kept mass m_k of each atom (a fraction of all p features) is tracked; the
    round's refit is the support LGP of section 4 (the refit kernel of the pruning engine), whose DC gives
    the coordinate law for the next cut.  Returns an array (rounds, N_ITER) with the columns ITER_COLUMNS:
    target support fraction alpha^(j/rounds), kept mass actually reached, the magnitude threshold of the
    cut, the risk of the pruned fit before the refit, the refit's risk, and the refit problem
    (kappa_S, sigma2_S, tau_S).
    """
    n = lam.size
    a = alpha ** (1.0 / rounds)
    out = np.empty((rounds, N_ITER))
    mass = w.copy()
    frac = 1.0
    ones = np.ones(n)
    keep = np.empty(n)
    m = np.empty(n)
    v = np.empty(n)
    hscale = np.empty(n)
    ws = np.empty(n)
    bs = np.empty(n)
    aux = np.empty(4)
    # the current fit: the dense fit in round 1, the previous refit afterwards
    cur_w = w.copy()
    cur_b = b.copy()
    cur_kappa = kappa
    cur_s2 = sigma2
    cur_tau, _, _ = solve_tau(lam, cur_w, cur_kappa, ridge, rtol)
    cur_g2 = gamma2(lam, cur_b, cur_w, cur_kappa, ridge, cur_s2, cur_tau)
    for j in range(rounds):
        _coordinate_law(lam, cur_b, cur_kappa, cur_tau, cur_g2, m, v, hscale)
        t, _ = _threshold(m, v, ones, cur_w, a, rtol, keep)
        if math.isfinite(cur_g2):
            pr = cur_s2
            for k in range(n):
                pr += cur_w[k] * lam[k] * pruned_sq_error(cur_b[k], m[k], v[k], t, keep[k])
        else:
            pr = math.inf
            t = math.inf
        total = 0.0
        for k in range(n):
            mass[k] = mass[k] * keep[k]
            total += mass[k]
        target = a * frac if j < rounds - 1 else alpha
        g2s = _retrained(lam, b, w, mass, kappa, target, ridge, sigma2, rtol, ws, bs, aux, 0)
        out[j, 0] = target
        out[j, 1] = total
        out[j, 2] = t
        out[j, 3] = pr
        out[j, 4] = g2s
        out[j, 5] = aux[0]
        out[j, 6] = aux[1]
        out[j, 7] = aux[2]
        frac = target
        for k in range(n):
            cur_w[k] = ws[k]
            cur_b[k] = bs[k]
        cur_kappa = aux[0]
        cur_s2 = aux[1]
        cur_tau = aux[2]
        cur_g2 = g2s
    return out
