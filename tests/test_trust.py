"""Trust on the newer surface (issue 19): compression, continuous laws, saved results, trial logs and the
command line keep the promise: a certified number or one DCPredictError line; never nan, a traceback, a hang,
a tampered record averaged in, or a foreign file touched.

Every test here failed on the code before issue 19 (checked by running it against that tree)."""
import contextlib
import json
import math
import os
import signal
import time

import numpy as np
import pytest

import dcpredict as dp
from dcpredict import DCPredictError, GaussianLaw, Law
from dcpredict.cli import main

LAW = Law([4, 1, 1, 0.25], [2, 1, 0, 0.5], [0.1, 0.2, 0.4, 0.3])


class _Late(Exception):
    pass


@contextlib.contextmanager
def within(seconds: int):
    """Fail (instead of hanging) when the block takes longer than ``seconds``."""
    def alarm(signum, frame):
        raise _Late(f"no answer within {seconds} s")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def one_line_refusal(capsys, argv, flag=None):
    rc = main(argv)
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err
    if flag is not None:
        assert flag in lines[0], lines[0]
    return lines[0]


# ----------------------------------------------------------------------------------- compression
def test_quantized_law_beyond_double_range_is_refused_not_nan():
    law = Law([1e-300, 1e300, 1e-300, 1e300], [1.971, -2.86, -1.084, -1.018], [0.345, 0.041, 0.305, 0.309])
    with pytest.raises(DCPredictError, match="span at most 305 decades"):
        dp.predict_quantized(law, kappa=10, bits=1, sigma2=0, step=0.5)


def test_quantized_huge_noise_is_a_certified_number():
    # the risk of any fit is at least sigma2 and, here, the zero model's sigma2 + E[Lambda B^2] at most
    law = Law([3.88e-12], [2.325])
    res = dp.predict_quantized(law, kappa=2, bits=2, sigma2=1e300)
    zero = 1e300 + 3.88e-12 * 2.325 ** 2
    assert 1e300 <= res.risk <= zero * (1 + 1e-12)


def test_quantized_risk_is_invariant_under_the_exact_feature_rescaling():
    """lam -> c lam, B -> B / sqrt(c) leaves every risk unchanged and scales the step by 1 / sqrt(c), however
    large c: the computation runs in scaled units."""
    ref = dp.predict_quantized(LAW, kappa=2.0, bits=2, sigma2=0.2, step=0.7)
    c = 1e280
    big = Law(LAW.lam * c, LAW.b / math.sqrt(c), LAW.weights)
    res = dp.predict_quantized(big, kappa=2.0, bits=2, sigma2=0.2, step=0.7 / math.sqrt(c))
    assert res.risk == pytest.approx(ref.risk, rel=1e-9)
    assert res.unquantized == pytest.approx(ref.unquantized, rel=1e-9)


def test_quantized_request_too_long_is_refused_with_its_estimate_before_any_work():
    law = GaussianLaw(np.linspace(1, 2, 2000), np.ones(2000))
    t0 = time.time()
    with within(10), pytest.raises(DCPredictError, match=r"would take about .* s .*give step="):
        dp.predict_quantized(law, kappa=2, bits=16, sigma2=0.1)
    assert time.time() - t0 < 5


def test_iterative_law_beyond_double_range_is_refused():
    with pytest.raises(DCPredictError, match="span at most 305 decades"):
        dp.predict_iterative(Law([1e-300, 1e300], [1, 1]), kappa=2, alpha=0.5, rounds=2, sigma2=0.1)


# ----------------------------------------------------------------------------------- continuous laws
@pytest.mark.parametrize("density, what", [
    (lambda x: 1 / 0, "density raised ZeroDivisionError"),
    (lambda x: {}["k"], "density raised KeyError"),
    (lambda x: "abc", "density must return real numbers"),
    (lambda x: None, "density must return real numbers"),
    (lambda x: x[:1], "density must return an array of the same shape"),
    (lambda x: np.concatenate([x, x]), "density must return an array of the same shape"),
    (lambda x: -x, "density must return finite density values >= 0"),
    (lambda x: x * np.nan, "density must return finite"),
    (lambda x: x > 1, "density must return real numbers"),
])
def test_density_is_probed_before_any_work(density, what):
    with within(10), pytest.raises(DCPredictError) as exc:
        Law.from_density(density, 1.0, 3.0)
    assert what in str(exc.value) and "\n" not in str(exc.value)


def test_b_var_function_is_checked_like_the_density():
    with pytest.raises(DCPredictError, match="b_var raised"):
        Law.from_density(lambda x: x, 1.0, 3.0, b_var=lambda x: 1 / 0)
    with pytest.raises(DCPredictError, match="b_var must return an array of the same shape"):
        Law.from_density(lambda x: x, 1.0, 3.0, b_var=lambda x: x[:2])


@pytest.mark.parametrize("spec", [{"spectrum": [1, 2, 3]}, {"power_law": 1.5}, {"gaussian_b": [1, 2]},
                                  {"index_power_law": "x"}, {"power_law": {"exponent": 1, "lam_min": 1,
                                                                           "lam_max": 2, "method": [1]}},
                                  {"gaussian_b": {"lam": [1], "b_var": [1], "weights": [1], "continuous": "no"}},
                                  {"lam": [1], "b": [1], "spectrum": {"eigenvalues": [1]}}])
def test_from_dict_malformed_forms_are_one_line_refusals(spec):
    with pytest.raises(DCPredictError):
        Law.from_dict(spec)


def test_gaussian_law_drops_zero_weight_nodes_and_refuses_unscalable_spectra():
    law = GaussianLaw([1, 2], [1, 1], [1, 0])
    assert law.n_nodes == 1 and law.nodes[0] == 1.0 and law.node_weights[0] == 1.0
    with pytest.raises(DCPredictError, match="span at most 305 decades"):
        Law.from_spectrum([1e300, 1e-300])
    with pytest.raises(DCPredictError, match="exceeds the double range"):
        Law.from_spectrum([1e300, 1.0], b_var=1e300)


# ----------------------------------------------------------------------------------- saved results
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "p.json"
    dp.predict(LAW, kappa=2.0, alpha=0.3, sigma2=0.2).save(path)
    return json.loads(path.read_text())


def _tamper(data, value):
    d = json.loads(json.dumps(data))
    d["result"]["fields"]["hessian"] = value
    return d


@pytest.mark.parametrize("content, why", [
    (lambda d: json.dumps(_tamper(d, -1.0)), "a risk is a finite number no smaller than the noise level"),
    (lambda d: json.dumps(_tamper(d, 0.1)), "a risk is a finite number no smaller than the noise level"),
    (lambda d: json.dumps(_tamper(d, float("nan"))), "nan"),
    (lambda d: json.dumps(_tamper(d, "0.5")), "must be a number"),
    (lambda d: json.dumps(_tamper(d, 7)).replace(': 7,', ': 1' + '0' * 400 + ','), "beyond"),
    (lambda d: json.dumps({**d, "result": {**d["result"], "fields": {
        k: v for k, v in d["result"]["fields"].items() if k != "dc"}}}), "missing fields dc"),
    (lambda d: json.dumps({**d, "result": {**d["result"], "__result__": "Nope"}}), "not a dcpredict result"),
    (lambda d: '{"format": "dcpredict-result", "result": ' + "[" * 100000 + "]" * 100000 + "}", "nested"),
    (lambda d: b"\x89PNG\r\n\x1a\n\xff\xfe", "not UTF-8"),
    (lambda d: json.dumps(d)[:-40], "not JSON"),
])
def test_load_verifies_what_it_reads(saved, tmp_path, content, why):
    path = tmp_path / "t.json"
    data = content(saved)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    with pytest.raises(DCPredictError) as exc:
        dp.Prediction.load(path)
    assert why in str(exc.value) and "\n" not in str(exc.value), str(exc.value)


@pytest.mark.parametrize("edit, why", [
    (lambda t: t.replace('"float64"', '"object"', 1), "dtype 'object'"),
    (lambda t: t.replace('"shape": [2, 2]', '"shape": [3, 2]', 1), "with shape [3, 2]"),
    (lambda t: t.replace('"shape": [2, 2]', '"shape": "x"', 1), "with shape x"),
])
def test_load_verifies_arrays(tmp_path, edit, why):
    path = tmp_path / "g.json"
    dp.predict_grid(LAW, [0.5, 2.0], [0.3, 0.6], sigma2=0.2).save(path)
    text = path.read_text()
    path.write_text(edit(text))
    assert path.read_text() != text
    with pytest.raises(DCPredictError, match="corrupted") as exc:
        dp.PredictionGrid.load(path)
    assert why in str(exc.value), str(exc.value)


def test_load_refuses_a_device_and_a_directory(tmp_path):
    with within(20):
        with pytest.raises(DCPredictError, match="larger than"):
            dp.Prediction.load("/dev/zero")
    with pytest.raises(DCPredictError, match="cannot be read"):
        dp.Prediction.load(tmp_path)


# ----------------------------------------------------------------------------------- trial logs
def _log(path, header=None):
    from dcpredict._store import TrialLog
    return TrialLog(path, header or {"sigma2": 0.2, "law": "x"}, fields=("dense", "hessian"),
                    points={(2.0, 0.5): (20, 10)}, seed=0, n=10)


def _write(path, k=4, header=None):
    log = _log(path, header)
    assert log.open() == {}
    log.write_trials([{"kappa": 2.0, "alpha": 0.5, "trial": t, "seed": 0, "n": 10, "p": 20, "s": 10,
                       "dense": 0.7 + 0.01 * t, "hessian": 0.9 + 0.01 * t} for t in range(k)])
    log.close()


@pytest.mark.parametrize("field, value, why", [
    ("dense", 1e10, "line 3 was edited or corrupted"),
    ("hessian", -5.0, "line 3 is a corrupted trial record (hessian = -5.0 is below the noise level"),
    ("dense", 1.7e308, "line 3 was edited or corrupted"),
    ("dense", 0.7200000000000001, "line 3 was edited or corrupted"),
])
def test_edited_trial_record_is_reported_by_line_never_averaged_in(tmp_path, field, value, why):
    path = str(tmp_path / "t.jsonl")
    _write(path)
    lines = open(path).read().splitlines()
    rec = json.loads(lines[2])
    rec[field] = value
    lines[2] = json.dumps(rec)
    open(path, "w").write("\n".join(lines) + "\n")
    before = open(path, "rb").read()
    log = _log(path)
    with pytest.raises(DCPredictError) as exc:
        log.open()
    assert why in str(exc.value), str(exc.value)
    assert open(path, "rb").read() == before
    log.close()


def test_honest_trial_log_is_read_back(tmp_path):
    path = str(tmp_path / "t.jsonl")
    _write(path)
    log = _log(path)
    done = log.open()
    log.close()
    assert sorted(done) == [(2.0, 0.5, t) for t in range(4)]
    assert done[(2.0, 0.5, 3)].tolist() == [0.73, 0.93]


def test_a_run_refused_by_the_lock_touches_nothing(tmp_path, monkeypatch):
    """Two runs that both found --out missing: the second must not rewrite the first one's sidecar."""
    import dcpredict._store as store
    path = str(tmp_path / "t.jsonl")
    first = _log(path, {"sigma2": 0.2})
    first.open()  # creates the log and its sidecar, holds the lock
    side = open(path + ".args.json", "rb").read()
    real_kind = store._kind
    monkeypatch.setattr(store, "_kind", lambda p: "missing" if p == first.path else real_kind(p))
    second = _log(path, {"sigma2": 0.3})
    with pytest.raises(DCPredictError, match="another run"):
        second.open()
    assert open(path + ".args.json", "rb").read() == side
    first.close()


# ----------------------------------------------------------------------------------- command line
def test_cli_law_files_that_are_not_laws(capsys, tmp_path):
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\x00\x01" * 8)
    deep = tmp_path / "d.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    base = ["predict", "--kappa", "2", "--alpha", "0.5", "--sigma2", "0.1", "--law"]
    assert "not UTF-8" in one_line_refusal(capsys, [*base, str(binary)])
    assert "nested too deeply" in one_line_refusal(capsys, [*base, str(deep)])
    with within(20):
        assert "larger than" in one_line_refusal(capsys, [*base, "/dev/zero"])


def test_cli_checks_before_any_work(capsys, tmp_path):
    t0 = time.time()
    with within(15):
        one_line_refusal(capsys, ["advise", "--lam", "4,1", "--b", "1,0.5", "--sigma2", "0.2", "--n", "20", "--s",
                                  "3", "--world-size", "30", "--map", str(tmp_path / "map.txt")], "--map")
        one_line_refusal(capsys, ["simulate", "--lam", "4,1", "--b", "1,1", "--sigma2", "0.1", "--kappa", "2",
                                  "--alpha", "0.5", "--n", "10", "--trials", "2", "--quiet", "--scheduler",
                                  "inproc://"], "--scheduler")
    assert time.time() - t0 < 5
    assert not os.path.exists(tmp_path / "map.txt")


def test_cli_refusal_names_the_flag(capsys):
    line = one_line_refusal(capsys, ["predict", "--lam", "4,1", "--b", "1,1", "--sigma2", "0.1", "--world-size", "0",
                                     "--p", "1", "--s", "1", "--n", "10"])
    assert "--world-size must be an integer" in line


def test_cli_quantize_huge_noise_is_not_a_traceback(capsys):
    rc = main(["quantize", "--lam", "1e-12,1e12", "--b", "1,1", "--kappa", "0.5", "--sigma2", "1e300", "--bits", "1",
               "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    d = json.loads(out)
    assert d["risk"] >= 1e300 and not math.isnan(d["risk"])


@pytest.mark.slow
def test_cli_warning_on_a_small_world_is_one_line(capsys):
    rc = main(["simulate", "--world-size", "2", "--p", "1,2", "--s", "1", "--n", "10", "--lam", "4,1,1,0.25", "--b",
               "2,1,0,0.5", "--sigma2", "0.1", "--trials", "3", "--workers", "1", "--quiet"])
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert rc == 0 and len(err) == 1 and err[0].startswith("dcpredict simulate: warning: the world of P=2"), err


@pytest.mark.slow
def test_world_with_a_zero_weight_node_equals_the_world_without_it():
    a = dp.predict_world(GaussianLaw([1, 2], [1, 1], [1, 0]), n=20, P=100, p=60, s=5, sigma2=0.1, order="random")
    b = dp.predict_world(GaussianLaw([1], [1]), n=20, P=100, p=60, s=5, sigma2=0.1, order="random")
    assert a.dense == b.dense and a.hessian == b.hessian


@pytest.mark.slow
def test_cli_simulate_edited_record_is_refused(tmp_path, capsys):
    out = tmp_path / "s.jsonl"
    args = ["simulate", "--lam", "4,1", "--b", "1,0.5", "--sigma2", "0.2", "--kappa", "2", "--alpha", "0.5", "--n",
            "12", "--trials", "3", "--workers", "1", "--quiet", "--json", "--out", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    lines = out.read_text().splitlines()
    rec = json.loads(lines[1])
    rec["dense"] = 1e10
    lines[1] = json.dumps(rec)
    out.write_text("\n".join(lines) + "\n")
    assert "line 2 was edited" in one_line_refusal(capsys, args)
