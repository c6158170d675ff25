"""The result contract: summary, to_dict (JSON-safe, inputs included, no collisions), to_dataframe, repr,
and a lossless save/load round trip that refuses to overwrite."""
import json
import math

import numpy as np
import pytest

import dcpredict as dp
from dcpredict._results import load_result

LAW = dp.Law(lam=[4, 1, 1, 0.25], b=[2, 1, 0, 0.5], weights=[0.1, 0.2, 0.4, 0.3])


def _results():
    yield dp.predict(LAW, kappa=2.0, alpha=0.1, sigma2=0.2)
    yield dp.predict(LAW, kappa=1.0, alpha=0.3, sigma2=0.2)          # inf dense risk
    yield dp.solve_dc(LAW, kappa=3.0, sigma2=0.2, ridge=0.1)
    yield dp.predict_grid(LAW, [0.5, 1.0, 2.0], [0.2, 0.6], sigma2=0.2)
    yield dp.predict_world(LAW, n=100, P=400, p=250, s=20, sigma2=0.2)
    yield dp.predict_world_curve(LAW, n=100, P=400, s=20, sigma2=0.2, ps=[20, 100, 400])
    from dcpredict import lemma1
    from dcpredict import random_features as rf
    W = rf.draw_first_layer(30, 5, np.random.default_rng(0))
    u = np.eye(5)[0]
    cmp = rf.compare_rf(W, u, n=40, alpha=0.3, trials=5, draws=20, seed=1)
    yield from (cmp, cmp.theory, cmp.simulation, cmp.lgp, rf.relu_moments(W, u))
    yield lemma1.closed_forms(lam=1.0, S=1.0, sigma2=1.0, n=10, alpha=0.5)
    yield lemma1.simulate(*lemma1.rank_one_problem(5, 1.0, 1.0), sigma2=1.0, n=10, alpha=0.5, trials=5)
    yield dp.simulate(LAW, kappa=2.0, alpha=0.3, sigma2=0.2, n=20, trials=3, seed=1, workers=1, progress=False)


def test_simulation_to_dict_keeps_the_hessian_setting_and_the_hessian_risk_apart():
    res = dp.simulate(LAW, kappa=2.0, alpha=0.3, sigma2=0.2, n=20, trials=3, seed=1, workers=1, progress=False)
    d = res.to_dict()
    assert d["hessian_diagonal"] == "population"
    assert d["hessian"]["mean"] == res.mean["hessian"]


@pytest.mark.parametrize("res", list(_results()), ids=lambda r: type(r).__name__)
def test_contract(res, tmp_path):
    assert isinstance(res.summary(), str) and len(res.summary()) > 20
    assert str(res) == res.summary()
    assert len(repr(res)) < 400
    d = res.to_dict()
    json.loads(json.dumps(d, allow_nan=True))                      # JSON-ready
    df = res.to_dataframe()
    assert len(df) >= 1
    path = tmp_path / "r.json"
    res.save(path)
    back = type(res).load(path)
    assert type(back) is type(res)
    assert json.dumps(back.to_dict(), allow_nan=True) == json.dumps(d, allow_nan=True)
    before = path.read_bytes()
    with pytest.raises(dp.DCPredictError, match="exists"):
        res.save(path)
    assert path.read_bytes() == before


def test_prediction_round_trip_keeps_nested_objects(tmp_path):
    r = dp.predict(LAW, kappa=2.0, alpha=0.1, sigma2=0.2)
    r.save(tmp_path / "p.json")
    back = load_result(tmp_path / "p.json")
    assert back.dc == r.dc and back.retrained == r.retrained and back.law == r.law
    assert back.risks() == r.risks()


def test_grid_to_xarray_matches_arrays():
    g = dp.predict_grid(LAW, [0.5, 2.0], [0.2, 0.6, 1.0], sigma2=0.2)
    ds = g.to_xarray()
    assert ds["hessian"].dims == ("kappa", "alpha")
    np.testing.assert_array_equal(ds["hessian"].values, g.hessian)
    assert float(ds["dense"].sel(kappa=2.0, alpha=1.0)) == g.dense[1, 2]


def test_to_dict_has_no_key_collision_between_inputs_and_risks():
    r = dp.predict(LAW, kappa=2.0, alpha=0.1, sigma2=0.2)
    d = r.to_dict()
    for name in dp.RISK_FIELDS:
        assert d[name] == getattr(r, name)
    assert d["law"] == LAW.to_dict() and d["kappa"] == 2.0


def test_inf_survives_the_round_trip(tmp_path):
    r = dp.predict(LAW, kappa=1.0, alpha=0.3, sigma2=0.2)
    assert math.isinf(r.dense)
    r.save(tmp_path / "x.json")
    assert math.isinf(load_result(tmp_path / "x.json").dense)


def test_load_refuses_foreign_files(tmp_path):
    p = tmp_path / "law.json"
    p.write_text(json.dumps({"lam": [1], "b": [1]}))
    with pytest.raises(dp.DCPredictError, match="not a saved dcpredict result"):
        load_result(p)
