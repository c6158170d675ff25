"""Progress on stderr, one convention for the whole package (the developers' guide: nothing runs for minutes
in silence).

Every public function that can run for more than a few seconds takes ``progress: bool = True`` and reports
through these helpers: :func:`bar` (a :mod:`tqdm.auto` bar with rate and remaining-time estimate: a widget in
Jupyter, text on a terminal and in a pipe, drawn at once so a pipe sees it within a second), :func:`stage`
(an overall ``[k/K]`` line before each stage of a multi-stage command) and :func:`note` (one line, e.g. how
many trials a resumed run read back).  The command line passes ``progress = not --quiet``.
"""
from __future__ import annotations

import sys
from typing import Any

__all__ = ["bar", "note", "stage"]


class _NoBar:
    """The do-nothing bar of ``progress=False``."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def bar(total: int, desc: str, *, unit: str = "trial", enabled: bool = True):
    """A progress bar on stderr (``tqdm.auto``), or a do-nothing object when ``enabled`` is false."""
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm
    return tqdm(total=int(total), desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, mininterval=0.5,
                smoothing=0.1)


def note(message: str, *, enabled: bool = True) -> None:
    """One line on stderr, prefixed ``dcpredict:``."""
    if enabled:
        print(f"dcpredict: {message}", file=sys.stderr, flush=True)


def stage(k: int, K: int, message: str, *, enabled: bool = True) -> None:
    """The overall line of a multi-stage run: ``dcpredict: [k/K] message``."""
    note(f"[{k}/{K}] {message}", enabled=enabled)
