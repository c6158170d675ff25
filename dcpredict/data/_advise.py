"""Train small or prune big, on a user's dataset: the advisor of :mod:`dcpredict.advisor` for a :class:`DataWorld`.

The models are the first p columns of the dataset in a stated order (``given``, ``variance`` or ``saliency``),
s <= p <= P; each is pruned to s weights by every rule, and its risks are the theory of :func:`predict_data` (the
Gaussian-equivalent vector DC, with Monte Carlo standard errors).  Unlike the asymptotic advisor, each model size
costs one eigendecomposition of its p x p covariance, so p is searched on a grid (every integer when P - s < 40,
else about 32 sizes spread linearly and geometrically over [s, P], then 8 more between the neighbours of the best
one).  The baselines need no big model:

- ``small_random``: least squares on s columns chosen at random (mean over ``RANDOM_SUBSETS`` seeded subsets);
- ``small_top_variance``: the s columns of largest variance (needs no labels);
- ``small_oracle``: the s columns of largest Sigma_ii beta_i^2 (needs the population weights: a bound);
- ``zero_model``: predict 0 (the centred label's mean), risk mean(y^2).

The verdicts use the advisor's relative tolerance; the sampled risks also carry a standard error, stated.
:meth:`DataAdvice.check` runs the actual experiment at the advised p and for the small models.
"""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .._results import Result, fmt
from ..advisor import AdviceVerdicts
from .._validate import DCPredictError, check_int, check_real
from ._world import DataWorld, ORDERS

__all__ = ["DataAdvice", "DataCheck", "advise_data", "RANDOM_SUBSETS"]

#: random s-subsets averaged for the small_random baseline
RANDOM_SUBSETS = 100
_EXHAUSTIVE = 40


def _grid(s: int, P: int, n: int) -> np.ndarray:
    if P - s + 1 <= _EXHAUSTIVE:
        return np.arange(s, P + 1)
    g = np.concatenate([np.linspace(s, P, 20), np.geomspace(s, P, 12), [n - 2, n + 2]])
    g = np.unique(np.rint(g).astype(np.int64))
    return g[(g >= s) & (g <= P)]


@dataclass(frozen=True, repr=False)
class DataAdvice(AdviceVerdicts, Result):
    """Result of :func:`advise_data`: the best model size and pruning rule on a dataset, and the baselines.

    The same answer as :class:`dcpredict.advisor.Advice` (``best``, ``baselines``, ``zero_model``, ``verdicts``,
    ``rule_optima``, ``best_at_edge``, ``nothing_beats_zero``) plus the standard errors of the sampled risks
    (``best_stderr``, ``baseline_stderr``) and the dataset's description.
    """

    dataset: dict
    n: int
    P: int
    s: int
    order: str
    ridge: float
    rules: tuple
    tol: float
    draws: int
    seed: int
    best_p: int
    best_rule: str
    best_risk: float
    best_stderr: float
    rule_optima: dict
    small_random: float
    small_top_variance: float
    small_oracle: float
    zero_model: float
    baseline_stderr: dict
    ps: np.ndarray = field(repr=False)
    curves: dict = field(repr=False)
    curves_stderr: dict = field(repr=False)
    exhaustive: bool = False

    @property
    def best(self) -> dict[str, Any]:
        return {"p": self.best_p, "rule": self.best_rule, "risk": self.best_risk, "stderr": self.best_stderr}

    def to_dict(self) -> dict[str, Any]:
        """The advisor's JSON (best, baselines, zero_model, best_at_edge, nothing_beats_zero, verdicts, tolerance,
        rule_optima, inputs, search) with the standard errors of the sampled risks."""
        return {
            "best": self.best,
            "baselines": self.baselines,
            "baseline_stderr": dict(self.baseline_stderr),
            "zero_model": self.zero_model,
            "best_at_edge": self.best_at_edge,
            "nothing_beats_zero": self.nothing_beats_zero,
            "verdicts": self.verdicts,
            "tolerance": self.tol,
            "rule_optima": {r: {"p": int(v["p"]), "risk": float(v["risk"]), "stderr": float(v["stderr"]),
                                "where": self._where(int(v["p"]))} for r, v in self.rule_optima.items()},
            "inputs": {"dataset": dict(self.dataset), "P": self.P, "n": self.n, "s": self.s, "order": self.order,
                       "ridge": self.ridge, "rules": list(self.rules), "tol": self.tol, "draws": self.draws,
                       "seed": self.seed},
            "search": {"p_min": self.s, "p_max": self.P, "points": int(self.ps.size),
                       "every_integer": bool(self.exhaustive)},
        }

    def _records(self) -> list[dict[str, Any]]:
        rows = [{"option": r, "kind": "prune", "p": int(v["p"]), "s": self.s, "risk": float(v["risk"]),
                 "stderr": float(v["stderr"]), "where": self._where(int(v["p"]))} for r, v in self.rule_optima.items()]
        for k, v in self.baselines.items():
            rows.append({"option": k, "kind": "baseline", "p": self.s, "s": self.s, "risk": v,
                         "stderr": self.baseline_stderr.get(k, 0.0), "where": "train small"})
        rows.append({"option": "zero_model", "kind": "baseline", "p": 0, "s": 0, "risk": self.zero_model,
                     "stderr": 0.0, "where": "predict 0"})
        return rows

    def summary(self, max_rows: int = 12) -> str:
        from ..advisor import BASELINES
        W = 96
        wrap = textwrap.TextWrapper(width=W, subsequent_indent="  ", break_on_hyphens=False)
        b = self.best
        what = (f"no pruning: train the first s = {self.s} columns ({self.order} order)" if b["p"] == self.s
                else f"fit the first p = {b['p']} columns (p/n = {b['p'] / self.n:.4g}, {self.order} order), prune "
                     f"to s = {self.s} by {b['rule']}")
        search = (f"every integer p in [{self.s}, {self.P}]" if self.exhaustive else
                  f"{self.ps.size} model sizes p in [{self.s}, {self.P}] (a grid, refined near the best; not every "
                  "integer)")
        d = self.dataset
        lines = [
            "dcpredict advice on a dataset: train small or prune big?  (Gaussian-equivalent theory, vector DC)",
            "=" * W,
            *wrap.wrap(f"dataset: {d.get('name')} (N = {d.get('N')} rows, P = {self.P} columns, rank {d.get('rank')}); "
                       f"sigma2 = {d.get('sigma2'):.6g} unexplained by all P columns, mean(y^2) = {self.zero_model:.6g}"),
            *wrap.wrap(f"n = {self.n} training rows, ridge = {self.ridge:g}; deploy s = {self.s} weights; searched "
                       f"{search}; rules: {', '.join(self.rules)}; {self.draws} DC draws per p (seed {self.seed})"),
            "-" * W,
            *wrap.wrap(f"BEST: {what}: risk {fmt(b['risk'])}" + (f" +- {fmt(b['stderr'], 2)}" if b["stderr"] else "")),
            *(wrap.wrap("note: the best p is P, the edge of the dataset: the risk still falls there, more columns "
                        "would help") if self.best_at_edge else []),
            "-" * W,
            f"{'option':<24}{'p':>7}{'s':>6}{'risk':>13}{'stderr':>10}  where / verdict of BEST (tolerance {self.tol:g})",
        ]
        for r, v in self.rule_optima.items():
            lines.append(f"{r:<24}{int(v['p']):>7}{self.s:>6}{fmt(v['risk']):>13}{fmt(v['stderr'], 2):>10}  "
                         f"{self._where(int(v['p']))}")
        verdicts = self.verdicts
        for k in BASELINES + ("zero_model",):
            p_ = self.s if k != "zero_model" else 0
            v = verdicts[k]
            gap = "" if not math.isfinite(v["relative_gap"]) else f" ({100 * v['relative_gap']:+.2f} %)"
            se = self.baseline_stderr.get(k, 0.0)
            lines.append(f"{k:<24}{p_:>7}{p_:>6}{fmt(v['risk']):>13}{fmt(se, 2):>10}  BEST {v['verdict'].upper()} "
                         f"it{gap}")
        lines.append("-" * W)
        if self.nothing_beats_zero:
            lines += wrap.wrap("WARNING: nothing beats the zero model (predicting the mean label) beyond the tolerance")
        lines += wrap.wrap("The theory replaces the rows by Gaussian rows with the same second moments; on real data "
                           "it can be far off (check it: --check TRIALS, or DataWorld.compare). Differences within a "
                           "few stderr are Monte Carlo noise of the theory's draws.")
        lines += ["-" * W, *self._curve_table(max_rows)]
        lines.append("=" * W)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"DataAdvice({self.dataset.get('name')!r}, P={self.P}, n={self.n}, s={self.s}, order={self.order!r}, "
                f"best={self.best_rule} at p={self.best_p} risk {fmt(self.best_risk)}, "
                f"small_oracle={fmt(self.small_oracle)}, zero_model={fmt(self.zero_model)})")

    def check(self, world: DataWorld, trials: int, *, seed: int = 0, workers: int | None = None,
              progress: bool = True) -> "DataCheck":
        """Run the actual experiment at the advised p (every rule) and measure the small models on the same
        rows: predicted and measured side by side (:class:`DataCheck`)."""
        if not isinstance(world, DataWorld) or world.fingerprint != self.dataset.get("fingerprint"):
            raise DCPredictError("check needs the DataWorld this advice was computed for")
        from ._experiment import measure_columns, run_experiment
        ex = run_experiment(world, n=self.n, s=self.s, ps=[self.best_p], trials=trials, seed=seed, order=self.order,
                            ridge=self.ridge, workers=workers, progress=progress)
        small = measure_columns(world, n=self.n, s=self.s, trials=ex.trials, seed=seed, ridge=self.ridge,
                                columns={"small_top_variance": _top_variance(world, self.s)})
        rows = []
        a, b = ex.actual, ex.actual_population
        for r in self.rules:
            rows.append({"option": r, "p": self.best_p, "theory": float(self.curves[r][int(np.searchsorted(
                self.ps, self.best_p))]), "theory_stderr": float(self.curves_stderr[r][int(np.searchsorted(
                    self.ps, self.best_p))]), "actual": float(a[r]["mean"][0]), "actual_stderr": float(a[r]["stderr"][0]),
                "actual_population": float(b[r]["mean"][0]),
                "actual_population_stderr": float(b[r]["stderr"][0])})
        measured = {"small_oracle": (a["small_oracle"]["mean"][0], a["small_oracle"]["stderr"][0],
                                     b["small_oracle"]["mean"][0], b["small_oracle"]["stderr"][0])}
        measured.update(small)
        for k, (hm, hse, pm, pse) in measured.items():
            rows.append({"option": k, "p": self.s, "theory": float(getattr(self, k)),
                         "theory_stderr": float(self.baseline_stderr.get(k, 0.0)), "actual": float(hm),
                         "actual_stderr": float(hse), "actual_population": float(pm),
                         "actual_population_stderr": float(pse)})
        return DataCheck(advice=self, trials=ex.trials, seed=seed, rows=rows,
                         finite_population_factor=ex.finite_population_factor)


@dataclass(frozen=True, repr=False)
class DataCheck(Result):
    """The advice's predictions next to the measured risks (:meth:`DataAdvice.check`): per option (each rule at the
    advised p, the small models) theory +- stderr, held-out and all-rows actual +- stderr."""

    advice: DataAdvice
    trials: int
    seed: int
    rows: list
    finite_population_factor: float

    def to_dict(self) -> dict[str, Any]:
        from ._compare import json_ready
        return json_ready({"advice": self.advice.to_dict(), "check": {"trials": self.trials, "seed": self.seed,
                           "finite_population_factor": self.finite_population_factor, "rows": list(self.rows)}})

    def _records(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows]

    def summary(self) -> str:
        W = 96
        lines = [self.advice.summary(), f"check: {self.trials} trials of the actual experiment (seed {self.seed}); "
                 f"held-out rows are higher than all-rows by about N/(N-n) = {self.finite_population_factor:.4g} "
                 "for an interpolating fit", "-" * W,
                 f"{'option':<22}{'p':>6}{'predicted':>20}{'actual (held out)':>22}{'actual (all N)':>22}"]
        for r in self.rows:
            pred = fmt(r["theory"], 4) + (f" +- {fmt(r['theory_stderr'], 2)}" if r["theory_stderr"] else "")
            lines.append(f"{r['option']:<22}{r['p']:>6}{pred:>20}"
                         f"{fmt(r['actual'], 4) + ' +- ' + fmt(r['actual_stderr'], 2):>22}"
                         f"{fmt(r['actual_population'], 4) + ' +- ' + fmt(r['actual_population_stderr'], 2):>22}")
        best = min(self.rows, key=lambda r: r["actual"])
        lines.append("-" * W)
        lines.append(f"measured best (held out): {best['option']} at p = {best['p']}: {fmt(best['actual'], 4)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<DataCheck {self.trials} trials, {len(self.rows)} options>"


def _top_variance(world: DataWorld, s: int) -> np.ndarray:
    return np.sort(world.column_order("variance")[:s])


def advise_data(world: DataWorld, *, n: int, s: int, order: str = "given", ridge: float = 0.0,
                rules: Sequence[str] | None = None, tol: float | None = None, draws: int = 400, seed: int = 0,
                progress: bool = False) -> DataAdvice:
    """The model size p (first p columns in ``order``) and pruning rule with the lowest predicted risk on a dataset
    at a budget of s weights (module docstring).  ``dcpredict.advise(world, n=, s=)`` calls this."""
    from ..advisor import ALLOWED_RULES, DEFAULT_TOL, PRUNE_RULES, SAME_RISK
    from ..correlated import support_risk
    from ._theory import predict_data, small_oracle_risk
    if not isinstance(world, DataWorld):
        raise DCPredictError(f"world must be a dcpredict.data.DataWorld; got {type(world).__name__}")
    n = check_int("n", n, lo=1)
    s = check_int("s", s, lo=1, hi=world.P)
    if order not in ORDERS:
        raise DCPredictError(f"order must be one of {', '.join(map(repr, ORDERS))} for a dataset; got {order!r}")
    ridge = check_real("ridge", ridge, lo=0.0)
    tol = check_real("tol", DEFAULT_TOL if tol is None else tol, lo=0.0, hi=0.5, hi_open=True)
    rules = PRUNE_RULES if rules is None else ((rules,) if isinstance(rules, str) else tuple(rules))
    if not rules or any(r not in ALLOWED_RULES for r in rules) or len(set(rules)) != len(rules):
        raise DCPredictError(f"rules must be distinct names from {', '.join(ALLOWED_RULES)}; got {rules!r}")
    ps = _grid(s, world.P, n)
    kw = dict(n=n, s=s, order=order, ridge=ridge, draws=draws, seed=seed)
    pred = predict_data(world, ps=[int(p) for p in ps], progress=progress, **kw)
    vals = {r: np.asarray(pred.theory[r], dtype=float) for r in rules}
    ses = {r: np.asarray(pred.theory_stderr[r], dtype=float) for r in rules}
    exhaustive = bool(ps.size == world.P - s + 1)
    if not exhaustive:  # refine between the neighbours of the best grid point
        stack = np.stack([vals[r] for r in rules])
        j = int(np.unravel_index(np.argmin(np.where(np.isfinite(stack), stack, np.inf)), stack.shape)[1])
        lo, hi = int(ps[max(j - 1, 0)]), int(ps[min(j + 1, ps.size - 1)])
        extra = np.setdiff1d(np.unique(np.rint(np.linspace(lo, hi, 10)).astype(np.int64)), ps)
        if extra.size:
            more = predict_data(world, ps=[int(p) for p in extra], **kw)
            ps_all = np.concatenate([ps, extra])
            idx = np.argsort(ps_all)
            ps = ps_all[idx]
            for r in rules:
                vals[r] = np.concatenate([vals[r], more.theory[r]])[idx]
                ses[r] = np.concatenate([ses[r], more.theory_stderr[r]])[idx]
    optima = {}
    for r in rules:
        v = vals[r]
        low = float(np.min(v))
        i = int(np.flatnonzero(v <= low + SAME_RISK * abs(low))[0]) if math.isfinite(low) else 0
        optima[r] = {"p": int(ps[i]), "risk": float(v[i]), "stderr": float(ses[r][i])}
    low = min(v["risk"] for v in optima.values())
    close = [r for r in rules if optima[r]["risk"] <= low + SAME_RISK * abs(low) or optima[r]["risk"] == low]
    best = min(close, key=lambda r: (optima[r]["p"], rules.index(r)))
    # baselines
    so = small_oracle_risk(world, n, s, ridge)
    stv = float(support_risk(world.Sigma, world.beta, world.sigma2, n, ridge, _top_variance(world, s), world.signal))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(14,)))
    rand = np.array([support_risk(world.Sigma, world.beta, world.sigma2, n, ridge,
                                  np.sort(rng.choice(world.P, size=s, replace=False)), world.signal)
                     for _ in range(RANDOM_SUBSETS)])
    if np.all(np.isfinite(rand)):
        sr, sr_se = float(rand.mean()), float(rand.std(ddof=1) / math.sqrt(rand.size))
    else:
        sr, sr_se = math.inf, math.inf
    return DataAdvice(dataset=world.describe(), n=n, P=world.P, s=s, order=order, ridge=ridge, rules=rules, tol=tol,
                      draws=draws, seed=seed, best_p=optima[best]["p"], best_rule=best, best_risk=optima[best]["risk"],
                      best_stderr=optima[best]["stderr"], rule_optima=optima, small_random=sr, small_top_variance=stv,
                      small_oracle=so, zero_model=world.m2,
                      baseline_stderr={"small_random": sr_se, "small_top_variance": 0.0, "small_oracle": 0.0},
                      ps=ps, curves=vals, curves_stderr=ses, exhaustive=exhaustive)
