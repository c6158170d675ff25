"""The one place where :mod:`dcpredict.nn` imports PyTorch (an optional extra)."""
from __future__ import annotations

from .._validate import DCPredictError

INSTALL_HINT = ("pip install 'dcpredict[nn]' (on a CPU-only machine `pip install torch==2.13.0` first installs "
                "the CPU build of about 200 MB; an unpinned torch may pull a CUDA build of several GB)")


def require_torch():
    """Return the :mod:`torch` module, or raise DCPredictError in one line saying how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise DCPredictError(f"the neural-network experiments need PyTorch, which is not installed ({exc}); "
                             f"{INSTALL_HINT}") from None
    return torch


def resolve_device(device: str | None) -> str:
    """'auto' (or None) -> 'cuda' when a CUDA device is available, else 'cpu'; 'cpu', 'cuda', 'cuda:N' are
    checked (a CUDA request without CUDA is a DCPredictError)."""
    torch = require_torch()
    dev = "auto" if device is None else str(device).strip().lower()
    if dev == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if dev == "cpu":
        return "cpu"
    if dev == "cuda" or (dev.startswith("cuda:") and dev[5:].isdigit()):
        if not torch.cuda.is_available():
            raise DCPredictError(f"device {device!r} was requested but this PyTorch ({torch.__version__}) sees no "
                                 "CUDA device (torch.cuda.is_available() is False); use device 'cpu' or 'auto'")
        if ":" in dev and int(dev[5:]) >= torch.cuda.device_count():
            raise DCPredictError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) are visible")
        return dev
    raise DCPredictError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}")
