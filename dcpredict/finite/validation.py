"""``dcpredict validate --finite-size``: finite-size and asymptotic predictions against the same simulations.

The grid is the one of ``dcpredict validate`` (:func:`dcpredict.validation.validation_cases`: laws, kappas,
alphas, ridges, n, trials, seed): every point is simulated once with :func:`dcpredict.simulate_sweep` and
compared with ``predict(..., finite_size=True, n=n)`` and with the asymptotic ``predict`` at the instance's own
ratios.  For each comparison z = (simulation - theory) / se.  The report gives the mean and the spread of the
z-scores of both, over all rows and over the ridge-0 rows (where the finite-size corrections apply; with
ridge > 0 the finite-size mode falls back to the asymptotic and its rows are identical).  Nothing here is
pass/fail: the report measures the bias the finite-size mode removes.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import RISK_FIELDS
from .._results import Result
from .._validate import check_int

__all__ = ["run_finite_validation", "FiniteValidationReport"]


@dataclass(repr=False)
class FiniteValidationReport(Result):
    """Rows (one per point and field, with ``z_finite`` and ``z_asymptotic``), the grid and the report path."""
    quick: bool
    params: dict
    rows: list = field(repr=False)
    elapsed: float = 0.0
    report_path: Path | None = None

    def totals(self) -> dict[str, Any]:
        def st(rows, key):
            z = np.array([r[key] for r in rows if math.isfinite(r[key])])
            return {"mean": float(z.mean()) if z.size else math.nan, "sd": float(z.std()) if z.size else math.nan,
                    "count": int(z.size)}
        r0 = [r for r in self.rows if r["ridge"] == 0.0]
        return {"all": {"finite": st(self.rows, "z_finite"), "asymptotic": st(self.rows, "z_asymptotic")},
                "ridge0": {"finite": st(r0, "z_finite"), "asymptotic": st(r0, "z_asymptotic")}}

    def to_dict(self) -> dict[str, Any]:
        return {"finite_size": True, "quick": self.quick, "params": self.params, "totals": self.totals(),
                "elapsed": self.elapsed, "report_path": None if self.report_path is None else str(self.report_path),
                "rows": self.rows}

    def _records(self) -> list[dict[str, Any]]:
        return self.rows

    def summary(self) -> str:
        t = self.totals()
        lines = [f"finite-size validation ({'quick' if self.quick else 'full'}): {len(self.rows)} comparisons; "
                 "z = (simulation - theory) / se"]
        for part, label in (("ridge0", "ridge 0 (corrected)"), ("all", "all rows")):
            f, a = t[part]["finite"], t[part]["asymptotic"]
            lines.append(f"  {label:<20} finite-size: mean z {f['mean']:+.2f}, sd {f['sd']:.2f}   "
                         f"asymptotic: mean z {a['mean']:+.2f}, sd {a['sd']:.2f}   ({f['count']} rows)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        t = self.totals()["ridge0"]
        return (f"FiniteValidationReport({len(self.rows)} rows, ridge-0 mean z finite {t['finite']['mean']:+.2f} "
                f"vs asymptotic {t['asymptotic']['mean']:+.2f})")


def run_finite_validation(quick: bool = False, out_dir: str | Path | None = "validation", workers: int | None = None,
                          progress: bool = False) -> FiniteValidationReport:
    """Run the grid of ``dcpredict validate`` with the finite-size mode; writes ``out_dir/FINITE_REPORT.md``
    (quick: ``FINITE_REPORT_quick.md``; ``out_dir=None`` writes nothing)."""
    from ..simulation import simulate_sweep
    from ..theory import predict
    from ..validation import validation_cases
    if workers is not None:
        workers = check_int("workers", workers, lo=1)
    path = None
    if out_dir is not None:
        from .._store import check_outputs
        path = Path(out_dir) / f"FINITE_REPORT{'_quick' if quick else ''}.md"
        check_outputs([path], "finite-size validation report")
    t0 = time.time()
    P = validation_cases(bool(quick))
    rows: list[dict] = []
    for law_name, law in P["laws"].items():
        for ridge in P["ridges"]:
            sims = simulate_sweep(law, kappas=P["kappas"], alphas=P["alphas"], sigma2=P["sigma2"], ridge=ridge,
                                  n=P["n"], trials=P["trials"], seed=P["seed"], workers=workers, progress=progress)
            for res in sims:
                fin = predict(law, kappa=res.kappa, alpha=res.alpha, sigma2=P["sigma2"], ridge=ridge,
                              finite_size=True, n=res.n)
                mean, se = res.mean, res.stderr
                for f in RISK_FIELDS:
                    th_f, th_a = float(getattr(fin, f)), float(fin.asymptotic[f])
                    z = [(mean[f] - th) / se[f] if se[f] > 0 and math.isfinite(th) else math.nan for th in (th_f, th_a)]
                    rows.append({"law": law_name, "kappa": res.kappa, "alpha": res.alpha, "ridge": ridge, "n": res.n,
                                 "p": res.p, "s": res.s, "field": f, "sim": mean[f], "se": se[f], "finite": th_f,
                                 "asymptotic": th_a, "z_finite": z[0], "z_asymptotic": z[1],
                                 "method": fin.methods[f]})
    params = {k: v for k, v in P.items() if k != "laws"}
    params["laws"] = {k: v.to_dict() for k, v in P["laws"].items()}
    rep = FiniteValidationReport(bool(quick), params, rows, time.time() - t0)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_markdown(rep))
        rep.report_path = path
    return rep


def _markdown(rep: FiniteValidationReport) -> str:
    from .. import __version__
    P = rep.params
    t = rep.totals()
    out = [f"# dcpredict finite-size validation report ({'quick' if rep.quick else 'full'})", "",
           f"- Command: `dcpredict validate --finite-size{' --quick' if rep.quick else ''}`; date (UTC) "
           f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())}; dcpredict {__version__}; run time {rep.elapsed:.0f} s",
           f"- Grid: the one of `dcpredict validate`: n = {P['n']}, {P['trials']} trials per point, kappa in "
           f"{P['kappas']}, alpha in {P['alphas']}, ridge in {P['ridges']}, laws {', '.join(P['laws'])}.",
           "- z = (simulation - theory) / se for the finite-size prediction (`finite_size=True`) and for the "
           "asymptotic one at the instance's ratios p/n, s/p.  With ridge > 0 the finite-size mode is the "
           "asymptotic (no correction), so those rows coincide.", "",
           "| rows | finite-size mean z | sd | asymptotic mean z | sd | count |", "|---|---|---|---|---|---|"]
    for part, label in (("ridge0", "ridge 0"), ("all", "all")):
        f, a = t[part]["finite"], t[part]["asymptotic"]
        out.append(f"| {label} | {f['mean']:+.2f} | {f['sd']:.2f} | {a['mean']:+.2f} | {a['sd']:.2f} | {f['count']} |")
    out += ["", "| law | kappa | alpha | ridge | p | s | field | simulation (mean +- se) | finite | z | asymptotic | z "
            "| method |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rep.rows:
        out.append(f"| {r['law']} | {r['kappa']:g} | {r['alpha']:g} | {r['ridge']:g} | {r['p']} | {r['s']} | "
                   f"{r['field']} | {r['sim']:.5g} +- {r['se']:.2g} | {r['finite']:.5g} | {r['z_finite']:+.2f} | "
                   f"{r['asymptotic']:.5g} | {r['z_asymptotic']:+.2f} | {r['method']} |")
    return "\n".join(out) + "\n"
