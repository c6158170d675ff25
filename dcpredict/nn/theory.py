"""The theory line of the frozen-first-layer mode: the equivalent linear Gaussian problem of the features.

With the first layer frozen, the readout of class c is least squares of the one-hot label Y_c on the features
phi(x) = relu(W1 x + b1).  Take the data set itself (training and test examples pooled, N rows) as the
population: :class:`dcpredict.data.DataWorld` centres the features and the label (the readout's bias plays
the intercept), forms Sigma = Phi^T Phi / N, the population least-squares weights beta_c and the unexplained
variance sigma_c^2, and :meth:`~dcpredict.data.DataWorld.predict` gives the non-asymptotic DC risk of the
min-norm fit with n training examples (the Gaussian equivalent: features treated as Gaussian with the same
second moments).  The squared-error loss of the network is the mean over the C classes, so the theory of the
test loss is ``mean_c risk_c``.  The test error (misclassification) has no theory here.
"""
from __future__ import annotations

import numpy as np

__all__ = ["equivalent_lgp_risk"]


def equivalent_lgp_risk(features: np.ndarray, labels: np.ndarray, classes: int, n: int) -> float:
    """Mean over classes of the DC dense risk of min-norm least squares with ``n`` samples on ``features``
    (N x h, the pooled data) for the one-hot label of each class (see the module docstring); +inf at the
    interpolation threshold."""
    from ..data import DataWorld
    F = np.asarray(features, dtype=np.float64)
    risks = []
    for c in range(classes):
        world = DataWorld.from_arrays(F, (labels == c).astype(np.float64), name=f"class {c}")
        pred = world.predict(n=n, s=1, ps=[F.shape[1]], draws=2, retrain_draws=2)
        risks.append(float(pred.theory["dense"][0]))
    return float(np.mean(risks))
