"""The paper's figures as data: theory lines and Monte Carlo simulation, computed here, drawn elsewhere.

This module only computes.  :func:`compute_figure` returns the content of a figure's sidecar JSON (every
parameter and every plotted number); :func:`dcpredict.plotting.draw` turns such a dict (or the JSON file)
into a PNG, so a figure can be restyled without recomputing.  :func:`make_figure` (``dcpredict figure NAME
[--quick] [--out-dir DIR] [--workers N]``) does both and writes ``DIR/NAME.png`` and ``DIR/NAME.json``
(``NAME_quick.*`` with ``--quick``: coarse grids and few trials, for tests).

Figures (Chang, Li, Oymak, Thrampoulidis, AAAI 2021, arXiv:2012.08749), all in the paper's framing: a
fixed world, a model that grows, and a fixed budget of s weights kept after pruning.

* ``fig3a``, ``fig3b`` -- the linear Gaussian world of the theory page, section :ref:`theory-world`:
  P = 1000 features, n = 200 samples, s = 40 kept weights, sigma^2 = 0.1; the model fits the first p
  features by true saliency, p from s to P.  Lines: :func:`dcpredict.predict_world_curve` at every integer
  p; markers: :func:`dcpredict.simulate_world`.  Curves dense, magnitude, Hessian and oracle pruning; the
  horizontal line is training small on the s truly best features (``small_oracle``), which with sorted
  features is the model at p = s.  (a) Sigma = I, beta spiked: 40 entries 10 c, the rest c, with
  c = 1/sqrt(4.96) so E[B^2] = 1 (beta_i = B_i / sqrt(P), ||beta||^2 = 1): magnitude = Hessian.
  (b) Sigma spiked (40 variances 10, the rest 1), beta = 1 (B = 1, ||beta||^2 = 1): Hessian beats
  magnitude, and at p = P Hessian and oracle pruning beat training small.
* ``fig7a``, ``fig7b`` -- the same worlds plus magnitude and Hessian pruning followed by a refit on fresh
  samples (the paper's Definition 5).  In (b) retraining helps near p = n and hurts for a large model; in
  (a) it helps near p = n and changes little at p = P.
* ``fig2`` -- random-features regression (theory page, section :ref:`theory-correlated`): ReLU features
  of Gaussian inputs, label (u.z)^2, n = 100, d = 20; the width p grows from s to 5 n and the model is
  pruned by magnitude to a fixed s (two panels, s = 20 and s = 50), against training a width-s network
  (horizontal line) and the oracle choices of s of the p features.  Theory = vector-form DC of the
  equivalent linear Gaussian problem (:func:`dcpredict.predict_correlated`) averaged over 50 first layers
  W (as the paper does); simulation = real ReLU features and labels
  (:func:`dcpredict.random_features.simulate_rf`) on the same first layers.
* ``fig4`` -- the same random-features sweep with a refit after magnitude pruning: the fresh-sample DC
  prediction against the simulation refitted on fresh samples and on the same samples.

The measured Gaussian-equivalence gap (simulation against the equivalent-LGP theory) and the Monte Carlo
error of every theory line are in the sidecar (``"gap"``, ``"theory_mc_error"``) and in the caption.
"""
from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._validate import check_choice, check_int

__all__ = ["FIGURES", "WORLDS", "world_law", "world_params", "rf_params", "compute_world", "compute_rf",
           "compute_figure", "make_figure", "FigureResult", "finite_or_none"]

#: Figure names, in the order ``all`` makes them.
FIGURES = ("fig2", "fig3a", "fig3b", "fig4", "fig7a", "fig7b")

#: The two worlds of Figs. 3 and 7 (before scaling B; see :func:`world_law`).  Each: a spike of 4 % of the
#: features (40 of P = 1000).
_C_A = 1.0 / math.sqrt(0.04 * 100.0 + 0.96)
WORLDS: dict[str, dict[str, Any]] = {
    "a": {"lam": [1.0, 1.0], "b": [10.0 * _C_A, _C_A], "weights": [0.04, 0.96],
          "description": "Sigma = I, beta spiked: 4 % of the B_i equal 10 c, the rest c, c = 1/sqrt(4.96) "
                         "so that E[B^2] = 1 (||beta||^2 = 1 with beta_i = B_i/sqrt(P))"},
    "b": {"lam": [10.0, 1.0], "b": [1.0, 1.0], "weights": [0.04, 0.96],
          "description": "Sigma spiked: 4 % of the variances equal 10, the rest 1; beta = 1 (B_i = 1, "
                         "||beta||^2 = 1 with beta_i = B_i/sqrt(P)); signal E[Lambda B^2] = 1.36"},
}
_WORLD_FIELDS = {"3": ("dense", "magnitude", "hessian", "oracle_pruned"),
                 "7": ("dense", "magnitude", "hessian", "oracle_pruned", "magnitude_retrained",
                       "hessian_retrained")}
#: Every field the world simulation records (the plotted ones and small_oracle).
_WORLD_SIM_FIELDS = ("dense", "magnitude", "hessian", "oracle_pruned", "small_oracle", "magnitude_retrained",
                     "hessian_retrained")


def world_law(which: str):
    """The world law of fig3a/fig7a (``"a"``) or fig3b/fig7b (``"b"``) as a :class:`dcpredict.Law`."""
    from .law import Law
    spec = WORLDS[check_choice("which", which, tuple(WORLDS))]
    return Law(spec["lam"], spec["b"], spec["weights"], description=f"world ({which})")


def world_params(quick: bool) -> dict[str, Any]:
    """n, P, s, sigma^2, ridge, order, the simulated p values, trials and seed of Figs. 3 and 7."""
    if quick:
        return {"n": 50, "P": 250, "s": 10, "sigma2": 0.1, "ridge": 0.0, "order": "saliency",
                "ps_sim": [10, 30, 75, 150, 250], "trials": 12, "seed": 0}
    return {"n": 200, "P": 1000, "s": 40, "sigma2": 0.1, "ridge": 0.0, "order": "saliency",
            "ps_sim": [40, 60, 80, 100, 120, 140, 160, 250, 300, 350, 400, 500, 600, 700, 800, 900, 1000],
            "trials": 300, "seed": 0}


def rf_params(quick: bool) -> dict[str, Any]:
    """Parameters of the random-features figures (fig2, fig4)."""
    if quick:
        return {"n": 40, "d": 10, "budgets": [8], "layers": 3, "draws": 40, "retrain_draws": 4,
                "trials_per_layer": 3, "seed": 0, "ps_theory": [8, 12, 20, 30, 50, 80, 120],
                "ps_sim": [12, 30, 80]}
    pt = [20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 84, 88, 92, 95, 98, 100, 102, 105, 108, 112, 116,
          120, 130, 140, 150, 165, 180, 200, 225, 250, 280, 310, 350, 400, 450, 500]
    return {"n": 100, "d": 20, "budgets": [20, 50], "layers": 50, "draws": 200, "retrain_draws": 4,
            "trials_per_layer": 8, "seed": 0, "ps_theory": pt,
            "ps_sim": [20, 30, 50, 65, 80, 125, 150, 200, 260, 330, 420, 500]}


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
    """Floats for JSON: a non-finite value (an infinite risk at an interpolation threshold) becomes None."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        v = float(arr)
        return v if math.isfinite(v) else None
    return [finite_or_none(v) for v in arr]


def _header(name: str, quick: bool, workers: int | None) -> dict[str, Any]:
    from . import __version__
    return {"figure": name, "command": f"dcpredict figure {name}" + (" --quick" if quick else ""),
            "quick": quick, "dcpredict_version": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "workers": workers,
            "generated_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _workers(workers: int | None) -> int:
    from ._parallel import default_workers
    return default_workers() if workers is None else workers


# ------------------------------------------------------------------------------------------ the worlds
def _simulate_world(law, P: dict[str, Any], workers: int | None, progress: bool) -> dict[str, Any]:
    """Simulation markers of a world: {"p": [...], field: {"mean": [...], "stderr": [...]}, "simulator"}."""
    from .world_simulation import simulate_world
    res = simulate_world(law, n=P["n"], P=P["P"], ps=P["ps_sim"], s=P["s"], sigma2=P["sigma2"],
                         ridge=P["ridge"], order=P["order"], trials=P["trials"], seed=P["seed"],
                         workers=_workers(workers), progress=progress).to_dict()
    out: dict[str, Any] = {"p": [int(p) for p in res["p"]],
                           "simulator": "dcpredict.simulate_world (X with all P columns, the fit on the first p "
                                        "by true saliency; exact population risks)"}
    for f in _WORLD_SIM_FIELDS:
        out[f] = {"mean": finite_or_none(res[f]["mean"]), "stderr": finite_or_none(res[f]["stderr"])}
    return out


def compute_world(which: str, *, quick: bool = False, workers: int | None = None, progress: bool = True,
                  simulate: bool = True) -> dict[str, Any]:
    """Theory at every integer p in [s, P] and simulation at ``world_params(quick)["ps_sim"]`` of one world.

    Returns a dict with every field of :data:`dcpredict.RISK_FIELDS` that Figs. 3 and 7 plot (theory),
    the baselines, and the simulation (``None`` with ``simulate=False``).
    """
    from .world import predict_world_curve
    law = world_law(which)
    P = world_params(quick)
    ps = np.arange(P["s"], P["P"] + 1)
    curve = predict_world_curve(law, n=P["n"], P=P["P"], s=P["s"], sigma2=P["sigma2"], ps=ps,
                                ridge=P["ridge"], order=P["order"])
    theory = {"p": [int(p) for p in ps]}
    for f in _WORLD_FIELDS["7"]:
        theory[f] = finite_or_none(getattr(curve, f))
    baselines = dict(curve.baselines)
    sim = _simulate_world(law, P, workers, progress) if simulate else None
    return {"law": law, "params": P, "theory": theory, "baselines": baselines, "simulation": sim}


def _at(theory: dict[str, Any], f: str, p: int) -> float:
    v = theory[f][theory["p"].index(p)]
    return math.inf if v is None else float(v)


def _world_findings(fig: str, which: str, theory: dict[str, Any], base: dict[str, float],
                    P: dict[str, Any]) -> dict[str, Any]:
    """The claims of the figure, as numbers read off the theory lines."""
    Pw, n, s = P["P"], P["n"], P["s"]
    ps = np.array(theory["p"])
    at_P = {f: _at(theory, f, Pw) for f in _WORLD_FIELDS[fig]}
    out: dict[str, Any] = {"at_P": at_P, **base}
    arr = {f: np.array([math.inf if v is None else v for v in theory[f]]) for f in _WORLD_FIELDS[fig]}
    for f in ("hessian", "magnitude", "oracle_pruned"):
        i = int(np.argmin(arr[f]))
        out[f"min_{f}"] = {"p": int(ps[i]), "risk": float(arr[f][i])}
    both = np.isfinite(arr["magnitude"]) & np.isfinite(arr["hessian"])
    out["max_abs_magnitude_minus_hessian"] = float(np.max(np.abs(arr["magnitude"][both] - arr["hessian"][both])))
    if fig == "7":
        best_pruned = np.minimum(arr["magnitude"], arr["hessian"])
        best_retrained = np.minimum(arr["magnitude_retrained"], arr["hessian_retrained"])
        helps = best_retrained < best_pruned * (1.0 - 1e-9)   # a tie (e.g. at p = s) is not help
        out["retraining_helps_p_ranges"] = _runs(helps, ps)
        near = [p for p in (n - 10, n + 10) if s <= p <= Pw]
        out["near_n"] = {str(p): {f: _at(theory, f, p) for f in _WORLD_FIELDS[fig]} for p in near}
    return out


def _runs(mask: np.ndarray, x: np.ndarray) -> list[list[int]]:
    """Maximal runs of True in mask as [x_first, x_last]."""
    out, i = [], 0
    while i < len(x):
        if mask[i]:
            j = i
            while j + 1 < len(x) and mask[j + 1]:
                j += 1
            out.append([int(x[i]), int(x[j])])
            i = j + 1
        else:
            i += 1
    return out


def _world_caption(fig: str, which: str, fd: dict[str, Any], P: dict[str, Any]) -> str:
    a = fd["at_P"]
    so = fd["small_oracle"]
    if fig == "3" and which == "a":
        claim = (f"Sigma = I: magnitude and Hessian pruning coincide (max difference "
                 f"{fd['max_abs_magnitude_minus_hessian']:.1e}). At p = P: Hessian {a['hessian']:.3f}, oracle "
                 f"pruning {a['oracle_pruned']:.3f}. Training small: on the s best features {so:.3f}, on the s "
                 f"largest-variance features {fd['small_top_variance']:.3f}, on s random features "
                 f"{fd['small_random']:.3f}.")
    elif fig == "3":
        claim = (f"At p = P: Hessian {a['hessian']:.3f} < magnitude {a['magnitude']:.3f}; Hessian and oracle "
                 f"pruning ({a['oracle_pruned']:.3f}) beat training small on the s best features "
                 f"({so:.3f}; on the s largest-variance features, found without labels: "
                 f"{fd['small_top_variance']:.3f}; on s random features: {fd['small_random']:.3f}); zero model "
                 f"{fd['zero_model']:.3f}.")
    else:
        runs = ", ".join(f"{lo}-{hi}" for lo, hi in fd["retraining_helps_p_ranges"]) or "no p"
        parts = []
        for rule in ("magnitude", "hessian"):
            before, after = a[rule], a[f"{rule}_retrained"]
            verdict = "hurts" if after > before * 1.001 else ("helps" if after < before * 0.999 else "changes little")
            parts.append(f"{rule} {before:.3f} -> {after:.3f} ({verdict})")
        claim = (f"Refitting the kept weights on fresh samples beats not refitting for p in {runs}. "
                 f"At p = P: " + ", ".join(parts) + ".")
    return (f"{WORLDS[which]['description']}. n = {P['n']}, P = {P['P']}, s = {P['s']}, sigma^2 = "
            f"{P['sigma2']:g}, ridge {P['ridge']:g}; model = first p features by true saliency. {claim} "
            f"Lines: theory (predict_world_curve, every integer p; gap at p = n where the risk is infinite); "
            f"markers: simulation, mean +- 1 standard error of {P['trials']} trials (seed {P['seed']}).")


def _world_figure(name: str, world: dict[str, Any], quick: bool, workers: int | None) -> dict[str, Any]:
    fig, which = name[3], name[4]
    law, P = world["law"], world["params"]
    fields = _WORLD_FIELDS[fig]
    data = _header(name, quick, workers)
    fd = _world_findings(fig, which, world["theory"], world["baselines"], P)
    title = {"3": "pruning a growing model to a fixed budget s", "7": "pruning, then refitting on fresh samples"}[fig]
    data.update({
        "kind": "world",
        "title": f"Fig. {fig}{which}: {title} ({'Sigma = I, beta spiked' if which == 'a' else 'Sigma spiked, beta = 1'})",
        "world": {"lam": [float(x) for x in law.lam], "b": [float(x) for x in law.b],
                  "weights": [float(x) for x in law.weights], "P": P["P"],
                  "description": WORLDS[which]["description"]},
        "n": P["n"], "s": P["s"], "sigma2": P["sigma2"], "ridge": P["ridge"], "order": P["order"],
        "fields": list(fields), "horizontal": {"field": "small_oracle", "value": world["baselines"]["small_oracle"]},
        "baselines": world["baselines"],
        "theory": {"p": world["theory"]["p"], **{f: world["theory"][f] for f in fields}},
        "theory_method": "dcpredict.predict_world_curve (asymptotic DC, every integer p from s to P)",
    })
    sim = world["simulation"]
    if sim is not None:
        data["simulation"] = {"p": sim["p"], "simulator": sim.get("simulator", ""),
                              **{f: sim[f] for f in (*fields, "small_oracle")}}
        data["trials"], data["seed"] = P["trials"], P["seed"]
    data["findings"] = fd
    data["caption"] = _world_caption(fig, which, fd, P)
    return data


# ------------------------------------------------------------------------------------ random features
def _rf_target(P: dict[str, Any]) -> np.ndarray:
    """The target direction u (unit vector in R^d) of the label (u.z)^2."""
    u = np.random.default_rng(np.random.SeedSequence([P["seed"], 0])).standard_normal(P["d"])
    return u / np.linalg.norm(u)


def _rf_layer(P: dict[str, Any], k: int) -> np.ndarray:
    """First layer k (nested: width p uses its first p rows), from its own seed [seed, 1, k]."""
    from . import random_features as rf
    pmax = max(P["ps_theory"] + P["ps_sim"])
    return rf.draw_first_layer(pmax, P["d"], np.random.default_rng(np.random.SeedSequence([P["seed"], 1, k])))


_RF_THEORY_FIELDS = ("dense", "magnitude", "oracle_pruned", "small_oracle", "magnitude_retrained")
_RF_SIM_FIELDS = ("dense", "magnitude", "oracle_pruned", "small_oracle", "magnitude_retrained",
                  "magnitude_retrained_same")


def _rf_task(P: dict[str, Any], k: int) -> dict[tuple, dict[str, float]]:
    """Theory and simulation of first layer k at every width and budget (runs in worker processes).

    Rebuilds (u, W_k) from the seed, so the numbers do not depend on the number of workers.  Returns
    {(kind, p, s): {field: value}}."""
    from . import random_features as rf
    from .correlated import predict_correlated
    u, layer = _rf_target(P), _rf_layer(P, k)
    out: dict[tuple, dict[str, float]] = {}
    for p in sorted(set(P["ps_theory"]) | set(P["ps_sim"])):
        W = layer[:p]
        lgp = rf.equivalent_lgp(W, u)
        for s in P["budgets"]:
            if s > p:
                continue
            seed = int(np.random.SeedSequence([P["seed"], 2, k, p, s]).generate_state(1)[0])
            if p in P["ps_theory"]:
                pr = predict_correlated(lgp.Sigma, lgp.beta, sigma2=lgp.sigma2, n=P["n"], alpha=s / p,
                                        draws=P["draws"], retrain_draws=P["retrain_draws"], seed=seed,
                                        eig=lgp.eig)  # one eigendecomposition per first layer
                out[("theory", p, s)] = {f: float(getattr(pr, f)) for f in _RF_THEORY_FIELDS}
                out[("theory_se", p, s)] = {f: float(pr.stderr.get(f, 0.0)) for f in _RF_THEORY_FIELDS}
            if p in P["ps_sim"]:
                r = rf.simulate_rf(W, u, n=P["n"], alpha=s / p, trials=P["trials_per_layer"], seed=seed, lgp=lgp,
                                   progress=False)
                out[("sim", p, s)] = {f: float(getattr(r, f)) for f in _RF_SIM_FIELDS}
                out[("sim_se", p, s)] = {f: float(r.stderr[f]) for f in _RF_SIM_FIELDS}
    return out


def _over_layers(vals: list[float], ses: list[float]) -> tuple[float, float, float]:
    """Mean over layers, its standard error given the layers (from the per-layer standard errors of the
    DC draws or trials: sqrt(sum se_k^2) / K), and the standard error of the spread over layers."""
    a, e = np.asarray(vals, dtype=float), np.asarray(ses, dtype=float)
    if not np.all(np.isfinite(a)):
        return math.inf, math.inf, math.inf
    K = a.size
    return float(a.mean()), float(math.sqrt(float(np.sum(e ** 2))) / K), \
        float(a.std(ddof=1) / math.sqrt(K)) if K > 1 else 0.0


def compute_rf(*, quick: bool = False, workers: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Theory (equivalent-LGP DC averaged over first layers) and simulation of the random-features sweep.

    For every budget s, width p and first layer k: :func:`dcpredict.predict_correlated` on the equivalent
    LGP of W_k[:p] (``draws`` DC draws, ``retrain_draws`` of them for the refit) and
    :func:`dcpredict.random_features.simulate_rf` (``trials_per_layer`` trials).  Lines and markers are
    means over the same K layers.  ``stderr`` of a line is its Monte Carlo error given the layers (DC
    draws: sqrt(sum_k se_k^2) / K), of a marker its trial noise given the layers (same formula); the
    layers themselves are a sample of first layers, whose spread (``stderr_layers``, std over layers /
    sqrt(K)) moves lines and markers together.
    """
    from ._parallel import run_parallel
    P = rf_params(quick)
    tasks = [(P, k) for k in range(P["layers"])]
    from ._progress import bar as _bar
    bar = _bar(len(tasks), "random features: first layers", unit="layer", enabled=progress)
    results: dict[tuple, dict] = {}
    try:
        for task, res in run_parallel(_rf_task, tasks, _workers(workers)):
            for (kind, p, s), vals in res.items():
                results[(kind, task[1], p, s)] = vals
            bar.update(1)
    finally:
        bar.close()
    theory: dict[str, Any] = {}
    sim: dict[str, Any] = {}
    for s in P["budgets"]:
        key = str(s)
        pt = [p for p in P["ps_theory"] if p >= s]
        th: dict[str, Any] = {"p": pt, "stderr": {}, "stderr_layers": {}}
        for f in _RF_THEORY_FIELDS:
            ms = [_over_layers([results[("theory", k, p, s)][f] for k in range(P["layers"])],
                               [results[("theory_se", k, p, s)][f] for k in range(P["layers"])]) for p in pt]
            th[f] = finite_or_none([m for m, _, _ in ms])
            th["stderr"][f] = finite_or_none([e for _, e, _ in ms])
            th["stderr_layers"][f] = finite_or_none([e for _, _, e in ms])
        theory[key] = th
        psim = [p for p in P["ps_sim"] if p >= s]
        sm: dict[str, Any] = {"p": psim}
        for f in _RF_SIM_FIELDS:
            ms = [_over_layers([results[("sim", k, p, s)][f] for k in range(P["layers"])],
                               [results[("sim_se", k, p, s)][f] for k in range(P["layers"])]) for p in psim]
            sm[f] = {"mean": finite_or_none([m for m, _, _ in ms]), "stderr": finite_or_none([e for _, e, _ in ms]),
                     "stderr_layers": finite_or_none([e for _, _, e in ms])}
        sim[key] = sm
    return {"params": P, "theory": theory, "simulation": sim}


def _rel_mc_error(theory: dict[str, Any], fields: tuple[str, ...], which: str = "stderr") -> dict[str, float]:
    """Largest relative error (``which``: "stderr" = DC draws, "stderr_layers" = spread over layers) of
    each theory line over its finite points."""
    out = {}
    for f in fields:
        rel = [e / m for m, e in zip(theory[f], theory[which][f]) if m is not None and e is not None and m > 0]
        out[f] = float(max(rel)) if rel else 0.0
    return out


def _rf_gap(theory: dict[str, Any], sim: dict[str, Any], pairs: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Gaussian-equivalence gap: (simulation - theory) / theory at the simulated widths (theory interpolated
    in p between its grid points; only widths where both are finite)."""
    out = {}
    pt = np.array(theory["p"], dtype=float)
    for sf, tf in pairs:
        tv = np.array([np.nan if v is None else v for v in theory[tf]])
        rel, z, used = [], [], []
        for p, m, e in zip(sim["p"], sim[sf]["mean"], sim[sf]["stderr"]):
            ok = np.isfinite(tv)
            if m is None or not ok.any() or not (pt[ok][0] <= p <= pt[ok][-1]):
                continue
            if p in theory["p"]:
                t = tv[theory["p"].index(p)]
            else:
                t = float(np.interp(p, pt[ok], tv[ok]))
            if not math.isfinite(t):
                continue
            rel.append((m - t) / t)
            z.append((m - t) / e if e else None)
            used.append(p)
        out[sf] = {"vs": tf, "p": used, "rel_gap": rel, "z": z,
                   "median_rel_gap": float(np.median(rel)) if rel else None,
                   "max_abs_rel_gap": float(np.max(np.abs(rel))) if rel else None}
    return out


def _rf_findings(name: str, th: dict[str, Any], train_small: float | None) -> dict[str, Any]:
    """The figure's claims as numbers read off its theory lines."""
    ps = np.array(th["p"])
    arr = {f: np.array([math.inf if v is None else v for v in th[f]])
           for f in ("dense", "magnitude", "oracle_pruned", "small_oracle", "magnitude_retrained")}
    out: dict[str, Any] = {"p_max": int(ps[-1]), "train_small": train_small,
                           "at_p_max": {f: float(v[-1]) for f, v in arr.items()}}
    # margins of 1 %, twice the largest Monte Carlo error of a line (so a tie, e.g. at p = s, is not a win)
    if train_small is not None:
        out["magnitude_beats_train_small_p_ranges"] = _runs(arr["magnitude"] < train_small * 0.99, ps)
    out["retraining_helps_p_ranges"] = _runs(arr["magnitude_retrained"] < arr["magnitude"] * 0.99, ps)
    out["margin"] = "a rule beats another where its line is lower by more than 1 %"
    return out


def _rf_claim(name: str, findings: dict[str, Any]) -> str:
    parts = []
    for key, fd in findings.items():
        a = fd["at_p_max"]
        if name == "fig2":
            parts.append(f"s = {key}: magnitude pruning {a['magnitude']:.3f} vs {fd['train_small']:.3f} for a "
                         f"width-{key} network")
        else:
            runs = ", ".join(f"{lo}-{hi}" for lo, hi in fd["retraining_helps_p_ranges"]) or "no p"
            parts.append(f"s = {key}: refitting helps for p in {runs}; at p = {fd['p_max']} "
                         f"{a['magnitude']:.3f} -> {a['magnitude_retrained']:.3f}")
    if name == "fig2":
        return f"Grow, then prune: at p = {fd['p_max']} (theory) " + "; ".join(parts) + "."
    return "Fresh-sample refit after magnitude pruning (theory): " + "; ".join(parts) + "."


def _rf_figure(name: str, rfd: dict[str, Any], quick: bool, workers: int | None) -> dict[str, Any]:
    P = rfd["params"]
    data = _header(name, quick, workers)
    if name == "fig2":
        fields = ("dense", "magnitude", "oracle_pruned", "small_oracle")
        sim_fields = ("dense", "magnitude", "oracle_pruned")
        pairs = (("dense", "dense"), ("magnitude", "magnitude"), ("oracle_pruned", "oracle_pruned"))
        title = "Fig. 2: random features, grow the width p, prune to s weights by magnitude"
    else:
        fields = ("magnitude", "magnitude_retrained")
        sim_fields = ("magnitude", "magnitude_retrained", "magnitude_retrained_same")
        pairs = (("magnitude", "magnitude"), ("magnitude_retrained", "magnitude_retrained"),
                 ("magnitude_retrained_same", "magnitude_retrained"))
        title = "Fig. 4: random features, magnitude pruning to s weights, then refitting"
    panels = {}
    gaps, mcerr, layer_err, findings = {}, {}, {}, {}
    for key, th in rfd["theory"].items():
        sm = rfd["simulation"][key]
        s = int(key)
        train_small = th["dense"][th["p"].index(s)] if s in th["p"] else None
        panels[key] = {"s": s, "theory": {"p": th["p"], **{f: th[f] for f in fields},
                                          "stderr": {f: th["stderr"][f] for f in fields},
                                          "stderr_layers": {f: th["stderr_layers"][f] for f in fields}},
                       "simulation": {"p": sm["p"], **{f: sm[f] for f in sim_fields}},
                       "horizontal": {"field": "dense at p = s (train small: a width-s network)",
                                      "value": train_small}}
        findings[key] = _rf_findings(name, th, train_small)
        gaps[key] = _rf_gap(th, sm, pairs)
        mcerr[key] = _rel_mc_error(th, fields)
        layer_err[key] = _rel_mc_error(th, fields, "stderr_layers")
    max_mc = max(v for d in mcerr.values() for v in d.values())
    max_layer = max(v for d in layer_err.values() for v in d.values())
    gap_txt = "; ".join(
        f"s = {key}: " + ", ".join(f"{f} {100 * g['median_rel_gap']:+.0f}% (largest {100 * g['max_abs_rel_gap']:.0f}%)"
                                   for f, g in gp.items() if g["median_rel_gap"] is not None)
        for key, gp in gaps.items())
    data.update({
        "kind": "rf", "title": title, "n": P["n"], "d": P["d"], "budgets": P["budgets"], "params": P,
        "label": "y = (u.z)^2, z ~ N(0, I_d), u a fixed unit vector",
        "features": "ReLU(W z), W rows uniform on the unit sphere; K first layers W_k, each nested "
                    "(width p uses its first p rows)",
        "theory_method": f"mean over the K = {P['layers']} first layers of dcpredict.predict_correlated on the "
                         f"equivalent LGP (random_features.equivalent_lgp), {P['draws']} DC draws each "
                         f"({P['retrain_draws']} for the refit); Hessian = magnitude in theory (Sigma_ii = 1/2)",
        "simulator": f"dcpredict.random_features.simulate_rf, {P['trials_per_layer']} trials on each of the same "
                     f"K = {P['layers']} first layers ({P['trials_per_layer'] * P['layers']} per width)",
        "fields": list(fields), "sim_fields": list(sim_fields), "panels": panels,
        "theory_mc_error": {"max_relative": max_mc, "per_panel": mcerr,
                            "note": "Monte Carlo error of each line given its K first layers (DC draws: "
                                    "sqrt(sum_k se_k^2) / K) relative to the line, largest over the finite points"},
        "layer_sampling_error": {"max_relative": max_layer, "per_panel": layer_err,
                                 "note": "std over the K first layers / sqrt(K) relative to the line: how far the "
                                         "mean over these K layers may sit from the mean over all layers; it "
                                         "moves theory lines and simulation markers together (same layers)"},
        "gap": {"note": "Gaussian-equivalence gap: (simulation - equivalent-LGP theory) / theory at the "
                        "simulated widths; median over widths", "per_panel": gaps},
        "trials": P["trials_per_layer"] * P["layers"], "seed": P["seed"], "findings": findings,
    })
    data["caption"] = (
        f"{_rf_claim(name, findings)} n = {P['n']}, d = {P['d']}, ridge 0. Lines: equivalent-LGP theory averaged over {P['layers']} first "
        f"layers W ({P['draws']} DC draws each): Monte Carlo error of a line at most {100 * max_mc:.2g}% of its "
        f"value, below the line width. Markers: ReLU simulation on the same layers, {P['trials_per_layer']} trials "
        f"each ({P['trials_per_layer'] * P['layers']} per width), mean +- 1 se given the layers (the sample of "
        f"layers moves lines and markers together by up to {100 * max_layer:.2g}%). Gaussian-equivalence gap "
        f"(simulation vs theory; median over the simulated widths, largest in brackets): {gap_txt}."
        + (" The same-sample refit has no exact DC; it is compared with the fresh-sample line." if name == "fig4"
           else ""))
    return data


# ------------------------------------------------------------------------------------------ entry points
def compute_figure(name: str, *, quick: bool = False, workers: int | None = None, progress: bool = True,
                   cache: dict | None = None) -> dict[str, Any]:
    """The sidecar content of one figure (every parameter and plotted number), without drawing.

    Parameters
    ----------
    name : str
        One of :data:`FIGURES`.
    quick : bool
        Coarse grids and few trials (seconds).
    workers : int, optional
        Simulation processes (default: all cores); the numbers do not depend on it.
    progress : bool
        Progress on stderr (default True): a ``[k/K]`` line per figure and bars with estimates.
    cache : dict, optional
        Lets several figures share one computation: fig3a/fig7a share world (a), fig3b/fig7b world (b),
        fig2/fig4 the random-features sweep.

    Returns
    -------
    dict
        JSON-ready (None for an infinite risk); :func:`dcpredict.plotting.draw` renders it.
    """
    name = check_choice("name", name, FIGURES)
    if workers is not None:
        workers = check_int("workers", workers, lo=1)
    cache = {} if cache is None else cache
    if name in ("fig2", "fig4"):
        if "rf" not in cache:
            cache["rf"] = compute_rf(quick=quick, workers=workers, progress=progress)
        return _rf_figure(name, cache["rf"], quick, workers)
    which = name[4]
    if which not in cache:
        cache[which] = compute_world(which, quick=quick, workers=workers, progress=progress)
    return _world_figure(name, cache[which], quick, workers)


def make_figure(name: str, *, quick: bool = False, out_dir: str | Path = "figures", workers: int | None = None,
                progress: bool = True) -> list[FigureResult]:
    """Compute, draw and write one figure (a name of :data:`FIGURES`) or ``"all"``.

    Parameters
    ----------
    name : str
        A name of :data:`FIGURES` or ``"all"``.
    quick, workers, progress
        As in :func:`compute_figure`.
    out_dir : path
        Output directory (created if missing).

    Returns
    -------
    list of FigureResult
        Each figure wrote ``out_dir/NAME.png`` (drawn by :func:`dcpredict.plotting.draw`, which needs
        matplotlib) and the sidecar ``out_dir/NAME.json`` (``NAME_quick.*`` with ``quick=True``).
    """
    name = check_choice("name", name, (*FIGURES, "all"))
    quick = bool(quick)
    if workers is not None:
        workers = check_int("workers", workers, lo=1)
    from ._store import check_outputs
    from .plotting import draw
    out = Path(out_dir)
    names = FIGURES if name == "all" else (name,)
    suffix = "_quick" if quick else ""
    check_outputs([out / f"{nm}{suffix}.{ext}" for nm in names for ext in ("json", "png")], "figure file")
    out.mkdir(parents=True, exist_ok=True)
    cache: dict = {}
    results = []
    from ._progress import note, stage
    t_all = time.time()
    for k, nm in enumerate(names, 1):
        t0 = time.time()
        shared = (nm in ("fig2", "fig4") and "rf" in cache) or (nm[:4] in ("fig3", "fig7") and nm[4] in cache)
        stage(k, len(names), f"{nm}{' (quick)' if quick else ''}: "
              + ("drawing from the computation shared with an earlier figure" if shared else "computing"),
              enabled=progress)
        data = compute_figure(nm, quick=quick, workers=workers, progress=progress, cache=cache)
        data["elapsed_seconds"] = round(time.time() - t0, 1)
        stem = nm + ("_quick" if quick else "")
        png, side = out / f"{stem}.png", out / f"{stem}.json"
        side.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
        draw(data, png)
        results.append(FigureResult(nm, png, side, data, data["elapsed_seconds"]))
        note(f"[{k}/{len(names)}] {nm} done in {time.time() - t0:.0f} s ({time.time() - t_all:.0f} s so far)",
             enabled=progress)
    return results
