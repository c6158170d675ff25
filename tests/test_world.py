"""The fixed world (theory page, the fixed world): predict_world against sub-problems built by hand, the
oracle-pruning closed form, the world simulator against the theory, its seeds/resume/workers, and the CLI.
"""
import json
import math
import warnings

import numpy as np
import pytest
from scipy.optimize import brentq

import dcpredict as dc
from dcpredict import RISK_FIELDS, Law
from dcpredict.cli import main
from dcpredict.world_simulation import WORLD_SIM_FIELDS

# saliencies lam b^2 = 4, 0.25, 1: saliency order is atom 0, atom 2, atom 1; every count w_k P is an integer
LAW = Law([4.0, 1.0, 0.25], [1.0, 0.5, 2.0], [0.2, 0.3, 0.5])
SIGMA2 = 0.25
LAW_ARGS = ["--lam", "4,1,0.25", "--b", "1,0.5,2", "--weights", "0.2,0.3,0.5", "--sigma2", "0.25"]


# ------------------------------------------------------------------ brute-force sub-problems
def _top_mass(law, frac, key):
    """Mass per atom when the fraction ``frac`` of features is taken by decreasing ``key`` (ties: atom order)."""
    lam, b, w = (np.array(x, dtype=float) for x in (law.lam, law.b, law.weights))
    mass = np.zeros_like(w)
    left = frac
    for k in sorted(range(w.size), key=lambda k: -key[k]):
        take = min(w[k], left)
        mass[k] = take
        left -= take
    return mass


def _sub_problem(law, mass, frac, sigma2):
    """The LGP of a data-independent support of kept mass ``mass`` (a fraction frac of the features)."""
    lam, b, w = (np.array(x, dtype=float) for x in (law.lam, law.b, law.weights))
    keep = mass > 0
    sub = Law(lam[keep], math.sqrt(frac) * b[keep], mass[keep] / frac)
    return sub, sigma2 + float(np.sum((w - mass) * lam * b * b))


def _world_by_hand(law, *, n, P, p, s, sigma2, ridge, order):
    lam, b, w = (np.array(x, dtype=float) for x in (law.lam, law.b, law.weights))
    f = p / P
    mass = _top_mass(law, f, lam * b * b) if order == "saliency" else f * w
    model, noise = _sub_problem(law, mass, f, sigma2)
    pred = dc.predict(model, kappa=p / n, alpha=s / p, sigma2=noise, ridge=ridge)
    out = {k: getattr(pred, k) for k in RISK_FIELDS}
    g = s / P

    def small(m):
        sub, nz = _sub_problem(law, m, g, sigma2)
        return dc.predict(sub, kappa=s / n, alpha=1.0, sigma2=nz, ridge=ridge).dense

    out["small_oracle"] = small(_top_mass(law, g, lam * b * b))
    out["small_random"] = small(g * w)
    # largest variance first; equal variances share in proportion
    tv = np.zeros_like(w)
    left = g
    for v in sorted(set(lam.tolist()), reverse=True):
        grp = lam == v
        take = min(w[grp].sum(), left)
        tv[grp] = w[grp] * take / w[grp].sum()
        left -= take
    out["small_top_variance"] = small(tv)
    out["zero_model"] = sigma2 + float(np.sum(w * lam * b * b))
    return out


@pytest.mark.parametrize("order", ["saliency", "random"])
@pytest.mark.parametrize("p,ridge", [(100, 0.0), (250, 0.0), (700, 0.0), (700, 0.3), (90, 0.1)])
def test_predict_world_equals_hand_built_subproblem(order, p, ridge):
    n, P, s = 150, 1000, 30
    got = dc.predict_world(LAW, n=n, P=P, p=p, s=s, sigma2=SIGMA2, ridge=ridge, order=order)
    want = _world_by_hand(LAW, n=n, P=P, p=p, s=s, sigma2=SIGMA2, ridge=ridge, order=order)
    for k, v in want.items():
        assert getattr(got, k) == pytest.approx(v, rel=1e-9), k


def test_predict_world_ties_in_variance_share_in_proportion():
    # two atoms of equal variance: the top-variance baseline takes them in proportion
    law = Law([2.0, 2.0, 0.5], [0.2, 1.5, 3.0], [0.3, 0.3, 0.4])
    got = dc.predict_world(law, n=200, P=600, p=300, s=120, sigma2=0.1)
    want = _world_by_hand(law, n=200, P=600, p=300, s=120, sigma2=0.1, ridge=0.0, order="saliency")
    assert got.small_top_variance == pytest.approx(want["small_top_variance"], rel=1e-9)
    assert got.small_random == pytest.approx(want["small_random"], rel=1e-9)


@pytest.mark.parametrize("order", ["saliency", "random"])
@pytest.mark.parametrize("n,p,s,ridge", [(100, 300, 30, 0.0), (200, 120, 40, 0.0), (100, 250, 10, 0.2)])
def test_world_of_size_p_is_predict(order, n, p, s, ridge):
    got = dc.predict_world(LAW, n=n, P=p, p=p, s=s, sigma2=SIGMA2, ridge=ridge, order=order)
    want = dc.predict(LAW, kappa=p / n, alpha=s / p, sigma2=SIGMA2, ridge=ridge)
    for k in RISK_FIELDS:
        assert getattr(got, k) == pytest.approx(getattr(want, k), rel=1e-10), k


# ------------------------------------------------------------------ oracle pruning closed form
def _oracle_pruned_closed_form(lam, b, w, *, kappa, alpha, sigma2, ridge):
    lam, b, w = (np.asarray(x, dtype=float) for x in (lam, b, w))
    if ridge == 0.0 and kappa < 1:
        tau = 0.0
    else:
        fn = (lambda t: ridge - t * (1 - kappa * np.sum(w * lam / (lam + t))))
        tau = brentq(fn, 1e-12, 1e6, xtol=1e-15, rtol=1e-14)
    c = lam / (lam + tau)
    g2 = (sigma2 + tau ** 2 * np.sum(w * lam * b ** 2 / (lam + tau) ** 2)) / (1 - kappa * np.sum(w * c ** 2))
    v2 = c ** 2 * kappa * g2 / lam
    q = np.zeros_like(w)  # kept mass: top alpha by saliency lam b^2
    left = alpha
    for k in np.argsort(-(lam * b * b), kind="stable"):
        q[k] = min(w[k], left)
        left -= q[k]
    return sigma2 + float(np.sum(lam * (q * ((b - c * b) ** 2 + v2) + (w - q) * b ** 2)))


@pytest.mark.parametrize("lam,b,w", [([1.0, 1.0], [3.0, 0.5], [0.25, 0.75]),      # isotropic, spiked beta
                                     ([10.0, 1.0], [1.0, 1.0], [0.1, 0.9])])     # spiked Sigma, flat beta
@pytest.mark.parametrize("kappa,alpha,ridge", [(2.5, 0.05, 0.0), (2.5, 0.3, 0.0), (0.6, 0.5, 0.0), (1.8, 0.2, 0.4)])
def test_oracle_pruned_closed_form(lam, b, w, kappa, alpha, ridge):
    want = _oracle_pruned_closed_form(lam, b, w, kappa=kappa, alpha=alpha, sigma2=0.3, ridge=ridge)
    got = dc.predict(Law(lam, b, w), kappa=kappa, alpha=alpha, sigma2=0.3, ridge=ridge).oracle_pruned
    assert got == pytest.approx(want, rel=1e-9)


def test_oracle_pruned_closed_form_in_the_world():
    # Sigma spiked, beta flat (the paper's Fig. 3b): the model of p = 600 of P = 1000 by saliency
    lam, b, w = [10.0, 1.0], [1.0, 1.0], [0.04, 0.96]
    n, P, p, s = 200, 1000, 600, 40
    f = p / P
    mass = np.array([0.04, f - 0.04])
    noise = 0.1 + (0.96 - mass[1]) * 1.0
    want = _oracle_pruned_closed_form(lam, math.sqrt(f) * np.array(b), mass / f, kappa=p / n, alpha=s / p,
                                      sigma2=noise, ridge=0.0)
    got = dc.predict_world(Law(lam, b, w), n=n, P=P, p=p, s=s, sigma2=0.1).oracle_pruned
    assert got == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("order", ["saliency", "random"])
def test_curve_equals_pointwise(order):
    ps = [30, 31, 90, 149, 151, 400, 1000]
    curve = dc.predict_world_curve(LAW, n=150, P=1000, s=30, ps=ps, sigma2=SIGMA2, ridge=0.0, order=order)
    for i, p in enumerate(ps):
        pt = dc.predict_world(LAW, n=150, P=1000, p=p, s=30, sigma2=SIGMA2, order=order)
        for k in curve.CURVE_FIELDS:
            assert getattr(curve, k)[i] == pytest.approx(getattr(pt, k), rel=1e-10), (p, k)
    assert curve.small_oracle == pytest.approx(pt.small_oracle, rel=1e-12)


# ------------------------------------------------------------------ the simulator against the theory
def _margin(field, n, p, s):
    """Finite-size margin: 3 % (exact top-s vs the limit threshold, O(1/sqrt p)) plus twice the O(1/(n|1-rho|))
    excess variance of a least-squares fit of aspect ratio rho (p/n for the model's own fit, s/n for a fit
    on s columns)."""
    on_s = field in ("small_oracle", "small_random", "small_top_variance") or field.endswith("_retrained")
    rho = (s if on_s else p) / n
    return 0.03 + 2.0 / (n * abs(1.0 - rho))


CHECKED = tuple(RISK_FIELDS) + ("small_random", "small_top_variance")


@pytest.mark.parametrize("order,ridge,ps", [("saliency", 0.0, [100, 300, 400]),
                                            ("random", 0.0, [100, 300, 400]),
                                            ("saliency", 0.2, [60, 250])])
def test_simulator_matches_theory(order, ridge, ps):
    n, P, s, trials = 150, 400, 20, 60
    res = dc.simulate_world(LAW, n=n, P=P, ps=ps, s=s, sigma2=SIGMA2, ridge=ridge, order=order, trials=trials,
                            seed=3, workers=1, progress=False)
    assert res.samples.shape == (len(ps), trials, 14)
    for i, p in enumerate(ps):
        th = dc.predict_world(LAW, n=n, P=P, p=p, s=s, sigma2=SIGMA2, ridge=ridge, order=order)
        for f in CHECKED:
            t, m, se = getattr(th, f), res.mean[f][i], res.stderr[f][i]
            assert abs(m - t) <= 4 * se + _margin(f, n, p, s) * t, (p, f, t, m, se)


def test_simulator_sees_the_model_order():
    # the saliency-ordered model of 100 features has far less missing signal than a random one
    res_s = dc.simulate_world(LAW, n=150, P=400, ps=[100], s=20, sigma2=SIGMA2, order="saliency", trials=20,
                              seed=1, workers=1, progress=False)
    res_r = dc.simulate_world(LAW, n=150, P=400, ps=[100], s=20, sigma2=SIGMA2, order="random", trials=20,
                              seed=1, workers=1, progress=False)
    th_s = dc.predict_world(LAW, n=150, P=400, p=100, s=20, sigma2=SIGMA2, order="saliency").oracle_pruned
    th_r = dc.predict_world(LAW, n=150, P=400, p=100, s=20, sigma2=SIGMA2, order="random").oracle_pruned
    assert abs(th_s - th_r) > 0.2
    for res, th in ((res_s, th_s), (res_r, th_r)):
        assert abs(res.mean["oracle_pruned"][0] - th) <= 4 * res.stderr["oracle_pruned"][0] + 0.05 * th


# ------------------------------------------------------------------ seeds, workers, resume, result object
KW = dict(n=60, P=120, s=8, sigma2=SIGMA2, ridge=0.0, order="random", seed=9, progress=False)


def test_workers_and_other_ps_do_not_change_numbers():
    one = dc.simulate_world(LAW, ps=[30, 90], trials=6, workers=1, **KW)
    two = dc.simulate_world(LAW, ps=[30, 90], trials=6, workers=2, **KW)
    assert np.array_equal(one.samples, two.samples)
    alone = dc.simulate_world(LAW, ps=[90], trials=6, workers=1, **KW)
    assert np.array_equal(alone.samples[0], one.samples[1])
    more = dc.simulate_world(LAW, ps=[30, 90], trials=8, workers=1, **KW)
    assert np.array_equal(more.samples[:, :6], one.samples)


def test_common_random_numbers_across_p():
    # p = P uses every column whatever the order: the same design gives the same dense fit in both orders
    a = dc.simulate_world(LAW, ps=[120], trials=3, workers=1, **KW)
    b = dc.simulate_world(LAW, ps=[120], trials=3, workers=1, **{**KW, "order": "saliency"})
    assert np.array_equal(a["dense"], b["dense"])
    assert np.array_equal(a["small_oracle"], b["small_oracle"])


def test_resume_from_a_torn_log(tmp_path):
    out = tmp_path / "w.jsonl"
    full = dc.simulate_world(LAW, ps=[30, 90], trials=5, workers=1, **KW)
    dc.simulate_world(LAW, ps=[30, 90], trials=5, workers=1, out=out, **KW)
    lines = out.read_text().splitlines(keepends=True)
    assert len(lines) == 10
    recs = [json.loads(x) for x in lines]
    assert {(r["p"], r["trial"]) for r in recs} == {(p, t) for p in (30, 90) for t in range(5)}
    assert all(r["kappa"] == r["p"] / 60 and r["s"] == 8 for r in recs)
    out.write_text("".join(lines[:4]) + lines[4][:25])  # four records and a torn fifth line
    resumed = dc.simulate_world(LAW, ps=[30, 90], trials=5, workers=1, out=out, **KW)
    assert np.array_equal(resumed.samples, full.samples)
    assert len(out.read_text().splitlines()) == 10
    with pytest.raises(dc.DCPredictError, match="different arguments"):
        dc.simulate_world(LAW, ps=[30, 90], trials=5, workers=1, out=out, **{**KW, "s": 9})


def test_result_object():
    res = dc.simulate_world(LAW, ps=[30, 90], trials=4, workers=1, **KW)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["p"] == [30, 90] and d["world"]["P"] == 120 and d["order"] == "random" and d["trials"] == 4
    assert len(d["oracle_pruned"]["mean"]) == 2 and len(d["oracle_pruned"]["ci95"][1]) == 2
    assert d["dense"]["mean"][1] == pytest.approx(float(np.mean(res["dense"][1])))
    assert d["dense"]["stderr"][1] == pytest.approx(float(np.std(res["dense"][1], ddof=1) / 2))
    df = res.to_dataframe()
    assert len(df) == 2 * 14 and df.attrs["n"] == 60
    assert "p = 90" in res.summary() and "WorldSimulationResult" in repr(res)
    with pytest.raises(dc.DCPredictError):
        res.point(31)


def test_result_save_load(tmp_path):
    res = dc.simulate_world(LAW, ps=[30, 90], trials=3, workers=1, **KW)
    back = type(res).load(res.save(tmp_path / "r.json"))
    assert back.samples.tobytes() == res.samples.tobytes() and back.ps == res.ps and back.law == res.law
    assert back.to_dict() == res.to_dict()


@pytest.mark.parametrize("kw,match", [({"ps": [7]}, "ps"), ({"ps": [121]}, "ps"), ({"ps": [30, 30]}, "repeat"),
                                      ({"order": "sorted"}, "order"), ({"s": 0}, "s"), ({"trials": 1}, "trials")])
def test_bad_input(kw, match):
    args = {**KW, "ps": [30], "trials": 3, **kw}
    with pytest.raises(dc.DCPredictError, match=match):
        dc.simulate_world(LAW, workers=1, **args)


# ------------------------------------------------------------------ CLI
def _cli(args, capsys):
    rc = main(args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


WORLD = ["--n", "60", "--world-size", "120", "--s", "8", "--order", "random"]


def test_cli_simulate_one_p_is_one_object(capsys):
    rc, out, _ = _cli(["simulate", *LAW_ARGS, *WORLD, "--p", "90", "--trials", "4", "--seed", "9", "--workers", "1",
                       "--json", "--quiet"], capsys)
    assert rc == 0
    obj = json.loads(out)
    inputs = {"world", "n", "s", "sigma2", "ridge", "order", "trials", "seed", "p"}   # echoed
    assert set(obj) == set(WORLD_SIM_FIELDS) | inputs and len(WORLD_SIM_FIELDS) == 14
    assert obj["p"] == 90 and obj["trials"] == 4 and obj["seed"] == 9
    assert all(set(obj[f]) == {"mean", "stderr"} for f in WORLD_SIM_FIELDS)
    res = dc.simulate_world(LAW, ps=[90], trials=4, workers=1, **KW)
    assert obj["oracle_pruned"]["mean"] == res.mean["oracle_pruned"][0]


def test_cli_simulate_several_p_is_a_list(capsys):
    rc, out, _ = _cli(["simulate", *LAW_ARGS, *WORLD, "--p", "30:90:3", "--trials", "3", "--workers", "1",
                       "--json", "--quiet"], capsys)
    assert rc == 0
    objs = json.loads(out)
    assert [o["p"] for o in objs] == [30, 60, 90]
    inputs = {"world", "n", "s", "sigma2", "ridge", "order", "trials", "seed", "p"}
    assert all(set(o) == {*inputs, *WORLD_SIM_FIELDS} for o in objs)


def test_cli_predict_and_curve_world(capsys):
    rc, out, _ = _cli(["predict", *LAW_ARGS, *WORLD, "--p", "90", "--json"], capsys)
    assert rc == 0
    obj = json.loads(out)
    want = dc.predict_world(LAW, n=60, P=120, p=90, s=8, sigma2=SIGMA2, order="random")
    assert obj["oracle_pruned"] == want.oracle_pruned and obj["zero_model"] == want.zero_model
    rc, out, _ = _cli(["curve", *LAW_ARGS, *WORLD, "--p", "8,30,120"], capsys)
    assert rc == 0
    rows = out.strip().split("\n")
    head = rows[0].split(",")
    assert head[:3] == ["p", "kappa", "alpha"] and "oracle_pruned" in head and "small_oracle" in head
    assert [r.split(",")[0] for r in rows[1:]] == ["8", "30", "120"]
    assert float(rows[2].split(",")[head.index("hessian")]) == pytest.approx(
        dc.predict_world(LAW, n=60, P=120, p=30, s=8, sigma2=SIGMA2, order="random").hessian, rel=1e-12)
    rc, out, _ = _cli(["curve", *LAW_ARGS, *WORLD, "--format", "json"], capsys)  # default: every p from s to P
    assert [r["p"] for r in json.loads(out)] == list(range(8, 121))


@pytest.mark.parametrize("cmd,extra,match", [
    ("simulate", ["--kappa", "2", "--p", "30", "--trials", "3"], "cannot be combined"),
    ("predict", ["--alpha", "0.1", "--p", "30"], "cannot be combined"),
    ("curve", ["--kappa", "1,2", "--p", "30"], "cannot be combined"),
    ("simulate", ["--p", "1.5", "--trials", "3"], "--p must be an integer"),
    ("simulate", ["--p", "200", "--trials", "3"], "120"),
    ("predict", ["--p", "abc"], "--p must be an integer"),
    ("curve", ["--p", "1:2"], "START:STOP:NUM"),
    ("predict", ["--p", "30", "--precision", "double", "--s", "0"], "s must be"),
])
def test_cli_bad_world_input_is_one_line(cmd, extra, match, capsys):
    rc, out, err = _cli([cmd, *LAW_ARGS, *WORLD, *extra, *(["--quiet", "--workers", "1"] if cmd == "simulate" else [])],
                        capsys)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and match in err, err


def test_cli_world_options_need_world_size(capsys):
    rc, _, err = _cli(["predict", *LAW_ARGS, "--p", "30", "--s", "8", "--n", "60"], capsys)
    assert rc == 2 and "--world-size" in err and err.count("\n") == 1


# ------------------------------------------------------------------ dcpredict validate: the world table
def test_validation_world_rows_are_predict_world_vs_simulate_world():
    import dcpredict.validation as V
    W = {"laws": {"three-atom": LAW}, "n": 60, "P": 120, "s": 8, "trials": 10, "seed": 2, "sigma2": SIGMA2,
         "cases": [("random", 0.1, [40, 100])]}
    rows = V._world_rows(W, 1, False)
    assert len(rows) == 2 * 14
    res = dc.simulate_world(LAW, n=60, P=120, ps=[40, 100], s=8, sigma2=SIGMA2, ridge=0.1, order="random",
                            trials=10, seed=2, workers=1, progress=False)
    for r in rows:
        i = [40, 100].index(r["p"])
        ref = r["field"].replace("_same", "")
        th = getattr(dc.predict_world(LAW, n=60, P=120, p=r["p"], s=8, sigma2=SIGMA2, ridge=0.1, order="random"), ref)
        assert r["theory"] == pytest.approx(th, rel=1e-12)
        assert r["sim"] == res.mean[r["field"]][i] and r["z"] == pytest.approx((r["sim"] - th) / r["se"])
        on_s = r["field"].startswith("small_") or r["field"].endswith(("_retrained", "_same"))
        rho = (8 if on_s else r["p"]) / 60
        assert r["margin"] == pytest.approx(0.03 + 2 / (60 * abs(1 - rho)))
        assert r["status"] == ("info" if r["field"].endswith("_same") else
                               "pass" if abs(r["sim"] - th) <= 4 * r["se"] + r["margin"] * th else "FAIL")
    assert {r["field"] for r in rows if r["status"] != "info"} >= {"oracle_pruned", "small_oracle", "small_random"}
    rep = V.ValidationReport(True, {"world": W, "laws": {}, "n": 60, "trials": 10, "seed": 2, "sigma2": SIGMA2,
                                    "kappas": [], "alphas": [], "ridges": []}, [], world_rows=rows)
    rep.params["world"] = {**W, "laws": {"three-atom": LAW.to_dict()}}
    text = V._markdown(rep, 1)
    assert "## The fixed world" in text and text.count("| three-atom | random | 0.1 | 120 |") == 28
    assert rep.totals()["world_comparisons"] == 2 * 11


def test_quick_validation_world_grid_covers_the_cases():
    import dcpredict.validation as V
    W = V.world_validation_cases(True)
    orders = {o for o, _, _ in W["cases"]}
    ridges = {r for _, r, _ in W["cases"]}
    ps = [p for _, _, pp in W["cases"] for p in pp]
    assert orders == {"saliency", "random"} and len(ridges) > 1
    assert min(ps) < W["n"] < max(ps)
    for law in W["laws"].values():  # every atom count is an integer: the simulated world is the law
        assert np.allclose(np.asarray(law.weights) * W["P"], np.round(np.asarray(law.weights) * W["P"]))


def test_dask_local_cluster_bit_identical():
    distributed = pytest.importorskip("distributed")
    local = dc.simulate_world(LAW, ps=[30, 90], trials=4, workers=1, **KW)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                                  processes=True) as cluster:
        remote = dc.simulate_world(LAW, ps=[30, 90], trials=4, scheduler=cluster.scheduler_address, **KW)
    assert local.samples.tobytes() == remote.samples.tobytes()


def test_cli_world_curve_out_replaces_only_its_own_file(tmp_path, capsys):
    out = tmp_path / "c.csv"
    args = ["curve", *LAW_ARGS, *WORLD, "--p", "8,60", "--out", str(out)]
    assert _cli(args, capsys)[0] == 0
    assert out.read_text().startswith("p,kappa,alpha,")
    assert _cli([*args, "--format", "json"], capsys)[0] == 0          # its own CSV: replaced
    assert [r["p"] for r in json.loads(out.read_text())] == [8, 60]
    assert _cli(args, capsys)[0] == 0                                   # its own JSON: replaced
    foreign = tmp_path / "notes.csv"
    foreign.write_text("p,kappa,alpha,comment\n1,2,3,hello\n")
    rc, _, err = _cli(["curve", *LAW_ARGS, *WORLD, "--out", str(foreign)], capsys)
    assert rc == 2 and err.count("\n") == 1 and foreign.read_text().endswith("hello\n")


@pytest.mark.slow
@pytest.mark.parametrize("order", ["saliency", "random"])
def test_simulator_matches_theory_fig3b_world(order):
    """The paper's Fig. 3b world (Sigma spiked on 4 % of the features, beta flat) at n = 200, P = 1000, s = 40."""
    law = Law([10.0, 1.0], [1.0, 1.0], [0.04, 0.96])
    n, P, s, ps = 200, 1000, 40, [100, 300, 600, 1000]
    res = dc.simulate_world(law, n=n, P=P, ps=ps, s=s, sigma2=0.1, order=order, trials=200, seed=4, workers=2,
                            progress=False)
    for i, p in enumerate(ps):
        th = dc.predict_world(law, n=n, P=P, p=p, s=s, sigma2=0.1, order=order)
        for f in CHECKED:
            t, m, se = getattr(th, f), res.mean[f][i], res.stderr[f][i]
            assert abs(m - t) <= 4 * se + _margin(f, n, p, s) * t, (p, f, t, m, se)


# ------------------------------------------------------------------ one trial recomputed by hand
def _ls(X, y, r):
    """Least squares written out: min-norm/OLS by lstsq, ridge by the normal equations."""
    n, p = X.shape
    if r == 0:
        return np.linalg.lstsq(X, y, rcond=None)[0]
    return np.linalg.solve(X.T @ X / n + r * np.eye(p), X.T @ y / n)


@pytest.mark.parametrize("order,p,ridge", [("random", 90, 0.0), ("saliency", 40, 0.0), ("random", 100, 0.3)])
def test_one_trial_recomputed_by_hand(order, p, ridge):
    """The documented seeds and the documented rules, every risk as (b - beta)^T Sigma (b - beta) over the world."""
    n, P, s, seed, trial, sigma2 = 60, 120, 8, 9, 2, SIGMA2
    # the s = 8 largest variances are 8 of the 18 features with lam = 4 (a tie); saliencies 4, 1, 0.25, 1 (a tie)
    law = Law([4.0, 4.0, 1.0, 0.25], [1.0, 0.5, -0.5, 2.0], [0.05, 0.1, 0.35, 0.5])
    res = dc.simulate_world(law, n=n, P=P, ps=[p], s=s, sigma2=sigma2, ridge=ridge, order=order, trials=trial + 1,
                            seed=seed, workers=1, progress=False)
    counts = np.array([6, 12, 42, 60])
    lam = np.repeat(law.lam, counts)
    beta = np.repeat(law.b, counts) / math.sqrt(P)
    sal = lam * beta ** 2

    def risk(support, coef):
        b = np.zeros(P)
        b[support] = coef
        return sigma2 + float((b - beta) @ np.diag(lam) @ (b - beta))

    d = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3, trial)))
    X = d.standard_normal((n, P)) * np.sqrt(lam)
    y = X @ beta + math.sqrt(sigma2) * d.standard_normal(n)
    t = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(5, trial)))
    perm = t.permutation(P)
    small_random = np.sort(t.choice(P, size=s, replace=False, shuffle=False))
    tie = t.random(P)
    pr = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(4, p, trial)))
    by_saliency = sorted(range(P), key=lambda i: (-sal[i], i))
    cols = np.sort(np.array(by_saliency[:p] if order == "saliency" else perm[:p]))
    bh = _ls(X[:, cols], y, ridge)
    want = {"dense": risk(cols, bh)}
    top = lambda score: np.sort(np.argsort(-score)[:s])          # noqa: E731  (no ties in continuous scores)
    local = {"magnitude": top(np.abs(bh)), "hessian": top(lam[cols] * bh ** 2),
             "random": np.sort(pr.choice(p, size=s, replace=False, shuffle=False)),
             "oracle_pruned": np.sort(sorted(range(p), key=lambda j: (-sal[cols[j]], j))[:s])}
    for rule, idx in local.items():
        want[rule] = risk(cols[idx], bh[idx])
        if rule != "oracle_pruned":
            want[rule + "_retrained_same"] = risk(cols[idx], _ls(X[:, cols[idx]], y, ridge))
    for rule in ("magnitude", "hessian", "random"):
        S = cols[local[rule]]
        Xf = pr.standard_normal((n, s)) * np.sqrt(lam[S])
        yf = Xf @ beta[S] + math.sqrt(sigma2 + sal.sum() - sal[S].sum()) * pr.standard_normal(n)
        want[rule + "_retrained"] = risk(S, _ls(Xf, yf, ridge))
    top_var = np.sort(sorted(range(P), key=lambda i: (-lam[i], tie[i]))[:s])
    for name, S in (("small_oracle", np.sort(by_saliency[:s])), ("small_random", small_random),
                    ("small_top_variance", top_var)):
        want[name] = risk(S, _ls(X[:, S], y, ridge))
    assert set(want) == set(WORLD_SIM_FIELDS)
    for f, v in want.items():
        assert res[f][0, trial] == pytest.approx(v, rel=1e-8), f


def test_coarse_world_warns():
    from dcpredict.simulation import CoarseInstanceWarning
    rng = np.random.default_rng(0)
    law = Law.empirical(0.1 * 100 ** rng.random(50), rng.standard_normal(50))   # 50 atoms in 30 features
    with pytest.warns(CoarseInstanceWarning, match="P=30"):
        dc.simulate_world(law, n=40, P=30, ps=[20], s=5, sigma2=0.1, trials=2, workers=1, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dc.simulate_world(law, n=40, P=500, ps=[20], s=5, sigma2=0.1, trials=2, workers=1, progress=False)
