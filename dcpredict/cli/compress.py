"""``dcpredict quantize``, ``dcpredict iterate`` and ``dcpredict optimal-ridge`` (theory page, section 9)."""
from __future__ import annotations

import argparse

from ._common import add_law_arguments, dumps, float_grid, law_from_args, write_text, ridge_arg
from ._world import int_grid

_LIST = " (a comma list or START:STOP:NUM sweeps: one result per combination)"


def register(sub: argparse._SubParsersAction) -> None:
    q = sub.add_parser("quantize", help="risk of the fit quantized to a few bits per weight (optionally pruned first)",
                       description="Test risk of the fit quantized coordinate-wise by a uniform mid-tread quantizer "
                                   "(optionally after magnitude/Hessian pruning), at a given step or at the "
                                   "risk-minimizing step.")
    add_law_arguments(q)
    q.add_argument("--kappa", required=True, help="overparameterization ratio p/n (> 0)" + _LIST)
    q.add_argument("--bits", required=True, help="bits per (kept) weight, 1..16" + _LIST)
    q.add_argument("--sigma2", type=float, required=True, help="label noise variance (>= 0)")
    q.add_argument("--ridge", type=ridge_arg, default=0.0, help="ridge penalty r >= 0, or 'optimal' (default 0)")
    q.add_argument("--step", type=float, default=None,
                   help="quantizer step in the scale of sqrt(p) beta_hat (default: the risk-minimizing step)")
    q.add_argument("--alpha", type=float, default=None, help="prune to this fraction first (needs --rule)")
    q.add_argument("--rule", choices=("magnitude", "hessian"), default=None, help="pruning rule (needs --alpha)")
    q.add_argument("--json", action="store_true", help="print one JSON object (a list for a sweep)")
    q.set_defaults(func=_quantize)

    it = sub.add_parser("iterate", help="iterative magnitude pruning with a fresh refit every round",
                        description="Each round keeps alpha^(1/rounds) of the current support by |coefficient| and "
                                    "refits on fresh samples; rounds = 1 is magnitude_retrained.")
    add_law_arguments(it)
    it.add_argument("--kappa", required=True, help="overparameterization ratio p/n (> 0)" + _LIST)
    it.add_argument("--alpha", required=True, help="final fraction of weights kept, in (0, 1]" + _LIST)
    it.add_argument("--rounds", required=True, help="number of prune-and-refit rounds (>= 1)" + _LIST)
    it.add_argument("--sigma2", type=float, required=True, help="label noise variance (>= 0)")
    it.add_argument("--ridge", type=float, default=0.0, help="ridge penalty r >= 0 of every fit (default 0)")
    it.add_argument("--json", action="store_true",
                    help="print one JSON object (with a list of rounds; a list of objects for a sweep)")
    it.set_defaults(func=_iterate)

    o = sub.add_parser("optimal-ridge", help="the ridge that minimizes a rule's predicted risk",
                       description="Global minimum over r >= 0 (r = 0 included) of one rule's predicted risk, or of "
                                   "every rule with --rule all.")
    add_law_arguments(o)
    o.add_argument("--kappa", required=True, help="overparameterization ratio p/n (> 0)" + _LIST)
    o.add_argument("--alpha", default=None, help="fraction of weights kept (not needed for dense)" + _LIST)
    o.add_argument("--sigma2", type=float, required=True, help="label noise variance (>= 0)")
    o.add_argument("--rule", required=True, help="a risk field (dense, magnitude, hessian, ..., random_retrained) "
                                                 "or 'all'")
    o.add_argument("--json", action="store_true", help="print JSON (a list with --rule all)")
    o.set_defaults(func=_optimal_ridge)


def _emit(results: list, as_json: bool) -> None:
    """One result: its JSON object or summary; several (a sweep): a JSON list, or the summaries one after another."""
    if as_json:
        write_text(dumps(results[0].to_dict() if len(results) == 1 else [r.to_dict() for r in results]) + "\n", None)
    else:
        write_text("\n\n".join(r.summary() for r in results) + "\n", None)


def _quantize(args: argparse.Namespace) -> int:
    from ..compression import predict_quantized
    law = law_from_args(args)
    res = [predict_quantized(law, kappa=k, bits=b, sigma2=args.sigma2, ridge=args.ridge, step=args.step,
                             alpha=args.alpha, rule=args.rule)
           for k in float_grid("--kappa", args.kappa) for b in int_grid("--bits", args.bits)]
    _emit(res, args.json)
    return 0


def _iterate(args: argparse.Namespace) -> int:
    from ..compression import predict_iterative
    law = law_from_args(args)
    res = [predict_iterative(law, kappa=k, alpha=a, rounds=r, sigma2=args.sigma2, ridge=args.ridge)
           for k in float_grid("--kappa", args.kappa) for a in float_grid("--alpha", args.alpha)
           for r in int_grid("--rounds", args.rounds)]
    _emit(res, args.json)
    return 0


def _optimal_ridge(args: argparse.Namespace) -> int:
    from .. import RISK_FIELDS
    from ..compression import optimal_ridge
    law = law_from_args(args)
    kappas = float_grid("--kappa", args.kappa)
    alphas = [None] if args.alpha is None else float_grid("--alpha", args.alpha)
    if args.rule == "all":
        rules = [r for r in RISK_FIELDS if args.alpha is not None or r == "dense"]
        res = [optimal_ridge(law, kappa=k, alpha=a, sigma2=args.sigma2, rule=r)
               for k in kappas for a in alphas for r in rules]
        if args.json:
            write_text(dumps([r.to_dict() for r in res]) + "\n", None)
        else:
            lines = [f"{'kappa':>8}{'alpha':>8}  {'rule':<22}{'best ridge':>14}{'risk':>14}{'risk at r=0':>14}"]
            lines += [f"{r.kappa:>8.4g}{'-' if r.alpha is None else format(r.alpha, '.4g'):>8}  {r.rule:<22}"
                      f"{r.ridge:>14.6g}{r.risk:>14.8g}{r.risk_at_zero:>14.8g}" for r in res]
            write_text("\n".join(lines) + "\n", None)
        return 0
    res = [optimal_ridge(law, kappa=k, alpha=a, sigma2=args.sigma2, rule=args.rule) for k in kappas for a in alphas]
    _emit(res, args.json)
    return 0
