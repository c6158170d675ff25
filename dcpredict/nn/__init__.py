"""Neural networks: the paper's grow-then-prune experiment on real networks (its Figs. 1, 5 and 6).

Needs PyTorch (``pip install 'dcpredict[nn]'``); ``import dcpredict`` never imports it, and neither does
``import dcpredict.nn``: torch is imported when an experiment runs.

* :func:`grow_prune`: train networks of growing width, prune each to a budget of s weights (global magnitude),
  retrain with the mask fixed, with the controls of the paper's Fig. 5 (random pruning + retraining, pruning
  without retraining); one unit per (width, seed), on the local pool or Dask, logged resumably.
* :func:`load_data`: digits, MNIST-1D (generated locally), or your own arrays / torch Datasets.
* ``freeze_first_layer=True``: the bridge to the theory (random features + least squares).
"""
from __future__ import annotations

import importlib

__all__ = ["grow_prune", "NNResult", "load_data", "NNData", "closed_form", "equivalent_lgp_risk"]

_LAZY = {"grow_prune": "run", "NNResult": "run", "load_data": "data", "NNData": "data",
         "closed_form": "protocol", "equivalent_lgp_risk": "theory"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dcpredict.nn' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
