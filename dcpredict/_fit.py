"""Least-squares fits at the cost of the LAPACK floor, and the exact population risk.

the theory page, sections 1-2 and 5.  The estimators (the paper's Definition 1 setting):

* min-norm least squares ``X^T (X X^T)^{-1} y`` when p > n (interpolation),
* ordinary least squares ``(X^T X)^{-1} X^T y`` when p <= n,
* ridge ``(X^T X / n + r I)^{-1} X^T y / n`` when r > 0 (any p, n).

Each is computed from one Gram matrix (``X X^T``, n x n, or ``X^T X``, p x p, whichever is
smaller: the dual form ``X^T (X X^T + n r I)^{-1} y`` equals the primal ridge form) and one
Cholesky factorization (``scipy.linalg.cho_factor`` / ``cho_solve``, ``check_finite=False``).
No SVD-based pseudo-inverse is used on this normal path.

Rank deficiency (the theory page, :ref:`theory-lemma1`: e.g. perfectly correlated features, rank-one design) is
detected when the Cholesky factorization fails or its pivots show a condition number of the Gram
matrix beyond ``RCOND_GRAM`` (``(min diag L / max diag L)^2``, a cheap lower bound on 1/cond).
Then the fit falls back to ``numpy.linalg.lstsq`` (SVD, default rcond), which returns the
minimum-norm least-squares solution (for ridge: of the augmented system ``[X; sqrt(n r) I]``).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla
from scipy.linalg.blas import dsyrk as _dsyrk

from ._validate import DCPredictError, check_real

__all__ = ["fit_least_squares", "population_risk", "gram", "RCOND_GRAM"]

#: Below this value of (min pivot / max pivot)^2 of the Cholesky factor the Gram matrix is
#: treated as numerically singular and the fit falls back to lstsq.  Normal-equation solutions
#: lose about cond(G) * eps relative accuracy, so 1e-10 keeps them accurate to ~1e-6 at worst.
RCOND_GRAM = 1e-10


def gram(X: np.ndarray, *, dual: bool) -> np.ndarray:
    """Upper triangle of ``X @ X.T`` (dual, n x n) or ``X.T @ X`` (primal, p x p) by one BLAS dsyrk call.

    The result is a Fortran-ordered array whose strict lower triangle is zero (only the upper
    triangle is computed: half the multiply-adds of a general product); it is meant for
    ``cho_factor(..., lower=False)``.  No copy of X is made when X is C- or F-contiguous float64.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.flags.f_contiguous and not X.flags.c_contiguous:
        return _dsyrk(1.0, X, trans=0 if dual else 1)
    return _dsyrk(1.0, X.T, trans=1 if dual else 0)


def _cholesky_ok(G: np.ndarray):
    """Cholesky factor of ``G`` (overwritten), or None if it fails or is badly conditioned."""
    try:
        c_and_lower = sla.cho_factor(G, lower=False, overwrite_a=True, check_finite=False)
    except (np.linalg.LinAlgError, ValueError):
        return None
    d = np.abs(np.diagonal(c_and_lower[0]))
    dmax = d.max() if d.size else 0.0
    if not np.all(np.isfinite(d)) or dmax <= 0.0 or (d.min() / dmax) ** 2 < RCOND_GRAM:
        return None
    return c_and_lower


def _lstsq_fallback(X: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    n, p = X.shape
    if ridge > 0.0:
        A = np.vstack([X, np.sqrt(n * ridge) * np.eye(p)])
        rhs = np.concatenate([y, np.zeros((p,) + y.shape[1:])])
        return np.linalg.lstsq(A, rhs, rcond=None)[0]
    return np.linalg.lstsq(X, y, rcond=None)[0]


def fit_least_squares(X, y, ridge: float = 0.0, *, G: np.ndarray | None = None) -> np.ndarray:
    """Least-squares coefficients of ``y`` on the columns of ``X`` (the theory page, :ref:`theory-dc`).

    Parameters
    ----------
    X : array (n, p)
        Design matrix, finite float64.
    y : array (n,) or (n, k)
        Responses (several right-hand sides allowed).
    ridge : float, >= 0
        r in ``(X^T X / n + r I)^{-1} X^T y / n``.  With ``r = 0``: min-norm interpolation
        ``X^T (X X^T)^{-1} y`` if p > n, ordinary least squares if p <= n.
    G : array, optional (keyword)
        A precomputed Gram matrix of the form this function would compute (``X @ X.T`` if
        p > n, else ``X.T @ X``; without the ridge term; only its upper triangle is read, see
        :func:`gram`).  It is overwritten.  For callers that
        already hold it (e.g. to read the empirical Hessian diagonal); no check is made.

    Returns
    -------
    ndarray (p,) or (p, k)

    Cost: one Gram product (BLAS dsyrk, ``min(n, p)^2 * max(n, p)`` multiply-adds) and one
    Cholesky factorization of a ``min(n, p)`` square matrix.  If the Cholesky factorization fails
    or the Gram matrix is numerically singular (condition estimate beyond 1 / ``RCOND_GRAM``),
    the minimum-norm solution is computed by ``numpy.linalg.lstsq`` instead (the theory page, :ref:`theory-lemma1`).
    """
    r = check_real("ridge", ridge, lo=0.0)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise DCPredictError(f"X must be a 2-dimensional array; got shape {X.shape}")
    n, p = X.shape
    if n < 1 or p < 1:
        raise DCPredictError(f"X must have at least one row and one column; got shape {X.shape}")
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise DCPredictError(f"y must have shape ({n},) or ({n}, k) to match X; got shape {y.shape}")
    dual = p > n
    if G is None:
        G = gram(X, dual=dual)
    if r > 0.0:
        G[np.diag_indices_from(G)] += n * r
    fac = _cholesky_ok(G)
    if fac is None:
        return _lstsq_fallback(X, y, r)
    if dual:
        out = X.T @ sla.cho_solve(fac, y, check_finite=False)
    else:
        out = sla.cho_solve(fac, X.T @ y, check_finite=False)
    if not np.all(np.isfinite(out)):  # pragma: no cover - defensive
        return _lstsq_fallback(X, y, r)
    return out


def population_risk(b_hat, beta, lam, sigma2: float) -> float:
    """Exact test risk for a diagonal covariance (the theory page, :ref:`theory-lgp`).

    ``R(b) = sigma2 + sum_i lam_i (b_i - beta_i)^2`` = E[(y - x^T b)^2] for x ~ N(0, diag(lam)),
    y = x^T beta + sigma z.  No test set is needed.
    """
    d = np.asarray(b_hat, dtype=np.float64) - np.asarray(beta, dtype=np.float64)
    return float(sigma2 + np.dot(np.asarray(lam, dtype=np.float64), d * d))
