"""High-precision path: the equations of the theory page, sections 2-4 solved with mpmath at 50 digits.

This module is deliberately written apart from the compiled kernels (plain formulas, its own
bracketing root finder, the direct forms of tau's equation and of gamma^2's denominator) so that
agreement between the two is evidence that both are right.  Private; reached through
``dcpredict.predict(..., precision="mp")`` and ``dcpredict.solve_dc(..., precision="mp")``.
"""
from __future__ import annotations

import mpmath as mp

from .law import Law

DPS = 50
#: most digits the adaptive precision may use
MAX_DPS = 2000


def _digits(*ratios) -> int:
    """Working digits: DPS plus the decades by which the inputs sit away from the O(1) scale.

    Cancellations in the direct forms used here (1 - kappa E[c^2] near kappa = 1 or for a tiny ridge,
    sums over atoms of very different size) lose about that many digits; mpmath carries them.
    """
    import math
    extra = 10
    for r in ratios:
        r = abs(float(r))
        if r == 0.0 or not math.isfinite(r):
            continue
        extra += int(abs(math.log10(r))) + 1
    return min(DPS + extra, MAX_DPS)


def _precision(law: Law, kappa, alpha, ridge, sigma2=0.0) -> int:
    lam_max, lam_min = float(max(law.lam)), float(min(law.lam))
    ratios = [lam_max / lam_min]
    if sigma2 and float(sigma2) > 0:
        # the pruning scores have sd/mean ~ sqrt(sigma2 / signal): the thresholds need that many more digits
        signal = mp.fsum(mp.mpf(float(w)) * mp.mpf(float(l)) * mp.mpf(float(b)) ** 2
                         for l, b, w in zip(law.lam, law.b, law.weights))
        if signal > 0:
            ratios.append(float(mp.sqrt(mp.mpf(float(sigma2)) / signal)))
    if ridge:
        ratios.append(float(ridge) / lam_max)
        if float(ridge) > lam_max:  # k(tau) near tau = r cancels to (lam/r)^2: twice the decades
            ratios.append(float(ridge) / lam_max)
    for k in (kappa, kappa * alpha):
        if k != 1:
            ratios.append(float(k) - 1.0 if abs(float(k) - 1.0) > 0 else 1e-300)
    return _digits(*ratios)


def _tol():
    return mp.mpf(10) ** -(mp.mp.dps - 8)


def _root(f, lo, hi, flo, fhi, tol=None):
    """Illinois regula falsi with a bisection safeguard (geometric while the bracket spans decades).

    Returns (root, width); raises ArithmeticError if there is no sign change or it does not converge
    to ``tol`` (default the working precision: width <= 10^-(dps-8) * |root|).
    """
    if flo == 0:
        return lo, mp.mpf(0)
    if fhi == 0:
        return hi, mp.mpf(0)
    if (flo > 0) == (fhi > 0):
        raise ArithmeticError("no sign change in the bracket")
    tol = _tol() if tol is None else tol
    side = 0
    for it in range(20000):
        width = hi - lo
        if lo > 0 and hi > 4 * lo:
            x = mp.sqrt(lo * hi)
        else:
            x = (lo + hi) / 2 if it % 4 == 3 else (lo * fhi - hi * flo) / (fhi - flo)
        if not (lo < x < hi):
            x = (lo + hi) / 2
        fx = f(x)
        if fx == 0:
            return x, mp.mpf(0)
        if (fx > 0) == (flo > 0):
            lo, flo = x, fx
            if side == -1:
                fhi /= 2
            side = -1
        else:
            hi, fhi = x, fx
            if side == 1:
                flo /= 2
            side = 1
        if hi - lo <= tol * max(abs(lo), abs(hi)):
            return (lo + hi) / 2, hi - lo
        if hi - lo == width and not (lo > 0 and hi > 4 * lo):
            break
    raise ArithmeticError(f"root not converged: bracket [{mp.nstr(lo, 8)}, {mp.nstr(hi, 8)}]")


def _Q(x):
    return mp.erfc(x / mp.sqrt(2)) / 2


def _Phi(x):
    return mp.erfc(-x / mp.sqrt(2)) / 2


def _phi(x):
    return mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)


def _atoms(lam, b, w):
    """Atoms as mpf; the weights renormalised to sum to 1 at the working precision (a law is a probability:
    float weights sum to 1 only to ~1e-16, which would shift tau wherever 1 - kappa E[c] cancels)."""
    ws = [mp.mpf(float(x)) for x in w]
    total = mp.fsum(ws)
    return [mp.mpf(float(x)) for x in lam], [mp.mpf(float(x)) for x in b], [x / total for x in ws]


def _tau(lam, w, kappa, ridge):
    if ridge == 0 and kappa <= 1:
        return mp.mpf(0), mp.mpf(0), mp.mpf(0)

    def k(tau):
        return 1 - kappa * mp.fsum(wi * li / (li + tau) for li, wi in zip(lam, w)) - ridge / tau

    mean_lam = mp.fsum(wi * li for li, wi in zip(lam, w))
    if ridge == 0:
        # k < 0 below tau = (kappa - 1) / (kappa E[1/Lambda]) (tau E[1/Lambda] bounds E[tau/(Lambda+tau)])
        lo = (kappa - 1) / (2 * kappa * mp.fsum(wi / li for li, wi in zip(lam, w)))
        flo = k(lo)
    else:
        lo = ridge
        flo = k(lo)
    hi = ridge + kappa * mean_lam
    tau, width = _root(k, lo, hi, flo, k(hi))
    return tau, k(tau), width


def _gamma2(lam, b, w, kappa, ridge, sigma2, tau):
    c = [li / (li + tau) for li in lam]
    den = 1 - kappa * mp.fsum(wi * ci ** 2 for ci, wi in zip(c, w))
    if den <= 0:
        return mp.inf
    num = sigma2 + tau ** 2 * mp.fsum(wi * li * bi ** 2 / (li + tau) ** 2 for li, bi, wi in zip(lam, b, w))
    return num / den


def solve_dc(law: Law, kappa: float, sigma2: float, ridge: float):
    with mp.workdps(_precision(law, kappa, 1.0, ridge)):
        lam, b, w = _atoms(law.lam, law.b, law.weights)
        kappa, sigma2, ridge = mp.mpf(kappa), mp.mpf(sigma2), mp.mpf(ridge)
        tau, res, width = _tau(lam, w, kappa, ridge)
        return tau, res, width, _gamma2(lam, b, w, kappa, ridge, sigma2, tau)


def _keep(t, m, v, scale, w):
    total = mp.mpf(0)
    for mk, vk, sk, wk in zip(m, v, scale, w):
        te = t * sk
        if vk > 0:
            total += wk * (_Q((te - mk) / vk) + _Phi((-te - mk) / vk))
        elif abs(mk) > te:
            total += wk
    return total


def _threshold(m, v, scale, w, alpha):
    p0 = _keep(mp.mpf(0), m, v, scale, w)
    if p0 <= alpha:
        t = mp.mpf(0)
    else:
        hi = max((abs(mk) + 40 * vk) / sk for mk, vk, sk in zip(m, v, scale)) or mp.mpf(1)
        for _ in range(4000):
            if _keep(hi, m, v, scale, w) <= alpha:
                break
            hi *= 2
        else:
            raise ArithmeticError("no upper bracket for the pruning threshold")
        t, _ = _root(lambda x: _keep(x, m, v, scale, w) - alpha, mp.mpf(0), hi, p0 - alpha,
                     _keep(hi, m, v, scale, w) - alpha)
    keep, base, tie = [], mp.mpf(0), mp.mpf(0)
    for mk, vk, sk, wk in zip(m, v, scale, w):
        te = t * sk
        if vk > 0:
            keep.append(_Q((te - mk) / vk) + _Phi((-te - mk) / vk))
            base += wk * keep[-1]
        elif abs(abs(mk) - te) <= mp.mpf("1e-10") * max(te, mp.mpf("1e-300")):
            keep.append(None)
            tie += wk
        else:
            keep.append(mp.mpf(1) if abs(mk) > te else mp.mpf(0))
            base += wk * keep[-1]
    frac = min(mp.mpf(1), max(mp.mpf(0), (alpha - base) / tie)) if tie > 0 else mp.mpf(0)
    keep = [frac if k is None else k for k in keep]
    return t, mp.fsum(wk * kk for wk, kk in zip(w, keep)) - alpha, keep


def _sq_error(b, m, v, te, keep):
    d = b - m
    if v == 0:
        return keep * d ** 2 + (1 - keep) * b ** 2
    u1, u0 = (te - m) / v, (-te - m) / v
    pk = _Q(u1) + _Phi(u0)
    return (b ** 2 * (1 - pk)
            + d ** 2 * _Q(u1) - 2 * d * v * _phi(u1) + v ** 2 * (u1 * _phi(u1) + _Q(u1))
            + d ** 2 * _Phi(u0) + 2 * d * v * _phi(u0) + v ** 2 * (_Phi(u0) - u0 * _phi(u0)))


def _refit(lam, b, w, mass, kappa, alpha, ridge, sigma2):
    total = mp.fsum(mass)
    s2 = sigma2 + mp.fsum((wk - mk) * lk * bk ** 2 for lk, bk, wk, mk in zip(lam, b, w, mass))
    ws = [mk / total for mk in mass]
    bs = [mp.sqrt(alpha) * bk for bk in b]
    ks = alpha * kappa
    tau, _, _ = _tau(lam, ws, ks, ridge)
    g2 = _gamma2(lam, bs, ws, ks, ridge, s2, tau)
    return [ks, s2, tau, g2]


def predict_point(law: Law, order, kappa: float, alpha: float, sigma2: float, ridge: float):
    """Same outputs as :func:`dcpredict._kernels.predict_point`, as lists of mpf (at least 50 digits)."""
    with mp.workdps(_precision(law, kappa, alpha, ridge, sigma2)):
        lam, b, w = _atoms(law.lam, law.b, law.weights)
        kappa, alpha, sigma2, ridge = (mp.mpf(kappa), mp.mpf(alpha), mp.mpf(sigma2), mp.mpf(ridge))
        tau, res, width = _tau(lam, w, kappa, ridge)
        g2 = _gamma2(lam, b, w, kappa, ridge, sigma2, tau)
        infinite = g2 == mp.inf
        c = [lk / (lk + tau) for lk in lam]
        if infinite:
            m = [mp.mpf(0)] * len(lam)
            v = [ck * mp.sqrt(kappa / lk) for ck, lk in zip(c, lam)]
        else:
            m = [ck * bk for ck, bk in zip(c, b)]
            v = [ck * mp.sqrt(kappa * g2 / lk) for ck, lk in zip(c, lam)]
        hscale = [1 / mp.sqrt(lk) for lk in lam]
        t_m, r_m, keep_m = _threshold(m, v, [mp.mpf(1)] * len(lam), w, alpha)
        t_h, r_h, keep_h = _threshold(m, v, hscale, w, alpha)
        if infinite:
            mag = hes = rnd = mp.inf
            t_m = t_h = mp.inf
        else:
            mag = sigma2 + mp.fsum(wk * lk * _sq_error(bk, mk, vk, t_m, kk)
                                   for lk, bk, wk, mk, vk, kk in zip(lam, b, w, m, v, keep_m))
            hes = sigma2 + mp.fsum(wk * lk * _sq_error(bk, mk, vk, t_h * hk, kk)
                                   for lk, bk, wk, mk, vk, hk, kk in zip(lam, b, w, m, v, hscale, keep_h))
            rnd = sigma2 + mp.fsum(wk * lk * ((1 - alpha) * bk ** 2 + alpha * ((bk - mk) ** 2 + vk ** 2))
                                   for lk, bk, wk, mk, vk in zip(lam, b, w, m, v))
        mass = [mp.mpf(0)] * len(lam)
        remaining = alpha
        for k in order:
            if remaining <= 0:
                break
            take = min(w[k], remaining)
            mass[k] = take
            remaining -= take
        if infinite:
            orc = mp.inf
        else:
            orc = sigma2 + mp.fsum(lk * (qk * ((bk - mk) ** 2 + vk ** 2) + (wk - qk) * bk ** 2)
                                   for lk, bk, wk, mk, vk, qk in zip(lam, b, w, m, v, mass))
        problems = [
            _refit(lam, b, w, mass, kappa, alpha, ridge, sigma2),
            _refit(lam, b, w, [wk * kk for wk, kk in zip(w, keep_m)], kappa, alpha, ridge, sigma2),
            _refit(lam, b, w, [wk * kk for wk, kk in zip(w, keep_h)], kappa, alpha, ridge, sigma2),
            _refit(lam, b, w, [wk * alpha for wk in w], kappa, alpha, ridge, sigma2),
        ]
        risks = [g2, mag, hes, rnd, orc] + [pr[3] for pr in problems]
        aux = [t_m, t_h, r_m, r_h] + [x for pr in problems for x in pr]
        return risks, aux, [tau, res, width, g2]


# ============================================================================ Gaussian-B laws
# B | Lambda ~ N(0, v(Lambda)) integrated in closed form (theory page, section theory-gaussian-b); Lambda by
# exact sums over a discrete spectrum, or by mpmath's tanh-sinh quadrature in log Lambda over the continuous
# density the law was built from (independent of the double-precision quadrature nodes).
GAUSS_DPS = 30
_GTOL = mp.mpf(10) ** -(GAUSS_DPS - 6)


def _Qg(x):
    """Q(x), exactly 0 beyond x = 1e8 (below exp(-5e15); mpmath's erfc overflows on huge arguments)."""
    return mp.mpf(0) if x > 10 ** 8 else _Q(x)


def _phig(x):
    return mp.mpf(0) if abs(x) > 10 ** 8 else _phi(x)


class _GaussMeasure:
    """E[f(Lambda, v(Lambda))] for a GaussianLaw: exact node sums, or mpmath quadrature of the source density."""

    def __init__(self, law):
        src = law._source
        if src is None:
            self.nodes = [(mp.mpf(float(l)), mp.mpf(float(v)), mp.mpf(float(w)))
                          for l, v, w in zip(law.nodes, law.b_var, law.node_weights)]
            self.lam_max = max(n[0] for n in self.nodes)
            return
        self.nodes = None
        dens, bvar = src["density"], src["b_var"]

        def num(fn, l):
            try:
                return mp.mpf(fn(l))
            except (TypeError, AttributeError, ValueError):  # a numpy-only function: evaluate in double
                return mp.mpf(float(fn(float(l))))

        self._dens = lambda l: num(dens, l)
        self._bvar = (lambda l: num(bvar, l)) if callable(bvar) else (lambda l, c=mp.mpf(float(bvar)): c)
        x0, x1 = mp.log(mp.mpf(src["lam_min"])), mp.log(mp.mpf(src["lam_max"]))
        m = max(2, int(mp.ceil((x1 - x0) / 1)))
        self.points = [x0 + (x1 - x0) * i / m for i in range(m + 1)]
        self.lam_max = mp.mpf(src["lam_max"])
        self.norm = 1
        self.norm = self(lambda l, v: 1)

    def __call__(self, f):
        if self.nodes is not None:
            return mp.fsum(w * f(l, v) for l, v, w in self.nodes)

        def g(x):
            l = mp.exp(x)
            return self._dens(l) * l * f(l, self._bvar(l))

        return mp.quad(g, self.points) / self.norm


def _gauss_tau(E, kappa, ridge, weight=None):
    """tau with r = tau (1 - kappa E_S[Lambda/(Lambda+tau)]), E_S the measure weighted by ``weight`` (normalized)."""
    if ridge == 0 and kappa <= 1:
        return mp.mpf(0), mp.mpf(0), mp.mpf(0)
    wt = weight or (lambda l, v: 1)
    tot = E(wt)

    def k(tau):
        return 1 - kappa * E(lambda l, v: wt(l, v) * l / (l + tau)) / tot - ridge / tau

    mean_lam = E(lambda l, v: wt(l, v) * l) / tot
    hi = ridge + kappa * mean_lam
    lo = ridge if ridge > 0 else hi * mp.mpf(10) ** -25
    flo = k(lo)
    while flo > 0:
        lo /= 1000
        flo = k(lo)
    tau, width = _root(k, lo, hi, flo, k(hi), _GTOL)
    return tau, k(tau), width


def _gauss_gamma2(E, kappa, ridge, sigma2, tau, e2=None, weight=None):
    """gamma^2 with signal E[weight * e2 * Lambda/(Lambda+tau)^2] (e2 = E[B^2 .. | Lambda], default v)."""
    wt = weight or (lambda l, v: 1)
    e2 = e2 or (lambda l, v: v)
    tot = E(wt)
    if tau == 0:
        den = 1 - kappa
        return mp.inf if den <= 0 else sigma2 / den
    den = 1 - kappa * E(lambda l, v: wt(l, v) * (l / (l + tau)) ** 2) / tot
    if den <= 0:
        return mp.inf
    return (sigma2 + tau ** 2 * E(lambda l, v: e2(l, v) * l / (l + tau) ** 2)) / den


def solve_dc_gauss(law, kappa: float, sigma2: float, ridge: float):
    with mp.workdps(GAUSS_DPS):
        E = _GaussMeasure(law)
        kappa, sigma2, ridge = mp.mpf(kappa), mp.mpf(sigma2), mp.mpf(ridge)
        tau, res, width = _gauss_tau(E, kappa, ridge)
        return tau, res, width, _gauss_gamma2(E, kappa, ridge, sigma2, tau)


def _cut(E, score, alpha):
    """T with E[P(kept | Lambda)] = alpha where P(kept | Lambda) = 2 Q(T score(Lambda)) (score inf: never kept)."""
    def kept(T):
        return E(lambda l, v: 0 if score(l, v) == mp.inf else 2 * _Qg(T * score(l, v)))

    p0 = E(lambda l, v: 0 if score(l, v) == mp.inf else 1)
    if p0 <= alpha:
        return mp.mpf(0)
    hi = mp.mpf(1)
    while kept(hi) > alpha:
        hi *= 4
    lo = mp.mpf(0)
    T, _ = _root(lambda T: kept(T) - alpha, lo, hi, p0 - alpha, kept(hi) - alpha, _GTOL)
    return T


def predict_point_gauss(law, kappa: float, alpha: float, sigma2: float, ridge: float):
    """Same outputs as :func:`dcpredict._kernels_gauss.predict_point` (without the status), at GAUSS_DPS digits.

    Written from the formulas of the theory page (section theory-gaussian-b) without the kernels' rewritings:
    Var(B | X) = v - a^2 s_X^2 directly, the cut equations by regula falsi, refits from their definition.
    Laws whose nodes have v = 0 with positive weight (zero-score ties) are not covered.
    """
    with mp.workdps(GAUSS_DPS):
        E = _GaussMeasure(law)
        kappa, alpha, sigma2, ridge = mp.mpf(kappa), mp.mpf(alpha), mp.mpf(sigma2), mp.mpf(ridge)
        tau, res, width = _gauss_tau(E, kappa, ridge)
        g2 = _gauss_gamma2(E, kappa, ridge, sigma2, tau)
        inf = g2 == mp.inf
        G = 1 if inf else g2  # at the threshold the kept sets are those of X / gamma

        def c(l):
            return l / (l + tau)

        def s2x(l, v):
            return c(l) ** 2 * ((0 if inf else v) + kappa * G / l)

        def acoef(l, v):
            return 0 if inf else c(l) * v / s2x(l, v)

        def kept_moments(T, scale):
            """per Lambda: (P kept, E[B^2 1kept], E[(B - X 1kept)^2]) for |X| > T * scale(l)"""
            def f(l, v):
                sx = mp.sqrt(s2x(l, v))
                u = T * scale(l) / sx
                pk = 2 * _Qg(u)
                m2 = 2 * sx ** 2 * (u * _phig(u) + _Qg(u))
                a = acoef(l, v)
                eb2 = a ** 2 * m2 + (v - a ** 2 * sx ** 2) * pk
                return pk, eb2, v + (1 - 2 * a) * m2
            return f

        def refit(pk_fn, eb2_fn):
            kS = alpha * kappa
            noise = sigma2 + E(lambda l, v: l * (v - eb2_fn(l, v)))
            tot = E(pk_fn)
            tS, _, _ = _gauss_tau(E, kS, ridge, weight=pk_fn)
            gS = _gauss_gamma2(E, kS, ridge, noise, tS, e2=lambda l, v: alpha * eb2_fn(l, v) / tot, weight=pk_fn)
            return [kS, noise, tS, gS]

        risks, aux = [g2], []
        thresholds, problems = [], {}
        for name, scale in (("magnitude", lambda l: 1), ("hessian", lambda l: 1 / mp.sqrt(l))):
            T = _cut(E, lambda l, v, s=scale: s(l) / mp.sqrt(s2x(l, v)), alpha)
            f = kept_moments(T, scale)
            thresholds.append(T)
            risks.append(mp.inf if inf else sigma2 + E(lambda l, v: l * f(l, v)[2]))
            problems[name] = refit(lambda l, v: f(l, v)[0], lambda l, v: f(l, v)[1])
        rnd = sigma2 + E(lambda l, v: l * ((1 - alpha) * v + alpha * ((1 - c(l)) ** 2 * v
                                                                      + c(l) ** 2 * kappa * G / l)))
        risks.append(mp.inf if inf else rnd)
        problems["random"] = refit(lambda l, v: alpha, lambda l, v: alpha * v)
        # oracle: keep lam B^2 > T^2, i.e. |B| > T / sqrt(lam)
        To = _cut(E, lambda l, v: mp.inf if v == 0 else 1 / mp.sqrt(l * v), alpha)

        def opk(l, v):
            return 0 if v == 0 else 2 * _Qg(To / mp.sqrt(l * v))

        def oeb2(l, v):
            if v == 0:
                return mp.mpf(0)
            z = To / mp.sqrt(l * v)
            return 2 * v * (z * _phig(z) + _Qg(z))

        orc = sigma2 + E(lambda l, v: l * ((v - oeb2(l, v)) + (1 - c(l)) ** 2 * oeb2(l, v)
                                           + c(l) ** 2 * (kappa * G / l) * opk(l, v)))
        risks.append(mp.inf if inf else orc)
        problems["small_oracle"] = refit(opk, oeb2)
        risks += [problems[k][3] for k in ("small_oracle", "magnitude", "hessian", "random")]
        t_m, t_h = (mp.inf, mp.inf) if inf else thresholds
        aux = [t_m, t_h, mp.mpf(0), mp.mpf(0)] + [x for k in ("small_oracle", "magnitude", "hessian", "random")
                                                  for x in problems[k]]
        return risks, aux, [tau, res, width, g2]
