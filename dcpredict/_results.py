"""The one contract every public result object follows.

Every result is a frozen dataclass that carries its inputs and offers

- ``summary()``: a readable table (statsmodels-style);
- ``to_dict()``: plain JSON-ready values (floats, ints, strings, lists, dicts; a divergent risk is the float
  ``inf``, which :mod:`json` writes as ``Infinity``), the inputs included, no key used twice;
- ``to_dataframe()``: a :class:`pandas.DataFrame` (pandas is imported only here, when asked for);
- a concise ``repr``;
- ``save(path, overwrite=False)`` / ``Class.load(path)``: a lossless JSON round trip (every field, arrays
  with their dtype and shape, nested results and laws), written to a new file (``overwrite=True`` replaces
  only a file ``save`` wrote);
- ``_repr_html_()``: a compact table in Jupyter;
- ``plot(ax=None, **kw)``: the matplotlib Axes of the result's natural plot (curves, grids, simulations
  with error bars, advice, phase maps), where one makes sense.

:class:`Result` implements the generic parts; a result class defines ``to_dict`` and ``summary`` and, when
its natural table is not one row of ``to_dict()``, ``_records()``; a result that can be drawn defines
``_plot(ax, **kw)`` (draw into the given Axes; :meth:`Result.plot` makes the Axes and returns it).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._validate import DCPredictError, read_user_bytes

__all__ = ["Result", "load_result", "encode", "decode", "fmt"]

_FORMAT = "dcpredict-result"
_REGISTRY: dict[str, type] = {}


def fmt(x: float, digits: int = 6) -> str:
    """A number for a table: ``inf`` for a divergent risk, else ``digits`` significant digits."""
    if isinstance(x, (float, np.floating)) and not math.isfinite(float(x)):
        return "inf" if x > 0 else "-inf"
    return f"{float(x):.{digits}g}"


def _scalar(x: Any) -> Any:
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def encode(obj: Any) -> Any:
    """A lossless JSON-ready form of a result, a law, an array or a plain value."""
    from .law import Law
    if isinstance(obj, Law):
        return {"__law__": obj.to_dict(), "description": obj.description}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        name = type(obj).__name__
        return {"__result__": name,
                "fields": {f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype), "shape": list(obj.shape)}
    if isinstance(obj, dict):
        return {"__dict__": [[encode(k), encode(v)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v) for v in obj]}
    if isinstance(obj, list):
        return [encode(v) for v in obj]
    return _scalar(obj)


def decode(data: Any) -> Any:
    """Inverse of :func:`encode`, verified: a malformed encoding raises only :class:`DCPredictError`."""
    return _decode(data, 0)


#: deepest nesting of an encoding (a result holds a few levels; a deeper file is not dcpredict's)
_MAX_DEPTH = 64
#: dtypes an encoded array may have
_DTYPES = ("float64", "float32", "int64", "int32", "int8", "int16", "uint8", "uint16", "uint32", "uint64", "bool")
#: largest saved result read (bytes): a regular file, and a device or pipe (read only up to this)
MAX_RESULT_FILE = 4 << 30
MAX_STREAM = 64 << 20
#: fields that are test risks: a finite number no smaller than the noise level sigma2, or a true inf
RISK_NAMES = frozenset(("dense", "magnitude", "hessian", "random", "oracle_pruned", "small_oracle",
                        "magnitude_retrained", "hessian_retrained", "random_retrained", "magnitude_retrained_same",
                        "hessian_retrained_same", "random_retrained_same", "small_random", "small_top_variance",
                        "zero_model", "risk", "unquantized", "risk_at_zero", "one_shot_pruned", "one_shot_retrained",
                        "retrained", "pruned", "best_risk", "gamma2"))
#: fields that are >= 0 (or inf) wherever they appear: sizes, ratios, roots, penalties, noise levels
NONNEG_NAMES = frozenset(("kappa", "alpha", "ridge", "tau", "sigma2", "n", "p", "s", "P", "trials", "bits", "step",
                          "kappa_S", "sigma2_S", "tau_S", "support_fraction", "kept_mass", "threshold_magnitude",
                          "threshold_hessian", "model_sigma2", "tol", "risk_spread", "quad_error"))
#: result types whose risk fields are exact theory values (simulated averages are checked for finiteness only)
_THEORY_TYPES = frozenset(("DC", "RetrainedProblem", "Prediction", "PredictionGrid", "QuantizedPrediction",
                           "IterativePrediction", "RoundResult", "OptimalRidge", "WorldPrediction", "WorldCurve",
                           "Advice", "Lemma1Risks"))


class _Bad(Exception):
    """A malformed encoding (turned into one DCPredictError naming the file by load_result)."""


def _decode(data: Any, depth: int) -> Any:
    from .law import Law
    if depth > _MAX_DEPTH:
        raise _Bad(f"nested more than {_MAX_DEPTH} levels deep")
    if isinstance(data, list):
        return [_decode(v, depth + 1) for v in data]
    if isinstance(data, float) and math.isnan(data):
        raise _Bad("holds a nan (dcpredict never writes one)")
    if isinstance(data, int) and not isinstance(data, bool) and abs(data) > 2 ** 63:
        raise _Bad(f"holds the integer {str(data)[:30]}..., beyond what a dcpredict result holds")
    if not isinstance(data, dict):
        return data
    tags = [k for k in ("__law__", "__ndarray__", "__tuple__", "__dict__", "__result__") if k in data]
    if len(tags) != 1:
        raise _Bad("a JSON object without exactly one type tag (__law__, __ndarray__, __tuple__, __dict__, __result__)")
    tag = tags[0]
    if tag == "__law__":
        d = data["__law__"]
        desc = data.get("description", "atoms")
        if not isinstance(d, dict) or not isinstance(desc, str) or set(data) - {"__law__", "description"}:
            raise _Bad("a law that is not {\"__law__\": {...}, \"description\": \"...\"}")
        try:
            if "gaussian_b" in d:  # a GaussianLaw (its nodes in Lambda and variances of B)
                law = Law.from_dict(d)
                law.description = desc
                return law
            if set(d) != {"lam", "b", "weights"}:
                raise _Bad(f"a law with keys {sorted(map(str, d))[:6]} (expected lam, b, weights or gaussian_b)")
            return Law(d["lam"], d["b"], d["weights"], description=desc)
        except DCPredictError as exc:
            raise _Bad(f"a law that is not valid: {exc}") from None
    if tag == "__ndarray__":
        values, dtype, shape = data["__ndarray__"], data.get("dtype"), data.get("shape")
        if set(data) != {"__ndarray__", "dtype", "shape"} or not isinstance(values, list):
            raise _Bad("an array that is not {\"__ndarray__\": [...], \"dtype\", \"shape\"}")
        if dtype not in _DTYPES:
            raise _Bad(f"an array of dtype {str(dtype)[:30]!r} (allowed: {', '.join(_DTYPES)})")
        if (not isinstance(shape, list) or len(shape) > 8
                or not all(isinstance(k, int) and not isinstance(k, bool) and 0 <= k <= 2 ** 40 for k in shape)):
            raise _Bad(f"an array with shape {str(shape)[:40]} (a list of at most 8 sizes >= 0)")
        if not _numbers_only(values, 0):
            raise _Bad("an array whose values are not all numbers (a string, null, object or nesting deeper than 8)")
        try:
            arr = np.array(values, dtype=dtype)
        except (TypeError, ValueError, OverflowError, RecursionError):
            raise _Bad(f"an array whose values are not all {dtype} numbers") from None
        if arr.size != math.prod(shape) or (arr.ndim > 1 and arr.shape != tuple(shape)):
            raise _Bad(f"an array of {arr.size} values with shape {shape}")
        if arr.dtype.kind == "f" and np.isnan(arr).any():
            raise _Bad("an array holding nan (dcpredict never writes one)")
        return arr.reshape(shape)
    if tag == "__tuple__":
        if set(data) != {"__tuple__"} or not isinstance(data["__tuple__"], list):
            raise _Bad("a tuple that is not {\"__tuple__\": [...]}")
        return tuple(_decode(v, depth + 1) for v in data["__tuple__"])
    if tag == "__dict__":
        items = data["__dict__"]
        if set(data) != {"__dict__"} or not isinstance(items, list) or not all(
                isinstance(it, list) and len(it) == 2 for it in items):
            raise _Bad("a dict that is not {\"__dict__\": [[key, value], ...]}")
        out = {}
        for k, v in items:
            key = _decode(k, depth + 1)
            try:
                hash(key)
            except TypeError:
                raise _Bad(f"a dict with the unhashable key {str(k)[:40]}") from None
            out[key] = _decode(v, depth + 1)
        return out
    name = data["__result__"]
    fields = data.get("fields")
    if not isinstance(name, str) or set(data) != {"__result__", "fields"} or not isinstance(fields, dict):
        raise _Bad("a result that is not {\"__result__\": NAME, \"fields\": {...}}")
    cls = _REGISTRY.get(name)
    if cls is None:
        raise DCPredictError(f"result type {name[:60]!r} is not a dcpredict result (known: {', '.join(sorted(_REGISTRY))})")
    if dataclasses.is_dataclass(cls):
        declared = {f.name: f for f in dataclasses.fields(cls)}
        required = {n for n, f in declared.items()
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing, extra = sorted(required - set(fields)), sorted(set(fields) - set(declared))
        if missing or extra:
            raise _Bad(f"a {name} with " + "; ".join(
                ([f"missing fields {', '.join(missing)}"] if missing else [])
                + ([f"unknown fields {', '.join(map(str, extra))[:80]}"] if extra else [])))
    values = {k: _decode(v, depth + 1) for k, v in fields.items()}
    if dataclasses.is_dataclass(cls):
        for k, v in values.items():
            _check_field(name, k, str(declared[k].type), v)
    try:
        obj = cls(**values)
    except DCPredictError as exc:
        raise _Bad(f"a {name} that is not valid: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any failure of a malformed object is the file's, not a bug
        raise _Bad(f"a {name} that cannot be rebuilt ({type(exc).__name__}: {str(exc)[:80]})") from None
    return obj


def _numbers_only(values: Any, depth: int) -> bool:
    """Every leaf of a nested list is a JSON number (bools only where the dtype is bool, checked by numpy)."""
    if depth > 8:
        return False
    if isinstance(values, list):
        return all(_numbers_only(v, depth + 1) for v in values)
    return isinstance(values, (int, float))


def _check_field(cls_name: str, key: str, annotation: str, v: Any) -> None:
    """The type of a field from its annotation (float, int, str, bool, Law, arrays; Optional forms)."""
    from .law import Law
    ann = annotation.replace(" ", "")
    optional = ann.endswith("|None") or ann.startswith("None|")
    base = ann.replace("|None", "").replace("None|", "")
    where = f"field {key!r} of a {cls_name}"
    if v is None:
        if optional or base == "Any":
            return
        raise _Bad(f"{where} is null")
    if base == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _Bad(f"{where} must be a number; got {type(v).__name__}")
        if isinstance(v, int) and abs(v) > 2 ** 1023:
            raise _Bad(f"{where} is {str(v)[:20]}..., beyond the double range")
    elif base == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            raise _Bad(f"{where} must be an integer; got {type(v).__name__} {str(v)[:20]}")
    elif base == "str":
        if not isinstance(v, str):
            raise _Bad(f"{where} must be a string; got {type(v).__name__}")
    elif base == "bool":
        if not isinstance(v, bool):
            raise _Bad(f"{where} must be true or false; got {type(v).__name__}")
    elif base == "Law":
        if not isinstance(v, Law):
            raise _Bad(f"{where} must be a law; got {type(v).__name__}")
    elif base == "np.ndarray":
        if not isinstance(v, np.ndarray):
            raise _Bad(f"{where} must be an array; got {type(v).__name__}")
    elif base.startswith("tuple"):
        if not isinstance(v, tuple):
            raise _Bad(f"{where} must be a tuple; got {type(v).__name__}")
    elif base.startswith("dict"):
        if not isinstance(v, dict):
            raise _Bad(f"{where} must be a dict; got {type(v).__name__}")
    elif base.startswith("list"):
        if not isinstance(v, list):
            raise _Bad(f"{where} must be a list; got {type(v).__name__}")
    elif base in _REGISTRY:
        if not isinstance(v, _REGISTRY[base]):
            raise _Bad(f"{where} must be a {base}; got {type(v).__name__}")


def _check_risks(obj: Any, path_text: str, noise: float | None = None) -> None:
    """Every risk field of a theory result (and of the results nested in it) is a finite number no smaller than
    the noise level sigma2 (to rounding), or +inf; nothing anywhere is nan."""
    name = type(obj).__name__
    if not dataclasses.is_dataclass(obj):
        return
    own = getattr(obj, "sigma2", None)
    if isinstance(own, (int, float)) and not isinstance(own, bool):
        if not (math.isfinite(own) and own >= 0.0):
            raise _Bad(f"field 'sigma2' of a {name} is {own!r}; a noise level is a finite number >= 0")
        noise = float(own)
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v):
            _check_risks(v, path_text, noise if name != "Prediction" or f.name != "retrained" else None)
            continue
        if isinstance(v, (tuple, list)):
            for x in v:
                if dataclasses.is_dataclass(x):
                    _check_risks(x, path_text, noise)
        if isinstance(v, dict):
            for x in v.values():
                if dataclasses.is_dataclass(x):
                    _check_risks(x, path_text, None)  # e.g. a refit problem has its own noise level
        if f.name in NONNEG_NAMES and isinstance(v, (int, float, np.ndarray)) and not isinstance(v, bool):
            arr = np.atleast_1d(np.asarray(v, dtype=np.float64))
            if (np.isnan(arr) | (arr < 0.0)).any():
                x = float(arr[np.flatnonzero(np.isnan(arr) | (arr < 0.0))[0]])
                raise _Bad(f"field {f.name!r} of a {name} is {x!r}; it is a number >= 0")
        if f.name not in RISK_NAMES or name not in _THEORY_TYPES:
            continue
        vals = np.atleast_1d(np.asarray(v, dtype=np.float64)) if isinstance(v, (int, float, np.ndarray)) \
            and not isinstance(v, bool) else None
        if vals is None:
            continue
        lo = (noise or 0.0) * (1.0 - 1e-9)
        bad = ~((np.isfinite(vals) & (vals >= lo)) | (vals == np.inf))
        if bad.any():
            x = float(vals[np.flatnonzero(bad)[0]])
            raise _Bad(f"field {f.name!r} of a {name} is {x!r}; a risk is a finite number no smaller than the noise "
                       f"level sigma2 = {noise or 0.0!r}, or inf")


def load_result(path: str | Path) -> Any:
    """Read a result written by ``save``, verified (schema, types, ranges); anything else raises only
    :class:`DCPredictError` naming the file and the problem."""
    shown, raw = read_user_bytes(path, "path", MAX_RESULT_FILE, MAX_STREAM, "a saved dcpredict result")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DCPredictError(f"path {shown!r} is not a saved dcpredict result (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DCPredictError(f"path {shown!r} is not JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise DCPredictError(f"path {shown!r} is not a saved dcpredict result (JSON nested too deeply)") from None
    except ValueError as exc:
        raise DCPredictError(f"path {shown!r} is not JSON: {str(exc)[:100]}") from None
    if not isinstance(data, dict) or data.get("format") != _FORMAT or "result" not in data:
        raise DCPredictError(f"path {shown!r} is not a saved dcpredict result (no \"format\": \"{_FORMAT}\")")
    try:
        obj = _decode(data["result"], 0)
        _check_risks(obj, shown)
        # the object must serve its whole contract: a corrupted one is refused now, not when used later
        if isinstance(obj, Result):
            json.dumps(obj.to_dict(), allow_nan=True, default=_scalar_or_str)
            obj.summary()
            repr(obj)
    except _Bad as exc:
        raise DCPredictError(f"path {shown!r} is a corrupted dcpredict result: {str(exc)[:300]}") from None
    except DCPredictError as exc:
        raise DCPredictError(f"path {shown!r} is a corrupted dcpredict result: {str(exc)[:300]}") from None
    except RecursionError:
        raise DCPredictError(f"path {shown!r} is a corrupted dcpredict result (nested too deeply)") from None
    except Exception as exc:  # noqa: BLE001 - a malformed object failing its own methods: the file's fault
        raise DCPredictError(f"path {shown!r} is a corrupted dcpredict result ({type(exc).__name__} when it is "
                             f"used: {str(exc)[:120]})") from None
    return obj


def _scalar_or_str(x: Any) -> Any:
    if isinstance(x, (np.generic,)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"{type(x).__name__} is not JSON-ready")


class Result:
    """Mixin of the shared result contract (see the module docstring)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    # subclasses define these two
    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def summary(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _records(self) -> list[dict[str, Any]]:
        """Rows of :meth:`to_dataframe`; default: one row of the scalar entries of ``to_dict()``."""
        return [{k: v for k, v in self.to_dict().items() if not isinstance(v, (dict, list))}]

    def to_dataframe(self):
        """The result as a :class:`pandas.DataFrame` (one row per record); inputs also in ``df.attrs``."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is a declared dependency of the extras
            raise DCPredictError("to_dataframe needs pandas: pip install 'dcpredict[data]'") from None
        df = pd.DataFrame(self._records())
        df.attrs.update({k: v for k, v in self.to_dict().items() if isinstance(v, (dict, list, str))})
        return df

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the whole result (lossless JSON) to ``path``; returns the path.

        Parameters
        ----------
        path : str or Path
            The file to write.
        overwrite : bool
            False (default): ``path`` must not exist.  True: an existing file is replaced (atomically) only
            if it is a result written by ``save`` (a JSON file with ``"format": "dcpredict-result"``); any
            other file is refused and left unchanged, so re-running a notebook cell works and a foreign file
            is never lost.
        """
        path = Path(path)
        text = json.dumps({"format": _FORMAT, "result": encode(self)}, allow_nan=True)
        if overwrite and path.exists():
            from ._store import _atomic_replace
            if not _is_saved_result(path):
                raise DCPredictError(f"path {str(path)!r} exists and is not a saved dcpredict result; save replaces "
                                     "only its own files (the file was left unchanged)")
            try:
                _atomic_replace(os.path.realpath(path), text.encode())
            except OSError as exc:
                raise DCPredictError(f"path {str(path)!r} cannot be written: {exc.strerror}") from None
            return path
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise DCPredictError(f"path {str(path)!r} exists; save writes only new files unless overwrite=True "
                                 "(which replaces only a saved dcpredict result)") from None
        except OSError as exc:
            raise DCPredictError(f"path {str(path)!r} cannot be written: {exc.strerror}") from None
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        return path

    @classmethod
    def load(cls, path: str | Path):
        """Read a result written by :meth:`save` (it must be of this class)."""
        obj = load_result(path)
        if not isinstance(obj, cls):
            raise DCPredictError(f"path {str(path)!r} holds a {type(obj).__name__}, not a {cls.__name__}")
        return obj

    # ------------------------------------------------------------------ notebook display and plotting
    def _repr_html_(self) -> str:
        """A compact HTML table for Jupyter: the scalar inputs and outputs, then the records (at most
        ``_HTML_ROWS`` rows: the first and the last ones).  Numbers as in :meth:`summary` (``inf`` for a
        divergent risk)."""
        return _html_table(self)

    def _plot(self, ax, **kwargs: Any) -> None:
        """Draw the result into the matplotlib Axes ``ax`` (subclasses that can be plotted define this)."""
        raise DCPredictError(f"{type(self).__name__} has no plot; its numbers are in to_dict() and to_dataframe()")

    def plot(self, ax=None, **kwargs: Any):
        """Draw the result and return the matplotlib :class:`~matplotlib.axes.Axes`.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; default: a new figure (``matplotlib.pyplot.subplots``).
        **kwargs
            Options of the result's own plot (see the class's ``_plot`` docstring), e.g. ``fields``.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn into (``ax.figure`` is the figure).

        Notes
        -----
        matplotlib is imported only here.  A result without a natural plot raises
        :class:`~dcpredict.DCPredictError`.
        """
        if type(self)._plot is Result._plot:
            return self._plot(None)  # raises the one-line error
        if ax is None:
            try:
                import matplotlib.pyplot as plt
            except ImportError:  # pragma: no cover - matplotlib is a dependency
                raise DCPredictError("plot needs matplotlib: pip install matplotlib") from None
            _, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
        self._plot(ax, **kwargs)
        return ax

    def __str__(self) -> str:
        return self.summary()


#: rows of the records table shown by ``_repr_html_`` (the first and last halves)
_HTML_ROWS = 12
#: scalar entries of the header table shown by ``_repr_html_``
_HTML_SCALARS = 24


def _is_saved_result(path: Path) -> bool:
    """Whether ``path`` holds a JSON file written by :meth:`Result.save` (read at most 1 GiB)."""
    try:
        if path.stat().st_size > (1 << 30) or not path.is_file():
            return False
        data = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and data.get("format") == _FORMAT and "result" in data


def _cell(v: Any) -> str:
    import html
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return fmt(v, 6)
    if v is None:
        return "&mdash;"
    text = str(v)
    if len(text) > 60:
        text = text[:57] + "..."
    return html.escape(text)


def _html_table(res: "Result") -> str:
    import html
    title = html.escape(type(res).__name__)
    d = res.to_dict()
    scalars = [(k, v) for k, v in d.items() if v is None or isinstance(v, (str, bool, int, float, np.generic))]
    law = getattr(res, "law", None)
    head = [f"<b>{title}</b>"]
    if law is not None:
        head.append(f"<br><span style='font-size:smaller'>law: {html.escape(repr(law))}</span>")
    parts = ["<div class='dcpredict-result'>", "".join(head)]
    if scalars:
        shown = scalars[:_HTML_SCALARS]
        parts.append("<table><tr>" + "".join(f"<th>{html.escape(str(k))}</th>" for k, _ in shown) + "</tr><tr>"
                     + "".join(f"<td>{_cell(v)}</td>" for _, v in shown) + "</tr></table>")
    try:
        records = res._records()
    except NotImplementedError:  # pragma: no cover - every result defines to_dict
        records = []
    # the default records are the scalar row above: show a second table only when it adds something
    if records and not (len(records) == 1 and set(records[0]) <= {k for k, _ in scalars}):
        cols = list(records[0])
        n = len(records)
        if n > _HTML_ROWS:
            half = _HTML_ROWS // 2
            rows, skipped = records[:half] + [None] + records[-half:], n - 2 * half
        else:
            rows, skipped = records, 0
        body = []
        for r in rows:
            if r is None:
                body.append(f"<tr><td colspan='{len(cols)}' style='text-align:center'>&hellip; {skipped} more rows "
                            "&hellip;</td></tr>")
            else:
                body.append("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in cols) + "</tr>")
        parts.append("<table><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in cols) + "</tr>"
                     + "".join(body) + f"</table><span style='font-size:smaller'>{n} rows; all of them: "
                     "to_dataframe()</span>")
    parts.append("</div>")
    return "".join(parts)


# ------------------------------------------------------------------------------ drawing helpers of plot()
#: colours of the fields plotting.COLORS does not name
_EXTRA_COLORS = {"random_retrained": "tab:olive", "small_random": "tab:pink", "small_top_variance": "tab:brown",
                 "zero_model": "0.5", "hessian_retrained_same": "darkorange", "random_retrained_same": "olive"}


def style(field: str) -> dict[str, Any]:
    """Colour, label and marker of a risk field (those of the paper figures, :mod:`dcpredict.plotting`)."""
    from .plotting import COLORS, LABELS, MARKERS
    return {"color": COLORS.get(field, _EXTRA_COLORS.get(field)), "label": LABELS.get(field, field.replace("_", " ")),
            "marker": MARKERS.get(field, "o")}


def finite_or_nan(y: Any) -> np.ndarray:
    """A float array with every non-finite value (a divergent risk) replaced by nan: a gap in a line."""
    y = np.array(y, dtype=float, copy=True).reshape(-1)
    y[~np.isfinite(y)] = np.nan
    return y


def plot_lines(ax, x: Any, lines: dict[str, Any], *, dashed: dict[str, Any] | None = None, logx: bool = False,
               logy: bool = False, suffix: str = "", color: Any = None) -> None:
    """One line per field of ``lines`` against ``x`` (inf: a gap), ``dashed`` ones dashed; legend.
    ``color``: one colour for every line (then the fields differ by line style)."""
    x = np.asarray(x, dtype=float)
    styles = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
    for i, (f, y) in enumerate(lines.items()):
        st = style(f)
        ls = (":" if f.endswith("_retrained") else "-") if color is None else styles[i % len(styles)]
        ax.plot(x, finite_or_nan(y), ls=ls, color=st["color"] if color is None else color,
                label=st["label"] + suffix, lw=1.6)
    for f, y in (dashed or {}).items():
        st = style(f)
        ax.plot(x, finite_or_nan(np.broadcast_to(np.asarray(y, dtype=float), x.shape)), ls="--",
                color=st["color"], label=st["label"] + suffix, lw=1.2)
    _scales(ax, logx, logy)
    ax.grid(alpha=0.25, lw=0.5)
    ax.legend(fontsize=7.5, frameon=False)


def plot_errorbars(ax, x: Any, means: dict[str, Any], stderrs: dict[str, Any], *, logx: bool = False,
                   logy: bool = False, suffix: str = ", simulation (mean ± 1 se)") -> None:
    """Markers at the means with ±1 standard-error bars (caps) per field; non-finite points skipped."""
    x = np.asarray(x, dtype=float)
    for f in means:
        st = style(f)
        m, se = finite_or_nan(means[f]), finite_or_nan(stderrs[f])
        ax.errorbar(x, m, yerr=se, fmt=st["marker"], color=st["color"], ms=4, mfc="white", capsize=3, lw=1.0,
                    label=st["label"] + suffix)
    _scales(ax, logx, logy)
    ax.grid(alpha=0.25, lw=0.5)
    ax.legend(fontsize=7.5, frameon=False)


def _scales(ax, logx: bool, logy: bool) -> None:
    """Log axes with plain tick labels (1, 2, 5 x 10^k), as the paper figures."""
    from .plotting import _log_ticks
    ax.relim()
    for on, axis in ((logx, "x"), (logy, "y")):
        if not on:
            continue
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        lim = ax.dataLim.intervalx if axis == "x" else ax.dataLim.intervaly
        lo, hi = float(min(lim)), float(max(lim))
        if math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi:
            _log_ticks(ax, axis, lo, hi)


def plot_categories(ax, means: dict[str, float], stderrs: dict[str, float] | None = None, *,
                    ylabel: str = "test risk", title: str = "", theory: bool = False) -> None:
    """One marker per field at its value (with ±1 standard-error bars where ``stderrs`` is given), the fields
    on the x axis in the order given; a non-finite value is left out.  ``theory``: a wide horizontal tick per
    field (so a simulation's markers drawn on the same Axes stay visible on it)."""
    xs = np.arange(len(means), dtype=float)
    for x, (f, m) in zip(xs, means.items()):
        st = style(f)
        se = None if stderrs is None else stderrs.get(f)
        m = float(m)
        if not math.isfinite(m):
            continue
        if theory:
            ax.plot([x], [m], marker="_", ms=22, mew=2.2, ls="none", color=st["color"], label=st["label"] + ", theory")
            continue
        ax.errorbar([x], [m], yerr=None if se is None else [float(se)], fmt=st["marker"], color=st["color"], ms=5,
                    mfc="white", capsize=4, lw=1.2, label=st["label"])
    ax.set_xticks(xs, [f.replace("_", " ") for f in means], rotation=40, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.25, lw=0.5, axis="y")
