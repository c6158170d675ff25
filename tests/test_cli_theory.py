"""CLI predict / curve: a thin shell over the API; bad input is one stderr line and exit 2."""
import csv
import io
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import dcpredict as dp
from dcpredict.cli import main

LAW_ARGS = ["--lam", "4,1,1,0.25", "--b", "2,1,0,0.5", "--weights", "0.1,0.2,0.4,0.3"]
LAW = dp.Law(lam=[4, 1, 1, 0.25], b=[2, 1, 0, 0.5], weights=[0.1, 0.2, 0.4, 0.3])


def run_cli(*args):
    """The installed entry point in a fresh process (what a user runs)."""
    return subprocess.run([sys.executable, "-m", "dcpredict", *args], capture_output=True, text=True, timeout=300)


def test_predict_json_matches_api(capsys):
    assert main(["predict", *LAW_ARGS, "--sigma2", "0.2", "--kappa", "2", "--alpha", "0.1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # the inputs are echoed next to the nine risks
    assert set(out) == set(dp.RISK_FIELDS) | {"law", "kappa", "alpha", "sigma2", "ridge", "precision"}
    assert (out["kappa"], out["alpha"], out["sigma2"], out["ridge"]) == (2.0, 0.1, 0.2, 0.0)
    assert out["law"] == LAW.to_dict()
    ref = dp.predict(LAW, kappa=2.0, alpha=0.1, sigma2=0.2)
    for name in dp.RISK_FIELDS:
        assert out[name] == getattr(ref, name)


def test_predict_details_and_summary(capsys):
    assert main(["predict", *LAW_ARGS, "--sigma2", "0.2", "--kappa", "1", "--alpha", "0.3", "--json",
                 "--details"]) == 0
    out = json.loads(capsys.readouterr().out)
    # strict JSON: a divergent risk is the string "inf"
    assert out["dense"] == "inf" and out["regime"] == "interpolation" and math.isfinite(out["small_oracle"])
    assert main(["predict", *LAW_ARGS, "--sigma2", "0.2", "--kappa", "3", "--alpha", "0.2"]) == 0
    text = capsys.readouterr().out
    assert "magnitude_retrained" in text and "min-norm" in text


def test_predict_reads_a_law_file(tmp_path, capsys):
    path = tmp_path / "law.json"
    path.write_text(json.dumps(LAW.to_dict()))
    assert main(["predict", "--law", str(path), "--sigma2", "0.2", "--kappa", "2", "--alpha", "0.1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hessian"] == dp.predict(LAW, kappa=2, alpha=0.1, sigma2=0.2).hessian


def test_curve_csv_and_ranges(tmp_path):
    out = tmp_path / "c.csv"
    assert main(["curve", *LAW_ARGS, "--sigma2", "0.2", "--kappa", "0.5:3:6", "--alpha", "log:0.05:0.5:3",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 18
    kappas = sorted({float(r["kappa"]) for r in rows})
    assert np.allclose(kappas, np.linspace(0.5, 3, 6))
    r = rows[7]
    ref = dp.predict(LAW, kappa=float(r["kappa"]), alpha=float(r["alpha"]), sigma2=0.2)
    # the curve is a grid (thresholds warm-started along alpha): equal to predict to a few ulps
    assert float(r["magnitude"]) == pytest.approx(ref.magnitude, rel=1e-13, abs=0)
    assert float(r["small_oracle"]) == ref.small_oracle


def test_curve_json(capsys):
    assert main(["curve", *LAW_ARGS, "--sigma2", "0.2", "--kappa", "1,2", "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert [r["kappa"] for r in recs] == [1.0, 2.0] and float(recs[0]["dense"]) == math.inf


@pytest.mark.parametrize("args,needle", [
    (["predict", *LAW_ARGS, "--sigma2", "0.2", "--kappa", "0", "--alpha", "0.1"], "kappa"),
    (["predict", *LAW_ARGS, "--sigma2", "0.2", "--kappa", "nan", "--alpha", "0.1"], "kappa"),
    (["predict", *LAW_ARGS, "--sigma2", "0.2", "--kappa", "2", "--alpha", "1.2"], "alpha"),
    (["predict", *LAW_ARGS, "--sigma2", "-1", "--kappa", "2", "--alpha", "0.1"], "sigma2"),
    (["predict", *LAW_ARGS, "--sigma2", "0.1", "--ridge", "-1", "--kappa", "2", "--alpha", "0.1"], "ridge"),
    (["predict", "--lam", "4,1", "--b", "1", "--sigma2", "0.1", "--kappa", "2", "--alpha", "0.1"], "same length"),
    (["predict", "--lam", "4,0", "--b", "1,1", "--sigma2", "0.1", "--kappa", "2", "--alpha", "0.1"], "lam"),
    (["predict", "--lam", "4,1", "--b", "1,1", "--weights", "0.3,0.3", "--sigma2", "0.1", "--kappa", "2",
      "--alpha", "0.1"], "sum to 1"),
    (["predict", "--lam", "4,a", "--b", "1,1", "--sigma2", "0.1", "--kappa", "2", "--alpha", "0.1"], "--lam"),
    (["predict", "--law", "/nonexistent.json", "--sigma2", "0.1", "--kappa", "2", "--alpha", "0.1"], "cannot be read"),
    (["curve", *LAW_ARGS, "--sigma2", "0.1", "--kappa", "1:2"], "--kappa"),
    (["predict", *LAW_ARGS, "--sigma2", "0.2", "--kappa", "two", "--alpha", "0.1"], "kappa"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle):
    res = run_cli(*args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.stderr
    assert res.stdout == ""
