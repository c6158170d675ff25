"""Real datasets, random features of their inputs, and laws built from a user's actual weights.

Every expected value is computed independently in the test (scikit-learn called directly, the first layer
drawn by hand, the sqrt(P) scaling done by hand, the eigendecomposition done here).
"""
from __future__ import annotations

import math
import random
import warnings

import numpy as np
import pytest

from dcpredict import DCPredictError, Law, ScalingWarning
from dcpredict.cli import main

sklearn = pytest.importorskip("sklearn")


# ----------------------------------------------------------------------------------------------- datasets
@pytest.fixture(scope="module")
def digits():
    from dcpredict.data.datasets import load_dataset
    return {task: load_dataset("digits", task) for task in ("value", "parity", "one-vs-rest:3")}


def test_digits_against_sklearn(digits):
    from sklearn.datasets import load_digits
    raw = load_digits()
    X0, t = raw.data.astype(float), raw.target
    cols = [j for j in range(64) if X0[:, j].max() != X0[:, j].min()]
    expect = np.column_stack([(X0[:, j] - X0[:, j].mean()) / X0[:, j].std() for j in cols])
    X, y, text = digits["value"]
    assert X.shape == (1797, len(cols)) == (1797, 61)
    np.testing.assert_allclose(X, expect, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1.0, atol=1e-12)
    assert y.dtype == np.float64 and np.array_equal(y, t.astype(float))
    assert "3 constant pixel columns dropped [0, 32, 39]" in text and "not centered" in text
    Xp, yp, _ = digits["parity"]
    assert np.array_equal(Xp, X) and np.array_equal(yp, np.array([d % 2 for d in t], dtype=float))
    assert set(np.unique(yp)) == {0.0, 1.0}
    _, y3, text3 = digits["one-vs-rest:3"]
    assert np.array_equal(y3, (t == 3).astype(float)) and y3.sum() == np.sum(t == 3) == 183
    assert "digit 3" in text3


@pytest.mark.parametrize("name,task,needle", [
    ("cifar", "parity", "dataset must be one of digits, mnist1d; got 'cifar'"),
    ("digits", "even", "task must be one of value, parity or one-vs-rest:K with K = 0..9; got 'even'"),
    ("digits", "one-vs-rest:10", "got 'one-vs-rest:10'"),
    ("digits", "one-vs-rest:x", "got 'one-vs-rest:x'"),
    ("digits", "one-vs-rest", "got 'one-vs-rest'"),
    ("mnist1d", 3, "got 3"),
])
def test_load_dataset_bad_names(name, task, needle):
    from dcpredict.data.datasets import load_dataset
    with pytest.raises(DCPredictError) as exc:
        load_dataset(name, task)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.slow
def test_mnist1d_generated_offline_and_rng_untouched(monkeypatch):
    import mnist1d.data
    from dcpredict.data.datasets import MNIST1D_ARGS, load_dataset

    def no_download(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("the download path was used")
    monkeypatch.setattr(mnist1d.data, "get_dataset", no_download)
    monkeypatch.setattr(mnist1d.data.requests, "get", no_download)
    np.random.seed(123)
    random.seed(123)
    before_np, before_py = np.random.get_state(), random.getstate()
    X, y, text = load_dataset("mnist1d", "parity")
    after_np = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(before_np[1:2], after_np[1:2])) and before_np[2] == after_np[2]
    assert random.getstate() == before_py
    assert X.shape == (5000, 40) and MNIST1D_ARGS["seed"] == 42
    # independent: the package's generator with its own default arguments, standardized here
    ref = mnist1d.data.make_dataset(mnist1d.data.get_dataset_args())
    X0 = np.concatenate([ref["x"], ref["x_test"]])
    d0 = np.concatenate([ref["y"], ref["y_test"]])
    np.testing.assert_allclose(X, (X0 - X0.mean(0)) / X0.std(0), atol=1e-12)
    assert np.array_equal(y, (d0 % 2).astype(float))
    assert np.array_equal(np.bincount(d0), np.full(10, 500))
    assert "never downloaded" in text


# ----------------------------------------------------------------------------------------------- features
def _by_hand(X, width, seed, act):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((width, X.shape[1]))
    W = G / np.sqrt((G ** 2).sum(axis=1))[:, None]
    Z = np.array([[sum(W[k, j] * x[j] for j in range(X.shape[1])) for k in range(width)] for x in X])
    return np.vectorize(act)(Z)


@pytest.mark.parametrize("activation,act", [
    ("relu", lambda z: max(z, 0.0)), ("tanh", math.tanh), ("erf", math.erf), ("linear", lambda z: z),
    ("abs", abs)])
def test_random_features_by_hand(activation, act):
    from dcpredict.data.features import random_features
    X = np.random.default_rng(5).standard_normal((7, 4))
    F = random_features(X, 6, activation=activation, seed=11)
    np.testing.assert_allclose(F, _by_hand(X, 6, 11, act), rtol=1e-13, atol=1e-14)


def test_random_features_seed_and_scale(digits):
    from dcpredict.data.features import random_features
    X = digits["parity"][0]
    F0, F0b, F1 = (random_features(X, 300, seed=s) for s in (0, 0, 1))
    assert F0.shape == (1797, 300) and np.array_equal(F0, F0b) and not np.array_equal(F0, F1)
    # the first rows do not depend on how many rows follow
    np.testing.assert_array_equal(random_features(X[:10], 300, seed=0), F0[:10])
    # unit-norm rows on standardized inputs: pre-activations of mean square close to 1 (tr C / d = 1)
    Z = random_features(X, 300, activation="linear", seed=0)
    assert 0.8 < float(np.mean(Z ** 2)) < 1.25


def test_random_features_bad_input():
    from dcpredict.data.features import random_features
    X = np.ones((4, 3))
    X[2, 1] = np.nan
    with pytest.raises(DCPredictError, match=r"row 2, column 1 is nan"):
        random_features(X, 5)
    with pytest.raises(DCPredictError, match="width must be"):
        random_features(np.ones((4, 3)), 0)
    with pytest.raises(DCPredictError, match="activation must be one of 'relu', 'tanh', 'erf', 'linear', 'abs'"):
        random_features(np.ones((4, 3)), 5, activation="gelu")
    with pytest.raises(DCPredictError, match="2-D array"):
        random_features(np.ones(4), 5)


# ----------------------------------------------------------------------------------------------- scaling
def test_from_beta_by_hand():
    lam, beta = [2.0, 1.0, 0.5, 0.5], [0.5, -0.5, 1.0, 0.0]
    law = Law.from_beta(lam, beta)
    assert law.b.tolist() == [1.0, -1.0, 2.0, 0.0]                        # sqrt(4) = 2
    assert law.weights.tolist() == [0.25] * 4
    assert law.signal_power == pytest.approx(2 * 0.25 + 1 * 0.25 + 0.5 * 1.0, rel=1e-15)   # beta' Sigma beta
    assert law.description.startswith("empirical")


def test_from_beta_dense_risk_is_the_finite_problem():
    """The law of the actual weights must give the finite problem's dense risk, computed here from its own
    equations (tau by bisection, gamma^2 in closed form) on Sigma = diag(lam) and the unscaled beta."""
    import dcpredict as dp
    rng = np.random.default_rng(3)
    p, n, sigma2 = 60, 40, 0.2
    lam = 0.2 + rng.random(p) * 3
    beta = rng.standard_normal(p) / np.sqrt(p) * 1.5
    lo, hi = 1e-12, 1e3                       # tau: 1 = sum lam/(lam + tau) / n  (min-norm, p > n)
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if np.sum(lam / (lam + mid)) / n > 1 else (lo, mid)
    tau = math.sqrt(lo * hi)
    g2 = (sigma2 + tau ** 2 * np.sum(lam * beta ** 2 / (lam + tau) ** 2)) / (1 - np.sum(lam ** 2 / (lam + tau) ** 2) / n)
    pred = dp.predict(Law.from_beta(lam, beta), kappa=p / n, alpha=1.0, sigma2=sigma2)
    assert pred.dense == pytest.approx(g2, rel=1e-8)
    with pytest.warns(ScalingWarning, match="Law.from_beta"):
        wrong = dp.predict(Law.empirical(lam, beta), kappa=p / n, alpha=1.0, sigma2=sigma2)
    assert abs(wrong.dense / g2 - 1) > 0.1                               # the mis-scaling the issue reported


def test_from_covariance_rotation_and_rank():
    rng = np.random.default_rng(7)
    p = 12
    Q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    mu = np.linspace(3.0, 0.25, p)                                      # distinct eigenvalues
    Sigma = Q @ np.diag(mu) @ Q.T
    beta = rng.standard_normal(p)
    law = Law.from_covariance(Sigma, beta)
    np.testing.assert_allclose(law.lam, mu, rtol=1e-12)                 # decreasing, as constructed
    np.testing.assert_allclose(np.abs(law.b), math.sqrt(p) * np.abs(Q.T @ beta), rtol=1e-9, atol=1e-12)
    assert law.signal_power == pytest.approx(beta @ Sigma @ beta, rel=1e-12)
    # rank 5: a covariance A A^T; the null directions are dropped, the signal is kept
    A = rng.standard_normal((p, 5))
    law5 = Law.from_covariance(A @ A.T, beta)
    assert law5.n_atoms == 5 and "7 directions of zero variance dropped" in law5.description
    assert law5.signal_power == pytest.approx(beta @ A @ A.T @ beta, rel=1e-10)
    np.testing.assert_allclose(np.sort(law5.lam), np.sort(np.linalg.svd(A, compute_uv=False) ** 2), rtol=1e-10)


def test_from_covariance_diagonal_and_repeated():
    beta = np.array([0.3, -0.4, 0.0, 1.0])
    law = Law.from_covariance(np.diag([2.0, 2.0, 0.0, 1.0]), beta)       # diagonal: own coordinates
    assert law.lam.tolist() == [2.0, 2.0, 1.0]
    np.testing.assert_allclose(law.b, math.sqrt(3) * np.array([0.3, -0.4, 1.0]), rtol=1e-15)
    # a rotated eigenspace of eigenvalue 2 (dimension 2): beta's projection on it lies on one direction
    Q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((3, 3)))
    Sigma = Q @ np.diag([2.0, 2.0, 1.0]) @ Q.T
    b3 = np.array([0.3, -0.4, 1.0])
    law3 = Law.from_covariance(Sigma, b3)
    np.testing.assert_allclose(law3.lam, [2.0, 2.0, 1.0], rtol=1e-12)
    proj = np.linalg.norm(Q[:, :2].T @ b3)
    np.testing.assert_allclose(np.abs(law3.b), math.sqrt(3) * np.array([proj, 0.0, abs(Q[:, 2] @ b3)]), atol=1e-12)


def test_scaling_warning():
    rng = np.random.default_rng(0)
    P = 200
    lam = 0.5 + rng.random(P)
    beta = rng.standard_normal(P) / math.sqrt(P)                          # ||beta|| ~ 1: an actual weight vector
    with pytest.warns(ScalingWarning, match=r"below 1/sqrt\(p\) = 0.0707 for p = 200"):
        Law.empirical(lam, beta)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Law.empirical(lam, math.sqrt(P) * beta)                           # scaled: silent
        Law.from_beta(lam, beta)
        Law.empirical(lam[:49], beta[:49])                                # too few features to judge


def test_bad_input_constructors():
    with pytest.raises(DCPredictError, match=r"beta must have the same length as lam \(3\); got 2"):
        Law.from_beta([1, 2, 3], [1, 2])
    with pytest.raises(DCPredictError, match="lam entries must be"):
        Law.from_beta([1, 0, 3], [1, 2, 3])
    with pytest.raises(DCPredictError, match="Sigma must be symmetric"):
        Law.from_covariance([[1.0, 0.5], [0.0, 1.0]], [1, 1])
    with pytest.raises(DCPredictError, match="positive semi-definite"):
        Law.from_covariance([[1.0, 2.0], [2.0, 1.0]], [1, 1])
    with pytest.raises(DCPredictError, match="beta must have length p = 2"):
        Law.from_covariance(np.eye(2), [1, 1, 1])


# ----------------------------------------------------------------------------------------------- CLI
def _cli(capsys, argv):
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_predict_reads_files(tmp_path, capsys):
    import json
    lam = np.array([3.0, 2.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25])
    beta = np.array([0.4, -0.2, 0.3, 0.0, 0.1, -0.1, 0.05, 0.2])
    np.save(tmp_path / "lam.npy", lam)
    np.savetxt(tmp_path / "beta.txt", beta)
    (tmp_path / "beta.csv").write_text("beta\n" + "\n".join(f"{v!r};" for v in beta.tolist()) + "  # the weights\n")
    common = ["--kappa", "2", "--alpha", "0.5", "--sigma2", "0.1", "--json"]
    # by hand: B = sqrt(8) beta, given as a comma list
    rc0, ref, err0 = _cli(capsys, ["predict", "--lam", ",".join(repr(float(v)) for v in lam),
                                "--b", ",".join(repr(math.sqrt(8) * float(v)) for v in beta), *common])
    for bfile in ("beta.txt", "beta.csv"):
        rc, out, err = _cli(capsys, ["predict", "--lam", str(tmp_path / "lam.npy"), "--beta", str(tmp_path / bfile),
                                     *common])
        assert (rc, rc0, err) == (0, 0, ""), err0
        got, want = json.loads(out), json.loads(ref)
        assert got.keys() == want.keys()
        for k in want:
            if k == "law":  # the echoed inputs: the same law, its b typed by hand as sqrt(8) beta
                for key in want[k]:
                    assert got[k][key] == pytest.approx(want[k][key], rel=1e-12)
            elif isinstance(want[k], str):  # "inf" (strict JSON) or an echoed word
                assert got[k] == want[k]
            else:
                assert got[k] == pytest.approx(want[k], rel=1e-12)
    # the fixed world of the instance's own 8 features: --world-size defaults to 8
    world = ["--n", "4", "--p", "6", "--s", "2", "--sigma2", "0.1", "--json"]
    rc1, out1, err1 = _cli(capsys, ["predict", "--lam", str(tmp_path / "lam.npy"), "--beta", str(tmp_path / "beta.txt"),
                                    *world])
    rc2, out2, _ = _cli(capsys, ["predict", "--lam", ",".join(repr(float(v)) for v in lam),
                                 "--b", ",".join(repr(math.sqrt(8) * float(v)) for v in beta), "--world-size", "8",
                                 *world])
    assert (rc1, rc2, err1) == (0, 0, "")
    got, want = json.loads(out1), json.loads(out2)
    assert got.keys() == want.keys()
    for k in want:
        if isinstance(want[k], dict):  # the echoed world: the same law and P
            for key in want[k]:
                assert got[k][key] == pytest.approx(want[k][key], rel=1e-12)
        elif isinstance(want[k], str):
            assert got[k] == want[k]
        else:
            assert got[k] == pytest.approx(want[k], rel=1e-12)


def test_cli_advise_covariance_and_warning(tmp_path, capsys):
    import json
    rng = np.random.default_rng(2)
    P = 60
    Q, _ = np.linalg.qr(rng.standard_normal((P, P)))
    mu = np.geomspace(4, 0.1, P)
    beta_eig = rng.standard_normal(P) / math.sqrt(P)
    np.save(tmp_path / "cov.npy", Q @ np.diag(mu) @ Q.T)
    np.save(tmp_path / "beta.npy", Q @ beta_eig)
    common = ["--sigma2", "0.1", "--n", "30", "--s", "8", "--json"]
    rc, out, err = _cli(capsys, ["advise", "--covariance", str(tmp_path / "cov.npy"), "--beta",
                                 str(tmp_path / "beta.npy"), *common])
    assert rc == 0 and err == ""
    got = json.loads(out)
    # the same world by hand: eigenvalues and rotated, scaled weights as a --spectrum
    lam_txt = ",".join(repr(float(v)) for v in mu)
    b_txt = ",".join(repr(math.sqrt(P) * float(v)) for v in beta_eig)
    rc2, out2, err2 = _cli(capsys, ["advise", "--spectrum", "--lam", lam_txt, "--b", b_txt, *common])
    want = json.loads(out2)
    assert rc2 == 0 and err2 == ""
    assert got["best"]["p"] == want["best"]["p"] and got["best"]["rule"] == want["best"]["rule"]
    assert got["best"]["risk"] == pytest.approx(want["best"]["risk"], rel=1e-8)
    # the same weights given unscaled as --beta next to the spectrum
    b_raw = ",".join(repr(float(v)) for v in beta_eig)
    rc4, out4, err4 = _cli(capsys, ["advise", "--spectrum", "--lam", lam_txt, "--beta", b_raw, *common])
    assert rc4 == 0 and err4 == "" and json.loads(out4)["best"] == want["best"]
    # the unscaled weights given as --b: one warning line naming --beta, the run goes on
    rc3, _, err3 = _cli(capsys, ["advise", "--spectrum", "--lam", lam_txt, "--b", b_raw, *common])
    assert rc3 == 0 and err3.count("\n") == 1 and "warning" in err3 and "--beta" in err3


@pytest.mark.parametrize("files,argv_tail,needle", [
    ({}, ["--lam", "{d}/missing.npy", "--beta", "1,2"], "missing.npy: cannot be read"),
    ({"m.npy": np.ones((2, 3))}, ["--covariance", "{d}/m.npy", "--beta", "1,2"], "Sigma must be a square matrix"),
    ({"v.npy": np.array([1.0, np.nan, 2.0])}, ["--lam", "{d}/v.npy", "--beta", "1,2,3"], "entry 1 is nan"),
    ({"t.txt": "1 2\nx 4\n"}, ["--lam", "{d}/t.txt", "--beta", "1,2"], "not a file of numbers"),
    ({"v.npy": np.ones((2, 2))}, ["--lam", "{d}/v.npy", "--beta", "1,2"], "must hold a vector"),
    ({"c.csv": "1,0\n0\n"}, ["--covariance", "{d}/c.csv", "--beta", "1,2"], "rows of different lengths"),
    ({"c.csv": "a,b\n1,0\n0,x\n"}, ["--covariance", "{d}/c.csv", "--beta", "1,2"], "line 3: 'x'"),
    ({}, ["--beta", "1,2"], "--beta (the actual weights of a finite instance) needs --lam"),
    ({}, ["--covariance", "1,2", "--beta", "1,2"], "--covariance must name a file"),
    ({"c.npy": np.eye(2)}, ["--covariance", "{d}/c.npy", "--lam", "1,1", "--beta", "1,2"], "--covariance takes --beta"),
])
def test_cli_bad_files(tmp_path, capsys, files, argv_tail, needle):
    for name, content in files.items():
        if isinstance(content, str):
            (tmp_path / name).write_text(content)
        else:
            np.save(tmp_path / name, content)
    argv = ["advise", *[a.format(d=tmp_path) for a in argv_tail], "--sigma2", "0.1", "--n", "4", "--s", "1"]
    rc, out, err = _cli(capsys, argv)
    assert rc == 2 and out == "" and err.count("\n") == 1 and needle in err, err


# ----------------------------------------------------------------------------------------------- the figure
@pytest.mark.slow
def test_data_figure_quick(tmp_path):
    import json
    from dcpredict.correlated import predict_correlated
    from dcpredict.data.datasets import load_dataset
    from dcpredict.data.features import random_features
    from dcpredict.data.figure import draw_data_figure, figure_params, make_data_figure
    png, side, data = make_data_figure("data-digits", quick=True, out_dir=tmp_path, workers=1)
    assert png.read_bytes().startswith(b"\x89PNG") and b"dcpredict" in png.read_bytes()[:4096]
    d = json.loads(side.read_text())
    P = figure_params("data-digits", quick=True)
    # independent: the dataset's moments and each model's own population least squares, computed here
    X, y, _ = load_dataset("digits", "parity")
    F = random_features(X, P["width"], seed=P["feature_seed"])
    Fc, yc = F - F.mean(0), y - y.mean()
    N = F.shape[0]
    for i, p in enumerate(d["theory"]["p"]):
        S = Fc[:, :p].T @ Fc[:, :p] / N
        beta = np.linalg.pinv(S, rcond=1e-13, hermitian=True) @ (Fc[:, :p].T @ yc / N)
        s2 = float(np.mean(yc ** 2) - beta @ S @ beta)
        assert d["model_sigma2"][i] == pytest.approx(s2, rel=1e-6, abs=1e-9)
        want = predict_correlated(S, beta, sigma2=max(s2, 0.0), n=P["n"], alpha=P["s"] / p, draws=2).dense
        got = d["theory"]["dense"][i]
        assert (got is None and not math.isfinite(want)) or got == pytest.approx(want, rel=1e-6)
    g = d["gap"]["magnitude"]
    for p, rel in zip(g["p"], g["relative_gap"]):
        i = d["theory"]["p"].index(p)
        t, m = d["theory"]["magnitude"][i], d["actual_population"]["magnitude"]["mean"][i]
        assert rel == pytest.approx((m - t) / t, rel=1e-12)
    assert "Measured Gaussian-equivalence gap" in d["caption"] and d["trials"] == P["trials"]
    again = draw_data_figure(side, tmp_path / "again.png")            # re-render from the sidecar alone
    assert again.stat().st_size > 10_000
    (tmp_path / "foreign.png").write_bytes(b"not ours")
    with pytest.raises(DCPredictError, match="not a dcpredict output"):
        draw_data_figure(side, tmp_path / "foreign.png")


def test_figure_cli_unknown_name(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["figure", "data-cifar"])
    assert exc.value.code == 2 and "invalid choice: 'data-cifar'" in capsys.readouterr().err


def test_standardize_columns_by_hand():
    from dcpredict.data.datasets import standardize_columns
    X = np.array([[1.0, 5.0, 0.0, 2.0],
                  [3.0, 5.0, 0.0, 2.0 + 1e-15],
                  [5.0, 5.0, 0.0, 2.0]])
    Z, keep = standardize_columns(X)
    assert keep.tolist() == [0]                   # constant and rounding-level columns dropped
    sd = math.sqrt(((1 - 3) ** 2 + 0 + (5 - 3) ** 2) / 3)
    np.testing.assert_allclose(Z[:, 0], [(1 - 3) / sd, 0.0, (5 - 3) / sd], rtol=1e-15)
