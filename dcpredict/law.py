"""Laws of (Lambda, B): the limit law mu of (feature variance, true weight) as weighted atoms.

the theory page, :ref:`theory-lgp`: a linear Gaussian problem (LGP) is described by the law of the pairs
(lambda_i, B_i), with beta_i = B_i / sqrt(p).  Every law is represented as weighted atoms
(lam_k, b_k, w_k) with sum_k w_k = 1:

* explicit atoms (``Law(lam, b, weights)``);
* the empirical law of a finite instance (``Law.empirical(lam, b)``), p atoms of weight 1/p,
  which is the paper's non-asymptotic prediction for that instance;
* continuous laws by quadrature (``Law.from_quantile``, and ``Law.power_law`` / ``Law.uniform`` with
  ``method="atoms"``): Gauss-Legendre nodes in the quantile variable of Lambda times Gauss-Hermite
  nodes for a Gaussian B whose variance may depend on Lambda.

A second kind, :class:`GaussianLaw`, describes Lambda (continuous or discrete) with
B | Lambda ~ N(0, v(Lambda)) exactly: it keeps nodes ``lam_k`` in Lambda only, with weights and the
variances ``v_k``, and the theory integrates B in closed form (theory page, :ref:`theory-gaussian-b`).
``Law.power_law``, ``Law.uniform``, ``Law.from_density``, ``Law.from_spectrum`` and
``Law.index_power_law`` build it.  Continuous laws get an adaptive composite Gauss-Legendre rule in
log Lambda with a carried error estimate (``GaussianLaw.quad_error``).
"""
from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np

from ._validate import DCPredictError, check_array, check_int, check_real, read_user_bytes

__all__ = ["Law", "ScalingWarning", "looks_unscaled"]

BVar = Union[float, Callable[[np.ndarray], np.ndarray]]
WEIGHT_SUM_TOL = 1e-9


class ScalingWarning(UserWarning):
    """A law's weights look like an instance's actual weights beta, not the scaled B = sqrt(p) beta."""


#: :func:`looks_unscaled` only judges instances of at least this many features
UNSCALED_MIN_P = 50


def looks_unscaled(lam: np.ndarray, b: np.ndarray) -> str:
    """Why ``b`` looks like an unscaled weight vector (a non-empty reason), or ``""``.

    With the scaling of the theory (beta_i = B_i / sqrt(p)) the ratio of the signal to the mean feature variance,
    E[Lambda B^2] / E[Lambda] = p beta^T Sigma beta / tr(Sigma), is of order one when the label and the features
    have comparable scales; passing the actual beta makes it p times smaller.  The rule flags a ratio below
    1 / sqrt(p) (the geometric middle of the two cases) for p >= UNSCALED_MIN_P equally weighted atoms.  It is a
    heuristic that assumes features and label on comparable scales: a correctly scaled law is flagged too when its
    signal is very weak, or when the features are on a much larger scale than the label (e.g. raw pixel values
    0..255 with a 0/1 label); silence it with ``warnings.simplefilter("ignore", dcpredict.ScalingWarning)``.
    """
    p = int(lam.size)
    if p < UNSCALED_MIN_P:
        return ""
    mean_lam = float(np.mean(lam))
    signal = float(np.mean(lam * b * b))
    ratio = signal / mean_lam
    if ratio < 1.0 / math.sqrt(p):
        return (f"its signal E[Lambda B^2] = {signal:.3g} is {ratio:.3g} x E[Lambda] = {mean_lam:.3g}, below "
                f"1/sqrt(p) = {1.0 / math.sqrt(p):.3g} for p = {p} (with B = sqrt(p) beta it would be {p * signal:.3g})")
    return ""


def _weights(weights: Any, size: int, *, renormalize_above: float) -> np.ndarray:
    """Atom or node weights: equal when None; else >= 0, of length ``size``, summing to 1 within
    WEIGHT_SUM_TOL, divided by their sum when it is more than ``renormalize_above`` away from 1."""
    if weights is None:
        return np.full(size, 1.0 / size)
    w_a = check_array("weights", weights, lo=0.0)
    if w_a.shape != (size,):
        raise DCPredictError(f"weights must have the same length as lam ({size}); got {w_a.size}")
    total = math.fsum(w_a)
    if abs(total - 1.0) > WEIGHT_SUM_TOL:
        raise DCPredictError(f"weights must sum to 1 within {WEIGHT_SUM_TOL:g}; they sum to {total!r}")
    return w_a / total if abs(total - 1.0) > renormalize_above else w_a


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
        w_a = _weights(weights, lam_a.size, renormalize_above=0.0)
        for arr in (lam_a, b_a, w_a):
            arr.setflags(write=False)
        self.lam: np.ndarray = lam_a
        self.b: np.ndarray = b_a
        self.weights: np.ndarray = w_a
        self.description: str = str(description)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def empirical(cls, lam: Any, b: Any) -> "Law":
        """The empirical law of a finite instance: p atoms of weight 1/p (the theory page, :ref:`theory-lgp`).

        ``b`` holds the *scaled* weights B_i = sqrt(p) beta_i.  With the actual weight vector beta use
        :meth:`from_beta` (diagonal covariance) or :meth:`from_covariance`, which do the scaling.  A
        :class:`ScalingWarning` is issued when ``b`` looks like an unscaled beta (see :func:`looks_unscaled`).
        """
        lam_a = check_array("lam", lam, lo=0.0, lo_open=True)
        law = cls(lam_a, b, None, description=f"empirical law of {lam_a.size} features")
        reason = looks_unscaled(law.lam, law.b)
        if reason:
            import warnings
            warnings.warn(f"Law.empirical: b looks like the actual weights beta, not B = sqrt(p) beta: {reason}; "
                          "if b is the actual weight vector use Law.from_beta(lam, beta) (or Law.from_covariance), "
                          "which multiplies by sqrt(p)", ScalingWarning, stacklevel=2)
        return law

    @classmethod
    def from_beta(cls, lam: Any, beta: Any) -> "Law":
        """The empirical law of a finite problem given by its *actual* weights (diagonal covariance).

        The theory's laws hold the scaled weights B_i = sqrt(p) beta_i (the theory page, :ref:`theory-lgp`);
        this constructor does that scaling, so the signal E[Lambda B^2] of the law equals the problem's
        beta^T Sigma beta = sum_i lam_i beta_i^2.

        Parameters
        ----------
        lam : array_like, shape (p,)
            The feature variances Sigma_ii (or the eigenvalues of Sigma, with ``beta`` in its eigenbasis),
            each finite and > 0.
        beta : array_like, shape (p,)
            The actual weight vector: the label is y = x^T beta + noise.

        Returns
        -------
        Law
            ``Law.empirical(lam, sqrt(p) * beta)``: p atoms of weight 1/p.

        Examples
        --------
        >>> law = Law.from_beta([2.0, 1.0, 0.5, 0.5], [0.5, -0.5, 1.0, 0.0])
        >>> law.b.tolist(), law.signal_power     # B = 2 beta; beta' Sigma beta = 0.5 + 0.25 + 0.5
        ([1.0, -1.0, 2.0, 0.0], 1.25)
        """
        lam_a = check_array("lam", lam, lo=0.0, lo_open=True)
        beta_a = check_array("beta", beta)
        if beta_a.shape != lam_a.shape:
            raise DCPredictError(f"beta must have the same length as lam ({lam_a.size}); got {beta_a.size}")
        p = lam_a.size
        return cls(lam_a, math.sqrt(p) * beta_a, None,
                   description=f"empirical law of {p} features (actual weights beta scaled by sqrt({p}))")

    @classmethod
    def from_covariance(cls, Sigma: Any, beta: Any) -> "Law":
        """The empirical law of a finite problem with a general covariance and its actual weights.

        Sigma = V diag(lam) V^T is diagonalized and beta rotated into its eigenbasis, a = V^T beta; the law has
        one atom per eigen-direction, (lam_k, sqrt(r) a_k) with weight 1/r.  The dense risks are invariant
        under this rotation; for pruning and for the fixed world (:func:`dcpredict.advise`) the *features* of
        the law are the eigen-directions of Sigma (principal components), not the original coordinates.
        Two cases make the eigen-directions unique:

        * a diagonal Sigma (every off-diagonal entry exactly 0) keeps the original coordinates
          (the law of :meth:`from_beta` on its diagonal), even where diagonal entries repeat;
        * otherwise, inside an eigenspace of repeated eigenvalues (equal within 1e-10 lambda_max), where
          numpy's eigenvectors are an arbitrary basis, the basis is turned so that beta's projection lies
          on one direction (the other directions of that eigenspace get B = 0).

        Eigenvalues below ``p * eps * lambda_max`` (variances exactly 0 for a diagonal Sigma) are zero, as
        in :func:`dcpredict.predict_correlated`; their directions carry neither variance nor signal (x^T beta
        does not see them) and are dropped, so the law has r = rank(Sigma) atoms and its description says how
        many were dropped.

        Parameters
        ----------
        Sigma : array_like, shape (p, p)
            The feature covariance: symmetric (within 1e-10 relative) and positive semi-definite.
        beta : array_like, shape (p,)
            The actual weight vector in the original coordinates.

        Returns
        -------
        Law
            r atoms of weight 1/r: B = sqrt(r) a on the nonzero eigenvalues, in decreasing order of eigenvalue
            (the original order for a diagonal Sigma).
        """
        from .correlated import check_problem, spectrum
        S, b = check_problem(Sigma, beta)
        p = S.shape[0]
        if not np.any(S - np.diag(np.diagonal(S))):
            lam = np.diagonal(S).copy()
            if lam.min() < 0.0:
                i = int(np.argmin(lam))
                raise DCPredictError(f"Sigma must be positive semi-definite; diagonal entry {i} is {float(lam[i])!r}")
            keep = lam > 0.0
            lam_r, a_r, kind = lam[keep], b[keep], "a diagonal"
        else:
            lam, V = spectrum(S)
            lam, V = lam[::-1], V[:, ::-1]                     # decreasing eigenvalues
            a = V.T @ b
            tol = 1e-10 * float(lam[0])
            start = 0
            for k in range(1, p + 1):                          # groups of repeated eigenvalues
                if k == p or lam[start] - lam[k] > tol:
                    if k - start > 1 and lam[start] > 0.0:
                        a[start:k] = 0.0
                        a[start] = float(np.linalg.norm(V[:, start:k].T @ b))
                    start = k
            keep = lam > 0.0
            lam_r, a_r, kind = lam[keep], a[keep], "the eigen-directions of a"
        r = int(lam_r.size)
        dropped = "" if r == p else f"; {p - r} directions of zero variance dropped"
        return cls(lam_r, math.sqrt(r) * a_r, None,
                   description=f"empirical law of {r} features ({kind} {p} x {p} covariance, actual weights "
                               f"scaled by sqrt({r}){dropped})")

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
        if not callable(quantile):
            raise DCPredictError(f"quantile must be a function of u in (0, 1); got {type(quantile).__name__}")
        lam_nodes = _call_user(quantile, u, "quantile", "feature variances")
        check_array("lam (quadrature nodes)", lam_nodes, lo=0.0, lo_open=True)
        if callable(b_var):
            var = _call_user(b_var, lam_nodes, "b_var", "variances")
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
                  method: str | None = None, order: int | None = None, b_order: int | None = None,
                  tol: float = 1e-12) -> "Law":
        """Power-law spectrum by DENSITY exponent: Lambda has density proportional to lambda**(-exponent).

        Lambda lives on [lam_min, lam_max]; ``exponent = 0`` is the uniform law, ``exponent = 1`` is
        log-uniform.  B | Lambda ~ N(0, b_var(Lambda)).  (A spectrum written by index,
        lam_i ~ i**(-a), is :meth:`index_power_law`; its eigenvalue density has exponent 1 + 1/a.)

        Parameters
        ----------
        exponent : float
            Density exponent a: p(lambda) ~ lambda**(-a).
        lam_min, lam_max : float
            Support, 0 < lam_min < lam_max.
        b_var : float or callable
            Variance of B given Lambda: a number or a vectorized function of Lambda (values >= 0).
        method : {"gauss", "atoms"}, optional
            "gauss" (the default): a :class:`GaussianLaw` (B integrated in closed form, adaptive
            quadrature in log Lambda to ``tol``).  "atoms": the product quadrature of
            :meth:`from_quantile` with ``order`` Gauss-Legendre x ``b_order`` Gauss-Hermite atoms
            (default 32 x 64, the discretisation of dcpredict <= 0.1).  Giving ``order`` or ``b_order``
            selects "atoms".
        tol : float
            Target relative accuracy of the Lambda quadrature ("gauss" only).
        """
        a = check_real("exponent", exponent)
        lo = check_real("lam_min", lam_min, lo=0.0, lo_open=True)
        hi = check_real("lam_max", lam_max, lo=lo, lo_open=True)
        description = f"power law density lambda^-{a:g} on [{lo:g}, {hi:g}]"
        if _method(method, order, b_order) == "atoms":
            if abs(a - 1.0) < 1e-12:
                def quantile(u):
                    return lo * (hi / lo) ** u
            else:
                e = 1.0 - a

                def quantile(u):
                    return (lo ** e + u * (hi ** e - lo ** e)) ** (1.0 / e)
            return cls.from_quantile(quantile, b_var=b_var, order=32 if order is None else order,
                                     b_order=64 if b_order is None else b_order, description=description)

        return GaussianLaw.from_density(_PowerDensity(a), lo, hi, b_var=b_var, tol=tol, description=description,
                                        spec=("power_law", {"exponent": a, "lam_min": lo, "lam_max": hi}))

    @classmethod
    def uniform(cls, lam_low: float, lam_high: float, *, b_var: BVar = 1.0, method: str | None = None,
                order: int | None = None, b_order: int | None = None, tol: float = 1e-12) -> "Law":
        """Lambda ~ Uniform[lam_low, lam_high], B | Lambda ~ N(0, b_var(Lambda)).

        ``method``, ``order``, ``b_order`` and ``tol`` as in :meth:`power_law` (default: a
        :class:`GaussianLaw`).
        """
        lo = check_real("lam_low", lam_low, lo=0.0, lo_open=True)
        hi = check_real("lam_high", lam_high, lo=lo)
        description = f"uniform lambda on [{lo:g}, {hi:g}]"
        if _method(method, order, b_order) == "atoms":
            return cls.from_quantile(lambda u: lo + u * (hi - lo), b_var=b_var, order=32 if order is None else order,
                                     b_order=64 if b_order is None else b_order, description=description)
        if hi == lo:
            return GaussianLaw.from_spectrum([lo], b_var=b_var, description=description)

        return GaussianLaw.from_density(_PowerDensity(0.0), lo, hi, b_var=b_var, tol=tol, description=description,
                                        spec=("uniform", {"lam_low": lo, "lam_high": hi}))

    @classmethod
    def from_density(cls, density: Callable, lam_min: float, lam_max: float, *, b_var: BVar = 1.0,
                     tol: float = 1e-12) -> "GaussianLaw":
        """A continuous Lambda with an (unnormalized) density on [lam_min, lam_max]; B | Lambda ~ N(0, b_var(Lambda)).

        See :meth:`GaussianLaw.from_density`.
        """
        return GaussianLaw.from_density(density, lam_min, lam_max, b_var=b_var, tol=tol)

    @classmethod
    def from_spectrum(cls, eigenvalues: Any, *, b_var: Any = 1.0, trace: float | None = None,
                      signal: float | None = None) -> "GaussianLaw":
        """A finite spectrum with Gaussian weights: see :meth:`GaussianLaw.from_spectrum`."""
        return GaussianLaw.from_spectrum(eigenvalues, b_var=b_var, trace=trace, signal=signal)

    @classmethod
    def index_power_law(cls, P: int, a: float, *, b_var: Any = 1.0, trace: float | None = None,
                        signal: float | None = None) -> "GaussianLaw":
        """A discrete power law by INDEX exponent: see :meth:`GaussianLaw.index_power_law`."""
        return GaussianLaw.index_power_law(P, a, b_var=b_var, trace=trace, signal=signal)

    @classmethod
    def from_dict(cls, spec: dict) -> "Law":
        """Build a law from a JSON-style dict.

        Accepted forms: ``{"lam": [...], "b": [...], "weights": [...]}`` (weights optional);
        ``{"power_law": {"exponent", "lam_min", "lam_max", "b_var"?, "b_var_exponent"?, "order"?, "b_order"?,
        "method"?, "tol"?}}`` (``exponent`` is the DENSITY exponent);
        ``{"uniform": {"lam_low", "lam_high", "b_var"?, "b_var_exponent"?, "order"?, "b_order"?, "method"?,
        "tol"?}}``; ``{"index_power_law": {"P", "a", "b_var"?, "b_var_exponent"?, "trace"?, "signal"?}}``
        (``a`` is the INDEX exponent, lam_i ~ i**-a); ``{"spectrum": {"eigenvalues", "b_var"?,
        "b_var_exponent"?, "trace"?, "signal"?}}``; ``{"gaussian_b": {"lam", "b_var", "weights", "quad_error"?}}``
        (the nodes of a :class:`GaussianLaw`, as its ``to_dict`` writes them).
        With ``b_var_exponent = e``, B | Lambda has variance b_var * Lambda**e.  Continuous laws without
        ``order``/``b_order`` are :class:`GaussianLaw` (B exact); with them, atoms as before.
        """
        if not isinstance(spec, dict):
            raise DCPredictError(f"law must be a JSON object; got {type(spec).__name__}")
        kinds = [k for k in ("lam", "gaussian_b", "power_law", "uniform", "index_power_law", "spectrum") if k in spec]
        if len(kinds) > 1:
            raise DCPredictError(f"law must have exactly one form; got keys {', '.join(kinds)}")
        if "lam" in spec:
            extra = set(spec) - {"lam", "b", "weights"}
            if extra:
                raise DCPredictError(f"law has unknown keys {sorted(extra)}; allowed: lam, b, weights")
            if "b" not in spec:
                raise DCPredictError("law needs 'b' next to 'lam'")
            for k in ("lam", "b", "weights"):
                if k in spec and isinstance(spec[k], (dict, str, bytes)):
                    raise DCPredictError(f"law key {k!r} must be a list of numbers; got {type(spec[k]).__name__}")
            return cls(spec["lam"], spec["b"], spec.get("weights"))
        if "gaussian_b" in spec:
            d = _sub_spec(spec, "gaussian_b")
            extra = set(d) - {"lam", "b_var", "weights", "quad_error", "continuous"}
            missing = [k for k in ("lam", "b_var", "weights") if k not in d]
            if extra or missing:
                raise DCPredictError("law 'gaussian_b' needs lam, b_var, weights (and optionally quad_error); "
                                     f"got keys {sorted(d)}")
            continuous = d.get("continuous", False)
            if not isinstance(continuous, bool):
                raise DCPredictError(f"law 'gaussian_b' key 'continuous' must be true or false; got {continuous!r}"[:200])
            return GaussianLaw(d["lam"], d["b_var"], d["weights"], quad_error=d.get("quad_error", 0.0),
                               continuous=continuous)
        for kind, builder, required, options in (
                ("power_law", cls.power_law, ("exponent", "lam_min", "lam_max"), ("order", "b_order", "method", "tol")),
                ("uniform", cls.uniform, ("lam_low", "lam_high"), ("order", "b_order", "method", "tol")),
                ("index_power_law", cls.index_power_law, ("P", "a"), ("trace", "signal")),
                ("spectrum", cls.from_spectrum, ("eigenvalues",), ("trace", "signal"))):
            if kind in spec:
                params = _sub_spec(spec, kind)
                missing = [k for k in required if k not in params]
                if missing:
                    raise DCPredictError(f"law '{kind}' needs {', '.join(missing)}")
                allowed = set(required) | {"b_var", "b_var_exponent"} | set(options)
                extra = set(params) - allowed
                if extra:
                    raise DCPredictError(f"law '{kind}' has unknown keys {sorted(extra)}; allowed: {sorted(allowed)}")
                scale = check_real("b_var", params.pop("b_var", 1.0), lo=0.0)
                expo = check_real("b_var_exponent", params.pop("b_var_exponent", 0.0))
                b_var: BVar = scale if expo == 0.0 else _PowerVar(scale, expo)
                positional = [params.pop(k) for k in required]
                return builder(*positional, b_var=b_var, **params)
        raise DCPredictError("law must have 'lam' and 'b' (atoms), 'power_law', 'uniform', 'index_power_law', "
                             "'spectrum' or 'gaussian_b'")

    @classmethod
    def from_json(cls, path: str | Path) -> "Law":
        """Read a law from a JSON file (see :meth:`from_dict` for the forms).

        The file is read as UTF-8 text of at most 256 MiB (a pipe or device too, up to that size); anything
        else (binary data, an endless device, JSON nested too deeply) is refused with a DCPredictError."""
        return cls.from_dict(_read_json_file(path, "law file"))

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


# ---------------------------------------------------------------------------------------------- Gaussian-B laws
_METHODS = ("gauss", "atoms")
#: most Gauss-Legendre nodes per panel of the adaptive rule in log Lambda (each panel then uses the fewest, from 4, that pass)
_PANEL_NODES = 20
#: widest initial panel in log Lambda (one panel spans a factor e^4 ~ 55 of Lambda)
_PANEL_WIDTH = 4.0
_MAX_PANELS = 4000
#: Gauss-Hermite nodes in B of the atom view of a GaussianLaw (for code that needs atoms)
ATOM_VIEW_B_ORDER = 64


#: largest law file read (bytes): a regular file, and a device or pipe (read only up to this)
MAX_LAW_FILE = 1 << 30
MAX_LAW_STREAM = 64 << 20


def _read_json_file(path: Any, what: str) -> Any:
    """JSON read from a user's file: bounded size (also for devices and pipes), UTF-8, bounded nesting; every
    problem is one DCPredictError naming the file."""
    shown, data = read_user_bytes(path, what, MAX_LAW_FILE, MAX_LAW_STREAM, "a law file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DCPredictError(f"{what} {shown!r} is not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x}); "
                             "give a JSON file") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DCPredictError(f"{what} {shown!r} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise DCPredictError(f"{what} {shown!r} is JSON nested too deeply to be a law") from None
    except ValueError as exc:  # e.g. an integer literal with too many digits
        raise DCPredictError(f"{what} {shown!r} is not valid JSON: {str(exc)[:100]}") from None


def _sub_spec(spec: dict, kind: str) -> dict:
    d = spec[kind]
    if not isinstance(d, dict):
        raise DCPredictError(f"law {kind!r} must be a JSON object of parameters; got {type(d).__name__} "
                             f"{json.dumps(d, default=str)[:60]}")
    return dict(d)


def _method(method: Any, order: Any, b_order: Any) -> str:
    if method is None:
        return "atoms" if (order is not None or b_order is not None) else "gauss"
    if not isinstance(method, str) or method not in _METHODS:
        raise DCPredictError(f"method must be one of {', '.join(_METHODS)}; got {method!r}")
    if method == "gauss" and (order is not None or b_order is not None):
        raise DCPredictError("order and b_order set the atom discretisation: they need method='atoms'")
    return method


class _PowerVar:
    """b_var(Lambda) = scale * Lambda**exponent (picklable; works on floats, arrays and mpmath numbers)."""

    __slots__ = ("scale", "exponent")

    def __init__(self, scale: float, exponent: float) -> None:
        self.scale = float(scale)
        self.exponent = float(exponent)

    def __call__(self, lam):
        return self.scale * lam ** self.exponent

    def __repr__(self) -> str:
        return f"{self.scale:g} * lambda^{self.exponent:g}"


class _PowerDensity:
    """density(Lambda) = Lambda**(-exponent) (picklable; works on floats, arrays and mpmath numbers)."""

    __slots__ = ("exponent",)

    def __init__(self, exponent: float) -> None:
        self.exponent = float(exponent)

    def __call__(self, lam):
        return lam ** (-self.exponent) if self.exponent != 0.0 else lam * 0 + 1

    def __repr__(self) -> str:
        return f"lambda^-{self.exponent:g}"


#: smallest ratio min(lam) / max(lam) of a law the theory can scale (as dcpredict.theory.RANGE_MIN)
_SPAN_MIN = 1e-305


def _check_scalable(lam: np.ndarray, v: np.ndarray, w: np.ndarray) -> None:
    """A Gaussian-B law whose nodes span more than a double's range, or whose signal E[Lambda v] overflows,
    cannot be put in scaled units by the theory: refused at construction."""
    top = float(lam.max())
    if float(lam.min()) / top < _SPAN_MIN:
        raise DCPredictError(f"lam must span at most 305 decades (min/max >= {_SPAN_MIN:g}); got min "
                             f"{float(lam.min())!r} and max {top!r}")
    with np.errstate(over="ignore"):
        sig = float(np.dot(w, lam * v))
    if not math.isfinite(sig):
        raise DCPredictError("the signal E[Lambda B^2] = sum_k w_k lam_k b_var_k of this law exceeds the double "
                             "range (about 1.8e308); rescale lam or b_var")


def _restore_gaussian(nodes, b_var, weights, quad_error, description, continuous, source):
    return GaussianLaw(nodes, b_var, weights, quad_error=quad_error, description=description,
                       continuous=continuous, source=source)


def _call_user(fn: Callable, lam: np.ndarray, name: str, what: str = "values") -> np.ndarray:
    """``fn(lam)`` for a user's vectorized function, checked: its own exceptions, a wrong shape (a number is
    broadcast), a non-real dtype, a non-finite or negative value all become one DCPredictError naming ``name``."""
    where = f"at {lam.size} points in [{float(lam.min()):.6g}, {float(lam.max()):.6g}]"
    try:
        raw = fn(lam)
    except DCPredictError:
        raise
    except BaseException as exc:  # noqa: BLE001 - the user's function: its failure is reported, not leaked
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        text = str(exc).splitlines()[0][:120] if str(exc).strip() else ""
        raise DCPredictError(f"{name} raised {type(exc).__name__}{': ' + text if text else ''} when called on an "
                             f"array of lam {where}; it must be a vectorized function of lam returning {what}"
                             ) from None
    try:
        arr = np.asarray(raw)
    except BaseException:  # noqa: BLE001
        arr = np.asarray(None, dtype=object)
    if arr.dtype.kind not in "iuf":
        raise DCPredictError(f"{name} must return real numbers ({what}) for an array of lam; got "
                             f"{type(raw).__name__} of dtype {arr.dtype} {where}")
    if arr.ndim == 0:
        arr = np.full(lam.shape, float(arr))
    elif arr.shape != lam.shape:
        raise DCPredictError(f"{name} must return an array of the same shape as lam (or a number); got shape "
                             f"{arr.shape} for lam of shape {lam.shape}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr) | (arr < 0.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DCPredictError(f"{name} must return finite {what} >= 0 on the support; {name}({float(lam[i])!r}) = "
                             f"{float(arr[i])!r}")
    return arr


def _bvar_values(b_var: Any, lam: np.ndarray, name: str = "b_var") -> np.ndarray:
    """b_var evaluated at ``lam``: a number, a vectorized callable of Lambda, or an array of len(lam)."""
    if callable(b_var):
        return _call_user(b_var, lam, name, "variances")
    if np.ndim(b_var) == 0:
        return np.full_like(lam, check_real(name, b_var, lo=0.0))
    var = check_array(name, b_var, lo=0.0)
    if var.shape != lam.shape:
        raise DCPredictError(f"{name} must be a number, a function of lam or an array of length {lam.size}; "
                             f"got length {var.size}")
    return var


def _probes(lam: np.ndarray, v: np.ndarray, lo: float, hi: float, lv_scale: float,
            mids: np.ndarray, vmids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Test integrands for the adaptive rule: the shapes the risk integrands are made of.

    Returns (values (n_probes, n), kind (n_probes,): 0 = scale 1, 1 = scale E[Lambda], 2 = scale E[Lambda v]).
    Shapes: 1, Lambda, Lambda v; the shrinkage c = Lambda/(Lambda + tau), c^2, c(1 - c), Lambda v (1 - c)^2 for
    tau across and beyond the support; the pruning cuts erfc(A sqrt(Lambda/(Lambda v + K))) (magnitude),
    erfc(A / sqrt(Lambda v + K)) (Hessian) and erfc(A / sqrt(Lambda v)) (oracle), with the cut's middle at
    points ``mids`` about one unit of log Lambda apart (or the point three times further into the cut's
    tail, for small kept fractions), K (kappa gamma^2) from 1e-2 of the smallest to 1e2 of the largest
    Lambda v, tau = 0 and across the support, each alone and times Lambda v.
    Their singularities in complex log Lambda are those of the risk integrands.  Kinds 3 and 4 are the
    cuts (scale 1 and Lambda v): they are measured relative to their own integral (down to 1e-4 of the
    scale), since a refit on a small kept set divides by it.
    """
    from scipy.special import erfc
    rows, kinds = [lam * 0 + 1.0, lam, lam * v], [0, 1, 2]
    lv = lam * v
    for tau in np.geomspace(lo / 30.0, hi * 30.0, 10):
        c = lam / (lam + tau)
        rows += [c, c * c, c * (1.0 - c), lv * (1.0 - c) ** 2]
        kinds += [0, 0, 0, 2]
    lvm = mids * vmids
    lvm = lvm[lvm > 0.0]
    k_lo = (lvm.min() if lvm.size else lv_scale) * 1e-2
    k_hi = (lvm.max() if lvm.size else lv_scale) * 1e2
    Ks = np.geomspace(k_lo, k_hi, max(5, int(math.ceil((math.log10(k_hi) - math.log10(k_lo)) / 1.5)) + 1)
                      )[:, None, None]
    taus = np.array([0.0, *np.geomspace(lo, hi, 4)])[None, :, None]
    c = lam[None, None, :] / (lam[None, None, :] + taus)            # (1, nt, N)
    cm = mids[None, None, :] / (mids[None, None, :] + taus)         # (1, nt, nm)
    a_mag = cm * np.sqrt((mids * vmids + Ks) / mids)                # (nK, nt, nm)
    a_hes = cm * np.sqrt(mids * vmids + Ks)
    s_mag = np.sqrt(lam / (lv + Ks)) / c                            # (nK, nt, N)
    s_hes = 1.0 / (c * np.sqrt(lv + Ks))
    args = np.stack([a_mag[..., None] * s_mag[:, :, None, :], a_hes[..., None] * s_hes[:, :, None, :]])
    mult = np.array([1.0, 3.0]).reshape(2, 1, 1, 1, 1, 1)  # the cut's middle at a mid, or the mid in its tail
    q = erfc(mult * args[None]).reshape(-1, lam.size)
    pos = vmids > 0.0
    with np.errstate(divide="ignore"):
        qo = erfc(np.array([1.0, 3.0])[:, None, None] * np.sqrt(mids[pos] * vmids[pos])[None, :, None]
                  / np.sqrt(lv)[None, None, :]).reshape(-1, lam.size)
    head = np.array(rows)
    cuts = np.concatenate([q, qo])
    vals = np.concatenate([head, cuts, cuts * lv[None, :]])
    kind = np.concatenate([np.array(kinds), np.full(cuts.shape[0], 3), np.full(cuts.shape[0], 4)])
    return vals, kind



def _erfc_vec(x: np.ndarray) -> np.ndarray:
    from scipy.special import erfc
    return erfc(x)


def _panel_rule(edges: np.ndarray, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Composite n-point Gauss-Legendre nodes and weights on the panels between consecutive ``edges``."""
    n = _PANEL_NODES if n is None else n
    u, wu = np.polynomial.legendre.leggauss(n)
    a, b = edges[:-1, None], edges[1:, None]
    x = 0.5 * (a + b) + 0.5 * (b - a) * u[None, :]
    w = 0.5 * (b - a) * wu[None, :]
    return x.ravel(), w.ravel()


def _adaptive_rule(density: Callable, lo: float, hi: float, b_var: Any, tol: float):
    """Adaptive composite Gauss-Legendre rule in x = log Lambda on [lo, hi] for density * probes.

    A panel is accepted when the n-point rule (n = _PANEL_NODES) and the rule on its two halves agree on
    every probe integral within tol * (panel width / total width) * (probe scale); otherwise it is
    bisected.  Each accepted panel then keeps the fewest nodes (from 4) that still agree with its halves.
    Returns (lam nodes, weights summing to 1, variances, panel edges, error estimate): the error estimate is
    max over probes of sum over panels |chosen rule - halves| / scale, an estimate of the chosen rule's
    error (the halves are far more accurate).
    """
    x0, x1 = math.log(lo), math.log(hi)
    width = x1 - x0
    m = max(1, int(math.ceil(width / _PANEL_WIDTH)))

    def weighted(x, w):
        lam = np.exp(x)
        d = _call_user(density, lam, "density", "density values")
        return lam, w * d * lam

    # scales from a fine rule
    fine_edges = np.linspace(x0, x1, 4 * m + 1)
    xf, wf = _panel_rule(fine_edges)
    lamf, wtf = weighted(xf, wf)
    mass = float(wtf.sum())
    if not mass > 0.0:
        raise DCPredictError("density must have a positive integral on [lam_min, lam_max]")
    vf = _bvar_values(b_var, lamf)
    scales = np.array([1.0, float(wtf @ lamf) / mass, max(float(wtf @ (lamf * vf)) / mass, 1e-300)])
    lv_scale = scales[2] if scales[2] > 1e-300 else scales[1]
    mids = np.geomspace(lo, hi, max(5, int(math.ceil(width)) + 1))  # cut positions about 1 apart in log Lambda
    vmids = _bvar_values(b_var, mids)
    vals_f, kinds_f = _probes(lamf, vf, lo, hi, lv_scale, mids, vmids)
    own = np.abs(vals_f @ (wtf / mass))
    base = np.array([scales[0], scales[1], scales[2], scales[0], scales[2]])[kinds_f]
    pscale = np.where(kinds_f >= 3, np.maximum(own, 1e-4 * base), base)

    def probe_integrals(edges):
        x, w = _panel_rule(edges)
        lam, wt = weighted(x, w)
        v = _bvar_values(b_var, lam)
        vals, kinds = _probes(lam, v, lo, hi, lv_scale, mids, vmids)
        per_panel = (vals * (wt / mass)[None, :]).reshape(vals.shape[0], edges.size - 1, _PANEL_NODES).sum(axis=2)
        return per_panel, kinds

    pending = list(zip(np.linspace(x0, x1, m + 1)[:-1], np.linspace(x0, x1, m + 1)[1:]))
    accepted: list[tuple[float, float]] = []
    with _progress("adaptive quadrature in log lambda", "panel") as bar:
        return _adaptive_loop(pending, accepted, probe_integrals, pscale, tol, width, weighted, b_var, lo, hi,
                              lv_scale, mids, vmids, mass, bar)


#: widest support of a continuous law (decades of lam_max / lam_min): the adaptive rule's work grows as the cube
#: of the span (about 20 s for 24 decades on 2 shared cores), so 48 decades is already about 3 minutes
MAX_DECADES = 48
#: a progress bar (stderr) of work that turns out long appears after this many seconds
PROGRESS_DELAY = 3.0


class _NoBar:
    def update(self, k: int = 1) -> None:
        pass



@contextlib.contextmanager
def _progress(desc: str, unit: str):
    """A tqdm bar on stderr that shows itself only when the work lasts more than PROGRESS_DELAY seconds."""
    try:
        import sys
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        yield _NoBar()
        return
    bar = tqdm(desc=desc, unit=unit, delay=PROGRESS_DELAY, file=sys.stderr, dynamic_ncols=True, leave=False)
    try:
        yield bar
    finally:
        bar.close()


def _adaptive_loop(pending, accepted, probe_integrals, pscale, tol, width, weighted, b_var, lo, hi, lv_scale, mids,
                   vmids, mass, bar):
    errs: list[np.ndarray] = []
    kinds = None
    overflow = False
    while pending:
        if len(accepted) + len(pending) > _MAX_PANELS:
            accepted.extend(pending)
            overflow = True
            break
        a = np.array([p[0] for p in pending])
        b = np.array([p[1] for p in pending])
        mid = 0.5 * (a + b)
        coarse, kinds = probe_integrals(np.append(a, b[-1])) if _contiguous(a, b) else _separate(probe_integrals, a, b)
        halves_l, _ = _separate(probe_integrals, a, mid)
        halves_r, _ = _separate(probe_integrals, mid, b)
        diff = np.abs(coarse - (halves_l + halves_r)) / pscale[:, None]
        allowed = tol * (b - a) / width
        nxt = []
        for i in range(a.size):
            if np.all(diff[:, i] <= allowed[i]) or (b[i] - a[i]) < 1e-6 * width:
                accepted.append((a[i], b[i]))
                errs.append(diff[:, i])
            else:
                nxt += [(a[i], mid[i]), (mid[i], b[i])]
        pending = nxt
        bar.update(a.size)
    order = np.argsort([p[0] for p in accepted])
    edges = np.array([accepted[i][0] for i in order] + [accepted[order[-1]][1]])
    # p-reduction: on each accepted panel the fewest Gauss-Legendre nodes (4..10) whose probe integrals agree
    # with the panel's two-halves reference within the same allowance; the estimate sums those differences
    xs, ws = [], []
    total_err = None
    for a_i, b_i in zip(edges[:-1], edges[1:]):
        mid = 0.5 * (a_i + b_i)
        ref = sum(_panel_probe(weighted, b_var, lo, hi, lv_scale, mids, vmids, mass, np.array([p, q]), _PANEL_NODES)[0]
                  for p, q in ((a_i, mid), (mid, b_i)))
        allowed = tol * (b_i - a_i) / width
        for n in sorted({4, 6, 8, 10, 12, 14, 16, _PANEL_NODES}):
            val, kinds_n, x_n, w_n = _panel_probe(weighted, b_var, lo, hi, lv_scale, mids, vmids, mass,
                                                  np.array([a_i, b_i]), n)
            diff = np.abs(val - ref) / pscale
            if np.all(diff <= allowed) or n == _PANEL_NODES:
                break
        xs.append(x_n)
        ws.append(w_n)
        bar.update(1)
        total_err = diff if total_err is None else total_err + diff
    err = float(np.max(total_err))
    if overflow:
        err = math.inf
    x, w = np.concatenate(xs), np.concatenate(ws)
    lam, wt = weighted(x, w)
    v = _bvar_values(b_var, lam)
    return lam, wt / wt.sum(), v, edges, err


def _panel_probe(weighted, b_var, lo, hi, lv_scale, mids, vmids, mass, edges, n):
    """Probe integrals (n_probes,) on the single panel [edges[0], edges[1]] with n nodes, and the rule."""
    x, w = _panel_rule(edges, n)
    lam, wt = weighted(x, w)
    v = _bvar_values(b_var, lam)
    vals, kinds = _probes(lam, v, lo, hi, lv_scale, mids, vmids)
    return vals @ (wt / mass), kinds, x, w


def _contiguous(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a[1:] == b[:-1]))


def _separate(fn, a: np.ndarray, b: np.ndarray):
    """Panel integrals on panels [a_i, b_i] that need not touch (evaluated as one composite rule with gaps)."""
    edges = np.empty(2 * a.size)
    edges[0::2] = a
    edges[1::2] = b
    vals, kinds = fn(edges)
    return vals[:, 0::2], kinds


class GaussianLaw(Law):
    """A law with B | Lambda ~ N(0, v(Lambda)), integrated in B in closed form (theory page, :ref:`theory-gaussian-b`).

    Lambda is given by nodes ``nodes[k]`` with probabilities ``node_weights[k]`` (exact for a discrete
    spectrum, a quadrature rule for a continuous one) and B given Lambda = nodes[k] is N(0, b_var[k]).
    The theory (:func:`dcpredict.predict`, :func:`dcpredict.predict_grid`, :func:`dcpredict.solve_dc`)
    uses these nodes and integrates B exactly; ``quad_error`` is the estimated relative error of the
    Lambda quadrature (0 for a discrete spectrum).

    Code that needs atoms of (Lambda, B) (the simulators) sees ``lam``, ``b``, ``weights`` as the product of
    the nodes with ``ATOM_VIEW_B_ORDER`` Gauss-Hermite nodes in B (built on first use).

    Parameters
    ----------
    lam : array_like
        Nodes in Lambda, each finite and > 0.
    b_var : array_like
        Variance of B at each node, >= 0.
    weights : array_like, optional
        Probabilities of the nodes (sum 1 within 1e-9); default equal.
    quad_error : float
        Estimated relative error of the quadrature these nodes come from (0: exact).
    continuous : bool
        True if the nodes are a quadrature rule of a continuous Lambda (set by the constructors).
    """

    __slots__ = ("nodes", "node_weights", "b_var", "quad_error", "continuous", "_atoms", "_source")

    def __init__(self, lam: Any, b_var: Any, weights: Any = None, *, quad_error: float = 0.0,
                 description: str = "Gaussian-B law", continuous: bool = False, source: Any = None) -> None:
        lam_a = check_array("lam", lam, lo=0.0, lo_open=True)
        v_a = check_array("b_var", b_var, lo=0.0)
        if v_a.shape != lam_a.shape:
            raise DCPredictError(f"b_var must have the same length as lam ({lam_a.size}); got {v_a.size}")
        # (not renormalized within 1e-14 of 1: keeps a save/load round trip bit-exact)
        w_a = _weights(weights, lam_a.size, renormalize_above=1e-14)
        if not np.all(w_a > 0.0):  # nodes of zero weight change no expectation: dropped (never divided by)
            pos = w_a > 0.0
            lam_a, v_a, w_a = lam_a[pos], v_a[pos], w_a[pos]
            w_a = w_a / math.fsum(w_a)
        _check_scalable(lam_a, v_a, w_a)
        for arr in (lam_a, v_a, w_a):
            arr.setflags(write=False)
        self.nodes: np.ndarray = lam_a
        self.b_var: np.ndarray = v_a
        self.node_weights: np.ndarray = w_a
        self.quad_error: float = check_real("quad_error", quad_error, lo=0.0)
        self.continuous: bool = bool(continuous or source is not None)
        self.description = str(description)
        self._atoms = None
        self._source = source

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_density(cls, density: Callable, lam_min: float, lam_max: float, *, b_var: BVar = 1.0,
                     tol: float = 1e-12, description: str | None = None, spec: Any = None) -> "GaussianLaw":
        """Lambda with density proportional to ``density(lam)`` on [lam_min, lam_max] (normalized here).

        The Lambda integrals use an adaptive composite Gauss-Legendre rule in log Lambda (panels of at most
        20 nodes, bisected until probe integrals shaped like the risk integrands agree with the bisected
        rule to ``tol``, then each panel reduced to the fewest nodes that still agree); ``quad_error``
        carries the resulting estimate.

        Parameters
        ----------
        density : callable
            Vectorized, finite and >= 0 on the support (unnormalized is fine).  Should also accept mpmath
            numbers for ``precision="mp"`` (plain arithmetic does).
        lam_min, lam_max : float
            Support, 0 < lam_min < lam_max.
        b_var : float or callable
            Variance of B given Lambda: a number or a vectorized function of Lambda.
        tol : float
            Target relative accuracy (1e-14 .. 1e-4).
        """
        lo = check_real("lam_min", lam_min, lo=0.0, lo_open=True)
        hi = check_real("lam_max", lam_max, lo=lo, lo_open=True)
        tol = check_real("tol", tol, lo=1e-14, hi=1e-4)
        if not callable(density):
            raise DCPredictError(f"density must be a function of lam; got {type(density).__name__}")
        if not (callable(b_var) or np.ndim(b_var) == 0):
            raise DCPredictError(f"b_var must be a number or a function of lam; got {type(b_var).__name__}")
        decades = math.log10(hi) - math.log10(lo)
        if decades > MAX_DECADES:
            est = 20.0 * (decades / 24.0) ** 3
            raise DCPredictError(f"the support [lam_min, lam_max] = [{lo:.6g}, {hi:.6g}] spans {decades:.0f} decades; "
                                 f"the adaptive rule takes at most {MAX_DECADES} (its work grows as the cube of the "
                                 f"span: about {est:.0f} s here): narrow the support")
        # a probe before any work: shape, dtype, finiteness and sign of density and b_var, a positive integral
        probe = np.geomspace(lo, hi, 17)
        d = _call_user(density, probe, "density", "density values")
        _bvar_values(b_var, probe)
        if not np.any(d > 0.0):
            raise DCPredictError(f"density must be > 0 somewhere on [lam_min, lam_max]; it is 0 at all 17 probe "
                                 f"points from {lo:.6g} to {hi:.6g}")
        lam, w, v, edges, err = _adaptive_rule(density, lo, hi, b_var, tol)
        desc = description or f"density on [{lo:g}, {hi:g}]"
        return cls(lam, v, w, quad_error=err, description=desc, continuous=True,
                   source={"density": density, "lam_min": lo, "lam_max": hi, "b_var": b_var, "edges": edges,
                           "tol": tol, "spec": spec})

    @classmethod
    def from_spectrum(cls, eigenvalues: Any, *, b_var: Any = 1.0, trace: float | None = None,
                      signal: float | None = None, description: str | None = None) -> "GaussianLaw":
        """A finite spectrum (the empirical law of P eigenvalues) with Gaussian true weights.

        Parameters
        ----------
        eigenvalues : array_like
            The P eigenvalues lambda_i > 0 of the feature covariance (each node has weight 1/P).
        b_var : float, callable or array_like
            Variance of B_i given lambda_i: a number, a vectorized function of lambda, or one value per
            eigenvalue.
        trace : float, optional
            Rescale the eigenvalues so that tr(Sigma) = sum_i lambda_i equals ``trace`` (``trace = P``
            gives E[Lambda] = 1).
        signal : float, optional
            Rescale b_var so that the signal E[Lambda B^2] = beta^T Sigma beta equals ``signal``
            (the signal-to-noise ratio is then signal / sigma2).  Applied after ``trace``.
        """
        lam = check_array("eigenvalues", eigenvalues, lo=0.0, lo_open=True)
        if trace is not None:
            lam = lam * (check_real("trace", trace, lo=0.0, lo_open=True) / math.fsum(lam))
        v = _bvar_values(b_var, lam)
        if signal is not None:
            sig = check_real("signal", signal, lo=0.0, lo_open=True)
            cur = math.fsum(lam * v) / lam.size
            if not cur > 0.0:
                raise DCPredictError("signal normalisation needs b_var > 0 somewhere")
            v = v * (sig / cur)
        return cls(lam, v, None, description=description or f"spectrum of {lam.size} eigenvalues")

    @classmethod
    def index_power_law(cls, P: int, a: float, *, b_var: Any = 1.0, trace: float | None = None,
                        signal: float | None = None) -> "GaussianLaw":
        """The discrete power-law spectrum lambda_i = i**(-a), i = 1..P, by INDEX exponent ``a`` (> 0).

        This is the usual way spectra are written (lam_i ~ i^-a); for large P its eigenvalue density
        behaves like lambda**(-(1 + 1/a)), which is the DENSITY exponent of :meth:`Law.power_law`.
        ``b_var``, ``trace`` and ``signal`` as in :meth:`from_spectrum` (e.g. ``trace=P`` for
        E[Lambda] = 1, ``signal=1`` for beta^T Sigma beta = 1).
        """
        P = check_int("P", P, lo=1, hi=10_000_000)
        a = check_real("a", a, lo=0.0, lo_open=True)
        lam = np.arange(1, P + 1, dtype=np.float64) ** (-a)
        return cls.from_spectrum(lam, b_var=b_var, trace=trace, signal=signal,
                                 description=f"index power law lam_i = i^-{a:g}, i = 1..{P}")

    # ------------------------------------------------------------------ views and properties
    @property
    def n_nodes(self) -> int:
        """Number of nodes in Lambda."""
        return int(self.nodes.size)

    @property
    def is_discrete(self) -> bool:
        """True for a finite spectrum (exact nodes), False for a quadrature rule of a continuous Lambda."""
        return not self.continuous

    def atoms(self, b_order: int = ATOM_VIEW_B_ORDER) -> Law:
        """An atom discretisation: every node times ``b_order`` Gauss-Hermite nodes in B (an approximation)."""
        b_order = check_int("b_order", b_order, lo=1, hi=256)
        h, wh = np.polynomial.hermite_e.hermegauss(b_order)
        wh = wh / math.sqrt(2.0 * math.pi)
        lam = np.repeat(self.nodes, b_order)
        b = (np.sqrt(self.b_var)[:, None] * h[None, :]).ravel()
        w = (self.node_weights[:, None] * wh[None, :]).ravel()
        return Law(lam, b, w / math.fsum(w), description=f"{self.description} ({b_order} Hermite nodes in B)")

    def _atom_view(self) -> Law:
        if self._atoms is None:
            self._atoms = self.atoms()
        return self._atoms

    @property
    def lam(self) -> np.ndarray:  # type: ignore[override]
        """Lambda of the atom view (see the class docstring); the nodes are ``nodes``."""
        return self._atom_view().lam

    @property
    def b(self) -> np.ndarray:  # type: ignore[override]
        """B of the atom view (Gauss-Hermite nodes in B per Lambda node)."""
        return self._atom_view().b

    @property
    def weights(self) -> np.ndarray:  # type: ignore[override]
        """Weights of the atom view."""
        return self._atom_view().weights

    @property
    def signal_power(self) -> float:
        """E[Lambda B^2] = sum_k w_k lam_k v_k (exact in B)."""
        return float(np.dot(self.node_weights, self.nodes * self.b_var))

    def refined(self) -> "GaussianLaw":
        """The same continuous law on a rule with every panel bisected (for a-posteriori error checks)."""
        if self.is_discrete:
            return self
        if self._source is None:
            raise DCPredictError("refined() needs the law's source density; this continuous law was rebuilt "
                                 "from its nodes (to_dict / from_dict) and has none")
        src = self._source
        e = src["edges"]
        edges = np.empty(2 * e.size - 1)
        edges[0::2] = e
        edges[1::2] = 0.5 * (e[:-1] + e[1:])
        x, w = _panel_rule(edges)
        lam = np.exp(x)
        wt = w * np.asarray(src["density"](lam), dtype=np.float64) * lam
        v = _bvar_values(src["b_var"], lam)
        return GaussianLaw(lam, v, wt / wt.sum(), quad_error=0.0, description=self.description + " (refined)",
                           continuous=True, source={**src, "edges": edges})

    def __reduce__(self):
        # the source density (for refined() and precision="mp") is kept when it can be pickled
        import pickle
        src = self._source
        try:
            pickle.dumps(src)
        except Exception:  # e.g. a lambda given as b_var or density
            src = None
        return (_restore_gaussian, (np.array(self.nodes), np.array(self.b_var), np.array(self.node_weights),
                                    self.quad_error, self.description, self.continuous, src))

    def to_dict(self) -> dict:
        """The nodes: ``{"gaussian_b": {"lam", "b_var", "weights", "quad_error", "continuous"}}`` (read by
        :meth:`Law.from_dict`; the source density of a continuous law is not stored)."""
        return {"gaussian_b": {"lam": self.nodes.tolist(), "b_var": self.b_var.tolist(),
                               "weights": self.node_weights.tolist(), "quad_error": self.quad_error,
                               "continuous": self.continuous}}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GaussianLaw):
            return NotImplemented if not isinstance(other, Law) else False
        return (np.array_equal(self.nodes, other.nodes) and np.array_equal(self.b_var, other.b_var)
                and np.array_equal(self.node_weights, other.node_weights))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kind = "exact nodes" if self.is_discrete else f"quadrature error ~{self.quad_error:.1e}"
        return (f"<GaussianLaw: {self.description}, {self.n_nodes} nodes in Lambda ({kind}), "
                f"E[Lambda]={float(np.dot(self.node_weights, self.nodes)):.6g}, "
                f"E[Lambda B^2]={self.signal_power:.6g}>")
