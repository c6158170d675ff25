"""``dcpredict figure``, ``dcpredict validate`` and ``dcpredict advise``.

* ``figure NAME [--quick] [--out-dir DIR] [--workers N]``: the paper's figures (fig2, fig3a, fig3b, fig4,
  fig7a, fig7b, or all) as PNG + sidecar JSON (computed by :mod:`dcpredict.figures`, drawn by
  :mod:`dcpredict.plotting`).
* ``validate [--quick] [--out-dir DIR] [--workers N]``: theory against simulation on a grid of cases,
  REPORT.md + summary plot; exit status 1 if any comparison fails (:mod:`dcpredict.validation`).
* ``advise --features F --labels Y --n N --s S [--order given|variance|saliency] [--check TRIALS]``: the same on a
  dataset (:func:`dcpredict.data.advise_data`; see :mod:`dcpredict.cli.data`).
* ``advise (law) --sigma2 X --n N --s S --world-size P [--order saliency|random] [--ridge R] [--tol T]
  [--json] [--map PATH.png]``: train small or prune big in a given world (:mod:`dcpredict.advisor`).
"""
from __future__ import annotations

import argparse
import sys

from ._common import add_law_arguments, dumps, is_finite_instance, law_from_args, write_text, ridge_arg

FIGURE_NAMES = ("fig2", "fig3a", "fig3b", "fig4", "fig7a", "fig7b", "all", "compress", "data-digits", "data-mnist1d",
                "nn-digits", "nn-mnist1d")


def register(sub: argparse._SubParsersAction) -> None:
    f = sub.add_parser("figure", help="reproduce the paper's figures (PNG + sidecar JSON)",
                       description="Theory lines and simulation markers for the paper's Figs. 2, 3 (a, b), 4 and 7 "
                                   "(a, b), in the paper's framing: a model that grows, pruned to a fixed budget s. "
                                   "Writes DIR/NAME.png and DIR/NAME.json (all parameters and plotted numbers; "
                                   "dcpredict.plotting.draw re-renders a PNG from the JSON alone).")
    f.add_argument("name", choices=FIGURE_NAMES, metavar="NAME",
                   help="fig2, fig3a, fig3b, fig4, fig7a, fig7b or all (the paper's figures); compress: "
                        "pruning vs quantization at a bit budget (beyond the paper, about 3 minutes); data-digits, "
                        "data-mnist1d: the grow-then-prune figure on a real dataset, theory vs actual (needs the "
                        "[real] extra; a few minutes); nn-digits, nn-mnist1d: grow-then-prune on real networks "
                        "(needs PyTorch, a few minutes)")
    f.add_argument("--quick", action="store_true", help="coarse grids and few trials (seconds; files NAME_quick.*)")
    f.add_argument("--out-dir", default="figures", help="output directory (default: figures)")
    f.add_argument("--workers", type=int, default=None, help="simulation processes (default: all cores)")
    f.add_argument("--quiet", action="store_true", help="no progress output (by default: a [k/K] line per figure "
                                                        "and bars with estimates, on stderr)")
    f.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)   # the default now
    f.set_defaults(func=_figure)

    v = sub.add_parser("validate", help="theory vs simulation on a grid of cases (REPORT.md); exit 1 on failure",
                       description="Compare every prediction with Monte Carlo simulation on a grid of laws, kappas "
                                   "(both regimes, near 1), ridge 0 and > 0, two alphas. Writes DIR/REPORT.md and "
                                   "DIR/summary.png (quick: REPORT_quick.md, summary_quick.png).")
    v.add_argument("--quick", action="store_true", help="the small grid run in CI (well under 2 minutes)")
    v.add_argument("--out-dir", default="validation", help="output directory (default: validation)")
    v.add_argument("--workers", type=int, default=None, help="simulation processes (default: all cores)")
    v.add_argument("--quiet", action="store_true", help="no progress output (by default: a [k/K] line per stage "
                                                        "and bars with estimates, on stderr)")
    v.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)   # the default now
    v.add_argument("--finite-size", action="store_true",
                   help="compare the finite-size predictions too (theory page, finite size): their z-scores "
                        "next to the asymptotic ones (report: DIR/FINITE_REPORT[_quick].md)")
    v.set_defaults(func=_validate)

    a = sub.add_parser("advise", help="train small or prune big: best model size and pruning rule in a given world",
                       description="In a world of P features (--world-size, or a finite instance: --spectrum, "
                                   "--lam with --beta, or --covariance with --beta) "
                                   "with n samples: fit the first p features (s <= p <= P, every integer searched), "
                                   "prune to the budget s with every rule, and compare the best with training s "
                                   "features directly (random, largest-variance, oracle) and with the zero model.")
    add_law_arguments(a)
    a.add_argument("--spectrum", action="store_true",
                   help="--lam/--b list the P features of a finite world, one value per feature (no --weights); "
                        "P is their number unless --world-size is given")
    a.add_argument("--sigma2", type=float, default=None, help="label noise variance (>= 0; required for a law)")
    a.add_argument("--n", type=float, required=True, help="training samples (an integer)")
    a.add_argument("--s", type=float, required=True, help="budget: weights kept in the deployed model (an integer)")
    a.add_argument("--world-size", type=float, default=None, metavar="P",
                   help="P, the number of features in the world (required unless --spectrum, --beta or --covariance: "
                        "then P is the instance's number of features)")
    a.add_argument("--order", default=None,
                   help="which p features a model of size p fits: saliency (the first by true saliency, the "
                        "paper) or random (default saliency); for a dataset given (default), variance or saliency")
    a.add_argument("--ridge", type=ridge_arg, default=0.0,
                   help="ridge penalty r >= 0 of every fit (default 0), or 'optimal': tune it (the answer includes "
                        "the regularisation; each baseline is compared at its own best ridge)")
    a.add_argument("--rules", default=None,
                   help="pruning rules searched, comma list (default magnitude,hessian,random,magnitude_retrained,"
                        "hessian_retrained,random_retrained; oracle_pruned may be added)")
    a.add_argument("--tol", type=float, default=1e-3,
                   help="relative tolerance of the verdicts: within it a comparison is a tie (default 1e-3)")
    a.add_argument("--finite-size", action="store_true",
                   help="finite-size mode: risks at these n and p (theory page, finite size); coarse grid of p "
                        "refined to the integer minimum, about a second per p")
    a.add_argument("--json", action="store_true", help="print the advice as JSON")
    a.add_argument("--quiet", action="store_true", help="no progress output on stderr (the --map computation, a dataset's search and --check)")
    a.add_argument("--map", metavar="PATH.png",
                   help="also draw the (p, s) phase map of this world to this PNG (with --json its data is in "
                        "the output under 'map')")
    for old in ("--alpha", "--kappa-max", "--num"):   # removed: they implied a hidden pool of features
        a.add_argument(old, default=None, help=argparse.SUPPRESS)
    from .data import add_advise_arguments
    add_advise_arguments(a)
    a.set_defaults(func=_advise)


def _figure(args: argparse.Namespace) -> int:
    if args.name.startswith("data-"):
        from ..data.figure import make_data_figure
        png, side, data = make_data_figure(args.name, quick=args.quick, out_dir=args.out_dir, workers=args.workers,
                                           progress=args.progress)
        print(f"{args.name}: wrote {png} and {side} ({data['elapsed_seconds']:.0f} s)")
        return 0
    if args.name == "compress":
        from ..figures_compress import make_figure as make_compress
        stem = "compress_quick" if args.quick else "compress"
        png, side = make_compress(args.out_dir, simulate=not args.quick, workers=args.workers or 1,
                                  progress=not args.quiet, stem=stem)
        print(f"compress: wrote {png} and {side}")
        return 0
    if args.name.startswith("nn-"):
        from ..nn.figures import make_figure as make_nn
        png, side = make_nn(args.name, args.out_dir, quick=args.quick, workers=args.workers or 1, progress=True)
        print(f"{args.name}: wrote {png} and {side}")
        return 0
    from ..figures import make_figure
    results = make_figure(args.name, quick=args.quick, out_dir=args.out_dir, workers=args.workers,
                          progress=not args.quiet)
    for r in results:
        print(f"{r.name}: wrote {r.png} and {r.sidecar} ({r.elapsed:.0f} s)")
    return 0


def _validate(args: argparse.Namespace) -> int:
    if args.finite_size:
        from ..finite.validation import run_finite_validation
        frep = run_finite_validation(quick=args.quick, out_dir=args.out_dir, workers=args.workers,
                                     progress=not args.quiet)
        print(frep.summary())
        print(f"wrote {frep.report_path} ({frep.elapsed:.0f} s)")
        return 0
    from ..validation import run_validation
    rep = run_validation(quick=args.quick, out_dir=args.out_dir, workers=args.workers, progress=not args.quiet)
    print(rep.summary())
    print(f"wrote {rep.report_path} and {rep.plot_path} ({rep.elapsed:.0f} s)")
    if not rep.passed:
        print(f"dcpredict validate: {len(rep.failures)} comparison(s) failed", file=sys.stderr)
        return 1
    return 0


def _advise(args: argparse.Namespace) -> int:
    from .._validate import DCPredictError
    from ..advisor import PRUNE_RULES, advise
    from .data import advise_dataset, is_dataset
    if is_dataset(args):
        return advise_dataset(args)
    if args.check is not None:
        raise DCPredictError("--check needs a dataset (--features/--labels or --dataset): a law has no rows to measure")
    if args.sigma2 is None:
        raise DCPredictError("--sigma2 is required for a law (the label noise variance; a dataset determines it)")
    args.order = "saliency" if args.order is None else args.order
    for old in ("alpha", "kappa_max", "num"):
        if getattr(args, old) is not None:
            raise DCPredictError(f"--{old.replace('_', '-')} was removed: the advisor needs the world, give its "
                                 "number of features with --world-size P (or a finite spectrum with --spectrum)")
    if args.spectrum:
        if (args.law is not None or args.weights is not None or args.lam is None
                or (args.b is None) == (args.beta is None) or args.covariance is not None):
            raise DCPredictError("--spectrum takes --lam and --b (scaled weights) or --beta (actual weights) only, one "
                                 "value per feature of the world; not --weights, --law or --covariance")
        law = law_from_args(args, spectrum=True)
    else:
        law = law_from_args(args)
        if args.world_size is None and not is_finite_instance(args):
            raise DCPredictError("--world-size P is required: the answer depends on the number of features in "
                                 "the world (or give a finite spectrum with --spectrum, or --beta with --lam or "
                                 "--covariance)")
    rules = PRUNE_RULES if args.rules is None else tuple(t.strip() for t in args.rules.split(","))
    adv = advise(law, sigma2=args.sigma2, n=args.n, s=args.s, P=args.world_size, order=args.order,
                 ridge=args.ridge, rules=rules, tol=args.tol, finite_size=args.finite_size)
    pm = None
    if args.map:
        try:
            pm = adv.phase_map(args.map, progress=not args.quiet)
        except OSError as exc:
            raise DCPredictError(f"--map {args.map}: {exc.strerror or exc}") from None
    if args.json:
        d = adv.to_dict()
        if pm is not None:
            d["map"] = {"png": str(args.map), **pm.to_dict()}
        write_text(dumps(d) + "\n", None)
    else:
        text = adv.summary()
        if pm is not None:
            text += f"\n{pm.summary()}\nphase map: {args.map}"
        write_text(text + "\n", None)
    return 0
