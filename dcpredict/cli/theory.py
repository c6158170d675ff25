"""``dcpredict predict`` and ``dcpredict curve``: the theory engine from the command line."""
from __future__ import annotations

import argparse
import io

from ._common import OUT_RULE, add_law_arguments, dumps, float_grid, law_from_args, write_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predicted test risks at one (kappa, alpha)",
                       description="Asymptotic test risk of the dense fit and of every pruning rule (THEORY.md s.2-4).")
    add_law_arguments(p)
    _add_problem(p)
    p.add_argument("--kappa", type=float, required=True, help="overparameterization ratio p/n (> 0)")
    p.add_argument("--alpha", type=float, required=True, help="fraction of weights kept, in (0, 1]")
    p.add_argument("--precision", choices=("double", "mp"), default="double",
                   help="mp: solve at 50 digits with mpmath (slow; a certificate)")
    p.add_argument("--json", action="store_true", help="print one JSON object with the eight risks")
    p.add_argument("--details", action="store_true",
                   help="with --json: also the inputs, tau, gamma2, regime and thresholds")
    p.set_defaults(func=_predict)

    c = sub.add_parser("curve", help="risks over a sweep of kappa and/or alpha (CSV or JSON)",
                       description="Risks over every (kappa, alpha) pair, computed in parallel. Sweeps are "
                                   "comma lists, START:STOP:NUM or log:START:STOP:NUM.")
    add_law_arguments(c)
    _add_problem(c)
    c.add_argument("--kappa", required=True, help="kappa values, e.g. 0.5,2 or 0.1:5:50 or log:0.1:100:60")
    c.add_argument("--alpha", default="1", help="alpha values (default 1)")
    c.add_argument("--format", choices=("csv", "json"), default="csv")
    c.add_argument("--out", metavar="FILE", help="write to this file instead of stdout; " + OUT_RULE)
    c.set_defaults(func=_curve)


def _add_problem(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sigma2", type=float, required=True, help="label noise variance (>= 0)")
    p.add_argument("--ridge", type=float, default=0.0, help="ridge penalty r (>= 0; default 0: min-norm/OLS)")


def _predict(args: argparse.Namespace) -> int:
    from ..theory import predict
    pred = predict(law_from_args(args), kappa=args.kappa, alpha=args.alpha, sigma2=args.sigma2,
                   ridge=args.ridge, precision=args.precision)
    if args.json:
        write_text(dumps(pred.to_dict() if args.details else pred.risks()) + "\n", None)
    else:
        write_text(pred.summary() + "\n", None)
    return 0


def _curve(args: argparse.Namespace) -> int:
    from .. import RISK_FIELDS
    from ..theory import predict_grid
    grid = predict_grid(law_from_args(args), float_grid("--kappa", args.kappa), float_grid("--alpha", args.alpha),
                        sigma2=args.sigma2, ridge=args.ridge)
    records = grid.records()
    if args.format == "json":
        text = dumps(records) + "\n"
    else:
        cols = ["kappa", "alpha", "tau", "gamma2", *RISK_FIELDS]
        buf = io.StringIO()
        buf.write(",".join(cols) + "\n")
        for rec in records:
            buf.write(",".join(repr(rec[c]) for c in cols) + "\n")
        text = buf.getvalue()
    write_text(text, args.out)
    return 0
