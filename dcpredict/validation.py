"""Theory against simulation on a grid of cases: ``dcpredict validate [--quick]``.

Every risk that :func:`dcpredict.predict` computes (theory page, sections :ref:`theory-dc`,
:ref:`theory-pruning`, :ref:`theory-retraining` and :ref:`theory-world`: dense, magnitude, Hessian, random,
oracle pruning, training small on the s best features (small_oracle) and the three fresh-sample
retrainings) is compared with the Monte Carlo mean of :func:`dcpredict.simulate_sweep` on a grid of
cases: several laws (a few-atom law, the isotropic law, the empirical law of power-law draws), kappa in
both regimes and near the interpolation threshold, ridge 0 and > 0, two sparsity targets alpha.

Pass rule.  With ``se`` the Monte Carlo standard error of the simulation mean::

    pass  iff  |sim - theory| <= 4 se + margin * theory,

    margin = 0.03 + 2 / (n |1 - rho|),

where rho is the aspect ratio of the least-squares fit that produced the field: rho = p/n for the
dense fit and the pruned-only fields (dense, magnitude, Hessian, random, oracle_pruned), rho = s/n for
the fits on a support of size s (small_oracle and the fresh-sample retrainings).  Why: the theory is the p -> infinity
limit of the finite instance the simulator draws.  Two finite-size effects remain at p of a few
hundred: (i) the variance of a least-squares fit at finite n is larger than its limit by a relative
O(1 / (n abs(1 - rho))) -- e.g. OLS with isotropic features has expected risk
sigma^2 (1 + p / (n - p - 1)) against the limit sigma^2 (1 + p / (n - p)), and min-norm
n / (p - n - 1) against n / (p - n) -- which blows up near the interpolation threshold; the rule
allows twice that; (ii) pruning keeps exactly s = round(alpha p) coordinates where the limit uses a
threshold, an O(1 / sqrt(p)) effect that is a few percent at these p; the constant 3 % covers it.
The margin is the same for ridge > 0 (conservative there: ridge removes the singularity).
The atom weights of the laws are chosen so that w_k p is an integer at every p of both grids, so the
simulated instance is exactly the law (no rounding of atom counts enters the comparison).
Same-sample retraining (``*_retrained_same``) has no exact DC (:ref:`theory-retraining`): it is reported next to
the fresh-sample prediction for information only, never pass/fail.

The fixed world (theory page, section :ref:`theory-world`).  A second table compares
:func:`dcpredict.predict_world` with :func:`dcpredict.simulate_world` (a world of P features, the model fits
the first p by saliency or in a random order, pruned to s): every rule including ``oracle_pruned`` and
``small_oracle``, and the baselines ``small_random`` and ``small_top_variance``; both orders, ridge 0 and
> 0, p < n and p > n.  Same pass rule, with rho = p/n for the model's own fit and its pruned versions and
rho = s/n for every fit on s columns (small_*, fresh-sample retraining).  The world's atom counts w_k P
are integers, so the simulated world is exactly the law.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import RISK_FIELDS
from ._results import Result
from ._validate import check_int
from .law import Law
from .simulation import BASE_MARGIN, SLOPE_MARGIN, Z_LIMIT  # the pass rule (defined there: no import circle)

__all__ = ["run_validation", "ValidationReport", "validation_cases", "world_validation_cases", "margin_for",
           "Z_LIMIT", "BASE_MARGIN", "SLOPE_MARGIN"]

SIGMA2 = 0.25
SAME = {"magnitude_retrained_same": "magnitude_retrained", "hessian_retrained_same": "hessian_retrained",
        "random_retrained_same": "random_retrained"}
SUPPORT_FIELDS = ("small_oracle", "magnitude_retrained", "hessian_retrained", "random_retrained",
                  "small_random", "small_top_variance")
#: fields of the fixed-world table (pass/fail); the *_retrained_same fields are information
WORLD_FIELDS = tuple(RISK_FIELDS) + ("small_random", "small_top_variance")


def margin_for(field_name: str, *, n: int, p: int, s: int) -> float:
    """Finite-size relative margin of the pass rule (module docstring)."""
    rho = (s if field_name in SUPPORT_FIELDS or field_name in SAME else p) / n
    gap = abs(1.0 - rho)
    return BASE_MARGIN + (SLOPE_MARGIN / (n * gap) if gap > 0 else math.inf)


def _laws() -> dict[str, Law]:
    rng = np.random.default_rng(12345)
    m = 10  # divides p = kappa n for every kappa and n of the grids: the instance is exactly the law
    lam = 0.1 * 100.0 ** rng.random(m)        # log-uniform on [0.1, 10] (power law, exponent 1)
    b = rng.standard_normal(m)
    return {
        "three-atom": Law([4.0, 1.0, 0.25], [1.0, 0.5, 2.0], [0.2, 0.3, 0.5]),  # saliencies 4, 0.25, 1
        "isotropic": Law([1.0], [1.0]),
        "power-law-empirical": Law.empirical(lam, b),
    }


def validation_cases(quick: bool) -> dict[str, Any]:
    """The grid: laws, kappas, alphas, ridges, n, trials, seed."""
    laws = _laws()
    if quick:
        return {"laws": {k: laws[k] for k in ("three-atom", "power-law-empirical")},
                "kappas": [0.5, 1.3, 3.0], "alphas": [0.5], "ridges": [0.0, 0.2], "n": 100, "trials": 100,
                "seed": 1, "sigma2": SIGMA2}
    return {"laws": laws, "kappas": [0.5, 0.8, 1.25, 3.0], "alphas": [0.3, 0.7], "ridges": [0.0, 0.2],
            "n": 200, "trials": 300, "seed": 1, "sigma2": SIGMA2}


def world_validation_cases(quick: bool) -> dict[str, Any]:
    """The fixed-world grid: laws, n, P, s, cases (order, ridge, ps), trials, seed."""
    laws = _laws()
    if quick:
        return {"laws": {"three-atom": laws["three-atom"]}, "n": 100, "P": 200, "s": 10, "trials": 100, "seed": 1,
                "sigma2": SIGMA2,
                "cases": [("saliency", 0.0, [50, 150, 200]), ("random", 0.0, [50, 150]), ("saliency", 0.2, [150])]}
    # the paper's Fig. 3b world: Sigma spiked (4 % of the features have variance 10), beta flat
    laws = {"three-atom": laws["three-atom"], "spiked-Sigma": Law([10.0, 1.0], [1.0, 1.0], [0.04, 0.96])}
    return {"laws": laws, "n": 200, "P": 1000, "s": 40, "trials": 300, "seed": 1, "sigma2": SIGMA2,
            "cases": [(order, ridge, [100, 300, 600] + ([1000] if order == "saliency" else []))
                      for order in ("saliency", "random") for ridge in (0.0, 0.2)]}


@dataclass(repr=False)
class ValidationReport(Result):
    """Rows (one per case and field; ``world_rows``: the fixed-world table), totals, and the files written."""
    quick: bool
    params: dict
    rows: list[dict] = field(repr=False)
    elapsed: float = 0.0
    report_path: Path | None = None
    plot_path: Path | None = None
    world_rows: list[dict] = field(default_factory=list, repr=False)
    compression_rows: list[dict] = field(default_factory=list, repr=False)

    @property
    def all_rows(self) -> list[dict]:
        return self.rows + self.world_rows + self.compression_rows

    @property
    def checked(self) -> list[dict]:
        return [r for r in self.all_rows if r["status"] in ("pass", "FAIL")]

    @property
    def failures(self) -> list[dict]:
        return [r for r in self.all_rows if r["status"] == "FAIL"]

    @property
    def passed(self) -> bool:
        return not self.failures

    def totals(self) -> dict[str, Any]:
        chk = self.checked
        zs = np.array([r["z"] for r in chk if math.isfinite(r["z"])])
        worst = max(chk, key=lambda r: abs(r["z"])) if chk else None
        return {"cases": len({(r["law"], r.get("order"), r["kappa"], r["alpha"], r["ridge"]) for r in self.all_rows}),
                "comparisons": len(chk), "passed": len(chk) - len(self.failures), "failed": len(self.failures),
                "within_4se_alone": int(np.sum(np.abs(zs) <= Z_LIMIT)),
                "max_abs_z": float(np.max(np.abs(zs))) if zs.size else math.nan,
                "worst": None if worst is None else _label(worst),
                "mean_z": float(zs.mean()) if zs.size else math.nan, "informational": len(self.all_rows) - len(chk),
                "world_comparisons": sum(r["status"] in ("pass", "FAIL") for r in self.world_rows)}

    def to_dict(self) -> dict[str, Any]:
        """The grid's parameters, the totals and every row (JSON-ready)."""
        return {"quick": self.quick, "params": self.params, "totals": self.totals(), "elapsed": self.elapsed,
                "report_path": None if self.report_path is None else str(self.report_path),
                "plot_path": None if self.plot_path is None else str(self.plot_path), "rows": self.all_rows}

    def _records(self) -> list[dict[str, Any]]:
        return self.all_rows

    def __repr__(self) -> str:
        t = self.totals()
        return (f"ValidationReport({'quick' if self.quick else 'full'}: {t['comparisons']} comparisons, "
                f"{t['passed']} pass, {t['failed']} fail)")

    def summary(self) -> str:
        t = self.totals()
        lines = [f"validation ({'quick' if self.quick else 'full'}): {t['cases']} cases, {t['comparisons']} "
                 f"comparisons: {t['passed']} pass, {t['failed']} fail; max |z| = {t['max_abs_z']:.2f} "
                 f"({t['worst']}); {t['within_4se_alone']} within 4 se without margin"]
        for r in self.failures:
            lines.append(f"  FAIL {_label(r)}: theory {r['theory']:.5g}, sim {r['sim']:.5g} +- {r['se']:.2g} "
                         f"(z = {r['z']:.2f}, allowed {r['allowed']:.3g})")
        return "\n".join(lines)


def _label(r: dict) -> str:
    if "order" in r:
        return (f"{r['law']} world P={r['P']} p={r['p']} s={r['s']} order={r['order']} ridge={r['ridge']:g} "
                f"{r['field']}")
    return f"{r['law']} kappa={r['kappa']:g} alpha={r['alpha']:g} ridge={r['ridge']:g} {r['field']}"


def run_validation(quick: bool = False, out_dir: str | Path | None = "validation", workers: int | None = None,
                   progress: bool = True, finite_size: bool = False) -> ValidationReport:
    """Run the grid, write ``out_dir/REPORT.md`` and ``out_dir/summary.png`` (quick: ``REPORT_quick.md``,
    ``summary_quick.png``); ``out_dir=None`` writes nothing.  Returns the report (``.passed``).
    ``progress`` (default True): a ``[k/K]`` line per stage and bars with estimates on stderr.

    ``finite_size=True``: the same grid compared with the finite-size predictions and the asymptotic ones side
    by side (z-scores, no pass/fail; :func:`dcpredict.finite.validation.run_finite_validation`, report
    ``out_dir/FINITE_REPORT.md``)."""
    if finite_size is not False:  # finite-size mode: all logic in dcpredict.finite
        from .finite.validation import run_finite_validation
        return run_finite_validation(quick=quick, out_dir=out_dir, workers=workers, progress=progress)
    from .simulation import simulate_sweep
    from .theory import predict
    if workers is not None:
        workers = check_int("workers", workers, lo=1)
    if out_dir is not None:
        from ._store import check_outputs
        suffix = "_quick" if quick else ""
        check_outputs([Path(out_dir) / f"REPORT{suffix}.md", Path(out_dir) / f"summary{suffix}.png"],
                      "validation output")
    t0 = time.time()
    P = validation_cases(bool(quick))
    rows: list[dict] = []
    from ._progress import stage
    K = len(P["laws"]) * len(P["ridges"]) + 2
    k = 0
    for law_name, law in P["laws"].items():
        for ridge in P["ridges"]:
            k += 1
            stage(k, K, f"validate: law {law_name}, ridge {ridge:g}: {len(P['kappas'])} kappas x "
                        f"{len(P['alphas'])} alphas x {P['trials']} trials", enabled=progress)
            sims = simulate_sweep(law, kappas=P["kappas"], alphas=P["alphas"], sigma2=P["sigma2"], ridge=ridge,
                                  n=P["n"], trials=P["trials"], seed=P["seed"], workers=workers, progress=progress)
            for res in sims:
                pred = predict(law, kappa=res.kappa, alpha=res.alpha, sigma2=P["sigma2"], ridge=ridge)
                mean, se = res.mean, res.stderr
                for f in (*RISK_FIELDS, *SAME):
                    ref = SAME.get(f, f)
                    th = float(getattr(pred, ref))
                    d = mean[f] - th
                    z = d / se[f] if se[f] > 0 else (0.0 if d == 0 else math.copysign(math.inf, d))
                    margin = margin_for(f, n=res.n, p=res.p, s=res.s)
                    allowed = Z_LIMIT * se[f] + margin * th
                    if f in SAME:
                        status = "info"
                    else:
                        status = "pass" if (math.isfinite(th) and abs(d) <= allowed) else "FAIL"
                    rows.append({"law": law_name, "kappa": res.kappa, "alpha": res.alpha, "ridge": ridge,
                                 "n": res.n, "p": res.p, "s": res.s, "field": f, "theory": th,
                                 "sim": mean[f], "se": se[f], "z": z, "rel": d / th if th else math.nan,
                                 "margin": margin, "allowed": allowed, "status": status})
    params = {k: v for k, v in P.items() if k != "laws"}
    params["laws"] = {k: v.to_dict() for k, v in P["laws"].items()}
    W = world_validation_cases(bool(quick))
    # the quick world's tasks take about a millisecond each: starting a process pool would cost more than it saves
    stage(K - 1, K, "validate: the fixed world", enabled=progress)
    world_rows = _world_rows(W, 1 if quick else workers, progress)
    params["world"] = {**{k: v for k, v in W.items() if k != "laws"},
                       "laws": {k: v.to_dict() for k, v in W["laws"].items()}}
    from .compression_sim import validation_rows as compression_rows
    stage(K, K, "validate: compression (quantization, iterative pruning)", enabled=progress)
    comp_rows = compression_rows(bool(quick), workers or 1, progress)
    rep = ValidationReport(bool(quick), params, rows, time.time() - t0, world_rows=world_rows,
                           compression_rows=comp_rows)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        suffix = "_quick" if quick else ""
        rep.plot_path = out / f"summary{suffix}.png"
        from .plotting import draw_validation
        draw_validation(rep, rep.plot_path)
        rep.report_path = out / f"REPORT{suffix}.md"
        rep.report_path.write_text(_markdown(rep, workers))
    return rep


def _compare(f: str, th: float, mean: float, se: float, margin: float) -> tuple[float, float, str]:
    """(z, allowed, status) of one comparison (module docstring)."""
    d = mean - th
    z = d / se if se > 0 else (0.0 if d == 0 else math.copysign(math.inf, d))
    allowed = Z_LIMIT * se + margin * th
    if f in SAME:
        return z, allowed, "info"
    return z, allowed, ("pass" if (math.isfinite(th) and abs(d) <= allowed) else "FAIL")


def _world_rows(W: dict, workers: int | None, progress: bool) -> list[dict]:
    """The fixed-world table: predict_world against simulate_world on every case of ``W``."""
    from .world import predict_world
    from .world_simulation import simulate_world
    rows: list[dict] = []
    n, P, s = W["n"], W["P"], W["s"]
    for law_name, law in W["laws"].items():
        for order, ridge, ps in W["cases"]:
            res = simulate_world(law, n=n, P=P, ps=ps, s=s, sigma2=W["sigma2"], ridge=ridge, order=order,
                                 trials=W["trials"], seed=W["seed"], workers=workers, progress=progress)
            mean, se = res.mean, res.stderr
            for i, p in enumerate(res.ps):
                pred = predict_world(law, n=n, P=P, p=p, s=s, sigma2=W["sigma2"], ridge=ridge, order=order)
                for f in (*WORLD_FIELDS, *SAME):
                    th = float(getattr(pred, SAME.get(f, f)))
                    m, e = float(mean[f][i]), float(se[f][i])
                    margin = margin_for(f, n=n, p=p, s=s)
                    z, allowed, status = _compare(f, th, m, e, margin)
                    rows.append({"law": law_name, "order": order, "P": P, "kappa": p / n, "alpha": s / p,
                                 "ridge": ridge, "n": n, "p": p, "s": s, "field": f, "theory": th, "sim": m, "se": e,
                                 "z": z, "rel": (m - th) / th if th else math.nan, "margin": margin,
                                 "allowed": allowed, "status": status})
    return rows


def _fmt_law(law: dict) -> str:
    lam, b, w = law["lam"], law["b"], law["weights"]
    if len(lam) > 4:
        return f"{len(lam)} atoms (empirical law), lam in [{min(lam):.3g}, {max(lam):.3g}], weights 1/{len(lam)}"
    return f"lam={[round(x, 4) for x in lam]}, B={[round(x, 4) for x in b]}, weights={[round(x, 4) for x in w]}"


def _markdown(rep: ValidationReport, workers: int | None) -> str:
    from . import __version__
    P = rep.params
    t = rep.totals()
    cmd = "dcpredict validate" + (" --quick" if rep.quick else "")
    out = [f"# dcpredict validation report ({'quick' if rep.quick else 'full'})", "",
           f"- Command: `{cmd}`" + (f" (workers: {workers})" if workers else ""),
           f"- Date (UTC): {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}; dcpredict {__version__}; "
           f"run time {rep.elapsed:.0f} s",
           f"- Result: **{'PASS' if rep.passed else 'FAIL'}** -- {t['comparisons']} comparisons in {t['cases']} cases: "
           f"{t['passed']} pass, {t['failed']} fail; largest |z| = {t['max_abs_z']:.2f} ({t['worst']}); "
           f"{t['within_4se_alone']} of {t['comparisons']} are within 4 standard errors without any margin; "
           f"mean z = {t['mean_z']:.2f}",
           f"- Simulation: `simulate_sweep`, n = {P['n']}, {P['trials']} trials per point, seed {P['seed']}, "
           f"sigma^2 = {P['sigma2']}, p = round(kappa n), s = round(alpha p); theory: `predict` (theory page, sections 2-4 and 7).",
           f"- Grid: kappa in {P['kappas']}, alpha in {P['alphas']}, ridge in {P['ridges']}; laws:"]
    for name, law in P["laws"].items():
        out.append(f"  - {name}: {_fmt_law(law)}")
    out += ["",
            "## Pass rule",
            "",
            f"pass iff |sim - theory| <= {Z_LIMIT:g} se + margin x theory, with the finite-size margin "
            f"margin = {BASE_MARGIN:g} + {SLOPE_MARGIN:g} / (n |1 - rho|), rho = p/n for dense and pruned-only "
            "fields (oracle_pruned included), rho = s/n for small_oracle, the small_* baselines and the "
            "fresh-sample retrained fields (the fit on the support).",
            "The theory is the p -> infinity limit; at finite n the variance of a least-squares fit exceeds its "
            "limit by a relative O(1/(n|1 - rho|)) (isotropic OLS: sigma^2 p/(n-p-1) vs sigma^2 p/(n-p); "
            "min-norm: n/(p-n-1) vs n/(p-n)), largest near the interpolation threshold; the rule allows twice "
            "that.  Exact top-s selection vs the limit threshold is an O(1/sqrt(p)) effect, a few percent at "
            f"these p, covered by the constant {BASE_MARGIN:g}.  `z = (sim - theory)/se`.",
            "Rows marked `info` are same-sample retraining, which has no exact DC (theory page, section 4): they are "
            "compared with the fresh-sample prediction for information only.", "",
            "## Results", "",
            "| law | kappa | alpha | ridge | p | s | field | theory | simulation (mean +- se) | rel. diff | z "
            "| margin | status |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rep.rows:
        out.append(f"| {r['law']} | {r['kappa']:g} | {r['alpha']:g} | {r['ridge']:g} | {r['p']} | {r['s']} | "
                   f"{r['field']} | {r['theory']:.5g} | {r['sim']:.5g} +- {r['se']:.2g} | {100 * r['rel']:+.2f}% | "
                   f"{r['z']:+.2f} | {100 * r['margin']:.1f}% | {r['status']} |")
    W = P.get("world")
    if W is not None and rep.world_rows:
        out += ["", "## The fixed world: predict_world vs simulate_world", "",
                f"- Simulation: `simulate_world`, a world of P = {W['P']} features, n = {W['n']}, s = {W['s']}, "
                f"{W['trials']} trials per p, seed {W['seed']}, sigma^2 = {W['sigma2']}; the model fits the first "
                "p features by true saliency (`saliency`) or in a random order drawn per trial (`random`); "
                "theory: `predict_world`.  Same pass rule (rho = p/n for the model's fit and its pruned "
                "versions, s/n for every fit on s columns: small_*, fresh-sample retraining).",
                "- Cases (order, ridge, p): " + "; ".join(f"{o}, {r:g}, {list(ps)}" for o, r, ps in W["cases"])
                + "; laws:"]
        for name, law in W["laws"].items():
            out.append(f"  - {name}: {_fmt_law(law)}")
        out += ["",
                "| law | order | ridge | P | p | p/n | s | field | theory | simulation (mean +- se) | rel. diff | z "
                "| margin | status |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rep.world_rows:
            out.append(f"| {r['law']} | {r['order']} | {r['ridge']:g} | {r['P']} | {r['p']} | {r['p'] / r['n']:.4g} | "
                       f"{r['s']} | {r['field']} | {r['theory']:.5g} | {r['sim']:.5g} +- {r['se']:.2g} | "
                       f"{100 * r['rel']:+.2f}% | {r['z']:+.2f} | {100 * r['margin']:.1f}% | {r['status']} |")
    if rep.compression_rows:
        out += ["", "## Beyond pruning: quantization and iterative pruning", "",
                "- Theory: `predict_quantized` / `predict_iterative` (theory page, section 9); simulation: "
                "`simulate_quantized` / `simulate_iterative` (fresh samples every round).  Same pass rule, with "
                "rho the aspect ratio of the fit closest to the interpolation threshold among the fits the field "
                "depends on.", "",
                "| law | kappa | alpha | ridge | p | s | field | theory | simulation (mean +- se) | rel. diff | z "
                "| margin | status |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rep.compression_rows:
            out.append(f"| {r['law']} | {r['kappa']:g} | {r['alpha']:g} | {r['ridge']:g} | {r['p']} | {r['s']} | "
                       f"{r['field']} | {r['theory']:.5g} | {r['sim']:.5g} +- {r['se']:.2g} | "
                       f"{100 * r['rel']:+.2f}% | {r['z']:+.2f} | {100 * r['margin']:.1f}% | {r['status']} |")
    out += ["", "## Totals", "",
            f"- comparisons (pass/fail): {t['comparisons']} (of which the fixed world: {t['world_comparisons']}); "
            f"pass: {t['passed']}; fail: {t['failed']}",
            f"- within 4 se without the margin: {t['within_4se_alone']}",
            f"- largest |z| among pass/fail rows: {t['max_abs_z']:.2f} ({t['worst']})",
            f"- informational rows (same-sample retraining): {t['informational']}",
            f"- summary plot: `{rep.plot_path.name if rep.plot_path else ''}`", ""]
    if rep.failures:
        out += ["## Failures", ""] + [f"- {_label(r)}: theory {r['theory']:.5g}, sim {r['sim']:.5g} +- "
                                      f"{r['se']:.2g}, z = {r['z']:.2f}" for r in rep.failures] + [""]
    return "\n".join(out)
