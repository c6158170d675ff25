"""Monte Carlo of quantization and iterative pruning on finite linear Gaussian problems.

Checks :mod:`dcpredict.compression` (theory page, section 9) the way :mod:`dcpredict.simulation` checks the
pruning risks, on the same finite instance (:func:`dcpredict.simulation.instance`: p = round(kappa n)
features, atom counts by largest remainders, beta_i = B_i / sqrt(p)) and with the same fits
(:func:`dcpredict._fit.fit_least_squares`: min-norm / OLS / ridge).  Every risk is the exact population
risk sigma^2 + (b - beta)^T Sigma (b - beta) (no test set).

- :func:`simulate_quantized`: fit, optionally prune to s = round(alpha p) (magnitude: largest ``|beta_hat_i|``;
  Hessian: largest lam_i beta_hat_i^2), quantize the kept coordinates of X = sqrt(p) beta_hat with the
  mid-tread quantizer of the theory (nearest level, halves away from zero, clipped at +-K step).
- :func:`simulate_iterative`: ``rounds`` rounds; round j keeps s_j = round(alpha^(j/rounds) p) of the current
  support by absolute coefficient and refits on FRESH samples: a new design for the kept columns only and labels
  whose noise includes the signal of every removed feature (the exact law of the labels, since removed
  features are independent of kept ones), as in the fresh-sample retraining of :mod:`dcpredict.simulation`.

Seeds: trial t of a run with root ``seed`` uses ``numpy.random.default_rng([seed, kind, t])`` (kind 1 for
quantization, 2 for iterative pruning), so a trial's numbers do not depend on the number of workers.
Statistics per field: mean and standard error std(ddof=1)/sqrt(trials).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._fit import fit_least_squares
from ._results import Result, fmt as _fmt
from ._select import top_indices
from ._validate import DCPredictError, check_choice, check_int, check_real
from .law import Law
from .simulation import instance

__all__ = ["CompressionSimResult", "simulate_quantized", "simulate_iterative", "validation_rows", "quantize"]

_KIND_QUANT = 1
_KIND_ITER = 2


def quantize(x: np.ndarray, step: float, bits: int) -> np.ndarray:
    """The mid-tread quantizer of the theory (nearest of {-K..K} step, halves away from zero; bits = 1: +-step)."""
    from .compression import quantizer_levels
    K, onebit = quantizer_levels(bits)
    x = np.asarray(x, dtype=np.float64)
    if onebit:
        return np.where(x >= 0.0, step, -step)
    j = np.minimum(np.floor(np.abs(x) / step + 0.5), K)
    return np.copysign(j * step, x)


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


@dataclass(frozen=True)
class _Spec:
    kind: int
    lam: np.ndarray
    beta: np.ndarray
    sigma2: float
    ridge: float
    n: int
    seed: int
    sizes: tuple[int, ...]          # quantization: (s,) ; iterative: (s_1, ..., s_R)
    bits: int = 0
    step: float = 0.0
    rule: str | None = None


def _risk_on(lam: np.ndarray, beta: np.ndarray, sigma2: float, S: np.ndarray, coef: np.ndarray) -> float:
    lb2 = lam * beta * beta
    d = coef - beta[S]
    return sigma2 + float(lb2.sum() - lb2[S].sum()) + float(np.dot(lam[S], d * d))


def _trial(spec: _Spec, trial: int) -> np.ndarray:
    from ._parallel import _BLAS
    with _BLAS.limit(1):
        return _trial_body(spec, trial)


def _trial_body(spec: _Spec, trial: int) -> np.ndarray:
    lam, beta, sigma2, n, r = spec.lam, spec.beta, spec.sigma2, spec.n, spec.ridge
    p = lam.size
    rng = np.random.default_rng([spec.seed, spec.kind, trial])
    sqrt_lam = np.sqrt(lam)
    X = rng.standard_normal((n, p))
    X *= sqrt_lam
    y = X @ beta + math.sqrt(sigma2) * rng.standard_normal(n)
    b_hat = fit_least_squares(X, y, r)
    allidx = np.arange(p)
    dense = _risk_on(lam, beta, sigma2, allidx, b_hat)
    if spec.kind == _KIND_QUANT:
        s = spec.sizes[0]
        if spec.rule is None or s >= p:
            S = allidx
        elif spec.rule == "magnitude":
            S = top_indices(np.abs(b_hat), s)
        else:
            S = top_indices(lam * b_hat * b_hat, s)
        coef = b_hat[S]
        xq = quantize(math.sqrt(p) * coef, spec.step, spec.bits) / math.sqrt(p)
        return np.array([_risk_on(lam, beta, sigma2, S, xq), _risk_on(lam, beta, sigma2, S, coef), dense])
    # iterative pruning with fresh samples per round
    out = np.empty(1 + 3 * len(spec.sizes))
    lb2 = lam * beta * beta
    signal = float(lb2.sum())
    S = allidx
    coef = b_hat
    for j, s in enumerate(spec.sizes):
        pos = top_indices(np.abs(coef), s)
        S = S[pos]
        out[1 + 3 * j] = s / p
        out[2 + 3 * j] = _risk_on(lam, beta, sigma2, S, coef[pos])
        Xf = rng.standard_normal((n, s))
        Xf *= sqrt_lam[S]
        noise2 = sigma2 + max(signal - float(lb2[S].sum()), 0.0)
        yf = Xf @ beta[S] + math.sqrt(noise2) * rng.standard_normal(n)
        coef = fit_least_squares(Xf, yf, r)
        out[3 + 3 * j] = _risk_on(lam, beta, sigma2, S, coef)
    out[0] = out[-1]
    return out


@dataclass(frozen=True)
class CompressionSimResult(Result):
    """Monte Carlo risks of one compression experiment: inputs, per-trial samples, mean and stderr per field.

    ``kind`` is "quantized" (fields quantized, unquantized, dense) or "iterative" (fields retrained, then per
    round j: round{j}_support = s_j / p, round{j}_pruned, round{j}_retrained).  ``samples`` has one row per
    trial, columns in the order of ``fields``.
    """
    kind: str
    law: Law
    kappa: float
    alpha: float
    sigma2: float
    ridge: float
    n: int
    p: int
    trials: int
    seed: int
    params: dict
    fields: tuple[str, ...]
    samples: np.ndarray = field(repr=False)

    @property
    def mean(self) -> dict[str, float]:
        m = self.samples.mean(axis=0)
        return {f: float(m[i]) for i, f in enumerate(self.fields)}

    @property
    def stderr(self) -> dict[str, float]:
        se = self.samples.std(axis=0, ddof=1) / math.sqrt(self.trials)
        return {f: float(se[i]) for i, f in enumerate(self.fields)}

    def to_dict(self) -> dict[str, Any]:
        m, se = self.mean, self.stderr
        d: dict[str, Any] = {"kind": self.kind, "kappa": self.kappa, "alpha": self.alpha, "sigma2": self.sigma2,
                             "ridge": self.ridge, "n": self.n, "p": self.p, "trials": self.trials, "seed": self.seed,
                             **self.params, "law": self.law.to_dict()}
        for f in self.fields:
            d[f] = {"mean": m[f], "stderr": se[f]}
        return d

    def _plot(self, ax) -> None:
        """Each field's mean with its ±1 standard-error bar, one position per field."""
        from ._results import plot_categories
        plot_categories(ax, self.mean, self.stderr, ylabel="test risk (simulation, mean ± 1 se)",
                        title=f"{self.kind}: kappa = {self.kappa:g}, alpha = {self.alpha:g}, n = {self.n}, "
                              f"p = {self.p}, {self.trials} trials")

    def _records(self) -> list[dict[str, Any]]:
        m, se = self.mean, self.stderr
        base = {"kind": self.kind, "kappa": self.kappa, "alpha": self.alpha, "n": self.n, "p": self.p,
                "trials": self.trials}
        return [{**base, "field": f, "mean": m[f], "stderr": se[f]} for f in self.fields]

    def summary(self) -> str:
        m, se = self.mean, self.stderr
        extra = " ".join(f"{k}={v}" for k, v in self.params.items())
        lines = [f"compression simulation ({self.kind}): kappa={self.kappa:g} alpha={self.alpha:g} n={self.n} "
                 f"p={self.p} sigma2={self.sigma2:g} ridge={self.ridge:g} trials={self.trials} seed={self.seed} "
                 f"{extra}",
                 f"  {'field':<22}{'mean':>14}{'stderr':>12}"]
        lines += [f"  {f:<22}{_fmt(m[f], 8):>14}{se[f]:>12.3g}" for f in self.fields]
        return "\n".join(lines)

    def __repr__(self) -> str:
        main = self.fields[0]
        return (f"<CompressionSimResult {self.kind} kappa={self.kappa:g} alpha={self.alpha:g} n={self.n} "
                f"trials={self.trials} {main}={self.mean[main]:.6g}>")


def _common(law: Any, kappa: Any, sigma2: Any, ridge: Any, n: Any, trials: Any, seed: Any, workers: Any):
    if not isinstance(law, Law):
        raise DCPredictError(f"law must be a dcpredict.Law; got {type(law).__name__}")
    kappa = check_real("kappa", kappa, lo=0.0, lo_open=True)
    sigma2 = check_real("sigma2", sigma2, lo=0.0)
    ridge = check_real("ridge", ridge, lo=0.0)
    n = check_int("n", n, lo=2)
    trials = check_int("trials", trials, lo=2)
    seed = check_int("seed", seed, lo=0)
    workers = check_int("workers", workers, lo=1)
    if _round_half_up(kappa * n) < 1:
        raise DCPredictError(f"kappa must give p = round(kappa * n) >= 1; got kappa={kappa!r} with n={n}")
    return law, kappa, sigma2, ridge, n, trials, seed, workers


def _run(spec: _Spec, trials: int, workers: int, fields: tuple[str, ...], *, point: tuple[float, float, int, int],
         header: dict, out: Any = None, scheduler: Any = None, progress: bool = True) -> np.ndarray:
    """Every trial, on the local pool or a Dask cluster; with ``out`` a resumable trial log (one JSON line per
    finished trial, :class:`dcpredict._store.TrialLog`: rerun the same call to resume, with more trials to
    extend; trials are seeded individually, so the numbers do not depend on interruptions or workers)."""
    from ._parallel import run_dask, run_parallel
    kappa, alpha, p, s = point
    samples = np.empty((trials, len(fields)))
    filled = np.zeros(trials, dtype=bool)
    store = None
    if out is not None:
        from ._store import TrialLog
        store = TrialLog(out, header, fields=fields, points={(kappa, alpha): (p, s)}, seed=spec.seed, n=spec.n)
        for (_k, _a, t), row in store.open().items():
            if t < trials:
                samples[t] = row
                filled[t] = True
    from ._progress import bar as _bar, note
    if filled.any():
        note(f"resumed {out}: {int(filled.sum())} trials read back, {int((~filled).sum())} to run", enabled=progress)
    bar = _bar(int((~filled).sum()), f"simulate {header.get('mode', '')}", enabled=progress)
    try:
        tasks = ((spec, t) for t in range(trials) if not filled[t])
        if scheduler is not None:
            from ._limits import check_scheduler
            runner = run_dask(tasks, check_scheduler(scheduler), _trial)
        else:
            runner = run_parallel(_trial, tasks, workers)
        for (_, t), row in runner:
            samples[t] = row
            filled[t] = True
            if store is not None:
                rec = {"kappa": kappa, "alpha": alpha, "trial": t, "seed": spec.seed, "n": spec.n, "p": p, "s": s}
                rec.update({f: float(x) for f, x in zip(fields, row)})
                store.write_trials([rec])
            bar.update(1)
    finally:
        bar.close()
        if store is not None:
            store.close()
    if not np.isfinite(samples).all():
        raise DCPredictError("the simulation produced a non-finite risk: the problem is out of the range double "
                             "precision can simulate (check kappa, ridge and the scales of the law)")
    return samples


def simulate_quantized(law: Law, *, kappa: float, bits: int, sigma2: float, step: float | None = None,
                       ridge: float = 0.0, alpha: float | None = None, rule: str | None = None, n: int,
                       trials: int, seed: int = 0, workers: int = 1, out: Any = None,
                       scheduler: Any = None, progress: bool = True) -> CompressionSimResult:
    """Monte Carlo of :func:`dcpredict.compression.predict_quantized` at a given step.

    ``step`` (in the scale of sqrt(p) beta_hat) defaults to the step the theory finds optimal
    (``predict_quantized(...).step``), so the simulation measures the risk at that same step.  ``alpha`` and
    ``rule`` prune first (s = round(alpha p), at least 1).  Other arguments as in
    :func:`dcpredict.simulate`; ``workers`` > 1 runs trials on a process pool (results are identical);
    ``out`` a resumable trial log (see :func:`_run`), ``scheduler`` a Dask scheduler address; ``progress``
    (default True) a bar on stderr.
    """
    law, kappa, sigma2, ridge, n, trials, seed, workers = _common(law, kappa, sigma2, ridge, n, trials, seed,
                                                                  workers)
    from .compression import MAX_BITS, PRUNE_RULES, predict_quantized
    bits = check_int("bits", bits, lo=1, hi=MAX_BITS)
    if (alpha is None) != (rule is None):
        raise DCPredictError(f"alpha and rule must be given together; got alpha={alpha!r}, rule={rule!r}")
    if rule is not None:
        rule = check_choice("rule", rule, PRUNE_RULES)
        alpha = check_real("alpha", alpha, lo=0.0, lo_open=True, hi=1.0)
    else:
        alpha = 1.0
    if step is None:
        th = predict_quantized(law, kappa=kappa, bits=bits, sigma2=sigma2, ridge=ridge,
                               alpha=None if rule is None else alpha, rule=rule)
        if th.step is None or not (0.0 < th.step < math.inf):
            raise DCPredictError(f"the theory has no finite optimal step here (step={th.step}); give step explicitly")
        step = th.step
    step = check_real("step", step, lo=0.0, lo_open=True)
    lam, beta = instance(law, kappa, n)
    p = lam.size
    s = max(1, _round_half_up(alpha * p))
    spec = _Spec(_KIND_QUANT, lam, beta, sigma2, ridge, n, seed, (s,), bits, step, rule)
    fields = ("quantized", "unquantized", "dense")
    header = {"mode": "quantized", "law": law.to_dict(), "kappa": kappa, "alpha": alpha, "bits": bits, "step": step,
              "rule": rule, "sigma2": sigma2, "ridge": ridge, "n": n, "seed": seed}
    samples = _run(spec, trials, workers, fields, point=(kappa, alpha, p, s), header=header, out=out,
                   scheduler=scheduler, progress=progress)
    return CompressionSimResult("quantized", law, kappa, alpha, sigma2, ridge, n, p, trials, seed,
                                {"bits": bits, "step": step, "rule": rule, "s": s}, fields, samples)


def simulate_iterative(law: Law, *, kappa: float, alpha: float, rounds: int, sigma2: float, ridge: float = 0.0,
                       n: int, trials: int, seed: int = 0, workers: int = 1, out: Any = None,
                       scheduler: Any = None, progress: bool = True) -> CompressionSimResult:
    """Monte Carlo of :func:`dcpredict.compression.predict_iterative` with fresh samples in every round.

    Round j keeps s_j = round(alpha^(j/rounds) p) (at least 1; s_rounds = round(alpha p)) of the current
    support by absolute coefficient and refits on fresh samples (see the module docstring).  ``progress``
    (default True): a bar on stderr.
    """
    law, kappa, sigma2, ridge, n, trials, seed, workers = _common(law, kappa, sigma2, ridge, n, trials, seed,
                                                                  workers)
    alpha = check_real("alpha", alpha, lo=0.0, lo_open=True, hi=1.0)
    rounds = check_int("rounds", rounds, lo=1, hi=1000)
    lam, beta = instance(law, kappa, n)
    p = lam.size
    sizes = tuple(max(1, _round_half_up(alpha ** ((j + 1) / rounds) * p)) for j in range(rounds))
    spec = _Spec(_KIND_ITER, lam, beta, sigma2, ridge, n, seed, sizes)
    fields = ("retrained",) + tuple(f"round{j + 1}_{x}" for j in range(rounds)
                                    for x in ("support", "pruned", "retrained"))
    header = {"mode": "iterative", "law": law.to_dict(), "kappa": kappa, "alpha": alpha, "rounds": rounds,
              "sigma2": sigma2, "ridge": ridge, "n": n, "seed": seed}
    samples = _run(spec, trials, workers, fields, point=(kappa, alpha, p, sizes[-1]), header=header, out=out,
                   scheduler=scheduler, progress=progress)
    return CompressionSimResult("iterative", law, kappa, alpha, sigma2, ridge, n, p, trials, seed,
                                {"rounds": rounds, "sizes": list(sizes)}, fields, samples)


# ------------------------------------------------------------------------------ validation rows
def validation_rows(quick: bool = True, workers: int = 1, progress: bool = True) -> list[dict]:
    """Theory vs simulation rows for quantization and iterative pruning, in the row format of
    :func:`dcpredict.validation.run_validation` (keys law, kappa, alpha, ridge, n, p, s, field, theory, sim, se,
    z, rel, margin, allowed, status) and with its pass rule: ``|sim - theory| <= 4 se + margin * theory``,
    ``margin = 0.03 + 2 / (n |1 - rho|)`` with rho the aspect ratio of the fit closest to the interpolation
    threshold among the fits the field depends on (the dense fit; for iterative pruning also every refit).
    """
    from .compression import predict_iterative, predict_quantized
    from .simulation import BASE_MARGIN, SLOPE_MARGIN, Z_LIMIT
    workers = check_int("workers", workers, lo=1)
    law = Law([4.0, 1.0, 0.25], [1.0, 0.5, 2.0], [0.2, 0.3, 0.5])  # the validation's three-atom law
    name = "three-atom"
    sigma2 = 0.25
    n, trials = (100, 100) if quick else (200, 300)
    cases = [("quantized", dict(kappa=2.0, bits=3, ridge=0.0)),
             ("quantized", dict(kappa=0.5, bits=2, ridge=0.2)),
             ("quantized", dict(kappa=3.0, bits=2, ridge=0.0, alpha=0.3, rule="magnitude")),
             ("quantized", dict(kappa=3.0, bits=1, ridge=0.2, alpha=0.3, rule="hessian")),
             ("iterative", dict(kappa=3.0, alpha=0.2, rounds=2, ridge=0.0)),
             ("iterative", dict(kappa=6.0, alpha=0.1, rounds=3, ridge=0.2))]
    if not quick:
        cases += [("quantized", dict(kappa=1.3, bits=4, ridge=0.0)),
                  ("iterative", dict(kappa=4.0, alpha=0.3, rounds=3, ridge=0.0))]
    rows = []

    def margin(rhos: list[float]) -> float:
        gap = min(abs(1.0 - r) for r in rhos)
        return BASE_MARGIN + (SLOPE_MARGIN / (n * gap) if gap > 0 else math.inf)

    from ._progress import bar as _bar
    bar = _bar(len(cases), f"compression cases ({trials} trials each)", unit="case", enabled=progress)
    for kind, c in cases:
        bar.update(1)
        if kind == "quantized":
            th = predict_quantized(law, sigma2=sigma2, **c)
            sim = simulate_quantized(law, sigma2=sigma2, step=th.step, n=n, trials=trials, seed=1,
                                     workers=workers, progress=False, **c)
            tag = f"quantized_{c['bits']}bit" + ("" if "rule" not in c else f"_{c['rule']}")
            pairs = [(tag, th.risk, "quantized")]
            rhos = [sim.p / n]
            s = sim.params["s"]
        else:
            th = predict_iterative(law, sigma2=sigma2, **c)
            sim = simulate_iterative(law, sigma2=sigma2, n=n, trials=trials, seed=1, workers=workers, progress=False,
                                     **c)
            pairs = [(f"iterative_{c['rounds']}rounds", th.retrained, "retrained")]
            pairs += [(f"iterative_{c['rounds']}rounds_round{j + 1}_retrained", rr.retrained,
                       f"round{j + 1}_retrained") for j, rr in enumerate(th.rounds[:-1])]
            rhos = [sim.p / n] + [sz / n for sz in sim.params["sizes"]]
            s = sim.params["sizes"][-1]
        mean, se = sim.mean, sim.stderr
        mg = margin(rhos)
        for fname, theory, sfield in pairs:
            d = mean[sfield] - theory
            z = d / se[sfield] if se[sfield] > 0 else (0.0 if d == 0 else math.copysign(math.inf, d))
            allowed = Z_LIMIT * se[sfield] + mg * theory
            status = "pass" if (math.isfinite(theory) and abs(d) <= allowed) else "FAIL"
            rows.append({"law": name, "kappa": c["kappa"], "alpha": c.get("alpha", 1.0), "ridge": c["ridge"],
                         "n": n, "p": sim.p, "s": s, "field": fname, "theory": theory, "sim": mean[sfield],
                         "se": se[sfield], "z": z, "rel": d / theory if theory else math.nan, "margin": mg,
                         "allowed": allowed, "status": status})
    bar.close()
    return rows
