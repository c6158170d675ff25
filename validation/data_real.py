"""Theory vs actual on real data: the grow-then-prune experiment on digits and MNIST-1D, per p and rule.

For each dataset (``dcpredict.data.datasets.load_dataset``, parity label), 800 ReLU random features of the
standardized inputs (``dcpredict.data.features.random_features``, feature seed 0), the population = all N rows,
the model of the first p features, n = 200 training rows, s = 40 kept weights, ridge 0:

* theory = ``DataWorld.predict`` (the vector DC of each model's equivalent linear Gaussian
  problem; dense and small_oracle exact, the others Monte Carlo means over 400 DC draws +- their se);
* actual = ``DataWorld.experiment`` (TRIALS trials of n training rows and n fresh rows drawn
  without replacement): the error on all N rows (the population risk, which the theory predicts) and on the
  held-out rows (used for neither fit: what a user measures), each mean +- se over trials;
* gap = (actual on all N rows - theory) / theory, z = that difference / combined se; held/pop = held-out / all-rows.

Writes validation/DATA_REAL.md (a file this script wrote before is replaced; any other file is refused).

    PYTHONPATH=. python validation/data_real.py [--trials 60] [--workers 2] [--datasets digits,mnist1d]
                                                [--out validation/DATA_REAL.md]
"""
from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

import dcpredict
from dcpredict import RISK_FIELDS

PS = [60, 100, 150, 180, 220, 250, 300, 400, 600, 800]
SETUP = {"task": "parity", "width": 800, "activation": "relu", "feature_seed": 0, "n": 200, "s": 40,
         "order": "given", "ridge": 0.0, "draws": 400, "seed": 0}


def _pm(m: float, se: float, digits: int = 4) -> str:
    if not math.isfinite(m):
        return "inf"
    return f"{m:.{digits}f}" if se == 0.0 else f"{m:.{digits}f} +- {se:.{digits}f}"


def run_dataset(name: str, trials: int, workers: int) -> tuple[list[str], dict]:
    from dcpredict.data import DataWorld
    from dcpredict.data.datasets import load_dataset
    from dcpredict.data.features import random_features
    S = SETUP
    t0 = time.perf_counter()
    X, y, desc = load_dataset(name, S["task"])
    F = random_features(X, S["width"], activation=S["activation"], seed=S["feature_seed"])
    world = DataWorld.from_arrays(F, y, name=f"{name} parity, {S['width']} ReLU features")
    t1 = time.perf_counter()
    cmp = world.compare(S["n"], S["s"], PS, trials=trials, seed=S["seed"], order=S["order"], ridge=S["ridge"],
                        draws=S["draws"], workers=workers, progress=True)
    t2 = time.perf_counter()
    pr, ex = cmp.prediction, cmp.experiment
    a, b = ex.actual, ex.actual_population
    lines = [f"## {name}", "",
             f"{desc}.", "",
             f"N = {world.N} rows, P = {world.P} features (rank {world.rank}); the dataset's own sigma^2 = "
             f"{world.sigma2:.4g} (unexplained by all P features), signal = {world.signal:.4g}, mean(y^2) = "
             f"{world.m2:.4g} (centred label). n = {S['n']}, s = {S['s']}, order {S['order']}, ridge {S['ridge']:g}; "
             f"theory {pr.draws} DC draws ({pr.retrain_draws} for the refits); actual {ex.trials} trials (seed "
             f"{ex.seed}), {ex.held_out_rows} held-out rows each; N/(N-n) = {ex.finite_population_factor:.4f}. "
             f"Time: world {t1 - t0:.1f} s, theory + experiment {t2 - t1:.1f} s.", "",
             "| p | rule | theory | actual (all N rows) | gap | z | actual (held out) | held/pop |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    summary: dict = {}
    for i, p in enumerate(pr.ps):
        for f in RISK_FIELDS:
            t, tse = float(pr.theory[f][i]), float(pr.theory_stderr[f][i])
            m, mse = float(b[f]["mean"][i]), float(b[f]["stderr"][i])
            h, hse = float(a[f]["mean"][i]), float(a[f]["stderr"][i])
            if math.isfinite(t):
                gap = (m - t) / t
                se = math.hypot(tse, mse)
                z = (m - t) / se if se > 0 else math.nan
                gtxt, ztxt = f"{100 * gap:+.1f}%", f"{z:+.1f}"
                summary.setdefault(f, []).append((int(p), gap, z))
            else:
                gtxt, ztxt = "-", "-"
            lines.append(f"| {p} | {f} | {_pm(t, tse)} | {_pm(m, mse)} | {gtxt} | {ztxt} | {_pm(h, hse)} | "
                         f"{h / m:.3f} |")
        for f in ("magnitude_retrained_same", "hessian_retrained_same"):
            m, mse = float(b[f]["mean"][i]), float(b[f]["stderr"][i])
            h, hse = float(a[f]["mean"][i]), float(a[f]["stderr"][i])
            lines.append(f"| {p} | {f} | (no theory) | {_pm(m, mse)} | | | {_pm(h, hse)} | {h / m:.3f} |")
    lines += ["", "Gap per rule over the model sizes (relative gap, (actual on all N rows - theory) / theory):", "",
              "| rule | median | smallest | largest | p of largest abs | median abs z |", "|---|---:|---:|---:|---:|---:|"]
    for f, vals in summary.items():
        g = np.array([v[1] for v in vals])
        z = np.array([abs(v[2]) for v in vals if math.isfinite(v[2])])
        k = int(np.argmax(np.abs(g)))
        lines.append(f"| {f} | {100 * np.median(g):+.1f}% | {100 * g.min():+.1f}% | {100 * g.max():+.1f}% | "
                     f"{vals[k][0]} | {np.median(z) if z.size else float('nan'):.1f} |")
    lines.append("")
    return lines, {"world": world.describe(), "seconds": t2 - t0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--datasets", default="digits,mnist1d")
    ap.add_argument("--out", default=str(Path(__file__).with_name("DATA_REAL.md")))
    args = ap.parse_args(argv)
    from dcpredict._store import check_outputs, write_output
    check_outputs([args.out], "validation report")
    cmd = "PYTHONPATH=. python validation/data_real.py " + " ".join(
        argv if argv is not None else sys.argv[1:]) if (argv or sys.argv[1:]) else "PYTHONPATH=. python validation/data_real.py"
    out = ["# dcpredict on real data: theory vs actual, per model size and rule", "",
           f"Made by `{cmd}` (dcpredict {dcpredict.__version__}, numpy {np.__version__}, Python "
           f"{platform.python_version()}, {time.strftime('%Y-%m-%d', time.gmtime())}).", "",
           (__doc__.split("\n\n")[1] + "\n\n" + __doc__.split("\n\n")[2]).replace("TRIALS", str(args.trials)), "",
           "Reading the table: a gap is what the Gaussian theory misses on this dataset (non-Gaussian random features "
           "of real inputs; largest near the interpolation threshold p = n); |z| > 4 means the gap is resolved, not "
           "noise.  held/pop > 1 is the finite-population effect (about N/(N-n) for an interpolating fit): the rows "
           "a model is scored on are exactly the rows it was not fitted to; models that do not interpolate their training "
           "rows (the small model, pruned models) have a smaller ratio.", ""]
    for name in args.datasets.split(","):
        lines, _info = run_dataset(name.strip(), args.trials, args.workers)
        out += lines
    write_output("\n".join(out) + "\n", args.out, lambda content: content.startswith(b"# dcpredict"),
                 "a dcpredict validation report")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
