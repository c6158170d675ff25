"""The execution layer: BLAS threads, worker processes, the local process pool and the Dask runner.

Science modules (the simulators, the figures) hand this module a picklable task function and an iterable of
tasks; they get ``(task, result)`` pairs back, in completion order.  Every task runs with one BLAS thread
(results are then bit-identical whatever the number of workers), local workers are spawned processes that
exit with their parent (a killed sweep leaves nothing behind), at most ``4 * workers`` tasks are in flight
(memory does not grow with the number of tasks), and the caller's ``__main__`` is never re-imported by the
workers (:func:`dcpredict._limits.hidden_main`).
"""
from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
from typing import Any, Iterable

from ._validate import DCPredictError

__all__ = ["default_workers", "run_parallel", "run_dask"]


class _BlasThreads:
    """The BLAS thread count of every BLAS library loaded in this process (numpy's and scipy's), through
    :mod:`threadpoolctl`.  One controller is made, after scipy's BLAS is loaded, and reused."""

    def __init__(self) -> None:
        self._controller = None

    def _ctl(self):
        if self._controller is None:
            import scipy.linalg  # noqa: F401  (loads scipy's BLAS before the controller looks)
            from threadpoolctl import ThreadpoolController
            self._controller = ThreadpoolController()
        return self._controller

    def get(self) -> list[int]:
        return [int(c.num_threads) for c in self._ctl().select(user_api="blas").lib_controllers]

    def set(self, count: int | list[int]) -> None:
        """One count for every library, or one per library (as :meth:`get` returns them)."""
        libs = self._ctl().select(user_api="blas").lib_controllers
        counts = [count] * len(libs) if isinstance(count, int) else list(count)
        for c, n in zip(libs, counts):
            c.set_num_threads(int(n))

    @contextlib.contextmanager
    def limit(self, count: int = 1):
        before = self.get()
        if all(c == count for c in before):
            yield
            return
        self.set(count)
        try:
            yield
        finally:
            self.set(before)


_BLAS = _BlasThreads()


def _single_thread_blas() -> None:
    """One BLAS/OpenMP thread in this process (Dask workers; also used by the local initializer)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    _BLAS.set(1)


def _worker_init(parent_pid: int | None = None) -> None:
    """Initializer of local worker processes: one BLAS thread, and exit when the parent dies.

    A sweep killed with SIGKILL cannot shut its pool down; without this the idle workers would
    stay behind forever.  Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; everywhere: a daemon
    thread that polls the parent pid every 0.5 s.
    """
    _single_thread_blas()
    if parent_pid is None:
        return
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG = 1, SIGKILL = 9
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent_pid:  # parent already gone before prctl took effect
        os._exit(1)
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="dcpredict-parent-watch", daemon=True).start()


def default_workers() -> int:
    """All cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def run_parallel(fn, tasks: Iterable[tuple], workers: int):
    """Yield ``(task, fn(*task))`` as they finish: in-process for one worker, else on a spawn process
    pool whose workers run one BLAS thread each and exit with the parent.  ``fn`` must be picklable.

    ``tasks`` may be any iterable (a generator is consumed lazily: at most ``4 * workers`` tasks
    are in flight, so memory does not grow with the number of tasks).  The workers never re-import
    the caller's ``__main__`` module (see :func:`dcpredict._limits.hidden_main`), so a plain script
    without the ``if __name__ == "__main__":`` guard works; a pool whose workers die raises
    DCPredictError saying so instead of a screen of tracebacks.
    """
    it = iter(tasks)
    head = list(itertools.islice(it, 2))
    if workers <= 1 or len(head) <= 1:
        for task in itertools.chain(head, it):
            yield task, fn(*task)
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool
    from ._limits import hidden_main
    ctx = multiprocessing.get_context("spawn")
    it = itertools.chain(head, it)
    window = 4 * workers
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                             initializer=_worker_init, initargs=(os.getpid(),)) as pool:
        pending: dict = {}
        try:
            def refill() -> None:
                for task in itertools.islice(it, window - len(pending)):
                    with hidden_main(fn):
                        pending[pool.submit(fn, *task)] = task

            refill()
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    task = pending.pop(fut)
                    yield task, fut.result()
                refill()
        except BrokenProcessPool as exc:
            raise DCPredictError(
                f"the worker processes died ({exc}); run with workers=1 (--workers 1) or check the memory "
                "available to each worker") from None
        finally:
            for fut in pending:
                fut.cancel()


def run_dask(tasks, scheduler: str, fn):
    """Yield ``(task, fn(*task))`` from a Dask cluster; at most 1000 tasks are submitted at a time.  A task
    is ``(spec, *args)``; each distinct spec is scattered once."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover
        raise DCPredictError(f"scheduler given but dask.distributed cannot be imported: {exc}") from None
    try:
        client = Client(scheduler, set_as_default=False, timeout=10)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DCPredictError(f"scheduler {scheduler!r} cannot be reached: {exc}") from None
    try:
        client.run(_single_thread_blas)
        it = iter(tasks)
        index: dict = {}
        scattered: dict[int, Any] = {}  # each kappa's spec (arrays of size p) is sent once, not per trial
        done_iter = as_completed(loop=client.loop)

        def submit(count: int) -> None:
            for task in itertools.islice(it, count):
                spec, *rest = task
                if id(spec) not in scattered:
                    scattered[id(spec)] = client.scatter(spec, hash=False)
                fut = client.submit(fn, scattered[id(spec)], *rest, pure=False)
                index[fut.key] = (task, fut)
                done_iter.add(fut)

        submit(1000)
        try:
            for fut in done_iter:
                task, _ = index.pop(fut.key)
                yield task, fut.result()
                submit(1)
        finally:
            client.cancel([f for _, f in index.values()])
    finally:
        client.close()
