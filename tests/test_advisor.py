"""dcpredict.advisor: advise() and the phase map in a fixed world (issue 8, item 5).

Every number is checked against an independent computation: a brute-force loop of predict_world over
every integer p, an exhaustive predict_world_curve over every integer (for the refined search of a large
world), closed forms of OLS on a known support, and predict_world values at single cells of the map.
"""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from dcpredict import DCPredictError, Law, predict_world, predict_world_curve
from dcpredict.advisor import PHASES, PRUNE_RULES, advise, phase_map
from dcpredict.cli import main

#: Sigma = I, a spike of 20 % of the features with B = 2, the rest B = 0.5: with n = 200, P = 1000, s = 40,
#: sigma^2 = 0.1, the best pruned model is interior, between n and P (p = 589 by the brute force below)
ISO_SPIKE = Law([1.0, 1.0], [2.0, 0.5], [0.2, 0.8])
#: the fig3b world: 4 % of the features with variance 10, B = 1 everywhere; the risk still falls at p = P
FIG3B = Law([10.0, 1.0], [1.0, 1.0], [0.04, 0.96])
#: all signal on 10 % of the features
SPARSE = Law([1.0, 1.0], [2.0, 0.0], [0.1, 0.9])


def brute_force(law, *, n, P, s, sigma2, rules=PRUNE_RULES, order="saliency"):
    """min over every integer p in [s, P] and every rule of predict_world: (risk, p, rule), first p on ties."""
    best = (math.inf, None, None)
    for p in range(s, P + 1):
        r = predict_world(law, n=n, P=P, p=p, s=s, sigma2=sigma2, order=order)
        for rule in rules:
            v = getattr(r, rule)
            if v < best[0]:
                best = (v, p, rule)
    return best


def test_interior_optimum_equals_brute_force():
    adv = advise(ISO_SPIKE, sigma2=0.1, n=200, s=40, P=1000)
    risk, p, rule = brute_force(ISO_SPIKE, n=200, P=1000, s=40, sigma2=0.1)
    assert 200 < p < 1000                                   # interior, between n and P
    assert adv.best_p == p and adv.best_rule == rule
    assert adv.best_risk == pytest.approx(risk, rel=1e-12)
    assert adv.rule_optima["random_retrained"]["p"] == 40    # flat (= small oracle) up to p = 200: the smallest
    assert not adv.best_at_edge
    assert adv.exhaustive and adv.ps.size == 1000 - 40 + 1
    # each rule's own optimum is that rule's brute-force minimum
    for r in PRUNE_RULES:
        vals = [getattr(predict_world(ISO_SPIKE, n=200, P=1000, p=q, s=40, sigma2=0.1), r)
                for q in (adv.rule_optima[r]["p"] - 1, adv.rule_optima[r]["p"] + 1) if 40 <= q <= 1000]
        assert all(adv.rule_optima[r]["risk"] <= v * (1 + 1e-9) for v in vals)
    # pruning the interior model beats the oracle small model and the zero model, clearly
    assert adv.verdicts["small_oracle"]["verdict"] == "beats"
    assert adv.verdicts["zero_model"]["verdict"] == "beats"
    # small oracle by hand: OLS on 40 spike features (s/n = 0.2), the rest of the signal is noise
    noise = 0.1 + (0.2 * 4 + 0.8 * 0.25) - 40 / 1000 * 4
    assert adv.small_oracle == pytest.approx(noise / (1 - 0.2), rel=1e-12)
    assert adv.zero_model == pytest.approx(0.1 + 0.2 * 4 + 0.8 * 0.25, rel=1e-14)


def test_random_order_brute_force():
    adv = advise(ISO_SPIKE, sigma2=0.1, n=60, s=12, P=150, order="random")
    risk, p, rule = brute_force(ISO_SPIKE, n=60, P=150, s=12, sigma2=0.1, order="random")
    assert (adv.best_p, adv.best_rule) == (p, rule) and adv.best_risk == pytest.approx(risk, rel=1e-12)


def test_large_world_refined_search_finds_the_integer_minimum():
    """P - s > 2000: a grid refined to integers must find the minimum of an exhaustive integer sweep.

    The reported p is the smallest integer whose risk is within SAME_RISK = 1e-10 (relative) of the
    lowest (the curve is that flat over a few integers at this size); computed here from the sweep.
    """
    n, P, s = 10000, 50000, 2000
    adv = advise(ISO_SPIKE, sigma2=0.1, n=n, s=s, P=P)
    assert not adv.exhaustive and adv.ps.size < (P - s + 1) / 5
    full = predict_world_curve(ISO_SPIKE, n=n, P=P, s=s, sigma2=0.1, ps=np.arange(s, P + 1))
    for r in PRUNE_RULES:
        v = np.asarray(getattr(full, r))
        low = float(v.min())
        p_want = int(full.ps[np.flatnonzero(v <= low * (1 + 1e-10))[0]])
        assert adv.rule_optima[r]["p"] == p_want, r
        assert adv.rule_optima[r]["risk"] == pytest.approx(low, rel=1e-10), r
    assert n < adv.best_p < P and adv.best_rule == "magnitude"           # interior, as at n = 200


def test_neighbour_check_walks_to_the_integer_minimum_and_rejects_disagreement():
    from dcpredict.advisor import _verify
    world = dict(n=200, P=1000, s=40, sigma2=0.1, ridge=0.0, order="saliency")
    start = 600                                             # the minimum is at 589 (brute force above)
    r0 = predict_world(ISO_SPIKE, p=start, **{k: v for k, v in world.items() if k != "order"}).magnitude
    p, risk = _verify(ISO_SPIKE, start, "magnitude", r0, cache={}, **world)
    assert p == 589
    assert risk == pytest.approx(predict_world(ISO_SPIKE, n=200, P=1000, p=589, s=40, sigma2=0.1).magnitude, rel=1e-14)
    with pytest.raises(RuntimeError, match="disagree"):
        _verify(ISO_SPIKE, start, "magnitude", r0 * 1.001, cache={}, **world)


def test_best_at_edge_when_the_risk_still_falls_at_P():
    adv = advise(FIG3B, sigma2=0.1, n=200, s=40, P=1000)
    at_P = predict_world(FIG3B, n=200, P=1000, p=1000, s=40, sigma2=0.1)
    below = predict_world(FIG3B, n=200, P=1000, p=999, s=40, sigma2=0.1)
    assert at_P.hessian < below.hessian                      # still falling at the edge
    assert adv.best_at_edge and adv.best_p == 1000 and adv.best_rule == "hessian"
    assert adv.best_risk == pytest.approx(at_P.hessian, rel=1e-12)
    assert "the edge of the world" in adv.summary()
    assert adv.verdicts["small_oracle"]["verdict"] == "beats" and adv.verdicts["zero_model"]["verdict"] == "beats"
    assert not adv.nothing_beats_zero


def test_exact_tie_with_small_oracle_is_a_tie():
    """All signal on 40 = s features: the best is to fit exactly them (p = s), which IS the oracle small model."""
    adv = advise(SPARSE, sigma2=0.1, n=200, s=40, P=400)
    assert adv.best_p == 40
    assert adv.best_risk == pytest.approx(0.1 / (1 - 40 / 200), rel=1e-12)      # OLS on the true support
    assert adv.small_oracle == pytest.approx(0.1 / (1 - 40 / 200), rel=1e-12)
    assert adv.verdicts["small_oracle"]["verdict"] == "ties"
    assert "BEATS it" not in [ln for ln in adv.summary().splitlines() if ln.startswith("small_oracle")][0]


def test_tolerance_decides_between_beats_and_ties():
    law = ISO_SPIKE
    adv = advise(law, sigma2=0.58, n=200, s=60, P=400)
    pw = predict_world(law, n=200, P=400, p=adv.best_p, s=60, sigma2=0.58)
    small = (0.58 + 1.0 - 60 / 400 * 4) / (1 - 60 / 200)     # OLS on 60 spike features, by hand
    gap = abs(getattr(pw, adv.best_rule) / small - 1)
    assert 0.01 < gap < 0.2
    assert adv.verdicts["small_oracle"]["verdict"] == "beats"
    wide = advise(law, sigma2=0.58, n=200, s=60, P=400, tol=gap * 1.01)
    assert wide.verdicts["small_oracle"]["verdict"] == "ties"
    narrow = advise(law, sigma2=0.58, n=200, s=60, P=400, tol=gap * 0.99)
    assert narrow.verdicts["small_oracle"]["verdict"] == "beats"


def test_loses_to_small_oracle():
    """Sparse signal, models grown by random features: pruning them cannot match OLS on the true support."""
    adv = advise(SPARSE, sigma2=0.1, n=200, s=40, P=400, order="random")
    risk, p, rule = brute_force(SPARSE, n=200, P=400, s=40, sigma2=0.1, order="random")
    assert (adv.best_p, adv.best_rule) == (p, rule) and adv.best_risk == pytest.approx(risk, rel=1e-12)
    assert adv.small_oracle == pytest.approx(0.1 / (1 - 40 / 200), rel=1e-12)  # OLS on the 40 signal features
    assert risk > 2 * adv.small_oracle
    assert adv.verdicts["small_oracle"]["verdict"] == "loses to"
    assert adv.verdicts["small_random"]["verdict"] == "beats"


def test_nothing_beats_zero_on_pure_noise_world():
    law = Law([1.0], [0.1])                                # signal 0.01 against noise 1
    adv = advise(law, sigma2=1.0, n=50, s=10, P=100)
    risk, _, _ = brute_force(law, n=50, P=100, s=10, sigma2=1.0)
    zero = 1.0 + 0.01
    assert adv.zero_model == pytest.approx(zero, rel=1e-14)
    assert risk >= zero * (1 - 1e-3)                       # the brute force agrees nothing beats 0
    assert adv.nothing_beats_zero
    assert adv.verdicts["zero_model"]["verdict"] != "beats"
    assert "nothing beats the zero model" in adv.summary()
    assert adv.to_dict()["nothing_beats_zero"] is True


def test_empirical_law_gives_P_and_other_laws_need_it():
    lam = [10.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    b = [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    adv = advise(Law.empirical(lam, b), sigma2=0.1, n=4, s=2)
    assert adv.P == 8 and "empirical" in adv.P_from
    same = advise(Law(lam, b), sigma2=0.1, n=4, s=2, P=8)
    assert (adv.best_p, adv.best_rule) == (same.best_p, same.best_rule)
    assert adv.best_risk == pytest.approx(same.best_risk, rel=1e-14)
    with pytest.raises(DCPredictError, match=r"\bP\b.*required"):
        advise(Law(lam, b), sigma2=0.1, n=4, s=2)


@pytest.mark.parametrize("kwargs, name", [
    (dict(sigma2=0.1, n=200, s=40), "P"),                  # no P for a non-empirical law
    (dict(sigma2=0.1, n=200, s=40, P=30), "s"),            # P < s
    (dict(sigma2=0.1, n=200, s=40.5, P=100), "s"),          # non-integer s
    (dict(sigma2=0.1, n=200, s=0, P=100), "s"),
    (dict(sigma2=-1.0, n=200, s=4, P=100), "sigma2"),
    (dict(sigma2=0.1, n=0, s=4, P=100), "n"),
    (dict(sigma2=0.1, n=200, s=4, P=100, ridge=-1), "ridge"),
    (dict(sigma2=0.1, n=200, s=4, P=100, order="sorted"), "order"),
    (dict(sigma2=0.1, n=200, s=4, P=100, tol=0.7), "tol"),
    (dict(sigma2=0.1, n=200, s=4, P=100, rules=("dense",)), "rules"),
])
def test_bad_input_names_argument(kwargs, name):
    with pytest.raises(DCPredictError, match=rf"\b{name}\b"):
        advise(FIG3B, **kwargs)


def test_result_contract():
    adv = advise(FIG3B, sigma2=0.1, n=200, s=40, P=300)
    d = adv.to_dict()
    json.dumps(d, allow_nan=False)
    assert isinstance(d["best"]["p"], int) and d["inputs"]["s"] == 40 and d["inputs"]["world"]["P"] == 300
    df = adv.to_dataframe()
    assert set(df["option"]) == set(PRUNE_RULES) | {"small_random", "small_top_variance", "small_oracle", "zero_model"}
    text = adv.summary()
    assert sum(ln.startswith("BEST") for ln in text.splitlines()) == 1
    assert "P = 300" in text and "n = 200" in text and "s = 40" in text and "saliency order" in text
    assert "Advice(" in repr(adv) and "p=" in repr(adv)


def test_import_does_not_load_matplotlib():
    code = "import dcpredict, dcpredict.advisor, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_phase_map_same_model_as_the_table(tmp_path):
    adv = advise(ISO_SPIKE, sigma2=0.58, n=200, s=60, P=400)
    pm = adv.phase_map(tmp_path / "map.png", ps=[30, 60, 80, 150, 300, 400], ss=[10, 60, 200])
    assert (tmp_path / "map.png").stat().st_size > 5000
    assert pm.mark == (adv.best_p, 60)
    j = int(np.flatnonzero(pm.ss == 60)[0])
    i = int(np.flatnonzero(pm.ps == adv.best_p)[0])
    assert pm.pruned[j, i] == pytest.approx(adv.best_risk, rel=1e-12)
    beats_all = all(adv.verdicts[k]["verdict"] == "beats" for k in ("small_oracle", "small_top_variance", "zero_model"))
    assert beats_all and PHASES[pm.category[j, i]] == "pruning a bigger model"
    # every feasible cell against predict_world computed here
    for jj, s in enumerate(pm.ss):
        for ii, p in enumerate(pm.ps):
            if p < s:
                assert pm.category[jj, ii] == -1
                continue
            w = predict_world(ISO_SPIKE, n=200, P=400, p=int(p), s=int(s), sigma2=0.58)
            pruned = min(getattr(w, r) for r in PRUNE_RULES)
            options = [pruned, w.small_oracle, w.small_top_variance, w.zero_model]
            low = min(options)
            tied = [q for q, v in enumerate(options) if abs(v - low) <= 1e-3 * max(v, low)]
            want = max(tied)                                   # the simplest tied option (zero model first)
            assert pm.category[jj, ii] == want, (p, s)
    d = pm.to_dict()
    assert "NaN" not in json.dumps(d)                       # inf (s = n, ridge 0) is allowed, nan never
    assert d["mark"] == {"p": adv.best_p, "s": 60}
    assert all((d["pruned"][jj][ii] is None) == (pm.category[jj, ii] < 0)
               for jj in range(pm.ss.size) for ii in range(pm.ps.size))
    assert "cells" in pm.summary() and len(pm.to_dataframe()) == int(np.sum(pm.category >= 0))


def test_phase_map_needs_P():
    with pytest.raises(DCPredictError, match=r"\bP\b"):
        phase_map(FIG3B, n=200, sigma2=0.1)


# ------------------------------------------------------------------------------------------ CLI
LAW_ARGS = ["--lam", "1,1", "--b", "2,0.5", "--weights", "0.2,0.8"]


def test_cli_json_shape_and_numbers(tmp_path, capsys):
    rc = main(["advise", *LAW_ARGS, "--sigma2", "0.58", "--n", "200", "--s", "60", "--world-size", "400",
               "--order", "saliency", "--json", "--map", str(tmp_path / "m.png")])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d["best"]) == {"p", "rule", "risk"}
    assert set(d["baselines"]) == {"small_random", "small_top_variance", "small_oracle"}
    for key in ("zero_model", "best_at_edge", "verdicts", "inputs"):
        assert key in d
    assert isinstance(d["best"]["p"], int) and isinstance(d["best_at_edge"], bool)
    risk, p, rule = brute_force(ISO_SPIKE, n=200, P=400, s=60, sigma2=0.58)
    assert (d["best"]["p"], d["best"]["rule"]) == (p, rule)
    assert d["best"]["risk"] == pytest.approx(risk, rel=1e-12)
    assert d["verdicts"]["small_oracle"]["verdict"] in ("beats", "ties", "loses to")
    assert d["inputs"]["world"]["P"] == 400 and d["inputs"]["s"] == 60
    assert (tmp_path / "m.png").stat().st_size > 5000


@pytest.mark.parametrize("extra, needle", [
    (["--s", "60", "--world-size", "40"], "s must be"),          # P < s
    (["--s", "60"], "--world-size"),                             # missing P
    (["--s", "60.5", "--world-size", "400"], "s must be an integer"),
    (["--s", "60", "--kappa-max", "3"], "--world-size"),         # removed option
    (["--s", "60", "--world-size", "400", "--alpha", "0.2"], "--world-size"),
])
def test_cli_bad_input_one_line_exit_2(extra, needle, capsys):
    rc = main(["advise", *LAW_ARGS, "--sigma2", "0.58", "--n", "200", *extra])
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err and len(err.strip().splitlines()) == 1


def test_cli_spectrum(capsys):
    rc = main(["advise", "--spectrum", "--lam", "10,1,1,1,1,1,1,1", "--b", "1,1,0,0,0,0,0,0", "--sigma2", "0.1",
               "--n", "4", "--s", "2", "--json"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    assert d["inputs"]["world"]["P"] == 8
