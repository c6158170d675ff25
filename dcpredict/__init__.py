"""dcpredict: test risk of pruned overparameterized least squares.

A law of (Lambda, B) goes in (:class:`Law`), the distributional characterization (tau, gamma^2)
is solved once, pruning rules act on it, and risks come out (:func:`predict`, :func:`predict_grid`).
The simulator (:func:`simulate`) checks every prediction by Monte Carlo.  The mathematics is
specified in the theory page of the documentation (docs/theory.md) and in Chang, Li, Oymak, Thrampoulidis,
"Provable Benefits of Overparameterization in Model Compression", AAAI 2021 (arXiv:2012.08749).

Public names are imported lazily so that ``import dcpredict`` stays cheap.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._validate import DCPredictError
from .law import GaussianLaw, Law, ScalingWarning

__version__ = "0.1.0"

#: The risk fields of every prediction and simulation, in the order the kernels return them:
#: the dense fit; pruning without refit (magnitude, Hessian, random, oracle pruning); training small on
#: the s truly best features (small_oracle); pruning followed by a refit on fresh samples.
RISK_FIELDS = ("dense", "magnitude", "hessian", "random", "oracle_pruned", "small_oracle",
               "magnitude_retrained", "hessian_retrained", "random_retrained")

# public name -> module that defines it
_LAZY = {
    "predict": "theory",
    "predict_grid": "theory",
    "predict_world": "world",
    "predict_world_curve": "world",
    "WorldPrediction": "world",
    "WorldCurve": "world",
    "solve_dc": "theory",
    "Prediction": "theory",
    "PredictionGrid": "theory",
    "DC": "theory",
    "simulate": "simulation",
    "simulate_sweep": "simulation",
    "SimulationResult": "simulation",
    "SimulationSweep": "simulation",
    "simulate_world": "world_simulation",
    "WorldSimulationResult": "world_simulation",
    "predict_correlated": "correlated",
    "CorrelatedPrediction": "correlated",
    "simulate_correlated": "correlated_simulation",
    "CorrelatedSimulation": "correlated_simulation",
    "advise": "advisor",
    "Advice": "advisor",
    "predict_quantized": "compression",
    "predict_iterative": "compression",
    "optimal_ridge": "compression",
    "QuantizedPrediction": "compression",
    "IterativePrediction": "compression",
    "OptimalRidge": "compression",
    "simulate_quantized": "compression_sim",
    "simulate_iterative": "compression_sim",
}
_SUBMODULES = ("random_features", "lemma1", "correlated_simulation", "theory", "world", "world_simulation",
               "simulation", "correlated", "advisor", "figures", "validation", "data", "explore")

__all__ = ["DCPredictError", "Law", "GaussianLaw", "ScalingWarning", "RISK_FIELDS", *_LAZY, *_SUBMODULES]


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'dcpredict' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from .theory import DC, Prediction, PredictionGrid, predict, predict_grid, solve_dc  # noqa: F401

