"""Gaussian-B laws (B | Lambda ~ N(0, v(Lambda))): exact in B, quadrature in Lambda.

The reference below is written here from the formulas of the theory page (sections on the DC, pruning,
retraining and Gaussian B), independently of dcpredict's kernels: every expectation over Lambda is a scipy
adaptive quadrature (QUADPACK) in log Lambda, every root a scipy brentq, and the expectations over B are
the truncated-Gaussian moments done by hand (B and X = c (B + sqrt(K) H) jointly Gaussian given Lambda).
"""
import json
import math

import numpy as np
import pytest
from scipy import integrate, optimize

import dcpredict as dp
from dcpredict.law import GaussianLaw

SQ2 = math.sqrt(2.0)


def Q(x):
    return 0.5 * math.erfc(x / SQ2)


def phi(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


class Reference:
    """Risks of every rule for a continuous law by scipy quad + brentq (independent of dcpredict)."""

    def __init__(self, density, lo, hi, bvar, kappa, alpha, sigma2, ridge=0.0):
        self.density, self.bvar = density, bvar
        self.x0, self.x1 = math.log(lo), math.log(hi)
        self.kappa, self.alpha, self.s2, self.r = kappa, alpha, sigma2, ridge
        self.norm = 1.0
        self.norm = self.E(lambda l, v: 1.0)

    def E(self, f):
        pts = np.linspace(self.x0, self.x1, 12)[1:-1]
        val, _ = integrate.quad(lambda x: self.density(math.exp(x)) * math.exp(x)
                                * f(math.exp(x), self.bvar(math.exp(x))),
                                self.x0, self.x1, points=pts, epsabs=1e-15, epsrel=1e-13, limit=400)
        return val / self.norm

    def tau(self, kappa, weight=lambda l, v: 1.0):
        tot = self.E(weight)
        if self.r == 0 and kappa <= 1:
            return 0.0

        def k(t):
            return t * (1 - kappa * self.E(lambda l, v: weight(l, v) * l / (l + t)) / tot) - self.r

        hi = self.r + kappa * self.E(lambda l, v: weight(l, v) * l) / tot
        lo = self.r if self.r > 0 else 1e-12 * hi
        return optimize.brentq(k, lo, hi, xtol=1e-300, rtol=1e-14, maxiter=500)

    def gamma2(self, kappa, tau, noise, e2, weight=lambda l, v: 1.0):
        """dense risk of an LGP whose law is E weighted by ``weight`` (normalized), signal E[e2 ...]."""
        tot = self.E(weight)
        if tau == 0.0:
            return noise / (1 - kappa) if kappa < 1 else math.inf
        den = 1 - kappa * self.E(lambda l, v: weight(l, v) * (l / (l + tau)) ** 2) / tot
        return (noise + tau ** 2 * self.E(lambda l, v: e2(l, v) * l / (l + tau) ** 2)) / den

    def cut(self, score):
        """T with E[P(|N(0,1)| > T score(l))] = alpha."""
        f = lambda T: self.E(lambda l, v: math.erfc(T * score(l, v) / SQ2)) - self.alpha
        hi = 1.0
        while f(hi) > 0:
            hi *= 2
        return optimize.brentq(f, 0.0, hi, xtol=1e-300, rtol=1e-14, maxiter=500)

    def refit(self, pk, eb2):
        a, kS = self.alpha, self.alpha * self.kappa
        noise = self.s2 + self.E(lambda l, v: l * (v - eb2(l, v)))
        tS = self.tau(kS, weight=pk)
        return self.gamma2(kS, tS, noise, lambda l, v: eb2(l, v), weight=pk)

    def risks(self):
        kap, a, s2 = self.kappa, self.alpha, self.s2
        tau = self.tau(kap)
        g2 = self.gamma2(kap, tau, s2, lambda l, v: v)
        c = lambda l: l / (l + tau)
        K = lambda l: kap * g2 / l
        sx = lambda l, v: c(l) * math.sqrt(v + K(l))  # sd of X given Lambda
        reg = lambda l, v: c(l) * v / sx(l, v) ** 2  # E[B | X] = reg * X

        def rule(scale):
            T = self.cut(lambda l, v: scale(l) / sx(l, v))

            def parts(l, v):
                u = T * scale(l) / sx(l, v)
                pk = 2 * Q(u)
                ex2 = 2 * sx(l, v) ** 2 * (u * phi(u) + Q(u))  # E[X^2 1{|X| > t}]
                b = reg(l, v)
                ebx = b * ex2  # E[B X 1kept]
                eb2 = b * b * ex2 + (v - b * b * sx(l, v) ** 2) * pk  # E[B^2 1kept]
                return pk, eb2, v - 2 * ebx + ex2  # E[(B - X 1kept)^2]
            risk = s2 + self.E(lambda l, v: l * parts(l, v)[2])
            retr = self.refit(lambda l, v: parts(l, v)[0], lambda l, v: parts(l, v)[1])
            return T, risk, retr

        t_m, mag, mag_rt = rule(lambda l: 1.0)
        t_h, hes, hes_rt = rule(lambda l: 1.0 / math.sqrt(l))
        rnd = s2 + self.E(lambda l, v: l * ((1 - a) * v + a * ((1 - c(l)) ** 2 * v + c(l) ** 2 * K(l))))
        rnd_rt = self.refit(lambda l, v: a, lambda l, v: a * v)
        To = self.cut(lambda l, v: 1.0 / math.sqrt(l * v))  # keep lam B^2 > To^2

        def opk(l, v):
            return 2 * Q(To / math.sqrt(l * v))

        def oeb2(l, v):
            z = To / math.sqrt(l * v)
            return 2 * v * (z * phi(z) + Q(z))

        orc = s2 + self.E(lambda l, v: l * ((v - oeb2(l, v)) + (1 - c(l)) ** 2 * oeb2(l, v) + c(l) ** 2 * K(l) * opk(l, v)))
        small = self.refit(opk, oeb2)
        return {"dense": g2, "magnitude": mag, "hessian": hes, "random": rnd, "oracle_pruned": orc,
                "small_oracle": small, "magnitude_retrained": mag_rt, "hessian_retrained": hes_rt,
                "random_retrained": rnd_rt, "t_mag": t_m, "t_hess": t_h}


# (density exponent a, lam_min, lam_max, b_var as (scale, exponent), kappa, alpha, sigma2, ridge)
CASES = [
    pytest.param(1.5, 0.1, 10.0, (1.0, 0.0), 3.0, 0.2, 0.1, 0.0, id="power1.5-issue"),
    pytest.param(0.0, 0.5, 3.0, (1.0, -1.0), 0.6, 0.5, 0.3, 0.0, id="uniform-bvar1/lam-ols"),
    pytest.param(2.5, 0.01, 100.0, (2.0, 1.0), 4.0, 0.1, 0.2, 0.0, id="steep-4-decades-bvar-lam"),
    pytest.param(1.0, 0.05, 20.0, (1.0, -0.5), 1.5, 0.3, 0.1, 0.3, id="loguniform-ridge"),
    pytest.param(2.0, 1e-3, 10.0, (0.5, 2.0), 8.0, 0.6, 0.05, 0.0, id="steep-bvar-lam2-alpha0.6"),
]


def _law(a, lo, hi, bv):
    scale, e = bv
    return dp.Law.power_law(a, lo, hi, b_var=(lambda l: scale * l ** e))


@pytest.mark.parametrize("a,lo,hi,bv,kappa,alpha,s2,ridge", CASES)
def test_every_rule_matches_scipy_reference(a, lo, hi, bv, kappa, alpha, s2, ridge):
    scale, e = bv
    ref = Reference(lambda l: l ** (-a), lo, hi, lambda l: scale * l ** e, kappa, alpha, s2, ridge).risks()
    law = _law(a, lo, hi, bv)
    assert isinstance(law, GaussianLaw) and law.quad_error < 1e-11
    pred = dp.predict(law, kappa=kappa, alpha=alpha, sigma2=s2, ridge=ridge)
    for name in dp.RISK_FIELDS:
        assert getattr(pred, name) == pytest.approx(ref[name], rel=1e-9, abs=0), name
    assert pred.threshold_magnitude == pytest.approx(ref["t_mag"], rel=1e-9)
    assert pred.threshold_hessian == pytest.approx(ref["t_hess"], rel=1e-9)
    # the grid path (warm-started rows) gives the same numbers
    grid = dp.predict_grid(law, [0.5 * kappa, kappa], [0.05, alpha, 0.9], sigma2=s2, ridge=ridge)
    for name in dp.RISK_FIELDS:
        assert getattr(grid, name)[1, 1] == pytest.approx(ref[name], rel=1e-9, abs=0), name


def test_fine_atom_discretisation_converges_to_the_gaussian_law():
    """The old product quadrature (Gauss-Legendre x Gauss-Hermite atoms, run by the atom kernels) approaches
    the Gaussian-B result as it is refined.  Measured: the smooth rules go from ~1e-6 (16 x 32 atoms) to
    ~1e-14 (64 x 200); the oracle rules, whose cut in |B| the Hermite nodes turn into steps, stay between
    1e-5 and 1e-3 erratically (this is why B is integrated in closed form)."""
    kw = dict(kappa=3.0, alpha=0.2, sigma2=0.1)
    exact = dp.predict(dp.Law.power_law(1.5, 0.1, 10.0), **kw).risks()
    coarse = dp.predict(dp.Law.power_law(1.5, 0.1, 10.0, order=16, b_order=32), **kw).risks()
    fine = dp.predict(dp.Law.power_law(1.5, 0.1, 10.0, order=64, b_order=200), **kw).risks()
    for name in dp.RISK_FIELDS:
        err_f = abs(fine[name] / exact[name] - 1)
        err_c = abs(coarse[name] / exact[name] - 1)
        if name in ("oracle_pruned", "small_oracle"):
            assert err_f < 2e-3, (name, err_f)
        else:
            assert err_f < 1e-12, (name, err_f)
            assert err_f < err_c or err_c < 1e-12, (name, err_f, err_c)


def test_discrete_spectrum_matches_direct_sums_and_atoms_of_gaussian_pairs():
    """A finite spectrum: expectations are exact sums.  Check the dense DC against a direct numpy solve and
    the magnitude risk against the same spectrum with B on many Gauss-Hermite atoms."""
    lam = np.array([3.0, 1.0, 1.0, 0.5, 0.2, 0.05])
    v = np.array([1.0, 2.0, 0.5, 1.0, 3.0, 1.0])
    law = dp.Law.from_spectrum(lam, b_var=v)
    kappa, s2 = 2.5, 0.2
    tau = optimize.brentq(lambda t: kappa * np.mean(lam / (lam + t)) - 1, 1e-12, 100, xtol=1e-300, rtol=1e-15)
    g2 = (s2 + tau ** 2 * np.mean(lam * v / (lam + tau) ** 2)) / (1 - kappa * np.mean((lam / (lam + tau)) ** 2))
    dc = dp.solve_dc(law, kappa=kappa, sigma2=s2)
    assert dc.tau == pytest.approx(tau, rel=1e-12)
    assert dc.gamma2 == pytest.approx(g2, rel=1e-12)
    atoms = law.atoms(b_order=160)
    p_g = dp.predict(law, kappa=kappa, alpha=0.3, sigma2=s2)
    p_a = dp.predict(atoms, kappa=kappa, alpha=0.3, sigma2=s2)
    for name in ("dense", "magnitude", "hessian", "random", "magnitude_retrained", "hessian_retrained",
                 "random_retrained"):
        assert getattr(p_g, name) == pytest.approx(getattr(p_a, name), rel=1e-8), name


@pytest.mark.parametrize("kappa,alpha,ridge", [(2.5, 0.3, 0.0), (0.7, 0.8, 0.0), (1.8, 0.05, 0.2)])
def test_mpmath_agrees_discrete(kappa, alpha, ridge):
    law = dp.Law.from_spectrum([3.0, 1.0, 1.0, 0.5, 0.2, 0.05], b_var=[1.0, 2.0, 0.5, 1.0, 3.0, 1.0])
    d = dp.predict(law, kappa=kappa, alpha=alpha, sigma2=0.2, ridge=ridge)
    m = dp.predict(law, kappa=kappa, alpha=alpha, sigma2=0.2, ridge=ridge, precision="mp")
    for name in dp.RISK_FIELDS:
        assert getattr(d, name) == pytest.approx(getattr(m, name), rel=1e-11), name
    assert d.threshold_hessian == pytest.approx(m.threshold_hessian, rel=1e-10)


@pytest.mark.slow
def test_mpmath_quadrature_agrees_continuous():
    """mpmath tanh-sinh quadrature of the source density (30 digits) against the double-precision nodes."""
    law = dp.Law.power_law(2.5, 0.01, 100.0, b_var=lambda l: 2.0 * l)
    d = dp.predict(law, kappa=4.0, alpha=0.1, sigma2=0.2)
    m = dp.predict(law, kappa=4.0, alpha=0.1, sigma2=0.2, precision="mp")
    for name in dp.RISK_FIELDS:
        assert getattr(d, name) == pytest.approx(getattr(m, name), rel=1e-10), name


def test_alpha_one_and_interpolation_threshold():
    law = dp.Law.power_law(1.2, 0.2, 5.0, b_var=lambda l: 1 / l)
    p = dp.predict(law, kappa=2.0, alpha=1.0, sigma2=0.3)
    for name in ("magnitude", "hessian", "random", "oracle_pruned"):
        assert getattr(p, name) == pytest.approx(p.dense, rel=1e-12), name
    q = dp.predict(law, kappa=1.0, alpha=0.4, sigma2=0.3)
    assert math.isinf(q.dense) and math.isinf(q.magnitude) and math.isinf(q.oracle_pruned)
    assert math.isfinite(q.small_oracle) and math.isfinite(q.magnitude_retrained)
    # alpha kappa = 1: the refits interpolate
    r = dp.predict(law, kappa=2.0, alpha=0.5, sigma2=0.3)
    assert math.isinf(r.small_oracle) and math.isinf(r.random_retrained) and math.isfinite(r.dense)


def test_isotropic_gaussian_closed_forms():
    """Lambda = 1, B ~ N(0, r2): dense risk of Hastie et al.; random pruning and oracle pruning in closed form."""
    r2, s2, kappa, alpha = 1.7, 0.4, 3.0, 0.25
    law = dp.Law.from_spectrum([1.0], b_var=r2)
    p = dp.predict(law, kappa=kappa, alpha=alpha, sigma2=s2)
    g2 = s2 + s2 / (kappa - 1) + r2 * (1 - 1 / kappa)
    assert p.dense == pytest.approx(g2, rel=1e-13)
    c, K = 1 / kappa, kappa * g2
    assert p.random == pytest.approx(s2 + (1 - alpha) * r2 + alpha * ((1 - c) ** 2 * r2 + c * c * K), rel=1e-13)
    z = optimize.brentq(lambda z: math.erfc(z / SQ2) - alpha, 0, 20, xtol=1e-300, rtol=1e-15)
    eb2 = 2 * r2 * (z * phi(z) + Q(z))
    orc = s2 + (r2 - eb2) + (1 - c) ** 2 * eb2 + c * c * K * alpha
    assert p.oracle_pruned == pytest.approx(orc, rel=1e-12)
    # magnitude and Hessian coincide when Lambda is constant
    assert p.magnitude == pytest.approx(p.hessian, rel=1e-13)


# ------------------------------------------------------------------------------ constructors
def test_index_power_law_and_normalisations():
    P, a = 500, 1.3
    law = dp.Law.index_power_law(P, a, trace=P, signal=2.0)
    lam = np.arange(1, P + 1) ** -a
    lam = lam * P / lam.sum()
    assert np.allclose(np.sort(law.nodes)[::-1], lam, rtol=1e-14)
    assert float(np.mean(law.nodes)) == pytest.approx(1.0, rel=1e-13)
    assert law.signal_power == pytest.approx(2.0, rel=1e-13)
    assert law.is_discrete and law.quad_error == 0.0
    s = dp.Law.from_spectrum([4.0, 1.0], b_var=lambda l: 1 / l, trace=10.0)
    assert np.allclose(s.nodes, [8.0, 2.0]) and np.allclose(s.b_var, [1 / 8, 1 / 2])


def test_power_law_density_moments_and_kinds():
    a, lo, hi = 1.5, 0.1, 10.0
    law = dp.Law.power_law(a, lo, hi, b_var=lambda l: 2.0 * l)
    norm = (hi ** (1 - a) - lo ** (1 - a)) / (1 - a)
    mean = (hi ** (2 - a) - lo ** (2 - a)) / (2 - a) / norm
    assert float(np.dot(law.node_weights, law.nodes)) == pytest.approx(mean, rel=1e-13)
    assert law.signal_power == pytest.approx(2.0 * ((hi ** (3 - a) - lo ** (3 - a)) / (3 - a) / norm), rel=1e-13)
    assert not isinstance(dp.Law.power_law(a, lo, hi, method="atoms"), GaussianLaw)
    assert dp.Law.power_law(a, lo, hi, method="atoms").n_atoms == 32 * 64
    assert not isinstance(dp.Law.power_law(a, lo, hi, order=8, b_order=4), GaussianLaw)
    with pytest.raises(dp.DCPredictError, match="method"):
        dp.Law.power_law(a, lo, hi, method="gauss", order=8)
    with pytest.raises(dp.DCPredictError, match="method"):
        dp.Law.power_law(a, lo, hi, method="nodes")


def test_json_forms_and_roundtrip(tmp_path):
    law = dp.Law.from_dict({"power_law": {"exponent": 1.2, "lam_min": 0.1, "lam_max": 5, "b_var": 2.0,
                                          "b_var_exponent": -1}})
    assert isinstance(law, GaussianLaw)
    assert law.signal_power == pytest.approx(2.0, rel=1e-13)
    again = dp.Law.from_dict(json.loads(json.dumps(law.to_dict())))
    assert again == law and again.quad_error == law.quad_error
    uni = dp.Law.from_dict({"uniform": {"lam_low": 1, "lam_high": 3}})
    assert isinstance(uni, GaussianLaw)
    ipl = dp.Law.from_dict({"index_power_law": {"P": 100, "a": 1.0, "trace": 100}})
    assert float(np.mean(ipl.nodes)) == pytest.approx(1.0, rel=1e-13)
    spec = dp.Law.from_dict({"spectrum": {"eigenvalues": [2, 1], "b_var": 1.5}})
    assert spec.signal_power == pytest.approx(1.5 * 1.5, rel=1e-15)
    with pytest.raises(dp.DCPredictError, match="gaussian_b"):
        dp.Law.from_dict({"gaussian_b": {"lam": [1.0]}})


def test_invalid_inputs_raise():
    with pytest.raises(dp.DCPredictError, match="b_var"):
        dp.Law.from_spectrum([1.0, 2.0], b_var=[1.0])
    with pytest.raises(dp.DCPredictError, match="b_var"):
        dp.Law.power_law(1.0, 0.1, 1.0, b_var=-1.0)
    with pytest.raises(dp.DCPredictError, match="eigenvalues"):
        dp.Law.from_spectrum([1.0, 0.0])
    with pytest.raises(dp.DCPredictError, match="density"):
        dp.Law.from_density(lambda l: -l, 0.1, 1.0)
    with pytest.raises(dp.DCPredictError, match="a"):
        dp.Law.index_power_law(10, -1.0)


def test_atom_view_for_atom_code():
    """Code written for atoms (simulators) sees the law as nodes x Gauss-Hermite atoms in B."""
    law = dp.Law.power_law(1.0, 0.25, 4.0)
    assert law.n_atoms == law.n_nodes * 64
    assert law.expect(law.lam * law.b ** 2) == pytest.approx(law.signal_power, rel=1e-12)


def test_world_random_order_matches_model_problem():
    law = dp.Law.power_law(1.5, 0.1, 10.0, b_var=lambda l: 1 / l)
    n, P, p, s, s2 = 100, 400, 200, 40, 0.1
    w = dp.predict_world(law, n=n, P=P, p=p, s=s, sigma2=s2, order="random")
    f = p / P
    model = GaussianLaw(law.nodes, f * law.b_var, law.node_weights)
    pred = dp.predict(model, kappa=p / n, alpha=s / p, sigma2=s2 + (1 - f) * law.signal_power)
    for name in ("dense", "magnitude", "hessian", "oracle_pruned", "magnitude_retrained"):
        assert getattr(w, name) == pytest.approx(getattr(pred, name), rel=1e-13)
    curve = dp.predict_world_curve(law, n=n, P=P, s=s, sigma2=s2, order="random", ps=[100, p, 300])
    assert curve.magnitude[1] == pytest.approx(w.magnitude, rel=1e-12)
    # small_random = train on s random features: OLS at s/n < 1 with everything else as noise
    assert w.small_random == pytest.approx((s2 + (1 - s / P) * law.signal_power) / (1 - s / n), rel=1e-12)
    with pytest.raises(dp.DCPredictError, match="saliency"):
        dp.predict_world(law, n=n, P=P, p=p, s=s, sigma2=s2)


def test_results_with_a_gaussian_law_save_and_load(tmp_path):
    law = dp.Law.power_law(1.5, 0.1, 10.0)
    pred = dp.predict(law, kappa=3.0, alpha=0.2, sigma2=0.1)
    back = type(pred).load(pred.save(tmp_path / "pred.json"))
    assert isinstance(back.law, GaussianLaw) and back.law == law
    assert back.magnitude == pred.magnitude and back.law.quad_error == law.quad_error
    grid = dp.predict_grid(law, [2.0, 3.0], [0.1, 0.2], sigma2=0.1)
    assert grid.to_dict()["law"]["gaussian_b"]["quad_error"] == law.quad_error


@pytest.mark.parametrize("make", [
    lambda: dp.Law.power_law(1.0, 1e-4, 1e4),
    lambda: dp.Law.power_law(2.5, 0.01, 100.0, b_var=lambda l: 2.0 * l),
    lambda: dp.Law.power_law(2.0, 1e-3, 10.0, b_var=lambda l: 0.5 * l ** 2),
    lambda: dp.Law.power_law(0.5, 0.01, 1.0, b_var=lambda l: 1.0 / l),
], ids=["loguniform-8-decades", "steep-bvar-lam", "steep-bvar-lam2", "shallow-bvar-1/lam"])
def test_quadrature_accurate_over_a_whole_grid(make):
    """Every risk on a grid spanning OLS, ridge and min-norm fits, kept fractions 1e-3 .. 0.999, against the
    same law on a rule with every panel bisected (an a-posteriori check of the 1e-10 target).  Before the
    probes covered cuts at every position of the support, this 8-decade law was off by 5e-10 (Hessian)."""
    law = make()
    fine = law.refined()
    assert fine.n_nodes > law.n_nodes
    kappas = np.concatenate([np.geomspace(0.05, 0.95, 4), np.geomspace(1.05, 50.0, 6)])
    alphas = np.array([1e-3, 0.01, 0.05, 0.2, 0.5, 0.8, 0.999])
    for ridge in (0.0, 0.1):
        a = dp.predict_grid(law, kappas, alphas, sigma2=0.1, ridge=ridge)
        b = dp.predict_grid(fine, kappas, alphas, sigma2=0.1, ridge=ridge)
        for name in dp.RISK_FIELDS:
            x, y = getattr(a, name), getattr(b, name)
            both = np.isfinite(x) & np.isfinite(y)
            assert np.array_equal(np.isfinite(x), np.isfinite(y)), name
            assert np.max(np.abs(x[both] / y[both] - 1)) < 1e-10, (name, ridge)


def test_pickle_and_dict_round_trips_keep_the_kind():
    import pickle
    law = dp.Law.power_law(1.0, 0.25, 4.0, b_var=2.0)
    back = pickle.loads(pickle.dumps(law))
    assert back == law and not back.is_discrete and back.refined().n_nodes > law.n_nodes
    rebuilt = dp.Law.from_dict(law.to_dict())
    assert rebuilt == law and not rebuilt.is_discrete
    with pytest.raises(dp.DCPredictError, match="source density"):
        rebuilt.refined()
    spec = dp.Law.index_power_law(20, 1.0)
    assert pickle.loads(pickle.dumps(spec)).is_discrete and dp.Law.from_dict(spec.to_dict()).is_discrete


@pytest.mark.parametrize("lam,v,kappa,alpha,s2,ridge", [
    ([3.0, 1.0, 0.1], [1.0, 0.5, 2.0], 0.001, 0.999999, 0.0, 0.0),   # tiny risks: relative accuracy kept
    ([1.0], [1.0], 1.0000001, 0.999999, 0.0, 0.0),                   # a refit within 1e-6 of interpolation
    ([1.0], [1.0], 0.001, 0.999999, 0.0, 1e-8),
    ([1e-200, 3e-200], [1e150, 1e151], 3.0, 0.3, 0.0, 10.0),         # ridge 1e200 x lam: c ~ 1e-200
    ([1e200, 3e200], [1e-150, 1e-151], 1e4, 1e-6, 0.1, 1e-8),
])
def test_extreme_cases_against_mpmath(lam, v, kappa, alpha, s2, ridge):
    """Found by a sweep over scales, sigma2 = 0, alpha near 1 and ridges: before the pieces were written as
    sums of non-negative terms (and s_X kept unsquared) these came out 0 or off by 1e-8..1 relative."""
    law = dp.Law.from_spectrum(lam, b_var=v)
    d = dp.predict(law, kappa=kappa, alpha=alpha, sigma2=s2, ridge=ridge)
    m = dp.predict(law, kappa=kappa, alpha=alpha, sigma2=s2, ridge=ridge, precision="mp")
    for name in dp.RISK_FIELDS:
        assert getattr(d, name) == pytest.approx(getattr(m, name), rel=1e-9, abs=0), name
