"""Theory vs actual on a dataset whose rows ARE Gaussian (dcpredict.data): the table in data_gaussian.md.

N = 20000 rows x ~ N(0, Sigma) (power-law spectrum k^-0.7 in a random basis, P = 400), labels y = x^T beta + 0.5 z (signal about 2 x noise).
The population is the 20000 rows; n = 200, s = 40.  Run from the repository root:

    PYTHONPATH=$PWD python validation/data_gaussian.py > validation/data_gaussian.md
"""
import math
import sys
import time

import numpy as np

from dcpredict import RISK_FIELDS
from dcpredict.data import DataWorld


def main() -> None:
    rng = np.random.default_rng(2)
    N, P = 20000, 400
    U = np.linalg.qr(rng.standard_normal((P, P)))[0]
    lam = np.arange(1, P + 1) ** -0.7
    X = (rng.standard_normal((N, P)) * np.sqrt(lam)) @ U.T
    beta = 5 * U @ (rng.standard_normal(P) * lam ** 0.2) / math.sqrt(P)
    y = X @ beta + 0.5 * rng.standard_normal(N)
    world = DataWorld.from_arrays(X, y, name="Gaussian rows")
    t0 = time.time()
    cmp = world.compare(n=200, s=40, ps=[100, 150, 250, 400], trials=60, seed=0, draws=1000, workers=2,
                        progress=False)
    elapsed = time.time() - t0
    ex = cmp.experiment
    print("# dcpredict data: theory vs actual on Gaussian rows\n")
    print(f"Command: `PYTHONPATH=$PWD python validation/data_gaussian.py` ({elapsed:.0f} s on 2 loaded cores).  "
          f"N = {world.N} rows drawn from N(0, Sigma), P = {world.P}, n = 200, s = 40, order given, 60 trials, "
          f"1000 DC draws.  sigma2 = {world.sigma2:.4g}, signal = {world.signal:.4g}.  gap = actual on all N rows "
          f"minus theory; z = gap / combined stderr; held/pop = held-out / all-rows error (N/(N-n) = "
          f"{ex.finite_population_factor:.4f}).\n")
    print("| p | field | theory | actual (all N) | gap | z | actual (held out) | held/pop |")
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for g in cmp.gaps():
        if not math.isfinite(g["theory"]):
            continue
        worst = max(worst, abs(g["relative_gap"]))
        print(f"| {g['p']} | {g['field']} | {g['theory']:.4f} ± {g['theory_stderr']:.4f} | "
              f"{g['actual_population']:.4f} ± {g['actual_population_stderr']:.4f} | {100 * g['relative_gap']:+.1f} % | "
              f"{g['z']:+.1f} | {g['actual']:.4f} ± {g['actual_stderr']:.4f} | {g['held_out_over_population']:.3f} |")
    print(f"\nLargest relative gap: {100 * worst:.1f} %.", file=sys.stdout)


if __name__ == "__main__":
    main()
