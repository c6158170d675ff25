"""Random-features regression vs the vector-form DC of its equivalent LGP: the agreement table.

the theory page, :ref:`theory-correlated`; the paper's Sec. 3.2, Definitions 2 and 4.  For a few widths p at fixed input
dimension d and sample size n, one first layer W (unit rows, seeded) and one unit direction u,
labels y = (u.z)^2 (and, with --linear A, y = A (v.z) + (u.z)^2), this prints, for each field, the
theory (predict_correlated on the equivalent LGP; exact for dense, sampled for pruned, +- its
standard error), the simulation with real ReLU features and real labels (+- its standard error), the
relative gap (sim - theory) / theory and the gap in combined standard errors z.

The Gaussian equivalence is an approximation: the gaps are measured, not hidden.

Usage:  python validation/rf_agreement.py [--d 20] [--n 100] [--ratios 0.5,2,4] [--alpha 0.5]
                                         [--trials 400] [--draws 400] [--ridge 0] [--linear 0] [--seed 0]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from dcpredict import random_features as rf

FIELDS = ("dense", "magnitude", "hessian", "random", "oracle_pruned", "small_oracle", "magnitude_retrained", "hessian_retrained",
          "random_retrained")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--ratios", default="0.5,2,4", help="p/n values, comma list")
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--draws", type=int, default=400)
    ap.add_argument("--retrain-draws", type=int, default=100)
    ap.add_argument("--ridge", type=float, default=0.0)
    ap.add_argument("--linear", type=float, default=0.0, help="coefficient a of the linear term a (v.z)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fields", default="dense,magnitude", help="comma list, or 'all'")
    args = ap.parse_args(argv)
    fields = FIELDS if args.fields == "all" else tuple(args.fields.split(","))
    rng = np.random.default_rng(args.seed)
    u = rng.standard_normal(args.d)
    u /= np.linalg.norm(u)
    v = None
    if args.linear:
        v = rng.standard_normal(args.d)
        v /= np.linalg.norm(v)
    print(f"# d={args.d} n={args.n} alpha={args.alpha} ridge={args.ridge} a={args.linear} trials={args.trials} "
          f"draws={args.draws} seed={args.seed}")
    print(f"| {'p':>5} | {'p/n':>4} | {'field':<20} | {'theory':>18} | {'simulation':>18} | {'rel gap':>8} | {'z':>6} |")
    print(f"|{'-' * 7}|{'-' * 6}|{'-' * 22}|{'-' * 20}|{'-' * 20}|{'-' * 10}|{'-' * 8}|")
    for ratio in (float(x) for x in args.ratios.split(",")):
        p = int(round(ratio * args.n))
        W = rf.draw_first_layer(p, args.d, rng)
        t0 = time.time()
        cmp = rf.compare_rf(W, u, n=args.n, alpha=args.alpha, ridge=args.ridge, trials=args.trials,
                            draws=args.draws, retrain_draws=args.retrain_draws, seed=args.seed, a=args.linear, v=v)
        for row in cmp.rows(fields):
            th = f"{row['theory']:.4f}" + (f" +- {row['theory_se']:.4f}" if row["theory_se"] else "")
            sim = f"{row['simulation']:.4f} +- {row['simulation_se']:.4f}"
            print(f"| {p:>5} | {ratio:>4g} | {row['field']:<20} | {th:>18} | {sim:>18} | "
                  f"{100 * row['rel_gap']:>7.2f}% | {row['z']:>6.2f} |", flush=True)
        print(f"#   p={p}: equivalent LGP sigma2={cmp.lgp.sigma2:.4f}, {cmp.lgp.solve_note}; "
              f"{time.time() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
