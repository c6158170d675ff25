"""The grow-then-prune experiment: every (width, seed) unit, on the local pool or Dask, logged resumably."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._results import Result, fmt
from .._validate import DCPredictError, check_choice, check_int, check_real
from .data import NNData, load_data
from .protocol import INF_CODE, METRICS, STATES, fields as unit_fields, run_unit

__all__ = ["grow_prune", "NNResult", "OPTIMIZERS", "LOSSES"]

OPTIMIZERS = ("sgd", "adam")
LOSSES = ("ce", "mse")
LOG_VERSION = 1


@dataclass(frozen=True)
class NNResult(Result):
    """The grow-then-prune experiment on a network family (see :func:`grow_prune`).

    ``rows``: one dict per (width, seed) with ``width``, ``params`` (prunable weights of the dense network),
    ``seed`` (the seed index 0..seeds-1), ``dense``, ``pruned``, ``retrained``, ``random_retrained`` (each
    ``{train_error, test_error, train_loss, test_loss}``, plus ``closed_form`` with the same keys when the first
    layer is frozen), ``nonzeros`` (nonzero weights after pruning: equals ``s``) and, when frozen,
    ``readout_gap``.  ``timings``: per row, the unit's wall time and the time in its training loops.
    """
    dataset: str
    model: str
    s: int
    n_train: int
    n_test: int
    widths: list
    params: list
    seeds: int
    frozen: bool
    settings: dict
    description: str
    rows: list
    timings: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "model": self.model, "s": self.s, "n_train": self.n_train,
                "rows": [dict(r) for r in self.rows], "settings": dict(self.settings),
                "description": self.description, "notes": list(self.notes)}

    def _records(self) -> list[dict[str, Any]]:
        out = []
        for r in self.rows:
            flat = {"width": r["width"], "params": r["params"], "seed": r["seed"], "nonzeros": r["nonzeros"]}
            for st in STATES:
                for m in METRICS:
                    flat[f"{st}_{m}"] = r[st][m]
                    if self.frozen:
                        flat[f"{st}_closed_form_{m}"] = r[st]["closed_form"][m]
            out.append(flat)
        return out

    def mean_se(self, state: str, metric: str = "test_error", closed_form: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(widths, mean, standard error over seeds) of one state's metric (se 0 with a single seed)."""
        check_choice("state", state, STATES)
        check_choice("metric", metric, METRICS)
        ws = np.array(sorted(self.widths))
        mean, se = np.empty(len(ws)), np.empty(len(ws))
        for i, w in enumerate(ws):
            v = np.array([(r[state]["closed_form"] if closed_form else r[state])[metric]
                          for r in self.rows if r["width"] == w])
            mean[i] = v.mean()
            se[i] = v.std(ddof=1) / math.sqrt(v.size) if v.size > 1 else 0.0
        return ws, mean, se

    def summary(self) -> str:
        lines = [f"dcpredict nn: {self.model} on {self.dataset}, budget s = {self.s} weights, {self.seeds} seed(s)"
                 + (" [first layer frozen: random features + least squares]" if self.frozen else ""),
                 f"data: {self.description}",
                 "protocol: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()
                                          if k not in ("dataset_fingerprint",)),
                 "test error, mean +- se over seeds:",
                 f"{'width':>7} {'params':>8} " + " ".join(f"{st:>19}" for st in STATES)]
        cols = {st: self.mean_se(st) for st in STATES}
        for i, w in enumerate(sorted(self.widths)):
            p = self.params[self.widths.index(w)]
            cells = " ".join(f"{fmt(cols[st][1][i], 4):>9} +- {fmt(cols[st][2][i], 2):<6}" for st in STATES)
            lines.append(f"{w:>7} {p:>8} {cells}")
        if self.frozen:
            lines.append("closed form (min-norm least squares on the same features), test error:")
            cf = {st: self.mean_se(st, closed_form=True) for st in STATES}
            for i, w in enumerate(sorted(self.widths)):
                cells = " ".join(f"{fmt(cf[st][1][i], 4):>19}" for st in STATES)
                gaps = [r["readout_gap"] for r in self.rows if r["width"] == w]
                lines.append(f"{w:>7} {'':>8} {cells}   readout gap max {fmt(max(gaps), 2)}")
            lines.append("dense test loss (squared error): network | closed form"
                         + (" | equivalent-LGP theory" if self.settings.get("theory") else "") + ", mean over seeds:")
            _, net, _ = self.mean_se("dense", "test_loss")
            _, cfl, _ = self.mean_se("dense", "test_loss", closed_form=True)
            for i, w in enumerate(sorted(self.widths)):
                cell = f"{w:>7} {fmt(net[i], 5):>12} {fmt(cfl[i], 5):>12}"
                if self.settings.get("theory"):
                    th = [r["dense"]["theory"]["test_loss"] for r in self.rows if r["width"] == w]
                    cell += f" {fmt(float(np.mean(th)), 5):>12}"
                lines.append(cell)
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _positive_widths(widths: Any) -> list[int]:
    if isinstance(widths, (int, np.integer)) and not isinstance(widths, bool):
        widths = [widths]
    try:
        items = list(widths)
    except TypeError:
        raise DCPredictError(f"widths must be a list of positive integers; got {widths!r}") from None
    if not items:
        raise DCPredictError("widths must contain at least one width")
    out = [check_int("widths entry", w, lo=1) for w in items]
    if len(set(out)) != len(out):
        raise DCPredictError(f"widths must not repeat a width; got {items!r}")
    return out


def _write_features(directory: str, data: NNData, width: int, k: int, feats) -> None:
    import io
    from .._store import _atomic_replace, resolve
    d = resolve(directory)
    os.makedirs(d, exist_ok=True)
    files = {f"labels_train.npy": data.y_train, f"labels_test.npy": data.y_test,
             f"features_w{width}_seed{k}_train.npy": feats[0], f"features_w{width}_seed{k}_test.npy": feats[1]}
    for name, arr in files.items():
        path = os.path.join(d, name)
        if os.path.exists(path):
            try:
                old = np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                old = None
            if old is None or old.shape != arr.shape or old.dtype != arr.dtype or not np.array_equal(old, arr):
                raise DCPredictError(f"save_features: {path!r} exists and is not the same array; dcpredict does "
                                     "not replace files it did not write (choose another directory)")
            continue
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
        _atomic_replace(path, buf.getvalue())   # the store's writer: a fresh temporary file, then one rename


def grow_prune(data: Any = "digits", *, model: str = "mlp", widths: Any = (4, 8, 16, 32, 64, 128, 256),
               s: int | None = None, budget_width: int | None = None, epochs: int = 100,
               retrain_epochs: int | None = None, lr: float = 1e-3, optimizer: str = "adam", momentum: float = 0.0,
               weight_decay: float = 0.0, batch_size: int = 64, loss: str = "ce", seeds: int = 3, seed: int = 0,
               freeze_first_layer: bool = False, n_train: int | None = None, split_seed: int = 0,
               device: str = "auto", threads: int = 1, workers: int = 1, scheduler: str | None = None,
               out: str | None = None, save_features: str | None = None, theory: bool = True,
               progress: bool = True) -> NNResult:
    """Train networks of growing width, prune each to the budget s, retrain, and compare (the paper's Figs. 1,
    5 and 6).

    One unit per (width, seed): dense training; global magnitude pruning of all weight matrices and
    convolution kernels to exactly ``s`` weights (no retraining: the Fig. 5 control); retraining with the mask
    fixed; random pruning to ``s`` + retraining (the other Fig. 5 control).  See :mod:`dcpredict.nn.protocol`.

    Parameters
    ----------
    data : str, tuple or NNData
        ``"digits"``, ``"mnist1d"``, arrays ``(X_train, y_train, X_test, y_test)`` or torch Datasets
        ``(train, test)`` (see :func:`dcpredict.nn.load_data`).
    model : {'mlp', 'cnn', 'resnet20'}
        The network family (see :mod:`dcpredict.nn.models`).
    widths : list of int
        Hidden units (mlp), first-layer channels (cnn) or base channels (resnet20; 16 is the standard one).
    s, budget_width : int
        The budget: ``s`` weights, or the prunable-weight count of the network of width ``budget_width``
        (the paper's choice).  Exactly one must be given; s must not exceed any network's weight count.
    epochs, retrain_epochs : int
        Training epochs of the dense network and of each retraining (default: ``epochs``).
    lr, optimizer, momentum, weight_decay, batch_size, loss
        The optimizer (``sgd`` or ``adam``), its learning rate, SGD momentum, weight decay, the mini-batch size
        (0: full batch) and the loss (``ce`` cross-entropy, ``mse`` squared error on one-hot targets, mean over
        examples and classes).  ``lr="auto"`` (frozen first layer, ``sgd``, full batch, momentum 0 only): the
        optimal heavy-ball step and momentum of the readout's quadratic loss, from the extreme nonzero
        eigenvalues of the features' Gram matrix (:func:`dcpredict.nn.protocol.auto_heavy_ball`); the values
        used are logged per unit.
    seeds, seed : int
        Seeds per width, and the root seed (unit (width, k) uses seeds derived from (seed, width, k)).
    freeze_first_layer : bool
        Random-features mode (mlp and loss 'mse' only): the first layer stays at its initialisation, the readout
        starts at zero and is the only trained and pruned layer; every state gets its closed-form min-norm
        counterpart (``closed_form``) and the row gets ``readout_gap``.
    n_train, split_seed : int
        Training-set size and split seed of the built-in data sets.
    device : str
        ``'auto'`` (CUDA when available, else CPU), ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
    threads : int
        PyTorch intra-op threads of a CPU unit (default 1: bit-identical results whatever ``workers``).
    workers : int
        Local worker processes (one unit each).  ``scheduler``: a Dask scheduler address instead.
    out : str, optional
        A JSONL log of finished units; rerun with the same arguments to resume (or with more ``seeds``).
    save_features : str, optional
        Directory for the frozen features and labels as .npy (frozen mode only): ``labels_train.npy``,
        ``labels_test.npy`` and ``features_w{width}_seed{k}_{train,test}.npy`` (float32, before the readout's
        bias column).  An existing file is accepted only if it holds the same array; nothing is overwritten.
    theory : bool
        Frozen mode: also compute the equivalent-LGP theory of the dense test loss for each unit
        (``row["dense"]["theory"]["test_loss"]``, :mod:`dcpredict.nn.theory`; +inf at the
        interpolation threshold).
    progress : bool
        A progress bar on stderr.

    Returns
    -------
    NNResult
    """
    from ._torch import require_torch, resolve_device
    torch = require_torch()
    model = check_choice("model", model, ("mlp", "cnn", "resnet20"))
    D = load_data(data, n_train=n_train, split_seed=split_seed)
    ws = _positive_widths(widths)
    optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
    loss = check_choice("loss", loss, LOSSES)
    epochs = check_int("epochs", epochs, lo=1)
    retrain_epochs = epochs if retrain_epochs is None else check_int("retrain_epochs", retrain_epochs, lo=0)
    if isinstance(lr, str) and lr == "auto":
        if not (freeze_first_layer and optimizer == "sgd" and batch_size == 0 and momentum == 0):
            raise DCPredictError("lr 'auto' (the optimal heavy-ball step and momentum for the frozen readout's "
                                 "quadratic loss) is for freeze_first_layer with optimizer 'sgd', full batches "
                                 "(batch_size 0) and momentum 0 (it sets the momentum) only")
    else:
        lr = check_real("lr", lr, lo=0.0, lo_open=True)
    momentum = check_real("momentum", momentum, lo=0.0, hi=1.0, hi_open=True)
    weight_decay = check_real("weight_decay", weight_decay, lo=0.0)
    batch_size = check_int("batch_size", batch_size, lo=0)
    seeds = check_int("seeds", seeds, lo=1)
    seed = check_int("seed", seed, lo=0)
    threads = check_int("threads", threads, lo=1)
    workers = check_int("workers", workers, lo=1)
    frozen = bool(freeze_first_layer)
    notes = []
    if frozen:
        if model != "mlp":
            raise DCPredictError(f"freeze_first_layer needs model 'mlp' (a frozen first layer makes the two-layer "
                                 f"MLP a random-features model); got model {model!r}")
        if loss != "mse":
            raise DCPredictError("freeze_first_layer needs loss 'mse': the bridge to least squares is for the "
                                 f"squared loss; got loss {loss!r}")
        if optimizer != "sgd" or weight_decay != 0:
            notes.append("gradient descent from zero converges to the min-norm fit only for plain (S)GD without "
                         f"weight decay; with optimizer {optimizer!r} and weight decay {weight_decay:g} the "
                         "trained readout need not approach the closed form")
    elif save_features is not None:
        raise DCPredictError("save_features needs freeze_first_layer (the features of a trained layer change "
                             "during training)")
    dev = resolve_device(device)
    from .models import count_prunable
    params = [count_prunable(model, w, D.input_shape, D.classes, frozen) for w in ws]
    if (s is None) == (budget_width is None):
        raise DCPredictError("give exactly one budget: s (a number of weights) or budget_width (s = the weight "
                             "count of the network of that width)")
    if s is None:
        bw = check_int("budget_width", budget_width, lo=1)
        s = count_prunable(model, bw, D.input_shape, D.classes, frozen)
    else:
        s = check_int("s", s, lo=1)
    if s > max(params):
        w, p = ws[int(np.argmax(params))], max(params)
        raise DCPredictError(f"s = {s} is larger than every network: the widest (width {w}) has {p} prunable "
                             f"weights ({'readout' if frozen else 'weight matrices and kernels'}); choose s <= {p} "
                             "or wider networks")
    small = [w for w, p in zip(ws, params) if p <= s]
    if small:
        notes.append(f"width(s) {', '.join(map(str, small))} have at most s = {s} weights: trained dense and not "
                     "pruned (pruned, retrained and random_retrained are the dense network; nonzeros <= s)")
    settings = {"model": model, "optimizer": optimizer, "lr": lr, "momentum": momentum,
                "weight_decay": weight_decay, "batch_size": batch_size, "loss": loss, "epochs": epochs,
                "retrain_epochs": retrain_epochs, "seed": seed, "freeze_first_layer": frozen,
                "device": dev, "threads": threads, "dataset_fingerprint": D.fingerprint(),
                "theory": frozen and bool(theory),
                "torch": torch.__version__}
    spec = {**settings, "freeze": frozen, "s": s, "classes": D.classes, "X_train": D.X_train, "y_train": D.y_train,
            "X_test": D.X_test, "y_test": D.y_test, "save_features": save_features is not None,
            "theory": frozen and bool(theory)}
    names = unit_fields(frozen)
    by_width = dict(zip(ws, params))
    done: dict[tuple[int, int], dict[str, float]] = {}
    log = None
    if out is not None:
        from .._store import TrialLog
        header = {"kind": "nn", "version": LOG_VERSION, "dataset": D.name, "n_train": D.n_train,
                  "widths": ws, "s": s, **{k: v for k, v in settings.items() if k != "threads"}}
        # the theory's divergence is stored as INF_CODE (-1): a code, not a risk under the noise floor
        log = TrialLog(out, header, fields=names, points={(float(w), s / p): (p, s) for w, p in zip(ws, params)},
                       seed=seed, n=D.n_train, unchecked=("dense.theory.test_loss",))
        for (kappa, _alpha, trial), vals in log.open().items():
            if trial < seeds:
                done[(int(kappa), trial)] = dict(zip(names, (float(v) for v in vals)))
    try:
        todo = [(w, k) for w in ws for k in range(seeds) if (w, k) not in done]
        logged = set(done)
        if save_features is not None:  # a resumed unit must still have its features on disk
            from .._store import resolve
            d = resolve(save_features)
            for (w, k) in list(done):
                if not all(os.path.exists(os.path.join(d, f"features_w{w}_seed{k}_{part}.npy"))
                           for part in ("train", "test")):
                    todo.append((w, k))   # rerun for its features; its log record stays as it is
        bar = None
        if progress and todo:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(todo), desc=f"nn {model} {D.name}", unit="unit", leave=False,
                       disable=not progress)
        tasks = ((spec, w, k) for (w, k) in todo)
        if scheduler is not None:
            from .._parallel import run_dask
            results = run_dask(tasks, scheduler, run_unit)
        else:
            from .._parallel import run_parallel
            results = run_parallel(run_unit, tasks, min(workers, max(1, len(todo))))
        for (sp, w, k), rec in results:
            feats = rec.pop("_features", None)
            if feats is not None:
                try:
                    _write_features(save_features, D, w, k, feats)
                except OSError as exc:
                    raise DCPredictError(f"save_features {save_features!r} cannot be written: "
                                         f"{exc.strerror or exc}") from None
            if log is not None and (w, k) not in logged:
                log.write_trials([{"kappa": float(w), "alpha": s / by_width[w], "trial": k, "seed": seed,
                                   "n": D.n_train, "p": by_width[w], "s": s, **{f: rec[f] for f in names}}])
            if (w, k) not in logged:
                done[(w, k)] = rec
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
    finally:
        if log is not None:
            log.close()
    rows, timings = [], []
    for w in ws:
        for k in range(seeds):
            rec = done[(w, k)]
            row: dict[str, Any] = {"width": w, "params": by_width[w], "seed": k}
            for st in STATES:
                row[st] = {m: rec[f"{st}.{m}"] for m in METRICS}
                if frozen:
                    row[st]["closed_form"] = {m: rec[f"{st}.closed_form.{m}"] for m in METRICS}
            row["nonzeros"] = int(rec["nonzeros"])
            if frozen:
                row["readout_gap"] = rec["readout_gap"]
                if settings["theory"]:
                    th = rec["dense.theory.test_loss"]
                    row["dense"]["theory"] = {"test_loss": math.inf if th == INF_CODE else th}
            if int(rec["nonzeros"]) != s and by_width[w] > s:
                notes.append(f"width {w} seed {k}: {int(rec['nonzeros'])} nonzero weights after pruning, not s = {s} "
                             "(some kept weights were exactly zero after training)")
            rows.append(row)
            timings.append({"width": w, "seed": k, "unit_seconds": rec["unit_seconds"],
                            "train_seconds": rec["train_seconds"]})
    return NNResult(dataset=D.name, model=model, s=s, n_train=D.n_train, n_test=int(D.y_test.shape[0]), widths=ws,
                    params=params, seeds=seeds, frozen=frozen, settings=settings, description=D.description,
                    rows=rows, timings=timings, notes=notes)
