"""Drawing the figures: every matplotlib call of dcpredict's paper figures lives here.

:func:`draw` takes the data a computing function returns (:func:`dcpredict.figures.compute_figure`) or
the sidecar JSON file written next to each PNG, and renders the PNG; nothing is recomputed, so a figure
can be restyled from its sidecar alone::

    from dcpredict.plotting import draw
    draw("figures/fig3b.json", "fig3b_restyled.png")

It uses :class:`matplotlib.figure.Figure` directly (no pyplot, no backend switching), so importing or
calling it never changes the backend of a notebook.  matplotlib is needed only here (the ``plot`` extra).
"""
from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from ._validate import DCPredictError

__all__ = ["draw", "load_sidecar", "COLORS", "LABELS", "draw_phase_map", "draw_validation"]

DPI = 110
COLORS = {"dense": "black", "magnitude": "tab:blue", "hessian": "tab:red", "oracle_pruned": "tab:purple",
          "small_oracle": "tab:green", "random": "tab:gray", "magnitude_retrained": "tab:cyan",
          "hessian_retrained": "tab:orange", "magnitude_retrained_same": "tab:brown"}
LABELS = {"dense": "dense (no pruning)", "magnitude": "magnitude pruning", "hessian": "Hessian pruning",
          "oracle_pruned": "oracle pruning (true saliency, no refit)",
          "small_oracle": "train small on the s best features",
          "magnitude_retrained": "magnitude + refit (fresh samples)",
          "hessian_retrained": "Hessian + refit (fresh samples)",
          "magnitude_retrained_same": "magnitude + refit (same samples)"}
RF_LABELS = {"small_oracle": "train small on the s best of the p features (oracle)"}
MARKERS = {"dense": "o", "magnitude": "o", "hessian": "s", "oracle_pruned": "D", "small_oracle": "^",
           "magnitude_retrained": "v", "hessian_retrained": "^", "magnitude_retrained_same": "x"}


#: PNG metadata of every figure: how dcpredict recognises its own files before replacing one
_METADATA = {"Software": "dcpredict"}


def load_sidecar(path: str | Path) -> dict[str, Any]:
    """Read a figure's sidecar JSON."""
    return json.loads(Path(path).read_text())


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DCPredictError("drawing figures needs matplotlib: pip install 'dcpredict[plot]' "
                             "(or pip install matplotlib)") from exc
    return Figure


def draw(data: dict[str, Any] | str | Path, out_png: str | Path) -> Path:
    """Render a figure from its data (dict or sidecar JSON path) into a PNG, without recomputing.

    Parameters
    ----------
    data : dict or path
        What :func:`dcpredict.figures.compute_figure` returns, or the sidecar JSON written next to each
        PNG; ``data["kind"]`` is "world" (Figs. 3 and 7) or "rf" (Figs. 2 and 4).
    out_png : path
        Where to write the PNG (parent directories are created).

    Returns
    -------
    pathlib.Path
        ``out_png``.

    Raises
    ------
    DCPredictError
        If ``data`` is not a figure sidecar, or matplotlib is not installed.
    """
    from ._store import check_outputs
    check_outputs([out_png], "figure file")
    if not isinstance(data, dict):
        data = load_sidecar(data)
    kind = data.get("kind")
    if kind == "world":
        fig = _draw_world(data)
    elif kind == "rf":
        fig = _draw_rf(data)
    elif kind == "compress":
        fig = _draw_compress(data)
    else:
        raise DCPredictError(f"data must be a figure sidecar with kind 'world', 'rf' or 'compress'; got kind={kind!r}")
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI, metadata=_METADATA)
    return out


def _arr(xs: Any) -> np.ndarray:
    return np.array([np.nan if x is None else x for x in xs], dtype=float)


def _log_ticks(ax, axis: str, lo: float, hi: float) -> None:
    """Plain-number ticks (1, 2, 5 x 10^k) on a log axis, no '2x10^1' labels."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator, FuncFormatter
    ticks = []
    for k in range(int(math.floor(math.log10(lo))) - 1, int(math.ceil(math.log10(hi))) + 1):
        for m in (1, 2, 5):
            t = m * 10.0 ** k
            if lo * 0.999 <= t <= hi * 1.001:
                ticks.append(t)
    if len(ticks) < 4:   # narrow range: add 1.5, 3, 4, 7
        for k in range(int(math.floor(math.log10(lo))) - 1, int(math.ceil(math.log10(hi))) + 1):
            for m in (1.5, 3, 4, 7):
                t = m * 10.0 ** k
                if lo * 0.999 <= t <= hi * 1.001:
                    ticks.append(t)
        ticks.sort()
    fmt = FuncFormatter(lambda v, _pos: f"{v:g}")
    a = ax.xaxis if axis == "x" else ax.yaxis
    a.set_major_locator(FixedLocator(ticks))
    a.set_major_formatter(fmt)
    a.set_minor_locator(NullLocator())
    a.set_minor_formatter(NullFormatter())


def _risk_axes(ax, s: int, n: int, lo: float, hi: float, ymin: float, ymax: float) -> None:
    """Log-log risk axes over p/n in [lo, hi] with plain tick labels and the lines p = s and p = n."""
    ax.axvline(s / n, color="0.45", lw=0.9, ls=":")
    ax.axvline(1.0, color="0.45", lw=0.9, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(ymin, ymax)
    _log_ticks(ax, "x", lo, hi)
    _log_ticks(ax, "y", ymin, ymax)
    ax.text(s / n * 1.02, ymin * 1.02, f"p = s = {s}", fontsize=8, color="0.3", va="bottom")
    ax.text(1.02, ymin * 1.02, f"p = n = {n}", fontsize=8, color="0.3", va="bottom")


def _two_column_legend(fig, left: list, right: list, top: float) -> None:
    """Figure legend below the axes: theory entries in the left column, simulation in the right."""
    rows = max(len(left), len(right))
    handles = left + [_blank()] * (rows - len(left)) + right + [_blank()] * (rows - len(right))
    fig.legend(handles, [h.get_label() if not h.get_label().startswith("_") else "" for h in handles],
               loc="upper center", bbox_to_anchor=(0.5, top), ncol=2, fontsize=7.2, frameon=False)


def _blank():
    from matplotlib.lines import Line2D
    return Line2D([], [], lw=0, label="_blank")


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width)


def _caption(fig, lines: list[str], fontsize: float = 7.5, y: float = 0.01) -> None:
    fig.text(0.012, y, "\n".join(lines), fontsize=fontsize, va="bottom", ha="left", color="0.15")


# ------------------------------------------------------------------------------------------ worlds
def _draw_world(d: dict[str, Any]):
    Figure = _figure_class()
    n, s, P = d["n"], d["s"], d["world"]["P"]
    th = d["theory"]
    x = np.array(th["p"], dtype=float) / n
    fields = d["fields"]
    hline = d["horizontal"]["value"]
    finite = np.concatenate([_arr(th[f])[np.isfinite(_arr(th[f]))] for f in fields])
    ymin = 0.85 * min(float(finite.min()), hline)
    ends = [v for f in fields for v in (_arr(th[f])[0], _arr(th[f])[-1]) if np.isfinite(v)]
    ymax = 2.6 * max(max(ends), hline)
    nleg = len(fields) + 2
    cap = _wrap(d["caption"] + f"  Rerun: {d['command']}.", 150)
    capH = 0.2 + 0.135 * len(cap)
    H = 5.8 + 0.19 * nleg + capH
    fig = Figure(figsize=(8.0, H))
    bottom = (0.65 + 0.19 * nleg + capH) / H
    ax = fig.add_axes((0.085, bottom, 0.89, 1.0 - bottom - 0.5 / H))
    th_handles, sim_handles = [], []
    for f in fields:
        style = ":" if f.endswith("_retrained") else ("-." if f == "oracle_pruned" else "-")
        # magnitude drawn wider underneath, so it stays visible where it coincides with Hessian (Sigma = I)
        wide = f in ("magnitude", "magnitude_retrained")
        th_handles += ax.plot(x, _arr(th[f]), style, color=COLORS[f], lw=3.4 if wide else 1.7,
                              label=LABELS[f] + ", theory", zorder=1.9 if wide else 2.0)
    th_handles.append(ax.axhline(hline, color=COLORS["small_oracle"], lw=1.4, ls="--",
                                 label=f"{LABELS['small_oracle']}, theory: {hline:.3f}"))
    zero = d.get("baselines", {}).get("zero_model")
    if zero is not None and ymin < zero < ymax:
        th_handles.append(ax.axhline(zero, color="0.6", lw=1.0, ls=(0, (1, 3)),
                                     label=f"predict zero (sigma^2 + all signal): {zero:.3f}"))
    sim = d.get("simulation")
    if sim:
        xs = np.array(sim["p"], dtype=float) / n
        for j, f in enumerate(fields):
            m, se = _arr(sim[f]["mean"]), _arr(sim[f]["stderr"])
            ok = np.isfinite(m)
            # tiny horizontal offsets so the markers of close curves do not hide each other
            off = xs * (1.0 + 0.012 * (j - (len(fields) - 1) / 2))
            sim_handles.append(ax.errorbar(off[ok], m[ok], yerr=se[ok], fmt=MARKERS[f], color=COLORS[f], ms=3.6,
                                           capsize=2.2, lw=1.0, mfc="white" if f.endswith("_retrained") else COLORS[f],
                                           label=LABELS[f] + ", simulation (mean +- se)"))
    _risk_axes(ax, s, n, s / n * 0.97, P / n * 1.03, ymin, ymax)
    ax.set_xlabel(f"p / n  (model size / samples; n = {n}, world P = {P}, budget s = {s})")
    ax.set_ylabel("test risk  (world's, incl. sigma^2)")
    ax.grid(alpha=0.25, lw=0.5)
    ax.set_title(d["title"], fontsize=9.5)
    _two_column_legend(fig, th_handles, sim_handles, (0.02 + 0.19 * nleg + capH) / H + 0.005)
    _caption(fig, cap)
    return fig


# ------------------------------------------------------------------------------------------ random features
def _draw_rf(d: dict[str, Any]):
    Figure = _figure_class()
    n = d["n"]
    panels = d["panels"]
    npan = len(panels)
    sf = d["sim_fields"]
    nleg = max(len(d["fields"]) + 1, len(sf))
    W = 5.4 * npan + 0.6
    cap = _wrap(d["caption"] + f"  Rerun: {d['command']}.", int(17.5 * W))
    capH = 0.2 + 0.135 * len(cap)
    H = 5.0 + 0.19 * nleg + capH
    bottom = (0.7 + 0.19 * nleg + capH) / H
    top = 0.75 / H
    width = (1.0 - 0.07 - 0.02 - 0.07 * (npan - 1)) / npan
    fig = Figure(figsize=(W, H))
    axes = [fig.add_axes((0.07 + i * (width + 0.07), bottom, width, 1.0 - bottom - top)) for i in range(npan)]
    th_handles: list = []
    sim_handles: list = []
    for i, (ax, (key, pan)) in enumerate(zip(axes, panels.items())):
        th, sm = pan["theory"], pan["simulation"]
        s = pan["s"]
        x = np.array(th["p"], dtype=float) / n
        finite = np.concatenate([_arr(th[f])[np.isfinite(_arr(th[f]))] for f in d["fields"]])
        hv = pan["horizontal"]["value"]
        ends = [v for f in d["fields"] for v in (_arr(th[f])[-1],) if np.isfinite(v)]
        if hv is not None:
            ends.append(hv)
        ymin = 0.85 * float(finite.min())
        ymax = 3.0 * max(ends)
        hs = []
        for f in d["fields"]:
            y = _arr(th[f])
            hs += ax.plot(x, y, ":" if f.endswith("_retrained") else ("-." if f == "oracle_pruned" else "-"),
                          color=COLORS[f], lw=1.7, label=RF_LABELS.get(f, LABELS[f]) + ", theory")
        if hv is not None:
            hs.append(ax.axhline(hv, color="0.35", lw=1.2, ls="--",
                                 label="train small: a width-s network, theory (dense at p = s)"))
        xs = np.array(sm["p"], dtype=float) / n
        ss = []
        for j, f in enumerate(sf):
            m, se = _arr(sm[f]["mean"]), _arr(sm[f]["stderr"])
            ok = np.isfinite(m)
            off = xs * (1.0 + 0.015 * (j - (len(sf) - 1) / 2))
            ss.append(ax.errorbar(off[ok], m[ok], yerr=se[ok], fmt=MARKERS[f], color=COLORS[f], ms=3.6, capsize=2.2,
                                  lw=1.0, mfc="white" if "retrained" in f else COLORS[f],
                                  label=RF_LABELS.get(f, LABELS[f]) + ", ReLU simulation (mean +- se)"))
        if i == 0:
            th_handles, sim_handles = hs, ss
        _risk_axes(ax, s, n, x[0] * 0.97, x[-1] * 1.03, ymin, ymax)
        ax.set_xlabel(f"p / n  (random-features width / samples; n = {n})")
        ax.set_ylabel("test risk")
        ax.set_title(f"budget s = {s} weights kept", fontsize=9.5)
        ax.grid(alpha=0.25, lw=0.5)
    fig.suptitle(d["title"] + "  (ReLU features, label (u.z)^2)", fontsize=10)
    _two_column_legend(fig, th_handles, sim_handles, (0.02 + 0.19 * nleg + capH) / H + 0.005)
    _caption(fig, cap)
    return fig


def draw_phase_map(data: Any, path: str | Path) -> Path:
    """Draw the advisor's phase map (:class:`dcpredict.advisor.PhaseMap`, its ``to_dict()``, or the JSON of
    ``dcpredict advise --json --map``, which holds it under "map") to a PNG; nothing is recomputed."""
    from ._store import check_outputs
    check_outputs([path], "phase map")
    Figure = _figure_class()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter
    if hasattr(data, "to_dict"):
        data = data.to_dict()
    elif not isinstance(data, dict):
        data = load_sidecar(data)
    if "map" in data and isinstance(data["map"], dict):
        data = data["map"]
    ps, ss = np.asarray(data["p"], dtype=float), np.asarray(data["s"], dtype=float)
    category = np.asarray(data["category"], dtype=int)
    P, n, phases = int(data["world"]["P"]), int(data["n"]), list(data["phases"])
    colors = ("#1b9e77", "#7570b3", "#a6cee3", "#e0e0e0")
    fig = Figure(figsize=(7.6, 6.4))
    ax = fig.add_subplot(1, 1, 1)
    ax.pcolormesh(ps, ss, np.ma.masked_less(category, 0), cmap=ListedColormap(colors), vmin=-0.5, vmax=3.5,
                  shading="nearest")
    ax.set_xscale("log")
    ax.set_yscale("log")
    lo, hi = 0.8, P * 1.25
    ax.plot([lo, hi], [lo, hi], color="0.3", lw=0.8)
    total = max(int(np.sum(category >= 0)), 1)
    handles = [Patch(facecolor=c, edgecolor="0.5", label=f"{name} ({100 * np.sum(category == i) / total:.0f} % of cells)")
               for i, (c, name) in enumerate(zip(colors, phases))]
    handles.append(Patch(facecolor="white", edgecolor="0.5", label="p < s: no such model"))
    if n < P:
        ax.axvline(n, color="k", ls=":", lw=1)
        ax.text(n, 1.0, " p = n", fontsize=8, va="bottom")
    if data.get("mark"):
        mp, ms = data["mark"]["p"], data["mark"]["s"]
        ax.axhline(ms, color="r", ls="--", lw=0.8)
        pt, = ax.plot([mp], [ms], "r*", ms=15, mec="k", label=f"advice: best p = {mp} at the budget s = {ms}")
        handles.append(pt)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.yaxis.set_major_formatter(plain)
    ax.set_xlabel(f"p = features the model fits before pruning (up to the world's P = {P})")
    ax.set_ylabel("s = weights kept (the budget)")
    ax.legend(handles=handles, fontsize=8, loc="upper left", framealpha=0.92)

    def short(xs):
        return ", ".join(f"{x:.3g}" for x in xs[:5]) + (", ..." if len(xs) > 5 else "")
    w = data["world"]
    ax.set_title("Train small or prune big?  The best option at each (p, s) in one fixed world\n"
                 f"P = {P} features, n = {n}, sigma$^2$ = {data['sigma2']:g}, ridge = {data['ridge']:g}; "
                 f"the model: first p features ({data['order']} order),\npruned to s by the best of "
                 f"{len(data['rules'])} rules; options within a relative {data['tol']:g}: the simpler one is shown",
                 fontsize=9)
    fig.text(0.01, 0.01, f"world law: lambda = ({short(w['lam'])}), B = ({short(w['b'])}), weights = "
             f"({short(w['weights'])})\nasymptotic theory (dcpredict.predict_world), the same model as "
             "dcpredict.advise", fontsize=7)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=DPI, metadata=_METADATA)
    return path


def draw_validation(rep: Any, path: str | Path) -> Path:
    """The validation summary plot: theory against simulation (log-log) and the histogram of z.

    ``rep`` is a :class:`dcpredict.validation.ValidationReport`.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    from .simulation import Z_LIMIT
    chk = rep.checked
    info = [r for r in rep.all_rows if r["status"] == "info"]
    fig = _figure_class()(figsize=(10.5, 4.4))
    a1, a2 = fig.subplots(1, 2)
    th = np.array([r["theory"] for r in chk])
    sm = np.array([r["sim"] for r in chk])
    se = np.array([r["se"] for r in chk])
    ok = np.array([r["status"] == "pass" for r in chk])
    world = np.array(["order" in r for r in chk], dtype=bool)
    for sel, fmt, color, name in ((ok & ~world, "o", "tab:blue", "pass"),
                                  (ok & world, "s", "tab:green", "fixed world: pass")):
        if sel.any():
            a1.errorbar(th[sel], sm[sel], yerr=se[sel], fmt=fmt, ms=3, color=color, alpha=0.7, lw=0.8,
                        label=f"{name} ({sel.sum()})")
    if (~ok).any():
        a1.errorbar(th[~ok], sm[~ok], yerr=se[~ok], fmt="x", ms=6, color="tab:red", label=f"FAIL ({(~ok).sum()})")
    if info:
        a1.plot([r["theory"] for r in info], [r["sim"] for r in info], "^", ms=3, color="0.6",
                label="same-sample retrain vs fresh DC (info)")
    lo, hi = min(th.min(), sm.min()) * 0.9, max(th.max(), sm.max()) * 1.1
    a1.plot([lo, hi], [lo, hi], "k-", lw=0.8)
    a1.set_xscale("log")
    a1.set_yscale("log")
    for axis in (a1.xaxis, a1.yaxis):  # plain numbers (0.5, 1, 2), not 5x10^-1; a few labelled ticks
        axis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())
    a1.set_xlabel("theory (DC, p -> infinity)")
    a1.set_ylabel("simulation mean")
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3, which="both", lw=0.5)
    a1.set_title("theory vs simulation", fontsize=10)
    z = np.array([r["z"] for r in chk])
    z = z[np.isfinite(z)]
    a2.hist(np.clip(z, -8, 8), bins=np.linspace(-8, 8, 41), color="tab:blue", alpha=0.8)
    for v in (-Z_LIMIT, Z_LIMIT):
        a2.axvline(v, color="tab:red", ls="--", lw=0.8)
    a2.set_xlabel("z = (sim - theory) / se   (clipped to [-8, 8])")
    a2.set_ylabel("count")
    t = rep.totals()
    a2.set_title(f"{t['comparisons']} comparisons: {t['passed']} pass, {t['failed']} fail; max |z| "
                 f"{t['max_abs_z']:.2f}", fontsize=10)
    fig.suptitle("dcpredict validate" + (" --quick" if rep.quick else "") +
                 f": n={rep.params['n']}, {rep.params['trials']} trials/point", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=_METADATA)
    return Path(path)


_COMPRESS_STYLE = {"prune": ("tab:red", "prune (32-bit weights, Hessian)"),
          "quantize": ("tab:blue", "quantize all weights (q = min(floor(budget/kappa), 8) bits)"),
          "prune_quantize": ("tab:green", "prune + quantize (best q <= 6)")}


def _draw_compress(data: dict[str, Any]):
    """The compression figure (:mod:`dcpredict.figures_compress`): risk against model size at a bit budget."""
    P = data["params"]
    fig = _figure_class()(figsize=(8.6, 6.6))
    ax = fig.add_subplot(1, 1, 1)
    for method, (color, label) in _COMPRESS_STYLE.items():
        for key, ls in (("r0", "-"), ("tuned", "--")):
            pts = data["curves"][method][key]
            segs: list[list[dict]] = [[]]
            for a, b in zip([None] + pts[:-1], pts):  # break the quantize curve where q changes
                if a is not None and method == "quantize" and a.get("bits") != b.get("bits"):
                    segs.append([])
                segs[-1].append(b)
            for j, seg in enumerate(segs):
                xs = [p["kappa"] for p in seg]
                ys = [min(p["risk"], 1e6) for p in seg]
                lab = (label + (", ridge 0" if key == "r0" else ", tuned ridge")) if j == 0 else None
                # the quantize curve is drawn wide and pale: where prune + quantize keeps every weight the two coincide
                lw = 4.0 if method == "quantize" else 1.5
                ax.plot(xs, ys, ls=ls, color=color, lw=lw, alpha=0.45 if method == "quantize" else 1.0, label=lab)
    for s in data["sims"]:
        color = _COMPRESS_STYLE[s["method"]][0]
        ax.errorbar([s["kappa"]], [s["mean"]], yerr=[2 * s["stderr"]], fmt="o" if s["ridge_mode"] == "r0" else "s",
                    ms=4, color=color, mfc="white" if s["ridge_mode"] == "tuned" else color, capsize=2, lw=1)
    ax.axhline(data["zero_model"], color="0.4", lw=0.8, ls=":", label="zero model")
    ax.axvline(1.0, color="0.85", lw=0.8)
    ax.set_xscale("log")
    _log_ticks(ax, "x", min(data["kappa"]), max(data["kappa"]))
    finite = [p["risk"] for c in data["curves"].values() for v in c.values() for p in v if math.isfinite(p["risk"])]
    ax.set_ylim(0.9 * min(finite), 1.12 * data["zero_model"])
    ax.set_xlabel("model size kappa = p / n  (the model fits the p most salient of the world's P = "
                  f"{P['world_kappa']:g} n features)")
    ax.set_ylabel("test risk (world)")
    ax.set_title(f"Fixed budget of {P['budget']:g} bits per training sample: prune, quantize or both?\n"
                 f"spiked world (5 % of features with variance {P['spike_lam']:g}), B ~ N(0,1), "
                 f"sigma^2 = {P['sigma2']:g}\nlines: theory (DC); markers: simulation, n = {P['sim_n']}, "
                 f"{P['sim_trials']} trials, mean +- 2 se (filled: ridge 0, open: tuned ridge)", fontsize=9)
    ax.grid(alpha=0.3, which="both", lw=0.5)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=7.5, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
