"""Train small or prune big?  The model size and pruning rule with the lowest predicted risk.

The question of the paper (Chang, Li, Oymak, Thrampoulidis, AAAI 2021, Sec. 1 and Figs. 3, 7): with n
samples and a budget of s weights in the deployed model, should one fit a model with exactly s
features, or fit a bigger model of p = kappa n features and prune it to s = alpha p weights?

The setting (THEORY.md s.1-4).  The data offer P = kappa_max n candidate features whose (variance,
weight) pairs follow the law mu (beta_i = B_i / sqrt(P)): this is "the world", a fixed linear
Gaussian problem.  A model of size p <= P uses p of these features, not chosen by saliency (a
random p-subset); by THEORY.md s.4 that is again an LGP with ratio kappa = p/n, law
(lambda_k, sqrt(p/P) b_k) with the same weights, and noise sigma^2 + (1 - p/P) E[Lambda B^2] (the
features left out act as noise).  On it:

* pruning rules (fit the p features, keep s): ``magnitude``, ``hessian``, ``random`` (no
  retraining), ``magnitude_retrained``, ``hessian_retrained`` (refit on the kept support with fresh
  samples, Definition 5);
* ``oracle`` -- the model trained on the s features of largest true saliency lambda B^2 among the p.

Small-model baselines (no big model is ever fitted):

* ``small_random`` -- train small on s features not chosen by saliency: the first row of the sweep,
  kappa = s/n, alpha = 1 (every rule there is this dense fit);
* ``small_oracle`` -- train small on the s best features of the whole world (the oracle at
  kappa_max, the paper's "known informative features").

:func:`advise` sweeps kappa from s/n up to kappa_max on a geometric grid, evaluates every rule with
:func:`dcpredict.predict`, and reports the best choice against both baselines.
:func:`phase_map` draws, over a (kappa, alpha) grid (:func:`dcpredict.predict_grid`, the paper's
native setting where the model uses all p = kappa n features of the world), where pruning to alpha
beats training the s = alpha p model small.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._validate import DCPredictError, check_array, check_int, check_real
from .law import Law

__all__ = ["advise", "Advice", "PRUNE_RULES", "TABLE_RULES", "phase_map", "PhaseMap", "PHASES", "sub_problem"]

#: pruning a model of size p down to s weights
PRUNE_RULES = ("magnitude", "hessian", "random", "magnitude_retrained", "hessian_retrained")
TABLE_RULES = PRUNE_RULES + ("small_oracle",)
DEFAULT_NUM = 120
DEFAULT_SPAN = 5.0
#: the default pool of features is at least this many per sample, so that a small budget still
#: gets an overparameterized option and the default never sits on the interpolation peak kappa = 1
DEFAULT_MIN_KAPPA_MAX = 3.0


def sub_problem(law: Law, sigma2: float, kappa: float, kappa_max: float) -> tuple[Law, float]:
    """The LGP of a model that uses a random kappa n of the kappa_max n features of the world
    (THEORY.md s.4 with a data-independent support of fraction f = kappa / kappa_max): law
    (lambda, sqrt(f) b, w) and noise sigma^2 + (1 - f) E[Lambda B^2]."""
    f = min(1.0, kappa / kappa_max)
    if f >= 1.0:
        return law, sigma2
    signal = float(np.sum(law.weights * law.lam * law.b ** 2))
    return Law(law.lam, np.sqrt(f) * law.b, law.weights), sigma2 + (1.0 - f) * signal


@dataclass
class Advice:
    """Result of :func:`advise`.

    ``rows``: one dict per (kappa, rule) of the sweep with kappa, p, alpha, s, rule, risk.
    ``best``: the row of lowest risk among the pruning rules (at kappa = s/n, alpha = 1, the rule is
    the small model itself: ``rule`` is then "no pruning").  ``baselines``: ``small_random`` and
    ``small_oracle`` at the best choice's s (module docstring).  ``prune_beats_small`` /
    ``prune_beats_oracle``: whether pruning a bigger model (kappa > s/n) has lower risk than them.
    """
    law: Law
    sigma2: float
    n: int
    ridge: float
    mode: str                 # "s" (fixed budget) or "alpha" (fixed kept fraction)
    budget: float             # s (mode "s") or alpha (mode "alpha")
    kappa_max: float
    kappas: np.ndarray
    rows: list[dict] = field(repr=False)
    best: dict = field(default_factory=dict)
    best_pruned: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)

    @property
    def prune_beats_small(self) -> bool:
        return self.best_pruned["risk"] < self.baselines["small_random"]["risk"] * (1 - 1e-9)

    @property
    def prune_beats_oracle(self) -> bool:
        return self.best_pruned["risk"] < self.baselines["small_oracle"]["risk"] * (1 - 1e-9)

    def table(self, rules: tuple[str, ...] = TABLE_RULES) -> dict[str, np.ndarray]:
        """Risk per rule as arrays over ``kappas``."""
        out = {r: np.full(self.kappas.size, np.nan) for r in rules}
        index = {float(k): i for i, k in enumerate(self.kappas)}
        for row in self.rows:
            if row["rule"] in out:
                out[row["rule"]][index[row["kappa"]]] = row["risk"]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: inputs, best choice, baselines, verdicts and the full table (inf -> None)."""
        def clean(r):
            return {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in r.items()}
        return {"law": self.law.to_dict(), "sigma2": self.sigma2, "n": self.n, "ridge": self.ridge,
                "mode": self.mode, ("s" if self.mode == "s" else "alpha"): self.budget, "kappa_max": self.kappa_max,
                "best": clean(self.best), "best_pruned": clean(self.best_pruned),
                "baselines": {k: clean(v) for k, v in self.baselines.items()},
                "prune_beats_small": self.prune_beats_small, "prune_beats_oracle": self.prune_beats_oracle,
                "rows": [clean(r) for r in self.rows]}

    def summary(self, max_rows: int = 12) -> str:
        """Readable report: the verdict, the best choice, the baselines and a thinned table."""
        b, bp = self.best, self.best_pruned
        budget = f"s = {self.budget:g} weights (s/n = {self.budget / self.n:.4g})" if self.mode == "s" \
            else f"alpha = s/p = {self.budget:g}"
        sr, so = self.baselines["small_random"], self.baselines["small_oracle"]
        lines = ["dcpredict advice: train small or prune big? (asymptotic DC, THEORY.md s.2-4)", "=" * 80,
                 f"law: {self.law!r}",
                 f"n = {self.n}, {budget}, sigma2 = {self.sigma2:g}, ridge = {self.ridge:g}, "
                 f"features available P = {self.kappa_max * self.n:.6g} (kappa_max = {self.kappa_max:.4g})",
                 "-" * 80,
                 f"BEST:          {_describe(b)}",
                 f"best pruned:   {_describe(bp)}",
                 f"train small, s random features:   risk {sr['risk']:.6g}",
                 f"train small, s best features (oracle, needs the true saliencies): risk {so['risk']:.6g}",
                 f"reference: the zero model (no features) has risk sigma2 + E[Lambda B^2] = "
                 f"{self.baselines['zero_model']['risk']:.6g}",
                 f"verdict: pruning a bigger model {'BEATS' if self.prune_beats_small else 'does not beat'} "
                 f"training small ({bp['risk']:.6g} vs {sr['risk']:.6g}) and "
                 f"{'BEATS' if self.prune_beats_oracle else 'does not beat'} the oracle small model",
                 *([f"note: the best option is within 5 % of the zero model: at this budget no model "
                    f"extracts much of the signal (more samples or a larger s would)"]
                   if b["risk"] > 0.95 * self.baselines["zero_model"]["risk"] else []),
                 "-" * 80,
                 f"{'kappa':>8}{'p':>9}{'alpha':>8}{'s':>8}  " + "".join(f"{_short(r):>9}" for r in TABLE_RULES),
                 "-" * 80]
        tab = self.table()
        idx = np.unique(np.linspace(0, self.kappas.size - 1, min(max_rows, self.kappas.size)).round().astype(int))
        kb = int(np.argmin(np.abs(self.kappas - b["kappa"])))
        idx = np.unique(np.append(idx, kb))
        for i in idx:
            k = float(self.kappas[i])
            p, alpha, s = _sizes(self, k)
            mark = " <- best" if i == kb else ""
            lines.append(f"{k:>8.4g}{p:>9.1f}{alpha:>8.4f}{s:>8.1f}  "
                         + "".join(f"{tab[r][i]:>9.4g}" for r in TABLE_RULES) + mark)
        lines.append("=" * 80)
        lines.append("mag/hes/rand: pruning without retraining; *_rt: + retraining on fresh samples; "
                     "oracle: best s of the model's p features")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def phase_map(self, path: str | Path | None = None, *, kappas: Any = None, alphas: Any = None) -> "PhaseMap":
        """The (kappa, alpha) map of :func:`phase_map` for this law, with the world point
        (kappa_max, s / P) marked."""
        return phase_map(self.law, sigma2=self.sigma2, ridge=self.ridge, kappas=kappas, alphas=alphas,
                         path=path, advice=self)


def _short(rule: str) -> str:
    return {"magnitude": "mag", "hessian": "hes", "random": "rand", "magnitude_retrained": "mag_rt",
            "hessian_retrained": "hes_rt", "small_oracle": "oracle"}[rule]


def _sizes(adv: Advice, kappa: float) -> tuple[float, float, float]:
    p = kappa * adv.n
    if adv.mode == "s":
        return p, min(1.0, adv.budget / p), adv.budget
    return p, adv.budget, adv.budget * p


def _describe(r: dict) -> str:
    if r["alpha"] >= 1.0 - 1e-12:
        return f"train the small model directly (p = s = {r['p']:.4g}, no pruning): risk {r['risk']:.6g}"
    return (f"fit p = {r['p']:.4g} features (kappa = {r['kappa']:.4g}), {r['rule']} to alpha = {r['alpha']:.4g} "
            f"(s = {r['s']:.4g}): risk {r['risk']:.6g}")


def _check_law(law: Any) -> Law:
    if not isinstance(law, Law):
        raise DCPredictError(f"law must be a dcpredict.Law; got {type(law).__name__}")
    return law


def advise(law: Law, *, sigma2: float, n: int, s: float | None = None, alpha: float | None = None,
           ridge: float = 0.0, kappa_max: float | None = None, kappas: Any = None,
           num: int = DEFAULT_NUM) -> Advice:
    """Which model size and pruning rule give the lowest predicted risk at a parameter budget.

    Parameters
    ----------
    law : Law
        Law of (Lambda, B) of the available features (THEORY.md s.1; module docstring).
    sigma2 : float >= 0
        Label noise variance.
    n : int >= 1
        Training samples.
    s : float > 0, optional
        Budget: weights kept in the deployed model (may be fractional: the theory is in s/n).  The
        sweep is kappa = p/n from s/n (alpha = 1: train small) to ``kappa_max``, alpha = s/(kappa n).
    alpha : float in (0, 1], optional
        Instead of s: a fixed kept fraction; the sweep is kappa over [alpha-independent grid up to
        kappa_max] with s = alpha kappa n; the baselines are taken at the best point's s.
        Give exactly one of ``s`` and ``alpha``.
    ridge : float >= 0
        Ridge penalty of every fit (0: min-norm / OLS).
    kappa_max : float, optional
        Features available, as a ratio P / n (default max(5 s/n, 3) in mode s, 10 in mode alpha).
        The answer depends on it (the world has P features): give it when you know it.
    kappas : array, optional
        Explicit sweep (each in [s/n, kappa_max] in mode s, in (0, kappa_max] in mode alpha).
    num : int
        Size of the default geometric grid.

    Returns
    -------
    Advice
        Every (kappa, rule) risk, the best choice and the small-model baselines; ``summary()``
        prints the table, ``phase_map(path)`` draws the map.
    """
    from .theory import predict
    law = _check_law(law)
    sigma2 = check_real("sigma2", sigma2, lo=0.0)
    n = check_int("n", n, lo=1)
    ridge = check_real("ridge", ridge, lo=0.0)
    num = check_int("num", num, lo=2, hi=100_000)
    if (s is None) == (alpha is None):
        raise DCPredictError(f"give exactly one of s (weights kept) and alpha (fraction kept); got s={s!r}, alpha={alpha!r}")
    if s is not None:
        mode, budget = "s", check_real("s", s, lo=0.0, lo_open=True)
        k_lo = budget / n
        kmax = (max(DEFAULT_SPAN * k_lo, DEFAULT_MIN_KAPPA_MAX) if kappa_max is None
                else check_real("kappa_max", kappa_max, lo=k_lo))
    else:
        mode, budget = "alpha", check_real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True)
        kmax = 10.0 if kappa_max is None else check_real("kappa_max", kappa_max, lo=0.0, lo_open=True)
        k_lo = kmax / 200.0
    if kappas is None:
        ks = np.geomspace(k_lo, kmax, num) if kmax > k_lo else np.array([k_lo])
        ks[0], ks[-1] = k_lo, kmax
    else:
        ks = check_array("kappas", kappas, lo=0.0, lo_open=True)
        if ks.min() < k_lo * (1 - 1e-12) and mode == "s":
            raise DCPredictError(f"kappas must be >= s/n = {k_lo:g} (a model smaller than the budget cannot be "
                             f"pruned to s weights); got {float(ks.min())!r}")
        if ks.max() > kmax * (1 + 1e-12):
            raise DCPredictError(f"kappas must be <= kappa_max = {kmax:g} (the features available); "
                             f"got {float(ks.max())!r}")
    ks = np.unique(ks)
    rows: list[dict] = []
    for k in ks:
        k = float(k)
        a = min(1.0, budget / (k * n)) if mode == "s" else budget
        sub, s2 = sub_problem(law, sigma2, k, kmax)
        pred = predict(sub, kappa=k, alpha=a, sigma2=s2, ridge=ridge)
        for rule in TABLE_RULES:
            rows.append({"kappa": k, "p": k * n, "alpha": a, "s": a * k * n, "rule": rule,
                         "risk": float(getattr(pred, rule))})
    prune_rows = [r for r in rows if r["rule"] in PRUNE_RULES]
    best = dict(min(prune_rows, key=lambda r: (r["risk"], r["kappa"])))
    if best["alpha"] >= 1.0 - 1e-12:
        best["rule"] = "no pruning"
    pruned = [r for r in prune_rows if r["alpha"] < 1.0 - 1e-12]
    best_pruned = dict(min(pruned, key=lambda r: (r["risk"], r["kappa"]))) if pruned else dict(best)
    s_ref = best["s"]
    k_small = s_ref / n
    sub, s2 = sub_problem(law, sigma2, k_small, kmax)
    small_random = float(predict(sub, kappa=k_small, alpha=1.0, sigma2=s2, ridge=ridge).dense)
    a_world = min(1.0, s_ref / (kmax * n))
    small_oracle = float(predict(law, kappa=kmax, alpha=a_world, sigma2=sigma2, ridge=ridge).small_oracle)
    baselines = {"small_random": {"kappa": k_small, "p": s_ref, "alpha": 1.0, "s": s_ref, "rule": "dense",
                                  "risk": small_random},
                 "small_oracle": {"kappa": kmax, "p": kmax * n, "alpha": a_world, "s": s_ref, "rule": "oracle",
                                  "risk": small_oracle},
                 "zero_model": {"kappa": 0.0, "p": 0.0, "alpha": 0.0, "s": 0.0, "rule": "zero",
                                "risk": sigma2 + float(np.sum(law.weights * law.lam * law.b ** 2))}}
    return Advice(law=law, sigma2=sigma2, n=n, ridge=ridge, mode=mode, budget=budget, kappa_max=kmax, kappas=ks,
                  rows=rows, best=best, best_pruned=best_pruned, baselines=baselines)


# ------------------------------------------------------------------------------------------ phase map
#: categories of the phase map, in colour order
PHASES = ("pruning beats the oracle small model", "pruning beats a random-subset small model only",
          "training small is as good or better")


@dataclass
class PhaseMap:
    """Category per (kappa, alpha): 0 pruning beats the oracle, 1 beats the non-oracle small model
    only, 2 training small wins; ``best_rule`` names the best pruning rule per point."""
    kappas: np.ndarray
    alphas: np.ndarray
    category: np.ndarray
    best_rule: np.ndarray
    best_prune: np.ndarray
    oracle: np.ndarray
    random_subset: np.ndarray
    path: Path | None = None

    def fractions(self) -> dict[str, float]:
        return {name: float(np.mean(self.category == i)) for i, name in enumerate(PHASES)}


def phase_map(law: Law, *, sigma2: float, ridge: float = 0.0, kappas: Any = None, alphas: Any = None,
              path: str | Path | None = None, advice: Advice | None = None) -> PhaseMap:
    """Where pruning a model of size kappa n to alpha beats training the s = alpha kappa n model small.

    At each (kappa, alpha) of the grid (default kappa log-spaced on [0.1, 20], alpha on [0.02, 1]):
    best pruning = min(magnitude, Hessian, magnitude + retrain, Hessian + retrain); compared with the
    oracle small model and the random-subset small model at the same (kappa, alpha) (module docstring).
    Here the model of size p uses all p = kappa n features of the problem (the paper's setting).
    Writes a PNG if ``path`` is given; with ``advice`` (mode s) marks the world point (kappa_max, s/P).
    """
    from .theory import predict_grid
    law = _check_law(law)
    ks = np.geomspace(0.1, 20.0, 160) if kappas is None else check_array("kappas", kappas, lo=0.0, lo_open=True)
    al = np.geomspace(0.02, 1.0, 120) if alphas is None else check_array("alphas", alphas, lo=0.0, lo_open=True, hi=1.0)
    g = predict_grid(law, ks, al, sigma2=sigma2, ridge=ridge)
    rules = ("magnitude", "hessian", "magnitude_retrained", "hessian_retrained")
    stack = np.stack([getattr(g, r) for r in rules])
    stack = np.where(np.isnan(stack), np.inf, stack)
    best = stack.min(axis=0)
    best_rule = np.array(rules, dtype=object)[stack.argmin(axis=0)]
    cat = np.full(best.shape, 2, dtype=int)
    tol = 1.0 - 1e-9   # ties (alpha = 1: every rule is the dense fit) count as "training small wins"
    cat[best < g.random_retrained * tol] = 1
    cat[best < g.small_oracle * tol] = 0
    pm = PhaseMap(ks, al, cat, best_rule, best, g.small_oracle, g.random_retrained)
    if path is not None:
        pm.path = _draw_map(pm, law, sigma2, ridge, Path(path), advice)
    return pm


def _draw_map(pm: PhaseMap, law: Law, sigma2: float, ridge: float, path: Path, advice: Advice | None) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    colors = ["#2ca25f", "#99d8c9", "#f0f0f0"]
    fig, ax = plt.subplots(figsize=(7.4, 5.4))
    K, A = np.meshgrid(pm.kappas, pm.alphas, indexing="ij")
    ax.pcolormesh(K, A, pm.category, cmap=ListedColormap(colors), vmin=-0.5, vmax=2.5, shading="nearest")
    # hatch where retraining is the best pruning rule
    retr = np.isin(pm.best_rule, ["magnitude_retrained", "hessian_retrained"]) & (pm.category < 2)
    if retr.any():
        ax.contourf(K, A, retr.astype(float), levels=[0.5, 1.5], colors="none", hatches=["///"])
    ax.plot(pm.kappas, np.minimum(1.0, 1.0 / pm.kappas), "k:", lw=1)
    ax.axvline(1.0, color="k", ls=":", lw=1)
    handles = [Patch(facecolor=c, edgecolor="0.5", label=l) for c, l in zip(colors, PHASES)]
    handles.append(Patch(facecolor="white", edgecolor="0.3", hatch="///", label="best pruning rule retrains"))
    if advice is not None and advice.mode == "s":
        kw, aw = advice.kappa_max, advice.budget / (advice.kappa_max * advice.n)
        pt, = ax.plot([kw], [aw], "r*", ms=14, label=f"all P features, budget s: kappa={kw:.3g}, alpha={aw:.3g}")
        handles.append(pt)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("kappa = p / n  (size of the model trained before pruning)")
    ax.set_ylabel("alpha = s / p  (fraction of weights kept)")
    ax.set_title("Prune big or train small?  (dotted: kappa = 1 and alpha kappa = 1)", fontsize=10)
    ax.legend(handles=handles, fontsize=7.5, loc="lower left", framealpha=0.9)
    lam = ", ".join(f"{x:.3g}" for x in law.lam[:6]) + (", ..." if law.lam.size > 6 else "")
    bb = ", ".join(f"{x:.3g}" for x in law.b[:6]) + (", ..." if law.b.size > 6 else "")
    ww = ", ".join(f"{x:.3g}" for x in law.weights[:6]) + (", ..." if law.weights.size > 6 else "")
    fig.text(0.01, 0.01, f"law: lambda=({lam}), B=({bb}), w=({ww}); sigma^2={sigma2:g}, ridge={ridge:g}. "
             "pruning = best of magnitude/Hessian, +- fresh retraining", fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
