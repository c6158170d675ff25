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

from ._validate import DCPredictError

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
    """Inverse of :func:`encode`."""
    from .law import Law
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__law__" in data:
        d = data["__law__"]
        if "gaussian_b" in d:  # a GaussianLaw (its nodes in Lambda and variances of B)
            law = Law.from_dict(d)
            law.description = data.get("description", law.description)
            return law
        return Law(d["lam"], d["b"], d["weights"], description=data.get("description", "atoms"))
    if "__ndarray__" in data:
        arr = np.array(data["__ndarray__"], dtype=data["dtype"])
        return arr.reshape(data["shape"])
    if "__tuple__" in data:
        return tuple(decode(v) for v in data["__tuple__"])
    if "__dict__" in data:
        return {decode(k): decode(v) for k, v in data["__dict__"]}
    if "__result__" in data:
        name = data["__result__"]
        cls = _REGISTRY.get(name)
        if cls is None:
            raise DCPredictError(f"result type {name!r} is not a dcpredict result (known: {', '.join(sorted(_REGISTRY))})")
        return cls(**{k: decode(v) for k, v in data["fields"].items()})
    raise DCPredictError("not a dcpredict result encoding: a dict without a type tag")


def load_result(path: str | Path) -> Any:
    """Read a result written by ``save``."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise DCPredictError(f"path {str(path)!r} cannot be read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DCPredictError(f"path {str(path)!r} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise DCPredictError(f"path {str(path)!r} is not a saved dcpredict result (no \"format\": \"{_FORMAT}\")")
    return decode(data["result"])


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
