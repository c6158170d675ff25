"""``dcpredict nn``: the paper's grow-then-prune experiment on real networks (:func:`dcpredict.nn.grow_prune`).

Output with ``--json``: ``{"dataset", "model", "s", "n_train", "rows": [{"width", "params", "seed", "dense": {...},
"pruned": {...}, "retrained": {...}, "random_retrained": {...}, "nonzeros"}], "settings", "description",
"notes"}``, where each ``{...}`` has train_error, test_error, train_loss, test_loss (and, with
``--freeze-first-layer``, ``closed_form`` with the same keys; the row then also has ``readout_gap``).
Without ``--json``: a table of test errors, mean +- standard error over seeds.
"""
from __future__ import annotations

import argparse

from .._validate import DCPredictError
from ._common import dumps


def _widths(text: str) -> list[int]:
    items = [t.strip() for t in str(text).split(",")]
    out = []
    for t in items:
        if not t.isdigit() or int(t) < 1:
            raise DCPredictError(f"--widths must be a comma list of positive integers (e.g. 4,8,16); {t!r} is not")
        out.append(int(t))
    return out


def _lr(text: str):
    if str(text).strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0 or 'auto'; got {text!r}") from None


def register(sub) -> None:
    p = sub.add_parser(
        "nn", help="grow-then-prune on real networks: train wide, prune to s weights, retrain (needs PyTorch)",
        description="For each width and seed: train the network dense, prune all its weight matrices together by "
                    "magnitude to exactly s weights (recorded without retraining), retrain with the mask fixed, "
                    "and as a control prune the dense network at random to s and retrain (the paper's Figs. 1, 5, "
                    "6). Needs PyTorch: pip install 'dcpredict[nn]'.")
    d = p.add_argument_group("data and model")
    d.add_argument("--dataset", default="digits", help="digits (scikit-learn, 8x8), mnist1d (generated locally), or FILE.npz "
                                                      "with arrays X_train, y_train, X_test, y_test (your own data)")
    d.add_argument("--n-train", type=int, default=None,
                   help="training examples (digits: default 300 drawn at random, the rest test; mnist1d: default "
                        "4000; FILE.npz: the first N training examples)")
    d.add_argument("--model", default="mlp", help="mlp (two-layer, Fig. 6), cnn (small CNN for 8x8 images) or "
                                                  "resnet20 (width = base channels, 16 is standard; Fig. 1)")
    d.add_argument("--widths", required=True, help="network widths, comma list of positive integers")
    b = p.add_mutually_exclusive_group(required=True)
    b.add_argument("--s", type=int, default=None, help="budget: weights kept after pruning")
    b.add_argument("--budget-width", type=int, default=None,
                   help="budget s = the weight count of the network of this width (the paper's choice)")
    t = p.add_argument_group("training (all explicit; recorded in the output)")
    t.add_argument("--epochs", type=int, default=100, help="epochs of dense training (default 100)")
    t.add_argument("--retrain-epochs", type=int, default=None, help="epochs of each retraining (default: --epochs)")
    t.add_argument("--optimizer", default="adam", help="adam or sgd (default adam)")
    t.add_argument("--lr", type=_lr, default=1e-3,
                   help="learning rate (default 1e-3); 'auto' with --freeze-first-layer, --optimizer sgd and "
                        "--batch-size 0: the optimal heavy-ball step and momentum of the readout's quadratic loss")
    t.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default 0)")
    t.add_argument("--weight-decay", type=float, default=0.0, help="weight decay (default 0)")
    t.add_argument("--batch-size", type=int, default=64, help="mini-batch size, 0 for full batch (default 64)")
    t.add_argument("--loss", default="ce", help="ce (cross-entropy) or mse (squared error on one-hot targets)")
    t.add_argument("--freeze-first-layer", action="store_true",
                   help="random-features mode (mlp, --loss mse): first layer frozen at initialisation, readout from "
                        "zero; each result gets the closed-form min-norm least-squares result on the same features")
    t.add_argument("--save-features", metavar="DIR", default=None,
                   help="with --freeze-first-layer: write the frozen features and labels of train and test as .npy")
    r = p.add_argument_group("run")
    r.add_argument("--seeds", type=int, default=3, help="seeds per width (default 3)")
    r.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    r.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda or cuda:N")
    r.add_argument("--threads", type=int, default=1, help="torch threads per CPU unit (default 1: reproducible)")
    r.add_argument("--workers", type=int, default=1, help="local worker processes, one unit each (default 1)")
    r.add_argument("--scheduler", metavar="ADDRESS", default=None, help="run the units on a Dask scheduler")
    r.add_argument("--out", metavar="FILE.jsonl", default=None,
                   help="log every finished unit; rerun with the same arguments to resume (or more --seeds to "
                        "extend). Only a new file or a log of the same run is accepted")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    widths = _widths(args.widths)
    from ..nn._torch import require_torch
    require_torch()
    from ..nn.run import grow_prune
    res = grow_prune(args.dataset, model=args.model, widths=widths, s=args.s, budget_width=args.budget_width,
                     epochs=args.epochs, retrain_epochs=args.retrain_epochs, lr=args.lr, optimizer=args.optimizer,
                     momentum=args.momentum, weight_decay=args.weight_decay, batch_size=args.batch_size,
                     loss=args.loss, seeds=args.seeds, seed=args.seed, freeze_first_layer=args.freeze_first_layer,
                     n_train=args.n_train, device=args.device, threads=args.threads, workers=args.workers,
                     scheduler=args.scheduler, out=args.out, save_features=args.save_features,
                     progress=not args.quiet)
    print(dumps(res.to_dict()) if args.json else res.summary())
    return 0
