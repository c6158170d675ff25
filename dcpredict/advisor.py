"""Train small or prune big?  The model size and pruning rule with the lowest predicted risk in a fixed world.

The question of the paper (Chang, Li, Oymak, Thrampoulidis, AAAI 2021, Sec. 1 and Figs. 3, 7): with n
samples and a budget of s weights in the deployed model, should one train a model of s features, or
train a bigger model of p features and prune it to s?

The answer depends on the world, so the user states it: a law of (Lambda, B) and the number P of
features the world offers (or a finite spectrum, :meth:`dcpredict.Law.empirical`, whose length is P).
There is no default pool.  In that world (theory page, section :ref:`theory-world`) a model fits the
first p features (``order="saliency"``, the paper's experiment, or ``order="random"``), s <= p <= P,
and is pruned to s weights by magnitude, Hessian or random pruning, with or without a refit on fresh
samples.  :func:`advise` searches every integer p (a dense grid refined to the integer minimum when
P - s is large) with :func:`dcpredict.predict_world_curve`, checks the minimum against its integer
neighbours with :func:`dcpredict.predict_world`, and compares it with what needs no big model:

- ``small_random``: train on s features not chosen by saliency;
- ``small_top_variance``: train on the s features of largest variance (needs no labels);
- ``small_oracle``: train on the s features of largest true saliency (needs the truth: a bound);
- ``zero_model``: predict 0, risk sigma^2 + E[Lambda B^2].

Every comparison uses a stated relative tolerance: within it the verdict is "ties", not "beats".
:func:`phase_map` computes, in the same world model, which option is best at every (model size p,
budget s).
"""
from __future__ import annotations

import math
import textwrap
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._results import Result, fmt as _fmt
from ._validate import DCPredictError, check_int, check_real
from .law import Law

__all__ = ["advise", "Advice", "PRUNE_RULES", "ALLOWED_RULES", "BASELINES", "DEFAULT_TOL", "phase_map",
           "PhaseMap", "PHASES"]

#: the pruning rules searched by default: no refit, and refit on fresh samples (Definition 5)
PRUNE_RULES = ("magnitude", "hessian", "random", "magnitude_retrained", "hessian_retrained", "random_retrained")
#: rules that may be searched (``oracle_pruned`` needs the true saliencies: a bound, not a method)
ALLOWED_RULES = PRUNE_RULES + ("oracle_pruned",)
#: models that need no big model, compared with the best pruned model
BASELINES = ("small_random", "small_top_variance", "small_oracle")
#: default relative tolerance of every verdict
DEFAULT_TOL = 1e-3
#: every integer p in [s, P] is evaluated when P - s is at most this
EXHAUSTIVE_LIMIT = 2000
#: points of the coarse grid (and of each refinement) when P - s is larger
GRID_POINTS = 2001
#: a grid minimum is refined when its risk is within this relative margin of the rule's grid minimum
_REFINE_MARGIN = 1e-2
_REFINE_MAX = 8
#: risks within this relative difference are numerically the same (the roots are certified to 1e-12; the
#: risks' last digits differ between code paths): the smaller p, then the first rule listed, is reported
SAME_RISK = 1e-10


# ----------------------------------------------------------------------------------------- inputs
def _is_empirical(law: Law) -> bool:
    return law.description.startswith("empirical")


def _check_inputs(law: Any, sigma2: Any, n: Any, s: Any, P: Any, order: Any, ridge: Any, rules: Any,
                  tol: Any) -> tuple[Law, float, int, int, int, str, str, float, tuple[str, ...], float]:
    if not isinstance(law, Law):
        raise DCPredictError(f"law must be a dcpredict.Law; got {type(law).__name__}")
    if P is None:
        if not _is_empirical(law):
            raise DCPredictError("P (the number of features in the world) is required: the answer depends on it; "
                                 "give P=..., or a finite spectrum as Law.empirical(lam, b), whose length is P")
        P, P_from = law.n_atoms, "the empirical law's number of features"
    else:
        P_from = "given"
    P = check_int("P", P, lo=1)
    s = check_int("s", s, lo=1)
    if s > P:
        raise DCPredictError(f"s must be an integer in [1, P] = [1, {P}] (the world has P features); got {s}")
    n = check_int("n", n, lo=1)
    sigma2 = check_real("sigma2", sigma2, lo=0.0)
    ridge = check_real("ridge", ridge, lo=0.0)
    if order not in ("saliency", "random"):
        raise DCPredictError(f"order must be 'saliency' or 'random'; got {order!r}")
    tol = check_real("tol", tol, lo=0.0, hi=0.5, hi_open=True)
    if isinstance(rules, str):
        rules = (rules,)
    try:
        rules = tuple(rules)
    except TypeError:
        raise DCPredictError(f"rules must be a sequence of rule names from {', '.join(ALLOWED_RULES)}; "
                             f"got {rules!r}") from None
    if not rules or any(r not in ALLOWED_RULES for r in rules) or len(set(rules)) != len(rules):
        raise DCPredictError(f"rules must be distinct names from {', '.join(ALLOWED_RULES)}; got {rules!r}")
    return law, sigma2, n, s, P, P_from, order, ridge, rules, tol


# ----------------------------------------------------------------------------------------- verdicts
def _compare(risk: float, baseline: float, tol: float) -> tuple[str, float]:
    """("beats" | "ties" | "loses to", relative gap risk / baseline - 1).

    A tie: |risk - baseline| <= tol * max(risk, baseline) (both inf is a tie; finite vs inf is not).
    The gap is -1 for a finite risk against an infinite baseline, +inf for the converse, 0 for a tie of infs.
    """
    if math.isinf(risk) or math.isinf(baseline):
        if math.isinf(risk) and math.isinf(baseline):
            return "ties", 0.0
        return ("beats", -1.0) if math.isinf(baseline) else ("loses to", math.inf)
    gap = risk / baseline - 1.0 if baseline > 0.0 else (0.0 if risk == 0.0 else math.inf)
    if abs(risk - baseline) <= tol * max(abs(risk), abs(baseline)):
        return "ties", gap
    return ("beats" if risk < baseline else "loses to"), gap


# ----------------------------------------------------------------------------------------- the search
def _grid(lo: int, hi: int, n: int, num: int = GRID_POINTS) -> np.ndarray:
    """Integers in [lo, hi]: every one if few, else an even grid, a geometric grid and the integers near n."""
    if hi - lo + 1 <= num:
        return np.arange(lo, hi + 1, dtype=np.int64)
    half = num // 2
    parts = [np.linspace(lo, hi, half), np.geomspace(lo, hi, num - half), np.arange(n - 3, n + 4)]
    g = np.unique(np.concatenate(parts).round().astype(np.int64))
    return g[(g >= lo) & (g <= hi)]


def _curve_values(law: Law, ps: np.ndarray, *, n, P, s, sigma2, ridge, order, rules) -> dict[str, np.ndarray]:
    from .world import predict_world_curve
    c = predict_world_curve(law, n=n, P=P, s=s, sigma2=sigma2, ps=ps, ridge=ridge, order=order)
    return {r: np.asarray(getattr(c, r), dtype=float) for r in rules}


def _local_minima(v: np.ndarray) -> np.ndarray:
    """Indices i with v[i] <= both neighbours (end points compare with their one neighbour)."""
    if v.size == 1:
        return np.array([0])
    left = np.concatenate(([True], v[1:] <= v[:-1]))
    right = np.concatenate((v[:-1] <= v[1:], [True]))
    return np.flatnonzero(left & right & np.isfinite(v))


def _search(law: Law, *, n, P, s, sigma2, ridge, order, rules) -> tuple[np.ndarray, dict[str, np.ndarray], bool]:
    """Risks of every rule on a set of integer p that contains each rule's integer minimum.

    Returns (ps, {rule: risks}, exhaustive).  With P - s <= EXHAUSTIVE_LIMIT every integer is evaluated.
    Otherwise a grid of GRID_POINTS integers is evaluated and the bracket around each grid minimum of each
    rule within _REFINE_MARGIN of the rule's grid minimum (at most _REFINE_MAX per rule) is narrowed by
    grids of GRID_POINTS until every integer in it is evaluated.
    """
    kw = dict(n=n, P=P, s=s, sigma2=sigma2, ridge=ridge, order=order, rules=rules)
    exhaustive = P - s <= EXHAUSTIVE_LIMIT
    ps = _grid(s, P, n, num=EXHAUSTIVE_LIMIT + 1 if exhaustive else GRID_POINTS)
    vals = _curve_values(law, ps, **kw)
    if exhaustive:
        return ps, vals, True
    store = {int(p): {r: float(vals[r][i]) for r in rules} for i, p in enumerate(ps)}

    def evaluate(new: np.ndarray) -> None:
        new = np.array([p for p in np.unique(new) if int(p) not in store], dtype=np.int64)
        if new.size:
            v = _curve_values(law, new, **kw)
            for i, p in enumerate(new):
                store[int(p)] = {r: float(v[r][i]) for r in rules}

    for rule in rules:
        v = vals[rule]
        finite = v[np.isfinite(v)]
        if finite.size == 0:
            continue
        cand = [i for i in _local_minima(v) if v[i] <= finite.min() * (1.0 + _REFINE_MARGIN)]
        cand = sorted(cand, key=lambda i: v[i])[:_REFINE_MAX]
        for i in cand:
            lo, hi = int(ps[max(i - 1, 0)]), int(ps[min(i + 1, ps.size - 1)])
            while hi - lo + 1 > GRID_POINTS:
                sub = np.unique(np.linspace(lo, hi, GRID_POINTS).round().astype(np.int64))
                evaluate(sub)
                sv = np.array([store[int(p)][rule] for p in sub])
                j = int(np.argmin(sv))
                lo, hi = int(sub[max(j - 1, 0)]), int(sub[min(j + 1, sub.size - 1)])
            evaluate(np.arange(lo, hi + 1, dtype=np.int64))
    all_ps = np.array(sorted(store), dtype=np.int64)
    return all_ps, {r: np.array([store[int(p)][r] for p in all_ps]) for r in rules}, False


def _argmin(ps: np.ndarray, v: np.ndarray) -> tuple[int, float]:
    """(p, risk) of the smallest p whose risk is within SAME_RISK of the lowest; (ps[0], inf) if all are inf."""
    low = float(np.min(v))
    if not math.isfinite(low):
        return int(ps[0]), low
    i = int(np.flatnonzero(v <= low + SAME_RISK * abs(low))[0])
    return int(ps[i]), float(v[i])


def _verify(law: Law, p: int, rule: str, risk: float, *, n, P, s, sigma2, ridge, order,
            cache: dict) -> tuple[int, float]:
    """Check (p, risk) with predict_world at p and its integer neighbours; walk downhill while a neighbour is
    lower by more than SAME_RISK (relative).

    Raises RuntimeError if predict_world and the curve disagree at p (relative 1e-8): a bug, never a number.
    """
    from .world import predict_world

    def at(q: int) -> float:
        if q not in cache:
            cache[q] = predict_world(law, n=n, P=P, p=q, s=s, sigma2=sigma2, ridge=ridge, order=order)
        return float(getattr(cache[q], rule))

    here = at(p)
    if not (here == risk or abs(here - risk) <= 1e-8 * abs(risk)):
        raise RuntimeError(f"advisor: predict_world ({here!r}) and predict_world_curve ({risk!r}) disagree for "
                           f"{rule} at p = {p}")
    for _ in range(P - s + 1):
        nbrs = [q for q in (p - 1, p + 1) if s <= q <= P]
        best_q = min(nbrs, key=at, default=p)
        if at(best_q) < here - SAME_RISK * abs(here):
            p, here = best_q, at(best_q)
        else:
            break
    return p, here


# ----------------------------------------------------------------------------------------- result
class AdviceVerdicts:
    """The verdicts shared by :class:`Advice` and the dataset advisor's ``DataAdvice``: the best model against
    each baseline and the zero model, with the relative tolerance ``tol`` (a subclass has ``best_p``,
    ``best_risk``, the baseline risks, ``zero_model``, ``tol``, ``s``, ``n``, ``P``, ``ps``, ``rules`` and
    ``curves``)."""

    @property
    def baselines(self) -> dict[str, float]:
        """Risks of the small models (no big model): small_random, small_top_variance, small_oracle."""
        return {k: getattr(self, k) for k in BASELINES}

    @property
    def best_at_edge(self) -> bool:
        """True iff the best p is P: the risk still falls at the largest model, more features would help."""
        return self.best_p == self.P

    @property
    def verdicts(self) -> dict[str, dict[str, Any]]:
        """For each baseline and the zero model: ``{"verdict", "risk", "relative_gap"}`` of the best model.

        ``verdict`` is "beats", "ties" or "loses to" with relative tolerance ``tol``; ``relative_gap`` is
        best_risk / risk - 1 (negative: the best pruned model is better).
        """
        out = {}
        for name in BASELINES + ("zero_model",):
            ref = getattr(self, name)
            verdict, gap = _compare(self.best_risk, ref, self.tol)
            out[name] = {"verdict": verdict, "risk": ref, "relative_gap": gap}
        return out

    @property
    def nothing_beats_zero(self) -> bool:
        """True iff neither the best pruned model nor any baseline beats the zero model beyond ``tol``."""
        return all(_compare(r, self.zero_model, self.tol)[0] != "beats"
                   for r in (self.best_risk, *self.baselines.values()))

    def _where(self, p: int) -> str:
        if p == self.s:
            return "p = s (nothing pruned)" if p != self.P else "p = s = P"
        return "edge p = P" if p == self.P else "interior"

    def _curve_table(self, max_rows: int) -> list[str]:
        """The searched curves thinned to about ``max_rows`` rows of p, the best p always included."""
        short = {"magnitude": "mag", "hessian": "hes", "random": "rand", "magnitude_retrained": "mag_rt",
                 "hessian_retrained": "hes_rt", "random_retrained": "rand_rt", "oracle_pruned": "orc_pr"}
        idx = np.unique(np.linspace(0, self.ps.size - 1, min(max_rows, self.ps.size)).round().astype(int))
        kb = int(np.searchsorted(self.ps, self.best_p))
        idx = np.unique(np.append(idx, kb))
        lines = [f"{'p':>7}{'p/n':>8}" + "".join(f"{short[r]:>11}" for r in self.rules)]
        for i in idx:
            p = int(self.ps[i])
            lines.append(f"{p:>7}{p / self.n:>8.3g}" + "".join(f"{_fmt(self.curves[r][i], 5):>11}" for r in self.rules)
                         + ("  <- best" if i == kb else ""))
        return lines


@dataclass(frozen=True, repr=False)
class Advice(AdviceVerdicts, Result):
    """Result of :func:`advise`: the best model size and pruning rule in a fixed world, and the baselines.

    Attributes
    ----------
    law, n, P, s, sigma2, ridge, order, rules, tol
        The inputs (``P_from`` says whether P was given or read from an empirical law).
    best_p, best_rule, best_risk
        The integer p in [s, P] and the rule of lowest predicted risk (at p = s nothing is pruned: every
        rule is the model of the first s features itself).
    rule_optima
        For each rule searched, ``{"p": int, "risk": float}`` of its own lowest risk.
    small_random, small_top_variance, small_oracle, zero_model
        The baselines' risks (module docstring).
    ps, curves
        The integer p evaluated and each rule's risk there (every integer in [s, P] if ``exhaustive``).
    """
    law: Law
    n: int
    P: int
    s: int
    sigma2: float
    ridge: float
    order: str
    rules: tuple
    tol: float
    P_from: str
    best_p: int
    best_rule: str
    best_risk: float
    rule_optima: dict
    small_random: float
    small_top_variance: float
    small_oracle: float
    zero_model: float
    ps: np.ndarray = field(repr=False)
    curves: dict = field(repr=False)
    exhaustive: bool = True
    #: with ``advise(..., ridge="optimal")``: the ridge of each baseline (each tuned for itself); else None
    baseline_ridges: dict | None = None

    # ------------------------------------------------------------------ derived
    @property
    def best(self) -> dict[str, Any]:
        """``{"p", "rule", "risk"}`` of the best pruned model."""
        return {"p": self.best_p, "rule": self.best_rule, "risk": self.best_risk}

    # ------------------------------------------------------------------ contract
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: best, baselines, zero model, best_at_edge, verdicts, per-rule optima, inputs, search."""
        return {
            "best": {"p": self.best_p, "rule": self.best_rule, "risk": self.best_risk},
            "baselines": {k: getattr(self, k) for k in BASELINES},
            "zero_model": self.zero_model,
            "best_at_edge": self.best_at_edge,
            "nothing_beats_zero": self.nothing_beats_zero,
            "verdicts": self.verdicts,
            "tolerance": self.tol,
            "rule_optima": {r: {"p": int(v["p"]), "risk": float(v["risk"]), "where": self._where(int(v["p"]))}
                            for r, v in self.rule_optima.items()},
            "inputs": {"world": {**self.law.to_dict(), "P": self.P}, "P_from": self.P_from, "n": self.n,
                       "s": self.s, "sigma2": self.sigma2, "ridge": self.ridge, "order": self.order,
                       "rules": list(self.rules), "tol": self.tol},
            "search": {"p_min": self.s, "p_max": self.P, "points": int(self.ps.size),
                       "every_integer": bool(self.exhaustive)},
        }

    def _records(self) -> list[dict[str, Any]]:
        """One row per option: each rule at its own best p, then the baselines and the zero model."""
        rows = [{"option": r, "kind": "prune", "p": int(v["p"]), "s": self.s, "risk": float(v["risk"]),
                 "where": self._where(int(v["p"]))} for r, v in self.rule_optima.items()]
        for k in BASELINES:
            rows.append({"option": k, "kind": "baseline", "p": self.s, "s": self.s, "risk": getattr(self, k),
                         "where": "train small"})
        rows.append({"option": "zero_model", "kind": "baseline", "p": 0, "s": 0, "risk": self.zero_model,
                     "where": "predict 0"})
        return rows

    def summary(self, max_rows: int = 10) -> str:
        """The framing, ONE best line, the per-rule optima, the baselines, the verdicts and a thinned curve."""
        W = 90
        search = (f"every integer p in [{self.s}, {self.P}] ({self.ps.size} models)" if self.exhaustive else
                  f"{self.ps.size} integer p in [{self.s}, {self.P}] (grid refined to every integer near each minimum)")
        b = self.best
        what = (f"no pruning: train the first s = {self.s} features ({self.order} order)" if b["p"] == self.s
                else f"fit p = {b['p']} features (p/n = {b['p'] / self.n:.4g}), prune to s = {self.s} by {b['rule']}")
        wrap = textwrap.TextWrapper(width=W, subsequent_indent="  ", break_on_hyphens=False)
        lines = [
            "dcpredict advice: train small or prune big?  (asymptotic theory; theory page, 'the fixed world')",
            "=" * W,
            *wrap.wrap(f"world: P = {self.P} features ({self.P_from}), {self.law!r}"),
            *wrap.wrap(f"n = {self.n} samples, sigma2 = {self.sigma2:g}, ridge = {self.ridge:g}"
                       + (" (tuned; each baseline at its own best ridge: " + ", ".join(
                           f"{k} {v:.4g}" for k, v in self.baseline_ridges.items()) + ")"
                          if self.baseline_ridges else "") + "; deploy s = "
                       f"{self.s} weights; the model fits the first p features in {self.order} order, s <= p <= P"),
            *wrap.wrap(f"searched: {search}; rules: {', '.join(self.rules)}"),
            "-" * W,
            *wrap.wrap(f"BEST: {what}: risk {_fmt(b['risk'])}"),
            *(wrap.wrap("note: the best p is P, the edge of the world: the risk still falls there, more "
                        "features would help") if self.best_at_edge else []),
            "-" * W,
            f"{'option':<24}{'p':>8}{'s':>8}{'risk':>14}  where / verdict of BEST (tolerance {self.tol:g})",
        ]
        for r, v in self.rule_optima.items():
            lines.append(f"{r:<24}{int(v['p']):>8}{self.s:>8}{_fmt(v['risk']):>14}  {self._where(int(v['p']))}")
        verdicts = self.verdicts
        for k in BASELINES + ("zero_model",):
            p_, s_ = (self.s, self.s) if k != "zero_model" else (0, 0)
            v = verdicts[k]
            gap = "" if not math.isfinite(v["relative_gap"]) else f" ({100 * v['relative_gap']:+.2f} %)"
            lines.append(f"{k:<24}{p_:>8}{s_:>8}{_fmt(v['risk']):>14}  BEST {v['verdict'].upper()} it{gap}")
        lines.append("-" * W)
        if self.nothing_beats_zero:
            lines += wrap.wrap("WARNING: nothing beats the zero model (predicting 0) beyond the tolerance: at this "
                               "budget no model extracts the signal; more samples or a larger s would be needed")
        lines += wrap.wrap("small_random: s features not chosen by saliency; small_top_variance: the s "
                           "largest-variance features (no labels needed); small_oracle: the s truly most salient "
                           "features (needs the truth); zero_model: predict 0, sigma2 + E[Lambda B^2]")
        lines += ["-" * W, *self._curve_table(max_rows)]
        lines.append("=" * W)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _plot(self, ax, logx: bool = True, logy: bool = True) -> None:
        """Each searched rule's risk against p, the baselines (dashed, constant in p) and the best choice
        (a star); a dotted line at p = n."""
        from ._results import plot_lines
        ps = np.asarray(self.ps, dtype=float)
        plot_lines(ax, ps, {r: np.asarray(self.curves[r], dtype=float) for r in self.rules},
                   dashed={k: np.full(ps.shape, float(getattr(self, k))) for k in (*BASELINES, "zero_model")},
                   logx=logx and ps.size > 1, logy=logy)
        ax.plot([self.best_p], [self.best_risk], "*", color="red", ms=14, mec="k",
                label=f"best: {self.best_rule} at p = {self.best_p}")
        if ps[0] <= self.n <= ps[-1]:
            ax.axvline(self.n, color="0.5", lw=0.8, ls=":")
        ax.legend(fontsize=7.5, frameon=False)
        ax.set_xlabel(f"p (features the model fits; n = {self.n}, P = {self.P}, pruned to s = {self.s})")
        ax.set_ylabel("test risk (theory)")
        ax.set_title(f"advice: prune a model of p features to s = {self.s}, or train small?", fontsize=10)

    def __repr__(self) -> str:
        return (f"Advice(P={self.P}, n={self.n}, s={self.s}, order={self.order!r}, best={self.best_rule} at "
                f"p={self.best_p} risk {_fmt(self.best_risk)}, small_oracle={_fmt(self.small_oracle)}, "
                f"zero_model={_fmt(self.zero_model)}, best_at_edge={self.best_at_edge})")

    def phase_map(self, path: str | Path | None = None, *, ps: Any = None, ss: Any = None,
                  progress: bool = True) -> "PhaseMap":
        """:func:`phase_map` of this world (same law, P, n, sigma2, ridge, order, rules, tol), with this
        advice's best point marked and its budget s among the rows; drawn to ``path`` if given."""
        if path is not None:
            from ._store import check_outputs
            check_outputs([path], "phase map")
        ss_arr = None if ss is None else np.asarray(ss)
        pm = phase_map(self.law, n=self.n, P=self.P, sigma2=self.sigma2, ridge=self.ridge, order=self.order,
                       rules=self.rules, tol=self.tol, ps=ps, ss=ss_arr, include=(self.best_p, self.s),
                       progress=progress)
        if path is not None:
            from .plotting import draw_phase_map
            draw_phase_map(pm, path)
        return pm


def advise(law: Law, *, sigma2: float | None = None, n: int, s: int, P: int | None = None, order: str | None = None,
           ridge: float = 0.0, rules: Sequence[str] = PRUNE_RULES, tol: float = DEFAULT_TOL,
           finite_size: bool = False) -> Advice:
    """The model size p and pruning rule with the lowest predicted risk at a budget of s weights.

    Parameters
    ----------
    law : Law
        The world's law of (Lambda, B) (theory page, section :ref:`theory-world`): the world has ``P``
        features, beta_i = B_i / sqrt(P).
    sigma2 : float
        Label noise variance, >= 0.
    n : int
        Number of training samples, >= 1.
    s : int
        Budget: weights kept in the deployed model, an integer in [1, P].
    P : int, optional
        Number of features in the world.  Required, except for an empirical law
        (:meth:`Law.empirical`, a finite spectrum), whose number of features is then P.
    order : {"saliency", "random"}
        Which p features a model of size p fits: the first by true saliency (the paper, the default) or p
        chosen without regard to saliency.  For a :class:`dcpredict.data.DataWorld` (``law`` may be one: then
        ``sigma2`` and ``P`` are not given, the dataset determines them) the orders are ``given`` (the default),
        ``variance`` and ``saliency``, and the answer is a :class:`dcpredict.data.DataAdvice`.
    ridge : float or "optimal"
        Ridge penalty r >= 0 of every fit (0: min-norm for p > n, OLS for p < n).  ``"optimal"`` tunes it:
        see :func:`_advise_tuned` (the answer then includes the regularisation, and every baseline is
        compared at its own best ridge).
    rules : sequence of str
        Pruning rules searched (default :data:`PRUNE_RULES`; ``oracle_pruned`` may be added).
    tol : float
        Relative tolerance of the verdicts, in [0, 0.5): within it the verdict is "ties".
    finite_size : bool
        True: every risk is the finite-size expected risk at these n, p and s (theory page,
        :ref:`theory-finite`; about a second per p, so p is searched on a coarse grid refined to the integer
        minimum); returns a :class:`~dcpredict.finite.FiniteAdvice` with the asymptotic answer alongside.

    Returns
    -------
    Advice
        The integer argmin p in [s, P] over the rules (checked against predict_world at p - 1, p, p + 1),
        each rule's own optimum, the baselines, the zero model, ``best_at_edge``, the verdicts and
        ``nothing_beats_zero``.

    Examples
    --------
    >>> law = dcpredict.Law([10.0, 1.0], [1.0, 1.0], [0.04, 0.96])
    >>> a = dcpredict.advise(law, sigma2=0.1, n=200, s=40, P=1000)        # doctest: +SKIP
    >>> a.best, a.best_at_edge, a.verdicts["small_oracle"]["verdict"]     # doctest: +SKIP
    """
    if type(law).__name__ == "DataWorld":  # a dataset (dcpredict.data): its own advisor, same answer format
        from .data._advise import advise_data
        if sigma2 is not None or P is not None:
            raise DCPredictError("a DataWorld determines sigma2 and P itself; do not pass sigma2= or P=")
        return advise_data(law, n=n, s=s, order="given" if order is None else order, ridge=ridge, rules=rules,
                           tol=tol)
    order = "saliency" if order is None else order
    if finite_size is not False:  # finite-size mode: all logic in dcpredict.finite
        from .finite import advise_finite
        return advise_finite(law, sigma2=sigma2, n=n, s=s, P=P, order=order, ridge=ridge, rules=rules, tol=tol,
                             finite_size=finite_size)
    if isinstance(ridge, str) and ridge == "optimal":
        return _advise_tuned(law, sigma2=sigma2, n=n, s=s, P=P, order=order, rules=rules, tol=tol)
    law, sigma2, n, s, P, P_from, order, ridge, rules, tol = _check_inputs(law, sigma2, n, s, P, order, ridge,
                                                                           rules, tol)
    from .world import world_baselines
    world = dict(n=n, P=P, s=s, sigma2=sigma2, ridge=ridge, order=order)
    ps, curves, exhaustive = _search(law, rules=rules, **world)
    cache: dict = {}
    optima: dict[str, dict[str, Any]] = {}
    for rule in rules:
        p, risk = _argmin(ps, curves[rule])
        if math.isfinite(risk):
            p, risk = _verify(law, p, rule, risk, cache=cache, **world)
        optima[rule] = {"p": p, "risk": risk}
    # lowest risk; risks within SAME_RISK: the smaller model, then the first rule listed
    low = min(v["risk"] for v in optima.values())
    close = [r for r in rules if optima[r]["risk"] <= low + SAME_RISK * abs(low) or optima[r]["risk"] == low]
    best_rule = min(close, key=lambda r: (optima[r]["p"], rules.index(r)))
    base = world_baselines(law, n=n, P=P, s=s, sigma2=sigma2, ridge=ridge)
    return Advice(law=law, n=n, P=P, s=s, sigma2=sigma2, ridge=ridge, order=order, rules=rules, tol=tol,
                  P_from=P_from, best_p=int(optima[best_rule]["p"]), best_rule=best_rule,
                  best_risk=float(optima[best_rule]["risk"]), rule_optima=optima,
                  small_random=float(base["small_random"]), small_top_variance=float(base["small_top_variance"]),
                  small_oracle=float(base["small_oracle"]), zero_model=float(base["zero_model"]),
                  ps=ps, curves=curves, exhaustive=exhaustive)


#: ridges tried by the tuned advisor, relative to E[Lambda] (0 is always tried as well)
TUNE_GRID = tuple(float(x) for x in np.geomspace(1e-3, 1e2, 16))


def _min_over_ridge(f, scale: float) -> tuple[float, float]:
    """(ridge, value) minimizing f(ridge) over r = 0 and the grid ``scale * TUNE_GRID``, refined in log r
    between the grid neighbours of the best grid point (bounded Brent, xatol 1e-6 in log r)."""
    from scipy.optimize import minimize_scalar
    grid = [0.0] + [scale * g for g in TUNE_GRID]
    vals = [f(r) for r in grid]
    i = int(np.argmin(vals))
    best_r, best_v = grid[i], vals[i]
    lo = grid[max(i - 1, 1)] if i > 0 else scale * TUNE_GRID[0] * 1e-2
    hi = grid[min(i + 1, len(grid) - 1)]
    if hi > lo:
        res = minimize_scalar(lambda x: f(math.exp(x)), bounds=(math.log(lo), math.log(hi)), method="bounded",
                              options={"xatol": 1e-6})
        if math.isfinite(res.fun) and res.fun < best_v:
            best_r, best_v = math.exp(res.x), float(res.fun)
    return best_r, best_v


def _advise_tuned(law: Any, *, sigma2: Any, n: Any, s: Any, P: Any, order: Any, rules: Any, tol: Any) -> "Advice":
    """:func:`advise` with the ridge tuned ("tune the ridge").

    The search of :func:`advise` runs at r = 0 and at 16 ridges from 1e-3 to 1e2 times E[Lambda]; at the
    best (p, rule) the ridge is refined by a bounded 1-D minimization in log r between the neighbouring
    grid ridges, and the search is rerun at that ridge (so p is the integer argmin at the final ridge).
    Each baseline is minimized over the ridge the same way, for itself: the verdicts compare tuned with
    tuned.  The refinement is local to the grid cell of the best grid ridge; a minimum in another cell
    narrower than a grid spacing (a factor 2.15 in r) could be missed.
    """
    from .world import predict_world, world_baselines
    base_kw = dict(sigma2=sigma2, n=n, s=s, P=P, order=order, rules=rules, tol=tol)
    first = advise(law, ridge=0.0, **base_kw)          # validates every input; P is resolved
    scale = float(law.expect(law.lam))
    advices: dict[float, Advice] = {0.0: first}

    def best_at(r: float) -> float:
        if r not in advices:
            advices[r] = advise(law, ridge=r, **base_kw)
        return advices[r].best_risk

    grid = [0.0] + [scale * g for g in TUNE_GRID]
    for r in grid:
        best_at(r)
    r0 = min(grid, key=lambda r: advices[r].best_risk)
    a0 = advices[r0]
    W = dict(n=first.n, P=first.P, s=first.s, sigma2=first.sigma2, order=first.order)

    def rule_risk(r: float) -> float:
        return float(getattr(predict_world(law, p=a0.best_p, ridge=r, **W), a0.best_rule))

    r_star, _ = _min_over_ridge(rule_risk, scale)
    final = advise(law, ridge=r_star, **base_kw) if r_star != r0 else a0
    if final.best_risk > a0.best_risk:                 # the refinement must not lose to the grid
        final = a0
    tuned, ridges = {}, {}
    for name in BASELINES:
        r_b, v_b = _min_over_ridge(lambda r: world_baselines(law, ridge=r, **{k: W[k] for k in ("n", "P", "s", "sigma2")})[name],
                                   scale)
        tuned[name], ridges[name] = v_b, r_b
    return dataclasses.replace(final, baseline_ridges=ridges, **tuned)


# ------------------------------------------------------------------------------------------ phase map
#: categories of the phase map (index = category code; -1 where p < s: no such model)
PHASES = ("pruning a bigger model", "small_oracle", "small_top_variance", "zero model")
#: on a tie within tol the simpler option is shown: zero model, then small_top_variance, then small_oracle
_TIE_PREFERENCE = (3, 2, 1, 0)


@dataclass(frozen=True, repr=False)
class PhaseMap(Result):
    """Best option at every (model size p, budget s) of one fixed world (:func:`phase_map`).

    ``category[j, i]`` for s = ``ss[j]`` and p = ``ps[i]``: the index in :data:`PHASES` of the option of
    lowest risk, -1 where p < s.  ``pruned[j, i]`` is the best pruned risk (over ``rules``) of a model of
    p features pruned to s (``inf`` where p < s: no such model; ``best_rule[j, i]`` is then -1, else an
    index in ``rules``).  ``small_oracle``, ``small_top_variance``, ``small_random``: baselines per s;
    ``zero_model``: a number.  ``mark``: the (p, s) of an :class:`Advice`'s best choice, or None.
    """
    law: Law
    n: int
    P: int
    sigma2: float
    ridge: float
    order: str
    rules: tuple
    tol: float
    ps: np.ndarray
    ss: np.ndarray
    category: np.ndarray
    best_rule: np.ndarray
    pruned: np.ndarray
    small_oracle: np.ndarray
    small_top_variance: np.ndarray
    small_random: np.ndarray
    zero_model: float
    mark: tuple | None = None

    def counts(self) -> dict[str, int]:
        """Number of grid cells (p >= s) in each category."""
        return {name: int(np.sum(self.category == i)) for i, name in enumerate(PHASES)}

    def to_dict(self) -> dict[str, Any]:
        """Inputs, grids, categories (-1: p < s) and risks (null where p < s), JSON-ready."""
        feasible = self.category >= 0
        return {"world": {**self.law.to_dict(), "P": self.P}, "n": self.n, "sigma2": self.sigma2,
                "ridge": self.ridge, "order": self.order, "rules": list(self.rules), "tol": self.tol,
                "phases": list(PHASES), "p": [int(x) for x in self.ps], "s": [int(x) for x in self.ss],
                "category": self.category.tolist(),
                "best_rule": [[self.rules[k] if k >= 0 else None for k in row] for row in self.best_rule],
                "pruned": [[float(v) if ok else None for v, ok in zip(row, frow)]
                           for row, frow in zip(self.pruned, feasible)],
                "small_oracle": [float(x) for x in self.small_oracle],
                "small_top_variance": [float(x) for x in self.small_top_variance],
                "small_random": [float(x) for x in self.small_random], "zero_model": self.zero_model,
                "mark": None if self.mark is None else {"p": int(self.mark[0]), "s": int(self.mark[1])}}

    def _records(self) -> list[dict[str, Any]]:
        """One row per feasible (p, s) cell."""
        rows = []
        for j, s in enumerate(self.ss):
            for i, p in enumerate(self.ps):
                c = int(self.category[j, i])
                if c < 0:
                    continue
                rows.append({"p": int(p), "s": int(s), "category": PHASES[c],
                             "best_rule": self.rules[int(self.best_rule[j, i])], "pruned": float(self.pruned[j, i]),
                             "small_oracle": float(self.small_oracle[j]),
                             "small_top_variance": float(self.small_top_variance[j]), "zero_model": self.zero_model})
        return rows

    def summary(self) -> str:
        """The framing and the number of cells of each category."""
        total = int(np.sum(self.category >= 0))
        lines = [f"dcpredict phase map: world of P = {self.P} features, n = {self.n}, sigma2 = {self.sigma2:g}, "
                 f"ridge = {self.ridge:g}, order = {self.order}; {self.ps.size} model sizes p x {self.ss.size} "
                 f"budgets s ({total} cells with p >= s), tolerance {self.tol:g}"]
        for name, c in self.counts().items():
            lines.append(f"  {name:<24}{c:>7} cells ({100 * c / max(total, 1):.1f} %)")
        if self.mark is not None:
            lines.append(f"  marked: p = {self.mark[0]}, s = {self.mark[1]}")
        return "\n".join(lines)

    def _plot(self, ax) -> None:
        """The categories over (p, s) (log axes, colours of :func:`dcpredict.plotting.draw_phase_map`), the
        line p = s, p = n dotted and the marked advice as a star."""
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch
        colors = ("#1b9e77", "#7570b3", "#a6cee3", "#e0e0e0")
        ax.pcolormesh(self.ps, self.ss, np.ma.masked_less(self.category, 0), cmap=ListedColormap(colors),
                      vmin=-0.5, vmax=3.5, shading="nearest")
        ax.set_xscale("log")
        ax.set_yscale("log")
        lo, hi = 0.8, self.P * 1.25
        ax.plot([lo, hi], [lo, hi], color="0.3", lw=0.8)
        counts = self.counts()
        total = max(sum(counts.values()), 1)
        pct = {k: 100 * v / total for k, v in counts.items()}
        handles = [Patch(facecolor=c, edgecolor="0.5", label=f"{name} ({pct[name]:.0f} %)" if pct[name] >= 1
                         else f"{name} (< 1 %)")
                   for c, name in zip(colors, PHASES) if counts[name] > 0]
        if self.n < self.P:
            ax.axvline(self.n, color="k", ls=":", lw=1)
        if self.mark is not None:
            pt, = ax.plot([self.mark[0]], [self.mark[1]], "r*", ms=14, mec="k",
                          label=f"advice: p = {self.mark[0]}, s = {self.mark[1]}")
            handles.append(pt)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel(f"p (features the model fits; P = {self.P}, n = {self.n})")
        ax.set_ylabel("s (weights kept)")
        ax.set_title("best option at each (p, s)", fontsize=10)
        ax.legend(handles=handles, fontsize=7.5, loc="upper left", framealpha=0.9)

    def __repr__(self) -> str:
        return (f"PhaseMap(P={self.P}, n={self.n}, order={self.order!r}, {self.ps.size} p x {self.ss.size} s, "
                f"counts={self.counts()})")


def _int_grid(name: str, values: Any, lo: int, hi: int, default: np.ndarray) -> np.ndarray:
    if values is None:
        return default
    raw = np.atleast_1d(np.asarray(values, dtype=object))
    if raw.ndim != 1 or raw.size == 0:
        raise DCPredictError(f"{name} must be a non-empty 1-D sequence of integers in [{lo}, {hi}]; got {values!r}")
    return np.unique(np.array([check_int(name, x, lo=lo, hi=hi) for x in raw], dtype=np.int64))


def phase_map(law: Law, *, n: int, P: int | None = None, sigma2: float, ridge: float = 0.0,
              order: str = "saliency", rules: Sequence[str] = PRUNE_RULES, tol: float = DEFAULT_TOL,
              ps: Any = None, ss: Any = None, include: tuple[int, int] | None = None,
              progress: bool = True) -> PhaseMap:
    """Which option is best at each (model size p, budget s) in one fixed world.

    The options: pruning a model of p features to s (best of ``rules``, as :func:`advise`), and the
    small models small_oracle and small_top_variance of s features, and the zero model.  A cell's
    category is the option of lowest risk; options within the relative tolerance ``tol`` of the lowest
    count as tied and the simplest of them is shown (zero model, then small_top_variance, then
    small_oracle, then pruning).  Same world model and arguments as :func:`advise`.

    ``ps`` and ``ss``: integers in [1, P] (default up to 200 model sizes and 120 budgets spread geometrically
    over [1, P]); ``include``: a (p, s) added to the grids and marked (an advice's best choice);
    ``progress`` (default True): a bar over the budgets on stderr.
    """
    law, sigma2, n, _, P, _, order, ridge, rules, tol = _check_inputs(law, sigma2, n, 1, P, order, ridge,
                                                                      rules, tol)
    from .world import predict_world_curve, world_baselines
    ps_arr = _int_grid("ps", ps, 1, P, np.unique(np.geomspace(1, P, 200).round().astype(np.int64)))
    ss_arr = _int_grid("ss", ss, 1, P, np.unique(np.geomspace(1, P, 120).round().astype(np.int64)))
    mark = None
    if include is not None:
        mp, ms = check_int("include p", include[0], lo=1, hi=P), check_int("include s", include[1], lo=1, hi=P)
        ps_arr, ss_arr, mark = np.union1d(ps_arr, [mp]), np.union1d(ss_arr, [ms]), (mp, ms)
    shape = (ss_arr.size, ps_arr.size)
    category = np.full(shape, -1, dtype=np.int64)
    best_rule = np.full(shape, -1, dtype=np.int64)
    pruned = np.full(shape, np.inf)
    so, stv, sr = (np.empty(ss_arr.size) for _ in range(3))
    zero = sigma2 + law.signal_power
    from ._progress import bar as _bar
    bar = _bar(ss_arr.size, f"phase map: {ps_arr.size} model sizes x {ss_arr.size} budgets", unit="budget",
               enabled=progress)
    for j, s in enumerate(ss_arr):
        bar.update(1)
        s = int(s)
        base = world_baselines(law, n=n, P=P, s=s, sigma2=sigma2, ridge=ridge)
        so[j], stv[j], sr[j] = base["small_oracle"], base["small_top_variance"], base["small_random"]
        cols = np.flatnonzero(ps_arr >= s)
        if cols.size == 0:
            continue
        c = predict_world_curve(law, n=n, P=P, s=s, sigma2=sigma2, ps=ps_arr[cols], ridge=ridge, order=order)
        stack = np.stack([np.asarray(getattr(c, r), dtype=float) for r in rules])
        k = np.argmin(stack, axis=0)
        best = stack[k, np.arange(cols.size)]
        pruned[j, cols], best_rule[j, cols] = best, k
        for ii, i in enumerate(cols):
            options = (best[ii], so[j], stv[j], zero)
            low = min(options)
            tied = [q for q in range(4) if options[q] == low
                    or _compare(options[q], low, tol)[0] == "ties"]
            category[j, i] = next(q for q in _TIE_PREFERENCE if q in tied)
    bar.close()
    return PhaseMap(law, n, P, sigma2, ridge, order, rules, tol, ps_arr, ss_arr, category, best_rule, pruned,
                    so, stv, sr, zero, mark)
