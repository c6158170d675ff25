"""dcpredict.advisor: advise() and the phase map (train small or prune big; the paper's Figs. 3 and 7).

Numbers are checked against independent predict() calls: the best choice is the minimum of an
independent brute-force loop, the sub-problem of a smaller model is rebuilt here from THEORY.md s.4,
and the verdicts' signs are asserted from predict values.
"""
import json
import math

import numpy as np
import pytest

from dcpredict import Law, advise, predict
from dcpredict.advisor import PRUNE_RULES, TABLE_RULES, phase_map, sub_problem
from dcpredict.cli import main

FIG3 = Law([10.0, 1.0, 0.1], [0.5, 1.0, 2.0], [0.2, 0.4, 0.4])
SPARSE = Law([1.0, 1.0], [2.0, 0.0], [0.1, 0.9])    # all signal on 10 % of the features


def _sub(law, sigma2, kappa, kappa_max):
    """THEORY.md s.4 for a data-independent support of fraction f = kappa / kappa_max, written out."""
    f = kappa / kappa_max
    signal = sum(w * l * b * b for l, b, w in zip(law.lam, law.b, law.weights))
    return Law(law.lam, [b * math.sqrt(f) for b in law.b], law.weights), sigma2 + (1 - f) * signal


def test_best_is_min_of_brute_force_loop():
    adv = advise(FIG3, sigma2=0.1, n=200, s=100, kappa_max=3.0, num=25)
    assert adv.kappas[0] == pytest.approx(0.5) and adv.kappas[-1] == pytest.approx(3.0)
    best = (math.inf, None, None)
    for k in adv.kappas:
        law_k, s2 = _sub(FIG3, 0.1, k, 3.0)
        pred = predict(law_k, kappa=k, alpha=min(1.0, 100 / (k * 200)), sigma2=s2)
        for rule in PRUNE_RULES:
            if getattr(pred, rule) < best[0]:
                best = (getattr(pred, rule), k, rule)
    assert adv.best["risk"] == pytest.approx(best[0], rel=1e-12)
    assert adv.best["kappa"] == pytest.approx(best[1]) and adv.best["rule"] == best[2]
    rows = [r["risk"] for r in adv.rows if r["rule"] in PRUNE_RULES]
    assert adv.best["risk"] == min(rows)
    assert len(adv.rows) == len(adv.kappas) * len(TABLE_RULES)


def test_sub_problem_is_random_support_retraining():
    """A model on a random fraction f of the world's features = the world's random_retrained at alpha = f."""
    for f in (0.3, 0.7):
        world = predict(FIG3, kappa=2.5, alpha=f, sigma2=0.1)
        law_k, s2 = sub_problem(FIG3, 0.1, f * 2.5, 2.5)
        small = predict(law_k, kappa=f * 2.5, alpha=1.0, sigma2=s2)
        assert small.dense == pytest.approx(world.random_retrained, rel=1e-10)


def test_pruning_big_beats_oracle_on_fig3_law():
    adv = advise(FIG3, sigma2=0.1, n=200, s=100, kappa_max=3.0)
    world = predict(FIG3, kappa=3.0, alpha=100 / 600, sigma2=0.1)
    assert world.hessian < world.small_oracle                       # the sign, from predict
    assert adv.prune_beats_oracle and adv.prune_beats_small
    assert adv.baselines["small_oracle"]["risk"] == pytest.approx(world.small_oracle, rel=1e-12)
    assert adv.best_pruned["risk"] <= world.hessian + 1e-12
    law_s, s2 = _sub(FIG3, 0.1, 0.5, 3.0)
    assert adv.baselines["small_random"]["risk"] == pytest.approx(predict(law_s, kappa=0.5, alpha=1.0, sigma2=s2).dense)


def test_oracle_small_model_wins_on_sparse_signal():
    adv = advise(SPARSE, sigma2=0.1, n=200, s=40, kappa_max=2.0)
    world = predict(SPARSE, kappa=2.0, alpha=0.1, sigma2=0.1)
    assert world.small_oracle < min(world.magnitude, world.hessian, world.magnitude_retrained, world.hessian_retrained)
    assert world.small_oracle == pytest.approx(0.1 / (1 - 0.2))       # all signal kept: OLS at s/n = 0.2
    assert not adv.prune_beats_oracle
    assert adv.best_pruned["risk"] > adv.baselines["small_oracle"]["risk"]
    assert adv.prune_beats_small                              # but pruning still beats a random small model


def test_isotropic_retraining_ties_small_model_not_counted_as_win():
    """Isotropic law: retraining on any support = a random small model; equal risks are not a win."""
    adv = advise(Law([1.0], [1.0]), sigma2=1.0, n=100, s=40, kappa_max=0.5, num=10)
    assert adv.best_pruned["risk"] == pytest.approx(adv.baselines["small_random"]["risk"], rel=1e-9)
    assert not adv.prune_beats_small


def test_alpha_mode_and_summary_and_json():
    adv = advise(FIG3, sigma2=0.1, n=200, alpha=0.2, kappa_max=8.0, num=30)
    assert all(r["alpha"] == 0.2 for r in adv.rows)
    text = adv.summary()
    assert "BEST" in text and "<- best" in text
    d = adv.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["alpha"] == 0.2 and d["best"]["risk"] == adv.best["risk"]


@pytest.mark.parametrize("kwargs, name", [
    (dict(sigma2=0.1, n=200), "s"),                              # neither s nor alpha
    (dict(sigma2=0.1, n=200, s=10, alpha=0.5), "s"),             # both
    (dict(sigma2=-1.0, n=200, s=10), "sigma2"),
    (dict(sigma2=0.1, n=0, s=10), "n"),
    (dict(sigma2=0.1, n=200, s=-3), "s"),
    (dict(sigma2=0.1, n=200, alpha=1.5), "alpha"),
    (dict(sigma2=0.1, n=200, s=100, kappas=[0.1, 1.0]), "kappas"),  # below s/n = 0.5
    (dict(sigma2=0.1, n=200, s=100, kappa_max=0.2), "kappa_max"),
    (dict(sigma2=0.1, n=200, s=10, ridge=-1), "ridge"),
])
def test_bad_input_names_argument(kwargs, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        advise(FIG3, **kwargs)
    with pytest.raises(ValueError, match="law"):
        advise("not a law", sigma2=0.1, n=10, s=5)


def test_phase_map_categories_match_predict(tmp_path):
    ks, al = [0.6, 3.0, 5.0], [0.1, 0.2, 1.0]
    pm = phase_map(FIG3, sigma2=0.1, kappas=ks, alphas=al, path=tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 5000
    for i, k in enumerate(ks):
        for j, a in enumerate(al):
            p = predict(FIG3, kappa=k, alpha=a, sigma2=0.1)
            best = min(p.magnitude, p.hessian, p.magnitude_retrained, p.hessian_retrained)
            want = 0 if best < p.small_oracle * (1 - 1e-9) else (1 if best < p.random_retrained * (1 - 1e-9) else 2)
            assert pm.category[i, j] == want, (k, a)
    assert (pm.category[:, -1] == 2).all()                      # alpha = 1: nothing pruned, a tie
    assert pm.category[1, 1] == 0                                # kappa 3, alpha 0.2: prune beats oracle


def test_cli_advise_json_and_map(tmp_path, capsys):
    rc = main(["advise", "--lam", "10,1,0.1", "--b", "0.5,1,2", "--weights", "0.2,0.4,0.4", "--sigma2", "0.1",
               "--n", "200", "--s", "100", "--kappa-max", "3", "--num", "20", "--json", "--map",
               str(tmp_path / "m.png")])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    assert d["prune_beats_oracle"] is True and (tmp_path / "m.png").exists()
    assert d["best"]["risk"] == pytest.approx(advise(FIG3, sigma2=0.1, n=200, s=100, kappa_max=3, num=20).best["risk"])


def test_cli_advise_bad_input_exit_2(capsys):
    rc = main(["advise", "--lam", "1", "--b", "1", "--sigma2", "0.1", "--n", "200", "--s", "-1"])
    assert rc == 2
    assert "s must be" in capsys.readouterr().err
