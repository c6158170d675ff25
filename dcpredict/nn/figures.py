"""Figures ``nn-digits`` and ``nn-mnist1d``: the grow-then-prune experiment on real networks, in the paper's
framing (error against width at a fixed budget of s weights; the paper's Figs. 1, 5 and 6), plus the
bridge to the theory (frozen first layer: random features + least squares, with the equivalent-LGP line).

``dcpredict figure nn-digits`` writes ``figures/nn-digits.png`` and the sidecar ``figures/nn-digits.json`` (every
parameter, every plotted number, the caption and the findings).  Panels:

(a) test error and (b) train error against width of the two-layer MLP trained with cross-entropy and Adam:
    dense, magnitude-pruned to s without retraining, pruned + retrained with the mask fixed, random-pruned to
    s + retrained (mean +- standard error over seeds); the dashed horizontal line is the small network
    (width = budget width, exactly s weights) trained dense.
(c) first layer frozen, squared loss, readout by full-batch heavy-ball gradient descent from zero: test loss
    (mean squared error over classes) against width: the network, its closed-form min-norm counterpart on the
    same features, and the equivalent-LGP theory of those features (:mod:`dcpredict.nn.theory`).
"""
from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import DCPredictError

__all__ = ["FIGURES", "PARAMS", "compute", "draw", "make_figure"]

FIGURES = ("nn-digits", "nn-mnist1d")

_TRAINED = {"model": "mlp", "loss": "ce", "optimizer": "adam", "lr": 1e-3, "batch_size": 64, "seeds": 3, "seed": 0}
_FROZEN = {"model": "mlp", "loss": "mse", "optimizer": "sgd", "lr": "auto", "batch_size": 0, "seeds": 3, "seed": 0,
           "freeze_first_layer": True}

PARAMS: dict[str, dict[str, Any]] = {
    "nn-digits": {
        "dataset": "digits",
        "trained": {**_TRAINED, "n_train": 300, "widths": [4, 8, 16, 32, 64, 128, 256, 512], "budget_width": 16,
                    "epochs": 200},
        "frozen": {**_FROZEN, "n_train": 300, "widths": [8, 16, 32, 64, 128, 200, 260, 290, 320, 400, 600],
                   "budget_width": 32, "epochs": 2000},
    },
    "nn-mnist1d": {
        "dataset": "mnist1d",
        "trained": {**_TRAINED, "n_train": 1000, "widths": [4, 8, 16, 32, 64, 128, 256, 512], "budget_width": 32,
                    "epochs": 100},
        "frozen": {**_FROZEN, "n_train": 200, "widths": [8, 16, 32, 64, 128, 170, 190, 210, 250, 400, 600],
                   "budget_width": 32, "epochs": 2000},
    },
}


def _quick(P: dict[str, Any]) -> dict[str, Any]:
    q = json.loads(json.dumps(P))
    for part in ("trained", "frozen"):
        q[part]["widths"] = q[part]["widths"][::3]
        if q[part]["budget_width"] not in q[part]["widths"]:
            q[part]["widths"] = sorted(set(q[part]["widths"]) | {q[part]["budget_width"]})
        q[part]["epochs"] = max(5, q[part]["epochs"] // 20)
        q[part]["seeds"] = 2
    return q


def _series(res, state: str, metric: str, closed_form: bool = False) -> dict[str, list]:
    ws, m, se = res.mean_se(state, metric, closed_form)
    return {"width": ws.tolist(), "mean": m.tolist(), "se": se.tolist()}


def _theory(res) -> dict[str, list]:
    ws = sorted(res.widths)
    vals = []
    for w in ws:
        v = [r["dense"]["theory"]["test_loss"] for r in res.rows if r["width"] == w]
        vals.append(float(np.mean(v)) if all(math.isfinite(x) for x in v) else None)
    return {"width": ws, "mean": vals}


def _findings(res, budget_width: int, metric: str = "test_error") -> dict[str, Any]:
    """Does pruning a wider network (retrained) beat training the small one (width = budget width)?"""
    ws, dm, dse = res.mean_se("dense", metric)
    _, rm, rse = res.mean_se("retrained", metric)
    _, pm, _ = res.mean_se("pruned", metric)
    _, xm, _ = res.mean_se("random_retrained", metric)
    i0 = int(np.flatnonzero(ws == budget_width)[0])
    small, small_se = float(dm[i0]), float(dse[i0])
    wide = ws > budget_width
    z = (small - rm) / np.sqrt(dse[i0] ** 2 + rse ** 2 + 1e-300)
    better = [int(w) for w, zz, ok in zip(ws, z, wide) if ok and zz > 2]
    worse = [int(w) for w, zz, ok in zip(ws, z, wide) if ok and zz < -2]
    j = int(np.argmin(np.where(wide, rm, np.inf)))
    return {"metric": metric, "small_width": budget_width, "small_mean": small, "small_se": small_se,
            "best_retrained_width": int(ws[j]), "best_retrained_mean": float(rm[j]),
            "best_retrained_se": float(rse[j]),
            "retrained_beats_small_at": better, "retrained_worse_than_small_at": worse,
            "retrained_beats_random_at": [int(w) for w, a, b, ok in zip(ws, rm, xm, wide) if ok and a < b],
            "retraining_helps_at": [int(w) for w, a, b, ok in zip(ws, rm, pm, wide) if ok and a < b]}


def _claim(f: dict[str, Any], s: int) -> str:
    head = (f"Small network (width {f['small_width']}, s = {s} weights) trained dense: test error "
            f"{100 * f['small_mean']:.1f} +- {100 * f['small_se']:.1f} %; best pruned + retrained wider network: "
            f"width {f['best_retrained_width']}, {100 * f['best_retrained_mean']:.1f} +- "
            f"{100 * f['best_retrained_se']:.1f} %. ")
    if f["retrained_beats_small_at"]:
        head += ("Pruning a wider network and retraining beats training the small one (by more than 2 standard "
                 f"errors) at widths {', '.join(map(str, f['retrained_beats_small_at']))}")
    else:
        head += "Pruning a wider network and retraining does not beat training the small one by 2 standard errors"
    if f["retrained_worse_than_small_at"]:
        head += f"; it is worse at widths {', '.join(map(str, f['retrained_worse_than_small_at']))}"
    return head + "."


def _frozen_claim(fz: dict[str, Any]) -> str:
    f = fz["findings"]
    text = (f"Frozen: the small network (width {f['small_width']}, s = {fz['s']}) has test loss "
            f"{f['small_mean']:.4g}; the best pruned + retrained wider one {f['best_retrained_mean']:.4g} "
            f"(width {f['best_retrained_width']})")
    if f["retrained_beats_small_at"]:
        return text + f"; pruning a wider network beats the small one at widths " \
            f"{', '.join(map(str, f['retrained_beats_small_at']))}."
    return text + "; pruning a wider network does not beat the small one by 2 standard errors."


def caption(data: dict[str, Any]) -> str:
    """The figure's caption, from its sidecar content: the protocol, what it reproduces, the findings."""
    P, tr, fz = data["params"], data["curves"]["trained"], data["curves"]["frozen"]
    gaps = {int(w): g for w, g in fz["readout_gap"].items()}
    reached = [w for w in sorted(gaps) if gaps[w] < 1e-3]
    return (
        f"{data['figure']}: {tr['description']}. (a, b) two-layer MLP (input-width-10, ReLU) trained with "
        f"cross-entropy, Adam lr {P['trained']['lr']:g}, batch {P['trained']['batch_size']}, "
        f"{P['trained']['epochs']} epochs; global magnitude pruning of both weight matrices to s = {tr['s']} weights "
        f"(the weight count of width {P['trained']['budget_width']}); retraining {P['trained']['epochs']} epochs with "
        f"the mask fixed; random pruning to s + the same retraining; mean +- se over {P['trained']['seeds']} seeds. "
        f"(c) first layer frozen at its initialisation, squared loss, readout from zero by full-batch heavy-ball GD "
        f"({P['frozen']['epochs']} epochs, step and momentum from the features' spectrum), n = {fz['n_train']}, "
        f"s = {fz['s']} readout weights: network, closed-form min-norm least squares on the same features, and the "
        "equivalent-LGP theory of those features (data set pooled as the population). The GD readout reaches the "
        "closed form (readout gap < 1e-3) at width(s) " + (", ".join(map(str, reached)) or "none")
        + "; elsewhere the features are too ill-conditioned for the epochs given and the network is an "
        "early-stopped (regularised) fit (gaps in the sidecar). " + _frozen_claim(fz) + " Reproduces the paper's protocol (Figs. 1, 5, 6) on "
        "small offline data sets with an MLP; it does not reproduce the paper's ResNet-20/CIFAR-10 or MNIST numbers, "
        "and the training recipe is ours. " + data["claim"])


def compute(name: str, *, quick: bool = False, workers: int = 1, progress: bool = True) -> dict[str, Any]:
    """Run both experiments of figure ``name`` and return the sidecar content (JSON-ready)."""
    if name not in FIGURES:
        raise DCPredictError(f"name must be one of {', '.join(map(repr, FIGURES))}; got {name!r}")
    from .. import __version__
    from .run import grow_prune
    P = PARAMS[name] if not quick else _quick(PARAMS[name])
    out: dict[str, Any] = {"kind": "nn", "figure": name,
                           "command": f"dcpredict figure {name}" + (" --quick" if quick else ""),
                           "quick": quick, "dcpredict_version": __version__, "python": platform.python_version(),
                           "generated_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "dataset": P["dataset"], "params": P, "curves": {}}
    for part in ("trained", "frozen"):
        kw = dict(P[part])
        res = grow_prune(P["dataset"], workers=workers, progress=progress, device="cpu", **kw)
        d: dict[str, Any] = {"s": res.s, "n_train": res.n_train, "n_test": res.n_test, "params": res.params,
                             "description": res.description, "settings": res.settings, "notes": res.notes,
                             "rows": res.rows, "unit_seconds": float(sum(t["unit_seconds"] for t in res.timings))}
        for st in ("dense", "pruned", "retrained", "random_retrained"):
            for m in ("test_error", "train_error", "test_loss"):
                d[f"{st}.{m}"] = _series(res, st, m)
                if part == "frozen":
                    d[f"{st}.closed_form.{m}"] = _series(res, st, m, closed_form=True)
        if part == "frozen":
            d["theory.dense.test_loss"] = _theory(res)
            d["readout_gap"] = {str(w): max(r["readout_gap"] for r in res.rows if r["width"] == w)
                                for w in res.widths}
            d["findings"] = _findings(res, kw["budget_width"], "test_loss")
        else:
            d["findings"] = _findings(res, kw["budget_width"])
        out["curves"][part] = d
    out["claim"] = _claim(out["curves"]["trained"]["findings"], out["curves"]["trained"]["s"])
    out["caption"] = caption(out)
    return out


def draw(data: dict[str, Any], path: str | Path) -> Path:
    """Render the figure from its sidecar content (no recomputation); a PNG that dcpredict did not write is
    refused and left unchanged."""
    from .._store import check_outputs
    check_outputs([path], "figure file")
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover
        raise DCPredictError("drawing figures needs matplotlib: pip install matplotlib") from None
    tr, fz = data["curves"]["trained"], data["curves"]["frozen"]
    fig = Figure(figsize=(15, 5.6))
    axs = fig.subplots(1, 3)
    styles = {"dense": ("dense (no pruning)", "tab:blue", "o"),
              "pruned": ("magnitude-pruned to s, no retraining", "tab:gray", "x"),
              "retrained": ("magnitude-pruned to s + retrained", "tab:red", "s"),
              "random_retrained": ("random-pruned to s + retrained", "tab:green", "^")}
    bw = data["params"]["trained"]["budget_width"]
    for ax, metric, title in ((axs[0], "test_error", "(a) test error"), (axs[1], "train_error", "(b) train error")):
        for st, (lab, col, mk) in styles.items():
            sr = tr[f"{st}.{metric}"]
            w, m, se = np.array(sr["width"]), np.array(sr["mean"]), np.array(sr["se"])
            ax.errorbar(w, 100 * m, yerr=100 * se, color=col, marker=mk, ms=4, lw=1.2, capsize=3.2, label=lab)
        small = np.array(tr[f"dense.{metric}"]["mean"])[np.array(tr[f"dense.{metric}"]["width"]) == bw]
        ax.axhline(100 * float(small[0]), color="tab:blue", ls="--", lw=0.8,
                   label=f"small network: width {bw} dense (s = {tr['s']})")
        ax.axvline(bw, color="k", lw=0.5, ls=":")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("width (hidden units)")
        vals = [v for st in styles for v in tr[f"{st}.{metric}"]["mean"] if v is not None and v > 0]
        logy = metric == "test_error" and bool(vals) and max(vals) / min(vals) > 4   # a narrow range stays linear
        ax.set_ylabel("error (%)" + (", log scale" if logy else ""))
        if logy:
            from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(FixedLocator([1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100]))
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{title}, MLP, cross-entropy, s = {tr['s']}", fontsize=10)
        ax.grid(alpha=0.3)
    axs[0].legend(fontsize=7, loc="upper center")
    ax = axs[2]
    th = fz["theory.dense.test_loss"]
    tw = [w for w, v in zip(th["width"], th["mean"]) if v is not None]
    tv = [v for v in th["mean"] if v is not None]
    ax.plot(tw, tv, "-", color="k", lw=1.5, label="theory: equivalent LGP of the features (dense)")
    for key, lab, col, mk in (("dense.closed_form.test_loss", "closed form: min-norm least squares", "tab:purple", "D"),
                              ("dense.test_loss", "frozen network, GD readout (dense)", "tab:blue", "o"),
                              ("retrained.test_loss", f"frozen network pruned to s = {fz['s']} + retrained",
                               "tab:red", "s"),
                              ("retrained.closed_form.test_loss", "closed form pruned + refit", "tab:orange", "v")):
        sr = fz[key]
        closed = "closed" in key
        ax.errorbar(sr["width"], sr["mean"], yerr=sr["se"], color=col, marker=mk, ms=7 if closed else 4, lw=1,
                    capsize=3.2, ls="none" if closed else "-", mfc="none" if closed else col, label=lab, zorder=3)
    fbw = data["params"]["frozen"]["budget_width"]
    sd = fz["dense.test_loss"]
    if fbw in sd["width"]:
        ax.axhline(sd["mean"][sd["width"].index(fbw)], color="tab:blue", ls="--", lw=0.8,
                   label=f"small frozen network: width {fbw} dense (s = {fz['s']})")
    n = fz["n_train"]
    ax.axvline(n, color="k", lw=0.5, ls=":")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(f"width (features); dotted: width = n = {n}")
    ax.set_ylabel("test loss (squared error, mean over classes)")
    ax.set_title("(c) first layer frozen: random features + least squares", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    # the caption (protocol, findings) lives in the sidecar and the docs; the PNG keeps a short title
    seeds = data["params"]["trained"]["seeds"]
    fig.subplots_adjust(left=0.05, right=0.99, top=0.85, bottom=0.12, wspace=0.25)
    fig.suptitle(f"Grow, then prune: {data['dataset']}" + (" (quick)" if data.get("quick") else "")
                 + f"  (mean \u00b1 1 se over {seeds} seeds)", fontsize=12)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, metadata={"Software": "dcpredict"})
    return out


def make_figure(name: str, out_dir: str | Path = "figures", *, quick: bool = False, workers: int = 1,
                progress: bool = True) -> tuple[Path, Path]:
    """Compute, draw ``out_dir/NAME.png`` and write ``out_dir/NAME.json`` (``NAME_quick.*`` with quick)."""
    from .._store import check_outputs
    if name not in FIGURES:
        raise DCPredictError(f"name must be one of {', '.join(map(repr, FIGURES))}; got {name!r}")
    stem = name + ("_quick" if quick else "")
    out = Path(out_dir)
    check_outputs([out / f"{stem}.json", out / f"{stem}.png"], "figure file")
    t0 = time.time()
    data = compute(name, quick=quick, workers=workers, progress=progress)
    data["elapsed_seconds"] = round(time.time() - t0, 1)
    out.mkdir(parents=True, exist_ok=True)
    side = out / f"{stem}.json"
    side.write_text(json.dumps(data, indent=1, allow_nan=True) + "\n")
    png = draw(data, out / f"{stem}.png")
    return png, side
