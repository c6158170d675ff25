"""Command-line interface: a thin shell over the public API.

Each subcommand lives in its own module of this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func(args) -> int``.  Heavy imports (numba kernels, matplotlib,
dask) happen inside ``func`` so that ``dcpredict --help`` and the first call stay fast.
A :class:`~dcpredict.DCPredictError` from the API (bad input, an uncertifiable request), an
argparse usage error, and an OS error on one of the user's own paths (``--out``, ``--law``,
``--out-dir``) become one line on stderr and exit status 2; any other exception is a bug and shows
its traceback.  A negative number after an option that takes a value (``--b -1.5,0.7``) is read
as that option's value.
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

# subcommand modules, in the order they appear in --help
_COMMANDS = ("theory", "simulate", "figures", "compress", "data", "nn", "explore")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2, and takes no abbreviations
    (``--sigma 0.2`` is refused with a suggestion, never read as ``--sigma2``)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # pragma: no cover - exercised through main
        m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if m and "did you mean" not in message:
            message += _suggest(m.group(1), re.findall(r"'([^']*)'", m.group(2)))
        self.exit(2, f"{self.prog}: error: {message}\n")


def _suggest(word: str, choices) -> str:
    """'; did you mean X?' (or 'X or Y') for the closest of ``choices``, else ''."""
    import difflib
    close = difflib.get_close_matches(word, list(choices), n=2, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.startswith(word) or word.startswith(c)][:2]
    return f"; did you mean {' or '.join(close)}?" if close else ""


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def check_words(argv: list[str], parser: argparse.ArgumentParser) -> None:
    """Refuse an unknown subcommand or option (exit 2, one line) with a "did you mean" suggestion.

    Runs before argparse, so an unknown option is named even when a required one is missing; the
    options of the subcommand given are the candidates.  Tokens after ``--`` are not examined.
    """
    target, names = parser, []
    subs = _subparsers(parser)
    for tok in argv:
        if tok == "--":
            break
        if not tok.startswith("-"):
            if subs:   # the (sub)command name at this level
                if tok not in subs:
                    what = "command" if target is parser else f"subcommand of dcpredict {' '.join(names)}"
                    target.error(f"unknown {what} {tok!r} (choose from {', '.join(subs)}){_suggest(tok, subs)}")
                names.append(tok)
                target = subs[tok]
                subs = _subparsers(target)
            continue
        if not tok.startswith("--"):
            continue
        opt = tok.split("=", 1)[0]
        known = {o for a in target._actions for o in a.option_strings}
        if opt not in known:
            where = " ".join(["dcpredict", *names])
            target.error(f"unrecognized option {opt!r} for {where}{_suggest(opt, sorted(known))}")


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


#: a value that argparse would mistake for an option: a number (list/range) starting with '-'
_NEGATIVE = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)


def _value_options(parser: argparse.ArgumentParser) -> set[str]:
    """Long option strings (of the parser and its subparsers) that take one value."""
    opts: set[str] = set()
    stack = [parser]
    while stack:
        p = stack.pop()
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
            elif action.option_strings and action.nargs is None:
                opts.update(o for o in action.option_strings if o.startswith("--"))
    return opts


def join_negative_values(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``[--b, -1.5,0.7]`` -> ``[--b=-1.5,0.7]`` for every option that takes a value.

    argparse reads a token that starts with '-' and is not a plain negative number as an
    option, so ``--b -1.5,0.7`` would be "expected one argument".  Abbreviations of an
    option are not accepted (``allow_abbrev=False``).  Tokens after ``--`` are left alone.
    """
    opts = _value_options(parser)
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            out.extend(argv[i:])
            break
        if (tok.startswith("--") and "=" not in tok and i + 1 < len(argv) and _NEGATIVE.match(argv[i + 1])
                and tok in opts):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def _user_paths(args: argparse.Namespace) -> set[str]:
    paths = set()
    for name in ("out", "law", "out_dir"):
        value = getattr(args, name, None)
        if isinstance(value, (str, os.PathLike)):
            value = os.fspath(value)
            paths.update({value, os.path.abspath(value), os.path.realpath(value)})
    return paths


def _is_user_path_error(exc: OSError, args: argparse.Namespace) -> bool:
    paths = _user_paths(args)
    for name in (exc.filename, exc.filename2):
        if name is None:
            continue
        name = os.fspath(name)
        if name in paths or os.path.abspath(name) in paths:
            return True
        if any(os.path.abspath(name).startswith(os.path.abspath(p).rstrip(os.sep) + os.sep) for p in paths):
            return True  # a file inside the user's --out-dir
    return False


def main(argv: list[str] | None = None) -> int:
    from .._validate import DCPredictError
    parser = build_parser()
    argv = join_negative_values(list(sys.argv[1:] if argv is None else argv), parser)
    check_words(argv, parser)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    from ._common import cli_message, one_line_warnings, precheck
    try:
        with one_line_warnings(args.command):
            precheck(args)
            return int(args.func(args) or 0)
    except DCPredictError as exc:
        print(f"dcpredict {args.command}: error: {cli_message(exc, args)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dcpredict {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        if not _is_user_path_error(exc, args):
            raise
        where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
        print(f"dcpredict {args.command}: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n")).strip() or type(exc).__name__


def _version() -> str:
    from .. import __version__   # the one place the version is written (pyproject reads it from there)
    return f"dcpredict {__version__}"
