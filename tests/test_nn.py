"""dcpredict.nn: the grow-then-prune protocol on real networks (PyTorch)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dcpredict import DCPredictError  # noqa: E402
from dcpredict.cli import main  # noqa: E402
from dcpredict.nn import grow_prune  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = dict(model="mlp", epochs=2, batch_size=32, seeds=1, n_train=60, progress=False, device="cpu")


def test_import_dcpredict_does_not_import_torch():
    code = "import sys, dcpredict, dcpredict.nn; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.stdout.strip() == "False", out.stderr


def test_missing_torch_is_one_clear_line(monkeypatch):
    from dcpredict.nn._torch import require_torch
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(DCPredictError, match=r"pip install 'dcpredict\[nn\]'"):
        require_torch()


def test_magnitude_pruning_keeps_exactly_the_s_largest_and_retraining_keeps_zeros():
    from dcpredict.nn.data import load_data
    from dcpredict.nn.models import build_model, prunable
    from dcpredict.nn.protocol import _apply, _loss_fn, _magnitude_masks, _train
    D = load_data("digits", n_train=40)
    torch.manual_seed(3)
    net = build_model("mlp", 12, D.input_shape, 10)
    ws = prunable(net)
    before = np.concatenate([w.detach().numpy().ravel() for w in ws])
    s = 200
    # independent: the s largest |w| by numpy sorting
    expect = np.zeros(before.size, bool)
    expect[np.argsort(-np.abs(before), kind="stable")[:s]] = True
    masks = _magnitude_masks(torch, ws, s)
    _apply(torch, masks)
    after = np.concatenate([w.detach().numpy().ravel() for w in ws])
    assert int((after != 0).sum()) == s
    np.testing.assert_array_equal(after != 0, expect)
    Dt = {"Xtr": torch.as_tensor(D.X_train), "ytr": torch.as_tensor(D.y_train)}
    spec = {"optimizer": "adam", "lr_used": 0.05, "weight_decay": 0.0, "batch_size": 8, "momentum_used": 0.0}
    _train(torch, net, list(net.parameters()), Dt, spec, 3, 0, _loss_fn(torch, "ce", 10), masks)
    final = np.concatenate([w.detach().numpy().ravel() for w in ws])
    assert np.all(final[~expect] == 0.0)            # pruned weights stay exactly zero
    assert np.abs(final[expect] - after[expect]).max() > 1e-3   # and the kept ones did train


def test_rows_have_exactly_s_nonzeros_and_schema():
    res = grow_prune("digits", widths=[4, 16], s=700, **TINY)
    d = res.to_dict()
    assert {"dataset", "model", "s", "rows"} <= set(d) and d["s"] == 700
    for r in d["rows"]:
        assert {"width", "params", "seed", "dense", "pruned", "retrained", "random_retrained", "nonzeros"} <= set(r)
        for st in ("dense", "pruned", "retrained", "random_retrained"):
            assert set(r[st]) == {"train_error", "test_error", "train_loss", "test_loss"}
    w4, w16 = d["rows"]
    assert w4["params"] == 64 * 4 + 4 * 10 and w16["params"] == 64 * 16 + 16 * 10
    assert w16["nonzeros"] == 700                       # pruned to exactly s
    assert w4["nonzeros"] <= 700 and w4["pruned"] == w4["dense"]   # below the budget: not pruned
    assert any("at most s" in n for n in d["notes"])


def test_same_seed_identical_and_other_seed_differs():
    a = grow_prune("digits", widths=[8], s=300, **TINY).rows
    b = grow_prune("digits", widths=[8], s=300, **TINY).rows
    c = grow_prune("digits", widths=[8], s=300, seed=1, **{k: v for k, v in TINY.items()}).rows
    assert a == b
    assert a != c


def test_frozen_first_layer_matches_the_closed_form_min_norm_fit(tmp_path):
    # wide random features (h = 300 > n = 40): heavy-ball GD from zero on the readout -> min-norm LS
    res = grow_prune("digits", widths=[300], s=600, model="mlp", loss="mse", optimizer="sgd", lr="auto",
                     batch_size=0, epochs=400, retrain_epochs=0, seeds=1, n_train=40, freeze_first_layer=True,
                     save_features=str(tmp_path), theory=False, progress=False, device="cpu")
    row = res.rows[0]
    # independent closed form from the saved features: pinv of [F, 1]
    F = np.load(tmp_path / "features_w300_seed0_train.npy").astype(np.float64)
    Ft = np.load(tmp_path / "features_w300_seed0_test.npy").astype(np.float64)
    y, yt = np.load(tmp_path / "labels_train.npy"), np.load(tmp_path / "labels_test.npy")
    A, At = np.hstack([F, np.ones((len(F), 1))]), np.hstack([Ft, np.ones((len(Ft), 1))])
    W = np.linalg.pinv(A) @ np.eye(10)[y]
    test_loss = float(np.mean((At @ W - np.eye(10)[yt]) ** 2))
    test_err = float(np.mean((At @ W).argmax(1) != yt))
    cf = row["dense"]["closed_form"]
    assert cf["test_loss"] == pytest.approx(test_loss, rel=1e-6)
    assert cf["test_error"] == pytest.approx(test_err, abs=1e-12)
    assert cf["train_loss"] < 1e-20            # interpolation
    # the trained network reached it (stated tolerance: readout within 1e-3 relative, float32)
    assert row["readout_gap"] < 1e-3
    assert row["dense"]["test_loss"] == pytest.approx(test_loss, rel=1e-3)
    assert abs(row["dense"]["test_error"] - test_err) <= 2 / len(yt)
    assert row["nonzeros"] == 600
    assert "theory" not in row["dense"]


@pytest.mark.slow
def test_equivalent_lgp_theory_tracks_the_closed_form_far_from_the_threshold():
    # Gaussian equivalence is an approximation: observed within 1 % at h = 3-4 n on digits; allow 15 %
    res = grow_prune("digits", widths=[400], s=500, model="mlp", loss="mse", optimizer="sgd", lr="auto",
                     batch_size=0, epochs=1, retrain_epochs=0, seeds=2, n_train=100, freeze_first_layer=True,
                     progress=False, device="cpu")
    for row in res.rows:
        assert row["dense"]["theory"]["test_loss"] == pytest.approx(row["dense"]["closed_form"]["test_loss"],
                                                                    rel=0.15)


def test_resume_extends_with_more_seeds_and_refuses_other_arguments(tmp_path):
    log = tmp_path / "run.jsonl"
    kw = dict(TINY, seeds=1)
    one = grow_prune("digits", widths=[8], s=300, out=str(log), **kw)
    assert len(log.read_text().splitlines()) == 1
    kw["seeds"] = 2
    two = grow_prune("digits", widths=[8], s=300, out=str(log), **kw)
    assert len(log.read_text().splitlines()) == 2
    assert two.rows[0] == one.rows[0]
    with pytest.raises(DCPredictError, match="different arguments"):
        grow_prune("digits", widths=[8], s=300, out=str(log), **{**kw, "epochs": 3})


def test_user_arrays_with_cnn_and_resnet20_on_tiny_images():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 3, 8, 8)).astype(np.float32)
    y = np.arange(24) % 3
    data = (X[:16], y[:16], X[16:], y[16:])
    for model, width in (("cnn", 2), ("resnet20", 2)):
        res = grow_prune(data, model=model, widths=[width], s=50, epochs=1, batch_size=8, seeds=1,
                         progress=False, device="cpu")
        assert res.rows[0]["nonzeros"] == 50
        assert res.n_train == 16


@pytest.mark.parametrize("argv, msg", [
    (["--widths", "4", "--s", "10", "--model", "transformer"], "model must be one of"),
    (["--widths", "4", "--s", "10", "--dataset", "cifar"], "dataset must be one of"),
    (["--widths", "4,8", "--s", "100000"], "larger than every network"),
    (["--widths", "4,0", "--s", "10"], "positive integers"),
    (["--widths", "4,2.5", "--s", "10"], "positive integers"),
    (["--widths", "a", "--s", "10"], "positive integers"),
])
def test_cli_bad_input_one_line(argv, msg, capsys):
    assert main(["nn", *argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_cuda_without_cuda_one_line(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["nn", "--widths", "4", "--s", "10", "--device", "cuda", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "CUDA" in err and err.count("\n") == 1


@pytest.mark.slow
def test_kill_9_then_resume_loses_nothing(tmp_path):
    log = tmp_path / "run.jsonl"
    args = [sys.executable, "-m", "dcpredict", "nn", "--widths", "8,16,24,32", "--s", "300", "--epochs", "150",
            "--seeds", "2", "--n-train", "100", "--quiet", "--json", "--out", str(log)]
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = [json.loads(l) for l in log.read_text().splitlines() if l.strip()]
    assert 2 <= len(done_before) < 8
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(l) for l in log.read_text().splitlines()]
    assert len(lines) == 8                        # nothing recomputed twice, nothing lost
    assert lines[:len(done_before)] == done_before
    full = subprocess.run([a for a in args if a not in ("--out", str(log))], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert json.loads(out.stdout)["rows"] == json.loads(full.stdout)["rows"]   # resumed = uninterrupted


@pytest.mark.slow
def test_workers_do_not_change_numbers_and_mnist1d_loads():
    a = grow_prune("mnist1d", widths=[8, 16], s=300, **{**TINY, "n_train": 200, "seeds": 2})
    b = grow_prune("mnist1d", widths=[8, 16], s=300, workers=2, **{**TINY, "n_train": 200, "seeds": 2})
    assert a.rows == b.rows
    assert a.n_test == 1000 and a.rows[0]["params"] == 40 * 8 + 8 * 10


@pytest.mark.slow
def test_dask_scheduler_gives_the_same_rows():
    distributed = pytest.importorskip("distributed")
    kw = {**TINY, "seeds": 2}
    local = grow_prune("digits", widths=[8, 16], s=300, **kw)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        remote = grow_prune("digits", widths=[8, 16], s=300, scheduler=cluster.scheduler_address, **kw)
    assert remote.rows == local.rows


@pytest.mark.slow
def test_resume_rewrites_missing_features_without_touching_the_log(tmp_path):
    kw = dict(widths=[30], s=100, model="mlp", loss="mse", optimizer="sgd", lr="auto", batch_size=0, epochs=3,
              seeds=1, n_train=30, freeze_first_layer=True, theory=False, progress=False, device="cpu")
    feats, log = tmp_path / "f", tmp_path / "log.jsonl"
    first = grow_prune("digits", save_features=str(feats), out=str(log), **kw)
    before = log.read_text()
    (feats / "features_w30_seed0_test.npy").unlink()
    second = grow_prune("digits", save_features=str(feats), out=str(log), **kw)
    assert log.read_text() == before and second.rows == first.rows
    assert (feats / "features_w30_seed0_test.npy").exists()
    (feats / "labels_test.npy").write_bytes(b"not mine")
    with pytest.raises(DCPredictError, match="not the same array"):
        (feats / "features_w30_seed0_test.npy").unlink()
        grow_prune("digits", save_features=str(feats), out=str(log), **kw)
    assert (feats / "labels_test.npy").read_bytes() == b"not mine"


@pytest.mark.slow
def test_quick_figure_writes_png_and_sidecar_and_refuses_foreign_files(tmp_path):
    foreign = tmp_path / "nn-digits_quick.png"
    foreign.write_bytes(b"someone else's picture")
    assert main(["figure", "nn-digits", "--quick", "--out-dir", str(tmp_path)]) == 2
    assert foreign.read_bytes() == b"someone else's picture"
    foreign.unlink()
    assert main(["figure", "nn-digits", "--quick", "--out-dir", str(tmp_path)]) == 0
    side = json.loads((tmp_path / "nn-digits_quick.json").read_text())
    assert side["kind"] == "nn" and "caption" in side and side["curves"]["trained"]["s"] == 1184
    for part in ("trained", "frozen"):
        assert all(r["nonzeros"] == side["curves"][part]["s"] for r in side["curves"][part]["rows"]
                   if r["params"] > side["curves"][part]["s"])
    png = (tmp_path / "nn-digits_quick.png").read_bytes()
    assert png.startswith(b"\x89PNG") and b"dcpredict" in png[:4096]
