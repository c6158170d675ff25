"""Benchmark of dcpredict.data: speed against the linear algebra it cannot avoid, memory against the data size.

Every time is a median of repeats, and every ratio is taken against a baseline timed in the same run (so load
on the machine hits both); BLAS runs on one thread for both:

1. theory per model size p (:meth:`DataWorld.predict` at one p, the model's cache cleared each repeat) against
   one ``numpy.linalg.eigh`` of its Sigma_pp (the least any exact theory of the model costs);
2. the actual experiment per trial (:meth:`DataWorld.experiment`, one worker) against the least-squares fits the
   trial must do anyway (a dense fit on n x p, six refits and the small model on n x s, by
   ``dcpredict._fit.fit_least_squares`` on the same shapes);
3. peak memory (tracemalloc: numpy's allocations) of building a world and running theory and experiment,
   against the size of the features in float64, for an in-memory array and for a memory-mapped ``.npy`` that is
   larger than the chunk (Sigma is accumulated over blocks of rows, so the file never has to be in memory).

    PYTHONPATH=. python validation/bench_data.py [--repeats 5] [--quick]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import tracemalloc

import numpy as np


def _median_time(fn, repeats: int, min_sample: float = 0.05) -> float:
    """Median over ``repeats`` samples of the time of one call; each sample loops the call k times (k chosen so
    that a sample lasts at least ``min_sample`` seconds), so scheduling noise on a busy machine averages out."""
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    k = max(1, int(min_sample / one) + 1) if one < min_sample else 1
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        ts.append((time.perf_counter() - t0) / k)
    return statistics.median(ts)


def _digits_world(width: int):
    from dcpredict.data import DataWorld
    from dcpredict.data.datasets import load_dataset
    from dcpredict.data.features import random_features
    X, y, _ = load_dataset("digits", "parity")
    return DataWorld.from_arrays(random_features(X, width, seed=0), y, name="digits")


def bench_theory(repeats: int, ps: list[int], n: int, s: int) -> list[str]:
    world = _digits_world(max(ps))
    out = ["## 1. Theory per model size p vs one eigendecomposition of Sigma_pp", "",
           f"digits, {world.P} ReLU features, n = {n}, s = {s}, 400 DC draws (100 for the refits); median of "
           f"{repeats} (a sample of a fast call loops it for at least 50 ms).", "",
           "| p | theory at one p (s) | eigh(Sigma_pp) (s) | ratio |", "|---:|---:|---:|---:|"]
    world.predict(n, s, [ps[0]], draws=400)      # compile / warm
    for p in ps:
        S = world.Sigma[:p, :p].copy()

        def theory():
            world._models.clear()
            world.predict(n, s, [p], draws=400)
        t_th = _median_time(theory, repeats)
        t_eig = _median_time(lambda: np.linalg.eigh(S), repeats)
        out.append(f"| {p} | {t_th:.3f} | {t_eig:.4f} | {t_th / t_eig:.0f} |")
    out += ["", "The theory at one p is one eigh of Sigma_pp (shared by the model's least squares and the DC), 400 "
            "draws of the DC vector (400 x p) and, for each of the three refit rules, up to 100 s x s "
            "eigendecompositions (one per distinct support); the ratio falls as p grows because the fixed s x s "
            "work is amortised against the p^3 eigh.", ""]
    return out


def bench_experiment(repeats: int, ps: list[int], n: int, s: int, trials: int) -> list[str]:
    from dcpredict._fit import fit_least_squares
    world = _digits_world(max(ps))
    rng = np.random.default_rng(0)
    out = ["## 2. The actual experiment per trial vs its least-squares fits", "",
           f"digits, {world.P} ReLU features, n = {n}, s = {s}, {trials} trials per timing, one worker; median of "
           f"{repeats}.  Baseline: the 8 least-squares fits a trial needs (dense on n x p; magnitude, Hessian, "
           f"random refits on the same and on fresh rows and the small model, n x s).", "",
           "| p | experiment per trial (s) | its fits (s) | ratio |", "|---:|---:|---:|---:|"]
    world.experiment(n, s, [ps[0]], trials=2, workers=1, progress=False)
    for p in ps:
        t_ex = _median_time(lambda: world.experiment(n, s, [p], trials=trials, workers=1, progress=False),
                            repeats, 0.0) / trials
        idx = np.sort(rng.choice(world.N, size=n, replace=False))
        Xp = np.ascontiguousarray(world.rows(idx)[:, :p])
        yv = world.labels[idx]
        Xs = np.ascontiguousarray(Xp[:, :s])

        def fits():
            fit_least_squares(Xp, yv, 0.0)
            for _ in range(7):
                fit_least_squares(Xs, yv, 0.0)
        t_fit = _median_time(fits, repeats)
        out.append(f"| {p} | {t_ex:.4f} | {t_fit:.4f} | {t_ex / t_fit:.1f} |")
    out += ["", "Beyond the fits a trial reads its 2n rows, computes the Hessian diagonal and scores every model "
            "on all N rows and on the held-out rows through the population moments (O(p^2) per model, no pass "
            "over the N rows).", ""]
    return out


def _peak(fn) -> tuple[float, object]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        res = fn()
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, res


def bench_memory(sizes: list[tuple[int, int]], n: int, s: int) -> list[str]:
    from dcpredict.data import DataWorld
    out = ["## 3. Peak memory vs the size of the features", "",
           "Synthetic features (N x P, float64, standard normal, label = the first column + noise); peak of numpy's "
           "allocations (tracemalloc) while building the world (Sigma, its eigendecomposition, beta), and for the "
           f"theory and a 2-trial experiment (one worker) at p = P / 2 and P, n = {n}, s = {s}.  "
           "'features' is N * P * 8 bytes.", "",
           "| N | P | source | features (MB) | build peak (MB) | build / features | theory + experiment peak (MB) |",
           "|---:|---:|---|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        for N, P in sizes:
            rng = np.random.default_rng(1)
            path = os.path.join(tmp, f"F_{N}_{P}.npy")
            mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(N, P))
            for a in range(0, N, 4096):
                mm[a:a + 4096] = rng.standard_normal((min(4096, N - a), P))
            y = np.asarray(mm[:, 0]) + rng.standard_normal(N)
            mm.flush()
            del mm
            np.save(os.path.join(tmp, "y.npy"), y)
            feat_mb = N * P * 8 / 2 ** 20
            for source in ("array", "memory-mapped .npy"):
                if source == "array":
                    X = np.load(path)
                    peak, world = _peak(lambda: DataWorld.from_arrays(X, y))
                else:
                    X = None
                    peak, world = _peak(lambda: DataWorld.from_files(path, os.path.join(tmp, "y.npy")))
                peak2, _ = _peak(lambda: (world.predict(n, s, [P // 2, P], draws=100),
                                          world.experiment(n, s, [P // 2, P], trials=2, workers=1, progress=False)))
                out.append(f"| {N} | {P} | {source} | {feat_mb:.1f} | {peak / 2 ** 20:.1f} | "
                           f"{peak / (N * P * 8):.2f} | {peak2 / 2 ** 20:.1f} |")
                del world, X
    out += ["", "An in-memory array is kept by reference (not copied); a memory-mapped .npy is read in blocks of "
            "4096 rows, so the build peak is the P x P moments plus one block whatever N is.", ""]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = ap.parse_args(argv)
    import scipy.linalg  # noqa: F401  (scipy's own BLAS must be loaded before threadpoolctl limits it)
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)        # one BLAS thread (numpy's and scipy's) for the code and its baselines alike
    print(f"# dcpredict.data benchmark (validation/bench_data.py{' --quick' if args.quick else ''}, "
          f"repeats {args.repeats}, one BLAS thread)\n")
    if args.quick:
        lines = (bench_theory(3, [100, 200], 60, 10) + bench_experiment(3, [100, 200], 60, 10, 4)
                 + bench_memory([(5000, 100)], 60, 10))
    else:
        lines = (bench_theory(args.repeats, [100, 200, 400, 800], 200, 40)
                 + bench_experiment(args.repeats, [100, 200, 400, 800], 200, 40, 10)
                 + bench_memory([(1797, 800), (50_000, 200), (200_000, 200)], 200, 40))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
