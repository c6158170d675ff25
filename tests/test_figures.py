"""dcpredict.figures and ``dcpredict figure``: files, sidecar fidelity, and that the phenomena are there.

The sidecar JSON must hold the plotted numbers: its theory arrays are compared with independent
``predict()`` calls and its simulation means with an independent ``simulate()`` run of the same point.
The phenomena tests use ``predict`` on the fig3/fig7 law (the paper's Figs. 3 and 7, THEORY.md s.2-4).
"""
import json
import math

import numpy as np
import pytest

from dcpredict import predict, simulate
from dcpredict.cli import main
from dcpredict.figures import FIG3_SIGMA2, fig3_law, make_figure


@pytest.fixture(scope="module")
def fig3_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig")
    rc = main(["figure", "fig3", "--quick", "--out-dir", str(out), "--workers", "1"])
    assert rc == 0
    return out


def test_fig3_quick_writes_png_and_sidecar(fig3_quick):
    png, side = fig3_quick / "fig3_quick.png", fig3_quick / "fig3_quick.json"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 10_000 < png.stat().st_size < 200_000
    d = json.loads(side.read_text())
    assert d["command"] == "dcpredict figure fig3 --quick"
    for key in ("law", "sigma2", "n", "trials", "seed", "alphas", "kappas_sim", "kappas_theory", "version"):
        assert key in d
    assert d["sigma2"] == FIG3_SIGMA2 and d["law_spec"]["lam"] == list(fig3_law().lam)


def test_fig3_sidecar_theory_equals_predict(fig3_quick):
    d = json.loads((fig3_quick / "fig3_quick.json").read_text())
    law = fig3_law()
    ks = d["kappas_theory"]
    for alpha in d["alphas"]:
        th = d["theory"][f"{alpha:g}"]
        for i in (0, 7, len(ks) // 2, len(ks) - 1):
            pred = predict(law, kappa=ks[i], alpha=alpha, sigma2=d["sigma2"])
            for f in ("dense", "magnitude", "hessian", "small_oracle"):
                want = getattr(pred, f)
                got = th[f][i]
                if math.isfinite(want):
                    assert got == pytest.approx(want, rel=1e-10), (alpha, ks[i], f)
                else:
                    assert got is None


def test_fig3_sidecar_simulation_equals_simulate(fig3_quick):
    d = json.loads((fig3_quick / "fig3_quick.json").read_text())
    alpha, kappa = d["alphas"][0], d["kappas_sim"][0]
    res = simulate(fig3_law(), kappa=kappa, alpha=alpha, sigma2=d["sigma2"], n=d["n"], trials=d["trials"],
                   seed=d["seed"], workers=1)
    sim = d["simulation"][f"{alpha:g}"]
    for f in ("dense", "magnitude", "hessian", "small_oracle"):
        assert sim[f]["kappa"][0] == kappa
        assert sim[f]["mean"][0] == pytest.approx(res.mean[f], rel=1e-12)
        assert sim[f]["stderr"][0] == pytest.approx(res.stderr[f], rel=1e-9)


def test_fig3_findings_match_theory(fig3_quick):
    d = json.loads((fig3_quick / "fig3_quick.json").read_text())
    f02 = d["findings"]["0.2"]
    # pruning the big model beats the oracle on a range of kappa > 1 around alpha kappa = 1 (kappa = 5)
    assert any(lo < 5.0 < hi for lo, hi in f02["prune_beats_oracle_kappa_ranges"])
    assert f02["oracle_peak_kappa"] == pytest.approx(5.0)


# ---------------------------------------------------------------- the phenomena, from predict
LAW = fig3_law()


def _p(kappa, alpha):
    return predict(LAW, kappa=kappa, alpha=alpha, sigma2=FIG3_SIGMA2)


@pytest.mark.parametrize("alpha", [0.2, 0.5])
def test_pruned_double_descent(alpha):
    """Pruned risk peaks at kappa = 1 (inherits the dense peak) and descends again beyond it."""
    best = lambda k: min(_p(k, alpha).magnitude, _p(k, alpha).hessian)
    ks = np.geomspace(1.3, 10, 40)
    vals = np.array([best(k) for k in ks])
    i = int(np.argmin(vals))
    assert 0 < i < len(ks) - 1                       # an interior minimum beyond the peak
    assert best(1.02) > 1.5 * vals[i]                 # the peak near kappa = 1
    assert vals[-1] > vals[i] * 1.02                  # and the risk rises again for very large models


def test_pruning_big_beats_oracle_somewhere_and_not_everywhere():
    a = 0.2
    at5 = _p(5.0, a)                                  # oracle peak alpha kappa = 1
    assert min(at5.magnitude, at5.hessian) < at5.small_oracle
    at3 = _p(3.0, a)
    assert at3.hessian < at3.small_oracle                   # inside the shaded range of fig3
    at06 = _p(0.6, a)
    assert at06.small_oracle < min(at06.magnitude, at06.hessian)   # the oracle wins in the OLS regime here
    assert _p(3.0, a).hessian < _p(3.0, a).magnitude  # Hessian and magnitude differ on this law


@pytest.mark.parametrize("alpha", [0.2, 0.5])
def test_retraining_hurts_except_near_peak(alpha):
    """The paper's Fig. 7 message for diagonal Sigma."""
    for k in (0.3, 2.5, 8.0):
        p = _p(k, alpha)
        assert min(p.magnitude_retrained, p.hessian_retrained) > min(p.magnitude, p.hessian), k
    p = _p(0.97, alpha)
    assert min(p.magnitude_retrained, p.hessian_retrained) < min(p.magnitude, p.hessian)


def test_bad_figure_name_and_workers():
    with pytest.raises(ValueError, match="name"):
        make_figure("fig5")
    with pytest.raises(ValueError, match="workers"):
        make_figure("fig3", quick=True, workers=0)


def test_cli_rejects_unknown_figure(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["figure", "fig9"])
    assert exc.value.code == 2


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fig2", "fig4", "fig7"])
def test_other_figures_quick(tmp_path, name):
    res = make_figure(name, quick=True, out_dir=tmp_path, workers=1)[0]
    assert res.png.stat().st_size < 200_000
    d = json.loads(res.sidecar.read_text())
    assert d["figure"] == name and d["quick"] is True


@pytest.mark.slow
def test_rf_figure_numbers_do_not_depend_on_workers(tmp_path):
    a = make_figure("fig4", quick=True, out_dir=tmp_path / "a", workers=1)[0].data
    b = make_figure("fig4", quick=True, out_dir=tmp_path / "b", workers=2)[0].data
    assert a["theory"] == b["theory"] and a["simulation"] == b["simulation"]
