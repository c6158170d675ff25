"""The engine's shell (issue 18): cached per-law state, compiled certification, compact grids and curves,
serial kernel twins, and the per-trial world simulation unit.

Numbers are checked against plain numpy/scipy computations written here, or against the same quantity
computed by an independent path (a single-p unit against a whole trial, a serial kernel against the parallel
one); speed is shown by validation/bench_shell.py and validation/bench_world_simulation.py, never here.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

import dcpredict as dp
from dcpredict import theory

LAW = dp.Law([4.0, 1.0, 1.0, 0.25], [2.0, 1.0, 0.0, 0.5], [0.1, 0.2, 0.4, 0.3])
SIGMA2 = 0.2


# ------------------------------------------------------------------ an independent plain computation
def _plain(lam, b, w, kappa, alpha, s2):
    """dense, random and oracle_pruned risks (theory page eqs. 8-10 and the pruning of section 3), by brentq."""
    tau = 0.0 if kappa <= 1 else brentq(lambda t: kappa * np.dot(w, lam / (lam + t)) - 1, 1e-12,
                                        kappa * np.dot(w, lam), xtol=1e-15, rtol=1e-14)
    c = lam / (lam + tau)
    g2 = (s2 + np.dot(w, lam * b * b * (1 - c) ** 2)) / (1 - kappa * np.dot(w, c * c))
    m, v2 = c * b, c * c * kappa * g2 / lam
    rnd = s2 + np.dot(w, lam * ((1 - alpha) * b * b + alpha * ((b - m) ** 2 + v2)))
    mass, rem = np.zeros_like(w), alpha
    for k in np.argsort(-(lam * b * b), kind="stable"):
        mass[k] = min(w[k], rem)
        rem -= mass[k]
    orc = s2 + np.dot(lam, mass * ((b - m) ** 2 + v2) + (w - mass) * b * b)
    return {"dense": g2, "random": rnd, "oracle_pruned": orc}


@pytest.mark.parametrize("p", [120, 300, 1000])
def test_predict_world_matches_a_plain_computation_of_the_models_problem(p):
    n, P, s = 200, 1000, 50
    pw = dp.predict_world(LAW, n=n, P=P, p=p, s=s, sigma2=SIGMA2)
    lam, b, w = (np.array(x) for x in (LAW.lam, LAW.b, LAW.weights))
    mass, rem = np.zeros_like(w), p / P            # the model: the top p / P of the world by saliency
    for k in np.argsort(-(lam * b * b), kind="stable"):
        mass[k] = min(w[k], rem)
        rem -= mass[k]
    noise = SIGMA2 + float(np.dot(w - mass, lam * b * b))
    want = _plain(lam, math.sqrt(p / P) * b, mass / mass.sum(), p / n, s / p, noise)
    assert pw.model_sigma2 == pytest.approx(noise, rel=1e-14)
    for f, v in want.items():
        assert getattr(pw, f) == pytest.approx(v, rel=1e-11), f
    curve = dp.predict_world_curve(LAW, n=n, P=P, s=s, sigma2=SIGMA2, ps=[p])
    for f in want:
        assert getattr(curve, f)[0] == pytest.approx(getattr(pw, f), rel=1e-13), f


def test_law_state_cache_is_keyed_by_the_laws_arrays():
    a = dp.Law([2.0, 1.0], [1.0, 0.5], [0.5, 0.5])
    b = dp.Law([2.0, 1.0], [1.0, 0.7], [0.5, 0.5])
    ra = dp.predict(a, kappa=2.0, alpha=0.3, sigma2=SIGMA2)
    rb = dp.predict(b, kappa=2.0, alpha=0.3, sigma2=SIGMA2)
    for law, r in ((a, ra), (b, rb)):
        want = _plain(np.array(law.lam), np.array(law.b), np.array(law.weights), 2.0, 0.3, SIGMA2)
        assert r.dense == pytest.approx(want["dense"], rel=1e-12)
        assert r.random == pytest.approx(want["random"], rel=1e-12)
    again = dp.predict(a, kappa=2.0, alpha=0.3, sigma2=SIGMA2)
    twin = dp.predict(dp.Law([2.0, 1.0], [1.0, 0.5], [0.5, 0.5]), kappa=2.0, alpha=0.3, sigma2=SIGMA2)
    assert again.risks() == ra.risks() == twin.risks()
    other = dp.predict(a, kappa=2.0, alpha=0.3, sigma2=2 * SIGMA2)          # sigma2 is part of the key
    assert other.dense > ra.dense
    for i in range(2 * theory._LAW_CACHE_SIZE):                             # bounded
        dp.predict(dp.Law([1.0 + i, 1.0], [1.0, 1.0], [0.5, 0.5]), kappa=2.0, alpha=0.5, sigma2=SIGMA2)
    assert len(theory._LAW_CACHE) <= theory._LAW_CACHE_SIZE


def test_serial_twin_equals_the_parallel_kernel():
    kappas = np.linspace(0.3, 5.0, 40)
    alphas = np.linspace(0.05, 0.95, 20)
    big = dp.predict_grid(LAW, kappas, alphas, sigma2=SIGMA2)               # 3200 atom-points: parallel
    assert kappas.size * alphas.size * LAW.n_atoms >= theory.SMALL_WORK
    for i in (0, 17, 39):
        row = dp.predict_grid(LAW, kappas[i:i + 1], alphas, sigma2=SIGMA2)  # 80 atom-points: serial
        for f in (*dp.RISK_FIELDS, "threshold_magnitude", "threshold_hessian"):
            assert np.array_equal(getattr(row, f)[0], getattr(big, f)[i]), f
        assert row.tau[0] == big.tau[i]


def test_grids_and_curves_hold_at_most_12_doubles_per_point():
    g = dp.predict_grid(LAW, np.linspace(0.2, 4, 30), np.linspace(0.05, 0.95, 30), sigma2=SIGMA2)
    c = dp.predict_world_curve(LAW, n=200, P=1000, s=50, sigma2=SIGMA2)
    for res, npts in ((g, 900), (c, c.ps.size)):
        bases = {}
        for name in dir(res):
            x = getattr(res, name, None)
            if isinstance(x, np.ndarray) and x.size >= npts:
                root = x
                while isinstance(root.base, np.ndarray):
                    root = root.base
                bases[id(root)] = root.nbytes
        assert sum(bases.values()) <= (12 * 8 + 8) * npts + 4 * 8, bases  # + the 4 world baselines, one double each


def test_failing_grid_point_is_named():
    # ridge far below the law's scale: a point that cannot be certified is refused, naming it
    with pytest.raises(dp.DCPredictError, match=r"ridge"):
        dp.predict_grid(LAW, [1.0, 2.0], [0.5], sigma2=SIGMA2, ridge=1e-310)


# ------------------------------------------------------------------ the per-trial world simulation unit
@pytest.mark.parametrize("order", ["saliency", "random"])
def test_a_trial_equals_its_single_p_units(order):
    from dcpredict.world_simulation import _make_spec, run_world_trial, run_world_unit
    spec = _make_spec(LAW, P=80, n=30, s=6, sigma2=SIGMA2, ridge=0.0, seed=3, order=order)
    ps = (80, 12, 40)                       # p = P first: it must not disturb the others
    rows = run_world_trial(spec, ps, 1)
    for p, row in zip(ps, rows):
        assert np.array_equal(row, run_world_unit(spec, p, 1)), p
    assert np.isfinite(rows).all()


def test_permute_columns_in_place():
    from dcpredict._kernels import permute_columns
    rng = np.random.default_rng(0)
    nat = rng.standard_normal((5, 37))
    for perm in (rng.permutation(37), np.arange(37), np.roll(np.arange(37), 1)):
        X = np.asfortranarray(nat[:, perm])     # column k holds feature perm[k]
        permute_columns(X, perm)
        assert np.array_equal(X, nat)


def test_fast_result_construction_equals_the_constructor():
    import dataclasses
    p = dp.predict(LAW, kappa=2.0, alpha=0.3, sigma2=SIGMA2)
    q = theory.Prediction(**{f.name: getattr(p, f.name) for f in dataclasses.fields(p)})
    assert p == q and p.dc == q.dc and p.retrained == q.retrained and repr(p) == repr(q)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.dense = 0.0

    @dataclasses.dataclass(frozen=True)
    class Later:            # a field added later with a default: the real constructor runs
        a: float
        b: float = 2.0
    assert theory._new(Later, {"a": 1.0}) == Later(1.0, 2.0)
