"""Numba kernels of the theory engine (private: use :mod:`dcpredict.theory`).

Everything here works on a law given as parallel float64 arrays ``lam, b, w`` (atoms of the law
of (Lambda, B), the theory page, :ref:`theory-lgp`) and returns plain numbers or arrays.  All root finders are
bracketing (Brent's method) and stop when the bracket is narrower than ``rtol * |root|``, so a
returned root is certified to that relative tolerance.

Equation references: the theory page, sections 2-4; the paper (Chang, Li, Oymak, Thrampoulidis, AAAI 2021)
eqs. (8)-(10) for the DC and (12)-(16) for the pruning risks, Definition 5 for retraining.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_SQRT2 = math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TINY = 1e-300
_MAXITER = 400
#: an atom whose score sd is below _DET times its mean is deterministic for the thresholds: its keep
#: probability is a step (resolved by the fractional tie rule) instead of a Gaussian tail that double
#: precision cannot resolve (the risk changes by O(_DET^2) relative)
_DET = 1e-6
#: relative tolerance of the pruning thresholds (in their O(1) scaled variable): 2 ulps
_THRESH_RTOL = 4.5e-16
#: without a previous root to start from, start the threshold's safeguarded Newton iteration from a pooled-
#: Gaussian guess (certified by the sign change across its final bracket, else Brent); False: Brent directly
NEWTON_FIRST = True

# objective selectors for the shared Brent solver
_OBJ_TAU = 0
_OBJ_KEEP = 1

# layout of the per-point output vectors
N_RISKS = 9
# risks: 0 dense, 1 magnitude, 2 hessian, 3 random, 4 oracle_pruned, 5 small_oracle,
#        6 magnitude_retrained, 7 hessian_retrained, 8 random_retrained  (the order of dcpredict.RISK_FIELDS)
N_AUX = 22
# aux: 0 t_mag, 1 t_hess, 2 res_mag, 3 res_hess,
#      4.. 4 refit problems (small_oracle, magnitude, hessian, random) x (kappa_S, sigma2_S, tau_S, gamma2_S),
#      20 status (ST_*), 21 reserved
# named slots of that layout (also the layout of dcpredict._mp.predict_point's lists); read them through
# dcpredict.theory._unpack, never by literal position
AUX_T_MAG, AUX_T_HESS, AUX_RES_MAG, AUX_RES_HESS, AUX_REFITS = 0, 1, 2, 3, 4
REFIT_RULES = ("small_oracle", "magnitude", "hessian", "random")
REFIT_SLOTS = ("kappa", "sigma2", "tau", "gamma2")
DC_TAU, DC_RESIDUAL, DC_BRACKET, DC_GAMMA2 = 0, 1, 2, 3
N_WORLD = 3
# world baselines: 0 small_random, 1 small_top_variance, 2 zero_model


@njit(cache=True, error_model="numpy")
def _Phi(x):
    return 0.5 * math.erfc(-x / _SQRT2)


@njit(cache=True, error_model="numpy")
def _Q(x):
    return 0.5 * math.erfc(x / _SQRT2)


@njit(cache=True, error_model="numpy")
def _phi(x):
    return math.exp(-0.5 * x * x) * _INV_SQRT2PI


@njit(cache=True, error_model="numpy")
def _uphi(u):
    if abs(u) > 60.0:
        return 0.0
    return u * _phi(u)


# ---------------------------------------------------------------------------- status codes
# every point carries a status in aux[AUX_STATUS]; 0 = every root certified, else the first failure
ST_OK = 0
ST_TAU = 1          # tau of the dense DC: no certified root
ST_THRESH_MAG = 2   # magnitude threshold: no certified root
ST_THRESH_HESS = 3  # Hessian threshold: no certified root
ST_REFIT = 4        # a refit problem (tau_S): no certified root, or an empty support
ST_NONFINITE = 5    # a risk came out nan
ST_NOT_RUN = 6      # the point was never computed (grid initialisation)
AUX_STATUS = 20


# ---------------------------------------------------------------------------- tau (the theory page, :ref:`theory-dc`)
@njit(cache=True, error_model="numpy")
def _k_tau(tau, lam, w, kappa, ridge, omk):
    """k(tau) = 1 - kappa E[Lambda/(Lambda+tau)] - r/tau, without cancellation.

    k is strictly increasing on tau > 0; its root is the tau of the DC (eq. 8 of the paper with
    xi = 1/tau when r = 0).  Two algebraically equal forms are used: 1 - kappa E[c] - r/tau when the
    shrinkage factors c = Lambda/(Lambda+tau) are small on average, (1 - kappa) + kappa E[1 - c] - r/tau
    (with 1 - c = tau/(Lambda+tau) computed directly) when they are close to 1, so that neither form
    subtracts two nearly equal large numbers.  ``omk`` is 1 - kappa, passed separately so that a
    ratio within rounding of 1 (a refit problem's alpha kappa) keeps its exact distance from 1.
    """
    sc = 0.0
    s1c = 0.0
    for i in range(lam.size):
        d = lam[i] + tau
        sc += w[i] * (lam[i] / d)
        s1c += w[i] * (tau / d)
    if sc <= 0.5:
        val = 1.0 - kappa * sc
    else:
        val = omk + kappa * s1c
    if ridge > 0.0:
        val -= ridge / tau
    return val


@njit(cache=True, error_model="numpy")
def _keep_prob(t, m, v, scale, w):
    """P(kept) = sum_k w_k P(|X_k| > t * scale_k) for X_k ~ N(m_k, v_k^2) (v_k = 0: deterministic)."""
    total = 0.0
    for k in range(m.size):
        te = t * scale[k]
        if v[k] > _DET * abs(m[k]):
            total += w[k] * (_Q((te - m[k]) / v[k]) + _Phi((-te - m[k]) / v[k]))
        elif abs(m[k]) > te:
            total += w[k]
    return total


@njit(cache=True, error_model="numpy")
def _objective(which, x, a0, a1, a2, a3, s0, s1):
    if which == _OBJ_TAU:
        # x = log(tau): the scaled variable in which tau can span the whole double range
        return _k_tau(math.exp(x), a0, a1, s0, s1, a2[0])
    # keep-probability minus alpha, decreasing in x
    return _keep_prob(x, a0, a1, a2, a3) - s0


@njit(cache=True, error_model="numpy")
def _brent(which, xa, xb, fa, fb, rtol, atol, a0, a1, a2, a3, s0, s1):
    """Brent's method on a sign-changing bracket [xa, xb] (scipy's brentq algorithm).

    Returns (root, bracket_width, iterations).  Converged (iterations < _MAXITER) means the root
    lies in an interval of width <= atol + rtol*|root| that contains a sign change of the objective.
    """
    xpre, xcur, fpre, fcur = xa, xb, fa, fb
    if fpre == 0.0:
        return xpre, 0.0, 0
    if fcur == 0.0:
        return xcur, 0.0, 0
    xblk = 0.0
    fblk = 0.0
    spre = 0.0
    scur = 0.0
    for it in range(_MAXITER):
        if fpre != 0.0 and fcur != 0.0 and ((fpre < 0.0) != (fcur < 0.0)):
            xblk = xpre
            fblk = fpre
            spre = xcur - xpre
            scur = spre
        if abs(fblk) < abs(fcur):
            xpre = xcur
            xcur = xblk
            xblk = xpre
            fpre = fcur
            fcur = fblk
            fblk = fpre
        delta = 0.5 * (atol + rtol * abs(xcur))
        sbis = 0.5 * (xblk - xcur)
        if fcur == 0.0:
            return xcur, 0.0, it
        if abs(sbis) < delta:
            return xcur, abs(xblk - xcur), it
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2.0 * abs(stry) < min(abs(spre), 3.0 * abs(sbis) - delta):
                spre = scur
                scur = stry
            else:
                spre = sbis
                scur = sbis
        else:
            spre = sbis
            scur = sbis
        xpre = xcur
        fpre = fcur
        if abs(scur) > delta:
            xcur += scur
        else:
            xcur += delta if sbis > 0.0 else -delta
        fcur = _objective(which, xcur, a0, a1, a2, a3, s0, s1)
        if fcur != fcur:  # nan: no certified root
            return xcur, math.inf, _MAXITER
    return xcur, abs(xblk - xcur), _MAXITER


@njit(cache=True, error_model="numpy")
def _two_prod_one_minus(a, c):
    """(a c, 1 - a c) with 1 - a c exact to rounding (Dekker's error-free product) when a c is near 1."""
    p = a * c
    if not (0.5 <= p <= 2.0) or abs(a) > 1e290 or abs(c) > 1e290:
        return p, 1.0 - p
    split = 134217729.0
    t = split * a
    ahi = t - (t - a)
    alo = a - ahi
    t = split * c
    chi = t - (t - c)
    clo = c - chi
    e = ((ahi * chi - p) + ahi * clo + alo * chi) + alo * clo
    return p, (1.0 - p) - e


@njit(cache=True, error_model="numpy")
def solve_tau_cert(lam, w, kappa, ridge, rtol):
    """:func:`solve_tau_omk` with 1 - kappa computed from kappa."""
    return solve_tau_omk(lam, w, kappa, 1.0 - kappa, ridge, rtol)


@njit(cache=True, error_model="numpy")
def solve_tau_omk(lam, w, kappa, omk, ridge, rtol):
    """Certified tau of the theory page, :ref:`theory-dc`: r = tau (1 - kappa E[Lambda/(Lambda+tau)]); tau = 0 for OLS (r = 0, kappa <= 1).

    The root is found in x = log(tau) on a sign-change bracket, so tau may lie anywhere in the
    double range (ridge from 1e-300 to 1e300 relative to the law's scale, kappa from 1e-12 to 1e12).
    Brackets: r > 0: [r, r + kappa E[Lambda]] (k(r) < 0 <= k(r + kappa E Lambda)); r = 0, kappa > 1:
    [(kappa - 1) / (2 kappa E[1/Lambda]), kappa E[Lambda]] (k < 0 below tau E[1/Lambda] < 1 - 1/kappa),
    each end checked and moved outward if rounding leaves no sign change.
    Returns (tau, residual k(tau), bracket width in tau, converged).
    """
    if ridge == 0.0 and omk >= 0.0:
        return 0.0, 0.0, 0.0, True
    box = np.empty(1)
    box[0] = omk
    mean_lam = 0.0
    mean_inv = 0.0
    for i in range(lam.size):
        mean_lam += w[i] * lam[i]
        mean_inv += w[i] / lam[i]
    if ridge > 0.0:
        lo = ridge
        hi = ridge + kappa * mean_lam
        if hi <= lo * (1.0 + rtol):
            # kappa E[Lambda] below rtol * r: tau is r to the requested tolerance (the bracket itself certifies it)
            tau = 0.5 * (lo + hi)
            return tau, _k_tau(tau, lam, w, kappa, ridge, omk), hi - lo, True
    else:
        lo = 0.5 * (-omk) / (kappa * mean_inv) if mean_inv < math.inf else 1e-300
        if not lo > 0.0:
            lo = 1e-300
        hi = kappa * mean_lam
    xlo = math.log(lo)
    xhi = math.log(hi)
    flo = _k_tau(lo, lam, w, kappa, ridge, omk)
    for _ in range(64):
        if flo < 0.0 or xlo < -740.0:
            break
        xlo -= 16.0
        flo = _k_tau(math.exp(xlo), lam, w, kappa, ridge, omk)
    fhi = _k_tau(hi, lam, w, kappa, ridge, omk)
    for _ in range(64):
        if fhi > 0.0 or xhi > 709.0:
            break
        xhi += 4.0
        fhi = _k_tau(math.exp(xhi), lam, w, kappa, ridge, omk)
    if not (flo <= 0.0 and fhi >= 0.0):
        return math.nan, math.nan, math.inf, False
    x, width, it = _brent(_OBJ_TAU, xlo, xhi, flo, fhi, 0.0, rtol, lam, w, box, w, kappa, ridge)
    tau = math.exp(x)
    ok = it < _MAXITER and width <= 2.0 * rtol and tau > 0.0 and tau < math.inf
    return tau, _k_tau(tau, lam, w, kappa, ridge, omk), tau * width, ok


@njit(cache=True, error_model="numpy")
def solve_tau(lam, w, kappa, ridge, rtol):
    """:func:`solve_tau_cert` without the flag: (tau, residual, width); tau is nan if not certified."""
    tau, res, width, ok = solve_tau_cert(lam, w, kappa, ridge, rtol)
    if not ok:
        return math.nan, res, width
    return tau, res, width


@njit(cache=True, error_model="numpy")
def gamma2(lam, b, w, kappa, ridge, sigma2, tau):
    """:func:`gamma2_omk` with 1 - kappa computed from kappa."""
    return gamma2_omk(lam, b, w, kappa, 1.0 - kappa, ridge, sigma2, tau)


@njit(cache=True, error_model="numpy")
def gamma2_omk(lam, b, w, kappa, omk, ridge, sigma2, tau):
    """gamma^2 of the theory page, :ref:`theory-dc` (paper eq. 9), which is the dense test risk; inf at the interpolation threshold.

    Written with c = Lambda/(Lambda+tau) and 1 - c = tau/(Lambda+tau) so that nothing overflows
    for tau up to the double range: numerator sigma^2 + E[Lambda B^2 (1-c)^2]; the denominator
    1 - kappa E[c^2] evaluated as r/tau + kappa E[c (1 - c)] (equal at the root, since
    1 - kappa E[c] = r/tau), free of cancellation near kappa = 1.
    """
    if tau == 0.0:
        den = omk
        if den <= 0.0:
            return math.inf
        return sigma2 / den
    num = 0.0
    dsum = 0.0
    for i in range(lam.size):
        d = lam[i] + tau
        c = lam[i] / d
        oc = tau / d
        num += w[i] * lam[i] * b[i] * b[i] * oc * oc
        dsum += w[i] * c * oc
    den = kappa * dsum
    if ridge > 0.0:
        den += ridge / tau
    if not den > 0.0:
        return math.inf
    return (sigma2 + num) / den


@njit(cache=True, error_model="numpy")
def _dense(lam, b, w, kappa, omk, ridge, sigma2, rtol):
    tau, _, _, ok = solve_tau_omk(lam, w, kappa, omk, ridge, rtol)
    if not ok:
        return tau, math.nan, False
    return tau, gamma2_omk(lam, b, w, kappa, omk, ridge, sigma2, tau), True


# ---------------------------------------------------------------------------- pruning (the theory page, :ref:`theory-pruning`)
@njit(cache=True, error_model="numpy")
def _keep_prob_d(x, m, v, s2, w):
    """(P(kept), dP/dx) at the scaled threshold x (deterministic atoms: a step, no derivative)."""
    total = 0.0
    deriv = 0.0
    for k in range(m.size):
        te = x * s2[k]
        if v[k] > _DET * abs(m[k]):
            u1 = (te - m[k]) / v[k]
            u0 = (-te - m[k]) / v[k]
            total += w[k] * (_Q(u1) + _Phi(u0))
            deriv -= w[k] * s2[k] / v[k] * (_phi(u1) + _phi(u0))
        elif abs(m[k]) > te:
            total += w[k]
    return total, deriv


@njit(cache=True, error_model="numpy")
def _newton_threshold(x0, lo, hi, m, v, s2, w, alpha):
    """Safeguarded Newton (bisection when a step leaves the bracket) for P(kept)(x) = alpha from the guess x0.

    Returns (x, certified): certified when P(kept) - alpha changes sign across [x - d, x + d] with
    d = _THRESH_RTOL |x| + 1e-300, checked by two final evaluations.
    """
    x = x0 if lo < x0 < hi else 0.5 * (lo + hi)
    for _ in range(40):
        fx, dfx = _keep_prob_d(x, m, v, s2, w)
        fx -= alpha
        if fx > 0.0:
            lo = x
        elif fx < 0.0:
            hi = x
        else:
            break
        step = -fx / dfx if dfx < 0.0 else math.inf
        xn = x + step
        if not (lo < xn < hi):
            xn = 0.5 * (lo + hi)
        if abs(xn - x) <= _THRESH_RTOL * abs(x) + 1e-300:
            x = xn
            break
        x = xn
    d = _THRESH_RTOL * abs(x) + 1e-300
    fa = _keep_prob(x - d, m, v, s2, w) - alpha
    fb = _keep_prob(x + d, m, v, s2, w) - alpha
    return x, (fa >= 0.0 and fb <= 0.0)


@njit(cache=True, error_model="numpy")
def _ndtri_guess(q):
    """Phi^{-1}(q) for q in (0, 1) to about 1e-9 relative (Acklam's rational approximation): a starting guess."""
    a0, a1, a2, a3, a4, a5 = -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, \
        1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00
    b0, b1, b2, b3, b4 = -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, \
        6.680131188771972e+01, -1.328068155288572e+01
    c0, c1, c2, c3, c4, c5 = -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, \
        -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00
    d0, d1, d2, d3 = 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00
    if q < 0.02425:
        r = math.sqrt(-2.0 * math.log(q))
        return (((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5) / ((((d0 * r + d1) * r + d2) * r + d3) * r + 1.0)
    if q > 1.0 - 0.02425:
        r = math.sqrt(-2.0 * math.log(1.0 - q))
        return -(((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5) / ((((d0 * r + d1) * r + d2) * r + d3) * r + 1.0)
    u = q - 0.5
    r = u * u
    return (((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * u / \
        (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1.0)


@njit(cache=True, error_model="numpy")
def _pooled_guess(m, v, s2, w, alpha):
    """Threshold guess in the scaled variable: the score pooled into one centred Gaussian of the same second
    moment, P(|Z| > x) = alpha solved in closed form (then refined and certified by the caller)."""
    mom = 0.0
    tot = 0.0
    for k in range(m.size):
        mom += w[k] * (m[k] * m[k] + v[k] * v[k]) / (s2[k] * s2[k])
        tot += w[k]
    if not (tot > 0.0 and mom > 0.0 and 0.0 < alpha < tot):
        return -1.0
    q = 1.0 - 0.5 * alpha / tot
    return math.sqrt(mom / tot) * _ndtri_guess(q)


@njit(cache=True, error_model="numpy")
def _threshold(m, v, scale, w, alpha, rtol, keep):
    """:func:`_threshold_guess` without a starting guess."""
    t, res, ok, _ = _threshold_guess(m, v, scale, w, alpha, rtol, keep, -1.0)
    return t, res, ok


@njit(cache=True, error_model="numpy")
def _threshold_guess(m, v, scale, w, alpha, rtol, keep, x0):
    """Threshold t with P(|X| > t * scale) = alpha; writes per-atom keep probabilities into ``keep``.

    The root is found in the scaled variable x = t / S with S = max_k (|m_k| + 40 v_k) / scale_k, so
    it is O(1) whatever the scale of the scores.  With a guess ``x0 >= 0`` in that variable (the
    previous alpha's root in a row: same m, v, scale) a safeguarded Newton iteration runs first and its
    root is accepted only when two evaluations certify the sign change across it; otherwise, and without a
    guess, Brent's method on the bracket.  Deterministic atoms (v = 0) make P a step function; at a step
    the atoms whose score equals the threshold are kept with the fraction that makes the kept mass exactly
    alpha.  Returns (t, residual P(kept) - alpha, converged, x).
    """
    n = m.size
    sc = 0.0
    for k in range(n):
        cand = (abs(m[k]) + 40.0 * v[k]) / scale[k]
        if cand > sc:
            sc = cand
    if not (sc > 0.0 and sc < math.inf):
        sc = 1.0
    s2 = np.empty(n)
    for k in range(n):
        s2[k] = scale[k] * sc
    ok = True
    # alpha is a fraction of the law's total mass, which sums to 1 only to rounding: keep-everything is exact
    total_w = 0.0
    for k in range(n):
        total_w += w[k]
    alpha = alpha * total_w
    p0 = _keep_prob(0.0, m, v, s2, w)
    if p0 <= alpha:
        x = 0.0
    else:
        hi = 1.0
        fhi = _keep_prob(hi, m, v, s2, w) - alpha
        for _ in range(200):
            if fhi <= 0.0:
                break
            hi *= 2.0
            fhi = _keep_prob(hi, m, v, s2, w) - alpha
        if fhi > 0.0:
            ok = False
            x = hi
        else:
            # to a few ulps whatever rtol: a pruned risk far below the signal scale is a difference of
            # terms of that scale, so the threshold's own error is amplified (rtol 1e-12 gave 2e-6)
            done = False
            if x0 < 0.0 and NEWTON_FIRST:
                x0 = _pooled_guess(m, v, s2, w, alpha)
            if x0 >= 0.0:
                x, done = _newton_threshold(x0, 0.0, hi, m, v, s2, w, alpha)
            if not done:
                x, width, it = _brent(_OBJ_KEEP, 0.0, hi, p0 - alpha, fhi, _THRESH_RTOL, 1e-300, m, v, s2, w,
                                      alpha, 0.0)
                ok = it < _MAXITER
    t = x * sc
    # per-atom keep probabilities at t, with ties among deterministic atoms filled fractionally
    base = 0.0
    tie_mass = 0.0
    for k in range(n):
        te = t * scale[k]
        if v[k] > _DET * abs(m[k]):
            keep[k] = _Q((te - m[k]) / v[k]) + _Phi((-te - m[k]) / v[k])
            base += w[k] * keep[k]
        elif abs(abs(m[k]) - te) <= 1e-10 * max(te, 1e-300):
            keep[k] = -1.0  # tie marker
            tie_mass += w[k]
        elif abs(m[k]) > te:
            keep[k] = 1.0
            base += w[k]
        else:
            keep[k] = 0.0
    frac = 0.0
    if tie_mass > 0.0:
        frac = min(1.0, max(0.0, (alpha - base) / tie_mass))
    total = base
    for k in range(n):
        if keep[k] < 0.0:
            keep[k] = frac
            total += w[k] * frac
    return t, total - alpha, ok, x


@njit(cache=True, error_model="numpy")
def _pruned_sq_error(b, d, m, v, f, te, keep):
    """E[(b - X 1{|X| > te'})^2] for X ~ N(f m, (f v)^2) (the theory page, :ref:`theory-pruning`); deterministic atoms use ``keep``.

    ``m``, ``v`` and ``te`` are the coordinate law and threshold in the units of the scores
    (X / f); the probabilities use only their ratios, the squared error the true X = f * score.
    ``d`` = b - f m, passed in computed without cancellation (b tau / (lam + tau)).
    """
    if not v > _DET * abs(m):
        fv = f * v
        return keep * (d * d + fv * fv) + (1.0 - keep) * b * b
    u1 = (te - m) / v
    u0 = (-te - m) / v
    q1 = _Q(u1)
    p0 = _Phi(u0)
    f1 = _phi(u1)
    f0 = _phi(u0)
    pk = q1 + p0
    fv = f * v
    return (b * b * (1.0 - pk)
            + d * d * q1 - 2.0 * d * fv * f1 + fv * fv * (_uphi(u1) + q1)
            + d * d * p0 + 2.0 * d * fv * f0 + fv * fv * (p0 - _uphi(u0)))


@njit(cache=True, error_model="numpy")
def _retrained(lam, b, w, mass, kappa, alpha, ridge, sigma2, rtol, ws, bs, out, j):
    """Risk of least squares refit on a support of kept mass ``mass`` (the theory page, :ref:`theory-retraining`, Definition 5).

    The S problem: ratio alpha kappa, noise sigma^2 + E[Lambda B^2 1{not kept}], atoms
    (lam_k, sqrt(alpha) b_k) with weights mass_k / alpha.  ``ws``, ``bs`` are workspaces.  Writes
    (kappa_S, sigma2_S, tau_S, gamma2_S) into out[j:j+4] and returns (gamma2_S, certified).
    """
    n = lam.size
    total = 0.0
    for k in range(n):
        total += mass[k]
    out[j] = alpha * kappa
    if not total > 0.0:
        out[j + 1] = math.nan
        out[j + 2] = math.nan
        out[j + 3] = math.nan
        return math.nan, False
    s2 = sigma2
    sa = math.sqrt(alpha)
    for k in range(n):
        s2 += (w[k] - mass[k]) * lam[k] * b[k] * b[k]
        ws[k] = mass[k] / total
        bs[k] = sa * b[k]
    if s2 < sigma2:
        s2 = sigma2
    ks, omks = _two_prod_one_minus(alpha, kappa)
    tau, g2, ok = _dense(lam, bs, ws, ks, omks, ridge, s2, rtol)
    out[j + 1] = s2
    out[j + 2] = tau
    out[j + 3] = g2
    return g2, ok


@njit(cache=True, error_model="numpy")
def _fill(order, w, frac, mass):
    """Kept mass per atom when a fraction ``frac`` of all features is taken in the atom order ``order``.

    Atoms are taken whole in that order; the last one is split (the theory page, :ref:`theory-retraining` and s.7).
    """
    if frac >= 1.0:  # everything: exactly w (a running remainder would leave ~1e-17 of the last atom out)
        for k in range(w.size):
            mass[k] = w[k]
        return
    remaining = frac
    for k in range(w.size):
        mass[k] = 0.0
    for i in range(order.size):
        if remaining <= 0.0:
            break
        k = order[i]
        take = min(w[k], remaining)
        mass[k] = take
        remaining -= take


@njit(cache=True, error_model="numpy")
def _coordinate_law(lam, b, kappa, tau, g2, m, v, hscale):
    """:func:`_coordinate_law_d` without B - E[X] (for callers that do not need it)."""
    dd = np.empty(lam.size)
    return _coordinate_law_d(lam, b, kappa, tau, g2, m, v, hscale, dd)


@njit(cache=True, error_model="numpy")
def _coordinate_law_d(lam, b, kappa, tau, g2, m, v, hscale, dd):
    """Coordinate law of X = sqrt(p) beta_hat per atom (eq. 10) in score units X / f, f = 1/(1 + tau).

    m_k = B_k c_k (1 + tau), v_k = sqrt(kappa gamma^2) sqrt(lam_k) / (lam_k + tau) (1 + tau): of
    order B whatever tau (no underflow when tau is huge); the Hessian score scale is 1/sqrt(lam).
    At the interpolation threshold (gamma^2 = inf) X/gamma -> c sqrt(kappa/Lambda) H, which still
    fixes the kept sets: m = 0, v = c sqrt(kappa/lam) (1 + tau).  ``dd`` gets B - X's mean,
    B tau / (lam + tau) (B at the threshold), without the cancellation of B - c B.  Returns f.
    """
    infinite = not math.isfinite(g2)
    g = 1.0 if infinite else math.sqrt(kappa * g2)
    if infinite:
        g = math.sqrt(kappa)
    for k in range(lam.size):
        d = lam[k] + tau
        hscale[k] = 1.0 / math.sqrt(lam[k])
        if infinite:
            m[k] = 0.0
            dd[k] = b[k]
        else:
            m[k] = b[k] * (lam[k] / d) * (1.0 + tau)
            dd[k] = b[k] * (tau / d)
        v[k] = g * (math.sqrt(lam[k]) / d) * (1.0 + tau)
    return 1.0 / (1.0 + tau)


@njit(cache=True, error_model="numpy")
def _point(lam, b, w, order, kappa, alpha, sigma2, ridge, g2, f, rtol, m, v, hscale, work, risks, aux, guess):
    """All nine risks at one (kappa, alpha) from the dense DC (gamma^2 and the coordinate law m, v, f).

    risks: see N_RISKS (the order of dcpredict.RISK_FIELDS).  aux: thresholds (in X units), their
    residuals, the four refit problems and the status (ST_*).
    ``work`` is a (7, n_atoms) workspace whose row 6 holds B - E[X] per atom (from :func:`_coordinate_law`).
    ``guess[0:2]``: the scaled magnitude and Hessian thresholds of the previous alpha of the row (-1: none),
    updated here.
    """
    n = lam.size
    ones = work[0]
    keep_m = work[1]
    keep_h = work[2]
    mass = work[3]
    ws = work[4]
    bs = work[5]
    dd = work[6]
    status = ST_OK
    for k in range(n):
        ones[k] = 1.0
    t_m, r_m, ok_m, guess[0] = _threshold_guess(m, v, ones, w, alpha, rtol, keep_m, guess[0])
    t_h, r_h, ok_h, guess[1] = _threshold_guess(m, v, hscale, w, alpha, rtol, keep_h, guess[1])
    if not ok_m:
        status = ST_THRESH_MAG
    elif not ok_h:
        status = ST_THRESH_HESS
    aux[0] = t_m * f
    aux[1] = t_h * f
    aux[2] = r_m
    aux[3] = r_h
    risks[0] = g2
    if not math.isfinite(g2):
        risks[1] = math.inf
        risks[2] = math.inf
        risks[3] = math.inf
        aux[0] = math.inf
        aux[1] = math.inf
    else:
        em = sigma2
        eh = sigma2
        er = sigma2
        for k in range(n):
            em += w[k] * lam[k] * _pruned_sq_error(b[k], dd[k], m[k], v[k], f, t_m, keep_m[k])
            eh += w[k] * lam[k] * _pruned_sq_error(b[k], dd[k], m[k], v[k], f, t_h * hscale[k], keep_h[k])
            d = dd[k]
            fv = f * v[k]
            er += w[k] * lam[k] * ((1.0 - alpha) * b[k] * b[k] + alpha * (d * d + fv * fv))
        risks[1] = em
        risks[2] = eh
        risks[3] = er
    # the s truly best features: fill the support by decreasing true saliency lam * b^2 (order precomputed)
    _fill(order, w, alpha, mass)
    # oracle pruning (the theory page, :ref:`theory-world`): the dense fit's own coordinates on that support, no refit
    if not math.isfinite(g2):
        risks[4] = math.inf
    else:
        eo = sigma2
        for k in range(n):
            d = dd[k]
            fv = f * v[k]
            eo += lam[k] * (mass[k] * (d * d + fv * fv) + (w[k] - mass[k]) * b[k] * b[k])
        risks[4] = eo
    # train small on that support (small_oracle), and the fresh-sample refits after each rule
    risks[5], ok5 = _retrained(lam, b, w, mass, kappa, alpha, ridge, sigma2, rtol, ws, bs, aux, 4)
    for k in range(n):
        mass[k] = w[k] * keep_m[k]
    risks[6], ok6 = _retrained(lam, b, w, mass, kappa, alpha, ridge, sigma2, rtol, ws, bs, aux, 8)
    for k in range(n):
        mass[k] = w[k] * keep_h[k]
    risks[7], ok7 = _retrained(lam, b, w, mass, kappa, alpha, ridge, sigma2, rtol, ws, bs, aux, 12)
    for k in range(n):
        mass[k] = w[k] * alpha
    risks[8], ok8 = _retrained(lam, b, w, mass, kappa, alpha, ridge, sigma2, rtol, ws, bs, aux, 16)
    if status == ST_OK and not (ok5 and ok6 and ok7 and ok8):
        status = ST_REFIT
    if status == ST_OK:
        for i in range(N_RISKS):
            if risks[i] != risks[i]:
                status = ST_NONFINITE
                break
    aux[AUX_STATUS] = status
    aux[AUX_STATUS + 1] = 0.0


@njit(cache=True, error_model="numpy")
def _row(lam, b, w, order, kappa, alphas, sigma2, ridge, rtol, risks, aux, dc):
    """One kappa: solve the DC once (into dc[0:4]), then every alpha of the row (status in aux[:, AUX_STATUS])."""
    n = lam.size
    tau, res, width, ok = solve_tau_cert(lam, w, kappa, ridge, rtol)
    dc[0] = tau
    dc[1] = res
    dc[2] = width
    if not ok:
        dc[3] = math.nan
        for j in range(alphas.size):
            for i in range(N_RISKS):
                risks[j, i] = math.nan
            for i in range(N_AUX):
                aux[j, i] = math.nan
            aux[j, AUX_STATUS] = ST_TAU
        return
    g2 = gamma2(lam, b, w, kappa, ridge, sigma2, tau)
    dc[3] = g2
    m = np.empty(n)
    v = np.empty(n)
    hscale = np.empty(n)
    work = np.empty((7, n))
    f = _coordinate_law_d(lam, b, kappa, tau, g2, m, v, hscale, work[6])
    guess = np.full(2, -1.0)
    for j in range(alphas.size):
        _point(lam, b, w, order, kappa, alphas[j], sigma2, ridge, g2, f, rtol, m, v, hscale, work, risks[j], aux[j],
               guess)


@njit(cache=True, error_model="numpy")
def predict_point(lam, b, w, order, kappa, alpha, sigma2, ridge, rtol):
    """One (kappa, alpha): returns (risks[N_RISKS], aux[N_AUX], dc[4] = tau, k(tau), bracket width, gamma^2).

    aux[AUX_STATUS] is the status (ST_OK = 0 when every root is certified).
    """
    risks = np.full((1, N_RISKS), math.nan)
    aux = np.full((1, N_AUX), math.nan)
    aux[0, AUX_STATUS] = ST_NOT_RUN
    dc = np.full(4, math.nan)
    alphas = np.empty(1)
    alphas[0] = alpha
    _row(lam, b, w, order, kappa, alphas, sigma2, ridge, rtol, risks, aux, dc)
    return risks[0], aux[0], dc


@njit(cache=True, parallel=True, error_model="numpy")
def predict_grid(lam, b, w, order, kappas, alphas, sigma2, ridge, rtol):
    """All (kappa, alpha) pairs, rows of kappa in parallel (prange); the DC is solved once per kappa.

    Returns risks (nk, na, N_RISKS), aux (nk, na, N_AUX) and dc (nk, 4).  Every entry starts as nan
    and every status as ST_NOT_RUN, so a point that was not computed can never pass as a number.
    """
    nk = kappas.size
    na = alphas.size
    dc = np.full((nk, 4), math.nan)
    risks = np.full((nk, na, N_RISKS), math.nan)
    aux = np.full((nk, na, N_AUX), math.nan)
    for i in range(nk):
        for j in range(na):
            aux[i, j, AUX_STATUS] = ST_NOT_RUN
    for i in prange(nk):
        _row(lam, b, w, order, kappas[i], alphas, sigma2, ridge, rtol, risks[i], aux[i], dc[i])
    return risks, aux, dc


# ---------------------------------------------------------------------------- the fixed world (the theory page, :ref:`theory-world`)
@njit(cache=True, error_model="numpy")
def refit_risk(lam, b, w, mass, kappa, frac, ridge, sigma2, rtol):
    """Least squares on a data-independent support of kept mass ``mass`` (a fraction ``frac`` of the features).

    The world has ratio ``kappa``; the support problem is the LGP of the theory page, :ref:`theory-retraining`.  Returns
    ((kappa_S, sigma2_S, tau_S, gamma2_S), certified); gamma2_S is its test risk (inf at kappa_S = 1
    with r = 0).
    """
    n = lam.size
    out = np.empty(4)
    ws = np.empty(n)
    bs = np.empty(n)
    _, ok = _retrained(lam, b, w, mass, kappa, frac, ridge, sigma2, rtol, ws, bs, out, 0)
    return out, ok


@njit(cache=True, error_model="numpy")
def world_model(lam, b, w, order, frac, random_order, mb, mw):
    """The model LGP of a world law when the model fits a fraction ``frac`` of the world's features.

    order "saliency" (random_order False): the first features by true saliency (``order``), kept world
    mass m_k = top-frac of the law; "random": m_k = frac w_k.  Writes the model law
    (lam_k, sqrt(frac) b_k, m_k / frac) into ``mb``, ``mw`` and returns the model's noise variance
    sigma^2-excess sum_k (w_k - m_k) lam_k b_k^2 (to be added to sigma^2).
    """
    n = lam.size
    if random_order:
        for k in range(n):
            mw[k] = w[k] * frac
    else:
        _fill(order, w, frac, mw)
    sf = math.sqrt(frac)
    extra = 0.0
    for k in range(n):
        extra += (w[k] - mw[k]) * lam[k] * b[k] * b[k]
        mw[k] = mw[k] / frac
        mb[k] = sf * b[k]
    if extra < 0.0:
        extra = 0.0
    return extra


@njit(cache=True, parallel=True, error_model="numpy")
def world_curve(lam, b, w, order, n_samples, P, s, ps, random_order, sigma2, ridge, rtol):
    """Risks of the fixed-world sweep: a model of p features (p in ``ps``) pruned to s weights.

    Every p is its own LGP (:func:`world_model`) solved in parallel.  Returns risks (len(ps), N_RISKS),
    aux (len(ps), N_AUX) and dc (len(ps), 4), in the model's own (kappa = p/n, alpha = s/p).
    """
    npts = ps.size
    n = lam.size
    risks = np.full((npts, N_RISKS), math.nan)
    aux = np.full((npts, N_AUX), math.nan)
    dc = np.full((npts, 4), math.nan)
    for i in prange(npts):
        _curve_point(lam, b, w, order, n_samples, P, s, ps[i], random_order, sigma2, ridge, rtol,
                     risks[i:i + 1], aux[i:i + 1], dc[i])
    return risks, aux, dc


@njit(cache=True, error_model="numpy")
def _curve_point(lam, b, w, order, n_samples, P, s, p, random_order, sigma2, ridge, rtol, risks, aux, dc):
    """One p of :func:`world_curve` into risks (1, N_RISKS), aux (1, N_AUX), dc (4,)."""
    n = lam.size
    frac = p / P
    mb = np.empty(n)
    mw = np.empty(n)
    extra = world_model(lam, b, w, order, frac, random_order, mb, mw)
    alphas = np.empty(1)
    alphas[0] = s / p
    _row(lam, mb, mw, order, p / n_samples, alphas, sigma2 + extra, ridge, rtol, risks, aux, dc)


# ---------------------------------------------------------------------------- certification (issue 18)
# The checks of dcpredict.theory._certify, in one compiled pass over a point, a row or a curve: every root
# certified (status ST_OK), no nan, every risk >= sigma2 up to 1e-10 of the problem's scale, no overflow or
# underflow when scaling back to the user's units.  Messages are built in Python, only for a failing point.
@njit(cache=True, error_model="numpy")
def _back(x, logQ):
    """A risk (or gamma^2, noise level) back in the user's units: x exp(logQ); 0, inf and nan unchanged."""
    if x == 0.0 or not math.isfinite(x):
        return x
    return math.exp(math.log(x) + logQ)


@njit(cache=True, error_model="numpy")
def certify(risks, aux, s2, logQ, L, sigma2, full_aux):
    """Certify and unscale the points of ``risks`` (npts, N_RISKS) with statuses in ``aux`` (npts, N_AUX).

    ``s2`` is sigma2 in scaled units, ``logQ`` and ``L`` the scales (dcpredict.theory._Scaled), ``sigma2``
    the user's.  Returns (risks in the user's units (npts, N_RISKS), aux (npts, N_AUX if ``full_aux`` else 2:
    the two thresholds) in the user's units, index of the first point that fails a check or -1).  The input
    arrays are not modified.  On a failure the outputs are incomplete and must not be used.
    """
    npts = risks.shape[0]
    out = np.empty((npts, N_RISKS))
    naux = N_AUX if full_aux else 2
    oaux = np.empty((npts, naux))
    if npts == 0:
        return out, oaux, -1
    fm = math.exp(0.5 * (logQ - math.log(L)))
    fh = math.exp(0.5 * logQ)
    low = sigma2 * (1.0 - 1e-12)
    for i in range(npts):
        st = aux[i, AUX_STATUS]
        if st != ST_OK:  # also nan
            return out, oaux, i
        for q in range(N_RISKS):
            x = risks[i, q]
            if x != x or x < s2 - 1e-10:
                return out, oaux, i
            if x < s2:
                x = s2
            y = _back(x, logQ)
            if (math.isinf(y) and math.isfinite(x)) or y < low:
                return out, oaux, i
            out[i, q] = y if y > sigma2 else sigma2
        for q in range(2):
            x = aux[i, q]
            f = fm if q == 0 else fh
            oaux[i, q] = x * f if (math.isfinite(x) and x != 0.0) else x
        if full_aux:
            for q in range(2, N_AUX):
                oaux[i, q] = aux[i, q]
            for r in range(4):
                j = AUX_REFITS + 4 * r
                oaux[i, j + 1] = _back(aux[i, j + 1], logQ)
                x = aux[i, j + 2]
                oaux[i, j + 2] = x * L if math.isfinite(x) else x
                oaux[i, j + 3] = _back(aux[i, j + 3], logQ)
    return out, oaux, -1


#: layout of the single output vector of :func:`predict_point_certified` / :func:`world_point_certified`
#: (one array: one boxing on return): certified risks, aux and dc in the user's units, then the raw scaled
#: risks and status (for the message of a failing point), the flag, and the world model's scaled noise excess
P_RISKS, P_AUX, P_DC, P_RAW, P_STATUS, P_OK, P_EXTRA = 0, 9, 31, 35, 44, 45, 46
N_POINT = 47


@njit(cache=True, error_model="numpy")
def _point_certified(lam, b, w, order, kappa, alpha, sigma2, ridge, rtol, logQ, L, sigma2_user, vec):
    risks = np.full((1, N_RISKS), math.nan)
    aux = np.full((1, N_AUX), math.nan)
    aux[0, AUX_STATUS] = ST_NOT_RUN
    dc = np.full(4, math.nan)
    alphas = np.empty(1)
    alphas[0] = alpha
    _row(lam, b, w, order, kappa, alphas, sigma2, ridge, rtol, risks, aux, dc)
    out, oaux, bad = certify(risks, aux, sigma2, logQ, L, sigma2_user, True)
    for q in range(N_RISKS):
        vec[P_RISKS + q] = out[0, q]
        vec[P_RAW + q] = risks[0, q]
    for q in range(N_AUX):
        vec[P_AUX + q] = oaux[0, q]
    vec[P_DC] = dc[0] * L if math.isfinite(dc[0]) else dc[0]
    vec[P_DC + 1] = dc[1]
    vec[P_DC + 2] = dc[2] * L if math.isfinite(dc[2]) else dc[2]
    vec[P_DC + 3] = out[0, 0]
    vec[P_STATUS] = aux[0, AUX_STATUS]
    vec[P_OK] = 1.0 if bad < 0 else 0.0


@njit(cache=True, error_model="numpy")
def predict_point_certified(lam, b, w, order, kappa, alpha, sigma2, ridge, rtol, logQ, L, sigma2_user):
    """:func:`predict_point` and :func:`certify` in one call: one vector laid out as P_* (N_POINT doubles).

    The certified values are in the user's units (dc: tau, k(tau), bracket width in tau, gamma^2); the raw
    scaled risks and status are kept for the error message of a failing point (P_OK = 0).
    """
    vec = np.full(N_POINT, math.nan)
    _point_certified(lam, b, w, order, kappa, alpha, sigma2, ridge, rtol, logQ, L, sigma2_user, vec)
    vec[P_EXTRA] = 0.0
    return vec


@njit(cache=True, error_model="numpy")
def world_point_certified(lam, b, w, order, n_samples, P, s, p, random_order, sigma2, ridge, rtol, logQ, L,
                          sigma2_user):
    """One p of :func:`world_curve` (serial), certified: :func:`predict_point_certified` on the model's LGP.

    ``lam, b, w`` are the world's law in scaled units; ``sigma2_user`` the model's noise variance in the
    user's units.  P_EXTRA holds the model's noise excess in scaled units.
    """
    n = lam.size
    mb = np.empty(n)
    mw = np.empty(n)
    extra = world_model(lam, b, w, order, p / P, random_order, mb, mw)
    vec = np.full(N_POINT, math.nan)
    _point_certified(lam, mb, mw, order, p / n_samples, s / p, sigma2 + extra, ridge, rtol, logQ, L, sigma2_user,
                     vec)
    vec[P_EXTRA] = extra
    return vec


# ---------------------------------------------------------------------------- compact grids and curves (issue 18)
# A grid or a curve keeps per point only what its result holds: the nine risks, the two thresholds and the
# status (N_COMPACT doubles); the full aux vector of a point lives in a per-row scratch.  Certification then
# works in place.
N_COMPACT = 12
C_T_MAG, C_T_HESS, C_STATUS = 9, 10, 11


@njit(cache=True, error_model="numpy")
def _row_compact(lam, b, w, order, kappa, alphas, sigma2, ridge, rtol, out, dc):
    """:func:`_row` into ``out`` (len(alphas), N_COMPACT)."""
    na = alphas.size
    risks = np.full((na, N_RISKS), math.nan)
    aux = np.full((na, N_AUX), math.nan)
    for j in range(na):
        aux[j, AUX_STATUS] = ST_NOT_RUN
    _row(lam, b, w, order, kappa, alphas, sigma2, ridge, rtol, risks, aux, dc)
    for j in range(na):
        for q in range(N_RISKS):
            out[j, q] = risks[j, q]
        out[j, C_T_MAG] = aux[j, AUX_T_MAG]
        out[j, C_T_HESS] = aux[j, AUX_T_HESS]
        out[j, C_STATUS] = aux[j, AUX_STATUS]


@njit(cache=True, error_model="numpy")
def _grid_init(nk, na):
    """Compact output (nk, max(na, 1), N_COMPACT) marked not run, and dc (nk if na > 0 else 0, 4)."""
    out = np.full((nk, max(na, 1), N_COMPACT), math.nan)
    for i in range(nk):
        for j in range(max(na, 1)):
            out[i, j, C_STATUS] = ST_NOT_RUN
    return out, np.full((nk if na > 0 else 0, 4), math.nan)


@njit(cache=True, parallel=True, error_model="numpy")
def predict_grid_compact(lam, b, w, order, kappas, alphas, sigma2, ridge, rtol):
    """:func:`predict_grid` keeping N_COMPACT doubles per point: returns out (nk, na, N_COMPACT), dc (nk, 4)."""
    out, dc = _grid_init(kappas.size, alphas.size)
    for i in prange(kappas.size):
        _row_compact(lam, b, w, order, kappas[i], alphas, sigma2, ridge, rtol, out[i], dc[i])
    return out, dc


@njit(cache=True, error_model="numpy")
def predict_grid_compact_serial(lam, b, w, order, kappas, alphas, sigma2, ridge, rtol):
    """:func:`predict_grid_compact` in one thread (for small work: starting threads costs more)."""
    out, dc = _grid_init(kappas.size, alphas.size)
    for i in range(kappas.size):
        _row_compact(lam, b, w, order, kappas[i], alphas, sigma2, ridge, rtol, out[i], dc[i])
    return out, dc


@njit(cache=True, error_model="numpy")
def _curve_point_compact(lam, b, w, order, n_samples, P, s, p, random_order, sigma2, ridge, rtol, out):
    dc = np.empty(4)
    n = lam.size
    mb = np.empty(n)
    mw = np.empty(n)
    extra = world_model(lam, b, w, order, p / P, random_order, mb, mw)
    alphas = np.empty(1)
    alphas[0] = s / p
    _row_compact(lam, mb, mw, order, p / n_samples, alphas, sigma2 + extra, ridge, rtol, out, dc)


@njit(cache=True, parallel=True, error_model="numpy")
def world_curve_compact(lam, b, w, order, n_samples, P, s, ps, random_order, sigma2, ridge, rtol):
    """:func:`world_curve` keeping N_COMPACT doubles per p: returns out (len(ps), 1, N_COMPACT)."""
    out3, _ = _grid_init(ps.size, 0)
    out = out3[:, 0, :]
    for i in prange(ps.size):
        _curve_point_compact(lam, b, w, order, n_samples, P, s, ps[i], random_order, sigma2, ridge, rtol,
                             out[i:i + 1])
    return out3


@njit(cache=True, error_model="numpy")
def world_curve_compact_serial(lam, b, w, order, n_samples, P, s, ps, random_order, sigma2, ridge, rtol):
    """:func:`world_curve_compact` in one thread (for small work)."""
    out3, _ = _grid_init(ps.size, 0)
    out = out3[:, 0, :]
    for i in range(ps.size):
        _curve_point_compact(lam, b, w, order, n_samples, P, s, ps[i], random_order, sigma2, ridge, rtol,
                             out[i:i + 1])
    return out3


@njit(cache=True, error_model="numpy")
def certify_compact(out, s2, logQ, L, sigma2):
    """:func:`certify` in place on compact points ``out`` (npts, N_COMPACT): risks and thresholds to the
    user's units.  Returns the index of the first failing point (left unchanged, in scaled units) or -1."""
    fm = math.exp(0.5 * (logQ - math.log(L)))
    fh = math.exp(0.5 * logQ)
    low = sigma2 * (1.0 - 1e-12)
    ys = np.empty(N_RISKS)
    for i in range(out.shape[0]):
        if out[i, C_STATUS] != ST_OK:
            return i
        for q in range(N_RISKS):
            x = out[i, q]
            if x != x or x < s2 - 1e-10:
                return i
            if x < s2:
                x = s2
            y = _back(x, logQ)
            if (math.isinf(y) and math.isfinite(x)) or y < low:
                return i
            ys[q] = y if y > sigma2 else sigma2
        for q in range(N_RISKS):
            out[i, q] = ys[q]
        x = out[i, C_T_MAG]
        out[i, C_T_MAG] = x * fm if (math.isfinite(x) and x != 0.0) else x
        x = out[i, C_T_HESS]
        out[i, C_T_HESS] = x * fh if (math.isfinite(x) and x != 0.0) else x
    return -1


# ---------------------------------------------------------------------------- simulation helpers
@njit(cache=True, error_model="numpy")
def permute_columns(X, dest):
    """Reorder the columns of X in place so that the column at position k moves to position dest[k] (a
    permutation): following the cycles with two columns of scratch, no copy of X."""
    P = dest.size
    n = X.shape[0]
    seen = np.zeros(P, dtype=np.bool_)
    tmp = np.empty(n)
    nxt = np.empty(n)
    for k in range(P):
        if seen[k]:
            continue
        seen[k] = True
        if dest[k] == k:
            continue
        for i in range(n):
            tmp[i] = X[i, k]
        j = dest[k]
        while j != k:
            seen[j] = True
            for i in range(n):
                nxt[i] = X[i, j]
                X[i, j] = tmp[i]
                tmp[i] = nxt[i]
            j = dest[j]
        for i in range(n):
            X[i, k] = tmp[i]
