"""The paper's own experiment: a fixed world of P features, a growing model, a fixed budget of s weights.

A *world* is a law of (Lambda, B) over P features, with n training samples.  A model of p <= P features
fits the first p of them, taken in decreasing true saliency lambda_i B_i^2 (``order="saliency"``, the
paper's Figs. 3 and 7) or in an order unrelated to saliency (``order="random"``, e.g. a model that grows by
random features).  The P - p features it leaves out act as independent noise.  The model is then pruned to
s weights.  Every model in the sweep is again a linear Gaussian problem (theory page, section
:ref:`theory-world`), so the risks come from the same kernels as :func:`dcpredict.predict`; they are the
world's test risks (they include sigma^2 and the signal the model cannot see).

Baselines that need no big model (all trained on s features with the same n samples and estimator):

- ``small_oracle``: the s features of largest true saliency (the paper's horizontal line);
- ``small_random``: s features not chosen by saliency;
- ``small_top_variance``: the s features of largest variance lambda_i (needs no labels; features of equal
  variance are taken in proportion, since nothing distinguishes them);
- ``zero_model``: predicting 0, risk sigma^2 + E[Lambda B^2].
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from . import RISK_FIELDS
from ._results import Result, fmt as _fmt
from ._validate import DCPredictError, check_choice, check_int, check_real
from .law import GaussianLaw, Law

__all__ = ["ORDERS", "WORLD_BASELINES", "WorldPrediction", "WorldCurve", "predict_world", "predict_world_curve",
           "model_problem", "world_baselines"]

ORDERS = ("saliency", "random")
WORLD_BASELINES = ("small_oracle", "small_random", "small_top_variance", "zero_model")
#: Largest number of p values a default curve takes (every integer from s to P if there are fewer).
DEFAULT_CURVE_POINTS = 400


def _arrays(law: Law) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.array(law.lam), np.array(law.b), np.array(law.weights)


def _saliency_order(law: Law) -> np.ndarray:
    return np.argsort(-(law.lam * law.b ** 2), kind="stable").astype(np.int64)


def _check_world(law: Any, n: Any, P: Any, s: Any, sigma2: Any, ridge: Any, order: Any,
                 rtol: Any) -> tuple[Law, int, int, int, float, float, str, float]:
    if not isinstance(law, Law):
        raise DCPredictError(f"law must be a dcpredict.Law; got {type(law).__name__}")
    n = check_int("n", n, lo=1)
    P = check_int("P", P, lo=1)
    s = check_int("s", s, lo=1, hi=P)
    sigma2 = check_real("sigma2", sigma2, lo=0.0)
    ridge = check_real("ridge", ridge, lo=0.0)
    order = check_choice("order", order, ORDERS)
    rtol = check_real("rtol", rtol, lo=1e-15, hi=1e-3)
    return law, n, P, s, sigma2, ridge, order, rtol


def model_problem(law: Law, *, P: int, p: int, sigma2: float, order: str = "saliency") -> tuple[Law, float]:
    """The linear Gaussian problem of a model that fits p of the world's P features.

    Returns the model's law of (Lambda, B) in its own scale (B multiplied by sqrt(p/P)) and its noise
    variance sigma^2 + (signal of the features left out).  See :ref:`theory-world`.
    """
    if not isinstance(law, Law):
        raise DCPredictError(f"law must be a dcpredict.Law; got {type(law).__name__}")
    P = check_int("P", P, lo=1)
    p = check_int("p", p, lo=1, hi=P)
    sigma2 = check_real("sigma2", sigma2, lo=0.0)
    order = check_choice("order", order, ORDERS)
    model, noise = model_law(law, p / P, sigma2, order)
    if not isinstance(law, GaussianLaw):
        model.description = f"model of {p} of {P} features ({order} order) of {law.description}"
    return model, noise


def model_law(law: Law, frac: float, sigma2: float, order: str = "saliency") -> tuple[Law, float]:
    """:func:`model_problem` for a model that fits a fraction ``frac`` in (0, 1] of the world's features."""
    frac = check_real("frac", frac, lo=0.0, hi=1.0, lo_open=True)
    if isinstance(law, GaussianLaw):  # B | Lambda Gaussian: random order only (theory page, theory-gaussian-b)
        from . import _kernels_gauss as G
        if order == "saliency":
            raise G._saliency_error(law)
        return G.model_law_random(law, frac, sigma2)
    from . import _kernels as K
    lam, b, w = _arrays(law)
    mb, mw = np.empty_like(b), np.empty_like(w)
    extra = K.world_model(lam, b, w, _saliency_order(law), frac, order == "random", mb, mw)
    return Law(lam, mb, mw, description=f"model of a fraction {frac:.6g} ({order} order) of {law.description}"), \
        sigma2 + float(extra)


def _top_variance_mass(law: Law, frac: float) -> np.ndarray:
    """Kept mass when the fraction ``frac`` of features of largest variance is taken (ties in proportion)."""
    mass = np.zeros(law.n_atoms)
    remaining = frac
    for value in np.unique(law.lam)[::-1]:
        if remaining <= 0.0:
            break
        group = law.lam == value
        wg = float(law.weights[group].sum())
        take = min(wg, remaining)
        if wg > 0.0:
            mass[group] = law.weights[group] * (take / wg)
        remaining -= take
    return mass


def world_baselines(law: Law, *, n: int, P: int, s: int, sigma2: float, ridge: float = 0.0,
                    rtol: float = 1e-12) -> dict[str, float]:
    """Risks of the models that train s features directly (no big model), and of the zero model.

    Keys: ``small_oracle``, ``small_random``, ``small_top_variance``, ``zero_model`` (see the module
    docstring).  inf where the small fit interpolates (s = n with ridge 0).
    """
    law, n, P, s, sigma2, ridge, _, rtol = _check_world(law, n, P, s, sigma2, ridge, "saliency", rtol)
    if isinstance(law, GaussianLaw):
        from . import _kernels_gauss as G
        return G.world_baselines_law(law, n, P, s, sigma2, ridge, rtol)
    from . import _kernels as K
    from .theory import _scaled
    sc = _scaled(law, sigma2, ridge)          # solved in the scaled units of the theory engine
    frac = s / P
    oracle_mass = np.empty_like(sc.w)
    K._fill(_saliency_order(law), sc.w, frac, oracle_mass)
    masses = {"small_oracle": oracle_mass, "small_random": sc.w * frac,
              "small_top_variance": _top_variance_mass(law, frac)}
    out = {}
    for name, m in masses.items():
        if ridge == 0.0 and s == n:           # exactly the interpolation threshold s / n = 1
            out[name] = math.inf
            continue
        res, ok = K.refit_risk(sc.lam, sc.b, sc.w, m, P / n, frac, sc.ridge, sc.sigma2, rtol)
        if not ok or math.isnan(res[3]):
            raise DCPredictError(f"no certified result for the {name} baseline (n={n}, P={P}, s={s}, "
                                 f"sigma2={sigma2!r}, ridge={ridge!r}): its root could not be certified")
        out[name] = max(sc.risk(float(res[3])), sigma2)
    out["zero_model"] = sigma2 + law.signal_power
    return out


@dataclass(frozen=True, repr=False)
class WorldPrediction(Result):
    """Predicted world test risks of a model of p features (of the world's P) pruned to s weights.

    Every field of :data:`dcpredict.RISK_FIELDS` (dense, magnitude, hessian, random, oracle_pruned,
    small_oracle, magnitude_retrained, hessian_retrained, random_retrained) and the baselines
    small_random, small_top_variance and zero_model are floats, ``inf`` where the risk diverges.
    ``small_oracle`` is the world's: the s features of largest true saliency, whatever the order.
    ``model`` is the full :class:`~dcpredict.theory.Prediction` of the model's own problem
    (kappa = p/n, alpha = s/p, noise ``model_sigma2``).
    """
    law: Law
    n: int
    P: int
    p: int
    s: int
    sigma2: float
    ridge: float
    order: str
    dense: float
    magnitude: float
    hessian: float
    random: float
    oracle_pruned: float
    small_oracle: float
    magnitude_retrained: float
    hessian_retrained: float
    random_retrained: float
    small_random: float
    small_top_variance: float
    zero_model: float
    model_sigma2: float
    model: Any = field(repr=False)
    precision: str = "double"

    @property
    def kappa(self) -> float:
        """The model's ratio p/n."""
        return self.p / self.n

    @property
    def alpha(self) -> float:
        """The kept fraction s/p."""
        return self.s / self.p

    def risks(self) -> dict[str, float]:
        """The nine rule risks and the four baselines."""
        names = RISK_FIELDS + WORLD_BASELINES[1:]
        return {k: getattr(self, k) for k in names}

    def to_dict(self) -> dict[str, Any]:
        """Inputs and risks as JSON-ready values (inf stays a float inf)."""
        out: dict[str, Any] = {"world": {**self.law.to_dict(), "P": self.P}, "n": self.n, "p": self.p,
                               "s": self.s, "sigma2": self.sigma2, "ridge": self.ridge, "order": self.order,
                               "kappa": self.kappa, "alpha": self.alpha, "model_sigma2": self.model_sigma2,
                               "precision": self.precision}
        out.update(self.risks())
        return out

    def _records(self) -> list[dict[str, Any]]:
        """One row per risk field: ``field``, ``risk`` and the scalar inputs."""
        inputs = {"n": self.n, "P": self.P, "p": self.p, "s": self.s, "sigma2": self.sigma2, "ridge": self.ridge,
                  "order": self.order}
        return [{"field": k, "risk": v, **inputs} for k, v in self.risks().items()]

    def summary(self) -> str:
        """A readable table of the risks."""
        lines = ["dcpredict world prediction (asymptotic DC, theory page section 'the fixed world')",
                 "=" * 66,
                 f"world: {self.law!r}, P = {self.P} features, n = {self.n} samples",
                 f"model: first p = {self.p} features by {self.order} order (kappa = p/n = {self.kappa:.4g}), "
                 f"pruned to s = {self.s}",
                 f"sigma2 = {self.sigma2:g}   ridge = {self.ridge:g}   model noise = {self.model_sigma2:.6g}   "
                 f"precision: {self.precision}",
                 "-" * 66, f"{'model':<26}{'test risk':>16}", "-" * 66]
        for k, v in self.risks().items():
            lines.append(f"{k:<26}{_fmt(v):>16}")
        lines.append("=" * 66)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"WorldPrediction(n={self.n}, P={self.P}, p={self.p}, s={self.s}, order={self.order!r}, "
                f"dense={_fmt(self.dense)}, hessian={_fmt(self.hessian)}, oracle_pruned={_fmt(self.oracle_pruned)}, "
                f"small_oracle={_fmt(self.small_oracle)})")


def predict_world(law: Law, *, n: int, P: int, p: int, s: int, sigma2: float, ridge: float = 0.0,
                  order: str = "saliency", precision: str = "double", rtol: float = 1e-12,
                  finite_size: bool = False) -> WorldPrediction:
    """World test risks of a model of p of P features, pruned to s weights (the paper's Figs. 3 and 7).

    Parameters
    ----------
    law : Law
        The world's law of (Lambda, B); the world has ``P`` features, beta_i = B_i / sqrt(P).
    n : int
        Number of training samples.
    P : int
        Number of features in the world.
    p : int
        Number of features the model fits, ``s <= p <= P``.
    s : int
        Number of weights kept after pruning, ``1 <= s <= p``.
    sigma2 : float
        Label noise variance, >= 0.
    ridge : float
        Ridge penalty r >= 0 (0: min-norm for p > n, OLS for p < n, infinite risk at p = n).
    order : {"saliency", "random"}
        Which features the model fits: the first p by true saliency (the paper) or p chosen without
        regard to saliency.
    precision : {"double", "mp"}
        "mp" solves the model's equations at 50 digits with mpmath.
    rtol : float
        Relative width of the final bracket of every root.
    finite_size : bool
        True: the expected risks of the finite world (atom counts as :func:`dcpredict.simulate_world`) at
        these n, p and s, exact where exact results exist and approximate elsewhere (theory page,
        :ref:`theory-finite`); returns a :class:`~dcpredict.finite.FiniteWorldPrediction` stating the method
        of every field.

    Returns
    -------
    WorldPrediction
        With ``P == p`` it equals ``predict(law, kappa=p/n, alpha=s/p, ...)`` field by field.

    See Also
    --------
    predict_world_curve : the same for many p at once (compiled, parallel).
    """
    if finite_size is not False:  # finite-size mode: all logic in dcpredict.finite
        from .finite import predict_world_finite
        return predict_world_finite(law, n=n, P=P, p=p, s=s, sigma2=sigma2, ridge=ridge, order=order,
                                    precision=precision, rtol=rtol, finite_size=finite_size)
    law, n, P, s, sigma2, ridge, order, rtol = _check_world(law, n, P, s, sigma2, ridge, order, rtol)
    p = check_int("p", p, lo=s, hi=P)
    from .theory import predict
    model_law, model_sigma2 = model_problem(law, P=P, p=p, sigma2=sigma2, order=order)
    pred = predict(model_law, kappa=p / n, alpha=s / p, sigma2=model_sigma2, ridge=ridge,
                   precision=precision, rtol=rtol)
    base = world_baselines(law, n=n, P=P, s=s, sigma2=sigma2, ridge=ridge, rtol=rtol)
    risks = pred.risks()
    if ridge == 0.0 and s == n:  # every refit has s / n = 1 exactly (p/n and s/p are rounded floats)
        for name in ("magnitude_retrained", "hessian_retrained", "random_retrained"):
            risks[name] = math.inf
    risks["small_oracle"] = base["small_oracle"]
    return WorldPrediction(law, n, P, p, s, sigma2, ridge, order, **risks,
                           small_random=base["small_random"], small_top_variance=base["small_top_variance"],
                           zero_model=base["zero_model"], model_sigma2=model_sigma2, model=pred,
                           precision=precision)


@dataclass(frozen=True, repr=False)
class WorldCurve(Result):
    """World test risks against the model size p at a fixed budget s (arrays over ``ps``).

    Fields as :class:`WorldPrediction`; rule fields are arrays of len(ps), baselines are floats.
    """
    law: Law
    n: int
    P: int
    s: int
    sigma2: float
    ridge: float
    order: str
    ps: np.ndarray
    dense: np.ndarray
    magnitude: np.ndarray
    hessian: np.ndarray
    random: np.ndarray
    oracle_pruned: np.ndarray
    small_oracle: float
    magnitude_retrained: np.ndarray
    hessian_retrained: np.ndarray
    random_retrained: np.ndarray
    small_random: float
    small_top_variance: float
    zero_model: float

    CURVE_FIELDS = ("dense", "magnitude", "hessian", "random", "oracle_pruned",
                    "magnitude_retrained", "hessian_retrained", "random_retrained")

    def best(self, rules: Sequence[str] = ("magnitude", "hessian", "random", "magnitude_retrained",
                                           "hessian_retrained", "random_retrained")) -> tuple[int, str, float]:
        """(p, rule, risk) of the lowest risk among ``rules`` over the curve (first p on ties)."""
        best = (int(self.ps[0]), rules[0], np.inf)
        for rule in rules:
            vals = getattr(self, rule)
            i = int(np.argmin(vals))
            if vals[i] < best[2]:
                best = (int(self.ps[i]), rule, float(vals[i]))
        return best

    def records(self) -> list[dict[str, Any]]:
        """One dict per p with every field."""
        base = {k: getattr(self, k) for k in WORLD_BASELINES}
        return [{"p": int(p), "kappa": p / self.n, "alpha": self.s / p,
                 **{k: float(getattr(self, k)[i]) for k in self.CURVE_FIELDS}, **base}
                for i, p in enumerate(self.ps)]

    def to_dict(self) -> dict[str, Any]:
        """Inputs and every array as JSON-ready lists (inf stays a float inf)."""
        out: dict[str, Any] = {"world": {**self.law.to_dict(), "P": self.P}, "n": self.n, "s": self.s,
                               "sigma2": self.sigma2, "ridge": self.ridge, "order": self.order,
                               "p": [int(x) for x in self.ps]}
        out.update({k: [float(x) for x in getattr(self, k)] for k in self.CURVE_FIELDS})
        out.update({k: getattr(self, k) for k in WORLD_BASELINES})
        return out

    _records = records

    def summary(self, max_rows: int = 12) -> str:
        """A table of a few p values, the baselines and the best choice."""
        idx = np.unique(np.linspace(0, self.ps.size - 1, min(max_rows, self.ps.size)).round().astype(int))
        cols = ("dense", "magnitude", "hessian", "oracle_pruned", "magnitude_retrained", "hessian_retrained")
        lines = [f"dcpredict world curve: P = {self.P}, n = {self.n}, s = {self.s}, order = {self.order}, "
                 f"sigma2 = {self.sigma2:g}, ridge = {self.ridge:g}",
                 f"{'p':>7}" + "".join(f"{c[:14]:>15}" for c in cols)]
        for i in idx:
            lines.append(f"{int(self.ps[i]):>7}" + "".join(f"{_fmt(getattr(self, c)[i]):>15}" for c in cols))
        lines.append("baselines: " + ", ".join(f"{k} {_fmt(getattr(self, k))}" for k in WORLD_BASELINES))
        p, rule, risk = self.best()
        lines.append(f"lowest pruned risk: {rule} at p = {p} ({_fmt(risk)})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"WorldCurve(n={self.n}, P={self.P}, s={self.s}, order={self.order!r}, "
                f"{self.ps.size} values of p from {int(self.ps[0])} to {int(self.ps[-1])})")


def default_ps(s: int, P: int, num: int = DEFAULT_CURVE_POINTS) -> np.ndarray:
    """Every integer p from s to P, or ``num`` integers spaced evenly between them when there are more."""
    if P - s + 1 <= num:
        return np.arange(s, P + 1, dtype=np.int64)
    return np.unique(np.linspace(s, P, num).round().astype(np.int64))


def predict_world_curve(law: Law, *, n: int, P: int, s: int, sigma2: float, ps: Any = None, ridge: float = 0.0,
                        order: str = "saliency", rtol: float = 1e-12, finite_size: bool = False) -> WorldCurve:
    """World test risks for many model sizes p at a fixed budget s, in parallel compiled code.

    Parameters are those of :func:`predict_world`; ``ps`` is a sequence of integers in [s, P] (default
    :func:`default_ps`: every integer from s to P, or 400 evenly spaced ones; the values used are in
    the result).  Each p equals :func:`predict_world` at that p.  ``finite_size=True``: the finite-size
    risks of :func:`predict_world` with ``finite_size=True`` at each p (about a second per p; default grid
    at most 60 values of p; a :class:`~dcpredict.finite.FiniteWorldCurve` with the asymptotic arrays too).
    """
    if finite_size is not False:  # finite-size mode: all logic in dcpredict.finite
        from .finite import predict_world_curve_finite
        return predict_world_curve_finite(law, n=n, P=P, s=s, sigma2=sigma2, ps=ps, ridge=ridge, order=order,
                                          rtol=rtol, finite_size=finite_size)
    law, n, P, s, sigma2, ridge, order, rtol = _check_world(law, n, P, s, sigma2, ridge, order, rtol)
    if ps is None:
        ps_arr = default_ps(s, P)
    else:
        raw = np.atleast_1d(np.asarray(ps, dtype=object))
        if raw.ndim != 1 or raw.size == 0:
            raise DCPredictError(f"ps must be a non-empty 1-D sequence of integers in [{s}, {P}]; got {ps!r}")
        ps_arr = np.array([check_int("ps", x, lo=s, hi=P) for x in raw], dtype=np.int64)
    if isinstance(law, GaussianLaw):
        from . import _kernels_gauss as G
        if order == "saliency":
            raise G._saliency_error(law)
        risks = G.world_curve_law(law, n, P, s, ps_arr, sigma2, ridge, rtol)
    else:
        from . import _kernels as K
        from .theory import _certify, _scaled
        sc = _scaled(law, sigma2, ridge)      # solved in the scaled units of the theory engine
        risks_s, aux_s, _ = K.world_curve(sc.lam, sc.b, sc.w, _saliency_order(law), n, P, s, ps_arr,
                                          order == "random", sc.sigma2, sc.ridge, rtol)
        risks = np.array([_certify(sc, law, p / n, s / p, sigma2, ridge, risks_s[i], aux_s[i, K.AUX_STATUS])
                          for i, p in enumerate(ps_arr)]).reshape(ps_arr.size, len(RISK_FIELDS))
    if ridge == 0.0 and s == n:  # every refit has s / n = 1 exactly: the interpolation threshold
        for name in ("small_oracle", "magnitude_retrained", "hessian_retrained", "random_retrained"):
            risks[:, RISK_FIELDS.index(name)] = math.inf
    base = world_baselines(law, n=n, P=P, s=s, sigma2=sigma2, ridge=ridge, rtol=rtol)
    fields = {name: risks[:, i].copy() for i, name in enumerate(RISK_FIELDS) if name != "small_oracle"}
    return WorldCurve(law, n, P, s, sigma2, ridge, order, ps_arr, **fields, small_oracle=base["small_oracle"],
                      small_random=base["small_random"], small_top_variance=base["small_top_variance"],
                      zero_model=base["zero_model"])
