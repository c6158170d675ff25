"""Benchmark: one trial of ``simulate_world`` over 10 model sizes against its floor (issue 18).

One task of :func:`dcpredict.simulate_world` is one trial: it draws the n x P world design once and evaluates
every model size p on it.  Its floor, measured in the same run with the same single BLAS thread: drawing the
design (``standard_normal((n, P))`` scaled by sqrt(lam)) plus the least-squares fits the trial performs, each on
an already-built matrix (per p: the dense fit on n x p, three same-sample refits and three fresh-sample refits
on n x s; per trial: the three small baselines on n x s).  Goal: trial / floor <= 1.5.  Also: the same ten
sizes run as ten single-p units (the design redrawn for every p, as before issue 18), and the peak memory of a
trial (tracemalloc: numpy's allocations) against the size of the design X (goal <= 1.5).

    python validation/bench_world_simulation.py [--repeats 7] [--n 200] [--P 5000] [--s 50]
"""
from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np

from dcpredict import Law
from dcpredict._fit import fit_least_squares
from dcpredict._parallel import _BLAS
from dcpredict.world_simulation import _make_spec, run_world_trial, run_world_unit


def _median(fn, repeats: int, clock) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--P", type=int, default=5000)
    ap.add_argument("--s", type=int, default=50)
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = ap.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    n, P, s = args.n, args.P, args.s
    law = Law([4.0, 1.0, 1.0, 0.25], [2.0, 1.0, 0.0, 0.5], [0.1, 0.2, 0.4, 0.3])
    ps = tuple(int(x) for x in np.unique(np.geomspace(2 * s, P, 10).round().astype(int)))
    results = {}
    for order in ("saliency", "random"):
        spec = _make_spec(law, P=P, n=n, s=s, sigma2=0.2, ridge=0.0, seed=0, order=order)
        rng = np.random.default_rng(1)
        sqrt_lam = np.sqrt(spec.lam)
        Xf = np.asfortranarray(rng.standard_normal((n, P)) * sqrt_lam)
        y = rng.standard_normal(n)
        small = [np.asfortranarray(rng.standard_normal((n, s))) for _ in range(3)]

        def draw():
            Z = np.random.default_rng(2).standard_normal((n, P))
            Z *= sqrt_lam
            return Z

        def fits():
            for p in ps:
                fit_least_squares(Xf[:, :p], y, 0.0)
                for _ in range(2):
                    for S in small:
                        fit_least_squares(S, y, 0.0)
            for S in small:
                fit_least_squares(S, y, 0.0)

        with _BLAS.limit(1):
            t_draw = _median(draw, args.repeats, clock)
            t_fits = _median(fits, args.repeats, clock)
        t_trial = _median(lambda: run_world_trial(spec, ps, 0), args.repeats, clock)
        t_units = _median(lambda: [run_world_unit(spec, p, 0) for p in ps], max(1, args.repeats // 2), clock)
        a = run_world_trial(spec, ps, 3)
        b = np.array([run_world_unit(spec, p, 3) for p in ps])
        tracemalloc.start()
        run_world_trial(spec, ps, 0)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        xbytes = 8.0 * n * P
        floor = t_draw + t_fits
        results[order] = (t_trial, floor, t_units, peak / xbytes)
        print(f"order={order}: n={n}, P={P}, s={s}, {len(ps)} model sizes {ps}")
        print(f"  trial (all sizes on one design): {t_trial * 1e3:.1f} ms;  floor = draw {t_draw * 1e3:.1f} ms + "
              f"fits {t_fits * 1e3:.1f} ms = {floor * 1e3:.1f} ms;  trial / floor = {t_trial / floor:.2f} (goal <= 1.5)")
        print(f"  the same sizes as single-p units (design redrawn per p): {t_units * 1e3:.1f} ms "
              f"({t_units / t_trial:.1f}x the trial)")
        print(f"  peak memory of a trial: {peak / 2**20:.1f} MiB = {peak / xbytes:.2f} x the design X "
              f"({xbytes / 2**20:.1f} MiB; goal <= 1.5);  trial rows equal single-p units: {np.array_equal(a, b)}")


if __name__ == "__main__":
    main()
