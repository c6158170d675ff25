"""``dcpredict simulate``: Monte Carlo risks of pruning and retraining (dcpredict.simulation).

Output with ``--json``: for a single (kappa, alpha) point one JSON object whose keys are the 11
fields (the eight of ``dcpredict.predict`` plus ``*_retrained_same``), each
``{"mean": float, "stderr": float}``; for several points a JSON list of such objects, each also
carrying ``"kappa"`` and ``"alpha"``.  Without ``--json``: one readable table per point (with
95 % Student-t intervals).  ``--out FILE.jsonl`` stores every finished trial and resumes.

The fixed world (``--world-size P --p ... --s S [--order saliency|random]`` with ``--n``; excludes
``--kappa``/``--alpha``): :func:`dcpredict.simulate_world`.  ``--json`` with one ``--p``: one JSON object
whose keys are the 14 fields of ``dcpredict.world_simulation.WORLD_SIM_FIELDS`` (the nine of
``predict_world``, the three ``*_retrained_same`` and the baselines ``small_random``,
``small_top_variance``), each ``{"mean": float, "stderr": float}``; with several p (a comma list or
``START:STOP:NUM``): a JSON list of such objects in the order of ``--p``, each also carrying ``"p"``.
"""
from __future__ import annotations

import argparse

from .._validate import DCPredictError
from ._common import add_law_arguments, dumps, float_list, law_from_args
from ._world import add_world_arguments, int_grid, integer, require, world_mode


def register(sub) -> None:
    p = sub.add_parser(
        "simulate",
        help="Monte Carlo simulation of pruning and retraining (checks the theory)",
        description="Simulate finite linear Gaussian problems: dense min-norm/OLS/ridge fit, magnitude, "
                    "Hessian, random and oracle supports of size round(alpha p), pruned and retrained "
                    "(fresh and same samples) risks, computed exactly from Sigma and beta.")
    add_law_arguments(p)
    g = p.add_argument_group("problem")
    g.add_argument("--sigma2", type=str, required=True, help="label noise variance sigma^2 >= 0")
    g.add_argument("--kappa", default=None, help="kappa = p/n, comma list (p = round(kappa n))")
    g.add_argument("--alpha", default=None, help="fraction of weights kept, comma list in (0, 1]")
    g.add_argument("--ridge", type=str, default="0", help="ridge r >= 0 (default 0: min-norm / OLS)")
    g.add_argument("--n", type=str, required=True, help="training samples n >= 2")
    g.add_argument("--hessian", choices=("population", "empirical"), default=None,
                   help="diagonal of the Hessian rule: Sigma_ii (population, the default) or the empirical "
                        "(X^T X/n)_ii (not in the fixed world, which uses Sigma_ii)")
    add_world_arguments(p, n=False, p_help="model sizes p, s <= p <= P: one integer (one JSON object with "
                                           "--json), a comma list or START:STOP:NUM (a JSON list, one object "
                                           "per p)")
    r = p.add_argument_group("run")
    r.add_argument("--trials", type=str, default="100", help="trials per (kappa, alpha) point, or per p of the fixed world, >= 2 "
                                                              "(default 100)")
    r.add_argument("--seed", type=str, default="0", help="root seed (default 0); results do not depend on workers")
    r.add_argument("--workers", type=str, default=None, help="local worker processes (default: all cores)")
    r.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on a Dask distributed scheduler, e.g. tcp://127.0.0.1:8786")
    r.add_argument("--out", metavar="FILE.jsonl", default=None,
                   help="append every finished trial as a JSON line; rerun with the same arguments to resume "
                        "(or with more --trials to extend). Only a new file or a trial log of the same run is "
                        "accepted (every line a dcpredict record with the run's fingerprint); anything else is "
                        "refused and left unchanged. A symlink is followed; devices and pipes are refused")
    r.add_argument("--quiet", action="store_true", help="no progress output (bars and notes go to stderr)")
    r.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=run)


def _num(name: str, text: str) -> float:
    if name == "--ridge" and str(text).strip().lower() == "optimal":
        raise DCPredictError("--ridge optimal: a simulation needs one ridge; take each rule's from `dcpredict "
                             "predict ... --ridge optimal` and simulate at it")
    return float_list(name, text)[0] if "," not in str(text) else _single_error(name, text)


def _single_error(name: str, text: str):
    raise DCPredictError(f"{name} must be one number; got {text!r}")


def _int(name: str, text: str | None):
    if text is None:
        return None
    try:
        return int(str(text).strip())
    except ValueError:
        raise DCPredictError(f"{name} must be an integer; got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    if world_mode(args):
        return _run_world(args)
    if args.kappa is None or args.alpha is None:
        raise DCPredictError("give --kappa and --alpha, or the fixed world --world-size P --p ... --s S")
    law = law_from_args(args)
    kappas = float_list("--kappa", args.kappa)
    alphas = float_list("--alpha", args.alpha)
    from ..simulation import SIM_FIELDS, simulate_sweep
    results = simulate_sweep(
        law, kappas=kappas, alphas=alphas, sigma2=_num("--sigma2", args.sigma2), ridge=_num("--ridge", args.ridge),
        n=_int("--n", args.n), trials=_int("--trials", args.trials), seed=_int("--seed", args.seed),
        workers=_int("--workers", args.workers), hessian=args.hessian or "population", out=args.out, scheduler=args.scheduler,
        progress=not args.quiet)
    if args.json:
        objs = []
        for res in results:
            m, se = res.mean, res.stderr
            inputs = {"law": res.law.to_dict(), "kappa": res.kappa, "alpha": res.alpha, "sigma2": res.sigma2,
                      "ridge": res.ridge, "n": res.n, "p": res.p, "s": res.s, "trials": res.trials, "seed": res.seed,
                      "hessian_diagonal": res.hessian_diagonal}
            objs.append({**inputs, **{f: {"mean": m[f], "stderr": se[f]} for f in SIM_FIELDS}})
        print(dumps(objs[0] if len(objs) == 1 else objs))
    else:
        print("\n\n".join(res.summary() for res in results))
    return 0


def _run_world(args: argparse.Namespace) -> int:
    require(args, "--p", "--s")
    if args.hessian is not None:
        raise DCPredictError("--hessian is not an option of the fixed world (its Hessian rule uses Sigma_ii)")
    ps = int_grid("--p", args.p)
    law = law_from_args(args)
    from ..world_simulation import simulate_world
    res = simulate_world(
        law, n=_int("--n", args.n), P=integer("--world-size", args.world_size), ps=ps, s=integer("--s", args.s),
        sigma2=_num("--sigma2", args.sigma2), ridge=_num("--ridge", args.ridge), order=args.order or "saliency",
        trials=_int("--trials", args.trials), seed=_int("--seed", args.seed), workers=_int("--workers", args.workers),
        out=args.out, scheduler=args.scheduler, progress=not args.quiet)
    if args.json:
        objs = [{**res.inputs(), "p": p, **res.point(p)} for p in res.ps]
        print(dumps(objs[0] if len(objs) == 1 else objs))
    else:
        print(res.summary())
    return 0
