"""Argument helpers shared by the subcommand modules (laws, number lists, output)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def float_list(name: str, text: str) -> list[float]:
    """Parse a comma list of numbers; ValueError names the option."""
    items = [t.strip() for t in str(text).split(",")]
    if not items or any(t == "" for t in items):
        raise ValueError(f"{name} must be a comma-separated list of numbers; got {text!r}")
    out = []
    for t in items:
        try:
            out.append(float(t))
        except ValueError:
            raise ValueError(f"{name} must be a comma-separated list of numbers; {t!r} is not a number") from None
    return out


def add_law_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("law of (Lambda, B)")
    g.add_argument("--lam", help="feature variances of the atoms, comma list (e.g. 4,1,1,0.25)")
    g.add_argument("--b", help="true weights B of the atoms, comma list")
    g.add_argument("--weights", help="atom probabilities, comma list summing to 1 (default: equal)")
    g.add_argument("--law", metavar="FILE.json",
                   help="law from a JSON file: {lam, b, weights} or {power_law: {...}} or {uniform: {...}}")


def law_from_args(args: argparse.Namespace):
    from ..law import Law
    if args.law is not None:
        if args.lam is not None or args.b is not None or args.weights is not None:
            raise ValueError("--law cannot be combined with --lam/--b/--weights")
        return Law.from_json(args.law)
    if args.lam is None or args.b is None:
        raise ValueError("give the law as --lam and --b (and optionally --weights), or as --law FILE.json")
    weights = None if args.weights is None else float_list("--weights", args.weights)
    return Law(float_list("--lam", args.lam), float_list("--b", args.b), weights)


def write_text(text: str, out: str | None) -> None:
    """Write to --out (atomically) or stdout."""
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text)
        tmp.replace(path)
    except OSError as exc:
        raise ValueError(f"--out {out!r} cannot be written: {exc.strerror}") from None


def dumps(obj: Any) -> str:
    """JSON with inf/nan spelled as the strings 'inf'/'-inf' would break parsers; use null-free floats.

    Python's json writes Infinity for inf (accepted by Python, JavaScript-style parsers need care);
    we keep Python's convention and document it.
    """
    return json.dumps(obj, indent=None, allow_nan=True)
