"""The paper's figures, theory as lines and Monte Carlo simulation as markers with error bars.

``dcpredict figure NAME [--quick] [--out-dir DIR] [--workers N]`` (or :func:`make_figure`) writes
``DIR/NAME.png`` and a sidecar ``DIR/NAME.json`` holding every parameter (law, sigma^2, n, trials,
seed, kappas/widths, alphas, package version) and every plotted number, so a reader can rerun and
re-plot them.  ``--quick`` uses coarse grids and few trials (for tests; files ``NAME_quick.*``).

Figures (Chang, Li, Oymak, Thrampoulidis, AAAI 2021, arXiv:2012.08749; formulas in THEORY.md):

* ``fig3`` -- linear Gaussian problem (THEORY.md s.1), diagonal two-level covariance: test risk
  against kappa = p/n at fixed sparsity targets alpha = s/p, for the dense fit (s.2), magnitude and
  Hessian pruning (s.3) and the oracle small model (s.4).  Shows the pruned double descent (the
  pruned curves inherit the dense peak at kappa = 1 and descend again beyond it), the oracle's own
  peak at alpha kappa = 1, and shades the kappa range where pruning the big model beats the oracle
  trained at the same size s = alpha p.  The paper's Fig. 3.
* ``fig7`` -- fig3 plus retraining with fresh samples on the kept support after magnitude and
  Hessian pruning (s.4, Definition 5): for diagonal Sigma retraining hurts except near the
  interpolation peak (the shaded range is where it helps).  The paper's Fig. 7.
* ``fig2`` -- random-features regression (THEORY.md s.6): ReLU features of Gaussian inputs, label
  (u.z)^2; risk against the width p (p/n on the axis) for several sparsity targets alpha,
  magnitude pruning; theory = vector-form DC of the equivalent LGP (:func:`dcpredict.predict_correlated`),
  simulation = real ReLU features and labels (:func:`dcpredict.random_features.simulate_rf`).
  The paper's Fig. 2.
* ``fig4`` -- retraining in random-features regression: the fresh-sample DC prediction against the
  simulation retrained on the same samples and on fresh samples.  The paper's Fig. 4.

Simulations use the project's simulators only (:func:`dcpredict.simulate_sweep` for the LGP,
:func:`dcpredict.random_features.simulate_rf` for random features).
"""
from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ._validate import check_choice, check_int

__all__ = ["FIGURES", "FIG3_LAW_SPEC", "fig3_law", "FIG3_SIGMA2", "FigureResult", "make_figure", "fig2", "fig3", "fig4", "fig7",
           "finite_or_none"]

#: Law of fig3/fig7: three feature levels; the high-variance features carry small weights, so magnitude
#: and Hessian saliency rank features differently and the oracle (true saliency lam B^2) is meaningful.
FIG3_LAW_SPEC = {"lam": [10.0, 1.0, 0.1], "b": [0.5, 1.0, 2.0], "weights": [0.2, 0.4, 0.4]}
FIG3_SIGMA2 = 0.1
DPI = 100

COLORS = {"dense": "black", "magnitude": "tab:blue", "hessian": "tab:red", "small_oracle": "tab:green",
          "random": "tab:gray", "magnitude_retrained": "tab:cyan", "hessian_retrained": "tab:orange"}
LABELS = {"dense": "dense (no pruning)", "magnitude": "magnitude pruning", "hessian": "Hessian pruning",
          "small_oracle": "oracle: train small on best s features", "random": "random pruning",
          "magnitude_retrained": "magnitude + retrain (fresh)", "hessian_retrained": "Hessian + retrain (fresh)"}


def fig3_law():
    from .law import Law
    return Law(**FIG3_LAW_SPEC)


@dataclass
class FigureResult:
    """Paths written by one figure and the sidecar content (``data``)."""
    name: str
    png: Path
    sidecar: Path
    data: dict = field(repr=False)
    elapsed: float = 0.0

    @property
    def paths(self) -> list[Path]:
        return [self.png, self.sidecar]


def finite_or_none(values: Any) -> Any:
    """Floats for JSON: non-finite (the infinite risk at an interpolation threshold) becomes None."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        v = float(arr)
        return v if math.isfinite(v) else None
    return [finite_or_none(v) for v in arr]


def _version() -> str:
    from . import __version__
    try:
        import subprocess
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5).stdout.strip()
    except Exception:  # pragma: no cover - no git
        rev = ""
    return f"dcpredict {__version__}" + (f" (git {rev})" if rev else "")


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _regions(mask: np.ndarray, x: np.ndarray) -> list[list[float]]:
    """Maximal runs of True in mask as [x_first, x_last] intervals."""
    out, i = [], 0
    while i < len(x):
        if mask[i]:
            j = i
            while j + 1 < len(x) and mask[j + 1]:
                j += 1
            out.append([float(x[i]), float(x[j])])
            i = j + 1
        else:
            i += 1
    return out


def _clip(y: np.ndarray, ymax: float) -> np.ndarray:
    """Mask infinite / off-scale values so lines break at the interpolation peak instead of spiking."""
    y = np.asarray(y, dtype=float).copy()
    y[~np.isfinite(y) | (y > ymax)] = np.nan
    return y


def _write(name: str, out_dir: Path, fig, data: dict, quick: bool, t0: float) -> FigureResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = name + ("_quick" if quick else "")
    png, side = out_dir / f"{stem}.png", out_dir / f"{stem}.json"
    fig.savefig(png, dpi=DPI)
    _plt().close(fig)
    data["elapsed_seconds"] = round(time.time() - t0, 1)
    side.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    return FigureResult(name, png, side, data, data["elapsed_seconds"])


def _header(name: str, quick: bool, workers: int | None) -> dict:
    cmd = f"dcpredict figure {name}" + (" --quick" if quick else "")
    return {"figure": name, "command": cmd, "quick": quick, "version": _version(),
            "python": platform.python_version(), "workers": workers,
            "generated_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


# ----------------------------------------------------------------------------------------- LGP
def _lgp_params(quick: bool) -> dict:
    if quick:
        return {"n": 50, "trials": 12, "seed": 0, "alphas": [0.2, 0.5],
                "kappas_sim": [0.4, 1.6, 3.0],
                "kappas_theory": np.geomspace(0.1, 10.0, 61).tolist()}
    return {"n": 150, "trials": 200, "seed": 0, "alphas": [0.2, 0.5],
            "kappas_sim": [0.2, 0.4, 0.6, 0.8, 1.3, 1.7, 2.2, 3.0, 4.0, 6.0, 8.0],
            "kappas_theory": np.geomspace(0.1, 10.0, 401).tolist()}


def _lgp_figure(name: str, fields: tuple[str, ...], quick: bool, out_dir: Path, workers: int | None,
                progress: bool, shade: str) -> FigureResult:
    from .simulation import simulate_sweep
    from .theory import predict_grid
    t0 = time.time()
    law = fig3_law()
    sigma2 = FIG3_SIGMA2
    P = _lgp_params(quick)
    kt = np.asarray(P["kappas_theory"])
    grid = predict_grid(law, kt, P["alphas"], sigma2=sigma2)
    sims = simulate_sweep(law, kappas=P["kappas_sim"], alphas=P["alphas"], sigma2=sigma2, n=P["n"],
                          trials=P["trials"], seed=P["seed"], workers=workers, progress=progress)
    plt = _plt()
    na = len(P["alphas"])
    fig, axes = plt.subplots(1, na, figsize=(5.6 * na, 5.2), sharey=False)
    axes = np.atleast_1d(axes)
    data = _header(name, quick, workers)
    data.update({"law": law.to_dict(), "law_spec": FIG3_LAW_SPEC, "sigma2": sigma2, "ridge": 0.0,
                 "n": P["n"], "trials": P["trials"], "seed": P["seed"], "alphas": P["alphas"],
                 "kappas_sim": P["kappas_sim"], "kappas_theory": kt.tolist(), "fields": list(fields),
                 "simulator": "dcpredict.simulate_sweep (hessian='population')",
                 "theory": {}, "simulation": {}, "findings": {}})
    for j, (ax, alpha) in enumerate(zip(axes, P["alphas"])):
        key = f"{alpha:g}"
        th = {f: getattr(grid, f)[:, j] for f in fields}
        finite_vals = np.concatenate([v[np.isfinite(v)] for v in th.values()])
        ymin = max(float(finite_vals.min()) * 0.8, 1e-3)
        ymax = max(2.5 * float(np.median(finite_vals)),
                   1.3 * max(float(v[-1]) for v in th.values() if np.isfinite(v[-1])))
        rows = [r for r in sims if r.alpha == alpha]
        ks = np.array([r.kappa for r in rows])
        simd = {}
        for f in fields:
            m = np.array([r.mean[f] for r in rows])
            se = np.array([r.stderr[f] for r in rows])
            simd[f] = {"kappa": ks.tolist(), "mean": finite_or_none(m), "stderr": finite_or_none(se)}
            style = "--" if f == "small_oracle" else (":" if f.endswith("_retrained") else "-")
            ax.plot(kt, _clip(th[f], ymax), style, color=COLORS[f], lw=1.6, label=LABELS[f])
            ok = np.isfinite(m) & (m < ymax)
            mk = "s" if f.endswith("_retrained") else ("D" if f == "small_oracle" else "o")
            ax.errorbar(ks[ok], m[ok], yerr=se[ok], fmt=mk, color=COLORS[f], ms=4, capsize=2, lw=1,
                        mfc="white" if f.endswith("_retrained") else COLORS[f])
        best_prune = np.minimum(th["magnitude"], th["hessian"])
        if shade == "prune_beats_oracle":
            mask = best_prune < th["small_oracle"]
            label = "pruning big beats oracle small"
            color = "tab:green"
        else:  # retraining helps
            mask = np.minimum(th["magnitude_retrained"], th["hessian_retrained"]) < best_prune
            label = "retraining helps"
            color = "tab:orange"
        regions = _regions(mask, kt)
        for i, (a, b) in enumerate(regions):
            ax.axvspan(a, b, color=color, alpha=0.12, lw=0, label=label if i == 0 else None)
        ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
        ax.axvline(1.0 / alpha, color="tab:green", lw=0.8, ls=":")
        ax.text(1.0, ymin * 1.05, " kappa=1", fontsize=7, color="0.4")
        ax.text(1.0 / alpha, ymin * 1.05, f" alpha*kappa=1", fontsize=7, color="tab:green")
        over = kt > 1.0
        bp_over = np.where(np.isfinite(best_prune) & over, best_prune, np.inf)
        i_min = int(np.argmin(bp_over))
        find = {"pruned_min_beyond_kappa1": {"kappa": float(kt[i_min]), "risk": float(bp_over[i_min])},
                "dense_peak_kappa": 1.0, "oracle_peak_kappa": 1.0 / alpha,
                "prune_beats_oracle_kappa_ranges": _regions(best_prune < th["small_oracle"], kt)}
        if "hessian_retrained" in th:
            find["retraining_helps_kappa_ranges"] = _regions(
                np.minimum(th["magnitude_retrained"], th["hessian_retrained"]) < best_prune, kt)
        data["findings"][key] = find
        data["theory"][key] = {f: finite_or_none(v) for f, v in th.items()}
        data["simulation"][key] = simd
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(ymin, ymax)
        ax.set_xlim(kt[0], kt[-1])
        ax.set_xlabel("kappa = p / n  (model size / samples)")
        ax.set_ylabel("test risk")
        ax.set_title(f"alpha = s/p = {alpha:g}", fontsize=10)
        ax.grid(alpha=0.25, which="both", lw=0.5)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7.5, frameon=False,
               bbox_to_anchor=(0.5, 0.035))
    title = ("Fig. 3" if name == "fig3" else "Fig. 7") + f": pruning in the linear Gaussian problem"
    fig.suptitle(f"{title} -- lines: theory (DC), markers: simulation (mean +- se)", fontsize=10)
    lam = ", ".join(f"{x:g}" for x in FIG3_LAW_SPEC["lam"])
    bb = ", ".join(f"{x:g}" for x in FIG3_LAW_SPEC["b"])
    ww = ", ".join(f"{x:g}" for x in FIG3_LAW_SPEC["weights"])
    fig.text(0.01, 0.01, f"law: lambda=({lam}), B=({bb}), weights=({ww}); sigma^2={sigma2:g}, ridge 0; "
             f"sim: n={P['n']}, {P['trials']} trials/point, seed {P['seed']}.  "
             f"Rerun: {data['command']} (parameters in {name}{'_quick' if quick else ''}.json)", fontsize=7)
    fig.tight_layout(rect=(0, 0.13 if len(fields) > 4 else 0.10, 1, 0.95))
    return _write(name, out_dir, fig, data, quick, t0)


def fig3(*, quick: bool = False, out_dir: str | Path = "figures", workers: int | None = None,
         progress: bool = False) -> FigureResult:
    """The paper's Fig. 3: dense, magnitude, Hessian and oracle risk against kappa at fixed alpha.

    Theory: :func:`dcpredict.predict_grid` on a fine log grid of kappa (THEORY.md s.2-4); simulation:
    :func:`dcpredict.simulate_sweep` (n = 150, 200 trials per point; quick: n = 60, 12 trials).
    The shaded kappa ranges are where min(magnitude, Hessian) < oracle in theory.
    """
    return _lgp_figure("fig3", ("dense", "magnitude", "hessian", "small_oracle"), quick, Path(out_dir), workers,
                       progress, "prune_beats_oracle")


def fig7(*, quick: bool = False, out_dir: str | Path = "figures", workers: int | None = None,
         progress: bool = False) -> FigureResult:
    """The paper's Fig. 7: fig3 plus fresh-sample retraining after magnitude and Hessian pruning.

    Retrained risks are the Definition 5 / THEORY.md s.4 refits; the shaded kappa ranges are where
    the better retrained rule beats the better pruned-only rule (retraining helps).
    """
    return _lgp_figure("fig7", ("dense", "magnitude", "hessian", "small_oracle", "magnitude_retrained",
                                "hessian_retrained"), quick, Path(out_dir), workers, progress, "retrain_helps")


# ----------------------------------------------------------------------------------------- RF
def _rf_params(quick: bool) -> dict:
    if quick:
        return {"n": 40, "d": 10, "trials": 8, "seed": 0, "draws": 60, "retrain_draws": 4,
                "alphas": [0.5], "ratios_sim": [0.5, 2.0], "ratios_theory": [0.5, 1.25, 2.0]}
    return {"n": 100, "d": 20, "trials": 200, "seed": 0, "draws": 500, "retrain_draws": 30,
            "alphas": [0.3, 0.6],
            "ratios_sim": [0.3, 0.6, 0.85, 1.2, 1.6, 2.0, 2.6, 3.3, 4.0, 5.0],
            "ratios_theory": [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95,
                              1.05, 1.1, 1.15, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.2, 2.4, 2.6, 2.8,
                              3.0, 3.3, 3.6, 4.0, 4.5, 5.0]}


def _rf_setup(P: dict):
    from . import random_features as rf
    rng = np.random.default_rng(P["seed"])
    u = rng.standard_normal(P["d"])
    u /= np.linalg.norm(u)
    pmax = int(round(max(P["ratios_theory"] + P["ratios_sim"]) * P["n"]))
    W = rf.draw_first_layer(pmax, P["d"], rng)   # nested first layers: width p uses the first p rows
    return u, W


def _rf_task(kind: str, P: dict, alpha: float, p: int, retrain: bool) -> dict[str, Any]:
    """One theory or simulation point of the RF figures (top level: runs in worker processes).

    Rebuilds (u, W) from the seed, so the numbers do not depend on the number of workers."""
    from . import random_features as rf
    from .correlated import predict_correlated
    u, W = _rf_setup(P)
    lgp = rf.equivalent_lgp(W[:p], u)
    if kind == "theory":
        pr = predict_correlated(lgp.Sigma, lgp.beta, sigma2=lgp.sigma2, n=P["n"], alpha=alpha, draws=P["draws"],
                                retrain_draws=P["retrain_draws"] if retrain else 2, seed=P["seed"])
        return {"values": {f: getattr(pr, f) for f in _RF_THEORY_FIELDS},
                "stderr": {f: pr.stderr.get(f, 0.0) for f in _RF_THEORY_FIELDS}, "sigma2": lgp.sigma2}
    r = rf.simulate_rf(W[:p], u, n=P["n"], alpha=alpha, trials=P["trials"], seed=P["seed"], lgp=lgp)
    return {"values": {f: getattr(r, f) for f in rf.RF_FIELDS}, "stderr": dict(r.stderr), "sigma2": lgp.sigma2}


_RF_THEORY_FIELDS = ("dense", "magnitude", "hessian", "small_oracle", "magnitude_retrained", "hessian_retrained")


def _run_tasks(tasks: list[tuple], workers: int | None, bar) -> list[dict]:
    """Run _rf_task over tasks, results in task order, serially or on the simulator's process pool."""
    from .simulation import default_workers, run_parallel
    workers = default_workers() if workers is None else workers
    index = {id(t): i for i, t in enumerate(tasks)}  # run_parallel yields the task objects themselves
    results: list[dict | None] = [None] * len(tasks)
    for task, res in run_parallel(_rf_task, tasks, workers):
        results[index[id(task)]] = res
        if bar is not None:
            bar.update(1)
    return results  # type: ignore[return-value]


def _rf_run(P: dict, fields_theory: tuple[str, ...], retrain: bool, progress: bool, workers: int | None = None):
    """Theory (equivalent-LGP DC) on the theory widths and simulation on the simulation widths.

    Every point is an independent task (:func:`_rf_task`), run on ``workers`` processes."""
    u, _ = _rf_setup(P)
    n = P["n"]
    widths_t = [int(round(r * n)) for r in P["ratios_theory"]]
    widths_s = [int(round(r * n)) for r in P["ratios_sim"]]
    tasks = [("theory", P, a, p, retrain) for a in P["alphas"] for p in widths_t]
    tasks += [("sim", P, a, p, retrain) for a in P["alphas"] for p in widths_s]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(tasks), unit="point", desc="figure")
    try:
        res = _run_tasks(tasks, workers, bar)
    finally:
        if bar is not None:
            bar.close()
    out = {(t[0], t[2], t[3]): r for t, r in zip(tasks, res)}
    s_fields = ("dense", "magnitude", "magnitude_retrained", "magnitude_retrained_same",
                "hessian_retrained_same", "hessian_retrained") if retrain else ("dense", "magnitude")
    theory: dict[str, dict] = {}
    sim: dict[str, dict] = {}
    for alpha in P["alphas"]:
        key = f"{alpha:g}"
        th = [out[("theory", alpha, p)] for p in widths_t]
        theory[key] = {"p": widths_t, **{f: finite_or_none([r["values"][f] for r in th]) for f in fields_theory},
                       "stderr": {f: finite_or_none([r["stderr"][f] for r in th]) for f in fields_theory}}
        sm = [out[("sim", alpha, p)] for p in widths_s]
        sim[key] = {"p": widths_s, **{f: {"mean": finite_or_none([r["values"][f] for r in sm]),
                                          "stderr": finite_or_none([r["stderr"][f] for r in sm])}
                                      for f in s_fields}}
    sigma2_eq = {str(k[2]): r["sigma2"] for k, r in sorted(out.items(), key=lambda kv: kv[0][2])}
    return theory, sim, sigma2_eq, u


def _arr(xs) -> np.ndarray:
    return np.array([np.nan if x is None else x for x in xs], dtype=float)


def fig2(*, quick: bool = False, out_dir: str | Path = "figures", workers: int | None = None,
         progress: bool = False) -> FigureResult:
    """The paper's Fig. 2: random-features regression (ReLU, quadratic label), risk against width p.

    For each sparsity target alpha: dense and magnitude-pruned risk; theory from the vector-form DC of
    the equivalent LGP (THEORY.md s.6, sampled with ``draws`` DC draws), simulation with real ReLU
    features and labels.  First layers are nested (width p uses the first p rows of one draw), so the
    theory curve is smooth in p.  ``workers`` is unused (recorded only): the RF simulator is serial.
    """
    t0 = time.time()
    P = _rf_params(quick)
    theory, sim, s2eq, u = _rf_run(P, ("dense", "magnitude", "small_oracle"), retrain=False, progress=progress,
                                   workers=workers)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    n = P["n"]
    palette = ["tab:blue", "tab:red", "tab:purple"]
    allv = []
    for key in theory:
        allv += [v for v in theory[key]["dense"] + theory[key]["magnitude"] if v is not None]
    ymin, ymax = min(allv) * 0.8, float(np.percentile(allv, 92)) * 1.6
    first = next(iter(theory))
    xt = np.array(theory[first]["p"]) / n
    ax.plot(xt, _clip(_arr(theory[first]["dense"]), ymax), "-", color="black", lw=1.6, label="dense (theory)")
    xs = np.array(sim[first]["p"]) / n
    m, se = _arr(sim[first]["dense"]["mean"]), _arr(sim[first]["dense"]["stderr"])
    ok = m < ymax
    ax.errorbar(xs[ok], m[ok], yerr=se[ok], fmt="o", color="black", ms=4, capsize=2, label="dense (simulation)")
    for c, key in zip(palette, theory):
        ax.plot(xt, _clip(_arr(theory[key]["magnitude"]), ymax), "-", color=c, lw=1.6,
                label=f"magnitude pruning, alpha={key} (theory)")
        ax.plot(xt, _clip(_arr(theory[key]["small_oracle"]), ymax), "--", color=c, lw=1.0, alpha=0.8,
                label=f"oracle small model, s=alpha p (theory)")
        m, se = _arr(sim[key]["magnitude"]["mean"]), _arr(sim[key]["magnitude"]["stderr"])
        ok = m < ymax
        ax.errorbar(xs[ok], m[ok], yerr=se[ok], fmt="o", color=c, ms=4, capsize=2, mfc="white",
                    label=f"magnitude pruning, alpha={key} (simulation)")
        ax.axvline(1.0 / float(key), color=c, lw=0.7, ls=":")
    ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_ylim(ymin, ymax)
    ax.set_xlabel("p / n  (width of the random-features layer / samples)")
    ax.set_ylabel("test risk")
    ax.grid(alpha=0.25, which="both", lw=0.5)
    ax.legend(fontsize=6.5, loc="upper right", ncol=1)
    ax.set_title("Fig. 2: random-features regression, ReLU features, label (u.z)^2 -- theory from the "
                 "equivalent LGP", fontsize=9)
    fig.text(0.01, 0.01, f"n={n}, d={P['d']}, ridge 0, sim {P['trials']} trials/width, DC draws {P['draws']}, "
             f"seed {P['seed']}; dotted: p/n=1 and alpha p/n=1.  Rerun: dcpredict figure fig2"
             + (" --quick" if quick else ""), fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    data = _header("fig2", quick, workers)
    data.update({"params": P, "u": u.tolist(), "label": "y = (u.z)^2, z ~ N(0, I_d)", "features": "ReLU(W z), "
                 "W rows uniform on the unit sphere, nested (width p = first p rows), rng seed = seed",
                 "theory_method": "predict_correlated on random_features.equivalent_lgp (hessian = magnitude "
                                  "in theory: Sigma_ii = 1/2 for every ReLU feature)",
                 "simulator": "random_features.simulate_rf",
                 "equivalent_sigma2": s2eq, "theory": theory, "simulation": sim})
    return _write("fig2", Path(out_dir), fig, data, quick, t0)


def fig4(*, quick: bool = False, out_dir: str | Path = "figures", workers: int | None = None,
         progress: bool = False) -> FigureResult:
    """The paper's Fig. 4: retraining after magnitude pruning in random-features regression.

    Lines: fresh-sample DC prediction of the retrained risk (Definition 5 on the equivalent LGP,
    THEORY.md s.4 and s.6) and of magnitude pruning without retraining; markers: simulation retrained
    on fresh samples (what the DC predicts) and on the same samples (no exact DC).
    """
    t0 = time.time()
    P = _rf_params(quick)
    theory, sim, s2eq, u = _rf_run(P, ("dense", "magnitude", "magnitude_retrained"), retrain=True,
                                   progress=progress, workers=workers)
    plt = _plt()
    na = len(P["alphas"])
    fig, axes = plt.subplots(1, na, figsize=(max(5.6 * na, 7.5), 4.6))
    axes = np.atleast_1d(axes)
    n = P["n"]
    for j, (ax, key) in enumerate(zip(axes, theory)):
        xt = np.array(theory[key]["p"]) / n
        xs = np.array(sim[key]["p"]) / n
        allv = [v for f in ("magnitude", "magnitude_retrained") for v in theory[key][f] if v is not None]
        ymin, ymax = min(allv) * 0.7, float(np.percentile(allv, 90)) * 2.0
        ax.plot(xt, _clip(_arr(theory[key]["magnitude"]), ymax), "-", color="tab:blue", lw=1.4,
                label="magnitude pruning, no retraining (DC)")
        ax.plot(xt, _clip(_arr(theory[key]["magnitude_retrained"]), ymax), "-", color="tab:orange", lw=1.8,
                label="retrained, fresh-sample DC prediction")
        for f, fmt, c, lab in (("magnitude", "o", "tab:blue", "no retraining (simulation)"),
                               ("magnitude_retrained", "s", "tab:orange", "retrained on fresh samples (sim.)"),
                               ("magnitude_retrained_same", "^", "tab:brown", "retrained on same samples (sim.)")):
            m, se = _arr(sim[key][f]["mean"]), _arr(sim[key][f]["stderr"])
            ok = m < ymax
            ax.errorbar(xs[ok], m[ok], yerr=se[ok], fmt=fmt, color=c, ms=4.5, capsize=2,
                        mfc="white" if f.endswith("same") else c, label=lab)
        ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
        ax.axvline(1.0 / float(key), color="tab:orange", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_ylim(ymin, ymax)
        ax.set_xlabel("p / n")
        ax.set_ylabel("test risk")
        ax.set_title(f"alpha = s/p = {key}", fontsize=10)
        ax.grid(alpha=0.25, which="both", lw=0.5)
        if j == 0:
            ax.legend(fontsize=7, loc="upper right")
    fig.suptitle("Fig. 4: retraining after magnitude pruning, random-features regression (ReLU, (u.z)^2)",
                 fontsize=10)
    fig.text(0.01, 0.01, f"n={n}, d={P['d']}, ridge 0, sim {P['trials']} trials/width, DC draws {P['draws']} "
             f"(retrain {P['retrain_draws']}), seed {P['seed']}; dotted: p/n=1 and alpha p/n=1.  "
             f"Rerun: dcpredict figure fig4" + (" --quick" if quick else ""), fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    data = _header("fig4", quick, workers)
    data.update({"params": P, "u": u.tolist(), "label": "y = (u.z)^2, z ~ N(0, I_d)",
                 "features": "ReLU(W z), W rows uniform on the unit sphere, nested (width p = first p rows)",
                 "theory_method": "predict_correlated on random_features.equivalent_lgp",
                 "simulator": "random_features.simulate_rf",
                 "equivalent_sigma2": s2eq, "theory": theory, "simulation": sim})
    return _write("fig4", Path(out_dir), fig, data, quick, t0)


FIGURES: dict[str, Callable[..., FigureResult]] = {"fig2": fig2, "fig3": fig3, "fig4": fig4, "fig7": fig7}


def make_figure(name: str, *, quick: bool = False, out_dir: str | Path = "figures", workers: int | None = None,
                progress: bool = False) -> list[FigureResult]:
    """Make one figure (``fig2``, ``fig3``, ``fig4``, ``fig7``) or ``all``; returns their results.

    Each writes ``out_dir/NAME.png`` and the sidecar ``out_dir/NAME.json`` (``NAME_quick.*`` with
    ``quick=True``).  ``workers`` is the number of simulation processes (LGP figures).
    """
    name = check_choice("name", name, (*FIGURES, "all"))
    quick = bool(quick)
    if workers is not None:
        workers = check_int("workers", workers, lo=1)
    names = list(FIGURES) if name == "all" else [name]
    return [FIGURES[nm](quick=quick, out_dir=out_dir, workers=workers, progress=progress) for nm in names]
