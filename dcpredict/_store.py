"""Files that dcpredict writes: the simulator's trial log and the ``--out`` of the command line.

The rule (the developers' guide: never change or delete a file dcpredict did not write):

* ``--out`` goes to a **new** file, or to a file that is recognisably dcpredict's own; anything
  else is refused with :class:`~dcpredict.DCPredictError` and left byte-for-byte untouched.
* A symlink is followed to its target, which is written (the link stays a link).
* Special files (character devices such as ``/dev/null``, pipes) are written in place (opened for
  writing, never replaced by a regular file) where that makes sense (``curve --out``), else refused
  (a trial log must be a regular file: it is read back on resume).
* Errors while writing (``ENOSPC`` on ``/dev/full``, a read-only directory) become one-line
  :class:`~dcpredict.DCPredictError` messages.

Trial log (``simulate --out FILE.jsonl``): one JSON object per line and finished (kappa, alpha,
trial), with exactly the keys kappa, alpha, trial, seed, n, p, s, the risk fields, ``run``
(the fingerprint of the arguments that determine the numbers, the number of trials excluded, so
that a rerun with more trials extends the log) and ``check`` (a checksum of the record's content and
its run: a record edited or corrupted after it was written is reported by line, never averaged in).  The arguments are kept readable in the sidecar
``FILE.jsonl.args.json``.  An existing log is recognised only if *every* complete line is such a
record; only then is a torn last line (a run killed mid-write) cut off.  Every record is
validated on resume (keys, types, checksum, finite numbers, every risk no smaller than the noise
level sigma2 of the run, the point's p and s); a bad one is refused naming its line and the problem.

Runs sharing a log are serialized by an exclusive lock on the log file, taken before anything is
written (a new log is created with O_EXCL and locked before its sidecar is written); a run that is
refused (the lock is held, the file is foreign, the arguments differ) changes nothing.
"""
from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import stat
import tempfile
from typing import Any, Callable

import numpy as np

from ._validate import DCPredictError

__all__ = ["TrialLog", "write_output", "resolve", "SIDECAR_SUFFIX"]

HEADER_KEY = "dcpredict_simulate"
#: version 2: the fingerprint no longer includes the number of trials (a rerun with more trials extends the log);
#: version 3: every record carries ``check``, a checksum of its own content and the run (an edit is detected)
HEADER_VERSION = 3
SIDECAR_SUFFIX = ".args.json"
_INT_KEYS = ("trial", "seed", "n", "p", "s")


def _err(exc: OSError) -> str:
    return exc.strerror or str(exc)


def resolve(path: str | os.PathLike) -> str:
    """The file a write to ``path`` must reach: symlinks followed (also dangling ones)."""
    return os.path.realpath(os.fspath(path))


def _kind(path: str) -> str:
    """'missing', 'regular', 'special' (char/block device, fifo) or 'other' (directory, socket)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        raise DCPredictError(f"--out {path!r} cannot be examined: {_err(exc)}") from None
    if stat.S_ISREG(st.st_mode):
        return "regular"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return "special"
    return "other"


def _read_all(path: str, limit: int = 1 << 30) -> bytes:
    try:
        size = os.path.getsize(path)
        if size > limit:
            raise DCPredictError(f"--out {path!r} exists and is too large ({size} bytes) to be a dcpredict output; "
                                 "choose a new file")
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise DCPredictError(f"--out {path!r} exists and cannot be read: {_err(exc)}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        k = os.write(fd, view)
        view = view[k:]


def _atomic_replace(target: str, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to a unique temporary file next to ``target`` and rename it onto ``target``."""
    directory = os.path.dirname(target) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".dcpredict-tmp", dir=directory)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o644 if mode is None else mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_output(text: str, out: str | os.PathLike, recognise: Callable[[bytes], bool], what: str) -> None:
    """Write ``text`` to the user's ``--out``.

    A new file (or the missing target of a symlink) is created atomically (temporary file + rename
    in the same directory); an existing regular file is replaced only if ``recognise(content)``
    says it is dcpredict's own output (else DCPredictError, file untouched); a character device
    or a pipe is written in place; anything else is refused.  ``what`` describes the accepted
    files in the refusal message.
    """
    given = os.fspath(out)
    target = resolve(given)
    kind = _kind(target)
    shown = given if os.path.abspath(given) == target else f"{given} (-> {target})"
    data = text.encode()
    if kind == "other":
        raise DCPredictError(f"--out {shown!r} is a directory or socket; give a file name")
    try:
        if kind == "special":
            try:
                fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno == errno.ENXIO:
                    raise DCPredictError(f"--out {shown!r} is a pipe with no reader") from None
                raise
            try:
                os.set_blocking(fd, True)
                _write_all(fd, data)
            finally:
                os.close(fd)
            return
        mode = None
        if kind == "regular":
            content = _read_all(target)
            if not recognise(content):
                raise DCPredictError(f"--out {shown!r} exists and is not {what}; dcpredict replaces only its own "
                                     "output files: choose a new file name (the file was left unchanged)")
            mode = stat.S_IMODE(os.stat(target).st_mode)
        _atomic_replace(target, data, mode=mode)
    except OSError as exc:
        raise DCPredictError(f"--out {shown!r} cannot be written: {_err(exc)}") from None


# --------------------------------------------------------------------------- trial log
def record_check(rec: dict) -> str:
    """The checksum of a trial record: sha256 of its canonical JSON (every key but ``check``; ``run`` included)."""
    body = {k: v for k, v in rec.items() if k != "check"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _short(v: Any) -> str:
    text = json.dumps(v)
    return text if len(text) <= 60 else text[:57] + "..."


class TrialLog:
    """Append-only JSONL file of finished trials (resume support); see the module docstring.

    Parameters
    ----------
    path : str
        The user's ``--out`` (a symlink is followed).
    header : dict
        JSON-safe arguments that determine the numbers (fingerprinted; not the number of trials).
    fields : tuple of str
        The risk fields of a record, in order.
    points : dict (kappa, alpha) -> (p, s)
        The sweep's points with their sizes; a record of another point is refused.
    seed, n : int
        Checked in every record.
    unchecked : tuple of str
        Fields of ``fields`` that are not risks (counts, timings, settings, codes): only their finiteness is
        checked, not the noise-level floor.
    """

    def __init__(self, path: str | os.PathLike, header: dict, *, fields: tuple[str, ...],
                 points: dict[tuple[float, float], tuple[int, int]], seed: int, n: int,
                 unchecked: tuple[str, ...] = ()) -> None:
        self.given = os.fspath(path)
        self.path = resolve(self.given)
        self.header = json.loads(json.dumps(header))
        canonical = json.dumps({HEADER_KEY: HEADER_VERSION, **self.header}, sort_keys=True)
        self.run = hashlib.sha256(canonical.encode()).hexdigest()[:16]
        self.sidecar = resolve(self.path + SIDECAR_SUFFIX)
        self.fields = tuple(fields)
        self.unchecked = frozenset(unchecked)
        self.keys = frozenset(("kappa", "alpha", *_INT_KEYS, *self.fields, "run", "check"))
        sigma2 = self.header.get("sigma2", 0.0)
        self.noise = float(sigma2) if isinstance(sigma2, (int, float)) and not isinstance(sigma2, bool) else 0.0
        self.points = dict(points)
        self.seed, self.n = int(seed), int(n)
        self._fd: int | None = None

    # ------------------------------------------------------------------ helpers
    def _name(self) -> str:
        return self.given if os.path.abspath(self.given) == self.path else f"{self.given} (-> {self.path})"

    def _refuse(self, why: str) -> DCPredictError:
        return DCPredictError(f"--out {self._name()!r} {why}; the file was left unchanged")

    def _sidecar_state(self) -> tuple[str, dict | None]:
        """('missing'|'ours'|'foreign', content) of the sidecar FILE.args.json."""
        kind = _kind(self.sidecar)
        if kind == "missing":
            return "missing", None
        if kind != "regular":
            return "foreign", None
        try:
            with open(self.sidecar, "rb") as fh:
                obj = json.loads(fh.read(1 << 20))
        except (OSError, ValueError):
            return "foreign", None
        if isinstance(obj, dict) and obj.get(HEADER_KEY) is not None:
            return "ours", obj
        return "foreign", None

    def _write_sidecar(self) -> None:
        data = json.dumps({HEADER_KEY: HEADER_VERSION, "run": self.run, **self.header}, indent=1).encode()
        try:
            _atomic_replace(self.sidecar, data)
        except OSError as exc:
            raise DCPredictError(f"sidecar {self.sidecar!r} cannot be written: {_err(exc)}") from None

    def _mismatch(self, side: dict | None) -> DCPredictError:
        detail = ""
        if side is not None:
            old = {k: v for k, v in side.items() if k not in (HEADER_KEY, "run")}
            keys = sorted(set(old) | set(self.header))
            diff = [k for k in keys if old.get(k, "<missing>") != self.header.get(k, "<missing>")]
            if diff:
                detail = " (" + "; ".join(f"{k}: file has {_short(old.get(k))}, now {_short(self.header.get(k))}"
                                          for k in diff) + ")"
            elif side.get(HEADER_KEY) != HEADER_VERSION:
                detail = f" (written by trial-log version {side.get(HEADER_KEY)!r}, now {HEADER_VERSION})"
        return DCPredictError(f"out file {self._name()!r} was written with different arguments{detail}; "
                              "refusing to resume into it (use the same arguments or another --out; "
                              "the file was left unchanged)")

    # ------------------------------------------------------------------ open / load
    def open(self) -> dict[tuple[float, float, int], np.ndarray]:
        """Create the log or recognise and load it; return the stored trials ``{(kappa, alpha, trial): risks}``.

        Nothing is written to an existing file before every complete line has been recognised and
        validated (and the lock taken); only then is a torn last line cut off.
        """
        kind = _kind(self.path)
        if kind == "special" or kind == "other":
            raise self._refuse("is not a regular file (a trial log is read back on resume; give a file name)")
        side_state, side = self._sidecar_state()
        if side_state == "foreign":
            raise DCPredictError(f"sidecar {self.sidecar!r} exists and was not written by dcpredict; "
                                 "choose another --out (nothing was written)")
        if kind == "missing":
            try:  # the claim: only one run can create the log; it locks it before writing anything
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return self._open_existing()  # another run created it just now: its lock decides
            except OSError as exc:
                raise DCPredictError(f"out file {self._name()!r} cannot be created: {_err(exc)}") from None
            try:
                self._lock(fd, block=True)  # a run that opened it meanwhile only reads it and lets go
                self._write_sidecar()
            except BaseException:
                self.close()
                try:
                    os.unlink(self.path)  # the empty log this run created a moment ago
                except OSError:
                    pass
                raise
            return {}
        return self._open_existing()

    def _open_existing(self) -> dict[tuple[float, float, int], np.ndarray]:
        try:
            fd = os.open(self.path, os.O_RDWR)
        except OSError as exc:
            raise DCPredictError(f"out file {self._name()!r} cannot be opened: {_err(exc)}") from None
        try:
            self._lock(fd)
            # read the sidecar again under the lock (a run that held the lock may have just written it)
            side_state, side = self._sidecar_state()
            if side_state == "foreign":
                raise DCPredictError(f"sidecar {self.sidecar!r} exists and was not written by dcpredict; "
                                     "choose another --out (nothing was written)")
            done, keep = self._recognise(fd, side_state, side)
            if keep is not None:
                os.ftruncate(fd, keep)
            if side_state != "ours" or side.get("run") != self.run:
                self._write_sidecar()  # missing, or a stale sidecar of an earlier run whose log was replaced
            return done
        except BaseException:
            self.close()
            raise

    def _lock(self, fd: int, block: bool = False) -> None:
        self._fd = fd
        try:
            import fcntl
        except ImportError:  # pragma: no cover - non-POSIX
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except OSError:
            self.close()
            raise DCPredictError(f"out file {self._name()!r} is being written by another run (its lock is held); "
                                 "wait for it or choose another --out (nothing was written)") from None

    def _read(self, fd: int) -> bytes:
        size = os.fstat(fd).st_size
        if size > (1 << 34):
            raise self._refuse(f"is too large ({size} bytes) to be read back")
        chunks, got = [], 0
        while got < size:
            chunk = os.pread(fd, min(size - got, 1 << 26), got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _recognise(self, fd: int, side_state: str, side: dict | None):
        data = self._read(fd)
        end = data.rfind(b"\n") + 1
        body, tail = data[:end], data[end:]
        lines = body.split(b"\n")[:-1] if body else []
        if not lines:
            # empty, or only a torn first record: ours only if our sidecar says so
            ours = side_state == "ours" and side.get("run") == self.run
            if ours and (not tail or tail.startswith(b'{"kappa": ')):
                return {}, (0 if tail else None)
            if not data:
                raise self._refuse("exists and is empty, but it is not a trial log of this run (no matching "
                                   "sidecar); dcpredict writes only to a new file or to its own log")
            raise self._refuse("exists and is not a dcpredict trial log (it has no complete record line)")
        records = []
        runs = set()
        for lineno, raw in enumerate(lines, start=1):
            try:
                rec = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                rec = None
            if not isinstance(rec, dict) or not isinstance(rec.get("run"), str):
                raise self._refuse(f"is not a dcpredict trial log of this run (line {lineno} is not a trial record)")
            runs.add(rec["run"])
            records.append((lineno, rec))
        if runs != {self.run}:
            raise self._mismatch(side if side_state == "ours" else None)
        done: dict[tuple[float, float, int], np.ndarray] = {}
        for lineno, rec in records:
            key, vals = self._validate(lineno, rec)
            prev = done.get(key)
            if prev is not None and not np.array_equal(prev, vals):
                raise self._refuse(f"line {lineno} repeats trial {key} with other numbers")
            done[key] = vals
        return done, (end if tail else None)

    def _validate(self, lineno: int, rec: dict):
        def bad(why: str) -> DCPredictError:
            return self._refuse(f"line {lineno} is a corrupted trial record ({why})")

        keys = set(rec)
        if keys != self.keys:
            missing, extra = sorted(self.keys - keys), sorted(keys - self.keys)
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + \
                    ([f"unexpected {', '.join(extra)}"] if extra else [])
            raise bad("; ".join(parts))
        for k in _INT_KEYS:
            v = rec[k]
            if not isinstance(v, int) or isinstance(v, bool):
                raise bad(f"{k} must be an integer, got {_short(v)}")
        for k in ("kappa", "alpha", *self.fields):
            v = rec[k]
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise bad(f"{k} must be a finite number, got {_short(v)}")
        kappa, alpha, trial = float(rec["kappa"]), float(rec["alpha"]), rec["trial"]
        size = self.points.get((kappa, alpha))
        if size is None:
            raise bad(f"kappa={kappa!r} alpha={alpha!r} is not a point of this sweep")
        if trial < 0:
            raise bad(f"trial must be >= 0, got {trial}")
        if (rec["seed"], rec["n"], rec["p"], rec["s"]) != (self.seed, self.n, *size):
            raise bad(f"seed/n/p/s are {rec['seed']}/{rec['n']}/{rec['p']}/{rec['s']}, "
                      f"expected {self.seed}/{self.n}/{size[0]}/{size[1]}")
        self._check_ranges(rec, bad)
        if not isinstance(rec["check"], str) or rec["check"] != record_check(rec):
            raise self._refuse(f"line {lineno} was edited or corrupted after it was written (its checksum "
                               f"{_short(rec['check'])} does not match its content); it is not averaged in")
        return (kappa, alpha, trial), np.array([float(rec[f]) for f in self.fields])

    def _check_ranges(self, rec: dict, bad: Callable[[str], DCPredictError]) -> None:
        """A risk is a finite number no smaller than the run's noise level sigma2 (to rounding: a simulated risk
        is sigma2 plus a sum of squares, computed as a difference of sums); a ``*_support`` field is >= 0."""
        vals = [float(rec[f]) for f in self.fields]
        scale = max([abs(v) for v in vals] + [self.noise])
        for f, v in zip(self.fields, vals):
            if f in self.unchecked:
                continue
            if f.endswith("_support"):
                if v < 0.0:
                    raise bad(f"{f} must be >= 0, got {v!r}")
            elif v < self.noise - 1e-9 * scale:
                raise bad(f"{f} = {v!r} is below the noise level sigma2 = {self.noise!r}; a risk never is")

    # ------------------------------------------------------------------ append
    def write_trials(self, records: list[dict]) -> None:
        """Append finished trials (one line each, then fsync)."""
        lines = []
        for r in records:
            for f in self.fields:
                if not math.isfinite(r[f]):
                    raise DCPredictError(f"the simulation produced {f} = {r[f]!r} at kappa={r['kappa']!r} "
                                         f"alpha={r['alpha']!r} trial {r['trial']}: the problem is out of the range "
                                         "double precision can simulate (nothing was stored for it)")
            rec = json.loads(json.dumps({**r, "run": self.run}, allow_nan=False))
            rec["check"] = record_check(rec)
            lines.append(json.dumps(rec, allow_nan=False))
        try:
            os.lseek(self._fd, 0, os.SEEK_END)
            _write_all(self._fd, ("\n".join(lines) + "\n").encode())
            os.fsync(self._fd)
        except OSError as exc:
            raise DCPredictError(f"out file {self._name()!r} cannot be written: {_err(exc)}") from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# --------------------------------------------------------------------------- figures, maps and reports
#: the PNG metadata every dcpredict figure carries (``Software``), by which it is recognised
PNG_SOFTWARE = "dcpredict"


def _head(path: str, size: int = 8192) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def _ours(path: str, sidecar: str | None) -> bool:
    """Whether the existing regular file ``path`` is recognisably a dcpredict output: a PNG with dcpredict's
    Software metadata (or whose sidecar JSON is ours: figures written before the metadata existed), a JSON
    object naming a dcpredict figure kind or version, or a markdown report headed '# dcpredict'."""
    head = _head(path)
    if path.endswith(".png"):
        return (head.startswith(b"\x89PNG") and PNG_SOFTWARE.encode() in head) or (
            sidecar is not None and os.path.isfile(sidecar) and _ours(sidecar, None))
    if path.endswith(".json"):
        try:
            obj = json.loads(open(path, "rb").read().decode())
        except (ValueError, UnicodeDecodeError, OSError):
            return False
        return isinstance(obj, dict) and ("dcpredict_version" in obj or obj.get("kind") in ("world", "rf", "compress")
                                          or {"best", "baselines", "zero_model"} <= set(obj))  # advise --json
    if path.endswith(".md"):
        return head.startswith(b"# dcpredict")
    return False


def check_outputs(paths: list, what: str) -> None:
    """Refuse (DCPredictError, nothing written) unless every path is new or a regular file dcpredict wrote.

    For ``NAME.png`` the sidecar ``NAME.json`` next to it also vouches for it.  Called before a figure, a
    phase map or a validation report is computed, so a wrong ``--out-dir`` or ``--map`` costs nothing.
    """
    for given in paths:
        target = resolve(os.fspath(given))
        kind = _kind(target)
        if kind == "missing":
            continue
        side = target[:-4] + ".json" if target.endswith(".png") else None
        if kind != "regular" or not _ours(target, side):
            raise DCPredictError(f"{what} {os.fspath(given)!r} exists and is not a dcpredict output; dcpredict "
                                 "replaces only its own files: choose another path (the file was left unchanged)")
