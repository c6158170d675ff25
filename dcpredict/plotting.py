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
import re
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


_TEX = ((r"sigma^2", r"$\sigma^2$"), ("Sigma", r"$\Sigma$"), ("beta", r"$\beta$"), ("+-", "\u00b1"),
        ("kappa", r"$\kappa$"), ("lambda", r"$\lambda$"))


def _tex(text: str) -> str:
    """Plain sidecar text (``sigma^2``, ``Sigma``, ``+-``) as matplotlib mathtext for a title or label."""
    for plain, tex in _TEX:
        text = re.sub(r"(?<![A-Za-z$\\])" + re.escape(plain) + r"(?![A-Za-z])", lambda _m, t=tex: t, text)
    return text


def _rule_legend(fig, ax, rows: list[tuple], top: float, sim_note: str | None) -> None:
    """One legend entry per rule: its theory line and its simulation marker drawn as one handle.

    ``rows`` holds (handles, label) pairs; the figure caption (sidecar and docs) carries the details.
    """
    from matplotlib.legend_handler import HandlerTuple
    handles = [h[0] if len(h) == 1 else tuple(h) for h, _ in rows]
    labels = [label for _, label in rows]
    title = "line: theory (DC)" + (f";  marker: {sim_note}" if sim_note else "")
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, top), ncol=2, fontsize=7.6,
               frameon=False, handler_map={tuple: HandlerTuple(ndivide=None, pad=0.6)}, handlelength=3.6,
               title=title, title_fontsize=7.6)


def _errorbars(ax, x, m, se, f: str, label: str, ms: float = 4.2):
    """Simulation markers with visible +-1 se bars: open markers (the bar shows through), wide caps."""
    return ax.errorbar(x, m, yerr=se, fmt=MARKERS[f], color=COLORS[f], ms=ms, mfc="none", mew=1.1,
                       capsize=3.2, capthick=1.1, elinewidth=1.1, lw=1.1, zorder=3, label=label)


def _headline(d: dict[str, Any]) -> str | None:
    """A world figure's one-line answer to the paper's question, read from its findings (the visual cue
    that tells Fig. 3a, where training small wins, from Fig. 3b, where pruning big wins)."""
    fd, small = d.get("findings", {}), d.get("findings", {}).get("small_oracle")
    at_P = fd.get("at_P", {})
    pruned = {f: at_P[f] for f in ("magnitude", "hessian", "oracle_pruned") if isinstance(at_P.get(f), (int, float))}
    if not pruned or not isinstance(small, (int, float)):
        return None
    names = {"magnitude": "magnitude", "hessian": "Hessian", "oracle_pruned": "oracle"}
    # a rule a user can apply (magnitude, Hessian) is named before the oracle, which needs the truth
    usable = {f: v for f, v in pruned.items() if f != "oracle_pruned"}
    if usable and min(usable.values()) < small:
        best = min(usable, key=usable.get)
        return (f"prune big wins: {names[best]} pruning at p = P ({pruned[best]:.3f}) beats training small "
                f"({small:.3f})")
    best = min(pruned, key=pruned.get)
    name = names[best]
    if pruned[best] < small:
        return (f"prune big wins only with the truth: oracle pruning at p = P ({pruned[best]:.3f}) beats training "
                f"small ({small:.3f}); magnitude and Hessian pruning do not")
    return (f"train small wins: {small:.3f}; no pruned model of p > s gets below it "
            f"(at p = P the best is {name} pruning, {pruned[best]:.3f})")


# ------------------------------------------------------------------------------------------ worlds
def _draw_world(d: dict[str, Any]):
    """A fixed-world figure (Figs. 3 and 7): one legend row per rule (theory line + simulation marker); the
    caption lives in the sidecar and the docs, not in the PNG."""
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
    zero = d.get("baselines", {}).get("zero_model")
    nrows = (len(fields) + 1 + (zero is not None) + 1) // 2
    H = 6.3 + 0.2 * nrows
    fig = Figure(figsize=(8.0, H))
    bottom = (1.05 + 0.2 * nrows) / H
    ax = fig.add_axes((0.085, bottom, 0.89, 1.0 - bottom - 0.72 / H))
    sim = d.get("simulation")
    rows: list[tuple] = []
    for j, f in enumerate(fields):
        style = ":" if f.endswith("_retrained") else ("-." if f == "oracle_pruned" else "-")
        # magnitude drawn wider underneath, so it stays visible where it coincides with Hessian (Sigma = I)
        wide = f in ("magnitude", "magnitude_retrained")
        handles = ax.plot(x, _arr(th[f]), style, color=COLORS[f], lw=3.4 if wide else 1.7,
                          zorder=1.9 if wide else 2.0)
        if sim:
            xs = np.array(sim["p"], dtype=float) / n
            m, se = _arr(sim[f]["mean"]), _arr(sim[f]["stderr"])
            ok = np.isfinite(m)
            # tiny horizontal offsets so the markers of close curves do not hide each other
            off = xs * (1.0 + 0.012 * (j - (len(fields) - 1) / 2))
            handles.append(_errorbars(ax, off[ok], m[ok], se[ok], f, LABELS[f]))
        rows.append((handles, LABELS[f]))
    rows.append(([ax.axhline(hline, color=COLORS["small_oracle"], lw=1.4, ls="--")],
                 f"{LABELS['small_oracle']}: {hline:.3f}"))
    if zero is not None:
        line = ax.axhline(zero, color="0.6", lw=1.0, ls=(0, (1, 3)))
        rows.append(([line], _tex(f"predict zero (sigma^2 + all signal): {zero:.3f}")))
    _risk_axes(ax, s, n, s / n * 0.97, P / n * 1.03, ymin, ymax)
    ax.set_xlabel(f"p / n  (model size / samples; n = {n}, world P = {P}, budget s = {s})")
    ax.set_ylabel(_tex("test risk  (world's, incl. sigma^2)"))
    ax.grid(alpha=0.25, lw=0.5)
    head = _headline(d)
    ax.set_title(_tex(d["title"]) + (f"\n{head}" if head else ""), fontsize=9.5)
    note = f"simulation, mean \u00b1 1 se of {d['trials']} trials" if sim and d.get("trials") else None
    _rule_legend(fig, ax, rows, (0.4 + 0.2 * nrows) / H, note)
    return fig


# ------------------------------------------------------------------------------------------ random features
def _draw_rf(d: dict[str, Any]):
    """A random-features figure (Figs. 2 and 4), one panel per budget; the caption lives in the sidecar."""
    Figure = _figure_class()
    n = d["n"]
    panels = d["panels"]
    npan = len(panels)
    sf = d["sim_fields"]
    labels = {f: RF_LABELS.get(f, LABELS[f]) for f in set(d["fields"]) | set(sf)}
    nrows = (len(set(d["fields"]) | set(sf)) + 2) // 2
    W = 5.4 * npan + 0.6
    H = 5.5 + 0.2 * nrows
    bottom = (1.1 + 0.2 * nrows) / H
    top = 0.75 / H
    width = (1.0 - 0.07 - 0.02 - 0.07 * (npan - 1)) / npan
    fig = Figure(figsize=(W, H))
    axes = [fig.add_axes((0.07 + i * (width + 0.07), bottom, width, 1.0 - bottom - top)) for i in range(npan)]
    rows: list[tuple] = []
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
        handles: dict[str, list] = {}
        for f in d["fields"]:
            handles[f] = ax.plot(x, _arr(th[f]), ":" if f.endswith("_retrained") else ("-." if f == "oracle_pruned" else "-"),
                                 color=COLORS[f], lw=1.7)
        xs = np.array(sm["p"], dtype=float) / n
        for j, f in enumerate(sf):
            m, se = _arr(sm[f]["mean"]), _arr(sm[f]["stderr"])
            ok = np.isfinite(m)
            off = xs * (1.0 + 0.015 * (j - (len(sf) - 1) / 2))
            handles.setdefault(f, []).append(_errorbars(ax, off[ok], m[ok], se[ok], f, labels[f], ms=3.8))
        if i == 0:
            rows = [(h, labels[f]) for f, h in handles.items()]
            if hv is not None:
                rows.append(([ax.axhline(hv, color="0.35", lw=1.2, ls="--")],
                              "train small: a width-s network (dense at p = s)"))
        elif hv is not None:
            ax.axhline(hv, color="0.35", lw=1.2, ls="--")
        _risk_axes(ax, s, n, x[0] * 0.97, x[-1] * 1.03, ymin, ymax)
        ax.set_xlabel(f"p / n  (random-features width / samples; n = {n})")
        ax.set_ylabel("test risk")
        ax.set_title(f"budget s = {s} weights kept", fontsize=9.5)
        ax.grid(alpha=0.25, lw=0.5)
    fig.suptitle(_tex(d["title"]) + "  (ReLU features, label (u\u00b7z)\u00b2)", fontsize=10)
    trials = d.get("trials")
    note = "ReLU simulation, mean \u00b1 1 se" + (f" ({trials} trials per width)" if trials else "")
    _rule_legend(fig, axes[0], rows, (0.4 + 0.2 * nrows) / H, note)
    return fig


def _share(count: int, total: int) -> str:
    """A class's share of the cells: "< 1 %" rather than a "0 %" for a class that does occur."""
    pct = 100.0 * count / total
    return "< 1 %" if 0 < pct < 0.5 else f"{pct:.0f} %"


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
    # classes that occur in no cell are left out of the legend (they would read "0 % of cells")
    handles = [Patch(facecolor=c, edgecolor="0.5", label=f"{name} ({_share(np.sum(category == i), total)} of cells)")
               for i, (c, name) in enumerate(zip(colors, phases)) if np.any(category == i)]
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
            for a, b in zip([None] + pts[:-1], pts):
                # break a curve where q changes (quantize), at a divergence (a non-finite risk) and across the
                # interpolation threshold kappa = 1, so no line is drawn through the pole
                if a is not None and ((method == "quantize" and a.get("bits") != b.get("bits"))
                                      or not (math.isfinite(a["risk"]) and math.isfinite(b["risk"]))
                                      or (key == "r0" and (a["kappa"] - 1.0) * (b["kappa"] - 1.0) <= 0)):
                    segs.append([])
                if math.isfinite(b["risk"]):
                    segs[-1].append(b)
            segs = [seg for seg in segs if seg]
            for j, seg in enumerate(segs):
                xs = [p["kappa"] for p in seg]
                ys = [p["risk"] for p in seg]
                lab = (label + (", ridge 0" if key == "r0" else ", tuned ridge")) if j == 0 else None
                # the quantize curve is drawn wide and pale: where prune + quantize keeps every weight the two coincide
                lw = 4.0 if method == "quantize" else 1.5
                ax.plot(xs, ys, ls=ls, color=color, lw=lw, alpha=0.45 if method == "quantize" else 1.0, label=lab)
    for s in data["sims"]:
        color = _COMPRESS_STYLE[s["method"]][0]
        ax.errorbar([s["kappa"]], [s["mean"]], yerr=[s["stderr"]], fmt="o" if s["ridge_mode"] == "r0" else "s",
                    ms=4.2, color=color, mfc="white" if s["ridge_mode"] == "tuned" else color, capsize=3.2,
                    capthick=1.1, elinewidth=1.1, lw=1.1, zorder=3)
    ax.axhline(data["zero_model"], color="0.4", lw=0.8, ls=":", label="zero model")
    ax.axvline(1.0, color="0.85", lw=0.8)
    ax.set_xscale("log")
    _log_ticks(ax, "x", min(data["kappa"]), max(data["kappa"]))
    finite = [p["risk"] for c in data["curves"].values() for v in c.values() for p in v if math.isfinite(p["risk"])]
    ax.set_ylim(0.9 * min(finite), 1.12 * data["zero_model"])
    ax.set_xlabel(r"model size $\kappa = p / n$  (the model fits the p most salient of the world's P = "
                  f"{P['world_kappa']:g} n features)")
    ax.set_ylabel("test risk (world)")
    ax.set_title(f"Fixed budget of {P['budget']:g} bits per training sample: prune, quantize or both?\n"
                 f"spiked world (5 % of features with variance {P['spike_lam']:g}), B ~ N(0,1), "
                 + r"$\sigma^2$" + f" = {P['sigma2']:g}\nlines: theory (DC), ridge-0 lines broken at the pole $\\kappa = 1$\n"
                 f"markers: simulation, n = {P['sim_n']}, {P['sim_trials']} trials, mean \u00b1 1 se "
                 "(filled: ridge 0, open: tuned ridge)", fontsize=9)
    ax.grid(alpha=0.3, which="both", lw=0.5)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=7.5, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
