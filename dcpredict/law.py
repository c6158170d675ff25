"""Laws of (Lambda, B): the limit law mu of (feature variance, true weight) as weighted atoms.

THEORY.md section 1: a linear Gaussian problem (LGP) is described by the law of the pairs
(lambda_i, B_i), with beta_i = B_i / sqrt(p).  Every law is represented as weighted atoms
(lam_k, b_k, w_k) with sum_k w_k = 1:

* explicit atoms (``Law(lam, b, weights)``);
* the empirical law of a finite instance (``Law.empirical(lam, b)``), p atoms of weight 1/p,
  which is the paper's non-asymptotic prediction for that instance;
* continuous laws by quadrature (``Law.power_law``, ``Law.uniform``, ``Law.from_quantile``):
  Gauss-Legendre nodes in the quantile variable of Lambda times Gauss-Hermite nodes for a
  Gaussian B whose variance may depend on Lambda.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np

from ._validate import DCPredictError, check_array, check_int, check_real

__all__ = ["Law"]

BVar = Union[float, Callable[[np.ndarray], np.ndarray]]
WEIGHT_SUM_TOL = 1e-9


class Law:
    """A law of (Lambda, B) as weighted atoms ``(lam[k], b[k], weights[k])``.

    Parameters
    ----------
    lam : array_like
        Feature variances, every entry finite and > 0.
    b : array_like
        True weights B (the scaled coefficients: beta_i = B_i / sqrt(p)), finite.
    weights : array_like, optional
        Probabilities of the atoms, each >= 0, summing to 1 within 1e-9 (they are then
        rescaled to sum to 1 exactly).  Default: equal weights (the empirical law).

    The arrays are stored read-only as float64.  Atoms of zero weight are kept (they do
    not change any expectation).
    """

    __slots__ = ("lam", "b", "weights", "description")

    def __init__(self, lam: Any, b: Any, weights: Any = None, *, description: str = "atoms") -> None:
        lam_a = check_array("lam", lam, lo=0.0, lo_open=True)
        b_a = check_array("b", b)
        if b_a.shape != lam_a.shape:
            raise DCPredictError(f"b must have the same length as lam ({lam_a.size}); got {b_a.size}")
        if weights is None:
            w_a = np.full(lam_a.size, 1.0 / lam_a.size)
        else:
            w_a = check_array("weights", weights, lo=0.0)
            if w_a.shape != lam_a.shape:
                raise DCPredictError(f"weights must have the same length as lam ({lam_a.size}); got {w_a.size}")
            total = math.fsum(w_a)
            if abs(total - 1.0) > WEIGHT_SUM_TOL:
                raise DCPredictError(f"weights must sum to 1 within {WEIGHT_SUM_TOL:g}; they sum to {total!r}")
            w_a = w_a / total
        for arr in (lam_a, b_a, w_a):
            arr.setflags(write=False)
        self.lam: np.ndarray = lam_a
        self.b: np.ndarray = b_a
        self.weights: np.ndarray = w_a
        self.description: str = str(description)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def empirical(cls, lam: Any, b: Any) -> "Law":
        """The empirical law of a finite instance: p atoms of weight 1/p (THEORY.md section 1)."""
        lam_a = check_array("lam", lam, lo=0.0, lo_open=True)
        return cls(lam_a, b, None, description=f"empirical law of {lam_a.size} features")

    @classmethod
    def from_quantile(cls, quantile: Callable[[np.ndarray], np.ndarray], *, b_var: BVar = 1.0,
                      order: int = 32, b_order: int = 64, description: str = "quadrature law") -> "Law":
        """A continuous law by product quadrature.

        Lambda = quantile(U) with U ~ Uniform(0, 1) (``quantile`` is the inverse CDF of Lambda,
        vectorized), integrated with ``order`` Gauss-Legendre nodes in U; B | Lambda ~ N(0, b_var(Lambda))
        integrated with ``b_order`` Gauss-Hermite nodes (``b_order = 1`` puts B at 0; use an even
        order; the default 64 gives ~1e-10 relative accuracy for pruning risks, whose integrand in B is
        nearly a step, while 16 nodes give only ~1e-3).  ``b_var`` is a number or a vectorized function of Lambda
        returning variances >= 0.
        """
        order = check_int("order", order, lo=1, hi=4096)
        b_order = check_int("b_order", b_order, lo=1, hi=256)
        u, wu = np.polynomial.legendre.leggauss(order)
        u = 0.5 * (u + 1.0)
        wu = 0.5 * wu
        lam_nodes = np.asarray(quantile(u), dtype=np.float64)
        if lam_nodes.shape != u.shape:
            raise DCPredictError("quantile must map an array of probabilities to an array of the same shape")
        check_array("lam (quadrature nodes)", lam_nodes, lo=0.0, lo_open=True)
        if callable(b_var):
            var = np.asarray(b_var(lam_nodes), dtype=np.float64) * np.ones_like(lam_nodes)
            check_array("b_var(lam)", var, lo=0.0)
        else:
            var = np.full_like(lam_nodes, check_real("b_var", b_var, lo=0.0))
        h, wh = np.polynomial.hermite_e.hermegauss(b_order)
        wh = wh / math.sqrt(2.0 * math.pi)
        lam = np.repeat(lam_nodes, b_order)
        b = (np.sqrt(var)[:, None] * h[None, :]).ravel()
        w = (wu[:, None] * wh[None, :]).ravel()
        return cls(lam, b, w / math.fsum(w), description=description)

    @classmethod
    def power_law(cls, exponent: float, lam_min: float, lam_max: float, *, b_var: BVar = 1.0,
                  order: int = 32, b_order: int = 64) -> "Law":
        """Power-law spectrum: Lambda has density proportional to lambda**(-exponent) on [lam_min, lam_max].

        ``exponent = 0`` is the uniform law; ``exponent = 1`` is log-uniform.  B | Lambda ~ N(0, b_var(Lambda)).
        """
        a = check_real("exponent", exponent)
        lo = check_real("lam_min", lam_min, lo=0.0, lo_open=True)
        hi = check_real("lam_max", lam_max, lo=lo, lo_open=True)
        if abs(a - 1.0) < 1e-12:
            def quantile(u):
                return lo * (hi / lo) ** u
        else:
            e = 1.0 - a

            def quantile(u):
                return (lo ** e + u * (hi ** e - lo ** e)) ** (1.0 / e)
        return cls.from_quantile(quantile, b_var=b_var, order=order, b_order=b_order,
                                 description=f"power law lambda^-{a:g} on [{lo:g}, {hi:g}]")

    @classmethod
    def uniform(cls, lam_low: float, lam_high: float, *, b_var: BVar = 1.0, order: int = 32,
                b_order: int = 64) -> "Law":
        """Lambda ~ Uniform[lam_low, lam_high], B | Lambda ~ N(0, b_var(Lambda))."""
        lo = check_real("lam_low", lam_low, lo=0.0, lo_open=True)
        hi = check_real("lam_high", lam_high, lo=lo)
        return cls.from_quantile(lambda u: lo + u * (hi - lo), b_var=b_var, order=order, b_order=b_order,
                                 description=f"uniform lambda on [{lo:g}, {hi:g}]")

    @classmethod
    def from_dict(cls, spec: dict) -> "Law":
        """Build a law from a JSON-style dict.

        Accepted forms: ``{"lam": [...], "b": [...], "weights": [...]}`` (weights optional);
        ``{"power_law": {"exponent", "lam_min", "lam_max", "b_var"?, "b_var_exponent"?, "order"?, "b_order"?}}``;
        ``{"uniform": {"lam_low", "lam_high", "b_var"?, "b_var_exponent"?, "order"?, "b_order"?}}``.
        With ``b_var_exponent = e``, B | Lambda has variance b_var * Lambda**e.
        """
        if not isinstance(spec, dict):
            raise DCPredictError(f"law must be a JSON object; got {type(spec).__name__}")
        if "lam" in spec:
            extra = set(spec) - {"lam", "b", "weights"}
            if extra:
                raise DCPredictError(f"law has unknown keys {sorted(extra)}; allowed: lam, b, weights")
            if "b" not in spec:
                raise DCPredictError("law needs 'b' next to 'lam'")
            return cls(spec["lam"], spec["b"], spec.get("weights"))
        for kind, builder, required in (("power_law", cls.power_law, ("exponent", "lam_min", "lam_max")),
                                        ("uniform", cls.uniform, ("lam_low", "lam_high"))):
            if kind in spec:
                params = dict(spec[kind])
                missing = [k for k in required if k not in params]
                if missing:
                    raise DCPredictError(f"law '{kind}' needs {', '.join(missing)}")
                allowed = set(required) | {"b_var", "b_var_exponent", "order", "b_order"}
                extra = set(params) - allowed
                if extra:
                    raise DCPredictError(f"law '{kind}' has unknown keys {sorted(extra)}; allowed: {sorted(allowed)}")
                scale = check_real("b_var", params.pop("b_var", 1.0), lo=0.0)
                expo = check_real("b_var_exponent", params.pop("b_var_exponent", 0.0))
                b_var: BVar = scale if expo == 0.0 else (lambda lam, s=scale, e=expo: s * lam ** e)
                positional = [params.pop(k) for k in required]
                return builder(*positional, b_var=b_var, **params)
        raise DCPredictError("law must have 'lam' and 'b' (atoms), 'power_law' or 'uniform'")

    @classmethod
    def from_json(cls, path: str | Path) -> "Law":
        """Read a law from a JSON file (see :meth:`from_dict` for the forms)."""
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise DCPredictError(f"law file {str(path)!r} cannot be read: {exc.strerror}") from None
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DCPredictError(f"law file {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        return cls.from_dict(spec)

    # ------------------------------------------------------------------ properties
    @property
    def n_atoms(self) -> int:
        return int(self.lam.size)

    def expect(self, values: np.ndarray) -> float:
        """E[f(Lambda, B)] for the per-atom values f(lam_k, b_k)."""
        return float(np.dot(self.weights, values))

    @property
    def signal_power(self) -> float:
        """E[Lambda B^2] = lim beta^T Sigma beta (the risk of the zero predictor minus sigma^2)."""
        return self.expect(self.lam * self.b ** 2)

    def to_dict(self) -> dict:
        return {"lam": self.lam.tolist(), "b": self.b.tolist(), "weights": self.weights.tolist()}

    def __len__(self) -> int:
        return self.n_atoms

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Law):
            return NotImplemented
        return (np.array_equal(self.lam, other.lam) and np.array_equal(self.b, other.b)
                and np.array_equal(self.weights, other.weights))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self.n_atoms <= 6:
            return (f"Law(lam={self.lam.tolist()}, b={self.b.tolist()}, "
                    f"weights={np.round(self.weights, 12).tolist()})")
        return (f"<Law: {self.description}, {self.n_atoms} atoms, E[Lambda]={self.expect(self.lam):.6g}, "
                f"E[Lambda B^2]={self.signal_power:.6g}>")
