"""The paper's grow-then-prune figure on a real dataset: ``dcpredict figure data-digits`` (and ``data-mnist1d``).

Risk against the model size p at a fixed budget of s kept weights, for the dense fit, magnitude, Hessian and
oracle pruning, magnitude and Hessian pruning followed by a refit on fresh rows, and the small model (least squares
on the s best columns of all P, the horizontal line).  Lines: the Gaussian-equivalent theory
(:meth:`dcpredict.data.DataWorld.predict`, the vector DC of each model's equivalent linear Gaussian problem);
markers: the actual experiment on the dataset's own rows (:meth:`dcpredict.data.DataWorld.experiment`), mean
+- 1 standard error over trials, scored on all N rows (the population risk, which is what the theory predicts).
The held-out scores (what a user measures on rows used for neither fit) are in the sidecar next to them.

The setup (:data:`FIGURE_PARAMS`): the dataset of :func:`dcpredict.data.datasets.load_dataset` (parity label),
800 ReLU random features of its standardized inputs (:func:`dcpredict.data.features.random_features`, feature
seed 0), the model of the first p features (``order="given"``: random features are exchangeable), n = 200
training rows, s = 40, min-norm / least squares (ridge 0).

:func:`compute_data_figure` returns the sidecar (every parameter and plotted number, the measured gaps and a
caption that states them); :func:`draw_data_figure` renders a PNG from it (or from the sidecar file) without
recomputing; :func:`make_data_figure` does both and writes ``DIR/NAME.png`` and ``DIR/NAME.json``.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import RISK_FIELDS
from .._validate import DCPredictError, check_choice, check_int

__all__ = ["DATA_FIGURES", "FIGURE_PARAMS", "compute_data_figure", "draw_data_figure", "make_data_figure"]

#: the figure names of ``dcpredict figure``
DATA_FIGURES = ("data-digits", "data-mnist1d")

_PS = [40, 50, 60, 80, 100, 120, 140, 150, 160, 180, 190, 210, 220, 250, 300, 350, 400, 500, 600, 700, 800]
#: every parameter of each figure (``quick``: the small version the tests draw)
FIGURE_PARAMS: dict[str, dict[str, Any]] = {
    "data-digits": {"dataset": "digits", "task": "parity", "width": 800, "activation": "relu", "feature_seed": 0,
                    "n": 200, "s": 40, "order": "given", "ridge": 0.0, "ps": _PS, "trials": 60, "seed": 0,
                    "draws": 400},
    "data-mnist1d": {"dataset": "mnist1d", "task": "parity", "width": 800, "activation": "relu", "feature_seed": 0,
                     "n": 200, "s": 40, "order": "given", "ridge": 0.0, "ps": _PS, "trials": 60, "seed": 0,
                     "draws": 400},
}
_QUICK = {"width": 120, "n": 40, "s": 8, "ps": [8, 16, 30, 50, 80, 120], "trials": 6, "draws": 40}

#: the plotted theory lines and actual markers; the horizontal line is small_oracle
LINE_FIELDS = ("dense", "magnitude", "hessian", "oracle_pruned", "magnitude_retrained", "hessian_retrained")
#: the fields whose gap the caption states (p values of the issue's report where present)
_GAP_POINTS = (150, 250, 800)


def figure_params(name: str, quick: bool = False) -> dict[str, Any]:
    """The parameters of a data figure (``quick``: fewer features, rows and trials)."""
    name = check_choice("name", name, DATA_FIGURES)
    P = dict(FIGURE_PARAMS[name])
    if quick:
        P.update(_QUICK)
    return P


def _world(P: dict[str, Any]):
    from ._world import DataWorld
    from .datasets import load_dataset
    from .features import random_features
    X, y, desc = load_dataset(P["dataset"], P["task"])
    F = random_features(X, P["width"], activation=P["activation"], seed=P["feature_seed"])
    world = DataWorld.from_arrays(F, y, name=f"{P['dataset']} {P['task']}, {P['width']} {P['activation']} features")
    return world, desc, X.shape


def _nn(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _gaps(ps: list[int], theory: dict, tse: dict, pop: dict, held: dict, fields: tuple[str, ...]) -> dict[str, Any]:
    """Per field: relative gap (population actual - theory) / theory and z at every p where both are finite,
    their median and largest, and the held-out / population ratio."""
    out: dict[str, Any] = {}
    for f in fields:
        rel, z, used, ratio = [], [], [], []
        for i, p in enumerate(ps):
            t, m, e = theory[f][i], pop[f]["mean"][i], pop[f]["stderr"][i]
            if t is None or m is None or t <= 0:
                continue
            se = math.hypot(tse[f][i] or 0.0, e or 0.0)
            rel.append((m - t) / t)
            z.append((m - t) / se if se > 0 else None)
            used.append(p)
            if held[f]["mean"][i] is not None and m > 0:
                ratio.append(held[f]["mean"][i] / m)
        out[f] = {"p": used, "relative_gap": rel, "z": z,
                  "median_relative_gap": float(np.median(rel)) if rel else None,
                  "largest_relative_gap": float(rel[int(np.argmax(np.abs(rel)))]) if rel else None,
                  "p_of_largest": used[int(np.argmax(np.abs(rel)))] if rel else None,
                  "median_held_out_over_population": float(np.median(ratio)) if ratio else None}
    return out


def compute_data_figure(name: str, *, quick: bool = False, workers: int | None = None,
                        progress: bool = False) -> dict[str, Any]:
    """The sidecar content of a data figure: parameters, theory lines, actual markers, gaps and the caption.

    Parameters
    ----------
    name : {"data-digits", "data-mnist1d"}
        The dataset (:data:`FIGURE_PARAMS`).
    quick : bool
        120 features, n = 40, s = 8, 6 trials (seconds; for tests).
    workers : int, optional
        Processes of the actual experiment (default: all cores); the numbers do not depend on it.
    progress : bool
        Progress bars on stderr.

    Returns
    -------
    dict
        JSON-ready (None for an infinite risk: the interpolation threshold p = n).
    """
    from .. import __version__
    P = figure_params(name, quick)
    if workers is not None:
        workers = check_int("workers", workers, lo=1)
    t0 = time.time()
    world, desc, shape = _world(P)
    ps = [p for p in P["ps"] if P["s"] <= p <= P["width"]]
    pred = world.predict(P["n"], P["s"], ps, order=P["order"], ridge=P["ridge"], draws=P["draws"], seed=P["seed"],
                         progress=progress)
    ex = world.experiment(P["n"], P["s"], ps, trials=P["trials"], seed=P["seed"], order=P["order"], ridge=P["ridge"],
                          workers=workers, progress=progress)
    from ._experiment import ACTUAL_FIELDS
    theory = {"p": ps, **{f: [_nn(v) for v in pred.theory[f]] for f in RISK_FIELDS}}
    theory_se = {f: [_nn(v) for v in pred.theory_stderr[f]] for f in RISK_FIELDS}
    pop = {f: {"mean": [_nn(v) for v in ex.actual_population[f]["mean"]],
               "stderr": [_nn(v) for v in ex.actual_population[f]["stderr"]]} for f in ACTUAL_FIELDS}
    held = {f: {"mean": [_nn(v) for v in ex.actual[f]["mean"]],
                "stderr": [_nn(v) for v in ex.actual[f]["stderr"]]} for f in ACTUAL_FIELDS}
    gaps = _gaps(ps, theory, theory_se, pop, held, (*LINE_FIELDS, "small_oracle"))
    mc = max((e / t for f in LINE_FIELDS for t, e in zip(theory[f], theory_se[f]) if t and e), default=0.0)
    data: dict[str, Any] = {
        "figure": name, "kind": "data", "command": f"dcpredict figure {name}" + (" --quick" if quick else ""),
        "quick": bool(quick), "dcpredict_version": __version__, "numpy": np.__version__,
        "generated_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "params": P, "dataset": desc, "inputs_shape": list(shape),
        "features": (f"{P['width']} {_ACT.get(P['activation'], P['activation'])} random features act(W x), W = draw_first_layer({P['width']}, "
                     f"{shape[1]}, seed {P['feature_seed']}) (rows uniform on the unit sphere)"),
        "world": {"N": world.N, "P": world.P, "rank": world.rank, "sigma2": world.sigma2, "signal": world.signal,
                  "fingerprint": world.fingerprint},
        "n": P["n"], "s": P["s"], "fields": list(LINE_FIELDS),
        "horizontal": {"field": "small_oracle", "value": _nn(pred.theory["small_oracle"][0])},
        "zero_model": world.m2,
        "theory": theory, "theory_stderr": theory_se,
        "theory_method": (f"DataWorld.predict: dcpredict.predict_correlated on each model's equivalent linear "
                          f"Gaussian problem (Sigma_pp, beta_p, sigma_p^2), {P['draws']} DC draws "
                          f"({pred.retrain_draws} for the refits), seed {P['seed']}"),
        "model_sigma2": [float(v) for v in pred.model_sigma2],
        "actual_population": pop, "actual_held_out": held,
        "actual_method": (f"DataWorld.experiment: {P['trials']} trials (seed {P['seed']}), each n = {P['n']} training "
                          f"rows and n fresh rows drawn without replacement, the {world.N - 2 * P['n']} other rows "
                          f"held out; scored on all N rows (population, plotted) and on the held-out rows"),
        "finite_population_factor": world.N / (world.N - P["n"]),
        "gap": gaps, "theory_mc_error_max_relative": mc, "trials": P["trials"], "seed": P["seed"],
    }
    data["caption"] = _caption_text(data)
    data["elapsed_seconds"] = round(time.time() - t0, 1)
    return data


_ACT = {"relu": "ReLU", "tanh": "tanh", "erf": "erf", "linear": "linear", "abs": "|.|"}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:+.0f}%"


def _caption_text(d: dict[str, Any]) -> str:
    P, g = d["params"], d["gap"]
    ps = d["theory"]["p"]
    pts = [p for p in _GAP_POINTS if p in ps] or [ps[0], ps[-1]]

    def at(f: str, p: int) -> str:
        i = ps.index(p)
        t, m, e = d["theory"][f][i], d["actual_population"][f]["mean"][i], d["actual_population"][f]["stderr"][i]
        if t is None or m is None:
            return f"p = {p}: theory inf"
        return f"p = {p}: {t:.3f} vs {m:.3f} +- {e:.3f} ({100 * (m - t) / t:+.0f}%)"

    med = ", ".join(f"{f} {_pct(g[f]['median_relative_gap'])}" for f in (*LINE_FIELDS, "small_oracle"))
    ratio = [g[f]["median_held_out_over_population"] for f in ("dense", "small_oracle")]
    w = d["world"]
    return (f"{d['dataset']}. {d['features']}; N = {w['N']} rows are the population (sigma^2 = {w['sigma2']:.3g} "
            f"unexplained by all {w['P']} features, signal {w['signal']:.3g}); model = first p features, n = {d['n']}, "
            f"s = {d['s']}, ridge {P['ridge']:g}. Measured Gaussian-equivalence gap, (actual on all N rows - theory) / "
            f"theory: dense " + "; ".join(at("dense", p) for p in pts) + "; magnitude "
            + "; ".join(at("magnitude", p) for p in pts) + f". Median gap over the {len(ps)} model sizes: {med}. "
            f"Held-out / all-rows error (finite population; N/(N-n) = {d['finite_population_factor']:.3f}): dense "
            f"{ratio[0]:.3f}, small model {ratio[1]:.3f} (median over p). Lines: theory (Monte Carlo error at most "
            f"{100 * d['theory_mc_error_max_relative']:.2g}% of a line; none at p = n, where it is infinite); markers: "
            f"actual, mean +- 1 se of {d['trials']} trials (seed {d['seed']}), scored on all N rows.")


# ------------------------------------------------------------------------------------------ drawing
def draw_data_figure(data: dict[str, Any] | str | Path, out_png: str | Path) -> Path:
    """Render a data figure from its sidecar (dict or JSON path) into a PNG, without recomputing."""
    from .. import plotting as pl
    from .._store import check_outputs
    check_outputs([out_png], "figure file")
    if not isinstance(data, dict):
        data = pl.load_sidecar(data)
    if data.get("kind") != "data":
        raise DCPredictError(f"data must be a data-figure sidecar (kind 'data'); got kind={data.get('kind')!r}")
    Figure = pl._figure_class()
    n, s = data["n"], data["s"]
    th = data["theory"]
    ps = np.array(th["p"], dtype=float)
    x = ps / n
    fields = data["fields"]
    hline = data["horizontal"]["value"]
    pop = data["actual_population"]
    vals = [v for f in fields for v in th[f] if v is not None]
    vals += [m for f in fields for m in pop[f]["mean"] if m is not None]
    ymin = 0.8 * min(min(vals), hline)
    ends = [v for f in fields for v in (th[f][0], th[f][-1], pop[f]["mean"][-1]) if v is not None]
    ymax = 2.2 * max(max(ends), hline, max(v for v in pop["magnitude"]["mean"] if v is not None))
    nleg = len(fields) + 2
    cap = pl._wrap(data["caption"] + f"  Rerun: {data['command']}.", 136)
    capH = 0.2 + 0.135 * len(cap)
    H = 5.8 + 0.19 * nleg + capH
    fig = Figure(figsize=(8.0, H))
    bottom = (0.65 + 0.19 * nleg + capH) / H
    ax = fig.add_axes((0.085, bottom, 0.89, 1.0 - bottom - 0.5 / H))
    th_h, act_h = [], []
    for f in fields:
        style = ":" if f.endswith("_retrained") else ("-." if f == "oracle_pruned" else "-")
        th_h += ax.plot(x, pl._arr(th[f]), style, color=pl.COLORS[f], lw=1.7, label=pl.LABELS[f] + ", theory")
    th_h.append(ax.axhline(hline, color=pl.COLORS["small_oracle"], lw=1.4, ls="--",
                           label=f"train small on the s best of all P features, theory: {hline:.3f}"))
    zero = data.get("zero_model")
    if zero is not None and ymin < zero < ymax:
        th_h.append(ax.axhline(zero, color="0.6", lw=1.0, ls=(0, (1, 3)),
                               label=f"predict the mean label (risk = mean(y^2) of the centred label): {zero:.3f}"))
    so = pop["small_oracle"]
    i_so = [i for i, m in enumerate(so["mean"]) if m is not None]
    for j, f in enumerate(fields):
        m, se = pl._arr(pop[f]["mean"]), pl._arr(pop[f]["stderr"])
        ok = np.isfinite(m)
        off = x * (1.0 + 0.012 * (j - (len(fields) - 1) / 2))
        act_h.append(ax.errorbar(off[ok], m[ok], yerr=se[ok], fmt=pl.MARKERS[f], color=pl.COLORS[f], ms=3.6,
                                 capsize=2.2, lw=1.0, mfc="white" if f.endswith("_retrained") else pl.COLORS[f],
                                 label=pl.LABELS[f] + ", actual (mean +- se)"))
    if i_so:
        i = i_so[-1]
        act_h.append(ax.errorbar([x[i] * 1.04], [so["mean"][i]], yerr=[so["stderr"][i]], fmt="^",
                                 color=pl.COLORS["small_oracle"], ms=4.5, capsize=2.2, lw=1.0,
                                 label=f"train small, actual: {so['mean'][i]:.3f} +- {so['stderr'][i]:.3f}"))
    pl._risk_axes(ax, s, n, x[0] * 0.97, x[-1] * 1.06, ymin, ymax)
    P = data["params"]
    ax.set_xlabel(f"p / n  (features the model fits / training rows; n = {n}, P = {data['world']['P']}, "
                  f"budget s = {s})")
    ax.set_ylabel("test risk on the dataset's N rows (incl. sigma^2)")
    ax.grid(alpha=0.25, lw=0.5)
    ax.set_title(f"{P['dataset']} ({P['task']} label), {P['width']} {_ACT.get(P['activation'], P['activation'])} random features: "
                 f"grow to p, prune to s = {s}", fontsize=9.5)
    pl._two_column_legend(fig, th_h, act_h, (0.02 + 0.19 * nleg + capH) / H + 0.005)
    pl._caption(fig, cap)
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=pl.DPI, metadata=pl._METADATA)
    return out


def make_data_figure(name: str, *, quick: bool = False, out_dir: str | Path = "figures", workers: int | None = None,
                     progress: bool = False) -> tuple[Path, Path, dict[str, Any]]:
    """Compute, write the sidecar ``DIR/NAME.json`` and draw ``DIR/NAME.png`` (``NAME_quick.*`` with ``quick``).

    Files dcpredict did not write are never replaced (checked before any work).  Returns (png, sidecar, data).
    """
    name = check_choice("name", name, DATA_FIGURES)
    from .._store import check_outputs
    out = Path(out_dir)
    stem = name + ("_quick" if quick else "")
    png, side = out / f"{stem}.png", out / f"{stem}.json"
    check_outputs([png, side], "figure file")
    data = compute_data_figure(name, quick=quick, workers=workers, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    side.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    draw_data_figure(data, png)
    return png, side, data
