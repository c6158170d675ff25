"""``dcpredict figure``, ``dcpredict validate`` and ``dcpredict advise``.

* ``figure NAME [--quick] [--out-dir DIR] [--workers N]``: the paper's figures (fig2, fig3, fig4, fig7,
  or all) as PNG + sidecar JSON (:mod:`dcpredict.figures`).
* ``validate [--quick] [--out-dir DIR] [--workers N]``: theory against simulation on a grid of cases,
  REPORT.md + summary plot; exit status 1 if any comparison fails (:mod:`dcpredict.validation`).
* ``advise (law) --sigma2 X --n N (--s S | --alpha A) [--ridge R] [--kappa-max K] [--json] [--map PATH.png]``:
  train small or prune big (:mod:`dcpredict.advisor`).
"""
from __future__ import annotations

import argparse
import sys

from ._common import add_law_arguments, dumps, law_from_args, write_text

FIGURE_NAMES = ("fig2", "fig3", "fig4", "fig7", "all")


def register(sub: argparse._SubParsersAction) -> None:
    f = sub.add_parser("figure", help="reproduce the paper's figures (PNG + sidecar JSON)",
                       description="Theory lines and simulation markers for the paper's Figs. 2, 3, 4 and 7. "
                                   "Writes DIR/NAME.png and DIR/NAME.json (all parameters and plotted numbers).")
    f.add_argument("name", choices=FIGURE_NAMES, metavar="NAME", help="fig2, fig3, fig4, fig7 or all")
    f.add_argument("--quick", action="store_true", help="coarse grids and few trials (seconds; files NAME_quick.*)")
    f.add_argument("--out-dir", default="figures", help="output directory (default: figures)")
    f.add_argument("--workers", type=int, default=None, help="simulation processes (default: all cores)")
    f.add_argument("--progress", action="store_true", help="progress bar on stderr")
    f.set_defaults(func=_figure)

    v = sub.add_parser("validate", help="theory vs simulation on a grid of cases (REPORT.md); exit 1 on failure",
                       description="Compare every prediction with Monte Carlo simulation on a grid of laws, kappas "
                                   "(both regimes, near 1), ridge 0 and > 0, two alphas. Writes DIR/REPORT.md and "
                                   "DIR/summary.png (quick: REPORT_quick.md, summary_quick.png).")
    v.add_argument("--quick", action="store_true", help="the small grid run in CI (well under 2 minutes)")
    v.add_argument("--out-dir", default="validation", help="output directory (default: validation)")
    v.add_argument("--workers", type=int, default=None, help="simulation processes (default: all cores)")
    v.add_argument("--progress", action="store_true", help="progress bars on stderr")
    v.set_defaults(func=_validate)

    a = sub.add_parser("advise", help="train small or prune big: best model size and pruning rule at a budget",
                       description="Sweep the model size p = kappa n from s (train small) to the features "
                                   "available, prune to the budget s with every rule, and compare with training "
                                   "the small model directly (random or oracle features).")
    add_law_arguments(a)
    a.add_argument("--sigma2", type=float, required=True, help="label noise variance (>= 0)")
    a.add_argument("--n", type=int, required=True, help="training samples")
    g = a.add_mutually_exclusive_group(required=True)
    g.add_argument("--s", type=float, help="budget: weights kept in the deployed model")
    g.add_argument("--alpha", type=float, help="instead of --s: fraction of weights kept, in (0, 1]")
    a.add_argument("--ridge", type=float, default=0.0, help="ridge penalty r (>= 0; default 0)")
    a.add_argument("--kappa-max", type=float, default=None,
                   help="features available, as P/n (default max(5 s/n, 3) with --s, 10 with --alpha)")
    a.add_argument("--num", type=int, default=120, help="points of the kappa sweep (default 120)")
    a.add_argument("--json", action="store_true", help="print the advice as JSON")
    a.add_argument("--map", metavar="PATH.png", help="also draw the (kappa, alpha) phase map to this PNG")
    a.set_defaults(func=_advise)


def _figure(args: argparse.Namespace) -> int:
    from ..figures import make_figure
    results = make_figure(args.name, quick=args.quick, out_dir=args.out_dir, workers=args.workers,
                          progress=args.progress)
    for r in results:
        print(f"{r.name}: wrote {r.png} and {r.sidecar} ({r.elapsed:.0f} s)")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from ..validation import run_validation
    rep = run_validation(quick=args.quick, out_dir=args.out_dir, workers=args.workers, progress=args.progress)
    print(rep.summary())
    print(f"wrote {rep.report_path} and {rep.plot_path} ({rep.elapsed:.0f} s)")
    if not rep.passed:
        print(f"dcpredict validate: {len(rep.failures)} comparison(s) failed", file=sys.stderr)
        return 1
    return 0


def _advise(args: argparse.Namespace) -> int:
    from ..advisor import advise
    adv = advise(law_from_args(args), sigma2=args.sigma2, n=args.n, s=args.s, alpha=args.alpha, ridge=args.ridge,
                 kappa_max=args.kappa_max, num=args.num)
    path = None
    if args.map:
        path = adv.phase_map(args.map).path
    if args.json:
        d = adv.to_dict()
        if path is not None:
            d["map"] = str(path)
        write_text(dumps(d) + "\n", None)
    else:
        text = adv.summary()
        if path is not None:
            text += f"\nphase map: {path}"
        write_text(text + "\n", None)
    return 0
