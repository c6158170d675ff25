"""Benchmark: predict_grid (compiled, parallel) against a plain scipy implementation, same run.

The baseline below is written the way one would without dcpredict: scipy.optimize.brentq for tau,
for the two pruning thresholds and for the four refit problems, numpy for the expectations,
scipy.special.ndtr for the normal CDF.  It is also checked to give the same risks (so the two are
timed on the same work).  Per-grid-point times are medians of repeats; the baseline is timed on a
random subset of the 200 x 200 grid (the full grid would take minutes with scipy).

Also times the first CLI call after install with the numba cache warm (a fresh process each time).

    python validation/bench_theory.py [--repeats 5] [--baseline-points 300]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

import dcpredict as dp

LAW = dp.Law(lam=[4, 1, 1, 0.25], b=[2, 1, 0, 0.5], weights=[0.1, 0.2, 0.4, 0.3])
SIGMA2 = 0.2
XTOL = 1e-14
RTOL = 1e-12


# ----------------------------------------------------------------------------- scipy baseline
def _tau(lam, w, kappa, ridge):
    if ridge == 0 and kappa <= 1:
        return 0.0
    f = lambda t: t * (1 - kappa * np.dot(w, lam / (lam + t))) - ridge if ridge > 0 else kappa * np.dot(w, lam / (lam + t)) - 1
    hi = ridge + kappa * np.dot(w, lam)
    lo = ridge if ridge > 0 else 1e-300
    return brentq(f, lo, hi, xtol=XTOL, rtol=RTOL)


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
    hi = np.max((np.abs(m) + 40 * v) / scale)
    return brentq(f, 0.0, hi, xtol=XTOL, rtol=RTOL)


def _sq_err(b, m, v, te):
    d = b - m
    u1, u0 = (te - m) / v, (-te - m) / v
    q1, p0 = 1 - ndtr(u1), ndtr(u0)
    f1, f0 = np.exp(-u1 ** 2 / 2) / np.sqrt(2 * np.pi), np.exp(-u0 ** 2 / 2) / np.sqrt(2 * np.pi)
    return (b * b * (1 - q1 - p0) + d * d * q1 - 2 * d * v * f1 + v * v * (u1 * f1 + q1)
            + d * d * p0 + 2 * d * v * f0 + v * v * (p0 - u0 * f0))


def _refit(lam, b, w, mass, kappa, alpha, ridge, s2):
    s2s = s2 + np.dot(w - mass, lam * b * b)
    ws, bs, ks = mass / mass.sum(), np.sqrt(alpha) * b, alpha * kappa
    return _gamma2(lam, bs, ws, ks, _tau(lam, ws, ks, ridge), s2s)


def baseline_point(lam, b, w, kappa, alpha, s2, ridge=0.0):
    tau = _tau(lam, w, kappa, ridge)
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
    for k in order:
        mass[k] = min(w[k], rem)
        rem -= mass[k]
    orp = s2 + np.dot(lam, mass * ((b - m) ** 2 + v * v) + (w - mass) * b * b)   # oracle pruning: no refit
    orc = _refit(lam, b, w, mass, kappa, alpha, ridge, s2)
    mrt = _refit(lam, b, w, w * _keep(tm, m, v, ones), kappa, alpha, ridge, s2)
    hrt = _refit(lam, b, w, w * _keep(th, m, v, hs), kappa, alpha, ridge, s2)
    rrt = _refit(lam, b, w, w * alpha, kappa, alpha, ridge, s2)
    return np.array([g2, mag, hes, rnd, orp, orc, mrt, hrt, rrt])  # dcpredict.RISK_FIELDS order


# ----------------------------------------------------------------------------- benchmark
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--baseline-points", type=int, default=300)
    args = ap.parse_args()

    # kappa avoids 1 and alpha*kappa avoids 1, where both give inf (the baseline's brentq would need care)
    kappas = np.linspace(0.105, 8.0, 200)
    alphas = np.linspace(0.0123, 0.99, 200)
    lam, b, w = (np.array(x) for x in (LAW.lam, LAW.b, LAW.weights))

    dp.predict_grid(LAW, kappas[:2], alphas[:2], sigma2=SIGMA2)  # compile / load the cache
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        grid = dp.predict_grid(LAW, kappas, alphas, sigma2=SIGMA2)
        times.append(time.perf_counter() - t0)
    t_grid = statistics.median(times) / (kappas.size * alphas.size)

    rng = np.random.default_rng(0)
    pts = [(int(i), int(j)) for i, j in zip(rng.integers(0, 200, args.baseline_points),
                                           rng.integers(0, 200, args.baseline_points))]
    pts = [(i, j) for i, j in pts if abs(kappas[i] * alphas[j] - 1) > 1e-3]
    worst = 0.0
    btimes = []
    for rep in range(max(1, args.repeats // 2)):
        t0 = time.perf_counter()
        for i, j in pts:
            ref = baseline_point(lam, b, w, kappas[i], alphas[j], SIGMA2)
            if rep == 0:
                got = np.array([getattr(grid, f)[i, j] for f in dp.RISK_FIELDS])
                worst = max(worst, float(np.max(np.abs(got / ref - 1))))
        btimes.append((time.perf_counter() - t0) / len(pts))
    t_base = statistics.median(btimes)

    print(f"law: {LAW!r}, sigma2={SIGMA2}")
    print(f"predict_grid 200x200: {t_grid * 1e6:.2f} us per grid point (median of {args.repeats} runs, "
          f"{t_grid * 4e4:.3f} s per grid)")
    print(f"scipy brentq + numpy baseline: {t_base * 1e6:.1f} us per grid point ({len(pts)} random points)")
    print(f"largest relative difference baseline vs predict_grid: {worst:.2e}")
    print(f"speed-up per grid point: {t_base / t_grid:.0f}x (goal >= 100x)")

    exe = shutil.which("dcpredict")
    if exe:
        cmd = [exe, "predict", "--lam", "4,1,1,0.25", "--b", "2,1,0,0.5", "--weights", "0.1,0.2,0.4,0.3",
               "--sigma2", "0.2", "--kappa", "2", "--alpha", "0.1", "--json"]
        subprocess.run(cmd, check=True, capture_output=True)  # warm the cache
        ctimes = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            ctimes.append(time.perf_counter() - t0)
        print(f"CLI 'dcpredict predict' with a warm cache: median {statistics.median(ctimes):.2f} s "
              f"(min {min(ctimes):.2f}, max {max(ctimes):.2f}; goal < 3 s)")
    else:
        print("CLI timing skipped: dcpredict is not on PATH (pip install the package first)", file=sys.stderr)


if __name__ == "__main__":
    main()
