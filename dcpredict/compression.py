"""Compression beyond pruning, from the same distributional characterization (theory page, section 9).

Three questions the paper leaves open, answered in the p -> infinity limit by the DC of the fitted model
(theory page, sections :ref:`theory-dc` to :ref:`theory-retraining`):

- :func:`predict_quantized`: the risk of the fit quantized coordinate-wise with a uniform mid-tread
  quantizer of ``bits`` bits (optionally after magnitude or Hessian pruning), at a given step or at the
  risk-minimizing step;
- :func:`predict_iterative`: iterative magnitude pruning (the lottery-ticket practice) with a refit on fresh
  samples after every round;
- :func:`optimal_ridge`: the ridge penalty that minimizes the risk of any pruning or retraining rule.

Global minimizations (over the quantizer step, over the ridge) are certified the same way: a scan on a
logarithmic grid, then a golden-section refinement of *every* local minimum of the scan down to a bracket of
relative width ``xtol`` (the result reports the bracket, the risk spread over it and every local minimum
found).  A basin narrower than one grid spacing could be missed; the grid spacing is reported.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ._results import Result, fmt as _fmt
from ._validate import DCPredictError, check_choice, check_int, check_real
from .law import Law
from .theory import _problem_scale

__all__ = ["QuantizedPrediction", "IterativePrediction", "RoundResult", "OptimalRidge", "predict_quantized",
           "predict_iterative", "optimal_ridge", "quantizer_levels", "PRUNE_RULES", "MAX_BITS"]

PRUNE_RULES = ("magnitude", "hessian")
#: widest quantizer (half precision width); the exact cell sums cost up to 2^bits terms per atom
MAX_BITS = 16
DEFAULT_RTOL = 1e-12
#: relative width of the final bracket of every 1-D minimization (step, ridge)
XTOL = 1e-9
#: scan density of the step (points per decade) and its range around the coordinate scale
STEP_PER_DECADE = 40
#: scan of the ridge: points per decade and range relative to E[Lambda]
RIDGE_PER_DECADE = 20
RIDGE_RANGE = (1e-8, 1e6)
_GOLD = 0.5 * (3.0 - math.sqrt(5.0))


# ------------------------------------------------------------------------------ helpers
def _check_law(law: Any) -> Law:
    if not isinstance(law, Law):
        raise DCPredictError(f"law must be a dcpredict.Law; got {type(law).__name__}")
    return law


def _arrays(law: Law) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.array(law.lam), np.array(law.b), np.array(law.weights)


#: largest kappa accepted (as the theory paths); lam min/max and ridge/max(lam) must lie in [RANGE_MIN, RANGE_MAX]
KAPPA_MAX = 1e200
RANGE_MIN, RANGE_MAX = 1e-305, 1e305
#: a request whose estimated run time exceeds this many seconds is refused before any work, with the estimate
MAX_SECONDS = 600.0
#: work estimated above this many seconds runs with a progress bar (tqdm, stderr) that states the estimate
PROGRESS_SECONDS = 5.0
#: measured cost of one (atom, quantizer level, step) term of the exact cell sums, in seconds (2 shared cores)
_SECONDS_PER_TERM = 3e-8


@dataclass(frozen=True)
class _Units:
    """The problem in scaled units (the exact invariances of the theory page, :ref:`theory-lgp`):
    lam / L, B sqrt(L / Q), sigma2 / Q, ridge / L, the coordinates X = sqrt(p) beta_hat (and so the quantizer
    step and the magnitude threshold) times sqrt(L / Q), with L = max lam and Q = sigma2 + E[Lambda B^2].
    Every scaled quantity is O(1), so the kernels never overflow or underflow whatever the user's units."""
    lam: np.ndarray
    b: np.ndarray
    w: np.ndarray
    sigma2: float
    ridge: float
    logL: float
    logQ: float
    Q: float  # the scale itself when a double holds it (exact products), else inf

    def risk(self, x: float) -> float:
        """A risk (or noise level) back in the user's units; 0 and inf stay; an overflow gives inf (refused
        by the caller's certification)."""
        if x == 0.0 or not math.isfinite(x):
            return float(x)
        if math.isfinite(self.Q):
            with np.errstate(over="ignore"):
                return float(np.float64(x) * self.Q)
        return _exp_or_inf(math.log(x) + self.logQ) if x > 0 else -_exp_or_inf(math.log(-x) + self.logQ)

    def coord(self, x: float) -> float:
        """A coordinate of X (step, magnitude threshold) back in the user's units."""
        if x == 0.0 or not math.isfinite(x):
            return float(x)
        return _exp_or_inf(math.log(x) + 0.5 * (self.logQ - self.logL))

    def coord_in(self, x: float) -> float:
        """A user's coordinate (step) in scaled units."""
        return _exp_or_inf(math.log(x) + 0.5 * (self.logL - self.logQ))

    def tau(self, x: float) -> float:
        if x == 0.0 or not math.isfinite(x):
            return float(x)
        return _exp_or_inf(math.log(x) + self.logL)


def _exp_or_inf(y: float) -> float:
    return math.inf if y > 709.78 else math.exp(y)


def _units(law: Law, sigma2: float, ridge: float) -> _Units:
    """Scale the law (refusing one whose dynamic range a double cannot hold), see :class:`_Units`."""
    lam, b, w = _arrays(law)
    keep = w > 0.0  # atoms of zero weight change no expectation (and may hold any value)
    lam, b, w = lam[keep], b[keep], w[keep]
    L, lam_s, logb, logQ, nterms = _problem_scale(lam, b, w, sigma2, ridge)
    with np.errstate(over="ignore", under="ignore"):
        Q = float(sigma2 + np.dot(w, lam * b * b)) if nterms else 1.0
    if math.isfinite(Q) and Q > 0.0:
        logQ = math.log(Q)  # the direct sum where a double holds it: scaled -> user units is one product
    else:
        Q = math.inf
    shift = 0.5 * (math.log(L) - logQ)
    with np.errstate(under="ignore", over="ignore"):
        b_s = np.where(b == 0.0, 0.0, np.sign(b) * np.exp(np.where(b == 0.0, 0.0, logb) + shift))
    s2 = (sigma2 / Q if math.isfinite(Q) else math.exp(math.log(sigma2) - logQ)) if sigma2 > 0.0 else 0.0
    return _Units(lam_s, b_s, w / math.fsum(w), s2, ridge / L, math.log(L), logQ, Q)


def _certify_risk(name: str, x: float, sigma2_s: float, where: str) -> None:
    """A scaled risk must be a number >= the scaled noise level (to rounding), or a true inf."""
    if math.isnan(x):
        raise DCPredictError(f"no certified result {where}: {name} is undefined (nan)")
    if x < sigma2_s * (1.0 - 1e-9) - 1e-300:
        raise DCPredictError(f"no certified result {where}: {name} came out below sigma2 (rounding); "
                             "check the scales of the law, sigma2 and ridge")


def _certify_user(name: str, x: float, where: str, sigma2: float = 0.0) -> float:
    """A risk back in user units: one that overflowed the double range (a finite scaled risk) is refused; one
    below sigma2 by the rounding of the unscaling is sigma2 (a risk is sigma2 plus a sum of squares)."""
    if math.isinf(x):
        raise DCPredictError(f"{name} {where} exceeds the double-precision range (about 1.8e308); rescale the law "
                             "or sigma2")
    return max(x, sigma2)


def _estimate(what: str, atoms: int, levels: int, steps: int, option: str) -> float:
    """Estimated run time (s) of ``steps`` evaluations of the exact cell sums; refused (before any work, with
    the estimate and the option that bounds it) above MAX_SECONDS."""
    est = atoms * levels * steps * _SECONDS_PER_TERM
    if est > MAX_SECONDS:
        raise DCPredictError(f"{what} would take about {est:.3g} s ({atoms} atoms x {levels} quantizer levels x "
                             f"{steps} step evaluations; limit {MAX_SECONDS:g} s); {option}")
    return est


def _scan_with_progress(fn, steps: np.ndarray, est: float) -> np.ndarray:
    """fn(steps) in chunks, with a progress bar on stderr (and the estimate) when the work is not short."""
    if est < PROGRESS_SECONDS:
        return fn(steps)
    import sys
    from tqdm.auto import tqdm
    chunks = np.array_split(steps, min(steps.size, 50))
    out = []
    with tqdm(total=steps.size, file=sys.stderr, unit="step", desc=f"quantizer step scan (~{est:.0f} s)",
              dynamic_ncols=True) as bar:
        for c in chunks:
            out.append(fn(c))
            bar.update(c.size)
    return np.concatenate(out)


def _saliency_order(law: Law) -> np.ndarray:
    return np.argsort(-(law.lam * law.b ** 2), kind="stable").astype(np.int64)


def quantizer_levels(bits: int) -> tuple[int, bool]:
    """(K, onebit): levels {-K..K} * step for bits >= 2 (K = 2^(bits-1) - 1), {-step, +step} for bits = 1."""
    bits = check_int("bits", bits, lo=1, hi=MAX_BITS)
    if bits == 1:
        return 1, True
    return 2 ** (bits - 1) - 1, False


def _h2(a: float) -> float:
    if a <= 0.0 or a >= 1.0:
        return 0.0
    return -(a * math.log2(a) + (1.0 - a) * math.log2(1.0 - a))


@dataclass(frozen=True)
class _Min:
    x: float
    fx: float
    bracket: tuple[float, float]
    spread: float
    local_minima: tuple[tuple[float, float], ...]
    grid_ratio: float
    scan: tuple[float, float, int]


def _golden(f: Callable[[float], float], a: float, x: float, b: float, fa: float, fx: float, fb: float,
            xtol: float) -> tuple[float, float, float, float, float, float]:
    """Golden-section search on a bracketing triple a < x < b with f(x) <= f(a), f(b), in the variable given.

    Stops when b - a <= xtol (the caller works in log space, so this is a relative width).  Returns the
    final triple (a, x, b, fa, fx, fb); the triple stays bracketing throughout.
    """
    for _ in range(400):
        if b - a <= xtol:
            break
        if x - a > b - x:
            u = x - _GOLD * (x - a)
        else:
            u = x + _GOLD * (b - x)
        fu = f(u)
        if fu <= fx:
            if u < x:
                b, fb = x, fx
            else:
                a, fa = x, fx
            x, fx = u, fu
        else:
            if u < x:
                a, fa = u, fu
            else:
                b, fb = u, fu
    return a, x, b, fa, fx, fb


def _plateau_end(vals: np.ndarray, i: int) -> bool:
    """A flat run starting at i that ends below both of its outer neighbours (a flat-bottomed minimum)."""
    j = i
    while j + 1 < vals.size and vals[j + 1] == vals[i]:
        j += 1
    return j + 1 < vals.size and vals[j + 1] > vals[i] and vals[i - 1] > vals[i]


def _minimize_log(f: Callable[[float], float], values: np.ndarray, u: np.ndarray, xtol: float) -> _Min | None:
    """Refine every local minimum of a scan ``values`` on the log grid ``u``; None if the best is at an end."""
    vals = np.where(np.isfinite(values), values, np.inf)
    n = u.size
    cands = []
    i = 1
    while i < n - 1:
        if (vals[i] <= vals[i - 1] and vals[i] <= vals[i + 1] and math.isfinite(vals[i])
                and (vals[i] < vals[i - 1] or vals[i] < vals[i + 1] or _plateau_end(vals, i))):
            j = i
            while j + 1 < n - 1 and vals[j + 1] == vals[i]:  # a plateau counts once
                j += 1
            cands.append(i)
            i = j + 1
        else:
            i += 1
    ibest = int(np.argmin(vals))
    if not cands or vals[ibest] < min(vals[c] for c in cands):
        return None
    found = []
    for i in cands:
        a, x, b, fa, fx, fb = _golden(f, u[i - 1], u[i], u[i + 1], vals[i - 1], vals[i], vals[i + 1], xtol)
        found.append((x, fx, a, b, max(fa, fb) - fx))
    found.sort(key=lambda t: t[1])
    x, fx, a, b, spread = found[0]
    return _Min(math.exp(x), fx, (math.exp(a), math.exp(b)), spread,
                tuple((math.exp(t[0]), t[1]) for t in found), math.exp(u[1] - u[0]),
                (math.exp(u[0]), math.exp(u[-1]), int(n)))


# ------------------------------------------------------------------------------ quantization
@dataclass(frozen=True)
class QuantizedPrediction(Result):
    """Risk of the fit quantized coordinate-wise (theory page, section 9), optionally after pruning.

    The quantizer acts on X = sqrt(p) beta_hat (the scale of the DC): levels {-K..K} * step with
    K = 2^(bits-1) - 1 for bits >= 2 (mid-tread: 0 is a level), {-step, +step} for bits = 1; each
    coordinate goes to the nearest level, values beyond the outer levels are clipped.  With ``alpha`` and
    ``rule`` the fit is first pruned to a fraction alpha (magnitude or Hessian rule, theory page section
    :ref:`theory-pruning`) and only the kept weights are quantized.

    ``risk`` is the test risk at ``step``; ``step_optimal`` tells whether the step was chosen by the
    certified global minimization (then ``step_bracket`` is the final bracket, of relative width <= 1e-9,
    ``risk_spread`` the largest excess of the risk at the bracket ends over ``risk`` and ``local_minima``
    every local minimum (step, risk) of the scan, best first).  ``unquantized`` is the risk of the same fit
    (pruned if alpha is given) before quantization; ``zero_model`` = sigma^2 + E[Lambda B^2].  ``step`` is
    None only when the risk is infinite at every step (r = 0 at kappa = 1), and ``inf`` (resp. 0) when the
    best quantizer sends every weight to 0 (the infimum is the zero model's risk, approached as the step
    grows, resp. shrinks).
    """
    law: Law
    kappa: float
    bits: int
    sigma2: float
    ridge: float
    alpha: float
    rule: str | None
    step: float | None
    risk: float
    step_optimal: bool
    unquantized: float
    dense: float
    zero_model: float
    tau: float
    gamma2: float
    threshold: float
    ridge_optimal: bool = False
    step_bracket: tuple[float, float] | None = None
    risk_spread: float = 0.0
    local_minima: tuple[tuple[float, float], ...] = ()
    scan: tuple[float, float, int] | None = None
    ridge_bracket: tuple[float, float] | None = None

    @property
    def levels(self) -> int:
        """Number of quantizer levels (2K + 1, or 2 for one bit)."""
        K, onebit = quantizer_levels(self.bits)
        return 2 if onebit else 2 * K + 1

    @property
    def bits_per_kept_weight(self) -> int:
        return self.bits

    @property
    def bits_per_weight(self) -> float:
        """Storage per weight of the dense model: alpha * bits for the values plus the binary entropy
        h2(alpha) for the support (entropy-coded mask; 0 without pruning)."""
        return self.alpha * self.bits + _h2(self.alpha)

    def to_dict(self) -> dict[str, Any]:
        return {"kappa": self.kappa, "bits": self.bits, "sigma2": self.sigma2, "ridge": self.ridge,
                "alpha": self.alpha, "rule": self.rule, "step": self.step, "risk": self.risk,
                "step_optimal": self.step_optimal, "ridge_optimal": self.ridge_optimal,
                "unquantized": self.unquantized, "dense": self.dense, "zero_model": self.zero_model,
                "tau": self.tau, "gamma2": self.gamma2, "threshold": self.threshold, "levels": self.levels,
                "bits_per_kept_weight": self.bits, "bits_per_weight": self.bits_per_weight,
                "risk_spread": self.risk_spread,
                "step_bracket": None if self.step_bracket is None else list(self.step_bracket),
                "ridge_bracket": None if self.ridge_bracket is None else list(self.ridge_bracket),
                "local_minima": [list(t) for t in self.local_minima], "law": self.law.to_dict()}

    def summary(self) -> str:
        what = "dense fit," if self.rule is None else f"{self.rule} pruning to alpha = {self.alpha:g}, then"
        step = "-" if self.step is None else _fmt(self.step, 10)
        lines = [f"dcpredict quantization ({what} {self.bits}-bit mid-tread quantizer, {self.levels} levels)",
                 "=" * 66,
                 f"law: {self.law!r}",
                 f"kappa = {self.kappa:g}   sigma2 = {self.sigma2:g}   ridge = {_fmt(self.ridge, 8)}"
                 + ("  (tuned)" if self.ridge_optimal else ""),
                 f"bits per kept weight = {self.bits}   storage per weight = {self.bits_per_weight:.4g} bits"
                 + ("" if self.rule is None else " (values + entropy-coded support)"),
                 f"step (scale of sqrt(p) beta_hat) = {step}" + ("  (risk-minimizing)" if self.step_optimal else ""),
                 "-" * 66,
                 f"{'quantized risk':<30}{_fmt(self.risk, 10):>18}",
                 f"{'before quantization':<30}{_fmt(self.unquantized, 10):>18}",
                 f"{'dense fit (unquantized)':<30}{_fmt(self.dense, 10):>18}",
                 f"{'zero model':<30}{_fmt(self.zero_model, 10):>18}"]
        if self.step_optimal and self.step_bracket is not None:
            lines += ["-" * 66,
                      f"step bracket [{self.step_bracket[0]:.10g}, {self.step_bracket[1]:.10g}], risk spread "
                      f"{self.risk_spread:.2g}; {len(self.local_minima)} local minim"
                      f"{'um' if len(self.local_minima) == 1 else 'a'} in the scan"]
            if len(self.local_minima) > 1:
                lines.append("  " + ", ".join(f"step {s:.6g}: {r:.8g}" for s, r in self.local_minima))
        lines.append("=" * 66)
        return "\n".join(lines)

    def __repr__(self) -> str:
        pr = "" if self.rule is None else f" {self.rule} alpha={self.alpha:g}"
        step = "None" if self.step is None else f"{self.step:.6g}"
        return (f"<QuantizedPrediction kappa={self.kappa:g} bits={self.bits}{pr} ridge={self.ridge:.4g} "
                f"step={step} risk={self.risk:.6g}>")


def _quant_cost(law: Law, bits: int, step: float | None) -> tuple[int, int, int]:
    """(atoms, levels, step evaluations) of one quantized risk: the work estimate, known before any work."""
    K, onebit = quantizer_levels(bits)
    npts = 1 if step is not None else int(math.ceil(math.log10(2000.0 * (K + 1)) * STEP_PER_DECADE)) + 61
    return int(np.count_nonzero(np.asarray(law.weights) > 0)), (2 if onebit else 2 * K + 1), npts


def _quant_one(law: Law, kappa: float, bits: int, sigma2: float, ridge: float, step: float | None,
               alpha: float, rule: str | None, rtol: float, progress: bool = True) -> QuantizedPrediction:
    from . import _kernels_compress as KC
    u = _units(law, sigma2, ridge)
    lam, b, w = u.lam, u.b, u.w
    K, onebit = quantizer_levels(bits)
    where = f"at kappa={kappa!r}, bits={bits}, ridge={ridge!r}"
    code = KC.RULE_NONE if rule is None else (KC.RULE_MAGNITUDE if rule == "magnitude" else KC.RULE_HESSIAN)
    step_s = None
    if step is not None:
        step_s = u.coord_in(step)
        if not RANGE_MIN <= step_s <= RANGE_MAX:
            raise DCPredictError(f"step relative to the coordinate scale sqrt((sigma2 + E[Lambda B^2]) / max(lam)) = "
                                 f"{u.coord(1.0)!r} must be in [{RANGE_MIN:g}, {RANGE_MAX:g}]; got step={step!r}")
    tau, g2, t, _res, m, v, te, keep = KC.coordinate_setup(lam, b, w, kappa, u.ridge, u.sigma2, alpha, code, rtol)
    if math.isnan(tau) or math.isnan(g2):
        raise DCPredictError(f"the DC could not be certified at kappa={kappa!r}, ridge={ridge!r} (no bracketed root "
                             "for tau); check the scales of the law, sigma2 and ridge")
    if math.isnan(t):
        raise DCPredictError(f"the {rule} pruning threshold could not be certified {where}, alpha={alpha!r}")
    zero_s = u.sigma2 + float(np.dot(w, lam * b * b))
    zero = _certify_user("zero_model", u.risk(zero_s), where, sigma2)
    _certify_risk("dense", g2, u.sigma2, where)
    thresh = u.coord(float(t)) if rule != "hessian" else _exp_or_inf(math.log(t) + 0.5 * u.logQ) if t > 0 else float(t)
    common = dict(law=law, kappa=kappa, bits=bits, sigma2=sigma2, ridge=ridge, alpha=alpha, rule=rule,
                  dense=_certify_user("dense", u.risk(float(g2)), where, sigma2) if math.isfinite(g2) else math.inf,
                  zero_model=zero, tau=u.tau(float(tau)), gamma2=max(u.risk(float(g2)), sigma2), threshold=thresh)
    if not math.isfinite(g2):
        return QuantizedPrediction(step=step, risk=math.inf, step_optimal=step is None,
                                   unquantized=math.inf, **common)
    # the fit before quantization (pruned if asked), in closed form (theory page, section 3)
    unq = u.sigma2
    for k in range(lam.size):
        unq += w[k] * lam[k] * KC.pruned_sq_error(b[k], m[k], v[k], te[k], keep[k])
    _certify_risk("unquantized", unq, u.sigma2, where)
    common["unquantized"] = _certify_user("unquantized", u.risk(float(unq)), where, sigma2)
    levels = 2 if onebit else 2 * K + 1

    def risk_at(s: float) -> float:
        return float(KC.quant_risk(lam, b, w, m, v, te, keep, u.sigma2, s, K, onebit))

    def done(x_s: float, r_s: float, **extra) -> QuantizedPrediction:
        _certify_risk("risk", r_s, u.sigma2, where)
        return QuantizedPrediction(step=u.coord(x_s), risk=_certify_user("risk", u.risk(r_s), where, sigma2), **extra,
                                   **common)

    if step_s is not None:
        _estimate("this quantized risk", lam.size, levels, 1, "use a law with fewer atoms")
        return done(step_s, risk_at(step_s), step_optimal=False)
    # coordinate scale: rms of the kept coordinates
    scale2 = float(np.sum(w * (m ** 2 + v ** 2)))
    if scale2 < 1e-200 and u.ridge > 0.0:
        raise DCPredictError(f"the fit is zero to double precision {where} (its coordinates are below 1e-100 of the "
                             "law's scale; a large ridge shrinks them): its quantized risk cannot be certified; the "
                             "zero model's risk is sigma2 + E[Lambda B^2]")
    scale = math.sqrt(max(scale2, 1e-300))
    # the scan covers clipping levels K * step from scale / 100 up, and steps up to 20 scale
    lo = scale / (100.0 * (K + 1))
    hi = 20.0 * scale
    npts0 = int(math.ceil(math.log10(hi / lo) * STEP_PER_DECADE)) + 1
    est = _estimate("the step search of this quantized risk", lam.size, levels, npts0 + 60,
                    "give step= (one evaluation) or use a law with fewer atoms or fewer bits")
    for _ in range(6):
        npts = int(math.ceil(math.log10(hi / lo) * STEP_PER_DECADE)) + 1
        grid = np.linspace(math.log(lo), math.log(hi), npts)
        vals = _scan_with_progress(lambda st: KC.quant_risk_scan(lam, b, w, m, v, te, keep, u.sigma2, st, K, onebit),
                                   np.exp(grid), est * npts / (npts0 + 60) if progress else 0.0)
        if np.isnan(vals).any():
            raise DCPredictError(f"no certified result {where}: the quantized risk is undefined (nan) at some step")
        res = _minimize_log(lambda x: risk_at(math.exp(x)), vals, grid, XTOL)
        if res is not None:
            return done(res.x, res.fx, step_optimal=True,
                        step_bracket=(u.coord(res.bracket[0]), u.coord(res.bracket[1])),
                        risk_spread=u.risk(res.spread),
                        local_minima=tuple((u.coord(x), u.risk(r)) for x, r in res.local_minima),
                        scan=(u.coord(res.scan[0]), u.coord(res.scan[1]), res.scan[2]))
        ib = int(np.argmin(vals))
        if ib == 0:
            lo /= 1e3
        else:
            hi *= 1e3
    # the scan keeps improving towards an end: every weight goes to zero in the limit (the zero model)
    ib = int(np.argmin(vals))
    limit = 0.0 if ib == 0 else math.inf
    if not onebit or limit == 0.0:
        return QuantizedPrediction(step=limit, risk=zero, step_optimal=True, **common)
    raise DCPredictError(f"the quantizer step could not be optimized (risk decreasing up to step {u.coord(hi):g}); "
                         "give step explicitly")  # pragma: no cover - one bit diverges at large step


def predict_quantized(law: Law, *, kappa: float, bits: int, sigma2: float, ridge: float | str = 0.0,
                      step: float | None = None, alpha: float | None = None, rule: str | None = None,
                      rtol: float = DEFAULT_RTOL) -> QuantizedPrediction:
    """Test risk of the fit quantized with a ``bits``-bit uniform quantizer (theory page, section 9).

    Parameters
    ----------
    law : Law
        Law of (Lambda, B).
    kappa : float
        p/n > 0 (kappa = 1 with ridge 0 has infinite risk at every step).
    bits : int
        Bits per (kept) weight, 1 <= bits <= 16.  bits >= 2: levels {-K..K} * step, K = 2^(bits-1) - 1;
        bits = 1: {-step, +step}.
    sigma2 : float
        Label noise variance >= 0.
    ridge : float or "optimal"
        Ridge penalty r >= 0 of the fit; "optimal" minimizes the (step-optimized, or at the given step)
        quantized risk over r >= 0 as well (same certified scan as :func:`optimal_ridge`).
    step : float, optional
        Quantizer step in the scale of X = sqrt(p) beta_hat (the coordinates of the DC).  None: the step
        that minimizes the risk, found globally (a scan at 40 points per decade from
        scale/(100 (K+1)) (outer levels at 1 % of the scale) to 20 scale, scale = rms of X, then
        golden-section refinement of every local minimum to a relative bracket of 1e-9).  With many bits the
        best step is usually the one whose clipping level K * step shrinks the largest coordinates, not the
        finest one, so the optimum is not the unquantized risk even as bits grow.
        When the risk keeps decreasing towards an end of the scan, the scan is extended (up to 6 times by
        1e3); a monotone decrease to the zero model is reported as step = inf (or 0).
    alpha, rule : optional
        Prune first: keep a fraction alpha in (0, 1] by ``rule`` ("magnitude" or "hessian"), then quantize
        the kept weights.  Give both or neither.
    rtol : float
        Relative tolerance of the DC's roots.

    Returns
    -------
    QuantizedPrediction

    Notes
    -----
    The work (atoms x quantizer levels x step evaluations) is estimated before it starts: above 5 s it runs
    with a progress bar on stderr that states the estimate, above 10 minutes it is refused with the estimate
    (give ``step``, fewer bits or a law with fewer atoms).  Everything is computed in scaled units (the exact
    invariances of the theory page), so any law a double can hold gives a certified risk or a DCPredictError.
    """
    law = _check_law(law)
    kappa = check_real("kappa", kappa, lo=0.0, lo_open=True, hi=KAPPA_MAX)
    bits = check_int("bits", bits, lo=1, hi=MAX_BITS)
    sigma2 = check_real("sigma2", sigma2, lo=0.0)
    tune = isinstance(ridge, str)
    if tune:
        check_choice("ridge", ridge, ("optimal",))
    else:
        ridge = check_real("ridge", ridge, lo=0.0)
    if step is not None:
        step = check_real("step", step, lo=0.0, lo_open=True)
    if (alpha is None) != (rule is None):
        raise DCPredictError(f"alpha and rule must be given together (prune, then quantize); got alpha={alpha!r}, "
                             f"rule={rule!r}")
    if rule is not None:
        rule = check_choice("rule", rule, PRUNE_RULES)
        alpha = check_real("alpha", alpha, lo=0.0, lo_open=True, hi=1.0)
    else:
        alpha = 1.0
    rtol = check_real("rtol", rtol, lo=1e-15, hi=1e-3)
    if not tune:
        return _quant_one(law, kappa, bits, sigma2, ridge, step, alpha, rule, rtol)
    atoms, levels, npts = _quant_cost(law, bits, step)
    n_ridge = int(round(math.log10(RIDGE_RANGE[1] / RIDGE_RANGE[0]) * 8)) + 2 + 2 * 45  # scan, r = 0, refinements
    est = _estimate("ridge='optimal' (a step search at every ridge of the scan)", atoms, levels, npts * n_ridge,
                    "give ridge= a number, or step=")
    bar = None
    if est >= PROGRESS_SECONDS:
        import sys
        from tqdm.auto import tqdm
        bar = tqdm(total=n_ridge, file=sys.stderr, unit="ridge", desc=f"ridge search (~{est:.0f} s)",
                   dynamic_ncols=True)

    def at_ridge(r: float) -> float:
        out = _quant_one(law, kappa, bits, sigma2, r, step, alpha, rule, rtol, progress=False).risk
        if bar is not None:
            bar.update(1)
        return out

    try:
        res, _ = _minimize_ridge(at_ridge, law, per_decade=8)
    finally:
        if bar is not None:
            bar.close()
    if res is not None and not math.isfinite(res.x):
        raise DCPredictError("ridge='optimal': the quantized risk keeps decreasing as the ridge grows (the zero "
                             "model is best); give a ridge explicitly")
    best = _quant_one(law, kappa, bits, sigma2, res.x if res is not None else 0.0, step, alpha, rule, rtol)
    import dataclasses
    if res is None:
        return dataclasses.replace(best, ridge_optimal=True, ridge_bracket=(0.0, 0.0))
    return dataclasses.replace(best, ridge_optimal=True, ridge_bracket=res.bracket)


# ------------------------------------------------------------------------------ iterative pruning
@dataclass(frozen=True)
class RoundResult(Result):
    """One round of iterative pruning: the cut of the current fit, then the refit on fresh samples."""
    round: int
    support_fraction: float
    kept_mass: float
    threshold: float
    pruned: float
    retrained: float
    kappa_S: float
    sigma2_S: float
    tau_S: float

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in ("round", "support_fraction", "kept_mass", "threshold", "pruned",
                                              "retrained", "kappa_S", "sigma2_S", "tau_S")}

    def summary(self) -> str:
        return (f"round {self.round}: support {self.support_fraction:.6g}, pruned {_fmt(self.pruned)}, "
                f"retrained {_fmt(self.retrained)}")


@dataclass(frozen=True)
class IterativePrediction(Result):
    """Iterative magnitude pruning with a fresh refit per round (theory page, section 9).

    ``rounds`` holds one :class:`RoundResult` per round: the fraction of all p features kept after the
    round's cut (``support_fraction`` = alpha^(j / n_rounds)), the risk of the previous fit pruned to it
    (``pruned``, no refit) and of the refit on fresh samples (``retrained``), with the refit problem
    (``kappa_S`` = support_fraction * kappa, ``sigma2_S``, ``tau_S``).  ``retrained`` is the final refit's
    risk.  ``one_shot_retrained`` / ``one_shot_pruned`` are magnitude pruning straight to alpha with and
    without the refit (:func:`dcpredict.predict`), for comparison; ``dense`` the dense fit.
    """
    law: Law
    kappa: float
    alpha: float
    n_rounds: int
    sigma2: float
    ridge: float
    retrained: float
    rounds: tuple[RoundResult, ...]
    dense: float
    one_shot_pruned: float
    one_shot_retrained: float

    def to_dict(self) -> dict[str, Any]:
        return {"kappa": self.kappa, "alpha": self.alpha, "n_rounds": self.n_rounds, "sigma2": self.sigma2,
                "ridge": self.ridge, "retrained": self.retrained, "dense": self.dense,
                "one_shot_pruned": self.one_shot_pruned, "one_shot_retrained": self.one_shot_retrained,
                "rounds": [r.to_dict() for r in self.rounds], "law": self.law.to_dict()}

    def _plot(self, ax) -> None:
        """Risk after each round: the cut (no refit) and the refit, against the round; the one-shot magnitude
        pruning with and without refit and the dense fit as dashed lines."""
        from ._results import finite_or_nan
        r = np.arange(1, self.n_rounds + 1)
        ax.plot(r, finite_or_nan([x.pruned for x in self.rounds]), "o-", color="tab:blue", label="cut (no refit)")
        ax.plot(r, finite_or_nan([x.retrained for x in self.rounds]), "s-", color="tab:cyan", label="refit on fresh samples")
        for y, lab, c in ((self.one_shot_retrained, "one shot: magnitude + refit", "tab:cyan"),
                          (self.one_shot_pruned, "one shot: magnitude, no refit", "tab:blue"),
                          (self.dense, "dense fit", "black")):
            ax.plot(r, finite_or_nan(np.full(r.shape, y)), ls="--", color=c, lw=1.0, label=lab)
        ax.set_xticks(r)
        ax.set_xlabel("round")
        ax.set_ylabel("test risk (theory)")
        ax.set_title(f"iterative magnitude pruning to alpha = {self.alpha:g} in {self.n_rounds} rounds, "
                     f"kappa = {self.kappa:g}", fontsize=9)
        ax.grid(alpha=0.25, lw=0.5)
        ax.legend(fontsize=7.5, frameon=False)

    def _records(self) -> list[dict[str, Any]]:
        base = {"kappa": self.kappa, "alpha": self.alpha, "n_rounds": self.n_rounds, "sigma2": self.sigma2,
                "ridge": self.ridge}
        return [{**base, **r.to_dict()} for r in self.rounds]

    def summary(self) -> str:
        lines = [f"dcpredict iterative magnitude pruning ({self.n_rounds} rounds, fresh refit each round)",
                 "=" * 66,
                 f"law: {self.law!r}",
                 f"kappa = {self.kappa:g}   alpha = {self.alpha:g}   sigma2 = {self.sigma2:g}   ridge = {self.ridge:g}",
                 "-" * 66,
                 f"{'round':>5}{'support':>12}{'pruned (no refit)':>22}{'refit (fresh)':>18}{'kappa_S':>9}",
                 "-" * 66]
        for r in self.rounds:
            lines.append(f"{r.round:>5}{r.support_fraction:>12.6g}{_fmt(r.pruned, 10):>22}"
                         f"{_fmt(r.retrained, 10):>18}{r.kappa_S:>9.4g}")
        lines += ["-" * 66,
                  f"final (iterative) retrained risk:      {_fmt(self.retrained, 10)}",
                  f"one-shot magnitude + refit (predict):  {_fmt(self.one_shot_retrained, 10)}",
                  f"one-shot magnitude, no refit:          {_fmt(self.one_shot_pruned, 10)}",
                  f"dense fit:                             {_fmt(self.dense, 10)}",
                  "=" * 66]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<IterativePrediction kappa={self.kappa:g} alpha={self.alpha:g} rounds={self.n_rounds} "
                f"retrained={self.retrained:.6g}>")


def predict_iterative(law: Law, *, kappa: float, alpha: float, rounds: int, sigma2: float, ridge: float = 0.0,
                      rtol: float = DEFAULT_RTOL) -> IterativePrediction:
    """Iterative magnitude pruning to a fraction ``alpha`` in ``rounds`` rounds, refitting on fresh samples.

    Each round keeps alpha^(1/rounds) of the current support by the absolute value of its coefficients and refits least squares (the
    same estimator: min-norm/OLS by the support's own shape, or the same ridge r) on fresh samples.  The
    composition is exact for a law given as atoms (theory page, section 9): the kept mass of each atom is
    tracked and every refit is the support problem of section :ref:`theory-retraining`, whose DC gives the
    next cut.  ``rounds = 1`` is :func:`dcpredict.predict`'s ``magnitude_retrained``.

    For a continuous law (built by quadrature, e.g. :meth:`Law.power_law`) the result is exact for its
    discretization: each round reweights the quadrature atoms by their keep probability, a smooth but
    increasingly sharp function of B, so the accuracy of the quadrature in B degrades with the number of
    rounds; compare two ``b_order`` values if it matters.

    Parameters
    ----------
    law : Law
    kappa : float
        p/n of the dense fit, > 0.
    alpha : float
        Final fraction of weights kept, in (0, 1].
    rounds : int
        Number of prune-and-refit rounds, 1 <= rounds <= 1000.
    sigma2, ridge : float
        Label noise variance >= 0 and ridge penalty r >= 0 (used by every fit).
    rtol : float
        Relative tolerance of every root.

    Returns
    -------
    IterativePrediction
    """
    law = _check_law(law)
    kappa = check_real("kappa", kappa, lo=0.0, lo_open=True, hi=KAPPA_MAX)
    alpha = check_real("alpha", alpha, lo=0.0, lo_open=True, hi=1.0)
    rounds = check_int("rounds", rounds, lo=1, hi=1000)
    sigma2 = check_real("sigma2", sigma2, lo=0.0)
    ridge = check_real("ridge", ridge, lo=0.0)
    rtol = check_real("rtol", rtol, lo=1e-15, hi=1e-3)
    from . import _kernels_compress as KC
    from .theory import predict
    u = _units(law, sigma2, ridge)
    out = KC.iterative(u.lam, u.b, u.w, kappa, alpha, rounds, u.sigma2, u.ridge, rtol)
    if np.isnan(out).any():
        j = int(np.flatnonzero(np.isnan(out).any(axis=1))[0])
        raise DCPredictError(f"the refit of round {j + 1} could not be certified (no bracketed root for its tau) at "
                             f"kappa={kappa!r}, alpha={alpha!r}, ridge={ridge!r}")
    rows = []
    for j in range(rounds):
        where = f"in round {j + 1} at kappa={kappa!r}, alpha={alpha!r}, ridge={ridge!r}"
        target, total, t, pr, g2s, kappa_s, s2s, tau_s = (float(x) for x in out[j])
        for name, x in (("pruned", pr), ("retrained", g2s)):
            _certify_risk(name, x, u.sigma2, where)
        rows.append(RoundResult(j + 1, target, total, u.coord(t),
                                *(_certify_user(nm, u.risk(x), where, sigma2) if math.isfinite(x) else x
                                  for nm, x in (("pruned", pr), ("retrained", g2s))),
                                kappa_s, u.risk(s2s), u.tau(tau_s)))
    rr = tuple(rows)
    one = predict(law, kappa=kappa, alpha=alpha, sigma2=sigma2, ridge=ridge, rtol=rtol)
    return IterativePrediction(law, kappa, alpha, rounds, sigma2, ridge, rr[-1].retrained, rr, float(one.dense),
                               float(one.magnitude), float(one.magnitude_retrained))


# ------------------------------------------------------------------------------ optimal ridge
@dataclass(frozen=True)
class OptimalRidge(Result):
    """The ridge r >= 0 that minimizes one rule's predicted risk at (kappa, alpha).

    ``ridge`` and ``risk`` are the minimizer and the minimum: ``ridge = 0.0`` when r = 0 is best, ``inf``
    when no finite ridge beats (to rounding) the zero model's risk sigma^2 + E[Lambda B^2], the limit
    r -> inf.  ``risk_at_zero`` is the risk without ridge (``inf`` where it diverges).  Certificate: a scan of
    r on a log grid (``scan`` = (first, last, points), absolute r) plus r = 0, then a golden-section
    refinement of every local minimum to a bracket ``ridge_bracket`` of relative width <= 1e-9;
    ``risk_spread`` is the largest excess of the risk at the bracket ends over ``risk``; ``local_minima``
    lists every local minimum (r, risk) found, best first.
    """
    law: Law
    kappa: float
    alpha: float
    sigma2: float
    rule: str
    ridge: float
    risk: float
    risk_at_zero: float
    ridge_bracket: tuple[float, float]
    risk_spread: float
    local_minima: tuple[tuple[float, float], ...]
    scan: tuple[float, float, int]

    @property
    def gain(self) -> float:
        """risk_at_zero - risk (>= 0; inf where the ridgeless risk diverges)."""
        return self.risk_at_zero - self.risk

    def to_dict(self) -> dict[str, Any]:
        return {"kappa": self.kappa, "alpha": self.alpha, "sigma2": self.sigma2, "rule": self.rule,
                "ridge": self.ridge, "risk": self.risk, "risk_at_zero": self.risk_at_zero, "gain": self.gain,
                "ridge_bracket": list(self.ridge_bracket), "risk_spread": self.risk_spread,
                "local_minima": [list(t) for t in self.local_minima], "scan": list(self.scan),
                "law": self.law.to_dict()}

    def summary(self) -> str:
        lines = [f"dcpredict optimal ridge for rule {self.rule!r}",
                 "=" * 62,
                 f"law: {self.law!r}",
                 f"kappa = {self.kappa:g}   alpha = {self.alpha:g}   sigma2 = {self.sigma2:g}",
                 "-" * 62,
                 f"{'best ridge r':<30}{_fmt(self.ridge, 10):>20}",
                 f"{'risk at best r':<30}{_fmt(self.risk, 10):>20}",
                 f"{'risk at r = 0':<30}{_fmt(self.risk_at_zero, 10):>20}",
                 f"{'gain':<30}{_fmt(self.gain, 6):>20}",
                 "-" * 62,
                 f"bracket [{self.ridge_bracket[0]:.10g}, {self.ridge_bracket[1]:.10g}], risk spread "
                 f"{self.risk_spread:.2g}; scan r in [{self.scan[0]:.3g}, {self.scan[1]:.3g}] ({self.scan[2]} points) "
                 "and r = 0"]
        if len(self.local_minima) > 1:
            lines.append("local minima: " + ", ".join(f"r {r:.6g}: {v:.8g}" for r, v in self.local_minima))
        lines.append("=" * 62)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<OptimalRidge rule={self.rule} kappa={self.kappa:g} alpha={self.alpha:g} ridge={self.ridge:.6g} "
                f"risk={self.risk:.6g} (r=0: {self.risk_at_zero:.6g})>")


def _minimize_ridge(f: Callable[[float], float], law: Law, per_decade: int = RIDGE_PER_DECADE
                    ) -> tuple[_Min | None, float]:
    """Global minimum of f over r >= 0: r = 0, a log scan of r / E[Lambda] over RIDGE_RANGE (extended while the
    best point sits at the top end), golden-section refinement of every local minimum.

    Returns (minimum over r > 0 or None when r = 0 is best, f(0)).  A minimum at the top end after the
    extensions is reported as _Min with x = inf and fx = sigma^2 + E[Lambda B^2] is left to the caller.
    """
    scale = law.expect(law.lam)
    f0 = f(0.0)
    lo, hi = RIDGE_RANGE[0] * scale, RIDGE_RANGE[1] * scale
    for _ in range(5):
        npts = int(round(math.log10(hi / lo) * per_decade)) + 1
        u = np.linspace(math.log(lo), math.log(hi), npts)
        vals = np.array([f(math.exp(x)) for x in u])
        res = _minimize_log(lambda x: f(math.exp(x)), vals, u, XTOL)
        finite = np.isfinite(vals)
        if res is not None:
            if math.isfinite(f0) and f0 <= res.fx:
                return None, f0
            return res, f0
        ib = int(np.argmin(np.where(finite, vals, np.inf)))
        if ib == 0:
            # best at the smallest r: either r = 0 is best, or a minimum in (0, u[1]) (refine on a linear scale)
            if math.isfinite(f0) and f0 <= vals[0]:
                return None, f0
            a, x, b, fa, fx, fb = _golden(f, 0.0, math.exp(u[0]), math.exp(u[1]), f0, vals[0], vals[1],
                                          XTOL * math.exp(u[0]))
            return _Min(x, fx, (a, b), max(fa, fb) - fx, ((x, fx),), math.exp(u[1] - u[0]),
                        (math.exp(u[0]), math.exp(u[-1]), int(npts))), f0
        hi *= 1e4
    return _Min(math.inf, math.nan, (hi, math.inf), 0.0, (), math.exp(u[1] - u[0]),
                (math.exp(u[0]), math.exp(u[-1]), int(npts))), f0


def _ridge_search_seconds(law: Law) -> float:
    """Estimated seconds of one :func:`optimal_ridge` search on this law (measured on 2 shared cores, with a
    margin of 2): about 160 risk evaluations, each linear in the law's nodes."""
    size = law.n_nodes if hasattr(law, "n_nodes") else law.n_atoms
    return 2.0 * (0.1 + 1e-3 * size)


def optimal_ridge(law: Law, *, kappa: float, alpha: float | None = None, sigma2: float, rule: str,
                  rtol: float = DEFAULT_RTOL) -> OptimalRidge:
    """The ridge r >= 0 that minimizes the predicted risk of ``rule`` (a field of :data:`dcpredict.RISK_FIELDS`).

    The risk of every rule is a function of r through the DC of the ridge fit (theory page, sections 2-4);
    r = 0 is the min-norm / OLS fit.  The minimum is global over r >= 0: r = 0 and a scan of
    r / E[Lambda] from 1e-8 to 1e6 at 20 points per decade (extended upwards while the best point is the
    last one), then golden-section refinement of every local minimum of the scan to a relative bracket of
    1e-9.  Where the ridgeless risk diverges (kappa = 1, or alpha kappa = 1 for a refit) r = 0 is simply
    never the answer.  A basin narrower than one grid spacing (a factor 10^(1/20) = 1.12 in r) could be
    missed.

    Parameters
    ----------
    law : Law
    kappa : float
        p/n > 0.
    alpha : float, optional
        Fraction kept, in (0, 1]; required except for ``rule="dense"``.
    sigma2 : float
        Label noise variance >= 0.
    rule : str
        One of :data:`dcpredict.RISK_FIELDS` (``dense``, ``magnitude``, ``hessian``, ``random``,
        ``oracle_pruned``, ``small_oracle``, ``magnitude_retrained``, ``hessian_retrained``,
        ``random_retrained``).

    Returns
    -------
    OptimalRidge
    """
    from . import RISK_FIELDS
    law = _check_law(law)
    kappa = check_real("kappa", kappa, lo=0.0, lo_open=True, hi=KAPPA_MAX)
    sigma2 = check_real("sigma2", sigma2, lo=0.0)
    rule = check_choice("rule", rule, tuple(RISK_FIELDS))
    if alpha is None:
        if rule != "dense":
            raise DCPredictError(f"alpha is required for rule={rule!r} (a fraction in (0, 1]); got None")
        alpha = 1.0
    alpha = check_real("alpha", alpha, lo=0.0, lo_open=True, hi=1.0)
    rtol = check_real("rtol", rtol, lo=1e-15, hi=1e-3)
    from .theory import predict

    def f(r: float) -> float:
        return float(getattr(predict(law, kappa=kappa, alpha=alpha, sigma2=sigma2, ridge=r, rtol=rtol), rule))

    res, f0 = _minimize_ridge(f, law)
    if res is None:
        scale = law.expect(law.lam)
        return OptimalRidge(law, kappa, alpha, sigma2, rule, 0.0, f0, f0, (0.0, RIDGE_RANGE[0] * scale), 0.0,
                            ((0.0, f0),), (RIDGE_RANGE[0] * scale, RIDGE_RANGE[1] * scale,
                                           int(round(math.log10(RIDGE_RANGE[1] / RIDGE_RANGE[0]) * RIDGE_PER_DECADE)) + 1))
    zero = sigma2 + law.signal_power
    if math.isinf(res.x) or res.fx >= zero * (1.0 - 1e-12):
        # no finite ridge beats predicting zero (to rounding): the infimum is the r -> inf limit, the zero model
        return OptimalRidge(law, kappa, alpha, sigma2, rule, math.inf, zero, f0, res.bracket, 0.0, (), res.scan)
    return OptimalRidge(law, kappa, alpha, sigma2, rule, res.x, res.fx, f0, res.bracket, res.spread,
                        res.local_minima, res.scan)
