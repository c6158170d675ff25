"""Quantization, iterative pruning and the optimal ridge (theory page, section 9).

Independent references written here: the DC (tau, gamma^2, coordinate law) solved with scipy's brentq from
the equations of the theory page; quantized risks by adaptive quadrature (scipy.integrate.quad) over the
Gaussian law of X per atom; the iterative composition by chaining public ``predict`` calls on the support
laws built here; the isotropic closed form of the optimal ridge; and Monte Carlo with fresh samples.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

import dcpredict
from dcpredict import DCPredictError, Law
from dcpredict.compression import optimal_ridge, predict_iterative, predict_quantized
from dcpredict.compression_sim import simulate_iterative, simulate_quantized

LAW3 = Law([4.0, 1.0, 0.25], [1.0, 0.5, 2.0], [0.2, 0.3, 0.5])


# ------------------------------------------------------------------ independent DC and quadrature
def dc_reference(law, kappa, sigma2, ridge=0.0):
    lam, b, w = law.lam, law.b, law.weights
    if ridge == 0.0 and kappa < 1.0:
        tau = 0.0
    else:
        def eq(tau):
            return tau * (1.0 - kappa * np.sum(w * lam / (lam + tau))) - ridge
        tau = optimize.brentq(eq, 1e-14, 1e6, xtol=1e-15, rtol=1e-14)
    c = lam / (lam + tau)
    g2 = (sigma2 + tau ** 2 * np.sum(w * lam * b ** 2 / (lam + tau) ** 2)) / (1.0 - kappa * np.sum(w * c ** 2))
    return c * b, c * np.sqrt(kappa * g2 / lam), g2


def q_ref(x, step, bits):
    if bits == 1:
        return step if x >= 0 else -step
    K = 2 ** (bits - 1) - 1
    j = min(math.floor(abs(x) / step + 0.5), K)
    return math.copysign(j * step, x)


def quad_risk(law, m, v, sigma2, step, bits, te=None):
    """sigma^2 + sum_k w_k lam_k E[(b_k - Q(X) 1{|X| > te_k})^2] by adaptive quadrature, X ~ N(m_k, v_k^2)."""
    total = sigma2
    K = 1 if bits == 1 else 2 ** (bits - 1) - 1
    for k in range(law.n_atoms):
        lam, b, w = law.lam[k], law.b[k], law.weights[k]
        t = 0.0 if te is None else te[k]
        mk, vk = float(m[k]), float(v[k])
        lo, hi = m[k] - 12 * v[k], m[k] + 12 * v[k]
        pts = [(j + 0.5) * step for j in range(-K - 1, K + 1)] + [t, -t, 0.0]
        pts = sorted(x for x in pts if lo < x < hi)

        def f(x, t=t, mk=mk, vk=vk, b=b):
            kept = abs(x) > t
            q = q_ref(x, step, bits) if kept else 0.0
            z = (x - mk) / vk
            return (b - q) ** 2 * math.exp(-0.5 * z * z) / (vk * math.sqrt(2 * math.pi))
        val = integrate.quad(f, lo, hi, points=pts or None, limit=400, epsabs=1e-13, epsrel=1e-12)[0]
        total += w * lam * val
    return total


def magnitude_threshold(law, m, v, alpha, scale=None):
    scale = np.ones(law.n_atoms) if scale is None else scale

    def kept(t):
        te = t * scale
        return np.sum(law.weights * (stats.norm.sf((te - m) / v) + stats.norm.cdf((-te - m) / v))) - alpha
    return optimize.brentq(kept, 0.0, 100.0, xtol=1e-14)


# ------------------------------------------------------------------ quantization
@pytest.mark.parametrize("bits,step,ridge", [(3, 0.3, 0.0), (1, 0.8, 0.0), (2, 0.5, 0.3), (4, 0.12, 0.0)])
def test_quantized_dense_matches_quadrature(bits, step, ridge):
    kappa, sigma2 = 2.0, 0.2
    m, v, _ = dc_reference(LAW3, kappa, sigma2, ridge)
    ref = quad_risk(LAW3, m, v, sigma2, step, bits)
    got = predict_quantized(LAW3, kappa=kappa, bits=bits, sigma2=sigma2, ridge=ridge, step=step)
    assert got.risk == pytest.approx(ref, rel=1e-9)
    assert not got.step_optimal


@pytest.mark.parametrize("rule", ["magnitude", "hessian"])
def test_prune_then_quantize_matches_quadrature(rule):
    kappa, sigma2, alpha, bits, step = 3.0, 0.25, 0.3, 2, 0.6
    m, v, _ = dc_reference(LAW3, kappa, sigma2)
    scale = np.ones(3) if rule == "magnitude" else 1.0 / np.sqrt(LAW3.lam)
    t = magnitude_threshold(LAW3, m, v, alpha, scale)
    ref = quad_risk(LAW3, m, v, sigma2, step, bits, te=t * scale)
    got = predict_quantized(LAW3, kappa=kappa, bits=bits, sigma2=sigma2, step=step, alpha=alpha, rule=rule)
    assert got.risk == pytest.approx(ref, rel=1e-8)
    assert got.threshold == pytest.approx(t, rel=1e-9)


def test_optimal_step_is_global_on_an_independent_scan():
    kappa, sigma2, bits = 2.0, 0.2, 2
    m, v, _ = dc_reference(LAW3, kappa, sigma2)
    steps = np.geomspace(0.02, 5.0, 60)
    scan = np.array([quad_risk(LAW3, m, v, sigma2, s, bits) for s in steps])
    got = predict_quantized(LAW3, kappa=kappa, bits=bits, sigma2=sigma2)
    assert got.step_optimal
    assert got.risk <= scan.min() + 1e-12
    assert got.risk >= scan.min() - 0.01 * scan.min()  # the scan is 10 % apart: its best is close
    assert quad_risk(LAW3, m, v, sigma2, got.step, bits) == pytest.approx(got.risk, rel=1e-9)
    i = int(np.argmin(scan))
    assert steps[max(i - 1, 0)] <= got.step <= steps[min(i + 1, steps.size - 1)]
    lo, hi = got.step_bracket
    assert lo <= got.step <= hi and (hi - lo) <= 2e-9 * got.step


def test_many_bits_recover_the_unquantized_risks():
    pred = dcpredict.predict(LAW3, kappa=2.0, alpha=0.2, sigma2=0.2)
    step = 4e-4  # 16 bits: outer levels at 13.1, beyond every coordinate's mean + 12 sd
    fine = dict(kappa=2.0, bits=16, sigma2=0.2, step=step)
    # Sheppard: a fine quantizer adds step^2/12 per unit of E[Lambda] (exact for Gaussian coordinates)
    sheppard = step ** 2 / 12 * LAW3.expect(LAW3.lam)
    assert predict_quantized(LAW3, **fine).risk == pytest.approx(pred.dense + sheppard, rel=1e-11)
    assert predict_quantized(LAW3, **fine, alpha=0.2, rule="magnitude").risk == pytest.approx(pred.magnitude, rel=1e-7)
    assert predict_quantized(LAW3, **fine, alpha=0.2, rule="hessian").risk == pytest.approx(pred.hessian, rel=1e-7)
    # with the optimal step the quantizer can only do better than (or as well as) the unquantized fit
    for bits in (2, 4, 8, 12):
        q = predict_quantized(LAW3, kappa=2.0, bits=bits, sigma2=0.2)
        assert q.risk <= pred.dense * (1 + 1e-9)


def test_quantized_vs_simulation():
    n = 200
    for kw in (dict(kappa=2.0, bits=3), dict(kappa=3.0, bits=2, alpha=0.3, rule="magnitude")):
        th = predict_quantized(LAW3, sigma2=0.2, **kw)
        sim = simulate_quantized(LAW3, sigma2=0.2, step=th.step, n=n, trials=120, seed=3, **kw)
        margin = 0.03 + 2.0 / (n * abs(1.0 - sim.p / n))  # finite-size margin of dcpredict validate
        assert abs(sim.mean["quantized"] - th.risk) <= 4 * sim.stderr["quantized"] + margin * th.risk
        assert abs(sim.mean["unquantized"] - th.unquantized) <= 4 * sim.stderr["unquantized"] + margin * th.unquantized


# ------------------------------------------------------------------ iterative pruning
def test_one_round_is_magnitude_retrained():
    for ridge in (0.0, 0.3):
        pred = dcpredict.predict(LAW3, kappa=2.0, alpha=0.2, sigma2=0.2, ridge=ridge)
        it = predict_iterative(LAW3, kappa=2.0, alpha=0.2, rounds=1, sigma2=0.2, ridge=ridge)
        assert it.retrained == pytest.approx(pred.magnitude_retrained, rel=1e-12)
        assert it.rounds[0].pruned == pytest.approx(pred.magnitude, rel=1e-12)


def _support_law(law, kappa, sigma2, ridge, a):
    """Round 1 by hand: the dense fit's kept mass after keeping a fraction a by magnitude, as a public Law."""
    pred = dcpredict.predict(law, kappa=kappa, alpha=a, sigma2=sigma2, ridge=ridge)
    m, v = pred.dc.coordinate_law()
    t = pred.threshold_magnitude
    keep = stats.norm.sf((t - m) / v) + stats.norm.cdf((-t - m) / v)
    mass = law.weights * keep
    s2 = sigma2 + float(np.sum((law.weights - mass) * law.lam * law.b ** 2))
    return Law(law.lam, math.sqrt(a) * law.b, mass / mass.sum()), s2


def test_two_rounds_compose_through_public_predict():
    kappa, alpha, sigma2, ridge = 3.0, 0.2, 0.25, 0.1
    a = math.sqrt(alpha)
    sub, s2 = _support_law(LAW3, kappa, sigma2, ridge, a)
    ref = dcpredict.predict(sub, kappa=a * kappa, alpha=a, sigma2=s2, ridge=ridge)
    it = predict_iterative(LAW3, kappa=kappa, alpha=alpha, rounds=2, sigma2=sigma2, ridge=ridge)
    assert it.rounds[0].retrained == pytest.approx(ref.dense, rel=1e-9)
    assert it.rounds[1].pruned == pytest.approx(ref.magnitude, rel=1e-9)
    assert it.retrained == pytest.approx(ref.magnitude_retrained, rel=1e-9)
    assert [r.support_fraction for r in it.rounds] == pytest.approx([a, alpha], rel=1e-12)


@pytest.mark.parametrize("kw", [dict(kappa=3.0, alpha=0.2, rounds=2, ridge=0.0),
                                dict(kappa=6.0, alpha=0.05, rounds=3, ridge=0.2)])
def test_iterative_vs_simulation_with_fresh_samples(kw):
    n = 200
    th = predict_iterative(LAW3, sigma2=0.25, **kw)
    sim = simulate_iterative(LAW3, sigma2=0.25, n=n, trials=100, seed=5, **kw)
    # finite-size margin: 0.03 + 2/(n |1 - rho|) for the fit closest to interpolation (dense fit or a refit)
    rhos = [sim.p / n] + [s / n for s in sim.params["sizes"]]
    margin = 0.03 + 2.0 / (n * min(abs(1 - r) for r in rhos))
    assert margin < 0.15
    mean, se = sim.mean, sim.stderr
    assert abs(mean["retrained"] - th.retrained) <= 4 * se["retrained"] + margin * th.retrained
    for j, r in enumerate(th.rounds):
        f = f"round{j + 1}_retrained"
        assert abs(mean[f] - r.retrained) <= 4 * se[f] + margin * r.retrained
        f = f"round{j + 1}_pruned"
        assert abs(mean[f] - r.pruned) <= 4 * se[f] + margin * r.pruned


# ------------------------------------------------------------------ optimal ridge
def test_optimal_ridge_isotropic_closed_form():
    # isotropic features: the ridge risk depends on beta only through ||beta||^2 = E[B^2], and the optimal
    # penalty of (X^T X/n + r I)^{-1} X^T y/n is r* = kappa sigma^2 / E[B^2] (Dobriban & Wager 2018)
    law = Law([1.0, 1.0], [0.5, 1.5], [0.5, 0.5])  # E[B^2] = 1.25
    for kappa, sigma2 in ((2.0, 0.5), (0.5, 1.0), (1.0, 0.3)):
        o = optimal_ridge(law, kappa=kappa, sigma2=sigma2, rule="dense")
        assert o.ridge == pytest.approx(kappa * sigma2 / 1.25, rel=1e-6)
    assert math.isinf(optimal_ridge(law, kappa=1.0, sigma2=0.3, rule="dense").risk_at_zero)


@pytest.mark.parametrize("rule", ["magnitude", "hessian", "random", "oracle_pruned", "small_oracle",
                                  "magnitude_retrained", "hessian_retrained", "random_retrained"])
def test_optimal_ridge_beats_a_dense_scan(rule):
    kappa, alpha, sigma2 = 2.0, 0.2, 0.2
    rs = np.concatenate([[0.0], np.geomspace(1e-3, 1e2, 300)])
    scan = np.array([getattr(dcpredict.predict(LAW3, kappa=kappa, alpha=alpha, sigma2=sigma2, ridge=r), rule)
                     for r in rs])
    o = optimal_ridge(LAW3, kappa=kappa, alpha=alpha, sigma2=sigma2, rule=rule)
    assert o.risk <= scan.min() + 1e-12
    assert o.risk >= scan.min() * (1 - 1e-3)
    i = int(np.argmin(scan))
    assert rs[max(i - 1, 0)] <= o.ridge <= rs[min(i + 1, rs.size - 1)]
    assert o.risk_at_zero == pytest.approx(scan[0], rel=1e-12)


def test_optimal_ridge_zero_when_ridge_cannot_help():
    # OLS on a noiseless, well-conditioned problem is exact: r = 0 is the minimum
    o = optimal_ridge(LAW3, kappa=0.5, sigma2=0.0, rule="dense")
    assert o.ridge == 0.0 and o.risk == pytest.approx(0.0, abs=1e-12)


def test_theory_page_claim_three_atom_law():
    # theory page, section 9: at kappa = 2, alpha = 0.2 the best ridge lowers the magnitude-pruned risk 1.58 -> 1.15
    o = optimal_ridge(LAW3, kappa=2.0, alpha=0.2, sigma2=0.2, rule="magnitude")
    assert round(o.risk_at_zero, 2) == 1.58
    assert round(o.risk, 2) == 1.15


# ------------------------------------------------------------------ inputs, results, CLI
@pytest.mark.parametrize("kwargs,name", [
    (dict(bits=0), "bits"), (dict(bits=2.5), "bits"), (dict(bits=17), "bits"), (dict(step=-1.0), "step"), (dict(ridge=-1.0), "ridge"),
    (dict(ridge="best"), "ridge"), (dict(alpha=0.3), "alpha"), (dict(alpha=1.5, rule="magnitude"), "alpha"),
    (dict(alpha=0.3, rule="oracle"), "rule"), (dict(kappa=0.0), "kappa"), (dict(sigma2=-1.0), "sigma2")])
def test_quantized_bad_input(kwargs, name):
    args = dict(kappa=2.0, bits=2, sigma2=0.2)
    args.update(kwargs)
    with pytest.raises(DCPredictError, match=name):
        predict_quantized(LAW3, **args)


def test_other_bad_inputs():
    with pytest.raises(DCPredictError, match="rounds"):
        predict_iterative(LAW3, kappa=2.0, alpha=0.2, rounds=0, sigma2=0.2)
    with pytest.raises(DCPredictError, match="rule"):
        optimal_ridge(LAW3, kappa=2.0, alpha=0.2, sigma2=0.2, rule="oracle")
    with pytest.raises(DCPredictError, match="alpha"):
        optimal_ridge(LAW3, kappa=2.0, sigma2=0.2, rule="magnitude")
    with pytest.raises(DCPredictError, match="law"):
        predict_iterative("law", kappa=2.0, alpha=0.2, rounds=2, sigma2=0.2)


def test_interpolation_threshold_is_inf_not_nan():
    q = predict_quantized(LAW3, kappa=1.0, bits=2, sigma2=0.2)
    assert q.risk == math.inf and q.step is None
    it = predict_iterative(LAW3, kappa=2.0, alpha=0.5, rounds=1, sigma2=0.2)  # refit at kappa_S = 1
    assert it.retrained == math.inf


def test_result_contract(tmp_path):
    objs = [predict_quantized(LAW3, kappa=2.0, bits=2, sigma2=0.2, alpha=0.3, rule="hessian"),
            predict_iterative(LAW3, kappa=3.0, alpha=0.2, rounds=2, sigma2=0.2),
            optimal_ridge(LAW3, kappa=2.0, alpha=0.2, sigma2=0.2, rule="hessian")]
    for i, o in enumerate(objs):
        json.loads(json.dumps(o.to_dict()))
        assert len(o.to_dataframe()) >= 1
        assert len(repr(o)) < 200 and o.summary()
        back = type(o).load(o.save(tmp_path / f"r{i}.json"))
        assert back.to_dict() == o.to_dict()
    assert objs[0].bits_per_weight == pytest.approx(0.3 * 2 - (0.3 * math.log2(0.3) + 0.7 * math.log2(0.7)))
    assert len(objs[1].to_dataframe()) == 2


def test_cli(capsys):
    from dcpredict.cli import main
    law = ["--lam", "4,1,0.25", "--b", "1,0.5,2", "--weights", "0.2,0.3,0.5"]
    assert main(["quantize", *law, "--kappa", "2", "--bits", "3", "--sigma2", "0.2", "--step", "0.3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    m, v, _ = dc_reference(LAW3, 2.0, 0.2)
    assert out["risk"] == pytest.approx(quad_risk(LAW3, m, v, 0.2, 0.3, 3), rel=1e-9)
    assert main(["iterate", *law, "--kappa", "2", "--alpha", "0.2", "--rounds", "1", "--sigma2", "0.2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["retrained"] == pytest.approx(dcpredict.predict(LAW3, kappa=2, alpha=0.2, sigma2=0.2).magnitude_retrained)
    assert main(["optimal-ridge", *law, "--kappa", "2", "--alpha", "0.2", "--sigma2", "0.2", "--rule", "magnitude",
                 "--json"]) == 0
    assert round(json.loads(capsys.readouterr().out)["risk"], 2) == 1.15
    assert main(["quantize", *law, "--kappa", "2", "--bits", "0", "--sigma2", "0.2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bits" in err


# ------------------------------------------------------------------ the figure's world
def test_figure_world_models_match_predict_world():
    from dcpredict.figures_compress import budget_alpha, model_problem, world_law
    world = world_law()
    n, P = 100, 400
    for p, s in ((50, 10), (200, 20), (400, 37)):
        law, s2m = model_problem(world, 0.1, p / P)
        mine = dcpredict.predict(law, kappa=p / n, alpha=s / p, sigma2=s2m)
        ref = dcpredict.predict_world(world, n=n, P=P, p=p, s=s, sigma2=0.1)
        assert mine.hessian == pytest.approx(ref.hessian, rel=1e-9)
        assert mine.dense == pytest.approx(ref.dense, rel=1e-9)
    for q, bpw in ((32, 2.0), (3, 1.0), (1, 0.5)):
        a = budget_alpha(q, bpw)
        assert q * a - (a * math.log2(a) + (1 - a) * math.log2(1 - a)) == pytest.approx(bpw, rel=1e-10)


def test_validation_rows_have_the_validation_format_and_pass():
    from dcpredict.compression_sim import validation_rows
    rows = validation_rows(quick=True)
    keys = {"law", "kappa", "alpha", "ridge", "n", "p", "s", "field", "theory", "sim", "se", "z", "rel", "margin",
            "allowed", "status"}
    assert rows and all(set(r) == keys for r in rows)
    assert all(r["status"] == "pass" for r in rows), [r for r in rows if r["status"] != "pass"]
    assert any(r["field"].startswith("quantized") for r in rows) and any(r["field"].startswith("iterative") for r in rows)


def test_figure_draws_from_a_small_computation(tmp_path):
    pytest.importorskip("matplotlib")
    from dcpredict.figures_compress import PARAMS, compute, draw
    P = dict(PARAMS, kappa_min=1.5, world_kappa=2.0, n_kappa=2, qs=[1, 2], sim_kappas=[])
    data = compute(P, simulate=False)
    assert [round(k, 12) for k in data["kappa"]] == [1.5, 2.0]
    pq = data["curves"]["prune_quantize"]["r0"]
    q = data["curves"]["quantize"]["r0"]
    assert all(a["risk"] <= b["risk"] + 1e-12 for a, b in zip(pq, q))  # q = 1 with alpha = 1 is a candidate
    json.dumps(data)
    path = draw(data, tmp_path / "c.png")
    assert path.stat().st_size > 10_000


def test_optimal_ridge_is_infinite_without_signal():
    # B = 0: any fit only adds noise; r* = kappa sigma^2 / E[B^2] = inf (isotropic closed form), risk sigma^2
    o = optimal_ridge(Law([1.0], [0.0]), kappa=2.0, sigma2=0.5, rule="dense")
    assert o.ridge == math.inf and o.risk == 0.5 and o.risk_at_zero == pytest.approx(0.5 + 0.5 / (2 - 1))


# ------------------------------------------------------------------ resumable, same guarantees as simulate
def test_compression_simulators_resume_and_extend_bit_identically(tmp_path):
    from dcpredict.compression_sim import simulate_iterative, simulate_quantized
    law = dcpredict.Law([4.0, 1.0, 0.25], [1.0, 0.5, 2.0], [0.2, 0.3, 0.5])
    log = tmp_path / "it.jsonl"
    kw = dict(kappa=3.0, alpha=0.2, rounds=2, sigma2=0.25, n=60, seed=2)
    simulate_iterative(law, trials=3, out=log, **kw)
    extended = simulate_iterative(law, trials=6, out=log, **kw)          # resumes: 3 from the log, 3 new
    fresh = simulate_iterative(law, trials=6, **kw)
    assert np.array_equal(extended.samples, fresh.samples)
    assert log.read_text().count("\n") == 6
    q = tmp_path / "q.jsonl"
    a = simulate_quantized(law, kappa=2.0, bits=2, sigma2=0.25, n=60, trials=4, seed=1, out=q)
    before = q.read_bytes()
    b = simulate_quantized(law, kappa=2.0, bits=2, sigma2=0.25, n=60, trials=4, seed=1, out=q, workers=2)
    assert np.array_equal(a.samples, b.samples) and q.read_bytes() == before   # all from the log
    with pytest.raises(dcpredict.DCPredictError, match="different arguments"):
        simulate_quantized(law, kappa=2.0, bits=3, sigma2=0.25, n=60, trials=4, seed=1, out=q)
    assert q.read_bytes() == before
    foreign = tmp_path / "notes.txt"
    foreign.write_text("my notes\n")
    with pytest.raises(dcpredict.DCPredictError):
        simulate_quantized(law, kappa=2.0, bits=2, sigma2=0.25, n=60, trials=2, seed=1, out=foreign)
    assert foreign.read_text() == "my notes\n"
