"""dcpredict.data: a dataset as the population (issue 16).

Every expected number is computed here independently: dense numpy moments and least squares, the asymptotic
fixed-world theory (predict_world) on a dataset built to have exactly its covariance, and the actual experiment
on a dataset whose rows ARE Gaussian.
"""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import dcpredict
from dcpredict import DCPredictError, RISK_FIELDS
from dcpredict.data import ACTUAL_FIELDS, DataComparison, DataExperiment, DataPrediction, DataWorld


def _messy(N=300, P=12, seed=0):
    """Correlated features with a constant column, a duplicated column and an integer scale; nonlinear labels."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, P)) @ rng.standard_normal((P, P)) + 3.0
    X[:, 4] = 7.5                       # constant: zero after centring
    X[:, P - 1] = X[:, 2]               # duplicate: Sigma is rank deficient
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 3] / 5 + 0.3 * rng.standard_normal(N) + 2.0
    return X, y


def _direct(X, y, cols=None):
    """Dense reference: centred moments, min-norm least squares by SVD, sigma^2 from the residual."""
    Phi = X - X.mean(axis=0)
    yc = y - y.mean()
    if cols is not None:
        Phi = Phi[:, cols]
    Sigma = Phi.T @ Phi / len(y)
    beta = np.linalg.lstsq(Phi, yc, rcond=None)[0]
    resid = yc - Phi @ beta
    return Sigma, beta, float(resid @ resid) / len(y)


@pytest.mark.parametrize("shape", [(300, 12), (25, 40)])   # N > P and P > N
def test_moments_and_population_least_squares_match_a_dense_computation(shape):
    X, y = _messy(*shape)
    w = DataWorld.from_arrays(X, y, chunk_rows=7)
    Sigma, beta, sigma2 = _direct(X, y)
    scale = np.abs(Sigma).max()
    assert np.abs(w.Sigma - Sigma).max() <= 1e-12 * scale
    assert np.allclose(w.beta, beta, rtol=1e-7, atol=1e-9 * np.abs(beta).max())
    assert w.sigma2 == pytest.approx(sigma2, rel=1e-8, abs=1e-12)
    assert w.rank == np.linalg.matrix_rank(X - X.mean(axis=0))
    assert w.signal + w.sigma2 == pytest.approx(float(np.var(y)), rel=1e-12)
    # the model of the first p columns in variance order: its own population least squares
    order = np.argsort(-np.diag(Sigma), kind="stable")
    p = min(8, shape[1])
    m = w.model(p, "variance")
    S_p, b_p, s2_p = _direct(X, y, order[:p])
    assert np.array_equal(m.cols, order[:p])
    assert np.allclose(m.Sigma, S_p, rtol=0, atol=1e-12 * scale)
    assert np.allclose(m.beta, b_p, rtol=1e-7, atol=1e-9 * max(np.abs(b_p).max(), 1.0))
    assert m.sigma2 == pytest.approx(s2_p, rel=1e-8)
    # saliency order: decreasing Sigma_ii beta_i^2 of the full population weights
    sal = np.diag(Sigma) * beta ** 2
    assert np.array_equal(w.column_order("saliency")[:3], np.argsort(-sal, kind="stable")[:3])


def test_chunked_file_and_in_memory_sigma_are_identical(tmp_path):
    X, y = _messy(200, 9, seed=3)
    X = X.astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.savez(tmp_path / "X.npz", X)
    np.savetxt(tmp_path / "X.csv", X.astype(np.float64), delimiter=",", header="a,b,c,d,e,f,g,h,i", comments="")
    np.savetxt(tmp_path / "y.csv", y)
    mem = DataWorld.from_arrays(X, y, chunk_rows=13)
    big = DataWorld.from_arrays(X, y)                       # one block
    npy = DataWorld.from_files(tmp_path / "X.npy", tmp_path / "y.npy", chunk_rows=13)
    npz = DataWorld.from_files(tmp_path / "X.npz", tmp_path / "y.csv", chunk_rows=13)
    csv = DataWorld.from_files(tmp_path / "X.csv", tmp_path / "y.npy", chunk_rows=13)
    for other in (npy, npz, csv):                            # same blocks: bit-identical
        assert np.array_equal(other.Sigma, mem.Sigma)
        assert np.array_equal(other.beta, mem.beta)
        assert other.fingerprint == mem.fingerprint
    assert npy.source_path is not None and isinstance(npy._X, np.memmap)
    # other blocks: the same to rounding
    assert np.allclose(big.Sigma, mem.Sigma, rtol=0, atol=1e-13 * np.abs(mem.Sigma).max())
    # the float64 accumulation of float32 data matches a float64 dense computation
    Sigma, _, _ = _direct(X.astype(np.float64), y)
    assert np.allclose(mem.Sigma, Sigma, rtol=0, atol=1e-12 * np.abs(Sigma).max())


def _diagonal_dataset(lam, B, w, P, sigma2, N, seed=0):
    """N rows (N a power of 2) whose population covariance is EXACTLY diag(lam_i) (atom k on w_k P columns,
    grouped), weights beta_i = B_i / sqrt(P) and unexplained variance exactly sigma2: columns of a Hadamard matrix
    (orthogonal, orthogonal to the ones vector), scaled."""
    from scipy.linalg import hadamard
    counts = np.rint(np.asarray(w) * P).astype(int)
    assert counts.sum() == P and P + 2 <= N
    lam_i = np.repeat(lam, counts)
    beta_i = np.repeat(B, counts) / math.sqrt(P)
    H = hadamard(N).astype(np.float64)[np.random.default_rng(seed).permutation(N)]   # H^T H = N I, column 0 = 1
    Phi = H[:, 1:P + 1] * np.sqrt(lam_i)
    y = Phi @ beta_i + math.sqrt(sigma2) * H[:, P + 1]
    return Phi, y, lam_i, beta_i


def test_diagonal_population_equals_the_fixed_world_theory():
    # The fixed world of dcpredict.predict_world: law atoms (lam, B, w), P features, beta_i = B_i / sqrt(P),
    # the model of the first p in saliency order.  A dataset whose Sigma is exactly diag of that world, with
    # order="saliency", is the same problem at finite size: the dense risk (exact in both) and small_oracle agree
    # to rounding; the sampled pruned risks keep exactly the top s per draw where the limit uses a threshold,
    # so they agree within their Monte Carlo error plus a 1 % finite-size margin.
    lam, B, w, P, sigma2 = np.array([4.0, 1.0]), np.array([1.0, 0.5]), np.array([0.2, 0.8]), 200, 0.3
    law = dcpredict.Law(lam, B, w)
    Phi, y, lam_i, beta_i = _diagonal_dataset(lam, B, w, P, sigma2, N=256)
    world = DataWorld.from_arrays(Phi, y)
    assert np.allclose(world.Sigma, np.diag(lam_i), atol=1e-12)
    assert world.sigma2 == pytest.approx(sigma2, rel=1e-12)
    n, s = 100, 20
    pred = world.predict(n=n, s=s, ps=[80, 200], order="saliency", draws=400)
    for i, p in enumerate(pred.ps):
        ref = dcpredict.predict_world(law, n=n, P=P, p=p, s=s, sigma2=sigma2, order="saliency")
        for f in ("dense", "small_oracle"):
            assert pred.theory[f][i] == pytest.approx(getattr(ref, f), rel=1e-9), (p, f)
        for f in RISK_FIELDS:
            se = pred.theory_stderr[f][i]
            assert abs(pred.theory[f][i] - getattr(ref, f)) <= 5 * se + 0.01 * getattr(ref, f), (p, f)
    assert pred.model_sigma2[0] == pytest.approx(sigma2 + float((lam_i[80:] * beta_i[80:] ** 2).sum()), rel=1e-12)


def _gaussian_dataset(N, P, seed):
    """Rows drawn from N(0, Sigma) with a power-law spectrum in a random basis; labels linear plus noise."""
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((P, P)))[0]
    lam = np.arange(1, P + 1) ** -0.7
    X = (rng.standard_normal((N, P)) * np.sqrt(lam)) @ U.T
    beta = 5 * U @ (rng.standard_normal(P) * lam ** 0.2) / math.sqrt(P)
    y = X @ beta + 0.5 * rng.standard_normal(N)
    return X, y


def _check_theory_vs_actual(cmp: DataComparison, margin: float, fields=RISK_FIELDS):
    """|actual on all N rows - theory| <= 4 combined stderr + margin x theory, per p and field."""
    bad = []
    for g in cmp.gaps():
        if g["field"] not in fields or not math.isfinite(g["theory"]):
            continue
        se = math.hypot(g["theory_stderr"], g["actual_population_stderr"])
        if abs(g["gap"]) > 4 * se + margin * g["theory"]:
            bad.append((g["p"], g["field"], g["theory"], g["actual_population"], se))
    assert not bad, bad


def test_gaussian_dataset_theory_matches_the_experiment_fast():
    # A small version of the slow test below: rows ARE Gaussian, so the only gaps are Monte Carlo error and the
    # finite-n error of the non-asymptotic DC (margin 6 % of the risk at n = 60).
    X, y = _gaussian_dataset(3000, 60, seed=1)
    world = DataWorld.from_arrays(X, y)
    cmp = world.compare(n=60, s=12, ps=[30, 60], trials=40, seed=0, draws=300, workers=1, progress=False)
    _check_theory_vs_actual(cmp, margin=0.06)
    # ridge: the fits' (X^T X / n + r I)^{-1} X^T y / n and the DC's r = tau (1 - tr / n) are the same estimator
    ridged = world.compare(n=60, s=12, ps=[60], ridge=0.05, trials=40, seed=0, draws=300, workers=1, progress=False)
    _check_theory_vs_actual(ridged, margin=0.06)
    assert math.isfinite(ridged.prediction.theory["dense"][0])     # no interpolation peak with a ridge
    ex = cmp.experiment
    # held-out vs population: the held-out error of the interpolating dense fit is higher by about N/(N-n)
    i = ex.ps.index(60)
    ratio = ex.actual["dense"]["mean"][i] / ex.actual_population["dense"]["mean"][i]
    assert 1.0 < ratio < 1.0 + 3 * (ex.finite_population_factor - 1.0)


@pytest.mark.slow
def test_gaussian_dataset_theory_matches_the_experiment_large():
    # N = 20000 Gaussian rows, P = 300, n = 150: margin 3 % (finite-n error of the DC), 4 combined stderr.
    X, y = _gaussian_dataset(20000, 300, seed=2)
    world = DataWorld.from_arrays(X, y)
    cmp = world.compare(n=150, s=30, ps=[60, 120, 220, 300], trials=100, seed=0, draws=1000, workers=2,
                        progress=False)
    _check_theory_vs_actual(cmp, margin=0.03)


def test_experiment_scores_are_held_out_and_population_mse():
    # Independent check of one trial's scoring: refit the dense model from the same rows and compute both MSEs
    # directly on the rows.
    X, y = _messy(400, 10, seed=5)
    X = X * np.array([0.2, 5.0, 0.3, 4.0, 1.0, 0.1, 6.0, 0.5, 1.0, 1.0])   # Hessian and magnitude pick differently
    world = DataWorld.from_arrays(X, y)
    ex = world.experiment(n=30, s=5, ps=[8], trials=2, seed=4, workers=1, progress=False)
    from dcpredict.data._experiment import _KEY_ROWS
    rng = np.random.default_rng(np.random.SeedSequence(4, spawn_key=(_KEY_ROWS, 1)))
    drawn = rng.choice(400, size=60, replace=False)
    T = np.sort(drawn[:30])
    Phi = X - X.mean(axis=0)
    yc = y - y.mean()
    b = np.linalg.lstsq(Phi[T][:, :8], yc[T], rcond=None)[0]
    resid = yc - Phi[:, :8] @ b
    held = np.setdiff1d(np.arange(400), drawn)
    assert ex.samples[0, 1, ACTUAL_FIELDS.index("dense"), 1] == pytest.approx(np.mean(resid ** 2), rel=1e-9)
    assert ex.samples[0, 1, ACTUAL_FIELDS.index("dense"), 0] == pytest.approx(np.mean(resid[held] ** 2), rel=1e-9)
    # Hessian pruning with the EMPIRICAL diagonal (X^T X / n)_ii, then its refit on the same training rows
    XT = Phi[T][:, :8]
    keep = np.sort(np.argsort(-(np.sum(XT ** 2, axis=0) / 30) * b ** 2)[:5])
    assert not np.array_equal(keep, np.sort(np.argsort(-np.abs(b))[:5]))
    pruned = yc - Phi[:, keep] @ b[keep]
    assert ex.samples[0, 1, ACTUAL_FIELDS.index("hessian"), 1] == pytest.approx(np.mean(pruned ** 2), rel=1e-9)
    b_same = np.linalg.lstsq(XT[:, keep], yc[T], rcond=None)[0]
    same = yc - Phi[:, keep] @ b_same
    assert ex.samples[0, 1, ACTUAL_FIELDS.index("hessian_retrained_same"), 0] == pytest.approx(
        np.mean(same[held] ** 2), rel=1e-9)
    # fresh refit: the same support fitted on the other n drawn rows
    Fr = np.sort(drawn[30:])
    b_fresh = np.linalg.lstsq(Phi[Fr][:, keep], yc[Fr], rcond=None)[0]
    fresh = yc - Phi[:, keep] @ b_fresh
    assert ex.samples[0, 1, ACTUAL_FIELDS.index("hessian_retrained"), 1] == pytest.approx(np.mean(fresh ** 2),
                                                                                          rel=1e-9)


def test_results_follow_the_result_contract(tmp_path):
    X, y = _messy(150, 8, seed=2)
    world = DataWorld.from_arrays(X, y, name="messy")
    cmp = world.compare(n=20, s=4, ps=[6, 8], trials=3, draws=50, workers=1, progress=False)
    for obj, cls in ((cmp, DataComparison), (cmp.prediction, DataPrediction), (cmp.experiment, DataExperiment)):
        path = tmp_path / f"{cls.__name__}.json"
        obj.save(path)
        back = cls.load(path)
        assert back.to_dict() == obj.to_dict()
        assert isinstance(obj.summary(), str) and isinstance(repr(obj), str)
        assert len(obj.to_dataframe()) > 0
    d = cmp.schema()
    assert set(d) == {"N", "P", "n", "s", "order", "ridge", "sigma2", "signal", "rows"}
    row = d["rows"][0]
    assert set(row) == {"p", "theory", "theory_stderr", "actual", "actual_population"}
    assert set(row["theory"]) == set(RISK_FIELDS) == set(row["theory_stderr"])
    assert set(row["actual"]) == set(ACTUAL_FIELDS) == set(row["actual_population"])


def test_interpolation_threshold_is_null_in_json_never_infinity():
    X, y = _gaussian_dataset(400, 20, seed=3)
    world = DataWorld.from_arrays(X, y)
    cmp = world.compare(n=20, s=5, ps=[20], trials=0, draws=50)
    import json
    text = json.dumps(cmp.schema(), allow_nan=False)
    assert cmp.prediction.theory["dense"][0] == math.inf
    assert '"dense": null' in text and "Infinity" not in text


# ------------------------------------------------------------------------------------------ resume, workers
def test_resume_extends_and_refuses_foreign_logs(tmp_path):
    X, y = _messy(300, 10, seed=6)
    world = DataWorld.from_arrays(X, y)
    kw = dict(n=20, s=4, ps=[6, 10], seed=2, workers=1, progress=False)
    full = world.experiment(trials=5, **kw)
    log = tmp_path / "log.jsonl"
    world.experiment(trials=3, out=log, **kw)
    lines = log.read_text().splitlines()
    assert len(lines) == 6
    log.write_text("\n".join(lines[:3]) + "\n" + lines[3][:40])      # a run killed mid-trial and mid-line
    resumed = world.experiment(trials=5, out=log, **kw)               # resumes and extends
    assert np.array_equal(resumed.samples, full.samples)
    assert len(log.read_text().splitlines()) == 10
    with pytest.raises(DCPredictError, match="different arguments"):
        world.experiment(trials=5, out=log, **{**kw, "seed": 3})
    other = DataWorld.from_arrays(X[:, ::-1], y)                      # other data: another fingerprint
    with pytest.raises(DCPredictError, match="different arguments"):
        other.experiment(trials=5, out=log, **kw)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("my notes\n")
    with pytest.raises(DCPredictError, match="left unchanged"):
        world.experiment(trials=2, out=foreign, **kw)
    assert foreign.read_text() == "my notes\n"


@pytest.mark.slow
def test_experiment_is_bit_identical_for_one_and_two_workers_and_after_kill_and_resume(tmp_path):
    X, y = _gaussian_dataset(2000, 80, seed=7)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    world = DataWorld.from_arrays(X, y)
    kw = dict(n=50, s=10, ps=[20, 50, 80], trials=12, seed=5, progress=False)
    one = world.experiment(workers=1, **kw)
    two = world.experiment(workers=2, **kw)                          # an in-memory array via a temporary .npy
    files = DataWorld.from_files(tmp_path / "X.npy", tmp_path / "y.npy").experiment(workers=2, **kw)
    assert np.array_equal(one.samples, two.samples)
    assert np.array_equal(one.samples, files.samples)
    # kill -9 a run part way, then resume
    log = tmp_path / "run.jsonl"
    script = textwrap.dedent(f"""
        import numpy as np, time
        import dcpredict.data._experiment as E
        from dcpredict.data import DataWorld
        slow = E._trial
        def trial(spec, t):
            time.sleep(0.3)
            return slow(spec, t)
        E._trial = trial
        w = DataWorld.from_files({str(tmp_path / 'X.npy')!r}, {str(tmp_path / 'y.npy')!r})
        w.experiment(n=50, s=10, ps=[20, 50, 80], trials=200, seed=5, workers=1, progress=False, out={str(log)!r})
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.time() + 60
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 9):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(log.read_text().splitlines())
    assert 9 <= done < 36
    resumed = world.experiment(workers=1, out=log, **kw)
    assert np.array_equal(resumed.samples, one.samples)


# ------------------------------------------------------------------------------------------ bad input
def test_bad_input_is_one_clear_line(tmp_path):
    X, y = _messy(100, 6, seed=8)
    Xn = X.copy()
    Xn[17, 3] = np.inf
    cases = [
        (lambda: DataWorld.from_arrays(Xn, y), "row 17, column 3 is inf"),
        (lambda: DataWorld.from_arrays(X, y[:-2]), "labels has 98 entries but the features have N = 100 rows"),
        (lambda: DataWorld.from_arrays(X[:, 0], y), "must be a matrix"),
        (lambda: DataWorld.from_arrays(X, np.where(np.arange(100) == 5, np.nan, y)), "row 5 is nan"),
        (lambda: DataWorld.from_arrays(np.ones((100, 3)), y), "constant"),
    ]
    np.save(tmp_path / "cube.npy", np.zeros((4, 3, 2)))
    (tmp_path / "ragged.csv").write_text("1,2,3\n4,5\n")
    (tmp_path / "words.csv").write_text("1,2\nx,3\n")
    np.save(tmp_path / "y.npy", y)
    cases += [
        (lambda: DataWorld.from_files(tmp_path / "cube.npy", tmp_path / "y.npy"), "must be a matrix"),
        (lambda: DataWorld.from_files(tmp_path / "ragged.csv", tmp_path / "y.npy"), "line 2 has 2 values"),
        (lambda: DataWorld.from_files(tmp_path / "words.csv", tmp_path / "y.npy"), "line 2: 'x' is not a number"),
        (lambda: DataWorld.from_files(tmp_path / "missing.npy", tmp_path / "y.npy"), "does not exist"),
    ]
    world = DataWorld.from_arrays(X, y)
    cases += [
        (lambda: world.experiment(n=50, s=2, ps=[4], trials=2, progress=False), "no held-out|held-out rows"),
        (lambda: world.predict(n=10, s=5, ps=[4]), "s = 5 weights cannot be kept from a model of p = 4"),
        (lambda: world.predict(n=10, s=2, ps=[7]), "p must be an integer in \\[1, 6\\]"),
        (lambda: world.predict(n=10, s=2, ps=[4], order="random"), "order must be one of"),
        (lambda: world.experiment(n=10, s=2, ps=[4], trials=1, progress=False), "trials must be"),
    ]
    for fn, msg in cases:
        with pytest.raises(DCPredictError, match=msg) as info:
            fn()
        assert "\n" not in str(info.value)


def test_user_arrays_are_never_modified():
    X, y = _messy(50, 5, seed=9)
    X0, y0 = X.copy(), y.copy()
    DataWorld.from_arrays(X, y, chunk_rows=8)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


def test_import_dcpredict_does_not_import_the_data_subpackage():
    code = "import sys, dcpredict; print('dcpredict.data' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.getcwd()}).stdout.split()
    assert out == ["False", "False"]


# ------------------------------------------------------------------------------------------ the advisor
def test_advise_on_a_diagonal_dataset_matches_the_law_advisor_baselines():
    # The dataset of test_diagonal_population_equals_the_fixed_world_theory: its baselines are the fixed world's
    # (small_oracle and small_top_variance are exact dense DC risks of the same s columns; zero_model = sigma2 +
    # signal); small_random is a Monte Carlo mean over random subsets of the finite world, the law advisor's the
    # limit: within 4 stderr + 2 %.
    lam, B, w, P, sigma2 = np.array([4.0, 1.0]), np.array([1.0, 0.5]), np.array([0.2, 0.8]), 40, 0.3
    Phi, y, _, _ = _diagonal_dataset(lam, B, w, P, sigma2, N=64)
    world = DataWorld.from_arrays(Phi, y)
    n, s = 30, 20
    adv = dcpredict.advise(world, n=n, s=s, order="saliency")
    ref = dcpredict.advise(dcpredict.Law(lam, B, w), sigma2=sigma2, n=n, s=s, P=P, order="saliency")
    assert type(adv).__name__ == "DataAdvice"
    assert set(ref.to_dict()) <= set(adv.to_dict())
    for k in ("small_oracle", "small_top_variance", "zero_model"):
        assert getattr(adv, k) == pytest.approx(getattr(ref, k), rel=1e-9), k
    assert abs(adv.small_random - ref.small_random) <= 4 * adv.baseline_stderr["small_random"] + 0.02 * ref.small_random
    # P - s < 40: every integer p in [s, P] is searched
    assert adv.exhaustive and np.array_equal(adv.ps, np.arange(s, P + 1)) and adv.best_p in adv.ps
    # the best dense-pruned risk agrees with the law advisor's at the same p to the finite-size margin
    i = int(np.searchsorted(adv.ps, ref.best_p))
    if adv.ps[i] == ref.best_p:
        assert adv.curves[ref.best_rule][i] == pytest.approx(ref.best_risk, rel=0.03)
    with pytest.raises(DCPredictError, match="do not pass sigma2"):
        dcpredict.advise(world, n=n, s=s, sigma2=0.1)


@pytest.mark.slow
def test_experiment_on_a_dask_cluster_is_bit_identical():
    distributed = pytest.importorskip("distributed")
    X, y = _messy(500, 30, seed=10)
    world = DataWorld.from_arrays(X, y)
    kw = dict(n=40, s=5, ps=[10, 30], trials=6, seed=3, progress=False)
    one = world.experiment(workers=1, **kw)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        remote = world.experiment(scheduler=c.scheduler_address, **kw)
    assert np.array_equal(one.samples, remote.samples)


def test_exactly_linear_labels_have_zero_unexplained_variance():
    # sigma2 = mean(y^2) - beta' Sigma beta is 0 up to rounding: clipped to exactly 0 (tolerance SIGMA2_RTOL),
    # never negative, never an error
    from dcpredict.data._world import SIGMA2_RTOL
    rng = np.random.default_rng(11)
    X = rng.standard_normal((80, 6)) @ rng.standard_normal((6, 6))
    y = X @ rng.standard_normal(6) + 4.0
    w = DataWorld.from_arrays(X, y)
    assert 0.0 <= w.sigma2 <= SIGMA2_RTOL * w.m2
    assert w.signal == pytest.approx(float(np.var(y)), rel=1e-10)
