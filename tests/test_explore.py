"""The explorer's logic in process (no browser): URL state, equivalent command, inline messages, advice, curve.

The end-to-end test in headless Chromium is tests/test_explore_browser.py (``-m browser``).
"""
from __future__ import annotations

import json
import math
import shlex
import subprocess
import sys

import numpy as np
import pytest

from dcpredict.explore import state as S
from _cli_helper import run_cli

# the paper's Fig. 3a world written out here: 4 % of B equal 10 c, the rest c, c = 1/sqrt(4.96)
C = 1.0 / math.sqrt(4.96)




# ------------------------------------------------------------------------------------------ URL state
@pytest.mark.parametrize("preset,changes", [
    ("fig3a", {}), ("fig3a", {"s": "80", "ridge": "optimal", "lam": "2, 1", "b": "-1.5,0.7"}),
    ("fig3b", {"order": "random", "weights": "0.5,0.5"}), ("power_law", {"exponent": "2", "P": "10000"}),
    ("gaussian_b", {"lam_low": "0.1", "b_var_exponent": "-1", "sigma2": "0"}),
    ("fig3a", {"n": "a b&c=d?e", "weights": "100%"}),          # characters a query string must escape
])
def test_query_string_round_trip(preset, changes):
    st = S.State.from_preset(preset, **changes)
    q = S.to_query(st)
    assert S.from_query(q) == st
    assert S.from_query("?" + q) == st
    # Panel hands the query over as a dict of lists of bytes
    from urllib.parse import parse_qs
    as_bytes = {k: [x.encode() for x in v] for k, v in parse_qs(q, keep_blank_values=True).items()}
    assert S.from_query(as_bytes) == st
    assert q.startswith(f"world={preset}&")


def test_query_string_partial_and_refused():
    st = S.from_query("world=fig3b&s=60")
    assert st.get("s") == "60" and st.get("lam") == "10,1" and st.get("n") == "200"
    assert S.from_query("") == S.State.from_preset("fig3a")
    with pytest.raises(S.ControlError, match=r"^world: the fig3b world has no control 'exponent'"):
        S.from_query("world=fig3b&exponent=2")
    with pytest.raises(S.ControlError, match=r"^world: world must be one of 'fig3a', 'fig3b', 'power_law', "
                                             r"'gaussian_b'; got 'mnist'"):
        S.from_query("world=mnist")


# ------------------------------------------------------------------------------------------ the command
def test_equivalent_command_is_written_out():
    st = S.State.from_preset("fig3b", s=60, ridge="optimal")
    argv = ["advise", "--lam", "10,1", "--b", "1,1", "--weights", "0.04,0.96", "--sigma2", "0.1", "--n", "200",
            "--s", "60", "--world-size", "1000", "--order", "saliency", "--ridge", "optimal"]
    assert S.cli_argv(st) == argv
    assert shlex.split(S.cli_command(st)) == ["dcpredict", *argv]
    # a law from a file: the command writes it first
    pl = S.State.from_preset("power_law", exponent="2")
    first, second = S.cli_command(pl, "w.json").split("\n")
    assert json.loads(shlex.split(first)[1]) == {"power_law": {"exponent": 2.0, "lam_min": 0.1, "lam_max": 10.0,
                                                               "method": "atoms", "order": 12, "b_order": 12}}
    assert shlex.split(first)[2:] == [">", "w.json"]
    assert shlex.split(second)[:4] == ["dcpredict", "advise", "--law", "w.json"]


@pytest.mark.parametrize("preset,changes", [("fig3a", {"s": "80"}), ("fig3b", {"order": "random"}),
                                            ("gaussian_b", {})])
def test_advice_text_is_the_commands(preset, changes, tmp_path):
    st = S.State.from_preset(preset, **changes)
    ev = S.evaluate(st)
    assert ev.ok, ev.error
    law_file = tmp_path / "world.json"
    if preset in ("power_law", "gaussian_b"):
        law_file.write_text(json.dumps(S.law_spec(st)))
    rc, out, err = run_cli(S.cli_argv(st, str(law_file)))
    assert (rc, err) == (0, "")
    assert out == ev.advice.summary() + "\n"


# ------------------------------------------------------------------------------------------ inline messages
@pytest.mark.parametrize("preset,changes,control", [
    ("fig3a", {"s": "5000"}, "s"), ("fig3a", {"n": "abc"}, "n"), ("fig3a", {"n": "0"}, "n"),
    ("fig3a", {"P": "12.5"}, "P"), ("fig3a", {"ridge": "lots"}, "ridge"), ("fig3a", {"ridge": "-1"}, "ridge"),
    ("fig3a", {"sigma2": "-1"}, "sigma2"), ("fig3a", {"lam": "1,a"}, "lam"), ("fig3b", {"b": ""}, "b"),
    ("fig3b", {"lam": "-1,1"}, "lam"), ("gaussian_b", {"order": "saliency"}, "order"),
])
def test_inline_message_is_the_commands_words(preset, changes, control, tmp_path):
    st = S.State.from_preset(preset, **changes)
    ev = S.evaluate(st)
    assert not ev.ok and ev.error.control == control
    law_file = tmp_path / "world.json"
    if preset in ("power_law", "gaussian_b"):
        law_file.write_text(json.dumps(S.law_spec(st)))
    rc, out, err = run_cli(S.cli_argv(st, str(law_file)))
    assert rc == 2 and out == "" and err.count("\n") == 1
    prefix = "dcpredict advise: error: "
    assert err.startswith(prefix)
    assert ev.error.words == err[len(prefix):].rstrip("\n")
    assert str(ev.error) == f"{S.CONTROL_LABELS[control]}: {ev.error.words}"
    assert S.curve_data(ev) == {"error": str(ev.error), "control": control}


def test_spec_controls_name_themselves():
    ev = S.evaluate(S.State.from_preset("power_law", lam_min="0"))
    assert ev.error.control == "lam_min" and ev.error.words.startswith("lam_min must be")
    ev = S.evaluate(S.State.from_preset("gaussian_b", lam_high="x"))
    assert ev.error.control == "lam_high" and ev.error.words == "lam_high must be a real number; got 'x'"


# ------------------------------------------------------------------------------------------ numbers
def test_curve_numbers_and_closed_forms():
    from dcpredict import Law, predict_world_curve
    ev = S.evaluate(S.State.from_preset("fig3a"))
    law = Law([1.0, 1.0], [10 * C, C], [0.04, 0.96])
    ref = predict_world_curve(law, n=200, P=1000, s=40, sigma2=0.1, ps=ev.curve.ps)
    data = S.curve_data(ev)
    assert data["p"] == ev.curve.ps.tolist() and data["p"][0] == 40 and data["p"][-1] == 1000
    for f in S.CURVE_FIELDS:
        assert np.array_equal(np.asarray(data[f], dtype=float), np.asarray(getattr(ref, f), dtype=float)), f
    # zero model: sigma^2 + E[Lambda B^2] = 0.1 + 1
    assert data["zero_model"] == pytest.approx(1.1, rel=1e-14)
    # p = s = 40 < n: OLS on the 40 spiked features; the other 960 act as noise of variance 0.96 c^2, so the
    # risk is (0.1 + 0.96 / 4.96) / (1 - 40/200) (asymptotic OLS risk sigma_eff^2 / (1 - kappa))
    ols = (0.1 + 0.96 / 4.96) / (1 - 0.2)
    assert data["dense"][0] == pytest.approx(ols, rel=1e-10)
    assert data["small_oracle"] == pytest.approx(ols, rel=1e-10)
    assert data["best"]["p"] == 40 and data["best"]["risk"] == pytest.approx(ols, rel=1e-10)
    json.dumps(data, allow_nan=False)      # plain JSON


def test_divergent_risks_are_the_string_inf():
    ev = S.evaluate(S.State.from_preset("fig3b", s="200"))   # s = n, ridge 0: every refit interpolates
    data = S.curve_data(ev)
    for f in ("magnitude_retrained", "hessian_retrained", "random_retrained"):
        assert set(data[f]) == {"inf"}
    assert data["dense"][data["p"].index(200)] == "inf"                  # p = n, ridge 0
    json.dumps(data, allow_nan=False)


def test_display_grid():
    assert S.display_ps(40, 600, 200).tolist() == list(range(40, 601))
    g = S.display_ps(40, 10_000, 200, extra=(1234,))
    assert g[0] == 40 and g[-1] == 10_000 and np.all(np.diff(g) > 0)
    assert set(range(190, 211)) <= set(g.tolist()) and 1234 in g
    assert g.size <= S.DISPLAY_POINTS + 2 * S.DISPLAY_NEAR_N + 2
    assert "every integer within 10 of n = 200" in S.grid_text(40, 10_000, 200)


def test_sidecar():
    ev = S.evaluate(S.State.from_preset("fig3b", s="60"))
    side = S.sidecar(ev, url="http://127.0.0.1:5006/?x")
    assert side["advice"] == json.loads(json.dumps(ev.advice.to_dict()))
    assert S.from_query(side["query"]) == ev.state and side["command"] == S.cli_command(ev.state)
    assert side["law"] == {"lam": [10.0, 1.0], "b": [1.0, 1.0], "weights": [0.04, 0.96]}


# ------------------------------------------------------------------------------------------ packaging
def test_import_dcpredict_does_not_import_panel():
    code = ("import sys, dcpredict, dcpredict.explore, dcpredict.explore.state, dcpredict.cli; "
            "dcpredict.cli.build_parser(); "
            "bad = [m for m in ('panel', 'bokeh', 'tornado', 'selenium') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_explore_command_refuses_a_bad_port():
    rc, out, err = run_cli(["explore", "--port", "70000"])
    assert rc == 2 and err == "dcpredict explore: error: --port must be an integer in [0, 65535]; got 70000\n"


# ------------------------------------------------------------------------------------------ the Panel object
@pytest.mark.slow
def test_panel_object_in_process():
    """The Jupyter object (``dcpredict.explore()``): follows its widgets, shows bad input inline, exports."""
    pytest.importorskip("panel")
    import time

    import dcpredict
    ex = dcpredict.explore("fig3b", s=60)
    ex.map_auto.value = False
    assert ex.evaluation.advice.s == 60
    rc, want, _ = run_cli(S.cli_argv(S.State.from_preset("fig3b", s="60")))
    assert f'<pre class="dcp-advice-text">' in ex.advice_text.object and ex.evaluation.advice.summary() + "\n" == want
    ex.inputs["s"].value = "80"
    assert ex.curve_src.data["p"][0] == 80                     # the curve at once
    deadline = time.time() + 60
    while ex.evaluation.advice is None and time.time() < deadline:   # the advice from its thread
        time.sleep(0.05)
    assert ex.evaluation.advice.s == 80
    ex.inputs["s"].value = "5000"
    assert ex.error.visible and "s: --s must be an integer in [1, P] = [1, 1000]" in ex.error.object
    assert ex.curve_src.data["p"][0] == 80                     # the last good curve stays
    ex.inputs["s"].value = "80"
    while ex.evaluation.advice is None and time.time() < deadline:
        time.sleep(0.05)
    assert not ex.error.visible
    side = json.loads(ex._sidecar_file().getvalue())
    assert side["controls"]["s"] == "80" and side["advice"]["inputs"]["s"] == 80
    png = ex._png_file().getvalue()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and b"dcpredict" in png
