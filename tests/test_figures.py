"""dcpredict.figures (computing), dcpredict.plotting (drawing) and ``dcpredict figure``.

* quick mode runs through the CLI and writes a PNG and a sidecar with the promised keys;
* the sidecar's theory lines equal an independent construction of the model's linear Gaussian problem
  (the theory page's fixed-world section, written out by hand here for the two-atom worlds) solved by
  ``dcpredict.predict``; its simulation equals an independent ``simulate_world`` run;
* the paper's claims hold on the committed full-size sidecars in figures/ (theory and simulation);
* ``plotting.draw`` re-renders a PNG from a sidecar file alone, and nothing imports matplotlib early.
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dcpredict import DCPredictError, Law, predict
from dcpredict.cli import main
from dcpredict.figures import WORLDS, compute_figure, make_figure, world_law, world_params
from dcpredict.plotting import draw

FIGDIR = Path(__file__).resolve().parent.parent / "figures"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _committed(name):
    path = FIGDIR / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path} not generated (run: dcpredict figure all)")
    return json.loads(path.read_text())


def _inf(v):
    return math.inf if v is None else v


# ------------------------------------------------------------------ quick runs and sidecar contents
@pytest.fixture(scope="module")
def quick_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig")
    assert main(["figure", "fig3b", "--quick", "--out-dir", str(out), "--workers", "1"]) == 0
    assert main(["figure", "fig2", "--quick", "--out-dir", str(out), "--workers", "1"]) == 0
    return out


@pytest.mark.parametrize("name", ["fig3b", "fig2"])
def test_quick_writes_png_and_sidecar(quick_dir, name):
    png, side = quick_dir / f"{name}_quick.png", quick_dir / f"{name}_quick.json"
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert 20_000 < png.stat().st_size < 400_000
    d = json.loads(side.read_text())
    assert d["command"] == f"dcpredict figure {name} --quick" and d["quick"] is True
    assert "dcpredict_version" in d and "caption" in d and "trials" in d and "seed" in d


def test_world_sidecar_keys(quick_dir):
    d = json.loads((quick_dir / "fig3b_quick.json").read_text())
    P = world_params(True)
    assert d["world"]["lam"] == WORLDS["b"]["lam"] and d["world"]["b"] == WORLDS["b"]["b"]
    assert d["world"]["weights"] == WORLDS["b"]["weights"] and d["world"]["P"] == P["P"]
    for k in ("n", "s", "sigma2", "ridge", "order"):
        assert d[k] == P[k]
    assert d["theory"]["p"] == list(range(P["s"], P["P"] + 1))     # every integer p from s to P
    for f in d["fields"]:
        assert f in d["theory"] and f in d["simulation"]
        assert set(d["simulation"][f]) >= {"mean", "stderr"}
        # inf (null) only at the interpolation threshold p = n
        nulls = [p for p, v in zip(d["theory"]["p"], d["theory"][f]) if v is None]
        assert nulls == [P["n"]], f
    assert d["simulation"]["p"] == P["ps_sim"]


def _model_problem_by_hand(which, p, P, sigma2):
    """Model of the first p (by saliency) of P features of a two-atom world, written out independently:
    the spike atom (index 0, the larger lam b^2 in both worlds) fills first."""
    spec = WORLDS[which]
    lam, b, w = (np.array(spec[k], dtype=float) for k in ("lam", "b", "weights"))
    assert lam[0] * b[0] ** 2 > lam[1] * b[1] ** 2
    f = p / P
    m0 = min(w[0], f)
    m = np.array([m0, f - m0])
    noise = sigma2 + float(np.sum((w - m) * lam * b ** 2))
    keep = m > 0
    return Law(lam[keep], math.sqrt(f) * b[keep], m[keep] / f), noise


@pytest.mark.parametrize("which", ["a", "b"])
def test_world_theory_equals_independent_model_problem(which):
    d = compute_figure(f"fig7{which}", quick=True, workers=1, cache={which: _theory_only(which)})
    P = world_params(True)
    th = d["theory"]
    for p in (P["s"], 17, 40, P["n"] - 1, P["n"] + 3, 120, P["P"]):
        law, noise = _model_problem_by_hand(which, p, P["P"], P["sigma2"])
        pred = predict(law, kappa=p / P["n"], alpha=P["s"] / p, sigma2=noise)
        i = th["p"].index(p)
        for f in d["fields"]:
            want, got = getattr(pred, f), _inf(th[f][i])
            assert got == pytest.approx(want, rel=1e-9), (p, f)
    # the horizontal line: train small on the s best (= the spike atom) features, OLS at s/n < 1
    spec = WORLDS[which]
    lam, b, w = (np.array(spec[k], dtype=float) for k in ("lam", "b", "weights"))
    frac = P["s"] / P["P"]
    assert frac <= w[0]
    noise = P["sigma2"] + (w[0] - frac) * lam[0] * b[0] ** 2 + w[1] * lam[1] * b[1] ** 2
    assert d["horizontal"]["value"] == pytest.approx(noise / (1 - P["s"] / P["n"]), rel=1e-10)


def _theory_only(which):
    from dcpredict.figures import compute_world
    return compute_world(which, quick=True, simulate=False)


def test_world_simulation_equals_simulate_world(quick_dir):
    from dcpredict import simulate_world
    d = json.loads((quick_dir / "fig3b_quick.json").read_text())
    p = d["simulation"]["p"][2]
    res = simulate_world(world_law("b"), n=d["n"], P=d["world"]["P"], ps=[p], s=d["s"], sigma2=d["sigma2"],
                         ridge=d["ridge"], order=d["order"], trials=d["trials"], seed=d["seed"], workers=1,
                         progress=False)
    for f in d["fields"]:
        assert d["simulation"][f]["mean"][2] == pytest.approx(float(res.mean[f][0]), rel=1e-12)
        assert d["simulation"][f]["stderr"][2] == pytest.approx(float(res.stderr[f][0]), rel=1e-9)


def test_rf_dense_line_is_the_mean_over_first_layers(quick_dir):
    """The dense line (exact per layer, no DC draws) equals the mean over the K first layers of the
    equivalent-LGP dense risk, rebuilt here from the documented seeds."""
    from dcpredict import random_features as rf
    from dcpredict.correlated import predict_correlated
    d = json.loads((quick_dir / "fig2_quick.json").read_text())
    P = d["params"]
    u = np.random.default_rng(np.random.SeedSequence([P["seed"], 0])).standard_normal(P["d"])
    u /= np.linalg.norm(u)
    pmax = max(P["ps_theory"] + P["ps_sim"])
    layers = [rf.draw_first_layer(pmax, P["d"], np.random.default_rng(np.random.SeedSequence([P["seed"], 1, k])))
              for k in range(P["layers"])]
    pan = d["panels"][str(P["budgets"][0])]
    for i in (0, len(pan["theory"]["p"]) - 1):
        p = pan["theory"]["p"][i]
        vals = []
        for W in layers:
            lgp = rf.equivalent_lgp(W[:p], u)
            vals.append(predict_correlated(lgp.Sigma, lgp.beta, sigma2=lgp.sigma2, n=P["n"], alpha=1.0,
                                           draws=2).dense)
        assert pan["theory"]["dense"][i] == pytest.approx(float(np.mean(vals)), rel=1e-10)


# ------------------------------------------------------------------ the paper's claims, committed figures
@pytest.mark.parametrize("name", ["fig3a", "fig7b"])
def test_committed_theory_equals_independent_model_problem(name):
    """The committed full-size lines are the hand-built model problems of the test above, at a few p."""
    d = _committed(name)
    which, P, n = name[4], d["world"]["P"], d["n"]
    assert d["world"]["lam"] == WORLDS[which]["lam"] and d["world"]["b"] == WORLDS[which]["b"]
    for p in (d["s"], n - 1, n + 1, 437, P):
        law, noise = _model_problem_by_hand(which, p, P, d["sigma2"])
        pred = predict(law, kappa=p / n, alpha=d["s"] / p, sigma2=noise)
        i = d["theory"]["p"].index(p)
        for f in d["fields"]:
            assert _inf(d["theory"][f][i]) == pytest.approx(getattr(pred, f), rel=1e-9), (p, f)


def test_fig3b_claims():
    d = _committed("fig3b")
    P, so = d["world"]["P"], d["horizontal"]["value"]
    i = d["theory"]["p"].index(P)
    th = {f: d["theory"][f][i] for f in d["fields"]}
    assert th["hessian"] < th["magnitude"] - 0.05               # Hessian beats magnitude at p = P
    assert th["hessian"] < so - 0.05 and th["oracle_pruned"] < so - 0.05   # both below the horizontal line
    # the same in the simulation at p = P, beyond 4 standard errors
    sim = d["simulation"]
    j = sim["p"].index(P)
    m = {f: sim[f]["mean"][j] for f in ("hessian", "magnitude", "oracle_pruned", "small_oracle")}
    se = {f: sim[f]["stderr"][j] for f in m}
    assert m["magnitude"] - m["hessian"] > 4 * math.hypot(se["magnitude"], se["hessian"])
    for f in ("hessian", "oracle_pruned"):
        assert m["small_oracle"] - m[f] > 4 * math.hypot(se["small_oracle"], se[f])


def test_fig7b_claims():
    d = _committed("fig7b")
    th, ps = d["theory"], d["theory"]["p"]
    i = ps.index(d["world"]["P"])
    for rule in ("magnitude", "hessian"):                       # retraining hurts at p = P
        assert th[f"{rule}_retrained"][i] > th[rule][i] + 0.05
    n = d["n"]
    for p in (n - 10, n + 10):                                  # and helps near p = n
        k = ps.index(p)
        assert min(th["magnitude_retrained"][k], th["hessian_retrained"][k]) < \
            0.5 * min(th["magnitude"][k], th["hessian"][k])
    sim = d["simulation"]
    j = sim["p"].index(d["world"]["P"])
    for rule in ("magnitude", "hessian"):
        gap = sim[f"{rule}_retrained"]["mean"][j] - sim[rule]["mean"][j]
        assert gap > 4 * math.hypot(sim[f"{rule}_retrained"]["stderr"][j], sim[rule]["stderr"][j])


def test_fig3a_magnitude_equals_hessian():
    d = _committed("fig3a")
    assert d["world"]["lam"][0] == d["world"]["lam"][1]        # Sigma = I
    for a, b in zip(d["theory"]["magnitude"], d["theory"]["hessian"]):
        assert (a is None and b is None) or a == pytest.approx(b, rel=1e-12)
    sim = d["simulation"]
    for a, b in zip(sim["magnitude"]["mean"], sim["hessian"]["mean"]):
        assert a == pytest.approx(b, rel=1e-12)                 # the same support in every trial


@pytest.mark.parametrize("name", ["fig3a", "fig3b", "fig7a", "fig7b"])
def test_committed_world_simulation_agrees_with_theory(name):
    """Markers within 5 standard errors of the lines away from the peak (finite-size margin 2 %)."""
    d = _committed(name)
    th, sim, n = d["theory"], d["simulation"], d["n"]
    for f in d["fields"]:
        for p, m, se in zip(sim["p"], sim[f]["mean"], sim[f]["stderr"]):
            if abs(p / n - 1) < 0.4:
                continue
            t = th[f][th["p"].index(p)]
            assert abs(m - t) < 5 * se + 0.02 * t, (name, f, p, m, t, se)


@pytest.mark.parametrize("name", ["fig2", "fig4"])
def test_committed_rf_lines(name):
    d = _committed(name)
    assert d["theory_mc_error"]["max_relative"] < 0.01          # Monte Carlo error below the line width
    for pan in d["panels"].values():
        th = pan["theory"]
        for f in d["fields"]:
            assert [p for p, v in zip(th["p"], th[f]) if v is None] in ([], [d["n"]]), f
        if "small_oracle" in th:                                # no gaps in the oracle small-model line
            assert None not in th["small_oracle"]
        if "dense" in th:                                       # train small = the width-s network
            assert th["p"][0] == pan["s"] and pan["horizontal"]["value"] == th["dense"][0]
    assert "Gaussian-equivalence gap" in d["caption"]


def test_fig2_grow_then_prune_beats_training_small():
    """The paper's principle in random features: at the largest width, magnitude pruning to s beats a
    width-s network trained directly (theory, and simulation beyond 4 standard errors)."""
    d = _committed("fig2")
    for pan in d["panels"].values():
        th, sim = pan["theory"], pan["simulation"]
        assert th["magnitude"][-1] < 0.9 * pan["horizontal"]["value"]
        assert sim["p"][0] == pan["s"] and sim["p"][-1] == th["p"][-1]
        small, big = sim["dense"], sim["magnitude"]              # dense at p = s is the width-s network
        assert small["mean"][0] - big["mean"][-1] > 4 * math.hypot(small["stderr"][0], big["stderr"][-1])


# ------------------------------------------------------------------ drawing
def test_draw_rerenders_from_committed_sidecar(tmp_path):
    for name in ("fig3b", "fig4"):
        _committed(name)
        out = draw(FIGDIR / f"{name}.json", tmp_path / f"{name}.png")
        assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 20_000


def test_draw_rejects_unknown_kind(tmp_path):
    with pytest.raises(DCPredictError, match="kind"):
        draw({"kind": "pie"}, tmp_path / "x.png")


def test_no_matplotlib_on_import_and_no_pyplot_when_drawing(quick_dir):
    code = ("import sys, dcpredict, dcpredict.figures, dcpredict.plotting\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported on import'\n"
            f"dcpredict.plotting.draw({str(quick_dir / 'fig3b_quick.json')!r}, {str(quick_dir / 're.png')!r})\n"
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (quick_dir / "re.png").read_bytes()[:8] == PNG_MAGIC


# ------------------------------------------------------------------ bad input
def test_bad_figure_name_and_workers():
    with pytest.raises(DCPredictError, match="name"):
        make_figure("fig3")
    with pytest.raises(DCPredictError, match="workers"):
        make_figure("fig3a", quick=True, workers=0)


def test_cli_rejects_unknown_figure():
    with pytest.raises(SystemExit) as exc:
        main(["figure", "fig9"])
    assert exc.value.code == 2


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fig3a", "fig4", "fig7b"])
def test_other_figures_quick(tmp_path, name):
    res = make_figure(name, quick=True, out_dir=tmp_path, workers=1)[0]
    assert res.png.read_bytes()[:8] == PNG_MAGIC
    assert json.loads(res.sidecar.read_text())["figure"] == name


@pytest.mark.slow
def test_figure_numbers_do_not_depend_on_workers(tmp_path):
    a = make_figure("fig4", quick=True, out_dir=tmp_path / "a", workers=1)[0].data
    b = make_figure("fig4", quick=True, out_dir=tmp_path / "b", workers=2)[0].data
    assert a["panels"] == b["panels"]
