"""Least-squares fits (dcpredict._fit) against numpy.linalg.lstsq and closed forms."""
import numpy as np
import pytest

from dcpredict._fit import fit_least_squares, population_risk


def _design(n, p, seed=0):
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0.25, 4.0, size=p)
    X = rng.standard_normal((n, p)) * np.sqrt(lam)
    y = rng.standard_normal(n)
    return X, y


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("n,p", [(50, 200), (200, 50), (120, 130), (130, 120), (10, 1)])
def test_ridgeless_matches_lstsq(n, p):
    X, y = _design(n, p, seed=n + p)
    b = fit_least_squares(X, y)
    ref = np.linalg.lstsq(X, y, rcond=None)[0]  # min-norm least squares
    assert _rel(b, ref) < 1e-8


def test_min_norm_interpolates_and_is_in_row_space():
    X, y = _design(40, 100, seed=3)
    b = fit_least_squares(X, y)
    assert np.allclose(X @ b, y, atol=1e-9)
    # b = X^T a for some a: the component orthogonal to the row space vanishes
    Q, _ = np.linalg.qr(X.T)
    assert np.linalg.norm(b - Q @ (Q.T @ b)) < 1e-10 * np.linalg.norm(b)


@pytest.mark.parametrize("n,p", [(50, 200), (200, 50)])
@pytest.mark.parametrize("r", [1e-3, 0.5])
def test_ridge_matches_primal_formula_and_lstsq(n, p, r):
    X, y = _design(n, p, seed=7)
    b = fit_least_squares(X, y, ridge=r)
    primal = np.linalg.solve(X.T @ X / n + r * np.eye(p), X.T @ y / n)
    aug = np.linalg.lstsq(np.vstack([X, np.sqrt(n * r) * np.eye(p)]),
                          np.concatenate([y, np.zeros(p)]), rcond=None)[0]
    assert _rel(b, primal) < 1e-8
    assert _rel(b, aug) < 1e-8


def test_several_right_hand_sides():
    X, _ = _design(30, 80, seed=1)
    Y = np.random.default_rng(2).standard_normal((30, 3))
    B = fit_least_squares(X, Y)
    assert B.shape == (80, 3)
    assert _rel(B, np.linalg.lstsq(X, Y, rcond=None)[0]) < 1e-8


@pytest.mark.parametrize("n,p", [(30, 200), (200, 30)])
def test_rank_one_design_gives_min_norm(n, p):
    # THEORY.md section 5: all features equal -> rank one; the fit must spread S_hat evenly.
    rng = np.random.default_rng(5)
    g = rng.standard_normal(n)
    X = 1.7 * np.outer(g, np.ones(p))
    y = 0.3 * g + rng.standard_normal(n)
    b = fit_least_squares(X, y)
    ref = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.all(np.isfinite(b))
    assert _rel(b, ref) < 1e-8
    assert np.allclose(b, b.mean(), rtol=1e-10, atol=0)
    s_hat = (g @ y) / (1.7 * (g @ g))  # one-dimensional least squares on sqrt(lam) g
    assert abs(b.sum() - s_hat) < 1e-9 * abs(s_hat)


def test_rank_deficient_ridge_is_fine():
    rng = np.random.default_rng(6)
    g = rng.standard_normal(20)
    X = np.outer(g, np.ones(50))
    y = rng.standard_normal(20)
    b = fit_least_squares(X, y, ridge=0.1)
    ref = np.linalg.solve(X.T @ X / 20 + 0.1 * np.eye(50), X.T @ y / 20)
    assert _rel(b, ref) < 1e-8


def test_precomputed_gram():
    X, y = _design(40, 90, seed=9)
    G = X @ X.T
    assert _rel(fit_least_squares(X, y, G=G), np.linalg.lstsq(X, y, rcond=None)[0]) < 1e-8


def test_validation_messages():
    X, y = _design(10, 5)
    with pytest.raises(ValueError, match="ridge"):
        fit_least_squares(X, y, ridge=-1.0)
    with pytest.raises(ValueError, match="y must have shape"):
        fit_least_squares(X, y[:5])
    with pytest.raises(ValueError, match="X must be a 2-dimensional"):
        fit_least_squares(y, y)


def test_population_risk():
    lam = np.array([1.0, 2.0, 0.5])
    beta = np.array([0.1, -0.2, 0.3])
    b = np.array([0.0, 0.0, 0.3])
    assert population_risk(b, beta, lam, 0.5) == pytest.approx(0.5 + 0.01 + 2 * 0.04)
    # Monte Carlo check of E[(y - x.b)^2]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400000, 3)) * np.sqrt(lam)
    yy = x @ beta + np.sqrt(0.5) * rng.standard_normal(400000)
    assert np.mean((yy - x @ b) ** 2) == pytest.approx(population_risk(b, beta, lam, 0.5), rel=1e-2)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dual", [True, False])
def test_gram_upper_triangle(order, dual):
    from dcpredict._fit import gram
    X = np.asarray(_design(7, 11, seed=4)[0], order=order)
    G = gram(X, dual=dual)
    ref = X @ X.T if dual else X.T @ X
    np.testing.assert_allclose(np.triu(G), np.triu(ref), rtol=1e-12, atol=1e-12)
    assert G.flags.f_contiguous


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), p=st.integers(1, 40), ridge=st.sampled_from([0.0, 0.0, 1e-2, 1.0]),
       seed=st.integers(0, 2**32 - 1))
def test_property_matches_lstsq(n, p, ridge, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * np.sqrt(rng.uniform(0.25, 4.0, size=p))
    y = rng.standard_normal(n)
    b = fit_least_squares(X, y, ridge=ridge)
    if ridge > 0:
        ref = np.linalg.lstsq(np.vstack([X, np.sqrt(n * ridge) * np.eye(p)]), np.concatenate([y, np.zeros(p)]),
                              rcond=None)[0]
    else:
        ref = np.linalg.lstsq(X, y, rcond=None)[0]
    # square Gaussian designs can be ill-conditioned: allow cond-dependent accuracy there
    cond = np.linalg.cond(X)
    tol = max(1e-8, 1e-14 * cond ** 2)
    assert np.linalg.norm(b - ref) <= tol * max(np.linalg.norm(ref), 1e-300)
