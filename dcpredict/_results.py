"""The one contract every public result object follows.

Every result is a frozen dataclass that carries its inputs and offers

- ``summary()``: a readable table (statsmodels-style);
- ``to_dict()``: plain JSON-ready values (floats, ints, strings, lists, dicts; a divergent risk is the float
  ``inf``, which :mod:`json` writes as ``Infinity``), the inputs included, no key used twice;
- ``to_dataframe()``: a :class:`pandas.DataFrame` (pandas is imported only here, when asked for);
- a concise ``repr``;
- ``save(path)`` / ``Class.load(path)``: a lossless JSON round trip (every field, arrays with their dtype
  and shape, nested results and laws), written only to a new file.

:class:`Result` implements the generic parts; a result class defines ``to_dict`` and ``summary`` and, when
its natural table is not one row of ``to_dict()``, ``_records()``.
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

    def save(self, path: str | Path) -> Path:
        """Write the whole result (lossless JSON) to a NEW file ``path``; an existing path is refused."""
        path = Path(path)
        text = json.dumps({"format": _FORMAT, "result": encode(self)}, allow_nan=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise DCPredictError(f"path {str(path)!r} exists; save writes only new files") from None
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

    def __str__(self) -> str:
        return self.summary()
