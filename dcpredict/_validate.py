"""Argument checks shared by the whole package.

Every public function validates its inputs with these helpers, so that bad input raises
``ValueError`` whose message names the argument, the value received and what is allowed
(the CLI turns that message into one line on stderr and exit status 2).
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["DCPredictError", "check_real", "check_int", "check_array", "check_choice"]


class DCPredictError(ValueError):
    """dcpredict's one exception for bad input and uncertifiable requests.

    It is a :class:`ValueError`; its message names the argument, the value received and what is
    allowed.  The command line turns it (and only it, plus OS errors on the user's own paths) into
    one line on stderr and exit status 2; any other exception is a bug and shows its traceback.
    """


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_real(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False, allow_inf: bool = False) -> float:
    """Return ``value`` as a float, or raise ValueError naming ``name``, the value and the allowed range."""
    allowed = _interval(lo, hi, lo_open, hi_open)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        try:
            if isinstance(value, str):
                raise TypeError
            arr = np.asarray(value)
            if arr.ndim != 0 or arr.dtype.kind not in "iuf":
                raise TypeError
            value = arr.item()
        except (TypeError, ValueError):
            raise DCPredictError(f"{name} must be a real number {allowed}; got {_fmt(value)}") from None
    try:
        x = float(value)
    except OverflowError:  # an int beyond the double range
        raise DCPredictError(f"{name} must be a finite real number {allowed}; got {_fmt(value)}") from None
    if math.isnan(x) or (math.isinf(x) and not allow_inf):
        raise DCPredictError(f"{name} must be a finite real number {allowed}; got {_fmt(value)}")
    bad = ((lo is not None and (x <= lo if lo_open else x < lo))
           or (hi is not None and (x >= hi if hi_open else x > hi)))
    if bad:
        raise DCPredictError(f"{name} must be {allowed}; got {_fmt(value)}")
    return x


#: largest magnitude of an integer argument (int64)
INT_MAX = 2 ** 63 - 1


def check_int(name: str, value: Any, *, lo: int | None = None, hi: int | None = None) -> int:
    """Return ``value`` as an int (integral floats accepted), or raise ValueError."""
    allowed = _interval(lo, hi, False, False)
    if isinstance(value, (bool, np.bool_)):
        raise DCPredictError(f"{name} must be an integer {allowed}; got {_fmt(value)}")
    if isinstance(value, (numbers.Integral, np.integer)):
        x = int(value)
    elif isinstance(value, (numbers.Real, np.floating)) and math.isfinite(value) and float(value).is_integer():
        x = int(value)
    else:
        raise DCPredictError(f"{name} must be an integer {allowed}; got {_fmt(value)}")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise DCPredictError(f"{name} must be an integer {allowed}; got {_fmt(value)}")
    if abs(x) > INT_MAX:  # beyond what the compiled kernels (int64) and float64 sizes can hold
        raise DCPredictError(f"{name} must be an integer {allowed} of at most {INT_MAX} in magnitude; "
                             f"got {_fmt(value)}")
    return x


def check_array(name: str, value: Any, *, ndim: int = 1, lo: float | None = None, lo_open: bool = False,
                hi: float | None = None, hi_open: bool = False, min_size: int = 1) -> np.ndarray:
    """Return a finite float64 array (a copy) with every entry in the allowed range, or raise ValueError."""
    allowed = _interval(lo, hi, lo_open, hi_open)
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise DCPredictError(f"{name} must be an array of real numbers; got {_fmt(value)}") from None
    if ndim == 1 and arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != ndim:
        raise DCPredictError(f"{name} must be a {ndim}-dimensional array; got shape {arr.shape}")
    if arr.size < min_size:
        raise DCPredictError(f"{name} must have at least {min_size} entries; got {arr.size}")
    finite = np.isfinite(arr)
    if not finite.all():
        i = int(np.flatnonzero(~finite.ravel())[0])
        raise DCPredictError(f"{name} must contain only finite numbers; entry {i} is {float(arr.ravel()[i])!r}")
    flat = arr.ravel()
    if lo is not None:
        bad = flat <= lo if lo_open else flat < lo
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DCPredictError(f"{name} entries must be {allowed}; entry {i} is {float(flat[i])!r}")
    if hi is not None:
        bad = flat >= hi if hi_open else flat > hi
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DCPredictError(f"{name} entries must be {allowed}; entry {i} is {float(flat[i])!r}")
    return arr


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise DCPredictError(f"{name} must be one of {', '.join(map(repr, choices))}; got {_fmt(value)}")
    return value


def _num(x) -> str:
    """A bound for a message: ints exactly (however large), floats with %g."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        x = int(x)
        if abs(x) < 10 ** 300:
            return f"{x:g}"
        digits = str(abs(x))
        return f"{'-' if x < 0 else ''}{digits[0]}{('.' + digits[1:4].rstrip('0')) if digits[1:4].strip('0') else ''}e+{len(digits) - 1:02d}"
    return f"{x:g}"


def _interval(lo, hi, lo_open, hi_open) -> str:
    if lo is None and hi is None:
        return "(any real)"
    if hi is None:
        return f"{'>' if lo_open else '>='} {_num(lo)}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {_num(hi)}"
    return f"in {'(' if lo_open else '['}{_num(lo)}, {_num(hi)}{')' if hi_open else ']'}"


def read_user_bytes(path: Any, what: str, file_limit: int, stream_limit: int, kind: str) -> tuple[str, bytes]:
    """The bytes of a user's file, bounded: a regular file up to ``file_limit`` bytes, a device or pipe only up
    to ``stream_limit`` (read in 1 MiB chunks, never one buffer of the limit).  Returns (the path as shown,
    the bytes); every problem is one DCPredictError naming ``what`` and the file (``kind``: what the file
    would have to be, e.g. "a law file")."""
    import os
    import stat
    try:
        shown = os.fspath(path)
    except TypeError:
        raise DCPredictError(f"{what} must be a path; got {type(path).__name__}") from None
    try:
        with open(shown, "rb") as fh:
            st = os.fstat(fh.fileno())
            regular = stat.S_ISREG(st.st_mode)
            limit = file_limit if regular else stream_limit
            if regular and st.st_size <= limit:
                data = fh.read()   # read() of a regular file allocates only its size
            else:
                chunks, got = [], 0
                while got < limit + 1:
                    chunk = fh.read(min(1 << 20, limit + 1 - got))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    got += len(chunk)
                data = b"".join(chunks)
    except OSError as exc:
        raise DCPredictError(f"{what} {shown!r} cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. an embedded NUL in the path
        raise DCPredictError(f"{what} {shown!r} cannot be read: {exc}") from None
    if len(data) > limit:
        raise DCPredictError(f"{what} {shown!r} is larger than {limit >> 20} MiB (or endless); it is not {kind}")
    return shown, data
