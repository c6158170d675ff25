"""The fixed-world options shared by ``predict``, ``curve`` and ``simulate`` (theory page, the fixed world).

``--world-size P --p ... --s S [--order saliency|random]`` (with ``--n``) select the fixed-world model: a
world of P features, a model of the first p of them, pruned to s weights.  They exclude ``--kappa`` and
``--alpha`` (one line, exit 2 when mixed).  ``--p`` is one integer, a comma list ``200,400,600`` or an
evenly spaced range ``START:STOP:NUM`` (NUM integers from START to STOP, rounded, repeats dropped).
"""
from __future__ import annotations

import argparse

from .._validate import DCPredictError

WORLD_OPTIONS = ("--world-size", "--p", "--s", "--order")


def add_world_arguments(parser: argparse.ArgumentParser, *, p_help: str, n: bool = True) -> None:
    g = parser.add_argument_group(
        "fixed world (the paper's Figs. 3 and 7; excludes --kappa/--alpha)")
    g.add_argument("--world-size", dest="world_size", metavar="P", default=None,
                   help="number of features in the world, P >= 1; selects the fixed-world model")
    g.add_argument("--p", dest="p", metavar="P_MODEL", default=None, help=p_help)
    g.add_argument("--s", dest="s", metavar="S", default=None, help="weights kept after pruning, 1 <= s <= p")
    g.add_argument("--order", choices=("saliency", "random"), default=None,
                   help="which p features the model fits: the first by true saliency (default, the paper) or "
                        "features not chosen by saliency")
    if n:
        g.add_argument("--n", dest="n", metavar="N", default=None, help="training samples n")


def integer(name: str, text: str | None) -> int | None:
    """One integer (or None); a one-line DCPredictError naming the option otherwise."""
    if text is None:
        return None
    try:
        return int(str(text).strip())
    except ValueError:
        pass
    try:
        value = float(str(text).strip())
    except ValueError:
        raise DCPredictError(f"{name} must be an integer; got {text!r}") from None
    if not value.is_integer():
        raise DCPredictError(f"{name} must be an integer; got {text!r}")
    return int(value)


def int_grid(name: str, text: str) -> list[int]:
    """One integer, a comma list, or ``START:STOP:NUM`` (NUM evenly spaced integers, rounded, no repeats)."""
    import numpy as np
    parts = str(text).split(":")
    if len(parts) == 1:
        items = [t.strip() for t in str(text).split(",")]
        if any(t == "" for t in items):
            raise DCPredictError(f"{name} must be an integer, a comma list of integers or START:STOP:NUM; "
                                 f"got {text!r}")
        return [integer(name, t) for t in items]
    if len(parts) != 3:
        raise DCPredictError(f"{name} must be an integer, a comma list of integers or START:STOP:NUM; got {text!r}")
    start, stop, num = (integer(name, t) for t in parts)
    if num < 1 or num > 100_000:
        raise DCPredictError(f"{name}: NUM must be in [1, 100000]; got {num}")
    return [int(v) for v in dict.fromkeys(np.linspace(start, stop, num).round().astype(np.int64).tolist())]


def world_mode(args: argparse.Namespace, *, old: tuple[str, ...] = ("--kappa", "--alpha")) -> bool:
    """True for the fixed-world model; refuses a mix of world and --kappa/--alpha options (one line)."""
    given_world = [o for o in WORLD_OPTIONS if getattr(args, o[2:].replace("-", "_")) is not None]
    given_old = [o for o in old if getattr(args, o[2:]) is not None]
    if given_world and given_old:
        raise DCPredictError(f"{'/'.join(given_world)} (the fixed world) cannot be combined with "
                             f"{'/'.join(given_old)}: give either --world-size P --p ... --s S or "
                             f"{' and '.join(old)}")
    if given_world:
        if args.world_size is None:
            raise DCPredictError(f"{'/'.join(given_world)} need --world-size P (the number of features in the world)")
        return True
    return False


def require(args: argparse.Namespace, *names: str) -> None:
    missing = [n for n in names if getattr(args, n[2:].replace("-", "_")) is None]
    if missing:
        raise DCPredictError(f"the fixed world needs {', '.join(missing)}")
