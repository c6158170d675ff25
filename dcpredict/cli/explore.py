"""``dcpredict explore [--host H] [--port N] [--show]``: the interactive explorer as a local web page
(:mod:`dcpredict.explore`; needs the ``explore`` extra)."""
from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("explore", help="interactive explorer: curves, phase map and advice in a web page",
                       description="Serve the explorer (the fixed-world curve, the phase map and the advice of "
                                   "'dcpredict advise', moving with the controls) at http://HOST:PORT/ until "
                                   "Ctrl-C.  Serves nothing but the app.  Needs the explore extra: "
                                   "pip install 'dcpredict[explore]'.")
    e.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes it to the network)")
    e.add_argument("--port", type=int, default=5006, help="port (default 5006; 0: a free port)")
    e.add_argument("--show", action="store_true", help="open the page in a web browser")
    e.set_defaults(func=_explore)


def _closed_page_filter(record) -> bool:
    """A page closed while the server was writing to its websocket is not an error: one line, no trace."""
    exc = record.exc_info[1] if record.exc_info else None
    if exc is not None and type(exc).__name__ in ("WebSocketClosedError", "StreamClosedError"):
        record.msg, record.args, record.exc_info, record.exc_text = (
            "a page was closed while the server was writing to it", None, None, None)
        record.levelname = "INFO"
        return False
    return True


def _explore(args: argparse.Namespace) -> int:
    from .._validate import DCPredictError
    from ..explore import serve
    if not 0 <= args.port <= 65535:
        raise DCPredictError(f"--port must be an integer in [0, 65535]; got {args.port}")

    import logging
    # the server's log on stderr: warnings and errors of the app, Bokeh and Tornado (a trace here is a bug)
    logging.basicConfig(level=logging.WARNING, format="dcpredict explore: %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_closed_page_filter)

    def ready(url: str) -> None:
        print(f"dcpredict explore: serving {url} (Ctrl-C to stop)", flush=True)

    try:
        serve(host=args.host, port=args.port, show=args.show, ready=ready)
    except OSError as exc:
        raise DCPredictError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        print("dcpredict explore: stopped", file=sys.stderr)
    return 0
