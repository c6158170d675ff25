"""Bounds on what a request may cost, checked before any work starts.

A request that cannot fit on this machine is refused with one :class:`~dcpredict.DCPredictError`
line giving the estimate and the limit, instead of growing memory for minutes and dying with a
MemoryError traceback (or the kernel's OOM killer).  The estimates are deliberately simple
upper-bound style counts of the float64 arrays a computation holds at its peak; the limit is a
fraction of the memory this process can still obtain (``MemAvailable``, capped by a cgroup
limit when there is one).

Also here: the check of a Dask scheduler address (format, then a TCP connection with a short
timeout) and :func:`hidden_main`, which lets spawn workers start without re-importing the
caller's ``__main__`` script.
"""
from __future__ import annotations

import contextlib
import math
import os
import re
import socket
import sys
import threading
from typing import Sequence

from ._validate import DCPredictError

__all__ = ["available_memory", "memory_limit", "check_memory", "fmt_bytes", "simulation_bytes",
           "check_simulation", "check_scheduler", "hidden_main", "MEMORY_FRACTION", "MAX_FEATURES"]

#: fraction of the available memory a request may plan to use
MEMORY_FRACTION = 0.8
#: largest number of features p (or samples n) of a simulated instance: beyond it indices and
#: float64 sums of that many terms are no longer trustworthy, whatever the memory
MAX_FEATURES = 2 ** 31
#: an environment variable to lower (never raise) the memory limit, in bytes (used by the tests)
LIMIT_ENV = "DCPREDICT_MEMORY_LIMIT"


def fmt_bytes(n: float) -> str:
    if not math.isfinite(n):
        return "infinitely many bytes"
    for unit, size in (("EiB", 2 ** 60), ("PiB", 2 ** 50), ("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20),
                       ("KiB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def _meminfo_available() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room() -> float | None:
    """Bytes left under a cgroup v2/v1 memory limit, if one applies."""
    for limit_path, usage_path in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_path) as fh:
                text = fh.read().strip()
            if text == "max":
                return None
            limit = float(text)
            if limit >= 2 ** 60:
                return None
            with open(usage_path) as fh:
                usage = float(fh.read().strip())
            return max(limit - usage, 0.0)
        except (OSError, ValueError):
            continue
    return None


def available_memory() -> float:
    """Bytes this process can still allocate without swapping (best estimate)."""
    avail = _meminfo_available()
    if avail is None:
        try:
            import psutil
            avail = float(psutil.virtual_memory().available)
        except Exception:  # pragma: no cover - no psutil and no /proc
            try:
                avail = float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
            except (ValueError, OSError, AttributeError):
                avail = float(2 ** 33)
    room = _cgroup_room()
    if room is not None:
        avail = min(avail, room)
    room = _rlimit_room()
    if room is not None:
        avail = min(avail, room)
    return avail


def _rlimit_room() -> float | None:
    """Address space left under ``ulimit -v`` (RLIMIT_AS), if one is set."""
    try:
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return None
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    try:
        with open("/proc/self/statm") as fh:
            used = float(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        used = 0.0
    return max(float(soft) - used, 0.0)


def memory_limit() -> float:
    """The most a request may plan to use: MEMORY_FRACTION of the available memory (or less, by LIMIT_ENV)."""
    limit = MEMORY_FRACTION * available_memory()
    env = os.environ.get(LIMIT_ENV)
    if env:
        try:
            limit = min(limit, float(env))
        except ValueError:
            pass
    return limit


def check_memory(what: str, nbytes: float, *, detail: str = "") -> None:
    """Raise DCPredictError if ``nbytes`` (an estimate) exceeds :func:`memory_limit`."""
    limit = memory_limit()
    if not (nbytes <= limit):
        raise DCPredictError(
            f"{what} needs about {fmt_bytes(nbytes)} of memory{detail}, more than the limit of {fmt_bytes(limit)} "
            f"({MEMORY_FRACTION:.0%} of the memory available on this machine); reduce the size of the request")


# --------------------------------------------------------------------------- the simulator
def _unit_bytes(n: float, p: float, s_max: float) -> float:
    """Peak float64 bytes of one (kappa, trial) unit of the linear simulator (dcpredict.simulation.run_unit).

    The design X (n x p) and a copy for a least-squares fallback, the Gram matrix of the dense fit
    and its factor (min(n, p)^2 each), per alpha the kept columns X[:, S] and a fresh design (n x s)
    with their Gram matrices, and O(n + p) vectors.
    """
    m, ms = min(n, p), min(n, s_max)
    return 8.0 * (2 * n * p + 2 * m * m + 4 * n * s_max + 2 * ms * ms + 16 * (n + p))


def simulation_bytes(kappas: Sequence[float], alphas: Sequence[float], n: int, trials: int, workers: int,
                     n_fields: int) -> tuple[float, float, float]:
    """(peak per unit, units in flight, results) in bytes for a sweep of the linear simulator."""
    unit = 0.0
    for k in kappas:
        p = math.floor(k * n + 0.5)
        s_max = max(math.floor(a * p + 0.5) for a in alphas)
        unit = max(unit, _unit_bytes(float(n), float(p), float(s_max)) + 40.0 * p)
    # per point: the (trials, fields) float64 array and a filled flag per trial
    results = float(len(kappas) * len(alphas)) * float(trials) * (8.0 * n_fields + 1.0)
    return unit, float(max(1, workers)), results


def check_simulation(kappas: Sequence[float], alphas: Sequence[float], *, n: int, trials: int, workers: int,
                     n_fields: int) -> None:
    """Refuse a sweep whose instance is too large or whose memory cannot fit (one line: estimate and limit)."""
    if n > MAX_FEATURES:
        raise DCPredictError(f"n must be <= {MAX_FEATURES} (2^31) samples; got {n}")
    for k in kappas:
        p = k * n
        if not math.isfinite(p) or p + 0.5 > MAX_FEATURES:
            raise DCPredictError(f"kappa={k!r} with n={n} gives p = round(kappa n) = {p:.4g} features, more than "
                                 f"the {MAX_FEATURES} (2^31) the simulator supports")
    unit, inflight, results = simulation_bytes(kappas, alphas, n, trials, workers, n_fields)
    total = unit * inflight + results
    parts = []
    if unit * inflight > 0:
        parts.append(f"{fmt_bytes(unit)} per trial in each of {int(inflight)} worker(s)")
    parts.append(f"{fmt_bytes(results)} for the results of {len(kappas) * len(alphas)} point(s) x {trials} trials")
    check_memory("this simulation", total, detail=" (" + " + ".join(parts) + ")")


# --------------------------------------------------------------------------- Dask scheduler
_ADDRESS = re.compile(r"^(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):"
                      r"(?P<port>[0-9]{1,5})/?$")
#: seconds to wait for a TCP connection to the scheduler before refusing
CONNECT_TIMEOUT = 5.0


def check_scheduler(address: object) -> str:
    """Validate a Dask scheduler address and make sure something listens there (one TCP connect, 5 s).

    Accepted: ``tcp://HOST:PORT``, ``tls://HOST:PORT``, ``ws(s)://HOST:PORT`` or ``HOST:PORT``;
    ``inproc://...`` addresses are passed through.  Returns the address.
    """
    if not isinstance(address, str) or not address.strip():
        raise DCPredictError(f"scheduler must be an address such as 'tcp://127.0.0.1:8786'; got {address!r}")
    address = address.strip()
    if address.startswith("inproc://"):
        return address
    m = _ADDRESS.match(address)
    if m is None or (m.group("scheme") or "tcp") not in ("tcp", "tls", "ws", "wss"):
        raise DCPredictError(f"scheduler must be an address such as 'tcp://127.0.0.1:8786' "
                             f"(tcp://, tls://, ws://, wss:// or HOST:PORT); got {address!r}")
    port = int(m.group("port"))
    if not 1 <= port <= 65535:
        raise DCPredictError(f"scheduler port must be in [1, 65535]; got {port} in {address!r}")
    host = m.group("host").strip("[]")
    scheme = m.group("scheme") or "tcp"
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT) as sock:
            if scheme == "tcp":
                # a Dask server speaks first: its handshake message, prefixed by its length (uint64 LE)
                head = b""
                while len(head) < 8:
                    chunk = sock.recv(8 - len(head))
                    if not chunk:
                        break
                    head += chunk
                size = int.from_bytes(head, "little") if len(head) == 8 else -1
                if not 0 < size < (1 << 24):
                    raise DCPredictError(f"scheduler {address!r} accepts connections but does not answer as a "
                                         "Dask scheduler")
    except OSError as exc:
        why = "timed out" if isinstance(exc, (socket.timeout, TimeoutError)) else (exc.strerror or str(exc))
        raise DCPredictError(f"scheduler {address!r} cannot be reached ({why}; tried for at most "
                             f"{CONNECT_TIMEOUT:g} s)") from None
    return address


# --------------------------------------------------------------------------- spawn workers
_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def hidden_main(fn=None):
    """While starting spawn workers, hide ``__main__``'s file and module name from multiprocessing.

    multiprocessing's spawn start method re-imports the parent's main script in every worker
    (as ``__mp_main__``) so that functions defined there can be unpickled; a script without the
    ``if __name__ == "__main__":`` guard then runs again in every worker, starts its own pool and
    the pool breaks.  dcpredict's workers only run dcpredict functions, so the main script is not
    needed there: with ``__main__.__file__`` and ``__main__.__spec__`` hidden for the instant a
    worker is started, the workers start with a bare main module.  Nothing is hidden when ``fn``
    itself lives in ``__main__``.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(fn, "__module__", None) == "__main__":
        yield
        return
    with _MAIN_LOCK:
        missing = object()
        saved_file = main.__dict__.get("__file__", missing)
        saved_spec = main.__dict__.get("__spec__", missing)
        try:
            if saved_file is not missing:
                del main.__file__
            if saved_spec is not missing:
                main.__spec__ = None
            yield
        finally:
            if saved_file is not missing:
                main.__file__ = saved_file
            if saved_spec is not missing:
                main.__spec__ = saved_spec
