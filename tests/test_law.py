"""Laws of (Lambda, B): constructors, quadrature moments, validation."""
import json
import math

import numpy as np
import pytest

import dcpredict as dp


def test_atoms_and_expectations():
    law = dp.Law([4, 1, 1, 0.25], [2, 1, 0, 0.5], [0.1, 0.2, 0.4, 0.3])
    assert law.n_atoms == 4
    assert law.signal_power == pytest.approx(0.1 * 16 + 0.2 + 0.3 * 0.0625, rel=1e-15)
    assert not law.lam.flags.writeable


def test_empirical_law_has_equal_weights():
    law = dp.Law.empirical([1.0, 2.0, 3.0], [0.0, 1.0, -1.0])
    assert np.allclose(law.weights, 1 / 3)


def test_power_law_quadrature_moments():
    """Density proportional to lam^-a on [lo, hi]: E[Lambda] in closed form; E[B^2 | Lambda] = b_var(Lambda)."""
    a, lo, hi = 1.5, 0.1, 10.0
    law = dp.Law.power_law(a, lo, hi, b_var=lambda l: 2.0 * l, order=64, b_order=8)
    norm = (hi ** (1 - a) - lo ** (1 - a)) / (1 - a)
    mean = (hi ** (2 - a) - lo ** (2 - a)) / (2 - a) / norm
    assert law.expect(law.lam) == pytest.approx(mean, rel=1e-9)
    assert law.expect(law.b ** 2) == pytest.approx(2.0 * mean, rel=1e-9)
    assert law.expect(law.b ** 4 / law.lam ** 2) == pytest.approx(3 * 4.0, rel=1e-9)  # Gaussian 4th moment
    log_law = dp.Law.power_law(1.0, 1.0, math.e, order=32, b_order=2)
    assert log_law.expect(np.log(log_law.lam)) == pytest.approx(0.5, rel=1e-12)


def test_uniform_law_moments():
    law = dp.Law.uniform(1.0, 3.0, b_var=0.5, order=16, b_order=4)
    assert law.expect(law.lam ** 2) == pytest.approx((27 - 1) / 3 / 2, rel=1e-13)
    assert law.expect(law.b ** 2) == pytest.approx(0.5, rel=1e-13)


def test_from_dict_and_json(tmp_path):
    spec = {"power_law": {"exponent": 1.2, "lam_min": 0.1, "lam_max": 5, "b_var": 2.0, "b_var_exponent": -1,
                          "order": 8, "b_order": 4}}
    law = dp.Law.from_dict(spec)
    assert law.expect(law.lam * law.b ** 2) == pytest.approx(2.0, rel=1e-12)
    path = tmp_path / "law.json"
    path.write_text(json.dumps({"lam": [1, 2], "b": [0.5, 0.5], "weights": [0.5, 0.5]}))
    assert dp.Law.from_json(path) == dp.Law([1, 2], [0.5, 0.5], [0.5, 0.5])


@pytest.mark.parametrize("args,needle", [
    (([1, 0], [1, 1]), "lam"),
    (([1, -2], [1, 1]), "lam"),
    (([1, 2], [1]), "same length"),
    (([1, 2], [1, 1], [0.5, 0.6]), "sum to 1"),
    (([1, 2], [1, 1], [0.5]), "same length"),
    (([1, 2], [1, 1], [1.5, -0.5]), "weights"),
    (([1, float("inf")], [1, 1]), "finite"),
    (([1, 2], [1, float("nan")]), "finite"),
    (([], []), "at least"),
])
def test_invalid_laws_raise(args, needle):
    with pytest.raises(ValueError, match=needle):
        dp.Law(*args)


def test_weights_within_tolerance_are_renormalized():
    law = dp.Law([1, 2], [1, 1], [0.5, 0.5 + 5e-10])
    assert math.fsum(law.weights) == pytest.approx(1.0, abs=1e-15)


def test_bad_law_files(tmp_path):
    with pytest.raises(ValueError, match="cannot be read"):
        dp.Law.from_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        dp.Law.from_json(bad)
    with pytest.raises(ValueError, match="unknown keys"):
        dp.Law.from_dict({"lam": [1], "b": [1], "w": [1]})
    with pytest.raises(ValueError, match="needs"):
        dp.Law.from_dict({"uniform": {"lam_low": 1}})
