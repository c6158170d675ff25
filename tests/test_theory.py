"""Theory engine: closed forms, 50-digit certification, independent recomputations."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import integrate, optimize

import dcpredict as dp
from dcpredict import RISK_FIELDS

LAW4 = dp.Law(lam=[4, 1, 1, 0.25], b=[2, 1, 0, 0.5], weights=[0.1, 0.2, 0.4, 0.3])


def isotropic_law(r2=1.0):
    # Lambda = 1, B = +-sqrt(r2): E[B^2] = r2
    return dp.Law(lam=[1.0, 1.0], b=[math.sqrt(r2), -math.sqrt(r2)], weights=[0.5, 0.5])


# ----------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("kappa", [0.2, 0.9, 1.1, 3.0, 20.0, 400.0])
@pytest.mark.parametrize("sigma2,r2", [(0.5, 1.0), (1.0, 3.0), (0.0, 2.0)])
def test_isotropic_dense_risk_equals_hastie_et_al(kappa, sigma2, r2):
    """THEORY.md s.2: ridgeless risk of Hastie, Montanari, Rosset, Tibshirani (2019)."""
    pred = dp.predict(isotropic_law(r2), kappa=kappa, alpha=0.5, sigma2=sigma2)
    if kappa > 1:
        bias, var = r2 * (1 - 1 / kappa), sigma2 / (kappa - 1)
        assert pred.dc.tau == pytest.approx(kappa - 1, rel=1e-12)
    else:
        bias, var = 0.0, sigma2 * kappa / (1 - kappa)
        assert pred.dc.tau == 0.0
    expected = sigma2 + bias + var
    assert abs(pred.dense - expected) <= 1e-10 * expected


@pytest.mark.parametrize("kappa", [0.3, 1.0, 2.5, 50.0])
@pytest.mark.parametrize("ridge", [1e-3, 0.1, 2.0])
def test_isotropic_ridge_closed_form(kappa, ridge):
    """Lambda = 1: tau solves tau^2 + tau (1 - kappa - r) - r = 0; gamma^2 = (s2 + tau^2 r2/(1+tau)^2)/(1 - kappa/(1+tau)^2)."""
    s2, r2 = 0.3, 2.0
    q = 1 - kappa - ridge
    tau = (-q + math.sqrt(q * q + 4 * ridge)) / 2
    g2 = (s2 + tau ** 2 * r2 / (1 + tau) ** 2) / (1 - kappa / (1 + tau) ** 2)
    pred = dp.predict(isotropic_law(r2), kappa=kappa, alpha=1.0, sigma2=s2, ridge=ridge)
    assert pred.dc.tau == pytest.approx(tau, rel=1e-11)
    assert pred.dense == pytest.approx(g2, rel=1e-11)


def test_interpolation_threshold_is_infinite_not_nan():
    pred = dp.predict(LAW4, kappa=1.0, alpha=0.3, sigma2=0.2)
    for name in ("dense", "magnitude", "hessian", "random"):
        assert getattr(pred, name) == math.inf
    # a small model fitted at alpha * kappa = 0.3 < 1 is an ordinary OLS problem: finite
    for name in ("small_oracle", "magnitude_retrained", "hessian_retrained", "random_retrained"):
        assert math.isfinite(getattr(pred, name))
    # random refit: noise sigma2 + (1 - alpha) E[Lambda B^2], OLS at ratio 0.3
    s2_s = 0.2 + 0.7 * LAW4.signal_power
    assert pred.random_retrained == pytest.approx(s2_s / (1 - 0.3), rel=1e-12)
    # refit exactly at the threshold alpha * kappa = 1
    pred = dp.predict(LAW4, kappa=2.0, alpha=0.5, sigma2=0.2)
    assert pred.small_oracle == math.inf and pred.random_retrained == math.inf
    # ridge never diverges
    pred = dp.predict(LAW4, kappa=1.0, alpha=0.3, sigma2=0.2, ridge=0.01)
    assert all(math.isfinite(v) for v in pred.risks().values())


def test_interpolation_limit_is_continuous_for_refits():
    """At kappa = 1 the kept sets are defined by the limit gamma -> inf; kappa -> 1 must approach it."""
    at = dp.predict(LAW4, kappa=1.0, alpha=0.3, sigma2=0.2)
    near = dp.predict(LAW4, kappa=1.0 + 1e-9, alpha=0.3, sigma2=0.2)
    for name in ("magnitude_retrained", "hessian_retrained"):
        assert getattr(near, name) == pytest.approx(getattr(at, name), rel=1e-5)


@pytest.mark.parametrize("law", [LAW4, isotropic_law(2.0), dp.Law.power_law(1.5, 0.1, 10.0, order=12, b_order=6)])
@pytest.mark.parametrize("kappa,ridge", [(0.5, 0.0), (1.02, 0.0), (3.0, 0.0), (3.0, 0.5), (0.7, 0.1)])
def test_alpha_one_gives_dense_for_every_rule(law, kappa, ridge):
    pred = dp.predict(law, kappa=kappa, alpha=1.0, sigma2=0.3, ridge=ridge)
    for name in RISK_FIELDS:
        assert getattr(pred, name) == pytest.approx(pred.dense, rel=1e-12), name
    # and continuously: alpha slightly below one
    near = dp.predict(law, kappa=kappa, alpha=1 - 1e-7, sigma2=0.3, ridge=ridge)
    for name in ("magnitude", "hessian", "random"):
        assert getattr(near, name) == pytest.approx(pred.dense, rel=1e-4), name


@pytest.mark.parametrize("kappa,alpha,ridge", [(2.0, 0.1, 0.0), (0.6, 0.4, 0.0), (4.0, 0.3, 0.2)])
def test_random_pruning_closed_form(kappa, alpha, ridge):
    """random = sigma2 + (1 - alpha) E[Lambda B^2] + alpha (gamma^2 - sigma2): the kept coordinates are a
    uniform sample, and E[Lambda (B - X)^2] = gamma^2 - sigma2 is the dense excess risk."""
    s2 = 0.2
    pred = dp.predict(LAW4, kappa=kappa, alpha=alpha, sigma2=s2, ridge=ridge)
    expected = s2 + (1 - alpha) * LAW4.signal_power + alpha * (pred.dense - s2)
    assert pred.random == pytest.approx(expected, rel=1e-13)


def test_random_retrained_closed_form_isotropic():
    """Random pruning keeps an isotropic law isotropic: refit = HMRT risk at ratio alpha kappa and noise
    sigma2 + (1 - alpha) r2, with signal alpha r2."""
    s2, r2, kappa, alpha = 0.4, 1.5, 5.0, 0.4
    pred = dp.predict(isotropic_law(r2), kappa=kappa, alpha=alpha, sigma2=s2)
    ks, s2s, r2s = alpha * kappa, s2 + (1 - alpha) * r2, alpha * r2
    expected = s2s + s2s / (ks - 1) + r2s * (1 - 1 / ks)
    assert pred.random_retrained == pytest.approx(expected, rel=1e-12)


def test_hessian_equals_magnitude_when_variances_are_equal():
    law = dp.Law(lam=[2.0] * 4, b=[1.5, -0.3, 0.0, 0.8], weights=[0.25] * 4)
    pred = dp.predict(law, kappa=2.5, alpha=0.2, sigma2=0.3)
    assert pred.hessian == pytest.approx(pred.magnitude, rel=1e-12)
    assert pred.hessian_retrained == pytest.approx(pred.magnitude_retrained, rel=1e-12)
    assert pred.threshold_hessian == pytest.approx(pred.threshold_magnitude * math.sqrt(2.0), rel=1e-11)


def test_oracle_on_two_level_law_closed_form():
    """Oracle keeps exactly the strong atom when alpha equals its weight: an isotropic OLS problem."""
    law = dp.Law(lam=[1.0, 1.0], b=[2.0, 0.5], weights=[0.25, 0.75])
    s2, kappa, alpha = 0.1, 2.0, 0.25
    pred = dp.predict(law, kappa=kappa, alpha=alpha, sigma2=s2)
    s2s = s2 + 0.75 * 0.25  # the dropped atom's signal becomes noise
    assert pred.small_oracle == pytest.approx(s2s / (1 - alpha * kappa), rel=1e-13)


def test_oracle_pruned_on_two_level_isotropic_law_closed_form():
    """Oracle pruning keeps the dense fit on the strong atom.  Isotropic: tau = kappa - 1, c = 1/kappa,
    gamma^2 from Hastie et al.; X ~ N(c b, c^2 kappa gamma^2), so the kept atom costs (b - c b)^2 + v^2
    and the dropped atom costs b^2."""
    law = dp.Law(lam=[1.0, 1.0], b=[2.0, 0.5], weights=[0.25, 0.75])
    s2, kappa, alpha = 0.1, 2.0, 0.25
    r2 = 0.25 * 4.0 + 0.75 * 0.25
    g2 = s2 + s2 / (kappa - 1) + r2 * (1 - 1 / kappa)
    c = 1 / kappa
    v2 = c * c * kappa * g2
    expected = s2 + 0.25 * ((2.0 - c * 2.0) ** 2 + v2) + 0.75 * 0.5 ** 2
    pred = dp.predict(law, kappa=kappa, alpha=alpha, sigma2=s2)
    assert pred.oracle_pruned == pytest.approx(expected, rel=1e-13)
    # half of the strong atom: the kept mass splits the atom
    half = dp.predict(law, kappa=kappa, alpha=0.125, sigma2=s2)
    expected_half = s2 + 0.125 * ((2.0 - c * 2.0) ** 2 + v2) + 0.125 * 4.0 + 0.75 * 0.5 ** 2
    assert half.oracle_pruned == pytest.approx(expected_half, rel=1e-13)


# ----------------------------------------------------------------------------- independent recomputations
def test_pruning_formulas_against_monte_carlo_of_the_dc():
    """Sample the DC (eq. 10) directly, prune the top alpha fraction, compare with eqs. 12-16."""
    rng = np.random.default_rng(5)
    law, kappa, alpha, s2 = LAW4, 2.0, 0.1, 0.2
    pred = dp.predict(law, kappa=kappa, alpha=alpha, sigma2=s2)
    m, v = pred.dc.coordinate_law()
    n = 2_000_000
    idx = rng.choice(law.n_atoms, size=n, p=law.weights)
    lam, b = law.lam[idx], law.b[idx]
    x = m[idx] + v[idx] * rng.standard_normal(n)
    for name, score in (("magnitude", np.abs(x)), ("hessian", np.sqrt(lam) * np.abs(x))):
        t = np.quantile(score, 1 - alpha)
        err = lam * (b - x * (score > t)) ** 2
        mean, se = err.mean(), err.std() / math.sqrt(n)
        assert abs(s2 + mean - getattr(pred, name)) < 4 * se + 1e-4, name
        thr = pred.threshold_magnitude if name == "magnitude" else pred.threshold_hessian
        assert t == pytest.approx(thr, rel=5e-3)
    # oracle pruning: LAW4's top-saliency atom (lam 4, b 2) has weight exactly alpha = 0.1
    keep = idx == 0
    err = lam * (b - x * keep) ** 2
    mean, se = err.mean(), err.std() / math.sqrt(n)
    assert abs(s2 + mean - pred.oracle_pruned) < 4 * se, "oracle_pruned"


def test_uniform_law_quadrature_matches_analytic_integrals():
    """Lambda ~ U[a, b], B ~ N(0, 1): the DC has closed-form integrals; quadrature must match to 1e-10."""
    a, bb, kappa, s2 = 0.5, 3.0, 2.5, 0.3
    law = dp.Law.uniform(a, bb, b_var=1.0, order=48, b_order=4)

    def e_c(tau):  # E[Lambda/(Lambda+tau)]
        return 1 - tau / (bb - a) * math.log((bb + tau) / (a + tau))

    tau = optimize.brentq(lambda t: kappa * e_c(t) - 1, 1e-9, 100, xtol=1e-15, rtol=1e-15)
    e_lam_d2 = integrate.quad(lambda l: l / (l + tau) ** 2, a, bb, epsabs=1e-14, epsrel=1e-14)[0] / (bb - a)
    e_c2 = integrate.quad(lambda l: (l / (l + tau)) ** 2, a, bb, epsabs=1e-14, epsrel=1e-14)[0] / (bb - a)
    g2 = (s2 + tau ** 2 * e_lam_d2) / (1 - kappa * e_c2)
    dc = dp.solve_dc(law, kappa=kappa, sigma2=s2)
    assert dc.tau == pytest.approx(tau, rel=1e-10)
    assert dc.gamma2 == pytest.approx(g2, rel=1e-10)


def test_quadrature_order_converges():
    """Gauss-Legendre in Lambda converges fast; Gauss-Hermite in B needs ~64 nodes for the thresholded
    integrand (the default).  Measured: 16 nodes err ~4e-4, 32 ~1.5e-6, 64 ~1e-10."""
    def risk(o, bo):
        return dp.predict(dp.Law.power_law(1.5, 0.1, 10.0, order=o, b_order=bo), kappa=3.0, alpha=0.2,
                          sigma2=0.1).magnitude
    ref = risk(64, 128)
    assert abs(risk(32, 64) - ref) < 1e-9 * ref  # the defaults
    errs = [abs(risk(32, bo) - ref) for bo in (16, 32, 64)]
    assert errs[0] > errs[1] > errs[2]


# ----------------------------------------------------------------------------- 50-digit certification
def _agree(a, b, tol=1e-10):
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol * max(abs(b), 1e-300)


MP_CASES = [
    (LAW4, 2.0, 0.1, 0.2, 0.0),
    (LAW4, 1.02, 0.3, 0.2, 0.0),
    (LAW4, 50.0, 0.05, 0.5, 0.0),
    (LAW4, 0.5, 0.6, 0.2, 0.0),
    (LAW4, 1.5, 0.25, 0.1, 0.3),
    (LAW4, 1.0, 0.4, 0.2, 0.0),
    (dp.Law.power_law(1.0, 0.05, 20.0, b_var=lambda l: l ** -0.5, order=10, b_order=6), 3.0, 0.15, 0.1, 0.0),
]


@pytest.mark.parametrize("law,kappa,alpha,s2,ridge", MP_CASES)
def test_double_agrees_with_50_digit_solution(law, kappa, alpha, s2, ridge):
    d = dp.predict(law, kappa=kappa, alpha=alpha, sigma2=s2, ridge=ridge)
    m = dp.predict(law, kappa=kappa, alpha=alpha, sigma2=s2, ridge=ridge, precision="mp")
    for name in RISK_FIELDS:
        assert _agree(getattr(d, name), getattr(m, name)), (name, getattr(d, name), getattr(m, name))
    assert _agree(d.dc.tau, m.dc.tau) or d.dc.tau == m.dc.tau == 0
    for t in ("threshold_magnitude", "threshold_hessian"):
        assert _agree(getattr(d, t), getattr(m, t)), t


def test_double_agrees_with_50_digits_on_a_1000_atom_law():
    rng = np.random.default_rng(1)
    lam = rng.gamma(2.0, 0.5, 1000)
    law = dp.Law.empirical(lam, rng.standard_normal(1000) / np.sqrt(lam))
    d = dp.predict(law, kappa=1.7, alpha=0.2, sigma2=0.25)
    m = dp.predict(law, kappa=1.7, alpha=0.2, sigma2=0.25, precision="mp")
    for name in RISK_FIELDS:
        assert _agree(getattr(d, name), getattr(m, name)), name


def test_reported_brackets_and_residuals_are_certificates():
    pred = dp.predict(LAW4, kappa=1.3, alpha=0.2, sigma2=0.2, ridge=0.05)
    assert pred.dc.tau_bracket <= 1e-12 * pred.dc.tau
    assert abs(pred.dc.tau_residual) < 1e-12
    assert abs(pred.residual_magnitude) < 1e-12 and abs(pred.residual_hessian) < 1e-12


# ----------------------------------------------------------------------------- grids and properties
def test_grid_equals_pointwise_predictions():
    """The grid warm-starts each alpha's thresholds from the previous alpha (a single point cannot): both are
    certified roots, so they agree to a few ulps, far inside the 1e-12 certification tolerance."""
    kappas, alphas = np.array([0.3, 1.0, 1.7, 6.0]), np.array([0.05, 0.5, 1.0])
    g = dp.predict_grid(LAW4, kappas, alphas, sigma2=0.2)
    assert g.magnitude.shape == (4, 3)
    for i, k in enumerate(kappas):
        for j, a in enumerate(alphas):
            p = dp.predict(LAW4, kappa=k, alpha=a, sigma2=0.2)
            for name in RISK_FIELDS:
                assert getattr(g, name)[i, j] == pytest.approx(getattr(p, name), rel=1e-13, abs=0) or (
                    math.isinf(getattr(p, name)) and math.isinf(getattr(g, name)[i, j]))


laws = st.integers(1, 6).flatmap(lambda k: st.tuples(
    st.lists(st.floats(0.05, 20.0), min_size=k, max_size=k),
    st.lists(st.floats(-3.0, 3.0), min_size=k, max_size=k),
    st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k)))


@settings(max_examples=60, deadline=None)
@given(laws, st.floats(0.05, 30.0), st.floats(0.01, 1.0), st.floats(0.01, 2.0), st.sampled_from([0.0, 0.0, 0.1]))
def test_properties_on_random_laws(atoms, kappa, alpha, s2, ridge):
    lam, b, w = atoms
    w = np.array(w) / np.sum(w)
    law = dp.Law(lam, b, w)
    if ridge == 0.0 and abs(kappa - 1) < 1e-3:
        kappa += 0.01
    p = dp.predict(law, kappa=kappa, alpha=alpha, sigma2=s2, ridge=ridge)
    for name in RISK_FIELDS:
        v = getattr(p, name)
        assert not math.isnan(v)
        assert v >= s2 * (1 - 1e-12), name  # risk = sigma2 + PSD quadratic form
    assert abs(p.residual_magnitude) < 1e-9 and abs(p.residual_hessian) < 1e-9
    # tau increases with kappa and with the ridge (dk/dkappa = -E[c] < 0, dk/dr = -1/tau < 0)
    p2 = dp.solve_dc(law, kappa=kappa * 1.1, sigma2=s2, ridge=ridge)
    assert p2.tau >= p.dc.tau
    p3 = dp.solve_dc(law, kappa=kappa, sigma2=s2, ridge=ridge + 0.05)
    assert p3.tau > p.dc.tau
    # dense risk is affine increasing in sigma2
    p4 = dp.solve_dc(law, kappa=kappa, sigma2=s2 + 0.5, ridge=ridge)
    assert p4.gamma2 > p.dense


def test_ols_dense_risk_increases_with_kappa():
    ks = np.linspace(0.05, 0.95, 30)
    g = dp.predict_grid(LAW4, ks, [0.5], sigma2=0.3)
    assert np.all(np.diff(g.dense[:, 0]) > 0)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,needle", [
    (dict(kappa=0.0), "kappa"), (dict(kappa=float("nan")), "kappa"), (dict(kappa=-1), "kappa"),
    (dict(alpha=0.0), "alpha"), (dict(alpha=1.5), "alpha"), (dict(alpha=float("nan")), "alpha"),
    (dict(sigma2=-0.1), "sigma2"), (dict(ridge=-1e-3), "ridge"), (dict(precision="quad"), "precision"),
    (dict(kappa="two"), "kappa"),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, needle):
    args = dict(kappa=2.0, alpha=0.1, sigma2=0.2, ridge=0.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=needle):
        dp.predict(LAW4, **args)


def test_bad_grid_arguments():
    with pytest.raises(ValueError, match="alphas"):
        dp.predict_grid(LAW4, [1.5], [0.0, 0.5], sigma2=0.1)
    with pytest.raises(ValueError, match="kappas"):
        dp.predict_grid(LAW4, [1.5, np.nan], [0.5], sigma2=0.1)
    with pytest.raises(ValueError, match="law"):
        dp.predict({"lam": [1]}, kappa=1.5, alpha=0.5, sigma2=0.1)
