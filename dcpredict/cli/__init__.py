"""Command-line interface: a thin shell over the public API.

Each subcommand lives in its own module of this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func(args) -> int``.  Heavy imports (numba kernels, matplotlib,
dask) happen inside ``func`` so that ``dcpredict --help`` and the first call stay fast.
Any ``ValueError`` from the API becomes one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# subcommand modules, in the order they appear in --help
_COMMANDS = ("theory", "simulate", "figures")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message: str) -> None:  # pragma: no cover - exercised through main
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dcpredict",
                     description="Test risk of pruned overparameterized least squares: theory (DC) and simulation.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # a subcommand module not present in this build
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        print(f"dcpredict {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dcpredict {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return f"dcpredict {version('dcpredict')}"
    except PackageNotFoundError:
        return "dcpredict (not installed)"
