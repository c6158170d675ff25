"""Finite-size predictions: the expected test risks at the n and p a user actually has.

The asymptotic DC (:func:`dcpredict.predict`) is the p, n -> infinity limit.  Near the interpolation
threshold p = n it is biased at n of a few hundred (several percent, up to 14 % at p/n = 0.95, n = 200).
This subpackage evaluates the same risks for the finite instance the simulator draws (p = round(kappa n)
features, atom counts by largest remainders, s = round(alpha p) kept weights), using exact finite-sample
results where they exist and a stated approximation elsewhere (theory page, section :ref:`theory-finite`):

- exact (Gaussian design): the OLS dense risk sigma_eff^2 (1 + p / (n - p - 1)); every risk that is linear
  in the fitted coordinates' second moments on a data-independent support (oracle pruning, random pruning,
  training small with OLS, fresh-sample retraining with an OLS refit given the kept composition); OLS pruned
  at a fixed threshold (:func:`threshold_risk_ols`, Student-t marginals); isotropic min-norm.
- approximate: pruning to a fixed count s (the exact variance scale plus exact finite-p order statistics of
  independent coordinates); anisotropic min-norm (the variance part of the DC corrected by the
  inverse-Wishart mean, 1/a -> 1/a - 1/n).
- not corrected (asymptotic, and the result says so per field): ridge > 0, laws with more than
  :data:`MAX_ATOMS_ORDER_STAT` atoms for the fixed-count rules, Gaussian (continuous) laws.

Reached through ``finite_size=True`` of :func:`dcpredict.predict`, :func:`dcpredict.predict_world`,
:func:`dcpredict.predict_world_curve` and :func:`dcpredict.advise`, or directly here.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import RISK_FIELDS
from .._results import fmt
from .._validate import DCPredictError, check_int, check_real
from ..law import GaussianLaw, Law
from ..theory import Prediction
from ..world import WORLD_BASELINES, WorldCurve, WorldPrediction
from . import _core as C
from ._core import (APPROX_MINNORM, APPROX_ORDER, ASYMPTOTIC, EXACT, MAX_ATOMS_ORDER_STAT, dense_minnorm_isotropic,
                    dense_ols, threshold_risk_ols)

__all__ = ["FinitePrediction", "FiniteWorldPrediction", "FiniteWorldCurve", "predict_finite",
           "predict_world_finite", "predict_world_curve_finite", "dense_ols", "dense_minnorm_isotropic",
           "threshold_risk_ols", "finite_instance", "MAX_ATOMS_ORDER_STAT",
           "FiniteAdvice", "advise_finite"]

_RULES = ("magnitude", "hessian")


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _check_flag(finite_size: Any) -> None:
    if finite_size is False:
        raise DCPredictError("n is used only in finite-size mode: pass finite_size=True with n, or drop n")
    if finite_size is not True:
        raise DCPredictError(f"finite_size must be True or False; got {finite_size!r}")


def _check_law(law: Any) -> Law:
    if not isinstance(law, Law):
        raise DCPredictError(f"law must be a dcpredict.Law; got {type(law).__name__}")
    if isinstance(law, GaussianLaw):
        raise DCPredictError("finite_size=True needs a law of atoms (a finite instance has features of given "
                             "variances and weights); a GaussianLaw (continuous B) is not supported: use "
                             "finite_size=False or a Law of atoms")
    return law


def finite_instance(law: Law, *, n: int, kappa: float) -> tuple[int, np.ndarray]:
    """(p, counts): the instance the simulator draws, p = round(kappa n), atom counts by largest remainders."""
    from ..simulation import atom_counts
    p = _round_half_up(kappa * n)
    if p < 1:
        raise DCPredictError(f"kappa must give p = round(kappa * n) >= 1; got kappa={kappa!r} with n={n}")
    return p, atom_counts(law.weights, p)


# ------------------------------------------------------------------------------ the engine
def _refit(lam, beta, kept, sigma_S2: float, n: int) -> tuple[float, str]:
    """Expected risk of the ridgeless fit on a support with (expected) composition ``kept`` and noise sigma_S2."""
    s_tot = float(kept.sum())
    s_int = int(round(s_tot))
    if s_int < n:
        return dense_ols(s_int, n, sigma_S2), EXACT
    if s_int == n:
        return (math.inf if sigma_S2 > 0 else 0.0), EXACT
    cm = C.coord_model(lam, beta, kept, sigma_S2, n)
    return cm.dense, (EXACT if cm.exact else
                      (C.UNCORRECTED_MINNORM if cm.regime == "min-norm-uncorrected" else APPROX_MINNORM))


def _model_risks(lam, beta, counts, sigma_eff2: float, n: int, s: int, oracle_kept, small_oracle, asym: dict,
                 ridge: float) -> tuple[dict, dict, float]:
    """The nine risks of one model problem, the method of each and the order-statistics check.

    ``small_oracle`` is (composition, noise) of the train-small support; ``asym`` the asymptotic risks (the
    fallback where nothing better is known).
    """
    risks: dict[str, float] = {}
    methods: dict[str, str] = {}
    keep_error = 0.0
    if ridge > 0.0:
        return dict(asym), {k: ASYMPTOTIC for k in RISK_FIELDS}, 0.0
    p = int(counts.sum())
    cm = C.coord_model(lam, beta, counts, sigma_eff2, n)
    base = EXACT if cm.exact else (C.UNCORRECTED_MINNORM if cm.regime == "min-norm-uncorrected" else APPROX_MINNORM)
    risks["dense"], methods["dense"] = cm.dense, base
    comp, noise = small_oracle
    risks["small_oracle"], methods["small_oracle"] = _refit(lam, beta, comp, noise, n)
    if not math.isfinite(cm.dense):
        # p within one of n: every kept coordinate has infinite expected square; the fresh refits stay finite
        for k in ("magnitude", "hessian", "random", "oracle_pruned"):
            risks[k], methods[k] = (math.inf if sigma_eff2 > 0 else asym[k]), (EXACT if sigma_eff2 > 0 else ASYMPTOTIC)
        for k in ("magnitude_retrained", "hessian_retrained", "random_retrained"):
            risks[k], methods[k] = asym[k], ASYMPTOTIC
        return risks, methods, 0.0
    risks["oracle_pruned"] = C.fixed_support_risk(cm, lam, beta, oracle_kept, counts, sigma_eff2)
    methods["oracle_pruned"] = base
    frac = s / p
    risks["random"] = C.fixed_support_risk(cm, lam, beta, counts * frac, counts, sigma_eff2)
    methods["random"] = base
    signal = lam * beta ** 2
    r, how = _refit(lam, beta, counts * frac, sigma_eff2 + float(np.dot(counts * (1 - frac), signal)), n)
    risks["random_retrained"], methods["random_retrained"] = r, how
    for rule in _RULES:
        if lam.size > MAX_ATOMS_ORDER_STAT:
            risks[rule], methods[rule] = asym[rule], ASYMPTOTIC
            risks[rule + "_retrained"], methods[rule + "_retrained"] = asym[rule + "_retrained"], ASYMPTOTIC
            continue
        keep, err2, ke = C.mixed_order_stat_prune(cm, lam, beta, counts, s, rule, abs(n - p) + 1.0)
        if ke > C.KEEP_TOL:
            raise DCPredictError(f"no certified finite-size {rule} risk (n={n}, p={p}, s={s}): the expected kept "
                                 f"count misses s by a relative {ke:.2g} > {C.KEEP_TOL:g}")
        keep_error = max(keep_error, ke)
        risks[rule] = sigma_eff2 + float(np.dot(counts, lam * err2))
        methods[rule] = APPROX_ORDER if s < p else base
        kept = counts * keep
        r, how = _refit(lam, beta, kept, sigma_eff2 + float(np.dot(counts - kept, signal)), n)
        risks[rule + "_retrained"] = r
        methods[rule + "_retrained"] = (APPROX_ORDER if s < p else how) if how == EXACT else how
    for k, v in risks.items():
        if v != v:  # pragma: no cover - defensive
            raise DCPredictError(f"no certified finite-size result: {k} is undefined (n={n}, p={p}, s={s})")
    return risks, methods, keep_error


def _method_notes(methods: dict[str, str]) -> list[str]:
    used = sorted(set(methods.values()))
    return [f"{m}: {', '.join(k for k in methods if methods[k] == m)}" for m in used]


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True, repr=False)
class FinitePrediction(Prediction):
    """A :class:`~dcpredict.theory.Prediction` in finite-size mode: the risk fields are the expected risks of
    the finite instance (n samples, p = round(kappa n) features, s = round(alpha p) kept).

    ``asymptotic`` holds the asymptotic risks, ``methods`` how each field was computed (exact, approximate, or
    asymptotic where no finite-size correction applies), ``finite_size`` is True.  ``dc``, the thresholds and
    ``retrained`` describe the asymptotic DC.
    """
    n: int = 0
    p: int = 0
    s: int = 0
    finite_size: bool = True
    asymptotic: dict = field(default_factory=dict)
    methods: dict = field(default_factory=dict)
    keep_error: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update({"finite_size": True, "n": self.n, "p": self.p, "s": self.s,
                    "asymptotic": dict(self.asymptotic), "methods": dict(self.methods)})
        return out

    def summary(self) -> str:
        lines = [f"dcpredict prediction (FINITE-SIZE mode: n = {self.n}, p = {self.p}, s = {self.s}; "
                 "docs: theory page, finite size)",
                 "=" * 78, f"law: {self.law!r}",
                 f"kappa = p/n = {self.p / self.n:.6g}   alpha = s/p = {self.s / self.p:.6g}   sigma2 = {self.sigma2:g}"
                 f"   ridge = {self.ridge:g}",
                 "-" * 78, f"{'model':<24}{'finite size':>16}{'asymptotic':>16}{'difference':>12}  method", "-" * 78]
        for name in RISK_FIELDS:
            v, a = getattr(self, name), self.asymptotic.get(name, math.nan)
            d = f"{100 * (v / a - 1):+.2f}%" if math.isfinite(v) and math.isfinite(a) and a > 0 else "-"
            lines.append(f"{name:<24}{fmt(v, 10):>16}{fmt(a, 10):>16}{d:>12}  {_short(self.methods.get(name, ''))}")
        lines.append("=" * 78)
        lines.append("methods: exact = exact expectation for a Gaussian design; order-stat = exact variance scale + "
                     "finite-p order statistics (approximate); minnorm-approx = inverse-Wishart-corrected min-norm "
                     "(approximate); asymptotic = no finite-size correction here")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"FinitePrediction(n={self.n}, p={self.p}, s={self.s}, "
                + ", ".join(f"{k}={fmt(v)}" for k, v in self.risks().items()) + ")")


def _short(method: str) -> str:
    return {EXACT: "exact", APPROX_ORDER: "order-stat", APPROX_MINNORM: "minnorm-approx",
            ASYMPTOTIC: "asymptotic", C.UNCORRECTED_MINNORM: "minnorm-uncorrected"}.get(method, method)


@dataclass(frozen=True, repr=False)
class FiniteWorldPrediction(WorldPrediction):
    """A :class:`~dcpredict.world.WorldPrediction` in finite-size mode (``finite_size`` True, with
    ``asymptotic`` risks and the ``methods`` of each field)."""
    finite_size: bool = True
    asymptotic: dict = field(default_factory=dict)
    methods: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update({"finite_size": True, "asymptotic": dict(self.asymptotic), "methods": dict(self.methods)})
        return out

    def summary(self) -> str:
        lines = [f"dcpredict world prediction (FINITE-SIZE mode: n = {self.n}, P = {self.P}, p = {self.p}, "
                 f"s = {self.s})", "=" * 78,
                 f"world: {self.law!r}; model: first p by {self.order} order; sigma2 = {self.sigma2:g}, "
                 f"ridge = {self.ridge:g}",
                 "-" * 78, f"{'model':<24}{'finite size':>16}{'asymptotic':>16}{'difference':>12}  method", "-" * 78]
        for name, v in self.risks().items():
            a = self.asymptotic.get(name, math.nan)
            d = f"{100 * (v / a - 1):+.2f}%" if math.isfinite(v) and math.isfinite(a) and a > 0 else "-"
            lines.append(f"{name:<24}{fmt(v, 10):>16}{fmt(a, 10):>16}{d:>12}  {_short(self.methods.get(name, ''))}")
        lines.append("=" * 78)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"FiniteWorldPrediction(n={self.n}, P={self.P}, p={self.p}, s={self.s}, dense={fmt(self.dense)}, "
                f"hessian={fmt(self.hessian)})")


@dataclass(frozen=True, repr=False)
class FiniteWorldCurve(WorldCurve):
    """A :class:`~dcpredict.world.WorldCurve` in finite-size mode; ``asymptotic`` maps each curve field to its
    asymptotic array, ``methods`` each field to the set of methods used along the curve."""
    finite_size: bool = True
    asymptotic: dict = field(default_factory=dict)
    methods: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update({"finite_size": True, "asymptotic": {k: [float(x) for x in v] for k, v in self.asymptotic.items()},
                    "methods": dict(self.methods)})
        return out

    def summary(self, max_rows: int = 12) -> str:
        return ("FINITE-SIZE mode (expected risks at these n and p; theory page, finite size)\n"
                + super().summary(max_rows) + "\nmethods: " + "; ".join(f"{k}: {v}" for k, v in self.methods.items()))


# ------------------------------------------------------------------------------ API
def predict_finite(law: Law, *, kappa: float, alpha: float, sigma2: float, n: Any, ridge: float = 0.0,
                   precision: str = "double", rtol: float = 1e-12, finite_size: Any = True) -> FinitePrediction:
    """Finite-size expected risks at n samples (``dcpredict.predict(..., finite_size=True, n=n)``).

    The instance is the simulator's: p = round(kappa n) features, atom counts by largest remainders,
    s = max(1, round(alpha p)).  See the module docstring for what is exact and what is approximate; every
    field's method is in ``methods``.
    """
    from ..theory import predict
    _check_flag(finite_size)
    if n is None:
        raise DCPredictError("finite_size=True needs the number of training samples n (an integer >= 2); got n=None")
    law = _check_law(law)
    n = check_int("n", n, lo=2)
    kappa = check_real("kappa", kappa, lo=0.0, lo_open=True)
    alpha = check_real("alpha", alpha, lo=0.0, hi=1.0, lo_open=True)
    p, counts = finite_instance(law, n=n, kappa=kappa)
    s = max(1, _round_half_up(alpha * p))
    asym = predict(law, kappa=p / n, alpha=s / p, sigma2=sigma2, ridge=ridge, precision=precision, rtol=rtol)
    lam = np.array(law.lam, dtype=float)
    beta = np.array(law.b, dtype=float) / math.sqrt(p)
    sigma2 = float(sigma2)
    order = np.argsort(-(lam * beta ** 2), kind="stable")
    oracle_kept = _fill(order, counts, s)
    signal = lam * beta ** 2
    so_noise = sigma2 + float(np.dot(counts - oracle_kept, signal))
    risks, methods, ke = _model_risks(lam, beta, counts.astype(float), sigma2, n, s, oracle_kept.astype(float),
                                      (oracle_kept.astype(float), so_noise), asym.risks(), asym.ridge)
    import dataclasses
    base = {f.name: getattr(asym, f.name) for f in dataclasses.fields(Prediction)}
    base.update(risks)
    return FinitePrediction(**base, n=n, p=p, s=s, asymptotic=asym.risks(), methods=methods, keep_error=ke)


def _fill(order: np.ndarray, counts: np.ndarray, s: int) -> np.ndarray:
    """Integer counts per atom of the first s features in the given atom order."""
    kept = np.zeros_like(counts)
    left = s
    for k in order:
        take = min(int(counts[k]), left)
        kept[k] = take
        left -= take
        if left == 0:
            break
    return kept


def _world_parts(law: Law, n: int, P: int, p: int, s: int, sigma2: float, order: str):
    """The model problem of p of the world's P features, at finite size: (lam, beta, counts, noise, oracle
    composition within the model, world small_oracle composition and noise, expected compositions of the
    small_random and small_top_variance baselines)."""
    from ..simulation import atom_counts
    lam = np.array(law.lam, dtype=float)
    beta = np.array(law.b, dtype=float) / math.sqrt(P)
    wc = atom_counts(law.weights, P)
    signal = lam * beta ** 2
    sal = np.argsort(-signal, kind="stable")
    if order == "saliency":
        counts = _fill(sal, wc, p)
    else:  # the simulator draws a random order per trial; the expected composition, rounded (approximate)
        counts = atom_counts(wc / P, p)
        counts = np.minimum(counts, wc)
    noise = sigma2 + float(np.dot(wc - counts, signal))
    oracle_kept = _fill(sal, counts, s)
    so = _fill(sal, wc, s)
    so_noise = sigma2 + float(np.dot(wc - so, signal))
    from ..world import _top_variance_mass
    tv = _top_variance_mass(law, s / P) * P
    return lam, beta, wc, counts, noise, oracle_kept, (so, so_noise), tv


def predict_world_finite(law: Law, *, n: int, P: int, p: int, s: int, sigma2: float, ridge: float = 0.0,
                         order: str = "saliency", precision: str = "double", rtol: float = 1e-12,
                         finite_size: Any = True) -> FiniteWorldPrediction:
    """Finite-size world risks (``dcpredict.predict_world(..., finite_size=True)``): the world of P features
    with atom counts by largest remainders (as :func:`dcpredict.simulate_world`), the model on its first p."""
    from ..world import predict_world
    _check_flag(finite_size)
    law = _check_law(law)
    asym = predict_world(law, n=n, P=P, p=p, s=s, sigma2=sigma2, ridge=ridge, order=order, precision=precision,
                         rtol=rtol)
    if n < 2:
        raise DCPredictError(f"finite_size=True needs n >= 2; got n={n}")
    lam, beta, wc, counts, noise, oracle_kept, so, tv = _world_parts(law, n, P, p, s, float(sigma2), order)
    ar = asym.risks()
    risks, methods, _ = _model_risks(lam, beta, counts.astype(float), noise, n, s, oracle_kept.astype(float),
                                     (so[0].astype(float), so[1]), ar, asym.ridge)
    signal = lam * beta ** 2
    total = float(sigma2) + float(np.dot(wc, signal))
    if asym.ridge > 0.0:
        base = {k: ar[k] for k in ("small_random", "small_top_variance")}
        bm = {k: ASYMPTOTIC for k in base}
    else:
        base, bm = {}, {}
        rnd = wc * (s / P)
        for name, comp in (("small_random", rnd), ("small_top_variance", tv)):
            base[name], bm[name] = _refit(lam, beta, comp, total - float(np.dot(comp, signal)), n)
    if order == "random" and asym.ridge == 0.0:
        for k in RISK_FIELDS:
            if k != "dense" and k != "small_oracle" and methods[k] == EXACT:
                methods[k] = "finite: expected composition of the random order, rounded (approximate)"
    methods.update(bm)
    methods["zero_model"] = EXACT
    risks.update(base)
    risks["zero_model"] = asym.zero_model
    import dataclasses
    fields = {f.name: getattr(asym, f.name) for f in dataclasses.fields(WorldPrediction)}
    fields.update(risks)
    return FiniteWorldPrediction(**fields, asymptotic=ar, methods=methods)


def predict_world_curve_finite(law: Law, *, n: int, P: int, s: int, sigma2: float, ps: Any = None,
                               ridge: float = 0.0, order: str = "saliency", rtol: float = 1e-12,
                               progress: bool = True, finite_size: Any = True) -> FiniteWorldCurve:
    """Finite-size world risks for many p (``dcpredict.predict_world_curve(..., finite_size=True)``).

    Each p costs about 0.1-2 s (the order statistics), so the default grid has at most 60 values of p; a
    progress bar goes to stderr.
    """
    from ..world import default_ps, predict_world_curve
    _check_flag(finite_size)
    law = _check_law(law)
    if ps is None:
        ps = default_ps(check_int("s", s, lo=1), check_int("P", P, lo=1), num=60)
    asym = predict_world_curve(law, n=n, P=P, s=s, sigma2=sigma2, ps=ps, ridge=ridge, order=order, rtol=rtol)
    fields = {k: np.array(getattr(asym, k), dtype=float) for k in WorldCurve.CURVE_FIELDS}
    methods: dict[str, set] = {k: set() for k in WorldCurve.CURVE_FIELDS}
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=asym.ps.size, file=sys.stderr, desc="finite-size curve", unit="p")
    base = None
    try:
        for i, p in enumerate(asym.ps):
            wp = predict_world_finite(law, n=n, P=P, p=int(p), s=s, sigma2=sigma2, ridge=ridge, order=order, rtol=rtol)
            for k in WorldCurve.CURVE_FIELDS:
                fields[k][i] = getattr(wp, k)
                methods[k].add(_short(wp.methods[k]))
            base = wp
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    b = {k: getattr(base, k) for k in WORLD_BASELINES}
    return FiniteWorldCurve(law, n, P, s, float(sigma2), asym.ridge, order, asym.ps, **fields, **b,
                            asymptotic={k: np.array(getattr(asym, k)) for k in WorldCurve.CURVE_FIELDS},
                            methods={k: ", ".join(sorted(v)) for k, v in methods.items()})


# ------------------------------------------------------------------------------ advisor
from ..advisor import Advice  # noqa: E402

#: p values of the finite-size advisor's coarse grid (each costs about a second), then integer refinement
ADVISE_GRID = 24


@dataclass(frozen=True, repr=False)
class FiniteAdvice(Advice):
    """:class:`~dcpredict.advisor.Advice` in finite-size mode: every risk is the finite-size expected risk at
    these n, p and s; ``asymptotic_best`` is the asymptotic advisor's answer, for comparison; the search is a
    coarse grid of p refined to the integer minimum around the best grid point (``exhaustive`` False)."""
    finite_size: bool = True
    asymptotic_best: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update({"finite_size": True, "asymptotic_best": dict(self.asymptotic_best)})
        return out

    def summary(self) -> str:
        a = self.asymptotic_best
        return ("FINITE-SIZE mode (expected risks at these n and p; theory page, finite size)\n"
                + super().summary().replace("(asymptotic theory;", "(finite-size theory;")
                + f"\nasymptotic advisor: {a.get('rule')} at p = {a.get('p')} (asymptotic risk {fmt(a.get('risk', math.nan))})")


def advise_finite(law: Law, *, sigma2: float, n: int, s: int, P: Any = None, order: str = "saliency",
                  ridge: Any = 0.0, rules: Any = None, tol: float = 1e-3, finite_size: Any = True,
                  progress: bool = True) -> FiniteAdvice:
    """:func:`dcpredict.advise` with finite-size risks (``advise(..., finite_size=True)``)."""
    from ..advisor import PRUNE_RULES, SAME_RISK, _check_inputs, advise
    _check_flag(finite_size)
    if isinstance(ridge, str):
        raise DCPredictError(f"finite_size=True supports a numeric ridge only (finite-size corrections are for "
                             f"ridge 0; ridge > 0 falls back to the asymptotic); got ridge={ridge!r}")
    rules = PRUNE_RULES if rules is None else rules
    law, sigma2, n, s, P, P_from, order, ridge, rules, tol = _check_inputs(law, sigma2, n, s, P, order, ridge,
                                                                           rules, tol)
    _check_law(law)
    asym = advise(law, sigma2=sigma2, n=n, s=s, P=P, order=order, ridge=ridge, rules=rules, tol=tol)
    cache: dict[int, FiniteWorldPrediction] = {}

    def at(p: int) -> FiniteWorldPrediction:
        if p not in cache:
            cache[p] = predict_world_finite(law, n=n, P=P, p=p, s=s, sigma2=sigma2, ridge=ridge, order=order)
        return cache[p]

    grid = np.unique(np.concatenate([np.linspace(s, P, min(ADVISE_GRID, P - s + 1)).round(),
                                     [asym.best_p]]).astype(int))
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=grid.size, file=sys.stderr, desc="finite-size advise", unit="p")
    try:
        for p in grid:
            at(int(p))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    optima: dict[str, dict[str, Any]] = {}
    for rule in rules:
        ps_sorted = sorted(cache)
        vals = [getattr(cache[p], rule) for p in ps_sorted]
        i = int(np.argmin(vals))
        lo = ps_sorted[max(i - 1, 0)]
        hi = ps_sorted[min(i + 1, len(ps_sorted) - 1)]
        # integer refinement: ternary search on [lo, hi] (the risk is unimodal between grid neighbours)
        a, b = lo, hi
        while b - a > 2:
            m1, m2 = a + (b - a) // 3, b - (b - a) // 3
            if getattr(at(m1), rule) <= getattr(at(m2), rule):
                b = m2
            else:
                a = m1
        for p in range(a, b + 1):
            at(p)
        best_p = min(range(a, b + 1), key=lambda q: (getattr(cache[q], rule), q))
        optima[rule] = {"p": int(best_p), "risk": float(getattr(cache[best_p], rule))}
    low = min(v["risk"] for v in optima.values())
    close = [r for r in rules if optima[r]["risk"] <= low + SAME_RISK * abs(low) or optima[r]["risk"] == low]
    best_rule = min(close, key=lambda r: (optima[r]["p"], rules.index(r)))
    ps = np.array(sorted(cache), dtype=np.int64)
    curves = {r: np.array([getattr(cache[int(p)], r) for p in ps]) for r in rules}
    any_p = cache[int(ps[0])]
    return FiniteAdvice(law=law, n=n, P=P, s=s, sigma2=sigma2, ridge=ridge, order=order, rules=rules, tol=tol,
                        P_from=P_from, best_p=int(optima[best_rule]["p"]), best_rule=best_rule,
                        best_risk=float(optima[best_rule]["risk"]), rule_optima=optima,
                        small_random=float(any_p.small_random), small_top_variance=float(any_p.small_top_variance),
                        small_oracle=float(any_p.small_oracle), zero_model=float(any_p.zero_model),
                        ps=ps, curves=curves, exhaustive=False, asymptotic_best=dict(asym.best))
