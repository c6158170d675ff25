"""``dcpredict data`` and ``dcpredict advise --features``: thin over dcpredict.data, JSON schema, one-line errors."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dcpredict import RISK_FIELDS
from dcpredict.cli import main
from dcpredict.data import ACTUAL_FIELDS, DataWorld


@pytest.fixture()
def files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 30)) * np.linspace(2.0, 0.5, 30)
    y = X[:, :8].sum(axis=1) / 3 + 0.5 * rng.standard_normal(600)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    return tmp_path, X, y


def test_data_json_has_exactly_the_schema_and_matches_the_api(files, capsys):
    d, X, y = files
    rc = main(["data", "--features", str(d / "X.npy"), "--labels", str(d / "y.npy"), "--n", "20", "--s", "5",
               "--p", "10,20,30", "--order", "variance", "--trials", "3", "--seed", "1", "--draws", "60",
               "--workers", "1", "--quiet", "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "Infinity" not in out and "NaN" not in out
    obj = json.loads(out)
    assert set(obj) == {"N", "P", "n", "s", "order", "ridge", "sigma2", "signal", "rows"}
    assert (obj["N"], obj["P"], obj["n"], obj["s"], obj["order"]) == (600, 30, 20, 5, "variance")
    assert [r["p"] for r in obj["rows"]] == [10, 20, 30]
    by_p = {r["p"]: r for r in obj["rows"]}
    assert by_p[20]["theory"]["dense"] is None          # p = n: the interpolation threshold, inf -> null
    for r in obj["rows"]:
        assert set(r) == {"p", "theory", "theory_stderr", "actual", "actual_population"}
        assert set(r["theory"]) == set(RISK_FIELDS) == set(r["theory_stderr"])
        for key in ("actual", "actual_population"):
            assert set(r[key]) == set(ACTUAL_FIELDS)
            assert all(set(v) == {"mean", "stderr"} for v in r[key].values())
    # the CLI is thin: the same numbers as the API
    world = DataWorld.from_files(d / "X.npy", d / "y.npy")
    assert obj["sigma2"] == world.sigma2
    cmp = world.compare(n=20, s=5, ps=[10, 20, 30], order="variance", trials=3, seed=1, draws=60, workers=1,
                        progress=False)
    assert obj == json.loads(json.dumps(cmp.schema()))
    # and the population risk of the dense fit at p = 10 (p < n, OLS) is close to its theory
    th = by_p[10]["theory"]["dense"]
    assert math.isfinite(th) and by_p[10]["actual_population"]["dense"]["mean"] > 0


def test_data_text_output_states_the_gap_and_the_finite_population_factor(files, capsys):
    d, _, _ = files
    rc = main(["data", "--features", str(d / "X.npy"), "--labels", str(d / "y.npy"), "--n", "30", "--s", "5",
               "--p", "10:30:2", "--trials", "2", "--draws", "40", "--workers", "1", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "N/(N-n) = 1.053" in out and "gap" in out and "held out" in out


@pytest.mark.parametrize("argv, msg", [
    (["--n", "400", "--s", "5", "--p", "10", "--trials", "2"], "too large for N = 600"),
    (["--n", "20", "--s", "15", "--p", "10"], "cannot be kept from a model of p = 10"),
    (["--n", "20", "--s", "5", "--p", "10", "--trials", "1"], "--trials must be 0"),
    (["--n", "x", "--s", "5", "--p", "10"], "--n must be an integer"),
    (["--n", "20", "--s", "5", "--p", "10", "--dataset", "digits", "--task", "parity"], "cannot be combined"),
    (["--n", "20", "--s", "5", "--p", "10", "--task", "parity"], "--task goes with --dataset"),
])
def test_data_bad_input_is_one_line_exit_2(files, capsys, argv, msg):
    d, _, _ = files
    rc = main(["data", "--features", str(d / "X.npy"), "--labels", str(d / "y.npy"), "--quiet", *argv])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and msg in err


def test_data_bad_files_are_one_line_exit_2(files, capsys):
    d, X, y = files
    X = X.copy()
    X[11, 4] = np.nan
    np.save(d / "Xnan.npy", X)
    np.save(d / "yshort.npy", y[:10])
    (d / "bad.csv").write_text("1,2\n3\n")
    for feats, labels, msg in (("Xnan.npy", "y.npy", "row 11, column 4 is nan"),
                               ("X.npy", "yshort.npy", "has 10 entries but the features have N = 600 rows"),
                               ("bad.csv", "y.npy", "not a matrix"),
                               ("none.npy", "y.npy", "does not exist")):
        rc = main(["data", "--features", str(d / feats), "--labels", str(d / labels), "--n", "5", "--s", "1",
                   "--p", "2"])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and msg in err, err


def test_advise_on_files_has_the_advisors_json_and_check_prints_both(files, capsys):
    d, _, _ = files
    base = ["advise", "--features", str(d / "X.npy"), "--labels", str(d / "y.npy"), "--n", "40", "--s", "16",
            "--draws", "60", "--quiet"]
    assert main([*base, "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    for key in ("best", "baselines", "zero_model", "best_at_edge", "nothing_beats_zero", "verdicts", "tolerance",
                "rule_optima", "inputs", "search"):
        assert key in obj
    assert obj["inputs"]["order"] == "given" and 16 <= obj["best"]["p"] <= 30
    assert main([*base, "--check", "3", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "predicted" in out and "actual (held out)" in out and "small_top_variance" in out


@pytest.mark.parametrize("extra, msg", [
    (["--sigma2", "0.1"], "--sigma2 describes a law"),
    (["--check", "1"], "--check must be an integer >= 2"),
    (["--order", "random"], "order must be one of"),
])
def test_advise_on_files_bad_input_is_one_line(files, capsys, extra, msg):
    d, _, _ = files
    rc = main(["advise", "--features", str(d / "X.npy"), "--labels", str(d / "y.npy"), "--n", "40", "--s", "8",
               "--quiet", *extra])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and msg in err, err


def test_advise_law_still_needs_sigma2(capsys):
    rc = main(["advise", "--lam", "1", "--b", "1", "--n", "40", "--s", "10", "--world-size", "100"])
    err = capsys.readouterr().err
    assert rc == 2 and "--sigma2 is required" in err


def test_random_features_of_the_given_features(files, capsys):
    from dcpredict.data.features import random_features
    d, X, y = files
    rc = main(["data", "--features", str(d / "X.npy"), "--labels", str(d / "y.npy"), "--random-features", "40",
               "--feature-seed", "3", "--n", "20", "--s", "5", "--p", "40", "--draws", "40", "--quiet", "--json"])
    obj = json.loads(capsys.readouterr().out)
    assert rc == 0 and obj["P"] == 40
    world = DataWorld.from_arrays(random_features(X, 40, seed=3), y)
    assert obj["sigma2"] == world.sigma2 and obj["signal"] == world.signal


@pytest.mark.slow
def test_data_on_bundled_digits(capsys):
    pytest.importorskip("sklearn")
    rc = main(["data", "--dataset", "digits", "--task", "parity", "--random-features", "100", "--n", "100",
               "--s", "20", "--p", "50,100", "--trials", "3", "--draws", "50", "--workers", "1", "--quiet", "--json"])
    obj = json.loads(capsys.readouterr().out)
    assert rc == 0 and obj["N"] == 1797 and obj["P"] == 100 and len(obj["rows"]) == 2
