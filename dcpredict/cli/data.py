"""``dcpredict data``: the grow-then-prune experiment predicted and measured on a user's dataset.

Thin over :mod:`dcpredict.data`::

    dcpredict data --features F.npy --labels y.npy --n 200 --s 40 --p 100,200,400,800 --order given \\
        --trials 40 --seed 0 --json
    dcpredict data --dataset digits --task parity --random-features 800 --feature-seed 0 --n 200 --s 40 \\
        --p 50:800:16 --trials 40 --json

``--p`` is one integer, a comma list or ``START:STOP:NUM`` (NUM evenly spaced integers, as everywhere in the
command line).  ``--trials 0`` (the default) gives the theory alone.  ``--json`` prints
``{"N", "P", "n", "s", "order", "ridge", "sigma2", "signal", "rows": [{"p", "theory", "theory_stderr", "actual",
"actual_population"}]}`` with null for every non-finite number (:meth:`dcpredict.data.DataComparison.schema`).
"""
from __future__ import annotations

import argparse
import json

from .._validate import DCPredictError
from ._world import int_grid, integer


def register(sub) -> None:
    p = sub.add_parser(
        "data", help="theory vs actual on your own dataset (features + labels): prune big or train small",
        description="The population is the dataset's N rows (centred). For each model size p (the first p columns in "
                    "--order) predict the risks of the dense fit, of pruning to s weights by every rule and of the "
                    "refits (the Gaussian-equivalent theory), and measure them: --trials random draws of n training "
                    "rows, scored on the held-out rows and on all N rows.")
    add_data_arguments(p)
    g = p.add_argument_group("experiment")
    g.add_argument("--n", required=True, help="training rows per trial (N - 2n rows must remain held out)")
    g.add_argument("--s", required=True, help="weights kept after pruning")
    g.add_argument("--p", required=True, help="model sizes s <= p <= P: an integer, a comma list or START:STOP:NUM")
    g.add_argument("--order", default="given", choices=("given", "variance", "saliency"),
                   help="columns a model of size p takes: given (as they come; default), variance (decreasing "
                        "variance, needs no labels) or saliency (decreasing Sigma_ii beta_i^2)")
    g.add_argument("--ridge", default="0", help="ridge penalty r >= 0 of every fit (default 0: min-norm / OLS)")
    g.add_argument("--trials", default="0", help="actual trials (default 0: the theory alone)")
    g.add_argument("--seed", default="0", help="seed of the trials and of the theory's draws (default 0)")
    g.add_argument("--draws", default="400", help="draws of the theory's DC vector per p (default 400)")
    g.add_argument("--workers", default=None, help="local worker processes (default: all cores)")
    g.add_argument("--scheduler", metavar="ADDRESS", default=None, help="a Dask distributed scheduler")
    g.add_argument("--out", metavar="FILE.jsonl", default=None,
                   help="trial log: every finished trial as JSON lines; rerun with the same arguments to resume (more "
                        "--trials extend it); a file that is not this run's log is refused and left unchanged")
    g.add_argument("--quiet", action="store_true", help="no progress bars")
    g.add_argument("--json", action="store_true", help="print JSON (null for non-finite numbers)")
    p.set_defaults(func=run)


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """--features/--labels or --dataset/--task, and --random-features (shared with ``advise``)."""
    g = p.add_argument_group("dataset")
    g.add_argument("--features", metavar="F", default=None,
                   help="features, N rows x P columns: .npy (memory-mapped), .npz (one array) or CSV")
    g.add_argument("--labels", metavar="Y", default=None, help="labels, N values: .npy, .npz or CSV")
    g.add_argument("--dataset", default=None, help="a bundled dataset instead of files: digits or mnist1d")
    g.add_argument("--task", default=None, help="label of --dataset: parity, value, one-vs-rest:K")
    g.add_argument("--random-features", metavar="WIDTH", default=None,
                   help="use WIDTH random features of the inputs (--dataset or --features) as the columns")
    g.add_argument("--activation", default="relu", help="activation of --random-features (default relu)")
    g.add_argument("--feature-seed", default="0", help="seed of --random-features (default 0)")
    g.add_argument("--chunk-rows", default=None, help="rows per block when accumulating Sigma (default 4096)")


def world_from_args(args: argparse.Namespace):
    """The :class:`dcpredict.data.DataWorld` the dataset options describe."""
    from ..data import DataWorld
    from ..data._world import DEFAULT_CHUNK_ROWS, _as_features, _as_labels, read_matrix
    chunk = integer("--chunk-rows", args.chunk_rows) if args.chunk_rows is not None else DEFAULT_CHUNK_ROWS
    if args.dataset is not None:
        if args.features is not None or args.labels is not None:
            raise DCPredictError("--dataset cannot be combined with --features/--labels")
        if args.task is None:
            raise DCPredictError("--dataset needs --task (e.g. parity, value, one-vs-rest:3)")
        try:
            from ..data.datasets import load_dataset
        except ModuleNotFoundError as exc:
            if exc.name != "dcpredict.data.datasets":
                raise
            raise DCPredictError("--dataset is not available in this build (dcpredict.data.datasets is missing)") from None
        X, y, name = load_dataset(args.dataset, args.task)
    else:
        if args.task is not None:
            raise DCPredictError("--task goes with --dataset")
        if args.features is None or args.labels is None:
            raise DCPredictError("give the dataset as --features F and --labels Y (files), or --dataset NAME --task T")
        if args.random_features is None:
            return DataWorld.from_files(args.features, args.labels, chunk_rows=chunk)
        X = _as_features(read_matrix(args.features, "features"), f"features {args.features!r}")
        y = _as_labels(read_matrix(args.labels, "labels"), X.shape[0], f"labels {args.labels!r}")
        name = args.features
    if args.random_features is not None:
        try:
            from ..data.features import random_features
        except ModuleNotFoundError as exc:
            if exc.name != "dcpredict.data.features":
                raise
            raise DCPredictError("--random-features is not available in this build (dcpredict.data.features is "
                                 "missing)") from None
        width = integer("--random-features", args.random_features)
        fseed = integer("--feature-seed", args.feature_seed)
        X = random_features(X, width, activation=args.activation, seed=fseed)
        name = f"{name}, {width} {args.activation} random features (seed {fseed})"
    return DataWorld.from_arrays(X, y, name=name, chunk_rows=chunk)


def _real(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise DCPredictError(f"{name} must be a number; got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from ..data import compare_data
    from ._common import write_text
    n = integer("--n", args.n)
    s = integer("--s", args.s)
    ps = int_grid("--p", args.p)
    world = world_from_args(args)
    trials = integer("--trials", args.trials)
    if trials < 0 or trials == 1:
        raise DCPredictError(f"--trials must be 0 (theory only) or an integer >= 2; got {args.trials!r}")
    workers = integer("--workers", args.workers)
    cmp = compare_data(world, n=n, s=s, ps=ps, trials=trials, seed=integer("--seed", args.seed), order=args.order,
                       ridge=_real("--ridge", args.ridge), draws=integer("--draws", args.draws), workers=workers,
                       scheduler=args.scheduler, out=args.out, progress=not args.quiet)
    if args.json:
        write_text(json.dumps(cmp.schema(), allow_nan=False) + "\n", None)
    else:
        write_text(cmp.summary() + "\n", None)
    return 0


# --------------------------------------------------------------------------- advise on a dataset
def add_advise_arguments(a: argparse.ArgumentParser) -> None:
    """The dataset options of ``dcpredict advise`` (with them the advice is on the dataset)."""
    add_data_arguments(a)
    g = a.add_argument_group("advice on a dataset")
    g.add_argument("--check", metavar="TRIALS", default=None,
                   help="with a dataset: run the actual experiment (TRIALS trials) at the advised p and for the small "
                        "models, and print predicted vs measured side by side")
    g.add_argument("--draws", default="400", help="with a dataset: draws of the theory's DC vector per p (default 400)")
    g.add_argument("--seed", default="0", help="with a dataset: seed of the draws and of --check (default 0)")
    g.add_argument("--workers", default=None, help="with --check: local worker processes (default: all cores)")
    # --quiet is the advise command's own option (no progress output), shared by both kinds of advice


def is_dataset(args: argparse.Namespace) -> bool:
    return any(getattr(args, k, None) is not None for k in ("features", "labels", "dataset"))


def advise_dataset(args: argparse.Namespace) -> int:
    """``dcpredict advise --features F --labels Y --n N --s S [--order] [--check TRIALS]``."""
    from ..advisor import PRUNE_RULES
    from ..data import advise_data
    from ._common import write_text
    for name in ("lam", "b", "weights", "law", "world_size", "sigma2", "map", "beta", "covariance"):
        if getattr(args, name, None) not in (None, False):
            raise DCPredictError(f"--{name.replace('_', '-')} describes a law; with a dataset (--features/--labels "
                                 "or --dataset) the dataset determines the world")
    if getattr(args, "spectrum", False):
        raise DCPredictError("--spectrum describes a law; with a dataset the dataset determines the world")
    if isinstance(args.ridge, str):
        raise DCPredictError("--ridge optimal is not available for a dataset; give a number >= 0")
    n = integer("--n", args.n)
    s = integer("--s", args.s)
    world = world_from_args(args)
    rules = PRUNE_RULES if args.rules is None else tuple(t.strip() for t in args.rules.split(","))
    seed = integer("--seed", args.seed)
    check = None
    if args.check is not None:
        check = integer("--check", args.check)
        if check < 2:
            raise DCPredictError(f"--check must be an integer >= 2 (trials); got {args.check!r}")
        from ..data._experiment import check_experiment
        check_experiment(world, n, s, [s], check)   # refuse before the search
    adv = advise_data(world, n=n, s=s, order="given" if args.order is None else args.order, ridge=args.ridge,
                      rules=rules, tol=args.tol, draws=integer("--draws", args.draws), seed=seed,
                      progress=not args.quiet)
    result = adv if check is None else adv.check(world, check, seed=seed, workers=integer("--workers", args.workers),
                                                 progress=not args.quiet)
    if args.json:
        from ..data._compare import json_ready
        write_text(json.dumps(json_ready(result.to_dict()), allow_nan=False) + "\n", None)
    else:
        write_text(result.summary() + "\n", None)
    return 0
