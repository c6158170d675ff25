"""One unit of the grow-then-prune protocol: one network width, one seed (runs in a worker process).

The unit (all settings explicit in ``spec``):

1. **dense**: a network of the given width, initialised from the unit's seed, trained for ``epochs`` epochs
   (optimizer, learning rate, momentum, weight decay, batch size, loss ``ce`` or ``mse``); record train/test
   error and loss.
2. **pruned**: global magnitude pruning of all weight matrices and convolution kernels together to exactly
   ``s`` weights (``torch.topk`` of ``|w|``: exactly s kept, ties broken by index); record (no retraining).
3. **retrained**: the pruned network retrained for ``retrain_epochs`` epochs with the mask fixed: gradients
   are multiplied by the mask before every step and the weights after it (a fresh optimizer, so no momentum
   or Adam state reaches a pruned weight), so pruned weights stay exactly 0 (checked after training);
   record.
4. **random_retrained** (the control of the paper's Fig. 5): the dense network pruned to ``s`` weights chosen
   uniformly at random, retrained the same way; record.  Step 2 is the other control (no retraining).

With ``freeze`` (two-layer MLP only, squared loss): the first layer stays at its random initialisation, the
readout starts at zero, and only the readout (``width * C`` weights plus C biases) is trained and pruned.  The
readout is then a linear least-squares problem on the features ``[relu(W1 x + b1), 1]``; gradient descent from
zero stays in the row space of the feature matrix and converges to its minimum-norm least-squares fit.  Beside
every trained state the unit computes the same protocol in closed form (float64): the min-norm fit; its
magnitude pruning; the refit on each output's kept weights that gradient descent from the pruned start
converges to (the least-squares solution closest to the start); the same for the network's random mask.
``readout_gap`` is ``||W_net - W_minnorm||_F / ||W_minnorm||_F`` for the dense readout (biases included).

Determinism: on the CPU the unit runs with ``torch.use_deterministic_algorithms(True)`` and ``threads``
intra-op threads (default 1), so the same seed gives bit-identical numbers whatever the number of worker
processes.  CUDA runs are seeded but not guaranteed bit-identical.
"""
from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np

from .._validate import DCPredictError

#: how the trial log stores an infinite theory risk (the interpolation threshold): logs hold finite numbers only
INF_CODE = -1.0
STATES = ("dense", "pruned", "retrained", "random_retrained")
METRICS = ("train_error", "test_error", "train_loss", "test_loss")


def fields(frozen: bool) -> tuple[str, ...]:
    """The numbers a unit returns (and the trial log stores), in order."""
    out = [f"{st}.{m}" for st in STATES for m in METRICS]
    out += ["nonzeros", "retrained_nonzeros", "random_nonzeros", "unit_seconds", "train_seconds", "epochs_run",
            "lr_used", "momentum_used"]
    if frozen:
        out += [f"{st}.closed_form.{m}" for st in STATES for m in METRICS]
        out += ["readout_gap", "dense.theory.test_loss"]
    return tuple(out)


def unit_seeds(seed: int, width: int, k: int) -> tuple[int, int, int]:
    """(init, batches, random mask) seeds of unit (width, k) of a run with root seed ``seed``."""
    a, b, c = np.random.SeedSequence([int(seed), int(width), int(k)]).generate_state(3)
    return int(a), int(b), int(c)


def _loss_fn(torch, loss: str, classes: int):
    if loss == "ce":
        return lambda out, y: torch.nn.functional.cross_entropy(out, y)

    def mse(out, y):
        target = torch.nn.functional.one_hot(y, classes).to(out.dtype)
        return ((out - target) ** 2).mean()
    return mse


def _evaluate(torch, net, X, y, lossf, batch: int = 4096) -> tuple[float, float]:
    """(error, loss) of ``net`` on (X, y): misclassification rate and mean loss."""
    net.eval()
    wrong, total = 0, 0.0
    with torch.no_grad():
        for i in range(0, X.shape[0], batch):
            out = net(X[i:i + batch])
            yy = y[i:i + batch]
            total += float(lossf(out, yy)) * yy.shape[0]
            wrong += int((out.argmax(dim=1) != yy).sum())
    net.train()
    return wrong / X.shape[0], total / X.shape[0]


def _record(torch, net, D, lossf, where: str, width: int, k: int) -> dict[str, float]:
    tr_e, tr_l = _evaluate(torch, net, D["Xtr"], D["ytr"], lossf)
    te_e, te_l = _evaluate(torch, net, D["Xte"], D["yte"], lossf)
    if not (np.isfinite(tr_l) and np.isfinite(te_l)):
        raise DCPredictError(f"training diverged ({where}, width {width}, seed {k}): the loss is not finite "
                             f"(train {tr_l}, test {te_l}); lower the learning rate")
    return {"train_error": tr_e, "test_error": te_e, "train_loss": tr_l, "test_loss": te_l}


def _train(torch, net, params, D, spec, epochs: int, gen_seed: int, lossf, masks=None) -> float:
    """Train ``params`` of ``net`` for ``epochs`` epochs; return the seconds spent in the loop."""
    if epochs == 0 or not params:
        return 0.0
    if spec["optimizer"] == "sgd":
        opt = torch.optim.SGD(params, lr=spec["lr_used"], momentum=spec["momentum_used"], weight_decay=spec["weight_decay"])
    else:
        opt = torch.optim.Adam(params, lr=spec["lr_used"], weight_decay=spec["weight_decay"])
    X, y = D["Xtr"], D["ytr"]
    n = X.shape[0]
    bs = n if spec["batch_size"] == 0 else min(spec["batch_size"], n)
    gen = torch.Generator().manual_seed(gen_seed)
    net.train()
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen).to(X.device)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            loss = lossf(net(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if masks is not None:
                for w, m in masks:
                    if w.grad is not None:
                        w.grad.mul_(m)
            opt.step()
            if masks is not None:
                with torch.no_grad():
                    for w, m in masks:
                        w.mul_(m)
    if X.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def auto_heavy_ball(torch, net, X, classes: int) -> tuple[float, float]:
    """(lr, momentum) of the optimal heavy-ball method (Polyak) for the frozen readout's full-batch squared loss.

    The loss mean((A W^T - Y)^2) over n examples and C classes has the Hessian (2 / (n C)) A^T A per output,
    A = [features, 1]; with L and mu its largest and smallest nonzero eigenvalues (nonzero: above
    ``rank * eps * L``; L is taken 10 % above the largest for stability in float32), lr = 4 / (sqrt(L) + sqrt(mu))^2 and momentum = ((sqrt(k) - 1) / (sqrt(k) + 1))^2,
    k = L / mu: the error contracts like ((sqrt(k) - 1) / (sqrt(k) + 1))^t.  Heavy ball from zero moves only
    along gradients, which lie in the row space of A, so it converges to the min-norm solution.
    """
    with torch.no_grad():
        F = net.features(X).double()
        A = torch.cat([F, torch.ones(F.shape[0], 1, dtype=F.dtype, device=F.device)], dim=1)
        G = A.T @ A if A.shape[0] > A.shape[1] else A @ A.T
        ev = torch.linalg.eigvalsh(G).cpu().numpy()
    scale = 2.0 / (A.shape[0] * classes)
    L = 1.1 * float(ev[-1])  # 10 % above the largest eigenvalue: heavy ball at the exact L is only marginally stable
    nz = ev[ev > len(ev) * np.finfo(np.float64).eps * L]
    mu = float(nz[0])
    rk = math.sqrt(L / mu)
    return 4.0 / (scale * (math.sqrt(L) + math.sqrt(mu)) ** 2), ((rk - 1.0) / (rk + 1.0)) ** 2


def _magnitude_masks(torch, weights, s: int):
    flat = torch.cat([w.detach().abs().reshape(-1) for w in weights])
    keep = torch.zeros(flat.numel(), dtype=torch.bool, device=flat.device)
    keep[torch.topk(flat, s, sorted=False).indices] = True
    return _split(torch, weights, keep)


def _random_masks(torch, weights, s: int, seed: int):
    total = sum(w.numel() for w in weights)
    gen = torch.Generator().manual_seed(seed)
    keep = torch.zeros(total, dtype=torch.bool)
    keep[torch.randperm(total, generator=gen)[:s]] = True
    return _split(torch, weights, keep.to(weights[0].device))


def _split(torch, weights, keep):
    masks, i = [], 0
    for w in weights:
        m = keep[i:i + w.numel()].reshape(w.shape).to(w.dtype)
        masks.append((w, m))
        i += w.numel()
    return masks


def _apply(torch, masks) -> None:
    with torch.no_grad():
        for w, m in masks:
            w.mul_(m)


def _nonzeros(torch, weights) -> int:
    return int(sum(int((w.detach() != 0).sum()) for w in weights))


def _check_mask_kept(torch, masks, where: str) -> None:
    for w, m in masks:
        if bool((w.detach()[m == 0] != 0).any()):  # pragma: no cover - would be a bug
            raise RuntimeError(f"{where}: a pruned weight became nonzero during retraining")


# ------------------------------------------------------------------ closed form (frozen first layer)
def _cf_eval(W: np.ndarray, A: np.ndarray, Y: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    out = A @ W.T
    return float(np.mean(out.argmax(axis=1) != y)), float(np.mean((out - Y) ** 2))


def _cf_record(W, Atr, Ytr, ytr, Ate, Yte, yte) -> dict[str, float]:
    tr_e, tr_l = _cf_eval(W, Atr, Ytr, ytr)
    te_e, te_l = _cf_eval(W, Ate, Yte, yte)
    return {"train_error": tr_e, "test_error": te_e, "train_loss": tr_l, "test_loss": te_l}


def _cf_refit(W0: np.ndarray, keep: np.ndarray, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per output c: the least-squares fit on the kept columns (and the bias, the last column) closest to the
    start W0[c] (where gradient descent from W0 with the mask fixed converges)."""
    W = np.zeros_like(W0)
    h = W0.shape[1] - 1
    for c in range(W0.shape[0]):
        cols = np.concatenate([np.flatnonzero(keep[c, :h]), [h]])
        As = A[:, cols]
        w0 = W0[c, cols]
        delta = np.linalg.lstsq(As, Y[:, c] - As @ w0, rcond=None)[0]
        W[c, cols] = w0 + delta
    return W


def closed_form(Ftr: np.ndarray, ytr: np.ndarray, Fte: np.ndarray, yte: np.ndarray, classes: int, s: int,
                random_keep: np.ndarray | None = None) -> tuple[dict[str, dict[str, float]], np.ndarray]:
    """The protocol in closed form on fixed features (float64): returns ({state: metrics}, W_minnorm).

    ``Ftr``, ``Fte``: features (n, h); the readout has a bias, so the design is ``[F, 1]``.  ``random_keep``:
    the (C, h) boolean mask of the random control (default: none, state omitted).
    """
    Atr = np.hstack([Ftr.astype(np.float64), np.ones((Ftr.shape[0], 1))])
    Ate = np.hstack([Fte.astype(np.float64), np.ones((Fte.shape[0], 1))])
    Ytr = np.eye(classes)[ytr]
    Yte = np.eye(classes)[yte]
    W = np.linalg.lstsq(Atr, Ytr, rcond=None)[0].T          # (C, h + 1), the min-norm solution
    out = {"dense": _cf_record(W, Atr, Ytr, ytr, Ate, Yte, yte)}
    h = Ftr.shape[1]
    mag = np.abs(W[:, :h]).ravel()
    keep = np.zeros(mag.size, dtype=bool)
    keep[np.argsort(-mag, kind="stable")[:s]] = True
    keep = keep.reshape(classes, h)
    Wp = W.copy()
    Wp[:, :h] *= keep
    out["pruned"] = _cf_record(Wp, Atr, Ytr, ytr, Ate, Yte, yte)
    out["retrained"] = _cf_record(_cf_refit(Wp, keep, Atr, Ytr), Atr, Ytr, ytr, Ate, Yte, yte)
    if random_keep is not None:
        Wr = W.copy()
        Wr[:, :h] *= random_keep
        out["random_retrained"] = _cf_record(_cf_refit(Wr, random_keep, Atr, Ytr), Atr, Ytr, ytr, Ate, Yte, yte)
    return out, W


def _prune_phases(torch, net, trainable, weights, D, spec, lossf, s, s_batch, s_rand, dense_state, width, k):
    """Magnitude pruning (recorded), retraining with the mask fixed, random pruning of the dense net + retraining."""
    train_s = 0.0
    # magnitude pruning, no retraining
    masks = _magnitude_masks(torch, weights, s)
    _apply(torch, masks)
    nonzeros = _nonzeros(torch, weights)
    pruned = _record(torch, net, D, lossf, "pruned", width, k)
    # retraining with the mask fixed
    train_s += _train(torch, net, trainable, D, spec, spec["retrain_epochs"], s_batch + 1, lossf, masks)
    _check_mask_kept(torch, masks, "retrained")
    retrained = _record(torch, net, D, lossf, "retrained", width, k)
    retrained_nz = _nonzeros(torch, weights)
    # control: random pruning of the dense network to s, retrained
    net.load_state_dict(dense_state)
    rmasks = _random_masks(torch, weights, s, s_rand)
    _apply(torch, rmasks)
    train_s += _train(torch, net, trainable, D, spec, spec["retrain_epochs"], s_batch + 2, lossf, rmasks)
    _check_mask_kept(torch, rmasks, "random_retrained")
    rand = _record(torch, net, D, lossf, "random_retrained", width, k)
    random_nz = _nonzeros(torch, weights)
    return masks, rmasks, pruned, retrained, rand, nonzeros, retrained_nz, random_nz, train_s


# ------------------------------------------------------------------ the unit
def run_unit(spec: dict[str, Any], width: int, k: int) -> dict[str, Any]:
    """Run unit (width, k) of the protocol described by ``spec``; return ``{field: number}`` (see
    :func:`fields`) and, with ``spec['save_features']``, the frozen features under ``'_features'``.
    numpy's BLAS (the closed form, the theory) runs with ``spec['threads']`` threads, like torch."""
    from .._parallel import _BLAS
    with _BLAS.limit(int(spec["threads"])):
        return _run_unit(spec, width, k)


def _run_unit(spec: dict[str, Any], width: int, k: int) -> dict[str, Any]:
    t_unit = time.perf_counter()
    from ._torch import require_torch
    torch = require_torch()
    from .models import build_model, prunable
    device = torch.device(spec["device"])
    cpu = device.type == "cpu"
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    if cpu:
        torch.set_num_threads(int(spec["threads"]))
        torch.use_deterministic_algorithms(True)
    elif "CUBLAS_WORKSPACE_CONFIG" not in os.environ:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
    try:
        s_init, s_batch, s_rand = unit_seeds(spec["seed"], width, k)
        D = {"Xtr": torch.as_tensor(spec["X_train"]).to(device), "ytr": torch.as_tensor(spec["y_train"]).to(device),
             "Xte": torch.as_tensor(spec["X_test"]).to(device), "yte": torch.as_tensor(spec["y_test"]).to(device)}
        classes, frozen, s = int(spec["classes"]), bool(spec["freeze"]), int(spec["s"])
        lossf = _loss_fn(torch, spec["loss"], classes)
        torch.manual_seed(s_init)
        net = build_model(spec["model"], width, tuple(spec["X_train"].shape[1:]), classes).to(device)
        if frozen:
            for p in net.first.parameters():
                p.requires_grad_(False)
            with torch.no_grad():
                net.readout.weight.zero_()
                net.readout.bias.zero_()
        trainable = [p for p in net.parameters() if p.requires_grad]
        spec = dict(spec)
        spec["lr_used"] = spec["lr"]
        spec["momentum_used"] = spec["momentum"]
        if spec["lr"] == "auto":
            spec["lr_used"], spec["momentum_used"] = auto_heavy_ball(torch, net, D["Xtr"], classes)
        weights = prunable(net, frozen)
        rec: dict[str, Any] = {}
        train_s = _train(torch, net, trainable, D, spec, spec["epochs"], s_batch, lossf)
        dense = _record(torch, net, D, lossf, "dense", width, k)
        dense_state = {name: t.detach().clone() for name, t in net.state_dict().items()}
        total = sum(w.numel() for w in weights)
        if s >= total:  # the network already fits the budget: nothing to prune, every state is the dense one
            masks = rmasks = [(w, torch.ones_like(w)) for w in weights]
            nonzeros = retrained_nz = random_nz = _nonzeros(torch, weights)
            pruned = retrained = rand = dense
        else:
            (masks, rmasks, pruned, retrained, rand, nonzeros, retrained_nz, random_nz, extra) = _prune_phases(
                torch, net, trainable, weights, D, spec, lossf, s, s_batch, s_rand, dense_state, width, k)
            train_s += extra
        for st, m in zip(STATES, (dense, pruned, retrained, rand)):
            for key, v in m.items():
                rec[f"{st}.{key}"] = float(v)
        rec.update({"nonzeros": float(nonzeros), "retrained_nonzeros": float(retrained_nz),
                    "random_nonzeros": float(random_nz),
                    "epochs_run": float(spec["epochs"] + (0 if s >= total else 2 * spec["retrain_epochs"]))})
        if frozen:
            net.load_state_dict(dense_state)
            net.eval()
            with torch.no_grad():
                Ftr = net.features(D["Xtr"]).double().cpu().numpy()
                Fte = net.features(D["Xte"]).double().cpu().numpy()
                Wnet = torch.cat([net.readout.weight, net.readout.bias[:, None]], dim=1).double().cpu().numpy()
            rkeep = rmasks[0][1].bool().cpu().numpy()
            cf, Wcf = closed_form(Ftr, spec["y_train"], Fte, spec["y_test"], classes, s, rkeep)
            for st in STATES:
                for key, v in cf[st].items():
                    rec[f"{st}.closed_form.{key}"] = float(v)
            rec["readout_gap"] = float(np.linalg.norm(Wnet - Wcf) / max(np.linalg.norm(Wcf), 1e-300))
            th = INF_CODE
            if spec.get("theory"):
                from .theory import equivalent_lgp_risk
                th = equivalent_lgp_risk(np.vstack([Ftr, Fte]), np.concatenate([spec["y_train"], spec["y_test"]]),
                                         classes, Ftr.shape[0])
            rec["dense.theory.test_loss"] = th if np.isfinite(th) else INF_CODE
            if spec.get("save_features"):
                rec["_features"] = (Ftr.astype(np.float32), Fte.astype(np.float32))
        rec["lr_used"] = float(spec["lr_used"])
        rec["momentum_used"] = float(spec["momentum_used"])
        rec["train_seconds"] = float(train_s)
        rec["unit_seconds"] = float(time.perf_counter() - t_unit)
        return rec
    finally:
        if cpu:
            torch.set_num_threads(old_threads)
            torch.use_deterministic_algorithms(old_det)
