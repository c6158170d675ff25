"""Asymptotic risk predictions: the DC of the fitted model and the risks of every pruning rule.

A :class:`~dcpredict.law.Law` of (Lambda, B) goes in; the distributional characterization (DC) of
the min-norm / OLS / ridge solution, the pair (tau, gamma^2) of the theory page, :ref:`theory-dc` (the paper's
eqs. 8-10, Theorem 1), is solved once per kappa; pruning rules act on it (section 3, eqs. 12-16) and
risks come out, with and without retraining on fresh samples (section 4, Definition 5).

Double precision runs in compiled kernels (:mod:`dcpredict._kernels`); ``precision="mp"`` solves the
same equations with mpmath at 50 significant digits (:mod:`dcpredict._mp`), which the tests use to
certify the double-precision results.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from . import RISK_FIELDS
from . import _kernels as K
from . import _kernels_gauss as G
from ._results import Result, fmt
from ._validate import DCPredictError, check_array, check_choice, check_real
from .law import GaussianLaw, Law

__all__ = ["DC", "Prediction", "PredictionGrid", "RetrainedProblem", "solve_dc", "predict", "predict_grid",
           "RISK_FIELDS", "DEFAULT_RTOL"]

DEFAULT_RTOL = 1e-12


def _real(name: str, value: Any, lo: float, hi: float = math.inf, lo_open: bool = False) -> float:
    """:func:`check_real` with a fast path for a plain float or int already in range (the common call)."""
    t = type(value)
    if t is float or (t is int and -9007199254740992 <= value <= 9007199254740992):
        x = float(value)
        if (x > lo if lo_open else x >= lo) and x <= hi and x - x == 0.0:
            return x
    return check_real(name, value, lo=lo, lo_open=lo_open, hi=None if hi == math.inf else hi)


def _check_common(law: Any, kappa: Any, sigma2: Any, ridge: Any, rtol: Any) -> tuple[Law, float, float, float, float]:
    if not isinstance(law, Law):
        raise DCPredictError(f"law must be a dcpredict.Law; got {type(law).__name__}")
    return (law,
            _real("kappa", kappa, 0.0, KAPPA_MAX, lo_open=True),
            _real("sigma2", sigma2, 0.0),
            _real("ridge", ridge, 0.0),
            _real("rtol", rtol, 1e-15, 1e-3))


def _regime(kappa: float, ridge: float) -> str:
    if ridge > 0.0:
        return "ridge"
    if kappa > 1.0:
        return "min-norm"
    return "ols" if kappa < 1.0 else "interpolation"


def _arrays(law: Law) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Writable float64 copies of the atoms (one compiled signature for every kernel)."""
    return np.array(law.lam), np.array(law.b), np.array(law.weights)


def _saliency_order(law: Law) -> np.ndarray:
    """Atom order for the oracle: decreasing true saliency lam * b^2, ties by atom index."""
    with np.errstate(divide="ignore"):  # in logs: lam * b^2 may overflow (b = 0 gives -inf, last)
        log_sal = np.log(law.lam) + 2.0 * np.log(np.abs(law.b))
    return np.argsort(-log_sal, kind="stable").astype(np.int64)


# ------------------------------------------------------------------------------ scaling and certification
#: largest kappa = p/n accepted (beyond it tau = kappa E[Lambda] leaves the range where the refit problems
#: alpha kappa can be solved in double precision)
KAPPA_MAX = 1e200
#: ridge / max(lam) and min(lam) / max(lam) must lie in [RANGE_MIN, RANGE_MAX] (else DCPredictError)
RANGE_MIN, RANGE_MAX = 1e-305, 1e305
#: below this many (points x atoms) a grid runs in the serial twin of the kernel (threads cost more than the work)
SMALL_WORK = 2048
_STATUS_TEXT = {1: "the root tau of the dense DC could not be certified",
                2: "the magnitude-pruning threshold could not be certified",
                3: "the Hessian-pruning threshold could not be certified",
                4: "a retrained problem's root could not be certified (or its kept support is empty)",
                5: "a risk came out undefined (nan)",
                6: "the point was not computed"}


@dataclass(frozen=True)
class _Scaled:
    """The problem in scaled units (the theory page, :ref:`theory-lgp` invariances): lam / L, B sqrt(L / Q), sigma2 / Q, ridge / L.

    L = max lam and Q = sigma2 + E[Lambda B^2], so every scaled quantity is O(1) and a root can be
    found in double precision whatever the scale of the input; risks scale with Q, tau with L.
    """
    lam: np.ndarray
    b: np.ndarray
    w: np.ndarray
    sigma2: float
    ridge: float
    L: float
    logQ: float

    def risk(self, x: float) -> float:
        """A risk (or gamma^2, noise level) back in the user's units; inf stays inf."""
        if x == 0.0 or not np.isfinite(x):
            return float(x)
        with np.errstate(over="ignore"):
            return float(np.exp(np.log(x) + self.logQ))

    def tau(self, x: float) -> float:
        return float(x * self.L) if np.isfinite(x) else float(x)

    def thresh_mag(self, x: float) -> float:
        return float(x * np.exp(0.5 * (self.logQ - np.log(self.L)))) if np.isfinite(x) and x != 0 else float(x)

    def thresh_hess(self, x: float) -> float:
        return float(x * np.exp(0.5 * self.logQ)) if np.isfinite(x) and x != 0 else float(x)


#: per-law state of the double-precision engine, keyed by the identity of the law's (read-only) arrays and
#: (sigma2, ridge): the arrays are held, so their ids cannot be reused while an entry lives
_LAW_CACHE: dict = {}
_LAW_CACHE_SIZE = 64
#: a law with more atoms is not cached (its copies would pin memory; its kernels dominate anyway)
_LAW_CACHE_MAX_ATOMS = 4096


def _law_state(law: Law, sigma2: float, ridge: float) -> tuple[_Scaled, np.ndarray]:
    """(:func:`_scaled`, :func:`_saliency_order`) of a law, computed once per (law, sigma2, ridge)."""
    arrs = (law.lam, law.b, law.weights)
    key = (id(arrs[0]), id(arrs[1]), id(arrs[2]), sigma2, ridge)
    hit = _LAW_CACHE.get(key)
    if hit is not None and hit[0][0] is arrs[0] and hit[0][1] is arrs[1] and hit[0][2] is arrs[2]:
        return hit[1], hit[2]
    state = (_scaled_uncached(law, sigma2, ridge), _saliency_order(law))
    if arrs[0].size > _LAW_CACHE_MAX_ATOMS:
        return state
    if len(_LAW_CACHE) >= _LAW_CACHE_SIZE:
        _LAW_CACHE.clear()  # atomic (threads may share the cache); refilled on use
    _LAW_CACHE[key] = (arrs, *state)
    return state


def _scaled(law: Law, sigma2: float, ridge: float) -> _Scaled:
    """The law in scaled units (cached per law, sigma2, ridge; its arrays must not be written)."""
    return _law_state(law, sigma2, ridge)[0]


def _problem_scale(lam: np.ndarray, b: np.ndarray, w: np.ndarray, sigma2: float,
                   ridge: float) -> tuple[float, np.ndarray, np.ndarray, float, int]:
    """The scales of a problem, or DCPredictError when a double cannot hold it (shared by the theory and the
    compression paths): L = max(lam), lam / L, log|b|, logQ = log(sigma2 + E[Lambda B^2]) summed in logs, and
    the number of finite log terms (0: no signal and no noise)."""
    L = float(lam.max())
    lam_s = lam / L
    if float(lam_s.min()) < RANGE_MIN:
        raise DCPredictError(f"lam must span at most 305 decades (min/max >= {RANGE_MIN:g}); got min "
                             f"{float(lam.min())!r} and max {L!r}")
    if ridge > 0.0 and not RANGE_MIN <= ridge / L <= RANGE_MAX:
        raise DCPredictError(f"ridge relative to the law's scale max(lam) = {L!r} must be 0 or in "
                             f"[{RANGE_MIN:g}, {RANGE_MAX:g}]; got ridge={ridge!r}")
    with np.errstate(divide="ignore"):
        logb = np.log(np.abs(b))
        terms = np.log(w) + np.log(lam) + 2.0 * logb
        terms = terms[np.isfinite(terms)]
        if sigma2 > 0.0:
            terms = np.append(terms, np.log(sigma2))
    if terms.size == 0:
        logQ = 0.0  # no signal and no noise: every risk is 0
    else:
        top = float(terms.max())
        logQ = top + float(np.log(np.exp(terms - top).sum()))
    _check_noise_scale(sigma2, logQ)
    return L, lam_s, logb, logQ, int(terms.size)


def _check_noise_scale(sigma2: float, logQ: float) -> None:
    if sigma2 > 0.0 and np.log(sigma2) - logQ < np.log(RANGE_MIN) + 15 * np.log(10.0):
        # risks of order sigma2 (e.g. an OLS fit without bias) would underflow next to the signal's scale
        raise DCPredictError(f"sigma2={sigma2!r} is more than 290 decades below the signal E[Lambda B^2] = "
                             f"exp({logQ:.6g}); the risks cannot be certified in double precision: use sigma2 = 0 "
                             "or rescale")


def _scaled_uncached(law: Law, sigma2: float, ridge: float) -> _Scaled:
    lam, b, w = np.array(law.lam), np.array(law.b), np.array(law.weights)
    L, lam_s, logb, logQ, _ = _problem_scale(lam, b, w, sigma2, ridge)
    shift = 0.5 * (np.log(L) - logQ)
    with np.errstate(under="ignore"):
        b_s = np.where(b == 0.0, 0.0, np.sign(b) * np.exp(np.where(b == 0.0, 0.0, logb) + shift))
        s2 = float(np.exp(np.log(sigma2) - logQ)) if sigma2 > 0.0 else 0.0
    return _Scaled(lam_s, b_s, w, s2, ridge / L, L, logQ)


def _certify(sc: _Scaled, law: Law, kappa: float, alpha: float, sigma2: float, ridge: float,
             risks: np.ndarray, status: float) -> list[float]:
    """Risks in the user's units, or DCPredictError naming the input when any root is uncertified.

    Checks: every root certified (status 0), no nan, every risk >= sigma2 (up to rounding, 1e-10 of
    the problem's scale) and no overflow when scaling back.
    """
    where = (f"at kappa={kappa!r}, alpha={alpha!r} (sigma2={sigma2!r}, ridge={ridge!r}, law {law!r})")
    st = int(status) if np.isfinite(status) else 6
    if st != 0:
        raise DCPredictError(f"no certified result {where}: {_STATUS_TEXT.get(st, 'unknown failure')}")
    out = []
    for name, x in zip(RISK_FIELDS, risks):
        x = float(x)
        if np.isnan(x):
            raise DCPredictError(f"no certified result {where}: {name} is undefined (nan)")
        if x < sc.sigma2 - 1e-10:
            raise DCPredictError(f"no certified result {where}: {name} came out below sigma2 (scaled {x!r} < "
                                 f"{sc.sigma2!r}), a loss of precision")
        x = max(x, sc.sigma2)
        y = sc.risk(x)
        if np.isinf(y) and np.isfinite(x):
            raise DCPredictError(f"{name} {where} exceeds the double-precision range (about "
                                 f"{x:.4g} x exp({sc.logQ:.6g})); rescale b and sigma2")
        if y < sigma2 * (1 - 1e-12):
            raise DCPredictError(f"no certified result {where}: {name} underflows below sigma2 in double precision")
        out.append(max(y, sigma2))
    return out


# ------------------------------------------------------------------------------ result objects
@dataclass(frozen=True, repr=False)
class DC(Result):
    """Distributional characterization of the dense fit (the theory page, :ref:`theory-dc`).

    ``tau`` solves r = tau (1 - kappa E[Lambda/(Lambda + tau)]) (0 for OLS); ``gamma2`` is eq. (9), the
    dense test risk (inf at the interpolation threshold kappa = 1, r = 0).  ``tau_residual`` is
    the value of 1 - kappa E[Lambda/(Lambda+tau)] - r/tau at the returned tau and ``tau_bracket`` the
    width of the final sign-change bracket (<= rtol * tau).
    """
    law: Law
    kappa: float
    sigma2: float
    ridge: float
    tau: float
    gamma2: float
    tau_residual: float
    tau_bracket: float
    precision: str = "double"

    @property
    def regime(self) -> str:
        return _regime(self.kappa, self.ridge)

    @property
    def shrinkage(self) -> np.ndarray:
        """c(Lambda) = Lambda / (Lambda + tau) per atom."""
        return self.law.lam / (self.law.lam + self.tau)

    def coordinate_law(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of sqrt(p) beta_hat_i per atom (eq. 10): X ~ N(c b, c^2 kappa gamma^2 / lam)."""
        c = self.shrinkage
        return c * self.law.b, c * np.sqrt(self.kappa * self.gamma2 / self.law.lam)

    def to_dict(self) -> dict[str, Any]:
        """Inputs and the solved DC as JSON-ready values."""
        return {"law": self.law.to_dict(), "kappa": self.kappa, "sigma2": self.sigma2, "ridge": self.ridge,
                "regime": self.regime, "tau": self.tau, "gamma2": self.gamma2, "tau_residual": self.tau_residual,
                "tau_bracket": self.tau_bracket, "precision": self.precision}

    def _records(self) -> list[dict[str, Any]]:
        """One row per atom: lam, b, weight, shrinkage c and the coordinate law (mean, sd) of sqrt(p) beta_hat."""
        mean, sd = self.coordinate_law()
        return [{"lam": float(l), "b": float(b), "weight": float(w), "shrinkage": float(c), "mean": float(m),
                 "sd": float(s)} for l, b, w, c, m, s in zip(self.law.lam, self.law.b, self.law.weights,
                                                             self.shrinkage, mean, sd)]

    def summary(self) -> str:
        return (f"DC of the dense fit: kappa = {self.kappa:g}, sigma2 = {self.sigma2:g}, ridge = {self.ridge:g}, "
                f"regime {self.regime}\n  tau = {self.tau:.12g} (bracket {self.tau_bracket:.3g}, residual "
                f"{self.tau_residual:.3g})\n  gamma^2 = dense test risk = {fmt(self.gamma2, 12)}   "
                f"precision: {self.precision}\n  law: {self.law!r}")

    def __repr__(self) -> str:
        return f"DC(kappa={self.kappa:g}, ridge={self.ridge:g}, tau={self.tau:.6g}, gamma2={fmt(self.gamma2)})"


@dataclass(frozen=True, repr=False)
class RetrainedProblem(Result):
    """The least-squares problem on a support S (theory page, :ref:`theory-retraining`): ratio, noise, DC."""
    kappa: float
    sigma2: float
    tau: float
    gamma2: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        return (f"refit problem: kappa_S = {self.kappa:g}, noise = {self.sigma2:.6g}, tau = {self.tau:.6g}, "
                f"risk = {fmt(self.gamma2)}")

    def __repr__(self) -> str:
        return (f"RetrainedProblem(kappa={self.kappa:g}, sigma2={self.sigma2:.6g}, tau={self.tau:.6g}, "
                f"gamma2={fmt(self.gamma2)})")


@dataclass(frozen=True, repr=False)
class Prediction(Result):
    """Predicted test risks at one (kappa, alpha), with the inputs and the solved quantities.

    Risks are floats, ``inf`` where the risk diverges (r = 0 at kappa = 1, or a refit at alpha kappa = 1).
    ``threshold_*`` are the limit thresholds t of the magnitude rule (``|X| > t``) and the Hessian rule
    (``sqrt(Lambda) |X| > t``); ``residual_*`` is P(kept) - alpha at the returned threshold.
    ``retrained`` maps small_oracle/magnitude/hessian/random to the refit problem on the kept support.
    """
    law: Law
    kappa: float
    alpha: float
    sigma2: float
    ridge: float
    dense: float
    magnitude: float
    hessian: float
    random: float
    oracle_pruned: float
    small_oracle: float
    magnitude_retrained: float
    hessian_retrained: float
    random_retrained: float
    dc: DC
    threshold_magnitude: float
    threshold_hessian: float
    residual_magnitude: float
    residual_hessian: float
    retrained: dict[str, RetrainedProblem] = field(repr=False)
    precision: str = "double"

    def risks(self) -> dict[str, float]:
        """The nine risks as a dict (keys RISK_FIELDS)."""
        return {name: getattr(self, name) for name in RISK_FIELDS}

    def best(self) -> tuple[str, float]:
        """The rule with the lowest predicted risk among the pruned/small models (dense excluded)."""
        cands = {k: v for k, v in self.risks().items() if k != "dense"}
        name = min(cands, key=lambda k: cands[k])
        return name, cands[name]

    def to_dict(self) -> dict[str, Any]:
        """Inputs, risks and solved quantities as plain JSON-ready values (the law under ``"law"``)."""
        out: dict[str, Any] = {"kappa": self.kappa, "alpha": self.alpha, "sigma2": self.sigma2, "ridge": self.ridge}
        out.update(self.risks())
        out.update({"tau": self.dc.tau, "gamma2": self.dc.gamma2, "regime": self.dc.regime,
                    "threshold_magnitude": self.threshold_magnitude, "threshold_hessian": self.threshold_hessian,
                    "precision": self.precision, "law": self.law.to_dict()})
        return out

    def _records(self) -> list[dict[str, Any]]:
        """One row per risk field: ``field``, ``risk``, and the inputs."""
        inputs = {"kappa": self.kappa, "alpha": self.alpha, "sigma2": self.sigma2, "ridge": self.ridge}
        return [{"field": k, "risk": v, **inputs} for k, v in self.risks().items()]

    def _plot(self, ax, fields: Sequence[str] | None = None) -> None:
        """Each risk of ``fields`` (default the nine of RISK_FIELDS) as a wide tick, one position per field
        (a divergent risk is left out); the positions are those of :meth:`SimulationResult.plot
        <dcpredict.simulation.SimulationResult.plot>`, so ``sim.plot(ax=pred.plot())`` overlays the two."""
        from ._results import plot_categories
        fields = RISK_FIELDS if fields is None else tuple(check_choice("field", f, RISK_FIELDS) for f in fields)
        plot_categories(ax, {f: getattr(self, f) for f in fields}, theory=True,
                        title=f"kappa = {self.kappa:g}, alpha = {self.alpha:g}, $\\sigma^2$ = {self.sigma2:g}, "
                              f"ridge = {self.ridge:g}")

    def __repr__(self) -> str:
        return (f"Prediction(kappa={self.kappa:g}, alpha={self.alpha:g}, sigma2={self.sigma2:g}, ridge={self.ridge:g}, "
                + ", ".join(f"{k}={fmt(v)}" for k, v in self.risks().items()) + ")")

    def summary(self) -> str:
        """A readable table of the prediction (statsmodels-style)."""
        d = self.dc
        lines = [
            "dcpredict prediction (asymptotic DC; docs: theory page)",
            "=" * 62,
            f"law: {self.law!r}",
            f"kappa = p/n = {self.kappa:g}   alpha = s/p = {self.alpha:g}   sigma2 = {self.sigma2:g}   ridge = {self.ridge:g}",
            f"regime: {d.regime}   tau = {d.tau:.12g}   gamma^2 = {d.gamma2:.12g}   precision: {self.precision}",
            f"thresholds: magnitude t = {self.threshold_magnitude:.8g}, Hessian t = {self.threshold_hessian:.8g}",
            "-" * 62,
            f"{'model':<24}{'test risk':>16}{'vs dense':>12}",
            "-" * 62,
        ]
        for name in RISK_FIELDS:
            val = getattr(self, name)
            rel = val / d.gamma2 if np.isfinite(d.gamma2) and d.gamma2 > 0 else float("nan")
            rel_s = f"{rel:>12.4f}" if np.isfinite(rel) else f"{'-':>12}"
            lines.append(f"{name:<24}{val:>16.10g}{rel_s}")
        lines.append("=" * 62)
        name, val = self.best()
        lines.append(f"lowest risk at s = alpha p: {name} ({val:.6g})")
        return "\n".join(lines)



@dataclass(frozen=True, repr=False)
class PredictionGrid(Result):
    """Risks over a (kappa, alpha) grid: every risk field is an array of shape (len(kappas), len(alphas))."""
    law: Law
    kappas: np.ndarray
    alphas: np.ndarray
    sigma2: float
    ridge: float
    dense: np.ndarray
    magnitude: np.ndarray
    hessian: np.ndarray
    random: np.ndarray
    oracle_pruned: np.ndarray
    small_oracle: np.ndarray
    magnitude_retrained: np.ndarray
    hessian_retrained: np.ndarray
    random_retrained: np.ndarray
    tau: np.ndarray
    gamma2: np.ndarray
    threshold_magnitude: np.ndarray
    threshold_hessian: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (self.kappas.size, self.alphas.size)

    def records(self) -> list[dict[str, float]]:
        """One dict per grid point (kappa-major), with kappa, alpha, tau, gamma2 and the nine risks."""
        out = []
        for i, k in enumerate(self.kappas):
            for j, a in enumerate(self.alphas):
                rec = {"kappa": float(k), "alpha": float(a), "tau": float(self.tau[i]), "gamma2": float(self.gamma2[i])}
                rec.update({name: float(getattr(self, name)[i, j]) for name in RISK_FIELDS})
                out.append(rec)
        return out

    _records = records

    def to_dict(self) -> dict[str, Any]:
        """Inputs and every array as nested lists (risk fields: [kappa index][alpha index])."""
        out: dict[str, Any] = {"law": self.law.to_dict(), "sigma2": self.sigma2, "ridge": self.ridge,
                               "kappas": self.kappas.tolist(), "alphas": self.alphas.tolist(),
                               "tau": self.tau.tolist(), "gamma2": self.gamma2.tolist()}
        out.update({name: getattr(self, name).tolist() for name in RISK_FIELDS})
        out.update({"threshold_magnitude": self.threshold_magnitude.tolist(),
                    "threshold_hessian": self.threshold_hessian.tolist()})
        return out

    def to_xarray(self):
        """An :class:`xarray.Dataset` with dims (kappa, alpha): every risk field, thresholds, tau and gamma2."""
        try:
            import xarray as xr
        except ImportError:
            raise DCPredictError("to_xarray needs xarray: pip install 'dcpredict[data]'") from None
        data = {name: (("kappa", "alpha"), getattr(self, name)) for name in RISK_FIELDS}
        data.update({"threshold_magnitude": (("kappa", "alpha"), self.threshold_magnitude),
                     "threshold_hessian": (("kappa", "alpha"), self.threshold_hessian),
                     "tau": (("kappa",), self.tau), "gamma2": (("kappa",), self.gamma2)})
        return xr.Dataset(data, coords={"kappa": self.kappas, "alpha": self.alphas},
                          attrs={"sigma2": self.sigma2, "ridge": self.ridge, "law": repr(self.law)})

    def summary(self, max_rows: int = 8) -> str:
        """The grid's extent and, for a few kappas, the risks at the middle alpha."""
        j = self.alphas.size // 2
        idx = np.unique(np.linspace(0, self.kappas.size - 1, min(max_rows, self.kappas.size)).round().astype(int))
        cols = ("dense", "magnitude", "hessian", "oracle_pruned", "small_oracle")
        lines = [f"dcpredict prediction grid: {self.kappas.size} kappas in [{self.kappas.min():g}, "
                 f"{self.kappas.max():g}] x {self.alphas.size} alphas in [{self.alphas.min():g}, {self.alphas.max():g}], "
                 f"sigma2 = {self.sigma2:g}, ridge = {self.ridge:g}",
                 f"law: {self.law!r}", f"risks at alpha = {self.alphas[j]:g}:",
                 f"{'kappa':>10}" + "".join(f"{c:>15}" for c in cols)]
        for i in idx:
            lines.append(f"{self.kappas[i]:>10.4g}" + "".join(f"{fmt(getattr(self, c)[i, j]):>15}" for c in cols))
        return "\n".join(lines)

    def _plot(self, ax, fields: Sequence[str] | None = None, x: str | None = None, logx: bool = True,
              logy: bool = True) -> None:
        """Risks against kappa (``x="kappa"``, the default when there are several kappas) or alpha: one line per
        field of ``fields`` and per value of the other axis (default fields: dense, magnitude, hessian,
        oracle_pruned, small_oracle with one value of the other axis, else hessian alone); inf: a gap."""
        from ._results import plot_lines
        x = ("kappa" if self.kappas.size > 1 else "alpha") if x is None else check_choice("x", x, ("kappa", "alpha"))
        other = self.alphas if x == "kappa" else self.kappas
        if fields is None:
            fields = ("dense", "magnitude", "hessian", "oracle_pruned", "small_oracle") if other.size == 1 \
                else ("hessian",)
        for f in fields:
            check_choice("field", f, RISK_FIELDS)
        xs = self.kappas if x == "kappa" else self.alphas
        oname = "alpha" if x == "kappa" else "kappa"
        for j, v in enumerate(other):
            lines = {f: (getattr(self, f)[:, j] if x == "kappa" else getattr(self, f)[j, :]) for f in fields}
            plot_lines(ax, xs, lines, logx=logx, logy=logy, suffix=f", {oname} = {v:g}" if other.size > 1 else "",
                       color=f"C{j % 10}" if other.size > 1 else None)
        if x == "kappa" and self.kappas.min() < 1 < self.kappas.max():
            ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel("kappa = p / n" if x == "kappa" else "alpha = s / p (fraction kept)")
        ax.set_ylabel("test risk (theory)")
        title = f"$\\sigma^2$ = {self.sigma2:g}, ridge = {self.ridge:g}"
        if other.size == 1:
            title = f"{oname} = {other[0]:g}, " + title
        ax.set_title(title, fontsize=10)

    def __repr__(self) -> str:
        return (f"PredictionGrid({self.kappas.size} kappas x {self.alphas.size} alphas, sigma2={self.sigma2:g}, "
                f"ridge={self.ridge:g})")


# ------------------------------------------------------------------------------ API
def solve_dc(law: Law, *, kappa: float, sigma2: float, ridge: float = 0.0, precision: str = "double",
             rtol: float = DEFAULT_RTOL) -> DC:
    """Solve the DC (tau, gamma^2) of the dense min-norm / OLS / ridge fit (the theory page, :ref:`theory-dc`, eqs. 8-9)."""
    law, kappa, sigma2, ridge, rtol = _check_common(law, kappa, sigma2, ridge, rtol)
    precision = check_choice("precision", precision, ("double", "mp"))
    if isinstance(law, GaussianLaw):  # B integrated in closed form (theory page, theory-gaussian-b)
        if precision == "mp":
            from . import _mp
            tau, res, width, g2 = _mp.solve_dc_gauss(law, kappa, sigma2, ridge)
            return DC(law, kappa, sigma2, ridge, float(tau), float(g2), float(res), float(width), "mp")
        return _gauss_solve_dc(law, kappa, sigma2, ridge, rtol)
    if precision == "mp":
        from . import _mp
        try:
            tau, res, width, g2 = _mp.solve_dc(law, kappa, sigma2, ridge)
        except ArithmeticError as exc:
            raise DCPredictError(f"no certified result at kappa={kappa!r} (sigma2={sigma2!r}, ridge={ridge!r}, "
                                 f"precision mp, law {law!r}): {exc}") from None
        return DC(law, kappa, sigma2, ridge, float(tau), float(g2), float(res), float(width), "mp")
    from . import _kernels as K
    sc = _scaled(law, sigma2, ridge)
    tau, res, width, ok = K.solve_tau_cert(sc.lam, sc.w, kappa, sc.ridge, rtol)
    if not ok:
        raise DCPredictError(f"no certified result at kappa={kappa!r} (sigma2={sigma2!r}, ridge={ridge!r}, law "
                             f"{law!r}): {_STATUS_TEXT[1]}")
    g2 = float(K.gamma2(sc.lam, sc.b, sc.w, kappa, sc.ridge, sc.sigma2, tau))
    if np.isnan(g2):  # pragma: no cover - defensive
        raise DCPredictError(f"no certified result at kappa={kappa!r}: gamma2 is undefined (nan)")
    g2 = sc.risk(max(g2, sc.sigma2))
    return DC(law, kappa, sigma2, ridge, sc.tau(float(tau)), g2, float(res), sc.tau(float(width)))


def predict(law: Law, *, kappa: float, alpha: float, sigma2: float, ridge: float = 0.0,
            precision: str = "double", rtol: float = DEFAULT_RTOL, finite_size: bool = False,
            n: int | None = None) -> Prediction:
    """Predicted test risks of the dense fit and of every pruning rule at one (kappa, alpha).

    Parameters
    ----------
    law : Law
        Law of (Lambda, B) (the theory page, :ref:`theory-lgp`).
    kappa : float
        Overparameterization ratio p/n, > 0.  With ridge = 0: OLS for kappa < 1, min-norm for kappa > 1,
        infinite dense risk at kappa = 1.
    alpha : float
        Fraction of weights kept, in (0, 1].
    sigma2 : float
        Label noise variance, >= 0.
    ridge : float
        Ridge penalty r >= 0 of (X^T X / n + r I)^{-1} X^T y / n.
    precision : {"double", "mp"}
        "mp" solves the same equations with mpmath at 50 digits or more (the working precision grows
        with how far ridge, lam and kappa - 1 sit from O(1); slow; for certification).
    rtol : float
        Relative width of the final bracket of every root (default 1e-12).
    finite_size : bool
        False (default): the asymptotic DC.  True: the expected risks of the finite instance with ``n``
        samples, p = round(kappa n) features and s = round(alpha p) kept weights, exact where exact results
        exist and approximate elsewhere (theory page, :ref:`theory-finite`); returns a
        :class:`~dcpredict.finite.FinitePrediction` that states the method of every field.
    n : int, optional
        Number of training samples; required with ``finite_size=True`` and only allowed with it.

    Returns
    -------
    Prediction
        ``dense`` (eq. 9), ``magnitude``/``hessian`` (threshold rules, eqs. 12-16), ``random``,
        ``oracle_pruned`` (the paper's Oracle pruning: the dense fit kept on the s features of largest
        true saliency, no refit), ``small_oracle`` (train small on those s features) and the fresh-sample
        retrained risks after magnitude, Hessian and random pruning (Definition 5), with the solved
        DC, thresholds, residuals and the refit problems.

    Raises
    ------
    DCPredictError
        Bad input (naming the argument), or a request that cannot be certified in double precision,
        naming (kappa, alpha): kappa above 1e200, ridge or min(lam) outside [1e-305, 1e305] times
        max(lam), sigma^2 more than 290 decades below the signal, a risk beyond the double range, or a
        root that does not converge.

    Notes
    -----
    Every number returned is certified: each root (tau, the pruning thresholds, the refit problems)
    comes from a sign-change bracket narrower than ``rtol`` in a scaled variable (the problem is
    scaled by max lam and by sigma^2 + E[Lambda B^2], tau is sought in log tau), no risk is nan or
    below sigma^2, and inf means the risk truly diverges (the interpolation threshold).
    """
    if finite_size is not False or n is not None:  # finite-size mode: all logic in dcpredict.finite
        from .finite import predict_finite
        return predict_finite(law, kappa=kappa, alpha=alpha, sigma2=sigma2, n=n, ridge=ridge, precision=precision,
                              rtol=rtol, finite_size=finite_size)
    law, kappa, sigma2, ridge, rtol = _check_common(law, kappa, sigma2, ridge, rtol)
    alpha = _real("alpha", alpha, 0.0, 1.0, lo_open=True)
    if precision != "double":
        precision = check_choice("precision", precision, ("double", "mp"))
    if isinstance(law, GaussianLaw):  # B integrated in closed form (theory page, theory-gaussian-b)
        return _gauss_predict(law, kappa, alpha, sigma2, ridge, precision, rtol)
    if precision == "double":
        sc, order = _law_state(law, sigma2, ridge)
        return _predict_double(law, sc, order, kappa, alpha, sigma2, ridge, rtol)
    from . import _mp                     # precision "mp"
    order = _saliency_order(law)
    where = f"at kappa={kappa!r}, alpha={alpha!r} (sigma2={sigma2!r}, ridge={ridge!r}, precision mp, law {law!r})"
    try:
        risks, aux, dc = _mp.predict_point(law, order, kappa, alpha, sigma2, ridge)
    except ArithmeticError as exc:
        raise DCPredictError(f"no certified result {where}: {exc}") from None
    for name, x in zip(RISK_FIELDS, risks):
        if not x == x or x < sigma2 * (1 - 1e-30):
            raise DCPredictError(f"no certified result {where}: {name} = {x}")
    u = _unpack(risks, aux, dc)
    dcobj = DC(law, kappa, sigma2, ridge, u["tau"], u["gamma2"], u["tau_residual"], u["tau_bracket"], precision)
    return Prediction(law, kappa, alpha, sigma2, ridge, **u["risks"], dc=dcobj,
                      threshold_magnitude=u["threshold_magnitude"], threshold_hessian=u["threshold_hessian"],
                      residual_magnitude=u["residual_magnitude"], residual_hessian=u["residual_hessian"],
                      retrained=u["retrained"], precision=precision)


_NEW_SPEC: dict = {}


def _new(cls, values: dict):
    """``cls(**values)`` for a frozen dataclass result, without its generated ``__init__`` when that is safe.

    The generated ``__init__`` of a frozen dataclass sets every field through ``object.__setattr__`` (about
    0.1 us each); a result built per call on the single-point paths fills its ``__dict__`` at once instead.
    Only when ``values`` names exactly the class's fields, every field is an init field and the class has no
    ``__post_init__``: otherwise (e.g. a field added later with a default) the real constructor runs.
    """
    spec = _NEW_SPEC.get(cls)
    if spec is None:
        fields = dataclasses.fields(cls)
        spec = _NEW_SPEC[cls] = (len(fields), all(f.init for f in fields) and not hasattr(cls, "__post_init__")
                                 and "__slots__" not in vars(cls))
    if spec[1] and len(values) == spec[0]:  # the callers name the fields; a field added later changes the count
        obj = object.__new__(cls)
        obj.__dict__.update(values)
        return obj
    return cls(**values)


def _predict_double(law: Law, sc: _Scaled, order: np.ndarray, kappa: float, alpha: float, sigma2: float,
                    ridge: float, rtol: float, world: tuple | None = None) -> Prediction:
    """:func:`predict` in double precision on checked inputs: one compiled call computes and certifies the point.

    ``world = (n, P, s, p, random_order)``: the point is the model of p of the world's P features, solved
    in the world's scaled units ``sc`` (``order``: the world's saliency order); ``law`` is the model's law
    and ``sigma2`` its noise variance.
    """
    if world is None:
        v = K.predict_point_certified(sc.lam, sc.b, sc.w, order, kappa, alpha, sc.sigma2, sc.ridge, rtol, sc.logQ,
                                      sc.L, sigma2).tolist()
    else:
        n, P, s, p, rnd = world
        v = K.world_point_certified(sc.lam, sc.b, sc.w, order, n, P, s, p, rnd, sc.sigma2, sc.ridge, rtol, sc.logQ,
                                    sc.L, sigma2).tolist()
    if v[_P_OK] != 1.0:
        if world is not None:  # the check on the model's own scaled noise level
            sc = dataclasses.replace(sc, sigma2=sc.sigma2 + v[K.P_EXTRA])
        _certify(sc, law, kappa, alpha, sigma2, ridge, v[K.P_RAW:K.P_RAW + K.N_RISKS], v[K.P_STATUS])
        raise DCPredictError(f"no certified result at kappa={kappa!r}, alpha={alpha!r} (sigma2={sigma2!r}, "
                             f"ridge={ridge!r}, law {law!r}): a risk failed the range checks")  # pragma: no cover
    d = _P_DC
    dcobj = _new(DC, {"law": law, "kappa": kappa, "sigma2": sigma2, "ridge": ridge, "tau": v[d],
                      "gamma2": v[d + 3], "tau_residual": v[d + 1], "tau_bracket": v[d + 2], "precision": "double"})
    refits = {name: _new(RetrainedProblem, {"kappa": v[j], "sigma2": v[j + 1], "tau": v[j + 2], "gamma2": v[j + 3]})
              for name, j in _REFIT_AT}
    values = dict(zip(RISK_FIELDS, v))
    a = _P_AUX
    values.update(law=law, kappa=kappa, alpha=alpha, sigma2=sigma2, ridge=ridge, dc=dcobj,
                  threshold_magnitude=v[a], threshold_hessian=v[a + 1], residual_magnitude=v[a + 2],
                  residual_hessian=v[a + 3], retrained=refits, precision="double")
    return _new(Prediction, values)


#: positions in the output vector of the certified point kernels (dcpredict._kernels P_*, AUX_*)
_P_OK, _P_DC, _P_AUX = K.P_OK, K.P_DC, K.P_AUX
_REFIT_AT = tuple((name, K.P_AUX + K.AUX_REFITS + 4 * i) for i, name in enumerate(K.REFIT_RULES))
assert (K.AUX_T_MAG, K.AUX_T_HESS, K.AUX_RES_MAG, K.AUX_RES_HESS) == (0, 1, 2, 3)


def _unpack(risks, aux, dc) -> dict[str, Any]:
    """The named quantities of one point from the kernels' output vectors (the double and the mpmath paths
    share this layout: :mod:`dcpredict._kernels`, N_RISKS / AUX_* / REFIT_* / DC_*)."""
    from . import _kernels as K
    a = [float(x) for x in aux]
    refits = {}
    for i, name in enumerate(K.REFIT_RULES):
        j = K.AUX_REFITS + len(K.REFIT_SLOTS) * i
        refits[name] = RetrainedProblem(**dict(zip(K.REFIT_SLOTS, a[j: j + len(K.REFIT_SLOTS)])))
    return {"risks": {name: float(x) for name, x in zip(RISK_FIELDS, risks)},
            "threshold_magnitude": a[K.AUX_T_MAG], "threshold_hessian": a[K.AUX_T_HESS],
            "residual_magnitude": a[K.AUX_RES_MAG], "residual_hessian": a[K.AUX_RES_HESS],
            "retrained": refits, "tau": float(dc[K.DC_TAU]), "gamma2": float(dc[K.DC_GAMMA2]),
            "tau_residual": float(dc[K.DC_RESIDUAL]), "tau_bracket": float(dc[K.DC_BRACKET])}


def predict_grid(law: Law, kappas: Sequence[float] | np.ndarray, alphas: Sequence[float] | np.ndarray, *,
                 sigma2: float, ridge: float = 0.0, rtol: float = DEFAULT_RTOL) -> PredictionGrid:
    """Risks over every (kappa, alpha) pair, computed in parallel in compiled code.

    The DC is solved once per kappa; pruning thresholds and refits once per pair.  Field arrays
    have shape (len(kappas), len(alphas)) and the same names as :func:`predict`.
    """
    law, _, sigma2, ridge, rtol = _check_common(law, 1.0, sigma2, ridge, rtol)
    k = check_array("kappas", kappas, lo=0.0, lo_open=True, hi=KAPPA_MAX)
    a = check_array("alphas", alphas, lo=0.0, lo_open=True, hi=1.0)
    if isinstance(law, GaussianLaw):  # B integrated in closed form (theory page, theory-gaussian-b)
        return _gauss_predict_grid(law, k, a, sigma2, ridge, rtol)
    sc, order = _law_state(law, sigma2, ridge)
    small = k.size * a.size * sc.lam.size < SMALL_WORK
    kernel = K.predict_grid_compact_serial if small else K.predict_grid_compact
    out, dc_s = kernel(sc.lam, sc.b, sc.w, order, k, a, sc.sigma2, sc.ridge, rtol)
    # every point is checked in one compiled pass, in place (status, nan, >= sigma2, overflow); the first
    # failure is raised with its (kappa, alpha) and the message of the point check
    bad = K.certify_compact(out.reshape(k.size * a.size, K.N_COMPACT), sc.sigma2, sc.logQ, sc.L, sigma2)
    if bad >= 0:
        i, j = divmod(int(bad), a.size)
        _certify(sc, law, float(k[i]), float(a[j]), sigma2, ridge, out[i, j, :K.N_RISKS], out[i, j, K.C_STATUS])
        raise AssertionError("unreachable: _certify accepted a point the grid check refused")  # pragma: no cover
    tau = np.where(np.isfinite(dc_s[:, 0]), dc_s[:, 0] * sc.L, dc_s[:, 0])
    fields = {name: out[:, :, i] for i, name in enumerate(RISK_FIELDS)}
    return PredictionGrid(law, k, a, sigma2, ridge, **fields, tau=tau, gamma2=out[:, 0, 0],
                          threshold_magnitude=out[:, :, K.C_T_MAG], threshold_hessian=out[:, :, K.C_T_HESS])


# ------------------------------------------------------------------------------ Gaussian-B laws
# (B integrated in closed form by dcpredict._kernels_gauss; theory page, theory-gaussian-b)
def _gauss_solve_dc(law, kappa: float, sigma2: float, ridge: float, rtol: float):
    """The DC of a GaussianLaw as a :class:`dcpredict.theory.DC`."""
    lam, v, w, s2, r, L, Q = G._scaled(law, sigma2, ridge)
    tau, res, width, g2 = G.dense(lam, v, w, kappa, r, s2, rtol)
    if not tau == tau or g2 != g2:
        G._fail(G.ST_TAU, law, kappa, None, sigma2, ridge)
    return DC(law, kappa, sigma2, ridge, float(tau) * L, max(float(g2), s2) * Q, float(res), float(width) * L)


def _gauss_unscale(risks, aux, L, Q):
    """Risks and aux back to the user's units (arrays with the last axis = fields)."""
    risks = risks * Q
    aux = aux.copy()
    aux[..., 0] *= math.sqrt(Q / L)
    aux[..., 1] *= math.sqrt(Q)
    for q in range(4):
        aux[..., 5 + 4 * q] *= Q
        aux[..., 6 + 4 * q] *= L
        aux[..., 7 + 4 * q] *= Q
    return risks, aux


def _gauss_predict(law, kappa: float, alpha: float, sigma2: float, ridge: float, precision: str, rtol: float):
    """:func:`dcpredict.predict` for a GaussianLaw."""
    if precision == "mp":
        from . import _mp
        risks, aux, dc = _mp.predict_point_gauss(law, kappa, alpha, sigma2, ridge)
        risks = [float(x) for x in risks]
        aux = [float(x) for x in aux]
        dc = [float(x) for x in dc]
    else:
        lam, v, w, s2, r, L, Q = G._scaled(law, sigma2, ridge)
        risks_s, aux_s, dc_s, status = G.predict_point(lam, v, w, kappa, alpha, s2, r, rtol)
        if status != G.ST_OK:
            G._fail(status, law, kappa, alpha, sigma2, ridge)
        risks_a, aux_a = _gauss_unscale(risks_s, aux_s, L, Q)
        risks = [max(float(x), sigma2) for x in risks_a]
        aux = [float(x) for x in aux_a]
        dc = [float(dc_s[0]) * L, float(dc_s[1]), float(dc_s[2]) * L, risks[0]]
    u = _unpack(risks, aux, dc)             # the atom kernels' layout (dcpredict._kernels AUX_*, DC_*)
    dcobj = DC(law, kappa, sigma2, ridge, u["tau"], u["gamma2"], u["tau_residual"], u["tau_bracket"], precision)
    return Prediction(law, kappa, alpha, sigma2, ridge, **u["risks"], dc=dcobj,
                      threshold_magnitude=u["threshold_magnitude"], threshold_hessian=u["threshold_hessian"],
                      residual_magnitude=u["residual_magnitude"], residual_hessian=u["residual_hessian"],
                      retrained=u["retrained"], precision=precision)


def _gauss_predict_grid(law, kappas: np.ndarray, alphas: np.ndarray, sigma2: float, ridge: float, rtol: float):
    """:func:`dcpredict.predict_grid` for a GaussianLaw (every point certified or the call raises)."""
    lam, v, w, s2, r, L, Q = G._scaled(law, sigma2, ridge)
    risks_s, aux_s, dc_s, status = G.predict_grid(lam, v, w, kappas, alphas, s2, r, rtol)
    bad = np.argwhere(status != G.ST_OK)
    if bad.size:
        i, j = bad[0]
        G._fail(status[i, j], law, float(kappas[i]), float(alphas[j]), sigma2, ridge)
    risks, aux = _gauss_unscale(risks_s, aux_s, L, Q)
    np.maximum(risks, sigma2, out=risks)
    fields = {name: risks[:, :, i] for i, name in enumerate(RISK_FIELDS)}
    return PredictionGrid(law, kappas, alphas, sigma2, ridge, **fields, tau=dc_s[:, 0] * L, gamma2=risks[:, 0, 0]
                          if alphas.size else dc_s[:, 3] * Q,
                          threshold_magnitude=aux[:, :, 0], threshold_hessian=aux[:, :, 1])
