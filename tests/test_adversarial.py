"""Bad and extreme inputs (issue 9): certified numbers or a DCPredictError, never nan, garbage or a traceback.

References are independent of the code under test: closed-form limits (huge ridge: the fit vanishes and
every risk is sigma^2 + E[Lambda B^2]; vanishing ridge: OLS, dense = sigma^2 / (1 - kappa)), the mpmath
path (its own formulas and root finder, at adaptive precision), exact scale invariances of the problem,
and trials recomputed in the test with numpy.linalg.lstsq.
"""
import dataclasses
import math
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import dcpredict
from dcpredict import DCPredictError, Law, RISK_FIELDS, predict, predict_grid
from dcpredict.cli import main

ISSUE = Law([4.0, 1.0, 1.0, 0.25], [2.0, 1.0, 0.0, 0.5], [0.1, 0.2, 0.4, 0.3])
ISSUE_ARGS = ["--lam", "4,1,1,0.25", "--b", "2,1,0,0.5", "--weights", "0.1,0.2,0.4,0.3", "--sigma2", "0.2"]
ZERO_MODEL = 0.2 + 0.1 * 4 * 4 + 0.2 * 1 * 1 + 0.3 * 0.25 * 0.25  # sigma^2 + E[Lambda B^2] = 2.01875
CLI = [sys.executable, "-c", "import sys; from dcpredict.cli import main; sys.exit(main(sys.argv[1:]))"]


def _sane(risks: dict, sigma2: float) -> None:
    for k, v in risks.items():
        assert not math.isnan(v), k
        assert v >= sigma2 * (1 - 1e-12), (k, v, sigma2)


# ----------------------------------------------------------------------------- the issue's examples
def test_curve_huge_ridge_is_the_zero_model(capsys):
    """'curve --ridge 1e9 --kappa 0.5,2 --alpha 0.1,0.5' printed 2.4e-71 and 3.7e180 (uninitialised memory)."""
    rc = main(["curve", *ISSUE_ARGS, "--ridge", "1e9", "--kappa", "0.5,2", "--alpha", "0.1,0.5"])
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and len(out) == 5
    cols = out[0].split(",")
    for line in out[1:]:
        row = dict(zip(cols, map(float, line.split(","))))
        for f in RISK_FIELDS:
            # the ridge fit shrinks by E[Lambda]/r ~ 1e-9: every risk is the zero model's to 1e-7
            assert abs(row[f] - ZERO_MODEL) <= 1e-7 * ZERO_MODEL, (f, row[f])


@pytest.mark.parametrize("ridge", [1e9, 1e10, 1e155, 1e300])
def test_huge_ridge_point_is_the_zero_model(ridge):
    risks = predict(ISSUE, kappa=2.0, alpha=0.3, sigma2=0.2, ridge=ridge).risks()
    for f, v in risks.items():
        assert abs(v - ZERO_MODEL) <= 1e-7 * ZERO_MODEL, (f, v)


@pytest.mark.parametrize("ridge", [1e-200, 1e-300])
def test_vanishing_ridge_is_ols(ridge):
    """'predict --ridge 1e-200 --kappa 0.5' returned dense = 2.6e78 (true 0.4 = sigma^2 / (1 - kappa))."""
    pred = predict(ISSUE, kappa=0.5, alpha=0.3, sigma2=0.2, ridge=ridge)
    assert pred.dense == pytest.approx(0.2 / (1 - 0.5), rel=1e-12)
    ols = predict(ISSUE, kappa=0.5, alpha=0.3, sigma2=0.2, ridge=0.0).risks()
    for f, v in pred.risks().items():
        assert v == pytest.approx(ols[f], rel=1e-9), f


def test_cli_predict_tiny_ridge(capsys):
    rc = main(["predict", *ISSUE_ARGS, "--ridge", "1e-200", "--kappa", "0.5", "--alpha", "0.3", "--json"])
    import json
    assert rc == 0 and json.loads(capsys.readouterr().out)["dense"] == pytest.approx(0.4, rel=1e-12)


@pytest.mark.parametrize("kappa,ridge,law", [
    (1.0, 1e-100, ISSUE),                                    # mpmath was wrong here
    (2.0, 1.0, Law([1e-8, 1.0], [1.0, 1.0])),                # ZeroDivisionError (lam ~ 1e-8, ridge 1)
    (1.0 + 1e-15, 0.0, Law([100.0, 1.0, 0.01], [1.0, -2.0, 3.0], [0.2, 0.5, 0.3])),  # wide law at kappa 1+1e-15
    (1.0 / 0.3, 0.0, ISSUE),                                 # a refit ratio alpha kappa within rounding of 1
    (1e12, 0.0, ISSUE),
    (1e-12, 0.0, ISSUE),
])
def test_double_agrees_with_mpmath_at_extremes(kappa, ridge, law):
    d = predict(law, kappa=kappa, alpha=0.3, sigma2=0.2, ridge=ridge).risks()
    m = predict(law, kappa=kappa, alpha=0.3, sigma2=0.2, ridge=ridge, precision="mp").risks()
    _sane(d, 0.2)
    for f in RISK_FIELDS:
        if math.isinf(m[f]):
            assert d[f] == m[f], f
        else:
            assert d[f] == pytest.approx(m[f], rel=1e-9), (f, d[f], m[f])


@pytest.mark.parametrize("sigma2", [1e-190, 1e-30, 0.0])
def test_nearly_deterministic_scores(sigma2):
    """Tiny noise makes the coordinates nearly deterministic (sd/mean ~ 1e-95): the thresholds fall on a
    step and the kept mass is fractional; with sigma2 = 0 OLS recovers beta exactly, so pruning keeps the
    top-saliency atom's share and retraining on fresh samples is exact on it."""
    law = Law([1.0, 0.0365], [1.16, -3.12], [0.649, 0.351])
    r = predict(law, kappa=0.2128, alpha=1e-6, sigma2=sigma2).risks()
    _sane(r, sigma2)
    # OLS (kappa < 1) without noise has b_hat = beta: magnitude keeps the |b| = 3.12 atom, hessian the 1.16 one
    signal = 0.649 * 1.0 * 1.16 ** 2 + 0.351 * 0.0365 * 3.12 ** 2
    assert r["magnitude"] == pytest.approx(sigma2 + signal - 1e-6 * 0.0365 * 3.12 ** 2, rel=1e-9)
    assert r["hessian"] == pytest.approx(sigma2 + signal - 1e-6 * 1.0 * 1.16 ** 2, rel=1e-9)
    m = predict(law, kappa=0.2128, alpha=1e-6, sigma2=sigma2, precision="mp").risks()  # resolves the tails
    for f in RISK_FIELDS:
        assert r[f] == pytest.approx(m[f], rel=1e-10), f


@pytest.mark.parametrize("c", [1e-300, 1e-150, 1e150, 1e300])
def test_feature_scale_invariance(c):
    """lam -> c lam, B -> B / sqrt(c), ridge -> c ridge leaves every risk unchanged (x -> sqrt(c) x)."""
    base = predict(ISSUE, kappa=2.0, alpha=0.3, sigma2=0.2, ridge=0.1).risks()
    scaled = Law(ISSUE.lam * c, ISSUE.b / math.sqrt(c), ISSUE.weights)
    got = predict(scaled, kappa=2.0, alpha=0.3, sigma2=0.2, ridge=0.1 * c).risks()
    for f in RISK_FIELDS:
        assert got[f] == pytest.approx(base[f], rel=1e-10), f


@pytest.mark.parametrize("s", [1e-150, 1e100, 1e150])
def test_signal_scale_invariance_and_overflow(s):
    """B -> s B, sigma^2 -> s^2 sigma^2 multiplies every risk by s^2 (huge b gave nan)."""
    base = predict(ISSUE, kappa=2.0, alpha=0.3, sigma2=0.2).risks()
    got = predict(Law(ISSUE.lam, ISSUE.b * s, ISSUE.weights), kappa=2.0, alpha=0.3, sigma2=0.2 * s * s).risks()
    for f in RISK_FIELDS:
        assert got[f] == pytest.approx(base[f] * s * s, rel=1e-10), f
    with pytest.raises(DCPredictError, match="double-precision range"):
        predict(Law(ISSUE.lam, ISSUE.b * 1e200, ISSUE.weights), kappa=2.0, alpha=0.3, sigma2=0.0)
    with pytest.raises(DCPredictError, match="sigma2=0.2 is more than 290 decades below the signal"):
        predict(Law(ISSUE.lam, ISSUE.b * 1e200, ISSUE.weights), kappa=2.0, alpha=0.3, sigma2=0.2)


def test_huge_kappa_and_tiny_lam_are_numbers():
    far = predict(ISSUE, kappa=1e200, alpha=0.3, sigma2=0.2).risks()  # the fit vanishes as kappa -> inf
    for f, v in far.items():
        assert v == pytest.approx(ZERO_MODEL, rel=1e-9), f
    with pytest.raises(DCPredictError, match="kappa must be in"):
        predict(ISSUE, kappa=1e308, alpha=0.3, sigma2=0.2)  # gave nan
    tiny = predict(Law([1e-300], [1.0]), kappa=2.0, alpha=0.3, sigma2=0.2).risks()  # signal 1e-300
    _sane(tiny, 0.2)
    # isotropic min-norm: sigma^2 + E[Lambda B^2] (1 - 1/kappa) + sigma^2 / (kappa - 1), the signal term 1e-300
    assert tiny["dense"] == pytest.approx(0.2 + 0.2 / (2.0 - 1.0), rel=1e-12)


@pytest.mark.parametrize("kwargs", [
    dict(ridge=1e-320), dict(ridge=1e306), dict(law=Law([1e-310, 1.0], [1.0, 1.0])),
])
def test_out_of_range_refused_naming_the_argument(kwargs):
    law = kwargs.pop("law", ISSUE)
    with pytest.raises(DCPredictError) as exc:
        predict(law, kappa=2.0, alpha=0.3, sigma2=0.2, **kwargs)
    assert ("ridge" in str(exc.value)) or ("lam" in str(exc.value))


# ----------------------------------------------------------------------------- grids
def test_grid_equals_points_and_has_no_uncomputed_values():
    kappas = [1e-12, 0.5, 1.0, 1.0 + 1e-15, 2.0, 1e6, 1e12]
    alphas = [1e-6, 0.1, 0.3, 1.0]
    for ridge in (0.0, 1e-200, 1.0, 1e9, 1e300):
        for _ in range(3):  # uninitialised memory changed from run to run
            grid = predict_grid(ISSUE, kappas, alphas, sigma2=0.2, ridge=ridge)
            for i, k in enumerate(kappas):
                for j, a in enumerate(alphas):
                    p = predict(ISSUE, kappa=k, alpha=a, sigma2=0.2, ridge=ridge).risks()
                    for f in RISK_FIELDS:
                        g = float(getattr(grid, f)[i, j])
                        # grid thresholds are warm-started along alpha: equal to a few ulps (1e-13 relative)
                        assert g == pytest.approx(p[f], rel=1e-13, abs=0) or (math.isinf(g) and g == p[f]), \
                            (ridge, k, a, f, g, p[f])
                        assert g >= 0.2


def test_uncertified_status_is_an_error_naming_the_point():
    from dcpredict import theory
    sc = theory._scaled(ISSUE, 0.2, 0.0)
    for status, text in ((1, "tau"), (2, "magnitude"), (4, "retrained"), (6, "not computed"), (float("nan"), "")):
        with pytest.raises(DCPredictError, match=r"kappa=2.5, alpha=0.125") as exc:
            theory._certify(sc, ISSUE, 2.5, 0.125, 0.2, 0.0, np.ones(len(RISK_FIELDS)), status)
        assert text in str(exc.value)
    with pytest.raises(DCPredictError, match="nan"):
        theory._certify(sc, ISSUE, 2.5, 0.125, 0.2, 0.0, np.full(len(RISK_FIELDS), np.nan), 0)
    with pytest.raises(DCPredictError, match="below sigma2"):
        theory._certify(sc, ISSUE, 2.5, 0.125, 0.2, 0.0, np.zeros(len(RISK_FIELDS)), 0)


# ----------------------------------------------------------------------------- API: types and values
BAD_API = [
    (predict, dict(law=ISSUE, kappa="2", alpha=0.3, sigma2=0.2)),
    (predict, dict(law=ISSUE, kappa=None, alpha=0.3, sigma2=0.2)),
    (predict, dict(law=ISSUE, kappa=float("nan"), alpha=0.3, sigma2=0.2)),
    (predict, dict(law=ISSUE, kappa=float("inf"), alpha=0.3, sigma2=0.2)),
    (predict, dict(law=ISSUE, kappa=2, alpha=1.5, sigma2=0.2)),
    (predict, dict(law=ISSUE, kappa=2, alpha=0.3, sigma2=-1)),
    (predict, dict(law=ISSUE, kappa=2, alpha=0.3, sigma2=0.2, ridge=-1e-300)),
    (predict, dict(law=ISSUE, kappa=2, alpha=0.3, sigma2=0.2, rtol=0)),
    (predict, dict(law=ISSUE, kappa=2, alpha=0.3, sigma2=0.2, precision="quad")),
    (predict, dict(law=ISSUE, kappa=10 ** 400, alpha=0.3, sigma2=0.2)),
    (predict, dict(law=ISSUE, kappa=2 + 1j, alpha=0.3, sigma2=0.2)),
    (predict, dict(law="law", kappa=2, alpha=0.3, sigma2=0.2)),
    (predict, dict(law=ISSUE, kappa=[1, 2], alpha=0.3, sigma2=0.2)),
    (predict_grid, dict(law=ISSUE, kappas=[], alphas=[0.3], sigma2=0.2)),
    (predict_grid, dict(law=ISSUE, kappas=[[1, 2]], alphas=[0.3], sigma2=0.2)),
    (predict_grid, dict(law=ISSUE, kappas=[1, "x"], alphas=[0.3], sigma2=0.2)),
    (predict_grid, dict(law=ISSUE, kappas=[1, np.nan], alphas=[0.3], sigma2=0.2)),
    (Law, dict(lam=[1, -1], b=[1, 1])),
    (Law, dict(lam=[1, 2], b=[1])),
    (Law, dict(lam=[], b=[])),
    (Law, dict(lam=[1, 1], b=[1, 1], weights=[0, 0])),
    (Law, dict(lam=[1e400], b=[1])),
    (Law, dict(lam="abc", b=[1])),
    (Law, dict(lam=[[1]], b=[[1]])),
    (dcpredict.simulate, dict(law=ISSUE, kappa=2, alpha=0.3, sigma2=0.2, n=1e7, trials=2, workers=1)),
    (dcpredict.simulate, dict(law=ISSUE, kappa=1e6, alpha=0.3, sigma2=0.2, n=40, trials=2, workers=1)),
    (dcpredict.simulate, dict(law=ISSUE, kappa=1e300, alpha=0.3, sigma2=0.2, n=40, trials=2, workers=1)),
    (dcpredict.simulate, dict(law=ISSUE, kappa=2, alpha=0.3, sigma2=0.2, n=40, trials=10 ** 9, workers=1)),
    (dcpredict.simulate, dict(law=ISSUE, kappa=2, alpha=0.3, sigma2=0.2, n=40, trials=2, scheduler="not a url")),
    (dcpredict.simulate, dict(law=ISSUE, kappa=2, alpha=0.3, sigma2=0.2, n=40, trials=2, scheduler=42)),
    (dcpredict.simulate, dict(law=ISSUE, kappa=2, alpha=0.3, sigma2=0.2, n=40, trials=2,
                              scheduler="tcp://127.0.0.1:1")),
]


@pytest.mark.parametrize("fn,kwargs", BAD_API, ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(BAD_API)])
def test_bad_api_input_is_a_dcpredict_error_or_type_error(fn, kwargs):
    t0 = time.time()
    with pytest.raises((DCPredictError, TypeError)) as exc:
        fn(**kwargs)
    assert time.time() - t0 < 10
    assert "\n" not in str(exc.value) and len(str(exc.value)) < 600


# ----------------------------------------------------------------------------- CLI
def _cli(argv, capsys):
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


LIST_OPTIONS = [("--lam", "4,1", "lam"), ("--b", "-1.5,0.7", "b"), ("--weights", "-0.5,1.5", "weights")]


BASE = {"predict": ["--lam", "1", "--b", "1", "--sigma2", "0.2", "--kappa", "2", "--alpha", "0.5"],
        "curve": ["--lam", "1", "--b", "1", "--sigma2", "0.2", "--kappa", "2"],
        "simulate": ["--lam", "1", "--b", "1", "--sigma2", "0.2", "--kappa", "2", "--alpha", "0.5", "--n", "10"]}


@pytest.mark.parametrize("cmd", sorted(BASE))
def test_negative_numbers_after_every_value_option_parse(cmd):
    """'--b -1.5,0.7' was 'expected one argument'; every option taking a value accepts a negative value."""
    from dcpredict.cli import build_parser, join_negative_values
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[cmd]
    actions = [a for a in sub._actions if a.option_strings and a.nargs is None and not a.choices
               and a.option_strings[-1].startswith("--")]
    names = {a.option_strings[-1] for a in actions}
    assert {"--b", "--lam", "--weights", "--kappa", "--sigma2", "--ridge"} <= names
    for a in actions:
        opt = a.option_strings[-1]
        value = "-1.5" if a.type is float else "-1.5,0.7"
        argv = [cmd, *BASE[cmd], opt, value]
        joined = join_negative_values(argv, parser)
        assert joined[-1] == f"{opt}={value}", opt
        if a.type not in (None, str, float):
            continue  # a validating type (e.g. --ridge accepting 'optimal') may reject the value itself
        ns = parser.parse_args(joined)
        assert getattr(ns, a.dest) in (value, -1.5), opt
    # abbreviations are refused (allow_abbrev=False): not joined, and '--' stops the rewriting
    assert join_negative_values(["predict", "--weig", "-1,2"], parser)[-2:] == ["--weig", "-1,2"]
    assert join_negative_values(["predict", "--", "--b", "-1"], parser)[-2:] == ["--b", "-1"]


def test_negative_b_law_runs(capsys):
    rc, out, err = _cli(["predict", "--lam", "4,1", "--b", "-1.5,0.7", "--sigma2", "0.2", "--kappa", "2",
                         "--alpha", "0.5", "--json"], capsys)
    assert rc == 0, err
    import json
    ref = predict(Law([4, 1], [-1.5, 0.7]), kappa=2, alpha=0.5, sigma2=0.2).risks()
    got = json.loads(out)
    assert {k: float(got[k]) for k in ref} == ref      # strict JSON: a divergent risk is the string "inf"
    rc, _, err = _cli(["predict", "--lam", "4,1", "--b", "1,1", "--sigma2", "0.2", "--kappa", "-2",
                       "--alpha", "0.5"], capsys)
    assert rc == 2 and "kappa must be in (0, 1e+200]; got -2.0" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [
    ["predict", "--bogus"],
    ["predict", *ISSUE_ARGS, "--kappa", "x", "--alpha", "0.3"],
    ["predict", *ISSUE_ARGS, "--kappa", "nan", "--alpha", "0.3"],
    ["predict", *ISSUE_ARGS, "--kappa", "1e999", "--alpha", "0.3"],
    ["predict", *ISSUE_ARGS, "--kappa", "2", "--alpha", "0.3", "--ridge", "1e-320"],
    ["predict", "--law", "/nonexistent/law.json", "--sigma2", "0.2", "--kappa", "2", "--alpha", "0.3"],
    ["curve", *ISSUE_ARGS, "--kappa", "log:-1:2:3"],
    ["curve", *ISSUE_ARGS, "--kappa", "0:1:0"],
    ["curve", *ISSUE_ARGS, "--kappa", "1,,2"],
    ["curve", *ISSUE_ARGS, "--kappa", "2", "--out", "/nonexistent/dir/x.csv"],
    ["simulate", *ISSUE_ARGS, "--kappa", "2", "--alpha", "0.3", "--n", "40", "--trials", "1000000000", "--quiet"],
    ["simulate", *ISSUE_ARGS, "--kappa", "1e6", "--alpha", "0.3", "--n", "40", "--quiet"],
    ["simulate", *ISSUE_ARGS, "--kappa", "2", "--alpha", "0.3", "--n", "1e7", "--quiet"],
    ["simulate", *ISSUE_ARGS, "--kappa", "2", "--alpha", "0.3", "--n", "10000000", "--quiet"],
    ["simulate", *ISSUE_ARGS, "--kappa", "2", "--alpha", "0.3", "--n", "40", "--scheduler", "not a url", "--quiet"],
    ["simulate", *ISSUE_ARGS, "--kappa", "2", "--alpha", "0.3", "--n", "40", "--scheduler", "tcp://127.0.0.1:1",
     "--quiet"],
    ["simulate", *ISSUE_ARGS, "--kappa", "2", "--alpha", "0.3", "--n", "40", "--out", "/dev/null", "--quiet"],
])
def test_cli_bad_input_is_one_line_exit_2(argv, capsys):
    t0 = time.time()
    try:
        rc, out, err = _cli(argv, capsys)
    except SystemExit as exc:  # argparse usage errors exit through SystemExit(2)
        cap = capsys.readouterr()
        rc, out, err = exc.code, cap.out, cap.err
    assert time.time() - t0 < 10
    assert rc == 2 and out == "" and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_a_real_bug_shows_its_traceback(monkeypatch):
    """Only DCPredictError (and OS errors on the user's paths) become one line; a bug must not look like bad input."""
    import dcpredict.theory as T

    def broken(*a, **k):
        raise ValueError("a bug, not bad input")
    monkeypatch.setattr(T, "predict", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["predict", *ISSUE_ARGS, "--kappa", "2", "--alpha", "0.3"])


# ----------------------------------------------------------------------------- bounds
def test_memory_estimate_uses_the_limit(monkeypatch):
    from dcpredict import _limits
    monkeypatch.setenv(_limits.LIMIT_ENV, str(10 * 2 ** 20))  # 10 MiB
    # n = 400, p = 800: X alone is 2.4 MiB per copy; two copies + Gram + ... per worker, two workers
    with pytest.raises(DCPredictError, match=r"needs about .* more than the limit of 10 MiB"):
        dcpredict.simulate(ISSUE, kappa=2, alpha=0.3, sigma2=0.2, n=400, trials=2, workers=2)
    res = dcpredict.simulate(ISSUE, kappa=2, alpha=0.3, sigma2=0.2, n=40, trials=2, workers=1)
    assert res.trials == 2


def test_plain_script_without_main_guard_runs_in_parallel(tmp_path):
    """spawn workers re-imported an unguarded script and the pool broke (BrokenProcessPool tracebacks)."""
    script = tmp_path / "plain.py"
    script.write_text(textwrap.dedent("""
        import dcpredict
        print("top-level ran", flush=True)
        law = dcpredict.Law([4.0, 1.0], [1.0, 0.5])
        par = dcpredict.simulate(law, kappa=2.0, alpha=0.5, sigma2=0.2, n=30, trials=6, seed=1, workers=2)
        one = dcpredict.simulate(law, kappa=2.0, alpha=0.5, sigma2=0.2, n=30, trials=6, seed=1, workers=1)
        print("same", par.samples.tobytes() == one.samples.tobytes())
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("top-level ran") == 1 and "same True" in proc.stdout
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------- weak spots of the old suite
def _bits(x: float) -> int:
    return int.from_bytes(struct.pack("<d", float(x)), "little")


def test_one_lgp_trial_recomputed_by_hand():
    """Trial 3 of dcpredict.simulate at (kappa, alpha) = (2, 0.3), every field, from numpy.linalg.lstsq."""
    from dcpredict.simulation import SIM_FIELDS
    n, kappa, alpha, sigma2, seed, t = 30, 2.0, 0.3, 0.2, 5, 3
    res = dcpredict.simulate(ISSUE, kappa=kappa, alpha=alpha, sigma2=sigma2, n=n, trials=4, seed=seed, workers=1)
    p = 60
    counts = [6, 12, 24, 18]  # weights 0.1, 0.2, 0.4, 0.3 of p = 60
    lam = np.repeat(ISSUE.lam, counts)
    beta = np.repeat(ISSUE.b, counts) / math.sqrt(p)
    s = round(alpha * p)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, _bits(kappa), t)))
    X = rng.standard_normal((n, p)) * np.sqrt(lam)
    y = X @ beta + math.sqrt(sigma2) * rng.standard_normal(n)
    b = np.linalg.lstsq(X, y, rcond=None)[0]  # min-norm interpolator (p > n)

    def risk(S, coef):
        full = np.zeros(p)
        full[S] = coef
        return sigma2 + float(np.sum(lam * (full - beta) ** 2))

    arng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, _bits(kappa), _bits(alpha), t)))
    sup = {"magnitude": np.sort(np.argsort(-np.abs(b))[:s]), "hessian": np.sort(np.argsort(-lam * b * b)[:s]),
           "random": np.sort(arng.choice(p, size=s, replace=False, shuffle=False))}
    want = {"dense": risk(np.arange(p), b)}
    for rule, S in sup.items():
        want[rule] = risk(S, b[S])
        want[rule + "_retrained_same"] = risk(S, np.linalg.lstsq(X[:, S], y, rcond=None)[0])
    for rule, S in sup.items():
        Xf = arng.standard_normal((n, s)) * np.sqrt(lam[S])
        noise2 = sigma2 + float(np.sum(lam * beta ** 2)) - float(np.sum(lam[S] * beta[S] ** 2))
        yf = Xf @ beta[S] + math.sqrt(noise2) * arng.standard_normal(n)
        want[rule + "_retrained"] = risk(S, np.linalg.lstsq(Xf, yf, rcond=None)[0])
    oracle = np.sort(np.argsort(-(lam * beta * beta), kind="stable")[:s])
    want["oracle_pruned"] = risk(oracle, b[oracle])
    want["small_oracle"] = risk(oracle, np.linalg.lstsq(X[:, oracle], y, rcond=None)[0])
    got = dict(zip(SIM_FIELDS, res.samples[t]))
    assert set(want) == set(SIM_FIELDS)
    for f in SIM_FIELDS:
        assert got[f] == pytest.approx(want[f], rel=1e-9), f


def test_rf_oracle_and_fresh_retrain_fields_recomputed_by_hand():
    """Trial 0 of simulate_rf: every field (oracle support from the equivalent LGP's saliency, fresh-sample
    refits) from lstsq fits and supports chosen in the test; risks by the closed-form population risk, which
    test_random_features checks against a 400 000-sample test set."""
    from dcpredict import random_features as rf
    rng = np.random.default_rng(11)
    d, p, n, alpha = 5, 24, 16, 0.25
    W = rf.draw_first_layer(p, d, rng)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    sim = rf.simulate_rf(W, u, n=n, alpha=alpha, trials=2, seed=3)
    e = rf.equivalent_lgp(W, u)
    s = round(alpha * p)
    g = np.random.default_rng(np.random.SeedSequence(3).spawn(2)[0])
    Z = g.standard_normal((n, d))
    X, y = rf.relu_features(W, Z), rf.rf_labels(Z, u)
    b = np.linalg.lstsq(X, y, rcond=None)[0]

    def risk(S, coef):
        full = np.zeros(p)
        full[S] = coef
        return rf.population_risk(full, e)

    sup = {"magnitude": np.argsort(-np.abs(b))[:s],
           "hessian": np.argsort(-(np.sum(X * X, axis=0) / n) * b * b)[:s],
           "random": np.sort(g.choice(p, size=s, replace=False))}
    Z2 = g.standard_normal((n, d))
    X2, y2 = rf.relu_features(W, Z2), rf.rf_labels(Z2, u)
    want = {"dense": risk(np.arange(p), b)}
    for rule, S in sup.items():
        want[rule] = risk(S, b[S])
        want[rule + "_retrained_same"] = risk(S, np.linalg.lstsq(X[:, S], y, rcond=None)[0])
        want[rule + "_retrained"] = risk(S, np.linalg.lstsq(X2[:, S], y2, rcond=None)[0])
    oracle = np.argsort(-np.diagonal(e.Sigma) * e.beta ** 2)[:s]
    want["oracle_pruned"] = risk(oracle, b[oracle])
    want["small_oracle"] = risk(oracle, np.linalg.lstsq(X[:, oracle], y, rcond=None)[0])
    got = dict(zip(rf.RF_FIELDS, sim.values[0]))
    assert set(want) == set(rf.RF_FIELDS)
    for f in rf.RF_FIELDS:
        assert got[f] == pytest.approx(want[f], rel=1e-7), f
    # and the oracle/fresh fields are not copies of each other
    assert len({round(v, 12) for v in want.values()}) > 8


def test_validation_verdict_on_real_rows_with_a_forced_failure(monkeypatch):
    """run_validation on a real (tiny) simulation passes; the same rows against a theory off by 15 % must FAIL."""
    import dcpredict.theory as T
    import dcpredict.validation as V
    tiny = {"laws": {"three-atom": Law([4.0, 1.0, 0.25], [1.0, 0.5, 2.0], [0.2, 0.3, 0.5])}, "kappas": [3.0],
            "alphas": [0.5], "ridges": [0.2], "n": 100, "trials": 60, "seed": 1, "sigma2": V.SIGMA2}
    monkeypatch.setattr(V, "validation_cases", lambda quick: tiny)
    world = V.world_validation_cases(True)
    monkeypatch.setattr(V, "world_validation_cases", lambda quick: {**world, "cases": []})
    try:  # other validation tables, if this build has them, are not the subject here
        import dcpredict.compression_sim as C
        monkeypatch.setattr(C, "validation_rows", lambda *a, **k: [])
    except ImportError:
        pass
    good = V.run_validation(quick=True, out_dir=None, workers=1)
    assert good.passed and len([r for r in good.rows if r["status"] in ("pass", "FAIL")]) == len(RISK_FIELDS)
    real = T.predict

    def off(*a, **k):
        pred = real(*a, **k)
        return dataclasses.replace(pred, hessian=pred.hessian * 1.15)
    monkeypatch.setattr(T, "predict", off)
    bad = V.run_validation(quick=True, out_dir=None, workers=1)
    assert not bad.passed
    assert [r["field"] for r in bad.failures if r in bad.rows] == ["hessian"]
    assert "FAIL" in bad.summary()


def test_scheduler_that_is_not_dask_is_refused_quickly():
    """A TCP server that accepts but does not speak Dask (the issue: 60 s hang, then a traceback)."""
    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]

    def serve():
        for _ in range(2):
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            conn.close()
    threading.Thread(target=serve, daemon=True).start()
    t0 = time.time()
    try:
        with pytest.raises(DCPredictError, match="does not answer as a Dask scheduler"):
            dcpredict.simulate(ISSUE, kappa=2, alpha=0.3, sigma2=0.2, n=20, trials=2,
                               scheduler=f"tcp://127.0.0.1:{port}")
    finally:
        srv.close()
    assert time.time() - t0 < 10


def test_trials_are_streamed_not_built_up_front():
    """run_parallel pulls tasks lazily: with 2 workers at most 4 * 2 tasks are taken before the first result."""
    from dcpredict.simulation import run_parallel
    pulled = []

    def tasks():
        for i in range(10 ** 9):  # would never finish if materialised
            pulled.append(i)
            yield (float(i),)
    gen = run_parallel(math.sqrt, tasks(), 2)
    try:
        first = next(gen)
        assert len(pulled) <= 4 * 2 + 2
        got = [first] + [next(gen) for _ in range(20)]
    finally:
        gen.close()
    assert all(math.isclose(r, math.sqrt(t[0])) for t, r in got)
    assert len(pulled) < 100


@pytest.mark.slow
@pytest.mark.parametrize("category", ["compression", "continuous", "world", "advisor", "results_file", "trial_log",
                                      "cli_new"])
def test_issue19_harness_sample_has_no_failure(category):
    """A sample of the issue-19 adversarial categories (validation/adversarial.py) on this tree: every input is
    a certified number or a one-line refusal (the full run, with the counts before and after, is
    validation/RELIABILITY.md)."""
    import json
    import os
    harness = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "validation", "adversarial.py")
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
           "PYTHONWARNINGS": "ignore"}
    r = subprocess.run([sys.executable, harness, "--worker", category, "0", "12"], capture_output=True, text=True,
                       env=env, timeout=900)
    recs = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert len(recs) == 12
    bad = [x for x in recs if x["outcome"] not in ("ok", "refused", "progress")]
    assert not bad, bad
