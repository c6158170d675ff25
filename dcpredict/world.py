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
DEFAULT_CURVE_POINTS = 10_000


def _arrays(law: Law) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.array(law.lam), np.array(law.b), np.array(law.weights)


def _saliency_order(law: Law) -> np.ndarray:
    return np.argsort(-(law.lam * law.b ** 2), kind="stable").astype(np.int64)


#: per-world state, keyed by the identity of the law's read-only arrays (held, so ids are not reused) and
#: the arguments: the writable copies and saliency order of the law, and the baselines per (n, P, s, ...)
_WORLD_CACHE: dict = {}
_WORLD_CACHE_SIZE = 256
#: a law with more atoms is not cached (its copies would pin memory; its kernels dominate anyway)
_WORLD_CACHE_MAX_ATOMS = 4096


def _cached(law: Law, extra: tuple, make):
    arrs = (law.lam, law.b, law.weights)
    key = (id(arrs[0]), id(arrs[1]), id(arrs[2])) + extra
    hit = _WORLD_CACHE.get(key)
    if hit is not None and hit[0][0] is arrs[0] and hit[0][1] is arrs[1] and hit[0][2] is arrs[2]:
        return hit[1]
    value = make()
    if arrs[0].size > _WORLD_CACHE_MAX_ATOMS:
        return value
    if len(_WORLD_CACHE) >= _WORLD_CACHE_SIZE:
        _WORLD_CACHE.clear()  # atomic (threads may share the cache); refilled on use
    _WORLD_CACHE[key] = (arrs, value)
    return value


def _world_arrays(law: Law) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Writable copies of the atoms and the world's saliency order, once per law (never written)."""
    return _cached(law, ("arrays",), lambda: (*_arrays(law), _saliency_order(law)))


def _trusted_law(lam: np.ndarray, b: np.ndarray, w: np.ndarray, description: str) -> Law:
    """A Law from arrays that are valid by construction (a model of a checked world), without the checks.

    ``w`` is rescaled to sum to 1 exactly as :class:`Law` does."""
    total = math.fsum(w)
    if total != 1.0:
        w = w / total
    out = Law.__new__(Law)
    b.setflags(write=False)
    w.setflags(write=False)
    out.lam, out.b, out.weights, out.description = lam, b, w, description
    return out


def _check_world(law: Any, n: Any, P: Any, s: Any, sigma2: Any, ridge: Any, order: Any,
                 rtol: Any) -> tuple[Law, int, int, int, float, float, str, float]:
    if not isinstance(law, Law):
        raise DCPredictError(f"law must be a dcpredict.Law; got {type(law).__name__}")
    from .theory import _real
    n = _int("n", n, 1)
    P = _int("P", P, 1)
    s = _int("s", s, 1, P)
    sigma2 = _real("sigma2", sigma2, 0.0)
    ridge = _real("ridge", ridge, 0.0)
    if order not in ORDERS:
        order = check_choice("order", order, ORDERS)
    rtol = _real("rtol", rtol, 1e-15, 1e-3)
    return law, n, P, s, sigma2, ridge, order, rtol


def _int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """:func:`check_int` with a fast path for a plain int in range."""
    if type(value) is int and value >= lo and (hi is None or value <= hi):
        return value
    return check_int(name, value, lo=lo, hi=hi)


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
        if order == "saliency":
            raise _gauss_saliency_error(law)
        return _gauss_model_law_random(law, frac, sigma2)
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
    return dict(_baselines(law, n, P, s, sigma2, ridge, rtol))


def _baselines(law: Law, n: int, P: int, s: int, sigma2: float, ridge: float, rtol: float) -> dict[str, float]:
    """:func:`world_baselines` on checked inputs, computed once per world (the caller must not modify it)."""
    if isinstance(law, GaussianLaw):
        return _gauss_world_baselines(law, n, P, s, sigma2, ridge, rtol)
    return _cached(law, ("baselines", n, P, s, sigma2, ridge, rtol),
                   lambda: _baselines_atoms(law, n, P, s, sigma2, ridge, rtol))


def _baselines_atoms(law: Law, n: int, P: int, s: int, sigma2: float, ridge: float, rtol: float) -> dict[str, float]:
    from . import _kernels as K
    from .theory import _scaled
    sc = _scaled(law, sigma2, ridge)          # solved in the scaled units of the theory engine
    frac = s / P
    oracle_mass = np.empty_like(sc.w)
    K._fill(_world_arrays(law)[3], sc.w, frac, oracle_mass)
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
    p = _int("p", p, s, P)
    if precision == "double" and not isinstance(law, GaussianLaw):
        return _predict_world_double(law, n, P, p, s, sigma2, ridge, order, rtol)
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


def _predict_world_double(law: Law, n: int, P: int, p: int, s: int, sigma2: float, ridge: float, order: str,
                          rtol: float) -> WorldPrediction:
    """:func:`predict_world` for an atom law in double precision, on checked inputs.

    The model's problem is solved in the world's scaled units (computed once per world, as in
    :func:`predict_world_curve`) in one compiled call that also certifies it; the baselines come from
    the per-world cache.  The model's law is built without re-checking (it is valid by construction).
    """
    from . import _kernels as K
    from .theory import _law_state, _new, _predict_double
    lam, b, w, order_w = _world_arrays(law)
    frac = p / P
    mb, mw = np.empty_like(b), np.empty_like(w)
    extra = K.world_model(lam, b, w, order_w, frac, order == "random", mb, mw)
    model_sigma2 = sigma2 + float(extra)
    model = _trusted_law(law.lam, mb, mw, f"model of {p} of {P} features ({order} order) of {law.description}")
    sc, _ = _law_state(law, sigma2, ridge)
    pred = _predict_double(model, sc, order_w, p / n, s / p, model_sigma2, ridge, rtol,
                           world=(n, P, s, p, order == "random"))
    base = _baselines(law, n, P, s, sigma2, ridge, rtol)
    risks = pred.risks()
    if ridge == 0.0 and s == n:  # every refit has s / n = 1 exactly (p/n and s/p are rounded floats)
        for name in ("magnitude_retrained", "hessian_retrained", "random_retrained"):
            risks[name] = math.inf
    risks["small_oracle"] = base["small_oracle"]
    risks.update(law=law, n=n, P=P, p=p, s=s, sigma2=sigma2, ridge=ridge, order=order,
                 small_random=base["small_random"], small_top_variance=base["small_top_variance"],
                 zero_model=base["zero_model"], model_sigma2=model_sigma2, model=pred, precision="double")
    return _new(WorldPrediction, risks)


@dataclass(frozen=True, repr=False)
class WorldCurve(Result):
    """World test risks against the model size p at a fixed budget s (arrays over ``ps``).

    Fields as :class:`WorldPrediction`.  Every risk is an array of len(ps), the baselines
    ``small_oracle``, ``small_random``, ``small_top_variance`` and ``zero_model`` included: they do not
    depend on p and are broadcast (constant arrays), so ``plt.plot(c.ps, c.small_oracle)`` works.  Their
    single values are :attr:`baselines` (a dict of floats); the constructor accepts a float or a constant
    array for each.  :meth:`plot` draws the curves against p.
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
    small_oracle: np.ndarray
    magnitude_retrained: np.ndarray
    hessian_retrained: np.ndarray
    random_retrained: np.ndarray
    small_random: np.ndarray
    small_top_variance: np.ndarray
    zero_model: np.ndarray

    def __post_init__(self) -> None:
        ps = np.asarray(self.ps)
        for name in WORLD_BASELINES:
            value = np.array(getattr(self, name), dtype=float)
            if value.ndim == 0:  # a read-only zero-stride view: one double per baseline, not one per p
                value = np.broadcast_to(value, ps.shape)
            elif value.shape != ps.shape or not (value.size == 0 or np.all((value == value[0])
                                                                             | (np.isnan(value) & np.isnan(value[0])))):
                raise DCPredictError(f"WorldCurve {name} must be one number or a constant array of len(ps) = "
                                     f"{ps.size}; got shape {value.shape}")
            object.__setattr__(self, name, value)

    @property
    def baselines(self) -> dict[str, float]:
        """The baselines as single numbers: small_oracle, small_random, small_top_variance, zero_model."""
        return {k: float(getattr(self, k)[0]) for k in WORLD_BASELINES}

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
        base = self.baselines
        return [{"p": int(p), "kappa": p / self.n, "alpha": self.s / p,
                 **{k: float(getattr(self, k)[i]) for k in self.CURVE_FIELDS}, **base}
                for i, p in enumerate(self.ps)]

    def to_dict(self) -> dict[str, Any]:
        """Inputs and every array as JSON-ready lists (inf stays a float inf)."""
        out: dict[str, Any] = {"world": {**self.law.to_dict(), "P": self.P}, "n": self.n, "s": self.s,
                               "sigma2": self.sigma2, "ridge": self.ridge, "order": self.order,
                               "p": [int(x) for x in self.ps]}
        out.update({k: [float(x) for x in getattr(self, k)] for k in self.CURVE_FIELDS})
        out.update(self.baselines)
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
        lines.append("baselines: " + ", ".join(f"{k} {_fmt(v)}" for k, v in self.baselines.items()))
        p, rule, risk = self.best()
        lines.append(f"lowest pruned risk: {rule} at p = {p} ({_fmt(risk)})")
        return "\n".join(lines)

    def _plot(self, ax, fields: Sequence[str] | None = None, baselines: Sequence[str] = ("small_oracle",),
              logx: bool = True, logy: bool = True) -> None:
        """Risk against p: one line per rule of ``fields`` (default dense, magnitude, hessian, oracle_pruned,
        magnitude_retrained, hessian_retrained), the ``baselines`` dashed (constant in p), a dotted line at
        p = n; a divergent risk (inf) is a gap in its line."""
        from ._results import plot_lines
        fields = ("dense", "magnitude", "hessian", "oracle_pruned", "magnitude_retrained", "hessian_retrained") \
            if fields is None else tuple(fields)
        for f in (*fields, *baselines):
            check_choice("field", f, self.CURVE_FIELDS + WORLD_BASELINES)
        plot_lines(ax, self.ps, {f: getattr(self, f) for f in fields},
                   dashed={b: getattr(self, b) for b in baselines}, logx=logx, logy=logy)
        if self.ps[0] <= self.n <= self.ps[-1]:
            ax.axvline(self.n, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel(f"p (features the model fits; n = {self.n}, P = {self.P}, pruned to s = {self.s})")
        ax.set_ylabel("test risk (theory)")
        ax.set_title(f"world curve: {self.order} order, $\\sigma^2$ = {self.sigma2:g}, ridge = {self.ridge:g}",
                     fontsize=10)

    def __repr__(self) -> str:
        return (f"WorldCurve(n={self.n}, P={self.P}, s={self.s}, order={self.order!r}, "
                f"{self.ps.size} values of p from {int(self.ps[0])} to {int(self.ps[-1])})")


#: below this many (points x atoms) a curve runs in the serial twin of the kernel: starting the parallel
#: threads costs more than the work, and on a loaded machine spinning threads cost much more
SMALL_WORK = 2048


def _curve_atoms(law: Law, n: int, P: int, s: int, ps: np.ndarray, sigma2: float, ridge: float, order: str,
                 rtol: float) -> np.ndarray:
    """Certified risks (len(ps), N_RISKS) of the curve of an atom law, in the user's units."""
    from . import _kernels as K
    from .theory import _certify, _law_state
    sc, _ = _law_state(law, sigma2, ridge)      # solved in the scaled units of the theory engine
    order_w = _world_arrays(law)[3]
    small = ps.size * sc.lam.size < SMALL_WORK
    kernel = K.world_curve_compact_serial if small else K.world_curve_compact
    out3 = kernel(sc.lam, sc.b, sc.w, order_w, n, P, s, ps, order == "random", sc.sigma2, sc.ridge, rtol)
    out = out3[:, 0, :]
    bad = K.certify_compact(out, sc.sigma2, sc.logQ, sc.L, sigma2)   # in place, one compiled pass
    if bad >= 0:  # the message of the failing p
        p = int(ps[bad])
        _certify(sc, law, p / n, s / p, sigma2, ridge, out[bad, :K.N_RISKS], out[bad, K.C_STATUS])
        raise DCPredictError(f"no certified result at p={p} (kappa={p / n!r}, alpha={s / p!r}, sigma2={sigma2!r}, "
                             f"ridge={ridge!r}, law {law!r}): a risk failed the range checks")  # pragma: no cover
    return out[:, :K.N_RISKS]


def default_ps(s: int, P: int, num: int = DEFAULT_CURVE_POINTS) -> np.ndarray:
    """Every integer p from s to P when there are at most ``num`` (default 10 000) of them, else ``num``
    integers spaced evenly between s and P (both included)."""
    if P - s + 1 <= num:
        return np.arange(s, P + 1, dtype=np.int64)
    return np.unique(np.linspace(s, P, num).round().astype(np.int64))


def predict_world_curve(law: Law, *, n: int, P: int, s: int, sigma2: float, ps: Any = None, ridge: float = 0.0,
                        order: str = "saliency", rtol: float = 1e-12, finite_size: bool = False) -> WorldCurve:
    """World test risks for many model sizes p at a fixed budget s, in parallel compiled code.

    Parameters are those of :func:`predict_world`; ``ps`` is a sequence of integers in [s, P] (default
    :func:`default_ps`: every integer from s to P when P - s < 10 000, else 10 000 evenly spaced ones;
    the values used are in the result).  Each p equals :func:`predict_world` at that p.  ``finite_size=True``:
    the finite-size risks of :func:`predict_world` with ``finite_size=True`` at each p (about a second per p;
    default grid at most 60 values of p; a :class:`~dcpredict.finite.FiniteWorldCurve` with the asymptotic
    arrays too).
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
        if order == "saliency":
            raise _gauss_saliency_error(law)
        risks = _gauss_world_curve(law, n, P, s, ps_arr, sigma2, ridge, rtol)
    else:
        risks = _curve_atoms(law, n, P, s, ps_arr, sigma2, ridge, order, rtol)
    if ridge == 0.0 and s == n:  # every refit has s / n = 1 exactly: the interpolation threshold
        for name in ("small_oracle", "magnitude_retrained", "hessian_retrained", "random_retrained"):
            risks[:, RISK_FIELDS.index(name)] = math.inf
    base = _baselines(law, n, P, s, sigma2, ridge, rtol)
    fields = {name: risks[:, i] for i, name in enumerate(RISK_FIELDS) if name != "small_oracle"}
    return WorldCurve(law, n, P, s, sigma2, ridge, order, ps_arr, **fields, small_oracle=base["small_oracle"],
                      small_random=base["small_random"], small_top_variance=base["small_top_variance"],
                      zero_model=base["zero_model"])


# ------------------------------------------------------------------------------ Gaussian-B worlds (order random)
def _gauss_model_law_random(law, f: float, sigma2: float):
    """The model LGP of a GaussianLaw world fitted on a fraction f of its features in random order."""
    extra = max((1.0 - f) * law.signal_power, 0.0)
    model = GaussianLaw(law.nodes, f * law.b_var, law.node_weights, quad_error=law.quad_error,
                        continuous=law.continuous,
                        description=f"model of a fraction {f:.6g} (random order) of {law.description}")
    return model, sigma2 + extra


def _gauss_saliency_error(law):
    return DCPredictError(
        "order='saliency' with a Gaussian-B law is not supported: the model's law (the world's top features by "
        "true saliency) is no longer Gaussian in B; use order='random', or the atom form law.atoms()")


def _gauss_world_curve(law, n: int, P: int, s: int, ps: np.ndarray, sigma2: float, ridge: float, rtol: float):
    """Risks (len(ps), N_RISKS) of the fixed-world sweep with order "random" for a GaussianLaw."""
    from . import _kernels_gauss as G
    lam, v, w, s2, r, L, Q = G._scaled(law, sigma2, ridge)
    risks, aux, dc, status = G.world_curve_random(lam, v, w, n, P, s, ps, s2, r, rtol)
    bad = np.flatnonzero(status != G.ST_OK)
    if bad.size:
        i = bad[0]
        G._fail(status[i], law, float(ps[i]) / n, s / float(ps[i]), sigma2, ridge)
    return np.maximum(risks * Q, sigma2)


def _gauss_top_lambda_cut(law, frac: float) -> float:
    """lam* with P(Lambda > lam*) = frac for a continuous GaussianLaw (its source density, scipy quad + brentq)."""
    from scipy import integrate, optimize
    src = law._source
    dens = src["density"]
    x0, x1 = math.log(src["lam_min"]), math.log(src["lam_max"])

    def mass(xa, xb):
        return integrate.quad(lambda x: float(dens(math.exp(x))) * math.exp(x), xa, xb, epsabs=0.0, epsrel=1e-13,
                              limit=500)[0]

    total = mass(x0, x1)
    xs = optimize.brentq(lambda x: mass(x, x1) / total - frac, x0, x1, xtol=1e-15, rtol=1e-14)
    return math.exp(xs)


def _gauss_world_baselines(law, n: int, P: int, s: int, sigma2: float, ridge: float, rtol: float) -> dict:
    """small_oracle, small_random, small_top_variance, zero_model for a GaussianLaw world."""
    from . import _kernels_gauss as G
    frac = s / P
    kappa = P / n
    from .theory import _gauss_predict, _gauss_solve_dc
    pred = _gauss_predict(law, kappa, frac, sigma2, ridge, "double", rtol)
    out = {"small_oracle": pred.small_oracle, "small_random": pred.random_retrained}
    lam, v, w, s2, r, L, Q = G._scaled(law, sigma2, ridge)
    if law.is_discrete:
        # the s features of largest lambda; equal lambdas in proportion (B is independent of the choice)
        mass = np.zeros_like(w)
        remaining = frac
        for value in np.unique(lam)[::-1]:
            if remaining <= 0.0:
                break
            group = lam == value
            wg = float(w[group].sum())
            take = min(wg, remaining)
            mass[group] = w[group] * (take / wg)
            remaining -= take
        res = G.refit_risk(lam, mass, mass * v, float(np.dot(w - mass, lam * v)), kappa, frac, r, s2, rtol)
        if not res[2] == res[2]:
            G._fail(G.ST_REFIT, law, kappa, frac, sigma2, ridge)
        out["small_top_variance"] = max(float(res[3]) * Q, sigma2)
    else:
        src = law._source
        if src is None:
            raise DCPredictError("small_top_variance of a continuous Gaussian-B law needs its source density; this "
                                 "law was rebuilt from its nodes (to_dict / from_dict) and has none")
        cut = _gauss_top_lambda_cut(law, frac)
        top = GaussianLaw.from_density(src["density"], cut, src["lam_max"], b_var=src["b_var"], tol=src["tol"])
        noise = sigma2 + law.signal_power - frac * top.signal_power
        model = GaussianLaw(top.nodes, frac * top.b_var, top.node_weights)
        out["small_top_variance"] = _gauss_solve_dc(model, frac * kappa, max(noise, sigma2), ridge, rtol).gamma2
    out["zero_model"] = sigma2 + law.signal_power
    return out
