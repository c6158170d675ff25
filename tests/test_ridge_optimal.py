"""--ridge optimal in predict / curve / advise (each rule at its own risk-minimizing ridge), the tuned advisor,
and the one-line refusals: every tuned risk is checked against a dense scan of r written here."""
import json
import math

import numpy as np
import pytest

import dcpredict as dp
from dcpredict.cli import main

LAW = dp.Law([4.0, 1.0, 0.25], [1.0, 0.5, 2.0], [0.2, 0.3, 0.5])
ARGS = ["--lam", "4,1,0.25", "--b", "1,0.5,2", "--weights", "0.2,0.3,0.5", "--sigma2", "0.2"]
SCAN = np.concatenate([[0.0], np.geomspace(1e-3, 30, 120)])


def _run(capsys, argv):
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_predict_ridge_optimal_beats_a_dense_scan(capsys):
    rc, out, _ = _run(capsys, ["predict", *ARGS, "--kappa", "2", "--alpha", "0.2", "--ridge", "optimal", "--json"])
    assert rc == 0
    obj = json.loads(out)
    assert (obj["kappa"], obj["alpha"], obj["ridge"]) == (2.0, 0.2, "optimal")     # the inputs are echoed
    rows = {r["rule"]: r for r in obj["rules"]}
    assert set(rows) == set(dp.RISK_FIELDS)
    preds = [dp.predict(LAW, kappa=2.0, alpha=0.2, sigma2=0.2, ridge=r) for r in SCAN]
    for rule, row in rows.items():
        scan = min(getattr(p, rule) for p in preds)
        assert row["risk"] <= scan * (1 + 1e-9), rule                  # global: never worse than the scan
        assert row["risk"] >= scan * (1 - 2e-3), rule                  # and the scan is fine enough to be close
        assert getattr(dp.predict(LAW, kappa=2.0, alpha=0.2, sigma2=0.2, ridge=row["ridge"]), rule) == \
            pytest.approx(row["risk"], rel=1e-12)                       # the reported ridge gives the risk
    assert rows["magnitude"]["risk_at_zero"] == pytest.approx(1.5806, abs=1e-4)
    assert rows["magnitude"]["risk"] == pytest.approx(1.1474, abs=1e-4)


def test_world_predict_ridge_optimal(capsys):
    rc, out, _ = _run(capsys, ["predict", *ARGS, "--n", "200", "--world-size", "400", "--p", "300", "--s", "40",
                               "--ridge", "optimal", "--json"])
    assert rc == 0
    rows = {r["rule"]: r for r in json.loads(out)["rules"]}
    for rule in ("hessian", "magnitude_retrained", "small_oracle", "small_random"):
        scan = min(getattr(dp.predict_world(LAW, n=200, P=400, p=300, s=40, sigma2=0.2, ridge=r), rule) for r in SCAN)
        assert row_ok(rows[rule]["risk"], scan), rule


def row_ok(tuned, scan):
    return scan * (1 - 2e-3) <= tuned <= scan * (1 + 1e-9)


def test_tuned_advisor_against_a_ridge_and_size_scan():
    a = dp.advise(LAW, sigma2=0.2, n=200, s=40, P=400, ridge="optimal")
    # independent: every ridge of a scan x every p, the best pruned risk over the advisor's rules
    best = math.inf
    for r in SCAN[::4]:
        c = dp.predict_world_curve(LAW, n=200, P=400, s=40, sigma2=0.2, ridge=r)
        best = min(best, *(float(np.min(getattr(c, rule))) for rule in a.rules))
    assert a.best_risk <= best * (1 + 1e-9)
    assert a.best_risk >= best * (1 - 5e-3)
    untuned = dp.advise(LAW, sigma2=0.2, n=200, s=40, P=400)
    assert a.best_risk < untuned.best_risk
    for name in ("small_oracle", "small_random", "small_top_variance"):
        scan = min(dp.world.world_baselines(LAW, n=200, P=400, s=40, sigma2=0.2, ridge=r)[name] for r in SCAN)
        assert row_ok(getattr(a, name), scan), name
        assert a.baseline_ridges[name] > 0
    assert "tuned" in a.summary()


def test_refusals_are_one_line(capsys):
    rc, _, err = _run(capsys, ["simulate", *ARGS, "--kappa", "2", "--alpha", "0.2", "--n", "50", "--ridge", "optimal"])
    assert rc == 2 and err.count("\n") == 1 and "one ridge" in err
    rc, _, err = _run(capsys, ["curve", *ARGS, "--kappa", "0.1:5:100", "--alpha", "0.1:1:10", "--ridge", "optimal"])
    assert rc == 2 and err.count("\n") == 1 and "minutes" in err
    with pytest.raises(SystemExit) as exc:                       # an argparse type error: usage line, exit 2
        main(["predict", *ARGS, "--kappa", "2", "--alpha", "0.2", "--ridge", "best"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and "optimal" in err


def test_curve_ridge_optimal_columns(capsys):
    rc, out, _ = _run(capsys, ["curve", *ARGS, "--kappa", "2", "--alpha", "0.2", "--ridge", "optimal"])
    assert rc == 0
    head, row = out.strip().split("\n")
    cols = dict(zip(head.split(","), map(float, row.split(","))))
    assert cols["magnitude"] == pytest.approx(1.147442574, rel=1e-8) and cols["ridge_magnitude"] > 0
