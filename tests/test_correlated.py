"""Vector-form DC for a general covariance (dcpredict.correlated, THEORY.md section 6)."""
import math

import numpy as np
import pytest

import dcpredict
from dcpredict import Law, RISK_FIELDS, predict_correlated
from dcpredict.correlated import CorrelatedPrediction, solve_tau, support_risk

# Finite-size margin for sampled risks vs the p -> infinity threshold rule of predict: the vector form
# keeps exactly the top s per draw.  Measured gaps at p = 300-600 are below 0.7 % (see the report).
FINITE_SIZE_MARGIN = 0.01


def _instance(p, seed, exponent=0.5):
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0.25, 4.0, p)
    B = rng.standard_normal(p) * lam ** (-exponent / 2)
    return lam, B


def _random_rotation(p, seed):
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.standard_normal((p, p)))
    return Q * np.sign(np.diagonal(R))


@pytest.mark.parametrize("p,n,ridge,alpha", [pytest.param(400, 200, 0.0, 0.5, marks=pytest.mark.slow),
                                             (300, 600, 0.0, 0.4),
                                             pytest.param(400, 200, 0.1, 0.3, marks=pytest.mark.slow),
                                             (200, 100, 0.0, 0.2), (200, 100, 0.1, 0.3)])
def test_diagonal_sigma_reproduces_predict(p, n, ridge, alpha):
    """Sigma = diag(lam), beta = B / sqrt(p), n = p / kappa: the same equations as predict on the empirical law."""
    lam, B = _instance(p, seed=p + n)
    r = predict_correlated(np.diag(lam), B / np.sqrt(p), sigma2=0.3, n=n, alpha=alpha, ridge=ridge, draws=400,
                           seed=1, retrain_draws=100)
    th = dcpredict.predict(Law.empirical(lam, B), kappa=p / n, alpha=alpha, sigma2=0.3, ridge=ridge)
    assert r.dense == pytest.approx(th.dense, rel=1e-10)
    assert r.small_oracle == pytest.approx(th.small_oracle, rel=1e-10) or (math.isinf(r.small_oracle) and math.isinf(th.small_oracle))
    for k in ("magnitude", "hessian", "random", "magnitude_retrained", "hessian_retrained", "random_retrained"):
        a, b, se = getattr(r, k), getattr(th, k), r.stderr[k]
        if math.isinf(b):
            assert math.isinf(a), k
            continue
        assert se > 0.0, k
        assert abs(a - b) <= 4 * se + FINITE_SIZE_MARGIN * abs(b), (k, a, b, se)


@pytest.mark.parametrize("kappa", [0.5, 2.0, 4.0])
def test_isotropic_matches_hastie_et_al(kappa):
    """Sigma = I: the ridgeless risks of Hastie-Montanari-Rosset-Tibshirani (THEORY.md section 2)."""
    p = 200
    n = int(p / kappa)
    rng = np.random.default_rng(0)
    beta = rng.standard_normal(p) / np.sqrt(p)
    r2 = float(beta @ beta)
    res = predict_correlated(np.eye(p), beta, sigma2=0.5, n=n, alpha=1.0, draws=10, retrain_draws=2)
    k = p / n
    expect = 0.5 + 0.5 / (k - 1) + r2 * (1 - 1 / k) if k > 1 else 0.5 / (1 - k)
    assert res.dense == pytest.approx(expect, rel=1e-12)
    assert res.tau == pytest.approx(max(k - 1, 0.0), abs=1e-12)
    # alpha = 1 keeps everything: the retrained model on the full support is the dense model
    assert res.magnitude_retrained == pytest.approx(res.dense, rel=1e-12)
    assert res.small_oracle == pytest.approx(res.dense, rel=1e-12)


def test_rotation_invariance_of_dense_risk():
    p, n = 150, 60
    lam, B = _instance(p, seed=5)
    beta = B / np.sqrt(p)
    Q = _random_rotation(p, seed=6)
    d1 = predict_correlated(np.diag(lam), beta, sigma2=0.2, n=n, alpha=0.5, ridge=0.05, draws=4, retrain_draws=2)
    Sig = (Q * lam) @ Q.T
    Sig = 0.5 * (Sig + Sig.T)
    d2 = predict_correlated(Sig, Q @ beta, sigma2=0.2, n=n, alpha=0.5, ridge=0.05, draws=4, retrain_draws=2)
    assert d2.dense == pytest.approx(d1.dense, rel=1e-10)
    assert d2.tau == pytest.approx(d1.tau, rel=1e-10)


@pytest.mark.parametrize("ridge,n", [(0.0, 50), (0.0, 400), (0.3, 50), (1e-6, 50), (2.0, 400)])
def test_tau_solves_its_equation(ridge, n):
    lam = np.random.default_rng(2).uniform(0.1, 3.0, 200)
    tau = solve_tau(lam, n, ridge)
    if ridge == 0.0 and lam.size < n:
        assert tau == 0.0
        return
    lhs = tau * (1 - np.sum(lam / (lam + tau)) / n)
    assert lhs == pytest.approx(ridge, abs=1e-12 * max(1.0, tau))
    if ridge == 0.0:
        assert np.sum(lam / (lam + tau)) / n == pytest.approx(1.0, rel=1e-12)


def test_interpolation_threshold_is_infinite_not_nan():
    p = n = 100
    beta = np.full(p, 0.1)
    r = predict_correlated(np.eye(p), beta, sigma2=1.0, n=n, alpha=0.5, draws=20, retrain_draws=5)
    assert math.isinf(r.dense) and math.isinf(r.gamma2) and r.tau == 0.0  # as predict at kappa = 1
    for k in ("magnitude", "hessian", "random"):
        assert math.isinf(getattr(r, k))
    # the retrained problems (s = 50 < n) are finite: OLS with the dropped signal as noise
    assert math.isfinite(r.random_retrained) and math.isfinite(r.magnitude_retrained)
    assert r.random_retrained == pytest.approx((1.0 + 0.5) / (1 - 0.5), rel=1e-12)
    assert not any(math.isnan(getattr(r, k)) for k in RISK_FIELDS)


def test_rank_deficient_sigma_uses_its_rank():
    """Rank-one Sigma (Lemma 1): effective dimension 1 < n, so OLS in the range (tau = 0)."""
    p, n, lam, sigma2 = 30, 20, 2.0, 1.0
    beta = np.full(p, 1.5 / p)
    r = predict_correlated(np.full((p, p), lam), beta, sigma2=sigma2, n=n, alpha=0.5, draws=50)
    assert r.rank == 1 and r.tau == 0.0
    assert r.dense == pytest.approx(sigma2 / (1 - 1 / n), rel=1e-12)
    # retraining on any support: the best linear predictor on S explains everything (noise = sigma2)
    for k in ("magnitude_retrained", "hessian_retrained", "random_retrained", "small_oracle"):
        assert getattr(r, k) == pytest.approx(sigma2 / (1 - 1 / n), rel=1e-10)
    # pruning without retraining: sigma2 + lam (alpha S_hat - S)^2 averaged; bias lam (1 - alpha)^2 S^2
    expect = sigma2 + lam * 0.25 * 1.5 ** 2 + 0.25 * sigma2 / (n - 1)
    assert abs(r.magnitude - expect) <= 4 * r.stderr["magnitude"]
    # rank = n at r = 0 is the interpolation threshold
    Sig = np.zeros((p, p))
    Sig[:n, :n] = np.eye(n)
    r2 = predict_correlated(Sig, beta, sigma2=sigma2, n=n, alpha=0.5, draws=10, retrain_draws=2)
    assert r2.rank == n and math.isinf(r2.dense)


def test_support_risk_noise_is_schur_complement():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((12, 12))
    Sig = A @ A.T / 12 + 0.1 * np.eye(12)
    beta = rng.standard_normal(12)
    S = np.array([0, 3, 5, 7])
    # with n huge the risk is the noise of the best linear predictor on S (OLS, n >> s)
    Sss = Sig[np.ix_(S, S)]
    c = Sig[S] @ beta
    noise = 0.5 + beta @ Sig @ beta - c @ np.linalg.solve(Sss, c)
    n = 1000
    assert support_risk(Sig, beta, 0.5, n, 0.0, S) == pytest.approx(noise / (1 - len(S) / n), rel=1e-12)


def test_result_object_and_seed():
    p, n = 60, 30
    lam, B = _instance(p, seed=9)
    kw = dict(sigma2=0.4, n=n, alpha=0.5, draws=50, retrain_draws=10)
    r1 = predict_correlated(np.diag(lam), B / np.sqrt(p), seed=3, **kw)
    r2 = predict_correlated(np.diag(lam), B / np.sqrt(p), seed=3, **kw)
    r3 = predict_correlated(np.diag(lam), B / np.sqrt(p), seed=4, **kw)
    assert isinstance(r1, CorrelatedPrediction)
    assert r1.as_dict() == r2.as_dict()
    assert r1.magnitude != r3.magnitude
    for k in RISK_FIELDS:
        assert isinstance(getattr(r1, k), float)
        assert k in r1.stderr
    assert r1.stderr["dense"] == 0.0 and r1.stderr["small_oracle"] == 0.0
    assert (r1.p, r1.n, r1.s, r1.alpha, r1.sigma2, r1.draws, r1.retrain_draws, r1.seed) == (60, 30, 30, 0.5, 0.4,
                                                                                            50, 10, 3)
    text = r1.summary()
    assert "magnitude_retrained" in text and "tau=" in text


@pytest.mark.parametrize("kwargs,name", [
    (dict(Sigma=[[1.0, 0.5], [0.0, 1.0]]), "Sigma"),
    (dict(Sigma=[[1.0, 2.0], [2.0, 1.0]]), "Sigma"),
    (dict(Sigma=np.ones(3)), "Sigma"),
    (dict(beta=[1.0, 2.0, 3.0]), "beta"),
    (dict(alpha=0.0), "alpha"),
    (dict(alpha=1.5), "alpha"),
    (dict(n=0), "n"),
    (dict(sigma2=-1.0), "sigma2"),
    (dict(ridge=-0.1), "ridge"),
    (dict(draws=1), "draws"),
    (dict(seed=-1), "seed"),
    (dict(retrain_draws=500), "retrain_draws"),
])
def test_bad_arguments_name_the_argument(kwargs, name):
    args = dict(Sigma=np.eye(2), beta=[1.0, 0.0], sigma2=1.0, n=5, alpha=0.5, draws=10)
    args.update(kwargs)
    Sigma = args.pop("Sigma")
    beta = args.pop("beta")
    with pytest.raises(ValueError, match=name):
        predict_correlated(Sigma, beta, **args)


def test_correlated_sigma_matches_simulation():
    """A genuinely correlated Sigma (AR(1), rho = 0.6): the vector-form DC vs direct least squares.

    The DC is a non-asymptotic approximation; at p = 200 the measured gaps are ~1-2 %; we assert
    4 standard errors + 4 %."""
    from dcpredict import lemma1
    p, n = 200, 100
    idx = np.arange(p)
    Sig = 0.6 ** np.abs(idx[:, None] - idx[None, :]) * np.sqrt(np.outer(np.linspace(0.5, 2, p), np.linspace(0.5, 2, p)))
    rng = np.random.default_rng(11)
    beta = rng.standard_normal(p) / np.sqrt(p)
    th = predict_correlated(Sig, beta, sigma2=0.5, n=n, alpha=0.3, draws=400, retrain_draws=100, seed=0)
    sim = lemma1.simulate(Sig, beta, sigma2=0.5, n=n, alpha=0.3, trials=150, seed=0, hessian_diagonal="population")
    for k in ("dense", "magnitude", "hessian", "magnitude_retrained", "hessian_retrained"):
        a, b = getattr(sim, k), getattr(th, k)
        se = math.hypot(sim.stderr[k], th.stderr[k])
        assert abs(a - b) <= 4 * se + 0.04 * b, (k, a, b, se)


def test_eig_reuse_gives_the_same_prediction_and_is_checked():
    """predict_correlated(eig=eigh(Sigma)) skips its own eigendecomposition: identical numbers."""
    rng = np.random.default_rng(3)
    A = rng.standard_normal((60, 60))
    Sigma = A @ A.T / 60
    beta = rng.standard_normal(60) / np.sqrt(60)
    a = predict_correlated(Sigma, beta, sigma2=0.3, n=40, alpha=0.3, draws=50, retrain_draws=5, seed=2)
    b = predict_correlated(Sigma, beta, sigma2=0.3, n=40, alpha=0.3, draws=50, retrain_draws=5, seed=2,
                           eig=np.linalg.eigh(Sigma))
    assert a.to_dict() == b.to_dict()
    with pytest.raises(dcpredict.DCPredictError, match="eig must be"):
        predict_correlated(Sigma, beta, sigma2=0.3, n=40, alpha=0.3, eig=(np.ones(3), np.eye(60)))
