"""Benchmark: one simulation trial against the BLAS/LAPACK floor of its dense fits.

Issue 3: time one trial (n = 400, p = 1600, alpha = 0.1; dense fit, magnitude / Hessian / random /
oracle supports, pruned risks, retraining on fresh and on the same samples) and compare it with
the floor of two dense fits at the same shapes, each = one Gram product ``X X^T`` (400 x 1600 ->
400 x 400, one BLAS dsyrk call computing the upper triangle) + one Cholesky factorization of the 400 x 400 Gram matrix
(LAPACK potrf through scipy.linalg.cho_factor).  Goal: trial / floor <= 3.

Both are measured in the same run under the same BLAS thread count: the simulator runs every
trial with one BLAS thread (bit-identical results whatever the number of workers), so the floor
is measured with one thread too (``--threads`` changes both).  Medians of ``--repeats`` runs.
Also prints a breakdown (drawing the 400 x 1600 Gaussian design alone costs about as much as a
Gram product).

Usage: python validation/bench_simulation.py [--repeats 30] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.linalg as sla

from dcpredict import Law
from dcpredict._fit import gram as gram_upper
from dcpredict.simulation import _BLAS, _make_spec, _run_unit


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads for both trial and floor")
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--p", type=int, default=1600)
    ap.add_argument("--alpha", type=float, default=0.1)
    args = ap.parse_args()
    n, p = args.n, args.p
    law = Law([4.0, 1.0, 1.0, 0.25], [2.0, 1.0, 0.0, 0.5], [0.1, 0.2, 0.4, 0.3])
    spec = _make_spec(law, p / n, (args.alpha,), sigma2=0.2, ridge=0.0, n=n, seed=0, hessian="population")
    assert spec.p == p

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p)) * np.sqrt(spec.lam)

    def gram():
        return gram_upper(X, dual=True)  # one BLAS dsyrk call, as in the simulator

    G0 = gram()

    def chol():
        return sla.cho_factor(G0, lower=False, overwrite_a=False, check_finite=False)

    def one_fit():
        sla.cho_factor(gram_upper(X, dual=True), lower=False, overwrite_a=True, check_finite=False)

    def draw():
        return rng.standard_normal((n, p))

    counter = iter(range(10**9))

    def trial():
        _run_unit(spec, next(counter))

    before = _BLAS.get()
    _BLAS.set(args.threads)
    try:
        t_gram = median_time(gram, args.repeats)
        t_chol = median_time(chol, args.repeats)
        t_fit = median_time(one_fit, args.repeats)
        t_draw = median_time(draw, args.repeats)
        t_trial = median_time(trial, args.repeats)
        # the machine may be shared: also time floor and trial back to back, repeat, take the median ratio
        ratios = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            one_fit()
            one_fit()
            t1 = time.perf_counter()
            trial()
            t2 = time.perf_counter()
            ratios.append((t2 - t1) / (t1 - t0))
    finally:
        _BLAS.set(before)
    floor = 2 * t_fit
    print(f"shapes: n={n} p={p} s={spec.sizes[0]} (alpha={args.alpha}); BLAS threads={args.threads}; "
          f"median of {args.repeats} repeats; OpenBLAS libraries controlled: {len(before)}")
    print(f"  Gram product X X^T (syrk)        {t_gram * 1e3:8.2f} ms")
    print(f"  Cholesky of the n x n Gram       {t_chol * 1e3:8.2f} ms")
    print(f"  one dense fit floor (Gram+chol)  {t_fit * 1e3:8.2f} ms")
    print(f"  drawing the n x p design         {t_draw * 1e3:8.2f} ms   (part of the trial, not of the floor)")
    print(f"floor = two dense fits             {floor * 1e3:8.2f} ms")
    print(f"one trial (all rules, retrainings) {t_trial * 1e3:8.2f} ms")
    print(f"ratio trial / floor                {t_trial / floor:8.2f}   (goal <= 3)")
    print(f"median of paired ratios            {statistics.median(ratios):8.2f}   (floor and trial timed back to back)")


if __name__ == "__main__":
    main()
