"""Finite-size mode (dcpredict.finite): exact pieces against closed forms and small simulations, the
approximate order statistics against a brute-force draw of their own model, hooks and bad input."""
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import integrate, stats

import dcpredict
from dcpredict import DCPredictError
from dcpredict.finite import _core as C
from dcpredict.finite import dense_minnorm_isotropic, dense_ols, threshold_risk_ols

LAW3 = dcpredict.Law([4.0, 1.0, 0.25], [1.0, 0.5, 2.0], [0.2, 0.3, 0.5])


def _ols_sim(lam, beta, sigma2, n, trials, seed, threshold=None, rule="magnitude"):
    """Independent OLS simulation: dense risk, or the risk pruned at a fixed threshold (and the kept count)."""
    rng = np.random.default_rng(seed)
    p = lam.size
    out = np.empty((trials, 2))
    for t in range(trials):
        X = rng.standard_normal((n, p)) * np.sqrt(lam)
        y = X @ beta + math.sqrt(sigma2) * rng.standard_normal(n)
        bh = np.linalg.lstsq(X, y, rcond=None)[0]
        if threshold is not None:
            score = np.abs(bh) * (np.sqrt(lam) if rule == "hessian" else 1.0)
            bh = np.where(score > threshold, bh, 0.0)
        d = bh - beta
        out[t] = sigma2 + lam @ (d * d), np.count_nonzero(bh)
    return out.mean(0), out.std(0, ddof=1) / math.sqrt(trials)


def test_dense_ols_closed_form_and_simulation():
    # sigma_eff^2 (1 + p / (n - p - 1)): the inverse-Wishart mean E[(W^T W)^-1] = I / (n - p - 1)
    assert dense_ols(20, 30, 2.0) == pytest.approx(2.0 * (1 + 20 / 9), rel=1e-15)
    assert dense_ols(29, 30, 1.0) == math.inf and dense_ols(29, 30, 0.0) == 0.0
    lam = np.repeat([4.0, 0.5], [8, 12])
    beta = np.repeat([0.3, -0.2], [8, 12])
    mean, se = _ols_sim(lam, beta, 0.5, 30, 800, seed=1)
    assert abs(mean[0] - dense_ols(20, 30, 0.5)) < 4 * se[0]


def _t_risk_by_quadrature(lam, beta, counts, sigma2, n, t, rule):
    """The fixed-threshold OLS risk by direct quadrature of the Student-t density (independent of the code)."""
    p = int(sum(counts))
    nu = n - p + 1
    risk, kept = sigma2, 0.0
    for l, b, c in zip(lam, beta, counts):
        sd = math.sqrt(sigma2 / (l * nu))
        teff = t / (math.sqrt(l) if rule == "hessian" else 1.0)
        f = lambda x: stats.t.pdf(x, nu)                               # noqa: E731
        lo, hi = (-teff - b) / sd, (teff - b) / sd                     # dropped iff lo <= T <= hi
        drop = integrate.quad(f, lo, hi, epsabs=1e-13)[0]
        sq = lambda x: (sd * x) ** 2 * f(x)                            # noqa: E731
        kept_sq = (integrate.quad(sq, -np.inf, lo, epsabs=1e-13)[0] + integrate.quad(sq, hi, np.inf, epsabs=1e-13)[0])
        risk += c * l * (b * b * drop + kept_sq)
        kept += c * (1 - drop)
    return risk, kept


@pytest.mark.parametrize("rule", ["magnitude", "hessian"])
def test_threshold_risk_ols_is_the_t_marginal(rule):
    lam, beta, counts = np.array([4.0, 1.0, 0.25]), np.array([0.2, 0.05, 0.3]), np.array([6, 9, 15])
    got = threshold_risk_ols(lam, beta, counts, 0.4, 45, 0.15, rule)
    want = _t_risk_by_quadrature(lam, beta, counts, 0.4, 45, 0.15, rule)
    assert got[0] == pytest.approx(want[0], rel=1e-9) and got[1] == pytest.approx(want[1], rel=1e-9)


def test_threshold_risk_ols_simulation():
    lam_a, beta_a, counts = np.array([4.0, 0.25]), np.array([0.3, 0.2]), np.array([10, 14])
    lam, beta = np.repeat(lam_a, counts), np.repeat(beta_a, counts)
    risk, kept = threshold_risk_ols(lam_a, beta_a, counts, 0.3, 36, 0.2, "magnitude")
    mean, se = _ols_sim(lam, beta, 0.3, 36, 800, seed=2, threshold=0.2)
    assert abs(mean[0] - risk) < 4 * se[0] and abs(mean[1] - kept) < 4 * se[1]


def test_minnorm_isotropic_closed_form_and_simulation():
    n, p, s2 = 30, 45, 0.5
    beta = np.full(p, 0.15)
    want = s2 + beta @ beta * (1 - n / p) + s2 * n / (p - n - 1)
    assert dense_minnorm_isotropic(p, n, s2, float(beta @ beta)) == pytest.approx(want, rel=1e-15)
    cm = C.coord_model(np.array([1.0]), np.array([0.15]), np.array([45.0]), s2, n)   # the general code path
    assert cm.exact and cm.dense == pytest.approx(want, rel=1e-10)
    rng = np.random.default_rng(3)
    r = []
    for _ in range(800):
        X = rng.standard_normal((n, p))
        y = X @ beta + math.sqrt(s2) * rng.standard_normal(n)
        d = X.T @ np.linalg.solve(X @ X.T, y) - beta
        r.append(s2 + d @ d)
    assert abs(np.mean(r) - want) < 4 * np.std(r, ddof=1) / math.sqrt(len(r))


@pytest.mark.parametrize("rule", ["magnitude", "hessian"])
def test_order_statistics_match_a_brute_force_draw_of_their_model(rule):
    # the approximation's model: independent coordinates m_k + v_k Z, the s largest scores kept
    lam, m, v, counts = np.array([4.0, 1.0]), np.array([0.3, -0.1]), np.array([0.2, 0.35]), np.array([5, 7])
    beta = np.array([0.35, -0.05])
    cm = C.CoordModel(m, v, 0.0, True, "test")
    keep, err2, ke = C.order_stat_prune(cm, lam, beta, counts.astype(float), 4, rule)
    assert ke < 1e-5
    rng = np.random.default_rng(4)
    T = 100_000
    x = np.repeat(m, counts) + np.repeat(v, counts) * rng.standard_normal((T, counts.sum()))
    score = np.abs(x) * (np.sqrt(np.repeat(lam, counts)) if rule == "hessian" else 1.0)
    kept = score >= np.sort(score, axis=1)[:, [-4]]
    e = (np.repeat(beta, counts) - x * kept) ** 2 @ np.repeat(lam, counts)
    want = float(np.dot(counts, lam * err2))
    assert abs(e.mean() - want) < 4 * e.std() / math.sqrt(T)
    frac0 = kept[:, :5].mean()
    assert abs(frac0 - keep[0]) < 4 * math.sqrt(keep[0] * (1 - keep[0]) / (5 * T)) + 1e-3


def test_predict_hook_fields_and_consistency():
    fin = dcpredict.predict(LAW3, kappa=0.8, alpha=0.25, sigma2=0.25, n=60, finite_size=True)
    asym = dcpredict.predict(LAW3, kappa=0.8, alpha=0.25, sigma2=0.25)
    assert type(asym) is dcpredict.Prediction and not hasattr(asym, "finite_size")
    assert fin.finite_size and (fin.n, fin.p, fin.s) == (60, 48, 12)
    assert fin.to_dict()["finite_size"] is True and "FINITE-SIZE" in fin.summary()
    assert fin.asymptotic == pytest.approx(asym.risks(), rel=1e-12)
    assert fin.dense == pytest.approx(0.25 * (1 + 48 / 11), rel=1e-12)
    assert fin.methods["dense"] == "exact" and "approximate" in fin.methods["magnitude"]
    assert all(math.isfinite(x) for x in fin.risks().values())
    # alpha = 1: every pruning rule keeps everything and equals the exact dense risk
    one = dcpredict.predict(LAW3, kappa=0.8, alpha=1.0, sigma2=0.25, n=60, finite_size=True)
    for k in ("magnitude", "hessian", "random", "oracle_pruned"):
        assert getattr(one, k) == pytest.approx(one.dense, rel=1e-9)


def test_ridge_falls_back_and_says_so():
    fin = dcpredict.predict(LAW3, kappa=0.8, alpha=0.25, sigma2=0.25, ridge=0.1, n=100, finite_size=True)
    assert set(fin.methods.values()) == {C.ASYMPTOTIC}
    assert fin.risks() == fin.asymptotic


def test_interpolation_neighbourhood_is_a_true_inf_never_nan():
    for kappa in (0.99, 1.0, 1.01):
        fin = dcpredict.predict(LAW3, kappa=kappa, alpha=0.5, sigma2=0.25, n=100, finite_size=True)
        assert fin.dense == math.inf and not any(math.isnan(x) for x in fin.risks().values())
        assert math.isfinite(fin.magnitude_retrained) or kappa == 1.0


def test_world_hook():
    w = dcpredict.predict_world(LAW3, n=50, P=100, p=40, s=10, sigma2=0.25, finite_size=True)
    noise = 0.25 + sum(c * l * b * b for l, b, c in zip([4.0, 1.0, 0.25], [1.0, 0.5, 2.0], [0, 30, 30])) / 100
    assert w.finite_size and w.dense == pytest.approx(noise * (1 + 40 / 9), rel=1e-12)   # first 40 by saliency: 20 + 20
    assert w.to_dict()["finite_size"] is True and w.asymptotic["dense"] < w.dense


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=100), "only in finite-size mode"),
    (dict(finite_size=True), "needs the number of training samples"),
    (dict(finite_size="yes", n=100), "finite_size must be True or False"),
    (dict(finite_size=True, n=1), "n must be an integer >= 2"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(DCPredictError, match=match):
        dcpredict.predict(LAW3, kappa=0.9, alpha=0.3, sigma2=0.25, **kwargs)


def test_gaussian_law_refused():
    law = dcpredict.Law.power_law(1.0, 0.1, 10.0, b_var=1.0)
    assert isinstance(law, dcpredict.GaussianLaw)
    with pytest.raises(DCPredictError, match="GaussianLaw"):
        dcpredict.predict(law, kappa=0.9, alpha=0.3, sigma2=0.25, n=100, finite_size=True)


def test_cli_one_line_errors(capsys):
    from dcpredict.cli import main
    base = ["predict", "--lam", "4,1", "--b", "1,1", "--weights", "0.5,0.5", "--sigma2", "0.25", "--kappa", "0.9",
            "--alpha", "0.3"]
    assert main(base + ["--finite-size"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--n" in err
    assert main(base + ["--finite-size", "--n", "60", "--json"]) == 0
    assert '"finite_size": true' in capsys.readouterr().out


@pytest.mark.slow
def test_finite_beats_asymptotic_near_the_peak_simulation():
    # three-atom law at n = 100, p/n = 0.9 (OLS) and 1.2 (min-norm): finite-size closer to an independent simulation
    for kappa in (0.9, 1.2):
        fin = dcpredict.predict(LAW3, kappa=kappa, alpha=0.3, sigma2=0.25, n=100, finite_size=True)
        p, counts = dcpredict.finite.finite_instance(LAW3, n=100, kappa=kappa)
        lam = np.repeat(LAW3.lam, counts)
        beta = np.repeat(LAW3.b, counts) / math.sqrt(p)
        rng = np.random.default_rng(5)
        r = []
        for _ in range(1500):
            X = rng.standard_normal((100, p)) * np.sqrt(lam)
            y = X @ beta + 0.5 * rng.standard_normal(100)
            bh = np.linalg.lstsq(X, y, rcond=None)[0]
            idx = np.argsort(-np.abs(bh))[:fin.s]
            b = np.zeros(p)
            b[idx] = bh[idx]
            r.append([0.25 + lam @ (bh - beta) ** 2, 0.25 + lam @ (b - beta) ** 2])
        r = np.array(r)
        m, se = r.mean(0), r.std(0, ddof=1) / math.sqrt(len(r))
        for j, f in enumerate(("dense", "magnitude")):
            assert abs(getattr(fin, f) - m[j]) < 4 * se[j]
            assert abs(getattr(fin, f) - m[j]) < abs(fin.asymptotic[f] - m[j])


def test_world_curve_hook_equals_pointwise():
    c = dcpredict.predict_world_curve(LAW3, n=30, P=60, s=6, sigma2=0.25, ps=[10, 45], finite_size=True)
    assert c.finite_size and c.to_dict()["finite_size"] is True and "FINITE-SIZE" in c.summary()
    w = dcpredict.predict_world(LAW3, n=30, P=60, p=45, s=6, sigma2=0.25, finite_size=True)
    assert c.hessian[1] == pytest.approx(w.hessian, rel=1e-12) and c.asymptotic["hessian"][1] == pytest.approx(w.asymptotic["hessian"], rel=1e-10)


def test_advise_hook():
    a = dcpredict.advise(LAW3, sigma2=0.25, n=20, s=5, P=30, finite_size=True)
    assert a.finite_size and a.to_dict()["finite_size"] is True and "FINITE-SIZE" in a.summary()
    w = dcpredict.predict_world(LAW3, n=20, P=30, p=a.best_p, s=5, sigma2=0.25, finite_size=True)
    assert a.best_risk == pytest.approx(getattr(w, a.best_rule), rel=1e-12)
    for p in (a.best_p - 1, a.best_p + 1):   # the integer minimum of its rule
        if 5 <= p <= 30:
            q = dcpredict.predict_world(LAW3, n=20, P=30, p=p, s=5, sigma2=0.25, finite_size=True)
            assert getattr(q, a.best_rule) >= a.best_risk * (1 - 1e-12)
