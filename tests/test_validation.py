"""dcpredict.validation and ``dcpredict validate``: the quick grid passes and the report holds the table."""
import math
import re

import pytest

from dcpredict import predict
from dcpredict.cli import main
from dcpredict.simulation import SIM_FIELDS
from dcpredict.validation import (BASE_MARGIN, SLOPE_MARGIN, ValidationReport, margin_for, run_validation,
                                  validation_cases)


def test_margin_rule():
    # dense/pruned fields use rho = p/n, support fits rho = s/n
    assert margin_for("dense", n=200, p=100, s=30) == pytest.approx(BASE_MARGIN + SLOPE_MARGIN / 100)
    assert margin_for("small_oracle", n=200, p=600, s=180) == pytest.approx(BASE_MARGIN + SLOPE_MARGIN / 20)
    assert margin_for("magnitude_retrained", n=200, p=250, s=75) == pytest.approx(BASE_MARGIN + SLOPE_MARGIN / 125)
    assert math.isinf(margin_for("dense", n=100, p=100, s=10))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """``dcpredict validate --quick`` exactly as CI runs it (through the CLI)."""
    out = tmp_path_factory.mktemp("val")
    import io
    import contextlib
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["validate", "--quick", "--out-dir", str(out), "--workers", "2"])
    return rc, buf.getvalue(), out


def _table(text):
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 13 and cells[0] in validation_cases(True)["laws"]:
            rows.append(cells)
    return rows


def test_quick_validation_passes(quick_run):
    rc, out_text, out = quick_run
    assert rc == 0, out_text
    assert "0 fail" in out_text
    P = validation_cases(True)
    n_cases = len(P["laws"]) * len(P["kappas"]) * len(P["alphas"]) * len(P["ridges"])
    table = _table((out / "REPORT_quick.md").read_text())
    rows = [r for r in table if r[6] in SIM_FIELDS]              # the fixed-(kappa, alpha) table
    assert len(rows) == len(SIM_FIELDS) * n_cases
    beyond = [r for r in table if r[6].startswith(("quantized", "iterative"))]   # quantization, iterative pruning
    assert len(beyond) >= 6 and all(r[12] == "pass" for r in beyond)
    status = [r[12] for r in rows]
    assert status.count("pass") == 9 * n_cases and status.count("info") == 3 * n_cases
    assert max(abs(float(r[10])) for r in rows if r[12] == "pass") < 6


def test_quick_report_rows_are_theory_and_simulation(quick_run):
    rc, _, out = quick_run
    P = validation_cases(True)
    text = (out / "REPORT_quick.md").read_text()
    assert "`dcpredict validate --quick`" in text and "**PASS**" in text
    rows = [r for r in _table(text) if r[6] == "hessian" and float(r[3]) > 0 and float(r[1]) == 3.0]
    assert rows
    for r in rows:
        pred = predict(P["laws"][r[0]], kappa=3.0, alpha=float(r[2]), sigma2=P["sigma2"], ridge=float(r[3]))
        assert float(r[7]) == pytest.approx(pred.hessian, rel=1e-4)      # printed with 5 digits
        mean, se = (float(x) for x in r[8].split("+-"))
        assert float(r[10]) == pytest.approx((mean - pred.hessian) / se, abs=0.05 + 1e-3 * abs(float(r[10])))
    assert (out / "summary_quick.png").stat().st_size > 10_000


def test_run_validation_object():
    """The API object on a tiny grid (no files): theory equals predict, z is (sim - theory)/se."""
    import dcpredict.validation as V
    small = validation_cases(True)
    small = {**small, "laws": {"power-law-empirical": small["laws"]["power-law-empirical"]}, "kappas": [3.0],
             "ridges": [0.2], "trials": 20}
    orig = V.validation_cases
    try:
        V.validation_cases = lambda quick: small
        rep = run_validation(quick=True, out_dir=None, workers=1)
    finally:
        V.validation_cases = orig
    assert len(rep.rows) == len(SIM_FIELDS) and rep.report_path is None
    row = next(r for r in rep.rows if r["field"] == "hessian")
    pred = predict(small["laws"]["power-law-empirical"], kappa=3.0, alpha=0.5, sigma2=small["sigma2"], ridge=0.2)
    assert row["theory"] == pytest.approx(pred.hessian, rel=1e-12)
    assert row["z"] == pytest.approx((row["sim"] - row["theory"]) / row["se"])
    assert row["margin"] == pytest.approx(margin_for("hessian", n=100, p=300, s=150))


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
