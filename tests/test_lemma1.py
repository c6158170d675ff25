"""Lemma 1 (perfectly correlated features; THEORY.md section 5): closed forms vs simulation.

The closed forms are exact at finite n, so the simulation must match them within Monte Carlo error:
we assert 4 standard errors + 1e-3 absolute (a tiny margin against the 4-se boundary only)."""
import math

import numpy as np
import pytest

from dcpredict import lemma1, predict_correlated

MARGIN = 1e-3


def _check(sim, cf):
    expect = {"dense": cf.dense, "magnitude": cf.pruned, "hessian": cf.pruned,
              "magnitude_retrained": cf.retrained, "hessian_retrained": cf.retrained,
              "magnitude_retrained_same": cf.retrained, "hessian_retrained_same": cf.retrained}
    for k, v in expect.items():
        got, se = getattr(sim, k), sim.stderr[k]
        assert abs(got - v) <= 4 * se + MARGIN, (k, got, v, se)


@pytest.mark.parametrize("p,n,lam,S,sigma2,alpha", [
    (40, 20, 2.0, 1.5, 1.0, 0.5),     # p > n: min-norm on a rank-one design
    (30, 50, 0.5, -2.0, 0.5, 0.2),    # p < n: OLS on a rank-deficient design
    (25, 24, 1.0, 3.0, 2.0, 0.8),
])
def test_rank_one_simulation_matches_closed_forms(p, n, lam, S, sigma2, alpha):
    Sigma, beta = lemma1.rank_one_problem(p, lam, S)
    assert beta.sum() == pytest.approx(S)
    sim = lemma1.simulate(Sigma, beta, sigma2=sigma2, n=n, alpha=alpha, trials=2500, seed=p + n)
    cf = lemma1.closed_forms(lam=lam, S=S, sigma2=sigma2, n=n, alpha=sim.s / p)
    assert sim.s / p == pytest.approx(alpha)
    _check(sim, cf)
    # retraining on the same samples refits S_hat exactly: per trial it equals the dense risk
    v = sim.values
    assert np.allclose(v[:, 5], v[:, 0], rtol=1e-8) and np.allclose(v[:, 6], v[:, 0], rtol=1e-8)
    # the pruning bias is visible: pruned - retrained is far beyond the Monte Carlo error
    gap = sim.magnitude - sim.magnitude_retrained
    assert gap > 10 * math.hypot(sim.stderr["magnitude"], sim.stderr["magnitude_retrained"])


def test_rank_one_simulation_resolves_the_finite_n_factor():
    """E[1/||g||^2] = 1/(n - 2), not 1/n: the dense excess risk sigma2/(n - 2) is resolved."""
    p, n = 10, 8
    Sigma, beta = lemma1.rank_one_problem(p, 1.0, 1.0)
    sim = lemma1.simulate(Sigma, beta, sigma2=1.0, n=n, alpha=0.5, trials=4000, seed=3)
    se = sim.stderr["dense"]
    assert abs(sim.dense - (1 + 1 / (n - 2))) <= 4 * se
    assert abs(sim.dense - (1 + 1 / n)) > 4 * se


def test_closed_forms_values():
    cf = lemma1.closed_forms(lam=2.0, S=1.5, sigma2=1.0, n=20, alpha=0.5)
    assert cf.dense == pytest.approx(1 + 1 / 18, rel=1e-15)
    assert cf.pruned == pytest.approx(1 + 2.0 * 0.25 * 2.25 + 0.25 / 18, rel=1e-15)
    assert cf.retrained == cf.dense
    assert cf.pruning_bias == pytest.approx(1.125)
    full = lemma1.closed_forms(lam=2.0, S=1.5, sigma2=1.0, n=20, alpha=1.0)
    assert full.pruned == pytest.approx(full.dense, rel=1e-15)   # alpha = 1 keeps everything
    with pytest.raises(ValueError, match="n must be"):
        lemma1.closed_forms(lam=1.0, S=1.0, sigma2=1.0, n=2, alpha=0.5)
    with pytest.raises(ValueError, match="alpha"):
        lemma1.closed_forms(lam=1.0, S=1.0, sigma2=1.0, n=10, alpha=0.0)
    with pytest.raises(ValueError, match="beta"):
        lemma1.rank_one_problem(5, 1.0, [1.0, 2.0])


def test_population_hessian_and_vector_dc_on_rank_one():
    """Hessian with the population diagonal ties with magnitude; the vector-form DC of the rank-one
    problem is the asymptotic version (gamma^2 = sigma2 n / (n - 1) instead of (n - 1) / (n - 2))
    and its retraining removes the pruning bias exactly as Lemma 1 says."""
    p, n, lam, S = 20, 30, 1.0, 2.0
    Sigma, beta = lemma1.rank_one_problem(p, lam, S)
    sim = lemma1.simulate(Sigma, beta, sigma2=1.0, n=n, alpha=0.25, trials=500, seed=5,
                          hessian_diagonal="population")
    assert sim.hessian_diagonal == "population"
    cf = lemma1.closed_forms(lam=lam, S=S, sigma2=1.0, n=n, alpha=0.25)
    _check(sim, cf)
    dc = predict_correlated(Sigma, beta, sigma2=1.0, n=n, alpha=0.25, draws=400, seed=0)
    assert dc.dense == pytest.approx(n / (n - 1), rel=1e-12)
    assert dc.magnitude_retrained == pytest.approx(n / (n - 1), rel=1e-10)
    assert abs(dc.magnitude - (1 + lam * 0.75 ** 2 * S ** 2 + 0.25 ** 2 / (n - 1))) <= 4 * dc.stderr["magnitude"]


def test_general_simulator_diagonal_matches_ols_closed_form():
    """p < n, Sigma diagonal: E[risk] of OLS is sigma2 (1 + p / (n - p - 1)) exactly."""
    p, n = 8, 40
    rng = np.random.default_rng(1)
    Sigma = np.diag(rng.uniform(0.5, 2.0, p))
    beta = rng.standard_normal(p)
    sim = lemma1.simulate(Sigma, beta, sigma2=0.7, n=n, alpha=1.0, trials=2000, seed=2)
    assert abs(sim.dense - 0.7 * (1 + p / (n - p - 1))) <= 4 * sim.stderr["dense"] + MARGIN
    assert sim.magnitude == sim.dense  # alpha = 1


def test_simulate_validation():
    Sigma, beta = lemma1.rank_one_problem(5, 1.0, 1.0)
    with pytest.raises(ValueError, match="hessian_diagonal"):
        lemma1.simulate(Sigma, beta, sigma2=1.0, n=10, alpha=0.5, hessian_diagonal="bogus")
    with pytest.raises(ValueError, match="Sigma must be symmetric"):
        lemma1.simulate(np.triu(np.ones((5, 5))), beta, sigma2=1.0, n=10, alpha=0.5)
    with pytest.raises(ValueError, match="positive semi-definite"):
        lemma1.simulate(-np.eye(5), beta, sigma2=1.0, n=10, alpha=0.5)
    with pytest.raises(ValueError, match="trials"):
        lemma1.simulate(Sigma, beta, sigma2=1.0, n=10, alpha=0.5, trials=1)
