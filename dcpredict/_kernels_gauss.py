"""Numba kernels for laws with Gaussian B given Lambda (private: use :mod:`dcpredict.theory`).

The law is given as parallel float64 arrays ``lam, v, w``: nodes in Lambda, the variance of B given
Lambda = lam_k, and the node probabilities (a discrete spectrum, or a quadrature rule in Lambda built by
:class:`dcpredict.law.GaussianLaw`).  Every expectation over B is done in closed form (theory page,
section :ref:`theory-gaussian-b`); only Lambda is summed over the nodes.

Given the dense DC (tau, gamma^2), at a node with c = lam/(lam + tau) and K = kappa gamma^2 / lam:
    X = c (B + sqrt(K) H),  s_X^2 = c^2 (v + K),  B = a X + e with a = c v / s_X^2 and e independent of X,
    Var(e) = v K / (v + K).
A rule keeping |X| > t_eff (t_eff = t for magnitude, t / sqrt(lam) for Hessian), u = t_eff / s_X:
    P(kept) = 2 Q(u),  E[X^2 1kept] = s_X^2 (2 u phi(u) + 2 Q(u)),  E[X^2 1dropped] = s_X^2 (P(|N| < u) - 2 u phi(u)),
    E[B^2 1kept] = a^2 E[X^2 1kept] + Var(e) P(kept)   (and the same with "dropped"),
    E[(B - X 1kept)^2] = Var(e) + (a - 1)^2 E[X^2 1kept] + a^2 E[X^2 1dropped]
(the theory page's v + (1 - 2a) M2, written as a sum of non-negative terms so that small risks keep their
relative accuracy; a s_X, (a - 1) s_X and 1 - c are computed directly, a small-u series replaces
P(|N| < u) - 2 u phi(u)).  Oracle rules keep lam B^2 > t: |B| > sqrt(t / lam), z = sqrt(t / (lam v)):
    P(kept) = 2 Q(z),  E[B^2 1kept] = 2 v (z phi(z) + Q(z)),  E[B^2 1dropped] = v (P(|N| < z) - 2 z phi(z)),
    E[(B - X)^2 1kept] = (1 - c)^2 E[B^2 1kept] + c^2 K P(kept).
Every refit (small_oracle, fresh retraining) needs only the kept mass, E[B^2 1kept] per node and the dropped
signal E[Lambda B^2 1dropped] (its extra noise).  The oracle cut does not depend on kappa: it is solved once
per grid (:func:`oracle_cuts`).

All three cuts are the same equation in a scalar T: sum_k w_k 2 Q(T g_k) = alpha, with g_k = 1/s_X
(magnitude, T = t), 1/(sqrt(lam) s_X) (Hessian, T = t) and 1/sqrt(lam v) (oracle, T^2 = t).  It is
solved by Halley/Newton steps (the derivatives are closed-form) inside a bracket that every evaluation
tightens, warm-started along a row of alphas (T decreases as alpha grows); once a step is tiny the root is
certified by two evaluations just below and above it, so the returned T lies in a sign-change bracket of
relative width <= rtol (typically three evaluations per cut).  Nodes with g = inf (B = 0 for the oracle, or
a degenerate X = 0) have zero score: they are kept only when alpha exceeds the mass of the others, and then
all of them in the same proportion.  The refits' tau is found by Newton steps in log tau, warm-started from
the same refit at the previous alpha, in a certified sign-change bracket as well.

The shared pieces (the dense tau and its certified Brent solver, the normal functions) come from
:mod:`dcpredict._kernels`; the output layout (risks in the order of ``dcpredict.RISK_FIELDS``, aux,
dc) is the same as there.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._kernels import N_RISKS, _phi, solve_tau

#: aux layout of this module (the first 20 slots of :mod:`dcpredict._kernels`' layout): 0 t_mag, 1 t_hess,
#: 2 res_mag, 3 res_hess, 4.. four refit problems (small_oracle, magnitude, hessian, random) x
#: (kappa_S, sigma2_S, tau_S, gamma2_S)
N_AUX = 20
# status codes (first failure of a point; 0 = every root certified)
ST_OK = 0
ST_TAU = 1
ST_CUT_MAG = 2
ST_CUT_HESS = 3
ST_REFIT = 4
ST_NONFINITE = 5
ST_CUT_ORACLE = 7

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
_MAXIT = 200


@njit(cache=True)
def one_minus_product(a, b):
    """1 - a b with the product's rounding error included (Dekker's two-product by Veltkamp splitting).

    Exact to a few ulps even when a b is within rounding of 1 (a refit ratio alpha kappa near the
    interpolation threshold), where 1 - fl(a b) would lose every digit."""
    p = a * b
    split = 134217729.0  # 2^27 + 1
    ta = split * a
    ah = ta - (ta - a)
    al = a - ah
    tb = split * b
    bh = tb - (tb - b)
    bl = b - bh
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # a b = p + err exactly
    return (1.0 - p) - err


@njit(cache=True)
def gamma2_e(lam, e2w, w, kappa, ridge, sigma2, tau, omk):
    """gamma^2 (theory page, section :ref:`theory-dc`) with the signal given as e2w_k = w_k E[B^2 | node k].

    Same formula as :func:`dcpredict._kernels.gamma2` (numerator sigma^2 + E[Lambda B^2 (1 - c)^2], denominator
    r/tau + kappa E[c (1 - c)]: free of cancellation and of overflow), with b_k^2 w_k replaced by e2w_k; inf at
    the interpolation threshold.  ``omk`` = 1 - kappa, computed exactly by the caller.
    """
    if tau == 0.0:
        den = omk
        if den <= 0.0:
            return math.inf
        return sigma2 / den
    num = 0.0
    dsum = 0.0
    for i in range(lam.size):
        inv = 1.0 / (lam[i] + tau)
        c = lam[i] * inv
        oc = tau * inv
        num += e2w[i] * lam[i] * oc * oc  # tau^2 Lambda / (Lambda + tau)^2, without overflow
        dsum += w[i] * c * oc
    den = kappa * dsum
    if ridge > 0.0:
        den += ridge / tau
    if not den > 0.0:
        return math.inf
    return (sigma2 + num) / den


@njit(cache=True)
def dense(lam, v, w, kappa, ridge, sigma2, rtol):
    """The dense DC: returns (tau, residual, bracket width, gamma^2)."""
    tau, res, width = solve_tau(lam, w, kappa, ridge, rtol)
    e2w = w * v
    return tau, res, width, gamma2_e(lam, e2w, w, kappa, ridge, sigma2, tau, 1.0 - kappa)


# ------------------------------------------------------------------------------------- the cut equation
@njit(cache=True)
def _cut_value(T, g, w, comp):
    """h(T) of :func:`_cut_eval` without derivatives (for the certifying evaluations)."""
    f = 0.0
    for k in range(g.size):
        gk = g[k]
        if gk == math.inf:
            continue
        if comp:
            f -= w[k] * math.erf(T * gk / _SQRT2)
        else:
            f += w[k] * math.erfc(T * gk / _SQRT2)
    return f


@njit(cache=True)
def _cut_eval(T, g, w, comp):
    """h(T), h'(T), h''(T) of the cut equation (h decreasing in T).

    comp False: h = sum_k w_k 2Q(T g_k) (the kept mass; the caller subtracts alpha).
    comp True:  h = -sum_k w_k erf(T g_k / sqrt 2) (minus the dropped mass of the finite-g nodes; the caller
    adds their mass minus alpha).  Used for alpha > 1/2, where it has no cancellation.  Both have the same
    derivatives: h' = -2 sum_k w_k g_k phi(T g_k), h'' = 2 T sum_k w_k g_k^3 phi(T g_k).
    """
    f = 0.0
    d = 0.0
    d2 = 0.0
    for k in range(g.size):
        gk = g[k]
        if gk == math.inf:
            continue
        z = T * gk
        if comp:
            f -= w[k] * math.erf(z / _SQRT2)
        else:
            f += w[k] * math.erfc(z / _SQRT2)
        if z < 40.0:
            e = w[k] * gk * math.exp(-0.5 * z * z)
            d += e
            d2 += e * gk * gk
    return f, -2.0 * d / _SQRT2PI, 2.0 * T * d2 / _SQRT2PI


@njit(cache=True)
def _inner2(u, pnot, uphi):
    """2 int_0^u x^2 phi(x) dx = P(|N(0,1)| < u) - 2 u phi(u), without cancellation.

    ``pnot`` = P(|N(0,1)| < u) and ``uphi`` = u phi(u) are used for u >= 0.3 (at most 1.5 digits cancel);
    below, the series 2 phi(0) sum_k (-1)^k u^(2k+3) / (2^k k! (2k+3)) (at most 8 terms)."""
    if u >= 0.3:
        return max(pnot - 2.0 * uphi, 0.0)
    u2 = u * u
    term = u2 * u
    total = term / 3.0
    for k in range(1, 12):
        term *= -0.5 * u2 / k
        add = term / (2 * k + 3)
        total += add
        if abs(add) < 1e-17 * total:
            break
    return 2.0 * total * 0.3989422804014327


@njit(cache=True)
def _cut_full(T, g, w, comp, lam, ve, sx, a, am1, mass, e2k, err, out):
    """h(T) of :func:`_cut_value` together with the rule's sums at T (the last certifying evaluation).

    Writes per node mass_k = w_k P(kept) and e2k_k = w_k E[B^2 1kept], and out = (kept mass,
    E[Lambda B^2 1dropped], E[Lambda E[(B - X 1kept)^2]]) (the last only if ``err``); nodes with g = inf are
    left to the caller (zero here).  Per node ``ve`` = Var(B | X), ``a`` = a s_X and ``am1`` = (a - 1) s_X
    (computed without cancellation, overflow or underflow of s_X^2).  Every piece is a sum of non-negative
    terms (B = a X + e, e independent of X): E[B^2 1kept] = a^2 E[X^2 1kept] + ve P(kept),
    E[B^2 1dropped] = a^2 E[X^2 1dropped] + ve P(dropped), E[(B - X 1kept)^2] = ve + (a - 1)^2 E[X^2 1kept]
    + a^2 E[X^2 1dropped], so small risks (sigma^2 = 0, alpha near 1) keep their relative accuracy.
    """
    f = 0.0
    kept = 0.0
    lvd = 0.0
    risk = 0.0
    for k in range(g.size):
        gk = g[k]
        if gk == math.inf:
            mass[k] = 0.0
            e2k[k] = 0.0
            continue
        u = T * gk
        if comp:
            e = math.erf(u / _SQRT2)
            f -= w[k] * e
            pnot = e
            pk = 1.0 - e
        else:
            pk = math.erfc(u / _SQRT2)
            f += w[k] * pk
            pnot = math.erf(u / _SQRT2) if u < 0.5 else 1.0 - pk
        uphi = u * _phi(u) if u < 40.0 else 0.0
        mk = 2.0 * uphi + pk            # E[X^2 1kept] / s_X^2
        mn = _inner2(u, pnot, uphi)     # E[X^2 1dropped] / s_X^2
        as2 = a[k] * a[k]        # (a s_X)^2
        eb2 = as2 * mk + ve[k] * pk
        ebn = as2 * mn + ve[k] * pnot
        mass[k] = w[k] * pk
        e2k[k] = w[k] * eb2
        kept += mass[k]
        lvd += w[k] * lam[k] * ebn
        if err:
            risk += w[k] * lam[k] * (ve[k] + am1[k] * am1[k] * mk + as2 * mn)
    out[0] = kept
    out[1] = lvd
    out[2] = risk
    return f


@njit(cache=True)
def solve_cut(g, w, alpha, finite_mass, T_hi, state, rtol, full, lam, v, sx, a, am1, mass, e2k, err, out):
    """T >= 0 with sum_k w_k 2Q(T g_k) = alpha (see the module docstring).

    ``finite_mass`` = total weight of the nodes with finite g; if it is <= alpha the cut is T = 0 (all of
    them kept; the rest filled by the caller).  ``T_hi`` is a known upper bound (inf if none).
    ``state`` = (T, alpha, h', h'') at the previous root of the same equation (state[0] = 0: none); it
    gives a Halley prediction of the new root (warm start along a row of alphas) and is updated here.
    Halley steps (closed-form h', h'') inside a bracket that every evaluation tightens; once a step is
    tiny the root is certified by evaluating just below and just above it.  Returns (T, half width): the
    kept mass minus alpha changes sign within T +- half width, half width <= rtol * T / 2 (or T = 0).
    With ``full``, the last certifying evaluation also computes the threshold rule's sums
    (:func:`_cut_full` into lam..out); the third return value says whether they are those of the returned
    bracket (else the caller computes them at T).
    """
    if finite_mass <= alpha:
        state[0] = 0.0
        return 0.0, 0.0, False
    comp = alpha > 0.5
    target = (finite_mass - alpha) if comp else alpha
    lo = 0.0
    hi = T_hi
    x = math.nan
    if state[0] > 0.0 and state[2] < 0.0:
        # Halley prediction from the previous root: h(T_prev) = alpha_prev - alpha
        h0 = state[1] - alpha
        d0 = state[2]
        if abs(h0 * state[3]) < d0 * d0:
            x = state[0] - 2.0 * h0 * d0 / (2.0 * d0 * d0 - h0 * state[3])
        else:
            x = state[0] - h0 / d0
    if not (x > lo and x < hi) or not math.isfinite(x):
        if math.isfinite(hi) and hi > 0.0:
            x = 0.5 * hi
        else:
            sg = 0.0
            for k in range(g.size):
                if g[k] != math.inf:
                    sg += w[k] * g[k]
            x = 1.0 / max(sg, 1e-300)
    certify = False
    jumped = False
    xc = 0.0
    d = 0.0
    d2 = 0.0
    sums = False
    for _ in range(_MAXIT):
        sums = False
        if certify and jumped and full:
            f = _cut_full(x, g, w, comp, lam, v, sx, a, am1, mass, e2k, err, out)
            sums = True
        elif certify:
            f = _cut_value(x, g, w, comp)
        else:
            f, d, d2 = _cut_eval(x, g, w, comp)
        h = (f + target) if comp else (f - target)
        if h > 0.0:
            lo = x
        elif h < 0.0:
            hi = x
        else:
            lo = x
            hi = x
        if math.isfinite(hi) and hi - lo <= rtol * hi:
            state[0] = 0.5 * (lo + hi)
            state[1] = alpha
            state[2] = d
            state[3] = d2
            return 0.5 * (lo + hi), 0.5 * (hi - lo), sums
        if certify:
            # the other side of the predicted root (evaluated without derivatives as well), once
            if not jumped and lo >= xc * (1.0 - 0.5 * rtol) and not (hi <= xc * (1.0 + 0.5 * rtol)):
                x = xc * (1.0 + 0.3 * rtol)
                jumped = True
                continue
            certify = False
            f, d, d2 = _cut_eval(x, g, w, comp)  # certification failed: derivatives for the next step
        xn = math.nan
        if d < 0.0:
            # Halley when its correction to Newton is moderate (near the root), else Newton
            if abs(h * d2) < d * d:
                xn = x - 2.0 * h * d / (2.0 * d * d - h * d2)
            else:
                xn = x - h / d
        if math.isfinite(xn) and xn > lo and xn < hi and abs(xn - x) < 2e-5 * x:
            # Halley from within 2e-5: xn is accurate far below rtol; certify on both sides of it
            xc = xn
            certify = True
            if lo >= xn * (1.0 - 0.5 * rtol):
                x = xn * (1.0 + 0.3 * rtol)
                jumped = True
            else:
                x = xn * (1.0 - 0.3 * rtol)
                jumped = False
            continue
        if not (xn > lo and xn < hi) or not math.isfinite(xn):
            if math.isfinite(hi):
                xn = 0.5 * (lo + hi) if lo <= 0.0 or hi > 4.0 * lo else math.sqrt(lo * hi)
            else:
                xn = 2.0 * max(x, lo)
        x = xn
    state[0] = 0.0
    return x, hi - lo, False


@njit(cache=True)
def _k_log(s, lam, w, kappa, ridge, omk):
    """k = 1 - kappa E[c] - r/tau at tau = e^s, dk/ds = kappa E[c (1 - c)] + r/tau (> 0) and
    d2k/ds2 = -kappa E[c (1 - c) (1 - 2c)] - r/tau."""
    tau = math.exp(s)
    sc = 0.0
    s1c = 0.0
    scc = 0.0
    sccc = 0.0
    for i in range(lam.size):
        inv = 1.0 / (lam[i] + tau)
        c = lam[i] * inv
        oc = tau * inv
        sc += w[i] * c
        s1c += w[i] * oc
        t = w[i] * c * oc
        scc += t
        sccc += t * (oc - c)
    val = (1.0 - kappa * sc) if sc <= 0.5 else (omk + kappa * s1c)
    der = kappa * scc
    der2 = -kappa * sccc
    if ridge > 0.0:
        val -= ridge / tau
        der += ridge / tau
        der2 -= ridge / tau
    return val, der, der2


@njit(cache=True)
def solve_tau_newton(lam, w, kappa, ridge, rtol, hint, omk):
    """tau of the DC (theory page, :ref:`theory-dc`) by Halley/Newton steps in s = log tau in a sign-change bracket.

    Same equation and brackets as :func:`dcpredict._kernels.solve_tau`; ``hint`` > 0 is a warm start (e.g.
    the same refit at the previous alpha of a row).  Returns (tau, bracket width in tau); tau is nan if no
    root was certified to relative width rtol.  tau = 0 for OLS (r = 0, kappa <= 1).  ``omk`` = 1 - kappa
    computed exactly (kappa may be a rounded product).
    """
    if ridge == 0.0 and omk >= 0.0:
        return 0.0, 0.0
    mean_lam = 0.0
    mean_inv = 0.0
    for i in range(lam.size):
        mean_lam += w[i] * lam[i]
        mean_inv += w[i] / lam[i]
    if ridge > 0.0:
        a = ridge
        b = ridge + kappa * mean_lam
        if b <= a * (1.0 + rtol):
            # kappa E[Lambda] below rtol * r: tau is r to the requested tolerance (the bracket certifies it)
            return 0.5 * (a + b), b - a
    else:
        a = 0.5 * (-omk) / (kappa * mean_inv)
        b = kappa * mean_lam
    if not (a > 0.0 and b > a):
        return math.nan, math.inf
    slo = math.log(a)
    shi = math.log(b)
    # the brackets' ends are proven (theory), but rounding can put a root at an end: widen a little
    slo -= 1e-6
    shi += 1e-6
    s = math.log(hint) if hint > 0.0 else 0.5 * (slo + shi)
    if not (s > slo and s < shi):
        s = 0.5 * (slo + shi)
    certify = 0  # 1: at the point just below the predicted root, 2: just above
    sc = 0.0
    for _ in range(_MAXIT):
        val, der, der2 = _k_log(s, lam, w, kappa, ridge, omk)
        if val < 0.0:
            slo = s
        elif val > 0.0:
            shi = s
        else:
            return math.exp(s), 0.0
        if shi - slo <= rtol:
            tau = math.exp(0.5 * (slo + shi))
            return tau, tau * (shi - slo)
        if certify == 1 and slo >= sc - 0.5 * rtol and not (shi <= sc + 0.5 * rtol):
            s = sc + 0.4 * rtol
            certify = 2
            continue
        certify = 0
        sn = math.nan
        if der > 0.0:
            if abs(val * der2) < der * der:  # Halley near the root, else Newton
                sn = s - 2.0 * val * der / (2.0 * der * der - val * der2)
            else:
                sn = s - val / der
        if math.isfinite(sn) and sn > slo and sn < shi and abs(sn - s) < 1e-5:
            # a Halley step this small is accurate far below rtol: certify on both sides of it
            sc = sn
            if slo >= sc - 0.5 * rtol:
                s = sc + 0.4 * rtol
                certify = 2
            else:
                s = sc - 0.4 * rtol
                certify = 1
            continue
        if not (sn > slo and sn < shi) or not math.isfinite(sn):
            sn = 0.5 * (slo + shi)
        s = sn
    return math.nan, math.inf


# ------------------------------------------------------------------------------------- one (kappa, alpha)
@njit(cache=True)
def _refit(lam, mass, e2kept, lv_dropped, kappa, alpha, ridge, sigma2, rtol, ws, e2s, out, j, hint):
    """Risk of least squares refit on a kept set: mass_k kept per node, e2kept_k = w_k E[B^2 1kept | node k].

    The support problem (theory page, :ref:`theory-retraining`): ratio alpha kappa, noise
    sigma^2 + E[Lambda B^2 1dropped] (``lv_dropped``), nodes lam_k with weights mass_k / total and
    signal alpha e2kept_k / total.  Writes (kappa_S, sigma2_S, tau_S, gamma2_S) into out[j:j+4].
    ``hint`` warm-starts tau_S (the same refit at a neighbouring alpha); tau_S is nan if not certified.
    """
    n = lam.size
    total = 0.0
    for k in range(n):
        total += mass[k]
    s2 = sigma2 + lv_dropped  # the signal of the dropped features, computed directly (no cancellation)
    for k in range(n):
        ws[k] = mass[k] / total
        e2s[k] = alpha * e2kept[k] / total
    ks = alpha * kappa
    omk = one_minus_product(alpha, kappa)  # exact: alpha kappa may round to (or across) 1
    tau, _ = solve_tau_newton(lam, ws, ks, ridge, rtol, hint, omk)
    g2 = gamma2_e(lam, e2s, ws, ks, ridge, s2, tau, omk)
    out[j] = ks
    out[j + 1] = s2
    out[j + 2] = tau
    out[j + 3] = g2
    return g2


@njit(cache=True)
def oracle_cuts(lam, v, w, alphas, rtol, opk, oeb2, obn, ost):
    """The oracle cut lam B^2 > T^2 for every alpha (it does not depend on kappa: done once per grid).

    Writes opk[j, k] = P(kept | node k) and oeb2[j, k] = E[B^2 1kept | node k] (|B| > T / sqrt(lam):
    2 Q(z) and 2 v (z phi(z) + Q(z)), z = T / sqrt(lam v)) and obn[j, k] = E[B^2 1dropped | node k]
    (v (P(|N| < z) - 2 z phi(z)), without cancellation); nodes with v = 0 (zero saliency) are filled in
    proportion when alpha exceeds the mass of the others.  ost[j] = ST_OK or ST_CUT_ORACLE.
    """
    n = lam.size
    go = np.empty(n)
    fin_o = 0.0
    for k in range(n):
        if v[k] > 0.0:
            go[k] = 1.0 / math.sqrt(lam[k] * v[k])
            fin_o += w[k]
        else:
            go[k] = math.inf
    idx = np.argsort(alphas)
    st_o = np.zeros(4)
    To_prev = math.inf
    for jj in range(alphas.size):
        j = idx[jj]
        alpha = alphas[j]
        To, wo, _ = solve_cut(go, w, alpha, fin_o, To_prev, st_o, rtol, False, go, go, go, go, go, go, go, False,
                              st_o)
        To_prev = To
        ost[j] = ST_OK if wo <= rtol * To else ST_CUT_ORACLE
        fill = 0.0 if fin_o >= 1.0 or To > 0.0 else min(1.0, max(0.0, (alpha - fin_o) / (1.0 - fin_o)))
        for k in range(n):
            if go[k] == math.inf:
                opk[j, k] = fill
                oeb2[j, k] = 0.0
                obn[j, k] = 0.0
            else:
                z = To * go[k]
                pk = math.erfc(z / _SQRT2)
                pnot = math.erf(z / _SQRT2) if z < 0.5 else 1.0 - pk
                opk[j, k] = pk
                zphi = z * _phi(z) if z < 40.0 else 0.0
                oeb2[j, k] = v[k] * (2.0 * zphi + pk)
                obn[j, k] = v[k] * _inner2(z, pnot, zphi)


@njit(cache=True)
def _row(lam, v, w, kappa, alphas, sigma2, ridge, rtol, risks, aux, dc, status, opk, oeb2, obn, ost):
    """One kappa: the dense DC once (into dc[0:4]), then every alpha of the row (warm-started cuts).

    ``opk``, ``oeb2``, ``obn``, ``ost``: the oracle cut per alpha (:func:`oracle_cuts`)."""
    n = lam.size
    tau, res, width = solve_tau(lam, w, kappa, ridge, rtol)
    work = np.empty((17, n))
    e2w = work[0]
    for k in range(n):
        e2w[k] = w[k] * v[k]
    g2 = gamma2_e(lam, e2w, w, kappa, ridge, sigma2, tau, 1.0 - kappa)
    dc[0] = tau
    dc[1] = res
    dc[2] = width
    dc[3] = g2
    infinite = not math.isfinite(g2)
    c = work[1]
    sx = work[2]
    a = work[3]
    gm = work[4]
    gh = work[5]
    Kn = work[7]
    mass = work[8]
    e2k = work[9]
    ws = work[10]
    e2s = work[11]
    mass_h = work[12]
    e2k_h = work[13]
    ve = work[14]
    am1 = work[15]
    omc = work[16]
    sums_m = np.empty(3)
    sums_h = np.empty(3)
    lv_total = 0.0
    fin_m = 0.0
    fin_h = 0.0
    for k in range(n):
        lk = lam[k]
        ck = lk / (lk + tau)
        c[k] = ck
        omc[k] = tau / (lk + tau)  # 1 - c without cancellation
        lv_total += w[k] * lk * v[k]
        if infinite:
            K = kappa / lk  # X / gamma -> c sqrt(kappa / lam) H: only the kept sets are finite
            s2x = K
            a[k] = 0.0
            am1[k] = -ck * math.sqrt(K)
            ve[k] = v[k]
        else:
            K = kappa * g2 / lk
            vk = v[k] + K
            s2x = vk
            # a s_X = v / sqrt(v + K) and (a - 1) s_X = (v (1 - c) - c K) / sqrt(v + K), with 1 - c = tau / (lam + tau)
            a[k] = v[k] / math.sqrt(vk) if vk > 0.0 else 0.0
            am1[k] = (v[k] * (tau / (lk + tau)) - ck * K) / math.sqrt(vk) if vk > 0.0 else 0.0
            ve[k] = v[k] * K / vk if vk > 0.0 else 0.0  # Var(B | X)
        Kn[k] = K
        sx[k] = ck * math.sqrt(s2x)  # s_X = c sqrt(v + K) (no square that could underflow)
        if sx[k] > 0.0:
            gm[k] = 1.0 / sx[k]
            gh[k] = 1.0 / (math.sqrt(lk) * sx[k])
            fin_m += w[k]
        else:
            gm[k] = math.inf
            gh[k] = math.inf
    fin_h = fin_m
    idx = np.argsort(alphas)
    Tm_prev = math.inf
    Th_prev = math.inf
    st_m = np.zeros(4)
    st_h = np.zeros(4)
    hints = np.zeros(4)  # tau_S of the four refits at the previous alpha (warm starts)
    for jj in range(alphas.size):
        j = idx[jj]  # increasing alpha: T decreases, the previous T is an upper bound and a warm start
        alpha = alphas[j]
        Tm, wm, ok_m = solve_cut(gm, w, alpha, fin_m, Tm_prev, st_m, rtol, True, lam, ve, sx, a, am1, mass, e2k,
                                 not infinite, sums_m)
        if not ok_m:
            fill = 0.0 if fin_m >= 1.0 or Tm > 0.0 else min(1.0, max(0.0, (alpha - fin_m) / (1.0 - fin_m)))
            _cut_sums(Tm, gm, w, lam, v, ve, sx, a, am1, fill, mass, e2k, not infinite, sums_m)
        Th, wh, ok_h = solve_cut(gh, w, alpha, fin_h, Th_prev, st_h, rtol, True, lam, ve, sx, a, am1, mass_h,
                                 e2k_h, not infinite, sums_h)
        if not ok_h:
            fill = 0.0 if fin_h >= 1.0 or Th > 0.0 else min(1.0, max(0.0, (alpha - fin_h) / (1.0 - fin_h)))
            _cut_sums(Th, gh, w, lam, v, ve, sx, a, am1, fill, mass_h, e2k_h, not infinite, sums_h)
        Tm_prev = Tm
        Th_prev = Th
        st = ST_OK
        if not (tau == tau):
            st = ST_TAU
        elif not (wm <= rtol * Tm):
            st = ST_CUT_MAG
        elif not (wh <= rtol * Th):
            st = ST_CUT_HESS
        elif ost[j] != ST_OK:
            st = ost[j]
        _point(lam, v, w, kappa, alpha, sigma2, ridge, rtol, g2, infinite, c, omc, Kn, lv_total, Tm, Th,
               sums_m, sums_h, mass_h, e2k_h, opk[j], oeb2[j], obn[j], mass, e2k, ws, e2s, risks[j], aux[j], hints)
        for q in range(4):
            hints[q] = aux[j, 6 + 4 * q]
        if st == ST_OK:
            for q in range(4):
                if not (aux[j, 6 + 4 * q] == aux[j, 6 + 4 * q]):
                    st = ST_REFIT
        if st == ST_OK:
            for q in range(N_RISKS):
                if not (risks[j, q] == risks[j, q]):
                    st = ST_NONFINITE
        status[j] = st


@njit(cache=True)
def _cut_sums(T, g, w, lam, v, ve, sx, a, am1, fill, mass, e2k, err, out):
    """The sums of :func:`_cut_full` at T (the fallback when the solver's last evaluation did not make
    them), with the g = inf nodes (X = B = 0 there) kept in the proportion ``fill``: no signal, no error."""
    _cut_full(T, g, w, False, lam, ve, sx, a, am1, mass, e2k, err, out)
    for k in range(g.size):
        if g[k] == math.inf:
            mass[k] = w[k] * fill
            out[0] += mass[k]


@njit(cache=True)
def _point(lam, v, w, kappa, alpha, sigma2, ridge, rtol, g2, infinite, c, omc, Kn, lv_total, Tm, Th,
           sums_m, sums_h, mass_h, e2k_h, opk, oeb2, obn, mass, e2k, ws, e2s, risks, aux, hints):
    """The nine risks at one alpha from the rules' sums (magnitude in mass/e2k, Hessian in mass_h/e2k_h)."""
    n = lam.size
    risks[0] = g2
    # magnitude
    kept, lvd, er = sums_m[0], sums_m[1], sums_m[2]
    aux[0] = Tm
    aux[2] = kept - alpha
    risks[1] = math.inf if infinite else sigma2 + er
    risks[6] = _refit(lam, mass, e2k, lvd, kappa, alpha, ridge, sigma2, rtol, ws, e2s, aux, 8, hints[1])
    # Hessian
    kept, lvd, er = sums_h[0], sums_h[1], sums_h[2]
    aux[1] = Th
    aux[3] = kept - alpha
    risks[2] = math.inf if infinite else sigma2 + er
    risks[7] = _refit(lam, mass_h, e2k_h, lvd, kappa, alpha, ridge, sigma2, rtol, ws, e2s, aux, 12, hints[2])
    if infinite:
        aux[0] = math.inf
        aux[1] = math.inf
    # random
    er = 0.0
    for k in range(n):
        ck = c[k]
        er += w[k] * lam[k] * ((1.0 - alpha) * v[k] + alpha * (omc[k] * omc[k] * v[k] + ck * ck * Kn[k]))
        mass[k] = w[k] * alpha
        e2k[k] = w[k] * alpha * v[k]
    risks[3] = math.inf if infinite else sigma2 + er
    risks[8] = _refit(lam, mass, e2k, (1.0 - alpha) * lv_total, kappa, alpha, ridge, sigma2, rtol, ws, e2s,
                      aux, 16, hints[3])
    # oracle cut on the true saliency: oracle pruning (no refit) and small_oracle (refit)
    lvd = 0.0
    eo = 0.0
    for k in range(n):
        ck = c[k]
        pk = opk[k]
        eb2 = oeb2[k]
        mass[k] = w[k] * pk
        e2k[k] = w[k] * eb2
        lvd += w[k] * lam[k] * obn[k]
        eo += w[k] * lam[k] * (obn[k] + omc[k] * omc[k] * eb2 + ck * ck * Kn[k] * pk)
    risks[4] = math.inf if infinite else sigma2 + eo
    risks[5] = _refit(lam, mass, e2k, lvd, kappa, alpha, ridge, sigma2, rtol, ws, e2s, aux, 4, hints[0])


@njit(cache=True)
def predict_point(lam, v, w, kappa, alpha, sigma2, ridge, rtol):
    """One (kappa, alpha): returns (risks[N_RISKS], aux[N_AUX], dc[4] = tau, k(tau), bracket width, gamma^2, status)."""
    risks = np.empty((1, N_RISKS))
    aux = np.empty((1, N_AUX))
    dc = np.empty(4)
    status = np.empty(1, dtype=np.int64)
    alphas = np.empty(1)
    alphas[0] = alpha
    opk = np.empty((1, lam.size))
    oeb2 = np.empty((1, lam.size))
    obn = np.empty((1, lam.size))
    ost = np.empty(1, dtype=np.int64)
    oracle_cuts(lam, v, w, alphas, rtol, opk, oeb2, obn, ost)
    _row(lam, v, w, kappa, alphas, sigma2, ridge, rtol, risks, aux, dc, status, opk, oeb2, obn, ost)
    return risks[0], aux[0], dc, status[0]


@njit(cache=True, parallel=True)
def predict_grid(lam, v, w, kappas, alphas, sigma2, ridge, rtol):
    """All (kappa, alpha) pairs, rows of kappa in parallel; returns risks (nk, na, N_RISKS), aux, dc (nk, 4), status."""
    nk = kappas.size
    na = alphas.size
    dc = np.empty((nk, 4))
    risks = np.empty((nk, na, N_RISKS))
    aux = np.empty((nk, na, N_AUX))
    status = np.empty((nk, na), dtype=np.int64)
    opk = np.empty((na, lam.size))
    oeb2 = np.empty((na, lam.size))
    obn = np.empty((na, lam.size))
    ost = np.empty(na, dtype=np.int64)
    oracle_cuts(lam, v, w, alphas, rtol, opk, oeb2, obn, ost)
    for i in prange(nk):
        _row(lam, v, w, kappas[i], alphas, sigma2, ridge, rtol, risks[i], aux[i], dc[i], status[i], opk, oeb2, obn,
             ost)
    return risks, aux, dc, status


@njit(cache=True, parallel=True)
def world_curve_random(lam, v, w, n_samples, P, s, ps, sigma2, ridge, rtol):
    """The fixed-world sweep with order "random": model of p = f P features has law (lam_k, f v_k, w_k)
    and noise sigma^2 + (1 - f) E[Lambda B^2] (theory page, :ref:`theory-world`).  Returns risks, aux, dc, status."""
    npts = ps.size
    n = lam.size
    risks = np.empty((npts, N_RISKS))
    aux = np.empty((npts, N_AUX))
    dc = np.empty((npts, 4))
    status = np.empty(npts, dtype=np.int64)
    lv = 0.0
    for k in range(n):
        lv += w[k] * lam[k] * v[k]
    for i in prange(npts):
        p = ps[i]
        f = p / P
        mv = np.empty(n)
        for k in range(n):
            mv[k] = f * v[k]
        alphas = np.empty(1)
        alphas[0] = s / p
        extra = (1.0 - f) * lv
        if extra < 0.0:
            extra = 0.0
        opk = np.empty((1, n))
        oeb2 = np.empty((1, n))
        obn = np.empty((1, n))
        ost = np.empty(1, dtype=np.int64)
        oracle_cuts(lam, mv, w, alphas, rtol, opk, oeb2, obn, ost)
        _row(lam, mv, w, p / n_samples, alphas, sigma2 + extra, ridge, rtol, risks[i:i + 1], aux[i:i + 1], dc[i],
             status[i:i + 1], opk, oeb2, obn, ost)
    return risks, aux, dc, status


# ============================================================================ helpers of the Python entry points
# (the entry points live in dcpredict.theory and dcpredict.world, which import this module; nothing here
# imports them back)
_STATUS_TEXT = {ST_TAU: "the root tau of the dense DC could not be certified",
                ST_CUT_MAG: "the magnitude-pruning threshold could not be certified",
                ST_CUT_HESS: "the Hessian-pruning threshold could not be certified",
                ST_REFIT: "a retrained problem's root could not be certified",
                ST_NONFINITE: "a risk came out undefined (nan)",
                ST_CUT_ORACLE: "the oracle (true-saliency) threshold could not be certified"}


def _scaled(law, sigma2: float, ridge: float):
    """Nodes in scaled units: lam / L, v L / Q, sigma2 / Q, ridge / L with L = max lam, Q = sigma2 + E[Lambda B^2].

    Every risk scales with Q, tau with L, the magnitude threshold with sqrt(Q / L), the Hessian one with
    sqrt(Q) (the invariances of the theory page, :ref:`theory-lgp`).
    """
    lam = np.array(law.nodes, dtype=np.float64)
    v = np.array(law.b_var, dtype=np.float64)
    w = np.array(law.node_weights, dtype=np.float64)
    L = float(lam.max())
    Q = sigma2 + float(np.dot(w, lam * v))
    if not Q > 0.0:
        Q = 1.0
    return lam / L, v * (L / Q), w, sigma2 / Q, ridge / L, L, Q


def _fail(status: int, law, kappa, alpha, sigma2, ridge):
    from ._validate import DCPredictError
    where = f"kappa={kappa!r}" + ("" if alpha is None else f", alpha={alpha!r}")
    raise DCPredictError(f"no certified result at {where} (sigma2={sigma2!r}, ridge={ridge!r}, law {law!r}): "
                         f"{_STATUS_TEXT.get(int(status), 'unknown failure')}")


@njit(cache=True)
def refit_risk(lam, mass, e2kept, lv_dropped, kappa, frac, ridge, sigma2, rtol):
    """Least squares on a data-independent kept set (kept mass and w E[B^2 1kept] per node, dropped signal
    E[Lambda B^2 1dropped]) of a fraction ``frac`` of the features; returns (kappa_S, sigma2_S, tau_S, gamma2_S)."""
    n = lam.size
    out = np.empty(4)
    _refit(lam, mass, e2kept, lv_dropped, kappa, frac, ridge, sigma2, rtol, np.empty(n), np.empty(n), out, 0, 0.0)
    return out
