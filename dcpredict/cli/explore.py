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


def _explore(args: argparse.Namespace) -> int:
    from .._validate import DCPredictError
    from ..explore import serve
    if not 0 <= args.port <= 65535:
        raise DCPredictError(f"--port must be an integer in [0, 65535]; got {args.port}")

    import logging
    # the server's log on stderr: warnings and errors of the app, Bokeh and Tornado (a trace here is a bug)
    logging.basicConfig(level=logging.WARNING, format="dcpredict explore: %(levelname)s %(name)s: %(message)s")

    def ready(url: str) -> None:
        print(f"dcpredict explore: serving {url} (Ctrl-C to stop)", flush=True)

    try:
        serve(host=args.host, port=args.port, show=args.show, ready=ready)
    except OSError as exc:
        raise DCPredictError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        print("dcpredict explore: stopped", file=sys.stderr)
    return 0
