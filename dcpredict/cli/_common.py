"""Argument helpers shared by the subcommand modules (laws, number lists, output)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .._validate import DCPredictError


def float_list(name: str, text: str) -> list[float]:
    """Parse a comma list of numbers; ValueError names the option."""
    items = [t.strip() for t in str(text).split(",")]
    if not items or any(t == "" for t in items):
        raise DCPredictError(f"{name} must be a comma-separated list of numbers; got {text!r}")
    out = []
    for t in items:
        try:
            out.append(float(t))
        except ValueError:
            raise DCPredictError(f"{name} must be a comma-separated list of numbers; {t!r} is not a number") from None
    return out


def float_grid(name: str, text: str) -> list[float]:
    """A comma list ``0.5,1,2``, a linear range ``START:STOP:NUM`` or a geometric range ``log:START:STOP:NUM``."""
    import numpy as np
    parts = str(text).split(":")
    if len(parts) == 1:
        return float_list(name, text)
    geometric = parts[0].strip().lower() == "log"
    if geometric:
        parts = parts[1:]
    allowed = f"{name} must be a comma list, START:STOP:NUM or log:START:STOP:NUM"
    if len(parts) != 3:
        raise DCPredictError(f"{allowed}; got {text!r}")
    try:
        start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise DCPredictError(f"{allowed}; got {text!r}") from None
    if num < 1 or num > 100_000:
        raise DCPredictError(f"{name}: NUM must be in [1, 100000]; got {num}")
    if geometric:
        if start <= 0 or stop <= 0:
            raise DCPredictError(f"{name}: a log range needs START and STOP > 0; got {text!r}")
        return np.geomspace(start, stop, num).tolist()
    return np.linspace(start, stop, num).tolist()


def ridge_arg(text: Any) -> float | str:
    """argparse type of ``--ridge``: a number >= 0 (checked by the API) or ``optimal`` (each rule at its own
    best ridge)."""
    if isinstance(text, (int, float)):
        return float(text)
    if str(text).strip().lower() == "optimal":
        return "optimal"
    try:
        return float(text)
    except ValueError:  # an argparse type: its message becomes the one-line usage error
        raise argparse.ArgumentTypeError(f"must be a number >= 0 or 'optimal'; got {text!r}") from None


RIDGE_HELP = ("ridge penalty r >= 0 (default 0: min-norm/OLS), or 'optimal': every rule at the ridge that "
              "minimizes its own predicted risk (global over r >= 0, r = 0 included)")


def add_law_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("law of (Lambda, B)")
    g.add_argument("--lam", help="feature variances of the atoms: a comma list (e.g. 4,1,1,0.25) or a file "
                                 ".npy/.txt/.csv (one value per feature of a finite instance)")
    g.add_argument("--b", help="true weights B of the atoms (scaled: B_i = sqrt(p) beta_i), comma list or file")
    g.add_argument("--weights", help="atom probabilities, comma list or file, summing to 1 (default: equal)")
    g.add_argument("--beta", help="the ACTUAL weight vector of a finite instance (comma list or file), scaled by "
                                  "sqrt(p) here: with --lam (one variance per feature) or with --covariance")
    g.add_argument("--covariance", metavar="FILE",
                   help="the feature covariance of a finite instance, a square matrix in a .npy/.txt/.csv file; "
                        "needs --beta (actual weights); the law's features are its eigen-directions")
    g.add_argument("--law", metavar="FILE.json",
                   help="law from a JSON file: {lam, b, weights} or {power_law: {...}} or {uniform: {...}}")


def law_from_args(args: argparse.Namespace, *, spectrum: bool = False):
    """The law of --lam/--b/--weights, --lam/--beta, --covariance/--beta or --law; a :class:`ScalingWarning`
    becomes one line 'dcpredict CMD: warning: ...' on stderr.  ``spectrum``: --lam/--b list the features of a
    finite instance (``Law.empirical``, no --weights)."""
    cached = getattr(args, "_law", None)
    if cached is not None:  # built once per command (a covariance costs an eigendecomposition)
        return cached
    import warnings
    from ..law import Law, ScalingWarning
    from ._arrays import matrix_arg, vector_arg
    beta, cov = getattr(args, "beta", None), getattr(args, "covariance", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScalingWarning)
        if args.law is not None:
            if any(v is not None for v in (args.lam, args.b, args.weights, beta, cov)):
                raise DCPredictError("--law cannot be combined with --lam/--b/--weights/--beta/--covariance")
            law = Law.from_json(args.law)
        elif cov is not None:
            if beta is None or args.lam is not None or args.b is not None or args.weights is not None:
                raise DCPredictError("--covariance takes --beta (the actual weights) only, not --lam/--b/--weights")
            law = Law.from_covariance(matrix_arg("--covariance", cov), vector_arg("--beta", beta))
        elif beta is not None:
            if args.lam is None or args.b is not None or args.weights is not None:
                raise DCPredictError("--beta (the actual weights of a finite instance) needs --lam (one variance "
                                     "per feature) and excludes --b and --weights")
            law = Law.from_beta(vector_arg("--lam", args.lam), vector_arg("--beta", beta))
        else:
            if args.lam is None or args.b is None:
                raise DCPredictError("give the law as --lam and --b (and optionally --weights), --lam and --beta, "
                                     "--covariance and --beta, or --law FILE.json")
            if spectrum:
                if args.weights is not None:
                    raise DCPredictError("--spectrum takes --lam and --b only (one value per feature of the world), "
                                         "not --weights or --law")
                law = Law.empirical(vector_arg("--lam", args.lam), vector_arg("--b", args.b))
            else:
                weights = None if args.weights is None else vector_arg("--weights", args.weights)
                law = Law(vector_arg("--lam", args.lam), vector_arg("--b", args.b), weights)
    for w in caught:
        if issubclass(w.category, ScalingWarning):
            from ..law import looks_unscaled
            sys.stderr.write(f"dcpredict {getattr(args, 'command', '')}: warning: --b looks like the actual weights "
                             f"beta, not B = sqrt(P) beta: {looks_unscaled(law.lam, law.b)}; if it is the actual "
                             "weight vector, give it as --beta (scaled by sqrt(P) here)\n")
        else:  # pragma: no cover - re-issue anything else unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    args._law = law
    return law


def instance_world_size(args: argparse.Namespace) -> None:
    """A finite instance (--beta, --covariance) used in the fixed world (--p/--s) is a world of its own features:
    --world-size defaults to their number (the rank of a covariance)."""
    if (is_finite_instance(args) and getattr(args, "world_size", None) is None
            and (getattr(args, "p", None) is not None or getattr(args, "s", None) is not None)):
        args.world_size = str(law_from_args(args).n_atoms)


def is_finite_instance(args: argparse.Namespace) -> bool:
    """--beta or --covariance: an instance of P features, P = the length of the vectors (its empirical law)."""
    return getattr(args, "beta", None) is not None or getattr(args, "covariance", None) is not None


#: how ``--out`` recognises a file dcpredict wrote (stated in the option help of ``curve --out``)
OUT_RULE = ("an existing file is replaced only if it is a dcpredict curve output: a CSV whose first line starts "
            "with 'kappa,alpha,tau,gamma2,' ('p,kappa,alpha,' for the fixed world, 'kappa,alpha,dense,ridge_dense,' "
            "for --ridge optimal) and whose other lines are numbers, or a JSON list of objects with those keys; "
            "otherwise the command refuses and leaves the file unchanged. "
            "A symlink is followed; /dev/stdout, /dev/null or a pipe are written in place")
_CURVE_HEAD = ("kappa", "alpha", "tau", "gamma2")


#: first columns of the other curve outputs: the fixed-world curve, and the --ridge optimal curve
WORLD_HEAD = ("p", "kappa", "alpha")
TUNED_HEAD = ("kappa", "alpha", "dense", "ridge_dense")


def is_curve_output(content: bytes, heads: tuple[tuple[str, ...], ...] = (_CURVE_HEAD,)) -> bool:
    """Whether ``content`` is a file ``dcpredict curve`` wrote (CSV or JSON; see OUT_RULE): a CSV whose first
    columns are one of ``heads`` and whose other lines are numbers, or a JSON list of objects with those keys."""
    import re
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if text.startswith("["):
        try:
            obj = json.loads(text)
        except ValueError:
            return False
        return (isinstance(obj, list) and len(obj) > 0 and any(
            all(isinstance(r, dict) and all(k in r for k in head) for r in obj) for head in heads))
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return False
    cols = lines[0].split(",")
    if (not any(tuple(cols[:len(head)]) == head for head in heads)
            or not all(re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in cols)):
        return False
    for line in lines[1:]:
        cells = line.split(",")
        if len(cells) != len(cols):
            return False
        try:
            [float(c) for c in cells]
        except ValueError:
            return False
    return True


def is_any_curve_output(content: bytes) -> bool:
    """A file ``dcpredict curve`` wrote in any of its modes: (kappa, alpha), fixed world, or --ridge optimal."""
    return is_curve_output(content, (_CURVE_HEAD, WORLD_HEAD, TUNED_HEAD))


def write_text(text: str, out: str | None, *, recognise=is_curve_output,
               what: str = "a dcpredict curve output (CSV or JSON)") -> None:
    """Write to --out or stdout.

    --out: a new file is created atomically; an existing regular file is replaced (atomically)
    only if ``recognise`` says dcpredict wrote it, else DCPredictError and the file is untouched;
    a symlink is followed to its target; a device or pipe is written in place (see
    :func:`dcpredict._store.write_output`).
    """
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from .._store import write_output
    write_output(text, out, recognise, what)


def strict(obj: Any) -> Any:
    """``obj`` with every non-finite float made strict-JSON safe: ``inf`` -> the string ``"inf"``, ``-inf`` ->
    ``"-inf"`` (a divergent risk; ``float("inf")`` reads it back), nan -> ``null``; numpy scalars and arrays
    become plain numbers and lists."""
    import math

    import numpy as np
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return strict(obj.tolist())
    return obj


def dumps(obj: Any) -> str:
    """Strict JSON (RFC 8259) for every ``--json`` output: no ``Infinity``/``NaN`` tokens.

    A divergent (infinite) risk is written as the string ``"inf"`` (``-inf`` as ``"-inf"``; ``float(value)``
    reads either back); a value that does not exist is ``null``.  See :func:`strict`.
    """
    return json.dumps(strict(obj), indent=None, allow_nan=False)


# --------------------------------------------------------------------------- checks before any work
#: API argument names and the command-line flag that sets each (refusals name the flag the user typed)
FLAG_OF = {"P": "--world-size", "p": "--p", "s": "--s", "n": "--n", "kappa": "--kappa", "alpha": "--alpha",
           "kappas": "--kappa", "alphas": "--alpha", "sigma2": "--sigma2", "ridge": "--ridge", "bits": "--bits",
           "step": "--step", "rounds": "--rounds", "rule": "--rule", "trials": "--trials", "seed": "--seed",
           "workers": "--workers", "order": "--order", "tol": "--tol", "lam": "--lam", "b": "--b",
           "weights": "--weights", "scheduler": "--scheduler", "rules": "--rules"}
#: formats an image output (--map) may have: the one dcpredict writes and recognises again (PNG)
IMAGE_FORMATS = (".png",)


def cli_message(exc: BaseException, args: argparse.Namespace | None = None) -> str:
    """The one line of a refusal, with an API argument name replaced by the flag the user gave for it
    (``P must be ...`` becomes ``--world-size must be ...``)."""
    import re
    text = " ".join(str(exc).split("\n")).strip() or type(exc).__name__
    m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)(?: and ([A-Za-z_][A-Za-z0-9_]*))?( must | entries | = )", text)
    if m and args is not None:
        names = [g for g in (m.group(1), m.group(2)) if g]

        def flag(name: str) -> str:
            f = FLAG_OF.get(name)
            if f is None:
                return name
            dest = f[2:].replace("-", "_")
            given = getattr(args, dest, None) is not None
            if not given or (dest in ("lam", "b", "weights") and getattr(args, "law", None) is not None):
                return name
            return f
        text = " and ".join(flag(n) for n in names) + text[m.end(len(names)):]
    return text


def precheck(args: argparse.Namespace) -> None:
    """Checks of the command line that cost nothing, done before any work: a Dask address the command line can
    use, and every output path (its format, its directory, and a file there that dcpredict did not write)."""
    import os
    sched = getattr(args, "scheduler", None)
    if isinstance(sched, str) and sched.strip().startswith("inproc://"):
        raise DCPredictError(f"--scheduler {sched!r} names a scheduler inside this process, and the command line "
                             "starts none: give tcp://HOST:PORT of a running dask scheduler")
    outputs = []
    m = getattr(args, "map", None)
    if isinstance(m, str):
        if os.path.splitext(m)[1].lower() not in IMAGE_FORMATS:
            raise DCPredictError(f"--map {m!r} must be a {'/'.join(IMAGE_FORMATS)} file (the phase map is drawn "
                                 "as PNG)")
        outputs.append(("--map", m))
    out = getattr(args, "out", None)
    if isinstance(out, str) and getattr(args, "command", None) == "curve":
        outputs.append(("--out", out))
    for flag, path in outputs:
        from .._store import resolve
        target = resolve(path)
        parent = os.path.dirname(target) or "."
        if not os.path.isdir(parent):
            raise DCPredictError(f"{flag} {path!r}: directory {parent!r} does not exist (nothing was computed)")
        if flag == "--map":
            from .._store import check_outputs
            check_outputs([path], "--map")
        elif os.path.isfile(target):
            from .._store import _read_all
            if not is_any_curve_output(_read_all(target)):
                raise DCPredictError(f"--out {path!r} exists and is not a dcpredict curve output (CSV or JSON); "
                                     "dcpredict replaces only its own output files: choose a new file name (the "
                                     "file was left unchanged, nothing was computed)")


class one_line_warnings:
    """Warnings during a command are printed as one line each, ``dcpredict CMD: warning: message``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __enter__(self):
        import warnings
        self._old = warnings.showwarning
        cmd = self.command

        def show(message, category, filename, lineno, file=None, line=None):
            print(f"dcpredict {cmd}: warning: {' '.join(str(message).split())}", file=file or sys.stderr)

        warnings.showwarning = show
        return self

    def __exit__(self, *exc) -> None:
        import warnings
        warnings.showwarning = self._old
