"""dcpredict.validation and ``dcpredict validate``: the quick grid passes and the report holds the table."""
import math
import re

import pytest

from dcpredict import predict
from dcpredict.cli import main
from dcpredict.validation import (BASE_MARGIN, SLOPE_MARGIN, ValidationReport, margin_for, run_validation,
                                  validation_cases)


def test_margin_rule():
    # dense/pruned fields use rho = p/n, support fits rho = s/n
    assert margin_for("dense", n=200, p=100, s=30) == pytest.approx(BASE_MARGIN + SLOPE_MARGIN / 100)
    assert margin_for("oracle", n=200, p=600, s=180) == pytest.approx(BASE_MARGIN + SLOPE_MARGIN / 20)
    assert margin_for("magnitude_retrained", n=200, p=250, s=75) == pytest.approx(BASE_MARGIN + SLOPE_MARGIN / 125)
    assert math.isinf(margin_for("dense", n=100, p=100, s=10))


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("val")
    return run_validation(quick=True, out_dir=out, workers=2), out


def test_quick_validation_passes(quick_report):
    rep, out = quick_report
    assert rep.passed, rep.summary()
    P = validation_cases(True)
    n_cases = len(P["laws"]) * len(P["kappas"]) * len(P["alphas"]) * len(P["ridges"])
    assert rep.totals()["cases"] == n_cases
    assert len(rep.checked) == 8 * n_cases and len(rep.rows) == 11 * n_cases
    assert rep.max_abs_z < 6


def test_quick_report_rows_are_theory_and_simulation(quick_report):
    rep, out = quick_report
    P = validation_cases(True)
    row = next(r for r in rep.rows if r["field"] == "hessian" and r["ridge"] > 0 and r["kappa"] == 3.0)
    pred = predict(P["laws"][row["law"]], kappa=3.0, alpha=row["alpha"], sigma2=P["sigma2"], ridge=row["ridge"])
    assert row["theory"] == pytest.approx(pred.hessian, rel=1e-12)
    assert row["z"] == pytest.approx((row["sim"] - row["theory"]) / row["se"])
    text = (out / "REPORT_quick.md").read_text()
    assert "`dcpredict validate --quick`" in text and "**PASS**" in text
    table = [l for l in text.splitlines() if re.match(r"\| (three-atom|power-law-empirical) \|", l)]
    assert len(table) == len(rep.rows)
    assert f"{row['theory']:.5g}" in text
    assert (out / "summary_quick.png").stat().st_size > 10_000


def test_failure_detection_and_cli_exit_1(monkeypatch, capsys, tmp_path):
    bad = {"law": "x", "kappa": 2.0, "alpha": 0.5, "ridge": 0.0, "n": 100, "p": 200, "s": 100, "field": "dense",
           "theory": 1.0, "sim": 1.5, "se": 0.01, "z": 50.0, "rel": 0.5, "margin": 0.05, "allowed": 0.09,
           "status": "FAIL"}
    rep = ValidationReport(True, {}, [bad])
    assert not rep.passed and "FAIL x kappa=2" in rep.summary()
    import dcpredict.validation as V
    monkeypatch.setattr(V, "run_validation", lambda **kw: rep)
    assert main(["validate", "--quick", "--out-dir", str(tmp_path)]) == 1
    assert "1 comparison(s) failed" in capsys.readouterr().err
