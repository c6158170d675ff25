"""Theory and actual side by side on a dataset, with the gap per model size and rule.

Two different effects separate the Gaussian theory from what a user measures on a finite dataset:

* the **Gaussian-equivalence gap**: the theory replaces the rows by Gaussian rows with the same second moments;
  it is ``actual_population - theory`` (both are risks over the whole population of N rows);
* the **finite-population effect**: the held-out rows are the rows NOT used for training, so an interpolating
  fit's held-out error is higher than its population error by about ``N / (N - n)``;
  ``actual / actual_population`` shows it per field, next to the factor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import RISK_FIELDS
from .._results import Result, fmt
from ._experiment import ACTUAL_FIELDS, DataExperiment, run_experiment
from ._theory import DataPrediction, predict_data
from ._world import DataWorld

__all__ = ["DataComparison", "compare_data", "json_ready"]


def json_ready(obj: Any) -> Any:
    """A copy with every non-finite float replaced by None (JSON null) and numpy scalars as Python numbers."""
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


@dataclass(frozen=True, repr=False)
class DataComparison(Result):
    """:class:`DataPrediction` and :class:`DataExperiment` of the same dataset and arguments, with the gaps.

    :meth:`gaps` gives per p and field the population gap ``actual_population - theory``, its relative size, its
    z-score (the gap over the combined standard error), and the held-out / population ratio.
    :meth:`schema` is the JSON of ``dcpredict data --json``.
    """

    prediction: DataPrediction
    experiment: DataExperiment | None

    def gaps(self) -> list[dict[str, Any]]:
        """One record per (p, field of RISK_FIELDS): theory, actual (population and held out), gap, z, ratio."""
        pr, ex = self.prediction, self.experiment
        if ex is None:
            return []
        a, b = ex.actual, ex.actual_population
        rows = []
        for i, p in enumerate(pr.ps):
            for f in RISK_FIELDS:
                th, tse = float(pr.theory[f][i]), float(pr.theory_stderr[f][i])
                pm, pse = float(b[f]["mean"][i]), float(b[f]["stderr"][i])
                hm, hse = float(a[f]["mean"][i]), float(a[f]["stderr"][i])
                gap = pm - th
                se = math.hypot(tse, pse)
                rows.append({"p": int(p), "field": f, "theory": th, "theory_stderr": tse, "actual_population": pm,
                             "actual_population_stderr": pse, "actual": hm, "actual_stderr": hse,
                             "gap": gap, "relative_gap": gap / th if th > 0 and math.isfinite(th) else math.nan,
                             "z": gap / se if se > 0 and math.isfinite(gap) else math.nan,
                             "held_out_over_population": hm / pm if pm > 0 else math.nan})
        return rows

    def schema(self) -> dict[str, Any]:
        """Exactly the JSON of ``dcpredict data --json`` (non-finite numbers as None)::

            {"N", "P", "n", "s", "order", "ridge", "sigma2", "signal",
             "rows": [{"p", "theory": {field: number or null}, "theory_stderr": {field: number},
                       "actual": {field: {"mean", "stderr"}}, "actual_population": {same}}]}

        With no experiment (theory only) ``actual`` and ``actual_population`` are null.
        """
        pr, ex = self.prediction, self.experiment
        rows = []
        for p in pr.ps:
            pt = pr.point(p)
            row = {"p": int(p), "theory": pt["theory"], "theory_stderr": pt["theory_stderr"]}
            if ex is not None:
                row.update(ex.point(p))
            else:
                row.update({"actual": None, "actual_population": None})
            rows.append(row)
        return json_ready({"N": pr.N, "P": pr.P, "n": pr.n, "s": pr.s, "order": pr.order, "ridge": pr.ridge,
                           "sigma2": pr.sigma2, "signal": pr.signal, "rows": rows})

    def to_dict(self) -> dict[str, Any]:
        """:meth:`schema` plus the run's details (name, fingerprint, draws, trials, seed, held-out rows, the
        finite-population factor) and :meth:`gaps`; JSON-ready with null for non-finite numbers."""
        pr, ex = self.prediction, self.experiment
        d = self.schema()
        d.update(json_ready({"name": pr.name, "fingerprint": pr.fingerprint, "draws": pr.draws, "theory_seed": pr.seed,
                             "trials": None if ex is None else ex.trials, "seed": None if ex is None else ex.seed,
                             "held_out_rows": None if ex is None else ex.held_out_rows,
                             "finite_population_factor": None if ex is None else ex.finite_population_factor,
                             "gaps": self.gaps()}))
        return d

    def _records(self) -> list[dict[str, Any]]:
        if self.experiment is None:
            return self.prediction._records()
        return self.gaps()

    def summary(self) -> str:
        pr, ex = self.prediction, self.experiment
        if ex is None:
            return pr.summary()
        W = 112
        lines = [f"dcpredict data: {pr.name} (N = {pr.N} rows, P = {pr.P} columns), n = {pr.n}, s = {pr.s}, "
                 f"order = {pr.order}, ridge = {pr.ridge:g}",
                 f"dataset: sigma2 = {pr.sigma2:.6g}, signal = {pr.signal:.6g}; theory: Gaussian equivalent (vector "
                 f"DC, {pr.draws} draws); actual: {ex.trials} trials, {ex.held_out_rows} held-out rows each",
                 f"gap = actual on all N rows - theory (the Gaussian-equivalence gap, z = gap / combined stderr); "
                 f"held/pop = held-out / all-rows error (finite population: about N/(N-n) = "
                 f"{ex.finite_population_factor:.4g} for an interpolating fit)",
                 "=" * W,
                 f"{'p':>6} {'field':<24}{'theory':>18}{'actual (all N)':>20}{'gap':>9}{'z':>7}{'actual (held out)':>20}"
                 f"{'held/pop':>9}"]
        for i, p in enumerate(pr.ps):
            for g in self.gaps()[i * len(RISK_FIELDS):(i + 1) * len(RISK_FIELDS)]:
                rel, z = g["relative_gap"], g["z"]
                lines.append(f"{p:>6} {g['field']:<24}{_pm(g['theory'], g['theory_stderr']):>18}"
                             f"{_pm(g['actual_population'], g['actual_population_stderr']):>20}"
                             f"{(f'{100 * rel:+.1f}%' if math.isfinite(rel) else '-'):>9}"
                             f"{(f'{z:+.1f}' if math.isfinite(z) else '-'):>7}"
                             f"{_pm(g['actual'], g['actual_stderr']):>20}"
                             f"{fmt(g['held_out_over_population'], 4):>9}")
            a = ex.actual
            for f in ACTUAL_FIELDS[len(RISK_FIELDS):]:
                b = ex.actual_population[f]
                lines.append(f"{p:>6} {f:<24}{'(no theory)':>18}{_pm(b['mean'][i], b['stderr'][i]):>20}"
                             f"{'':>16}{_pm(a[f]['mean'][i], a[f]['stderr'][i]):>20}")
            lines.append("-" * W)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<DataComparison {self.prediction.name!r} n={self.prediction.n} s={self.prediction.s} ps={list(self.prediction.ps)}>"


def _pm(m: float, se: float) -> str:
    m, se = float(m), float(se)
    if se == 0.0:
        return fmt(m, 4)
    return f"{fmt(m, 4)} +- {fmt(se, 2)}"


def compare_data(world: DataWorld, *, n: int, s: int, ps: Any, trials: int, seed: int = 0, order: str = "given",
                 ridge: float = 0.0, draws: int = 400, workers: int | None = None, scheduler: str | None = None,
                 out: Any = None, progress: bool = True) -> DataComparison:
    """Theory (:func:`predict_data`, DC seed ``seed``) and the actual experiment (:func:`run_experiment`) on the
    same arguments; ``trials = 0`` gives the theory alone."""
    if trials != 0:  # refuse a bad experiment before the theory runs
        from ._experiment import check_experiment
        check_experiment(world, n, s, ps, trials)
    pred = predict_data(world, n=n, s=s, ps=ps, order=order, ridge=ridge, draws=draws, seed=seed, progress=progress)
    ex = None
    if trials != 0:
        ex = run_experiment(world, n=n, s=s, ps=ps, trials=trials, seed=seed, order=order, ridge=ridge,
                            workers=workers, scheduler=scheduler, out=out, progress=progress)
    return DataComparison(prediction=pred, experiment=ex)
