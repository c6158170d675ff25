"""Theory meets a user's dataset: the grow-then-prune experiment predicted and measured on real data.

The population is the uniform law over the N rows of a dataset (features and a label, both centred); its
equivalent linear Gaussian problem (Sigma, beta, sigma^2) gives the theory
(:func:`predict_data`, the non-asymptotic vector DC of :func:`dcpredict.predict_correlated`), and the actual
experiment draws training rows from the dataset itself (:func:`run_experiment`).  Start from
:class:`DataWorld`::

    from dcpredict.data import DataWorld
    world = DataWorld.from_files("features.npy", "labels.npy")
    cmp = world.compare(n=200, s=40, ps=[100, 200, 400, 800], trials=40)
    print(cmp.summary())

``import dcpredict`` does not import this subpackage.
"""
from __future__ import annotations

from ._advise import DataAdvice, DataCheck, advise_data
from ._compare import DataComparison, compare_data
from ._experiment import ACTUAL_FIELDS, DataExperiment, run_experiment
from ._theory import DataPrediction, predict_data
from ._world import ORDERS, DataWorld

__all__ = ["DataWorld", "DataPrediction", "DataExperiment", "DataComparison", "DataAdvice", "DataCheck",
           "predict_data", "run_experiment", "compare_data", "advise_data", "ACTUAL_FIELDS", "ORDERS"]
