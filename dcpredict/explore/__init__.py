"""An interactive explorer of the fixed world: curves, phase map and advice that move with the controls.

``dcpredict explore`` serves it as a web page (loopback by default); ``dcpredict.explore()`` (the
function :func:`explore`; the module is callable) returns the same panel for Jupyter.  Needs the ``explore`` extra (Panel and Bokeh), imported only when called.  The logic
(state, URL query string, equivalent command, inline messages) is :mod:`dcpredict.explore.state`, which
needs no web framework.
"""
from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["explore", "serve"]


def _require_panel():
    try:
        import panel  # noqa: F401
        import bokeh  # noqa: F401
    except ModuleNotFoundError as exc:
        from .._validate import DCPredictError
        raise DCPredictError(f"the explorer needs the 'explore' extra (Panel and Bokeh): pip install "
                             f"'dcpredict[explore]' ({exc.name} is not installed)") from None


def explore(world: str = "fig3a", *, query: str | None = None, **controls: Any):
    """The explorer as a displayable Panel object (show it in Jupyter, or ``.show()`` / ``.servable()``).

    Parameters
    ----------
    world : {"fig3a", "fig3b", "power_law", "gaussian_b"}
        The preset: the paper's Fig. 3a or 3b world, a power-law spectrum (atoms), a continuous
        Gaussian-B law.
    query : str, optional
        A shareable URL's query string (``world=...&n=...``); restores that state (``world`` and
        ``controls`` are then not allowed).
    **controls
        Controls of the preset, as text or numbers: ``n``, ``P``, ``s``, ``sigma2``, ``ridge`` (a number or
        ``"optimal"``), ``order`` and the law's (``lam``, ``b``, ``weights``; ``exponent``, ``lam_min``,
        ``lam_max``; ``lam_low``, ``lam_high``, ``b_var_exponent``).

    Returns
    -------
    dcpredict.explore.app.Explorer
        A ``panel.viewable.Viewer``; ``.evaluation`` holds the current advice and curve.
    """
    from .state import State, from_query
    if query is not None:
        if controls or world != "fig3a":
            from .._validate import DCPredictError
            raise DCPredictError("explore: give either query or world/controls, not both")
        state = from_query(query)
    else:
        state = State.from_preset(world, **controls)
    _require_panel()
    import panel as pn
    pn.extension()          # in a notebook: loads Panel's and Bokeh's JavaScript (harmless elsewhere)
    from .app import Explorer
    return Explorer(state)


def _free_port(host: str) -> int:
    import socket
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def serve(*, host: str = "127.0.0.1", port: int = 5006, show: bool = False, ready=None) -> None:
    """Serve the explorer at ``http://HOST:PORT/`` until interrupted (``dcpredict explore``).

    Only the app is served (its page at ``/``, Bokeh's websocket and static files); port 0 takes a free
    port.  ``ready(url)`` is called once the server listens (the command prints the URL there).
    """
    _require_panel()
    import panel as pn
    from .app import Explorer

    if port == 0:
        port = _free_port(host)
    origins = {f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"}
    if host in ("0.0.0.0", "::"):
        import socket
        origins.add(f"{socket.gethostname()}:{port}")

    def app():
        return Explorer(server=True).view

    server = pn.serve({"/": app}, address=host, port=port, show=False, start=False, verbose=False,
                      title="dcpredict explore", websocket_origin=sorted(origins))
    url = f"http://{'[' + host + ']' if ':' in host else host}:{server.port}/"
    if ready is not None:
        ready(url)
    if show:
        server.io_loop.add_callback(server.show, "/")
    server.start()
    server.io_loop.start()


class _CallableModule(types.ModuleType):
    """``dcpredict.explore(...)`` is :func:`explore` (the module stays importable: ``dcpredict.explore.state``)."""

    def __call__(self, *args: Any, **kwargs: Any):
        return explore(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
