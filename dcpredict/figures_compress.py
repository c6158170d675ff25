"""Figure: at a fixed storage budget, risk against model size for pruning, quantization and both.

A fixed world (theory page, section :ref:`theory-world`): P = 4 n features, n training samples, a spiked
spectrum (5 % of the features have variance 20, the rest 1) and Gaussian true weights B ~ N(0, 1)
(10 equal-weight quantile nodes per variance), noise sigma^2 = 0.1.  A model of p features fits the p most
salient ones (the paper's order); the features it leaves out act as independent noise, so each model is the
LGP of its own law (:func:`model_problem`), exactly.

Storage budget: ``budget`` bits per training sample (total budget x n bits).  A model of p = kappa n weights
then has budget / kappa bits per weight, spent in one of three ways:

- prune: keep a fraction alpha of the weights at 32 bits each (Hessian rule), the support entropy-coded:
  32 alpha + h2(alpha) = budget / kappa (alpha = 1 when the budget allows the dense model);
- quantize: every weight with q = min(floor(budget / kappa), 8) bits (q >= 1), risk-minimizing step (more
  than 8 bits would change nothing visible: the quantization noise is then far below the fit's error);
- prune + quantize: for each q in 1..6, alpha with q alpha + h2(alpha) = budget / kappa, Hessian pruning then
  q-bit quantization of the kept weights at the risk-minimizing step; the best q at each kappa.

Each at ridge 0 (min-norm / OLS; solid lines) and at the tuned ridge (dashed; the quantizer step and the
ridge minimized jointly).  Markers: Monte Carlo (:mod:`dcpredict.compression_sim`) at a few sizes, mean and
2 standard errors, at the theory's own (alpha, q, step, ridge).  Writes ``compress.png`` and the sidecar
``compress.json`` with every parameter and plotted number.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from .law import Law

__all__ = ["world_law", "model_problem", "budget_alpha", "compute", "draw", "make_figure", "PARAMS"]

PARAMS: dict[str, Any] = {"spike_lam": 20.0, "spike_weight": 0.05, "b_nodes": 10, "sigma2": 0.1, "world_kappa": 4.0,
                          "budget": 2.0, "rule": "hessian", "qs": [1, 2, 3, 4, 5, 6], "full_precision_bits": 32, "max_quantize_bits": 8,
                          "kappa_min": 0.1, "n_kappa": 30, "sim_kappas": [0.5, 1.5, 2.0, 3.0, 4.0], "sim_n": 300,
                          "sim_trials": 60, "seed": 7}


def world_law(P: dict | None = None) -> Law:
    """The world's law: spiked variances, B ~ N(0, 1) by equal-weight normal quantiles (unit second moment)."""
    from scipy.stats import norm
    P = PARAMS if P is None else P
    J = int(P["b_nodes"])
    z = norm.ppf((np.arange(J) + 0.5) / J)
    z = z / math.sqrt(float(np.mean(z * z)))
    ws = float(P["spike_weight"])
    return Law(np.repeat([float(P["spike_lam"]), 1.0], J), np.tile(z, 2), np.repeat([ws / J, (1.0 - ws) / J], J),
               description="spiked world, Gaussian B")


def model_problem(world: Law, sigma2: float, frac: float) -> tuple[Law, float]:
    """The LGP of a model fitting the fraction ``frac`` of the world's features of largest true saliency
    (:func:`dcpredict.world.model_law`, theory page section 7)."""
    from .world import model_law
    return model_law(world, frac, sigma2, "saliency")


def _h2(a: float) -> float:
    return 0.0 if a <= 0.0 or a >= 1.0 else -(a * math.log2(a) + (1.0 - a) * math.log2(1.0 - a))


def budget_alpha(q: float, bits_per_weight: float) -> float:
    """Fraction alpha with q alpha + h2(alpha) = bits_per_weight (1 if the dense model fits the budget)."""
    from scipy.optimize import brentq
    if q <= bits_per_weight:
        return 1.0
    return float(brentq(lambda a: q * a + _h2(a) - bits_per_weight, 1e-15, 1.0, xtol=1e-15, rtol=1e-13))


def _prune_point(law: Law, kappa: float, s2: float, alpha: float, rule: str, tuned: bool) -> dict:
    from .compression import optimal_ridge
    from .theory import predict
    field = rule if alpha < 1.0 else "dense"
    if tuned:
        o = optimal_ridge(law, kappa=kappa, alpha=alpha, sigma2=s2, rule=field)
        return {"risk": o.risk, "ridge": o.ridge, "alpha": alpha}
    return {"risk": float(getattr(predict(law, kappa=kappa, alpha=alpha, sigma2=s2), field)), "ridge": 0.0,
            "alpha": alpha}


def _quant_point(law: Law, kappa: float, s2: float, q: int, alpha: float, rule: str, tuned: bool) -> dict:
    from .compression import predict_quantized
    kw = {} if alpha >= 1.0 else {"alpha": alpha, "rule": rule}
    r = predict_quantized(law, kappa=kappa, bits=q, sigma2=s2, ridge="optimal" if tuned else 0.0, **kw)
    return {"risk": r.risk, "ridge": r.ridge, "alpha": alpha, "bits": q, "step": r.step}


def compute(P: dict | None = None, *, simulate: bool = True, workers: int = 1, progress: bool = True) -> dict:
    """Every theory curve and simulation point of the figure (JSON-ready)."""
    P = dict(PARAMS if P is None else P)
    world = world_law(P)
    B, K32, rule, s2 = float(P["budget"]), int(P["full_precision_bits"]), P["rule"], float(P["sigma2"])
    kmax = float(P["world_kappa"])
    grid = set(np.geomspace(float(P["kappa_min"]), kmax, int(P["n_kappa"])).tolist())
    qmax = int(P["max_quantize_bits"])
    grid |= {B / q for q in range(1, qmax + 1) if float(P["kappa_min"]) <= B / q <= kmax}  # ends of the q steps
    grid |= {float(k) for k in P["sim_kappas"]}
    kappas = sorted(grid)
    out: dict[str, Any] = {"kind": "compress", "params": P, "world": world.to_dict(),
                           "zero_model": s2 + world.signal_power,
                           "kappa": kappas, "curves": {}}
    curves = {name: {"r0": [], "tuned": []} for name in ("prune", "quantize", "prune_quantize")}
    from ._progress import bar as _bar, note
    note(f"compress: theory at {len(kappas)} values of kappa" + (", then the simulation" if simulate else ""),
         enabled=progress)
    bar = _bar(len(kappas), "compress: theory", unit="kappa", enabled=progress)
    for i, k in enumerate(kappas):
        bar.update(1)
        law, s2m = model_problem(world, s2, k / kmax)
        bpw = B / k
        a32 = budget_alpha(K32, bpw)
        q_dense = min(int(math.floor(bpw + 1e-12)), qmax)
        for tuned, key in ((False, "r0"), (True, "tuned")):
            curves["prune"][key].append({"kappa": k, **_prune_point(law, k, s2m, a32, rule, tuned)})
            if q_dense >= 1:
                curves["quantize"][key].append({"kappa": k, **_quant_point(law, k, s2m, q_dense, 1.0, rule, tuned)})
            best = None
            for q in P["qs"]:
                pt = _quant_point(law, k, s2m, int(q), budget_alpha(q, bpw), rule, tuned)
                if best is None or pt["risk"] < best["risk"]:
                    best = pt
            curves["prune_quantize"][key].append({"kappa": k, **best})
    bar.close()
    out["curves"] = curves
    out["sims"] = _simulate(P, world, curves, workers, progress) if simulate else []
    return out


def _simulate(P: dict, world: Law, curves: dict, workers: int, progress: bool = True) -> list[dict]:
    from .compression_sim import simulate_quantized
    from .simulation import instance  # noqa: F401  (the finite instance used by the simulators)
    from .theory import predict  # noqa: F401
    s2, kmax, n, T, seed = float(P["sigma2"]), float(P["world_kappa"]), int(P["sim_n"]), int(P["sim_trials"]), int(P["seed"])
    sims = []
    from ._progress import bar as _bar
    todo = sum(any(abs(pt["kappa"] - k) < 1e-12 for k in P["sim_kappas"])
               for cv in curves.values() for pts in cv.values() for pt in pts)
    bar = _bar(todo, f"compress: simulation ({T} trials per point)", unit="point", enabled=progress)
    for method, cv in curves.items():
        for key, pts in cv.items():
            for pt in pts:
                if not any(abs(pt["kappa"] - k) < 1e-12 for k in P["sim_kappas"]):
                    continue
                k = pt["kappa"]
                law, s2m = model_problem(world, s2, k / kmax)
                if method == "prune":
                    # full-precision pruning: the simulator's "unquantized" field is the pruned fit itself (the
                    # quantizer's bits and step do not enter it)
                    kw = {} if pt["alpha"] >= 1.0 else {"alpha": pt["alpha"], "rule": P["rule"]}
                    res = simulate_quantized(law, kappa=k, bits=1, step=1.0, sigma2=s2m, ridge=pt["ridge"], n=n,
                                             trials=T, seed=seed, workers=workers, progress=False, **kw)
                    m, se = res.mean["unquantized"], res.stderr["unquantized"]
                else:
                    kw = {} if pt["alpha"] >= 1.0 else {"alpha": pt["alpha"], "rule": P["rule"]}
                    res = simulate_quantized(law, kappa=k, bits=pt["bits"], step=pt["step"], sigma2=s2m,
                                             ridge=pt["ridge"], n=n, trials=T, seed=seed, workers=workers,
                                             progress=False, **kw)
                    m, se = res.mean["quantized"], res.stderr["quantized"]
                sims.append({"method": method, "ridge_mode": key, "kappa": k, "theory": pt["risk"], "mean": m,
                             "stderr": se, "n": n, "p": res.p, "trials": T})
                bar.update(1)
    bar.close()
    return sims


def draw(data: dict, path: str | Path) -> Path:
    """Draw the figure from :func:`compute`'s output (:func:`dcpredict.plotting.draw`)."""
    from .plotting import draw as _draw
    return _draw({**data, "kind": "compress"}, path)


def make_figure(out_dir: str | Path = "figures", *, simulate: bool = True, workers: int = 1,
                progress: bool = True, stem: str = "compress") -> tuple[Path, Path]:
    """Compute, draw ``out_dir/STEM.png`` and write ``out_dir/STEM.json`` (every parameter and number)."""
    from ._store import check_outputs
    check_outputs([Path(out_dir) / f"{stem}.json", Path(out_dir) / f"{stem}.png"], "figure file")
    t0 = time.time()
    data = compute(simulate=simulate, workers=workers, progress=progress)
    data["elapsed_seconds"] = time.time() - t0
    out = Path(out_dir)
    png = draw(data, out / f"{stem}.png")
    side = out / f"{stem}.json"
    side.write_text(json.dumps(data, indent=1, allow_nan=True))
    return png, side


if __name__ == "__main__":  # pragma: no cover - script path
    import sys
    png, side = make_figure(sys.argv[1] if len(sys.argv) > 1 else "figures", progress=True)
    print(png, side)
