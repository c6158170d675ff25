"""Benchmark: predict_grid on a continuous (Gaussian-B) power-law law against plain numpy on today's atoms.

dcpredict side: ``Law.power_law(1.5, 0.1, 10.0)`` (density lambda^-1.5 on [0.1, 10], B | Lambda ~ N(0, 1)),
a :class:`dcpredict.law.GaussianLaw`: B integrated in closed form, adaptive quadrature in log Lambda;
``predict_grid`` on a 100 x 100 (kappa, alpha) grid, every point all nine risks.

Baseline, written here the way one would without dcpredict: the same law as the 2048 atoms of the old
discretisation (``Law.power_law(..., method="atoms")``: 32 Gauss-Legendre nodes in the quantile of Lambda
x 64 Gauss-Hermite nodes in B), numpy for every expectation over the atoms, scipy.optimize.brentq for tau,
the two pruning thresholds and the four refit problems, scipy.special.ndtr for the normal CDF.  It is
checked against dcpredict's atom kernels on the same atoms (so both sides do the same work), and the
difference between the atom answer and the exact Gaussian-B answer is reported too (the atoms' error).
Per-grid-point times are medians of interleaved repeats in the same run (grid, then a slice of random grid
points for the baseline), as wall clock and as process CPU time (all threads), since the machine may be shared.

    python validation/bench_continuous.py [--repeats 7] [--baseline-points 140]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

import dcpredict as dp

EXPONENT, LAM_MIN, LAM_MAX = 1.5, 0.1, 10.0
SIGMA2 = 0.2
XTOL, RTOL = 1e-14, 1e-12


# ----------------------------------------------------------------------------- plain numpy + brentq on atoms
def _tau(lam, w, kappa):
    if kappa <= 1:
        return 0.0
    f = lambda t: kappa * np.dot(w, lam / (lam + t)) - 1
    return brentq(f, 1e-300, kappa * np.dot(w, lam), xtol=XTOL, rtol=RTOL)


def _gamma2(lam, b, w, kappa, tau, s2):
    c = lam / (lam + tau)
    den = 1 - kappa * np.dot(w, c * c)
    if den <= 0:
        return np.inf
    return (s2 + tau ** 2 * np.dot(w, lam * b * b / (lam + tau) ** 2)) / den


def _keep(t, m, v, scale):
    return (1 - ndtr((t * scale - m) / v)) + ndtr((-t * scale - m) / v)


def _threshold(m, v, scale, w, alpha):
    f = lambda t: np.dot(w, _keep(t, m, v, scale)) - alpha
    return brentq(f, 0.0, np.max((np.abs(m) + 40 * v) / scale), xtol=XTOL, rtol=RTOL)


def _sq_err(b, m, v, te):
    d = b - m
    u1, u0 = (te - m) / v, (-te - m) / v
    q1, p0 = 1 - ndtr(u1), ndtr(u0)
    f1, f0 = np.exp(-u1 ** 2 / 2) / np.sqrt(2 * np.pi), np.exp(-u0 ** 2 / 2) / np.sqrt(2 * np.pi)
    return (b * b * (1 - q1 - p0) + d * d * q1 - 2 * d * v * f1 + v * v * (u1 * f1 + q1)
            + d * d * p0 + 2 * d * v * f0 + v * v * (p0 - u0 * f0))


def _refit(lam, b, w, mass, kappa, alpha, s2):
    s2s = s2 + np.dot(w - mass, lam * b * b)
    ws, bs, ks = mass / mass.sum(), np.sqrt(alpha) * b, alpha * kappa
    return _gamma2(lam, bs, ws, ks, _tau(lam, ws, ks), s2s)


def baseline_point(lam, b, w, kappa, alpha, s2):
    """All nine risks (dcpredict.RISK_FIELDS order) for an atom law, by numpy + brentq."""
    tau = _tau(lam, w, kappa)
    g2 = _gamma2(lam, b, w, kappa, tau, s2)
    c = lam / (lam + tau)
    m, v = c * b, c * np.sqrt(kappa * g2 / lam)
    ones, hs = np.ones_like(lam), 1 / np.sqrt(lam)
    tm, th = _threshold(m, v, ones, w, alpha), _threshold(m, v, hs, w, alpha)
    mag = s2 + np.dot(w, lam * _sq_err(b, m, v, tm))
    hes = s2 + np.dot(w, lam * _sq_err(b, m, v, th * hs))
    rnd = s2 + np.dot(w, lam * ((1 - alpha) * b * b + alpha * ((b - m) ** 2 + v * v)))
    order = np.argsort(-(lam * b * b), kind="stable")
    mass = np.zeros_like(w)
    rem = alpha
    for k in order:  # top-alpha by true saliency, the last atom split
        mass[k] = min(w[k], rem)
        rem -= mass[k]
        if rem <= 0:
            break
    orc_pr = s2 + np.dot(lam, mass * ((b - m) ** 2 + v * v) + (w - mass) * b * b)
    orc = _refit(lam, b, w, mass, kappa, alpha, s2)
    mrt = _refit(lam, b, w, w * _keep(tm, m, v, ones), kappa, alpha, s2)
    hrt = _refit(lam, b, w, w * _keep(th, m, v, hs), kappa, alpha, s2)
    rrt = _refit(lam, b, w, w * alpha, kappa, alpha, s2)
    return np.array([g2, mag, hes, rnd, orc_pr, orc, mrt, hrt, rrt])


# ----------------------------------------------------------------------------- benchmark
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--baseline-points", type=int, default=140)
    args = ap.parse_args()

    law = dp.Law.power_law(EXPONENT, LAM_MIN, LAM_MAX)
    atoms = dp.Law.power_law(EXPONENT, LAM_MIN, LAM_MAX, method="atoms")
    kappas = np.linspace(0.105, 8.0, 100)  # avoids kappa = 1 (inf)
    alphas = np.linspace(0.0123, 0.99, 100)

    dp.predict_grid(law, kappas[:2], alphas[:2], sigma2=SIGMA2)  # compile / load the cache
    dp.predict_grid(atoms, kappas[:2], alphas[:2], sigma2=SIGMA2)
    grid = dp.predict_grid(law, kappas, alphas, sigma2=SIGMA2)
    atom_grid = dp.predict_grid(atoms, kappas, alphas, sigma2=SIGMA2)

    lam, b, w = (np.array(x) for x in (atoms.lam, atoms.b, atoms.weights))
    rng = np.random.default_rng(0)
    pts = [(int(i), int(j)) for i, j in zip(rng.integers(0, 100, args.baseline_points),
                                           rng.integers(0, 100, args.baseline_points))]
    pts = [(i, j) for i, j in pts if abs(kappas[i] * alphas[j] - 1) > 1e-3]
    worst_same, worst_exact = 0.0, np.zeros(len(dp.RISK_FIELDS))
    for i, j in pts:
        ref = baseline_point(lam, b, w, kappas[i], alphas[j], SIGMA2)
        same = np.array([getattr(atom_grid, f)[i, j] for f in dp.RISK_FIELDS])
        exact = np.array([getattr(grid, f)[i, j] for f in dp.RISK_FIELDS])
        worst_same = max(worst_same, float(np.max(np.abs(same / ref - 1))))
        worst_exact = np.maximum(worst_exact, np.abs(ref / exact - 1))

    # interleaved repeats (the machine may be shared): each repeat times the grid, then the baseline on a
    # slice of the points; wall clock and process CPU time (all threads) per grid point
    wall_g, cpu_g, wall_b, cpu_b = [], [], [], []
    chunk = max(1, len(pts) // args.repeats)
    for rep in range(args.repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        dp.predict_grid(law, kappas, alphas, sigma2=SIGMA2)
        wall_g.append((time.perf_counter() - w0) / (kappas.size * alphas.size))
        cpu_g.append((time.process_time() - c0) / (kappas.size * alphas.size))
        sub = pts[rep * chunk:(rep + 1) * chunk] or pts[:chunk]
        w0, c0 = time.perf_counter(), time.process_time()
        for i, j in sub:
            baseline_point(lam, b, w, kappas[i], alphas[j], SIGMA2)
        wall_b.append((time.perf_counter() - w0) / len(sub))
        cpu_b.append((time.process_time() - c0) / len(sub))
    t_grid, t_base = statistics.median(wall_g), statistics.median(wall_b)
    c_grid, c_base = statistics.median(cpu_g), statistics.median(cpu_b)

    import numba
    print(f"law: {law!r}, sigma2={SIGMA2}; {numba.get_num_threads()} numba threads")
    print(f"predict_grid 100x100 (Gaussian B, {law.n_nodes} nodes in Lambda): {t_grid * 1e6:.2f} us per grid point "
          f"wall ({t_grid * 1e4:.3f} s per grid), {c_grid * 1e6:.2f} us CPU (median of {args.repeats} repeats)")
    print(f"numpy + brentq on the {atoms.n_atoms} atoms: {t_base * 1e6:.0f} us per grid point wall, "
          f"{c_base * 1e6:.0f} us CPU ({len(pts)} random points, {chunk} per repeat)")
    print(f"baseline vs dcpredict's atom kernels on the same atoms: largest relative difference {worst_same:.1e}")
    print("error of the 2048-atom answer vs the exact Gaussian-B answer (largest over the points):")
    print("  " + ", ".join(f"{f} {e:.1e}" for f, e in zip(dp.RISK_FIELDS, worst_exact)))
    print(f"speed-up per grid point: {t_base / t_grid:.0f}x wall clock, {c_base / c_grid:.0f}x CPU time "
          "(goal >= 300x)")


if __name__ == "__main__":
    main()
