"""Edges of the fixed-world model: the interpolation threshold of the small models (s = n) is exactly inf,
although s/p and p/n are rounded floats; the curve and the point agree there."""
import math

import numpy as np

import pytest

import dcpredict as dp

LAW = dp.Law([10.0, 1.0], [1.0, 1.0], [0.04, 0.96])


def test_small_models_at_s_equal_n_are_infinite():
    c = dp.predict_world_curve(LAW, n=200, P=1000, s=200, sigma2=0.1, ps=[200, 300, 1000])
    b = c.baselines
    assert math.isinf(b["small_oracle"]) and math.isinf(b["small_random"]) and math.isinf(b["small_top_variance"])
    assert np.isinf(c.small_oracle).all() and c.small_oracle.shape == c.ps.shape   # broadcast over p
    for f in ("magnitude_retrained", "hessian_retrained", "random_retrained"):
        assert all(math.isinf(x) for x in getattr(c, f)), f
    w = dp.predict_world(LAW, n=200, P=1000, p=300, s=200, sigma2=0.1)
    assert math.isinf(w.small_oracle) and math.isinf(w.hessian_retrained)
    assert math.isfinite(w.hessian) and w.hessian > 0.1


def test_one_below_the_threshold_is_finite_and_large():
    """s = n - 1: OLS on s features, risk noise / (1 - s/n) = 200 x the noise of the dropped signal."""
    w = dp.predict_world(LAW, n=200, P=1000, p=1000, s=199, sigma2=0.1)
    # small_random: 199 random features; OLS: (sigma2 + (1 - s/P) E[lam B^2]) / (1 - s/n)
    noise = 0.1 + (1 - 199 / 1000) * 1.36
    assert w.small_random == pytest.approx(noise / (1 - 199 / 200), rel=1e-10)


def test_ridge_removes_the_threshold():
    w = dp.predict_world(LAW, n=200, P=1000, p=300, s=200, sigma2=0.1, ridge=0.05)
    assert math.isfinite(w.small_oracle) and math.isfinite(w.hessian_retrained)
