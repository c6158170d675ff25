"""``dcpredict predict`` and ``dcpredict curve``: the theory engine from the command line.

Both also take the fixed world (``--n N --world-size P --p ... --s S [--order saliency|random]``, which
excludes ``--kappa``/``--alpha``): ``predict`` at one p through :func:`dcpredict.predict_world` (``--json``: one
object with the nine risks and the baselines small_random, small_top_variance, zero_model), ``curve`` over
``--p`` (a comma list or START:STOP:NUM; default every integer from s to P, or 400 evenly spaced) through
:func:`dcpredict.predict_world_curve`: one row per p with the columns p, kappa (= p/n), alpha (= s/p), the
eight rule risks and the four baselines (CSV, or a JSON list of objects with those keys; inf where a risk
diverges).
"""
from __future__ import annotations

import argparse
import io

from .._validate import DCPredictError
from ._common import (OUT_RULE, RIDGE_HELP, add_law_arguments, dumps, float_grid, instance_world_size,
                      is_any_curve_output, law_from_args, ridge_arg, write_text)
from ._world import add_world_arguments, int_grid, integer, require, world_mode


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predicted test risks at one (kappa, alpha)",
                       description="Asymptotic test risk of the dense fit and of every pruning rule (theory page, sections 2-4 and 7); with --world-size: the fixed world (section 7).")
    add_law_arguments(p)
    _add_problem(p)
    p.add_argument("--kappa", default=None, help="overparameterization ratio p/n (> 0); a comma list (or "
                                                 "START:STOP:NUM) predicts every (kappa, alpha) pair")
    p.add_argument("--alpha", default=None, help="fraction of weights kept, in (0, 1]; a comma list too")
    add_world_arguments(p, p_help="model size p, s <= p <= P: one integer, or a comma list / START:STOP:NUM "
                                  "(one prediction per p)")
    p.add_argument("--precision", choices=("double", "mp"), default="double",
                   help="mp: solve at 50 digits with mpmath (slow; a certificate)")
    p.add_argument("--finite-size", action="store_true",
                   help="finite-size mode: expected risks at these n and p (exact where exact results exist, "
                        "approximate elsewhere; theory page, finite size); with --kappa/--alpha give --n")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (strict JSON: an infinite risk is the string \"inf\") with the "
                        "inputs and the nine risks; a JSON list of them for several points")
    p.add_argument("--quiet", action="store_true",
                   help="no progress output on stderr (shown for --ridge optimal on several points)")
    p.add_argument("--details", action="store_true",
                   help="with --json: also tau, gamma2, regime and thresholds")
    p.set_defaults(func=_predict)

    c = sub.add_parser("curve", help="risks over a sweep of kappa and/or alpha (CSV or JSON)",
                       description="Risks over every (kappa, alpha) pair, computed in parallel. Sweeps are "
                                   "comma lists, START:STOP:NUM or log:START:STOP:NUM.")
    add_law_arguments(c)
    _add_problem(c)
    c.add_argument("--kappa", default=None, help="kappa values, e.g. 0.5,2 or 0.1:5:50 or log:0.1:100:60")
    c.add_argument("--alpha", default=None, help="alpha values (default 1)")
    add_world_arguments(c, p_help="model sizes p in [s, P]: a comma list or START:STOP:NUM (default: every "
                                  "integer from s to P, or 10000 evenly spaced when there are more); one row per p")
    c.add_argument("--finite-size", action="store_true",
                   help="finite-size mode: expected risks at these n and p (exact where exact results exist, "
                        "approximate elsewhere; theory page, finite size); with --kappa/--alpha give --n")
    c.add_argument("--format", choices=("csv", "json"), default="csv")
    c.add_argument("--out", metavar="FILE", help="write to this file instead of stdout; " + OUT_RULE)
    c.add_argument("--quiet", action="store_true",
                   help="no progress output on stderr (a bar with an estimate for --ridge optimal)")
    c.set_defaults(func=_curve)


def _add_problem(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sigma2", type=float, required=True, help="label noise variance (>= 0)")
    p.add_argument("--ridge", type=ridge_arg, default=0.0, help=RIDGE_HELP)


def _world_common(args: argparse.Namespace) -> dict:
    require(args, "--n", "--s")
    return {"n": integer("--n", args.n), "P": integer("--world-size", args.world_size), "s": integer("--s", args.s),
            "sigma2": args.sigma2, "ridge": args.ridge, "order": args.order or "saliency"}


#: seconds one optimal-ridge search takes, about (used to refuse a curve that would run for hours)
_SECONDS_PER_TUNED_RULE = 0.8
_MAX_TUNED_SECONDS = 900.0


def _tuned_rows(law, kappa: float, alpha: float, sigma2: float, rules) -> list[dict]:
    """Each rule at its own optimal ridge (:func:`dcpredict.optimal_ridge`)."""
    from ..compression import optimal_ridge
    out = []
    for r in rules:
        o = optimal_ridge(law, kappa=kappa, alpha=alpha, sigma2=sigma2, rule=r)
        out.append({"rule": r, "ridge": o.ridge, "risk": o.risk, "risk_at_zero": o.risk_at_zero})
    return out


def _tuned_world_rows(law, p: int, common: dict) -> list[dict]:
    """The fixed world at the model size p, each rule at its own optimal ridge (small_oracle: the world's)."""
    from .. import RISK_FIELDS
    from ..advisor import _min_over_ridge
    from ..world import model_problem, world_baselines
    model, noise = model_problem(law, P=common["P"], p=p, sigma2=common["sigma2"], order=common["order"])
    rows = _tuned_rows(model, p / common["n"], common["s"] / p, noise, [r for r in RISK_FIELDS if r != "small_oracle"])
    kw = {k: common[k] for k in ("n", "P", "s", "sigma2")}
    for name in ("small_oracle", "small_random", "small_top_variance"):
        r_b, v_b = _min_over_ridge(lambda r: world_baselines(law, ridge=r, **kw)[name], float(law.expect(law.lam)))
        rows.append({"rule": name, "ridge": r_b, "risk": v_b, "risk_at_zero": world_baselines(law, **kw)[name]})
    return rows


def _check_tuned_work(points: int, rules: int, law=None) -> float:
    from ..compression import _ridge_search_seconds
    est = points * rules * (_SECONDS_PER_TUNED_RULE if law is None else _ridge_search_seconds(law))
    if est > _MAX_TUNED_SECONDS:
        raise DCPredictError(f"--ridge optimal on {points} points x {rules} rules would take about {est / 60:.0f} "
                             f"minutes (limit {_MAX_TUNED_SECONDS / 60:.0f}); use fewer --kappa/--alpha/--p values")
    return est


def _tuned_text(rows: list[dict]) -> str:
    lines = [f"{'rule':<22}{'best ridge':>14}{'risk':>16}{'risk at r=0':>16}"]
    lines += [f"{r['rule']:<22}{r['ridge']:>14.6g}{r['risk']:>16.10g}{r['risk_at_zero']:>16.10g}" for r in rows]
    return "\n".join(lines)


def _emit(objs: list, texts: list[str], as_json: bool) -> None:
    """One JSON object (one point) or a JSON list (several), or the tables separated by blank lines."""
    if as_json:
        write_text(dumps(objs[0] if len(objs) == 1 else objs) + "\n", None)
    else:
        write_text("\n\n".join(texts) + "\n", None)


def _predict_world(args: argparse.Namespace) -> int:
    from ..world import predict_world
    require(args, "--p")
    ps = int_grid("--p", args.p)
    law = law_from_args(args)
    common = _world_common(args)
    objs, texts = [], []
    for p in ps:
        if args.ridge == "optimal":
            rows = _tuned_world_rows(law, p, common)
            inputs = {"world": {**law.to_dict(), "P": common["P"]}, "n": common["n"], "p": p, "s": common["s"],
                      "sigma2": common["sigma2"], "ridge": "optimal", "order": common["order"]}
            head = (f"fixed world P = {common['P']}, n = {common['n']}, p = {p}, s = {common['s']}, "
                    f"order {common['order']}, sigma2 = {common['sigma2']:g}: each rule at its own optimal ridge")
            objs.append({**inputs, "rules": rows})
            texts.append(head + "\n" + _tuned_text(rows))
            continue
        pred = predict_world(law, p=p, precision=args.precision, finite_size=args.finite_size, **common)
        d = pred.to_dict()
        if not args.details:
            d = {k: d[k] for k in ("world", "n", "p", "s", "sigma2", "ridge", "order", "precision")} | pred.risks()
        objs.append(d)
        texts.append(pred.summary())
    _emit(objs, texts, args.json)
    return 0


def _curve_world(args: argparse.Namespace) -> int:
    from ..world import predict_world_curve
    ps = None if args.p is None else int_grid("--p", args.p)
    if args.ridge == "optimal":
        from .. import RISK_FIELDS
        from ..world import default_ps
        common = _world_common(args)
        ps = list(default_ps(common["s"], common["P"])) if ps is None else ps
        law = law_from_args(args)
        est = _check_tuned_work(len(ps), len(RISK_FIELDS) + 2, law)
        records = []
        from .._progress import bar as _bar
        bar = _bar(len(ps), f"curve --ridge optimal (estimate {est:.0f} s)", unit="p", enabled=not args.quiet)
        for p in ps:
            rec = {"p": int(p), "kappa": p / common["n"], "alpha": common["s"] / p}
            for row in _tuned_world_rows(law, int(p), common):
                rec[row["rule"]] = row["risk"]
                rec[f"ridge_{row['rule']}"] = row["ridge"]
            records.append(rec)
            bar.update(1)
        bar.close()
    else:
        curve = predict_world_curve(law_from_args(args), ps=ps, finite_size=args.finite_size, **_world_common(args))
        records = curve.records()
    if args.format == "json":   # every record also carries the scalar inputs (the law: in the command line)
        c = _world_common(args)
        extra = {"n": c["n"], "P": c["P"], "s": c["s"], "sigma2": c["sigma2"], "ridge": c["ridge"], "order": c["order"]}
        text = dumps([{**rec, **{k: v for k, v in extra.items() if k not in rec}} for rec in records]) + "\n"
    else:
        cols = list(records[0])
        buf = io.StringIO()
        buf.write(",".join(cols) + "\n")
        for rec in records:
            buf.write(",".join(str(rec[c]) if c == "p" else repr(float(rec[c])) for c in cols) + "\n")
        text = buf.getvalue()
    write_text(text, args.out, recognise=is_any_curve_output,
               what="a dcpredict curve output (CSV or JSON, kappa/alpha or fixed-world)")
    return 0


def _finite_checks(args: argparse.Namespace) -> None:
    if args.finite_size and args.ridge == "optimal":
        raise DCPredictError("--finite-size takes a numeric --ridge (its corrections are for ridge 0), not 'optimal'")
    if args.finite_size and args.world_size is None and args.n is None:
        raise DCPredictError("--finite-size with --kappa/--alpha needs --n N (the number of training samples)")


def _predict(args: argparse.Namespace) -> int:
    instance_world_size(args)
    _finite_checks(args)
    if world_mode(args):
        return _predict_world(args)
    if args.finite_size:  # kappa/alpha in finite-size mode: n samples, p = round(kappa n)
        from ..theory import predict
        if args.kappa is None or args.alpha is None:
            raise DCPredictError("give --kappa, --alpha and --n with --finite-size")
        law, n = law_from_args(args), integer("--n", args.n)
        objs, texts = [], []
        for k in float_grid("--kappa", args.kappa):
            for a in float_grid("--alpha", args.alpha):
                pred = predict(law, kappa=k, alpha=a, sigma2=args.sigma2, ridge=args.ridge, precision=args.precision,
                               finite_size=True, n=n)
                objs.append(pred.to_dict() if args.details else
                            {"law": law.to_dict(), "kappa": k, "alpha": a, "n": n, "sigma2": args.sigma2,
                             "ridge": args.ridge, "finite_size": True, **pred.risks()})
                texts.append(pred.summary())
        _emit(objs, texts, args.json)
        return 0
    if args.n is not None:
        raise DCPredictError("--n belongs to the fixed world (--world-size P --p ... --s S); with --kappa and "
                             "--alpha the theory needs no n")
    if args.kappa is None or args.alpha is None:
        raise DCPredictError("give --kappa and --alpha, or the fixed world --n N --world-size P --p ... --s S")
    kappas, alphas = float_grid("--kappa", args.kappa), float_grid("--alpha", args.alpha)
    law = law_from_args(args)
    objs, texts = [], []
    if args.ridge == "optimal":
        from .. import RISK_FIELDS
        if args.precision != "double":
            raise DCPredictError("--ridge optimal is solved in double precision; drop --precision mp")
        _check_tuned_work(len(kappas) * len(alphas), len(RISK_FIELDS))
        from .._progress import bar as _bar
        bar = _bar(len(kappas) * len(alphas), "predict --ridge optimal", unit="point",
                   enabled=not args.quiet and len(kappas) * len(alphas) > 1)
        for k in kappas:
            for a in alphas:
                bar.update(1)
                rows = _tuned_rows(law, k, a, args.sigma2, RISK_FIELDS)
                objs.append({"law": law.to_dict(), "kappa": k, "alpha": a, "sigma2": args.sigma2, "ridge": "optimal",
                             "rules": rows})
                texts.append(f"kappa = {k:g}, alpha = {a:g}, sigma2 = {args.sigma2:g}: each rule at its own "
                             "optimal ridge\n" + _tuned_text(rows))
        bar.close()
        _emit(objs, texts, args.json)
        return 0
    from ..theory import predict
    for k in kappas:
        for a in alphas:
            pred = predict(law, kappa=k, alpha=a, sigma2=args.sigma2, ridge=args.ridge, precision=args.precision)
            d = pred.to_dict()
            if not args.details:
                d = {key: d[key] for key in ("law", "kappa", "alpha", "sigma2", "ridge", "precision")} | pred.risks()
            objs.append(d)
            texts.append(pred.summary())
    _emit(objs, texts, args.json)
    return 0


def _curve(args: argparse.Namespace) -> int:
    instance_world_size(args)
    _finite_checks(args)
    if world_mode(args):
        return _curve_world(args)
    if args.finite_size:  # one finite-size prediction per (kappa, alpha): columns p, kappa, alpha, n, s, risks
        from .. import RISK_FIELDS
        from ..theory import predict
        if args.kappa is None:
            raise DCPredictError("give --kappa (and --alpha) and --n with --finite-size")
        n, law = integer("--n", args.n), law_from_args(args)
        alphas = float_grid("--alpha", "1" if args.alpha is None else args.alpha)
        records = []
        for k in float_grid("--kappa", args.kappa):
            for a in alphas:
                pr = predict(law, kappa=k, alpha=a, sigma2=args.sigma2, ridge=args.ridge, finite_size=True, n=n)
                records.append({"p": pr.p, "kappa": pr.p / n, "alpha": pr.s / pr.p, "n": n, "s": pr.s,
                                **pr.risks()})
        cols = ["p", "kappa", "alpha", "n", "s", *RISK_FIELDS]
        text = (dumps(records) + "\n" if args.format == "json" else
                ",".join(cols) + "\n" + "".join(",".join(repr(r[c]) for c in cols) + "\n" for r in records))
        write_text(text, args.out, recognise=is_any_curve_output)
        return 0
    if args.n is not None:
        raise DCPredictError("--n belongs to the fixed world (--world-size P --s S [--p ...]); a kappa/alpha "
                             "curve needs no n")
    if args.kappa is None:
        raise DCPredictError("give --kappa (and --alpha), or the fixed world --n N --world-size P --s S [--p ...]")
    args.alpha = "1" if args.alpha is None else args.alpha
    from .. import RISK_FIELDS
    from ..theory import predict_grid
    kappas, alphas = float_grid("--kappa", args.kappa), float_grid("--alpha", args.alpha)
    if args.ridge == "optimal":
        law = law_from_args(args)
        est = _check_tuned_work(len(kappas) * len(alphas), len(RISK_FIELDS), law)
        records = []
        from .._progress import bar as _bar
        bar = _bar(len(kappas) * len(alphas), f"curve --ridge optimal (estimate {est:.0f} s)", unit="point", enabled=not args.quiet)
        for k in kappas:
            for a in alphas:
                rec = {"kappa": k, "alpha": a}
                for row in _tuned_rows(law, k, a, args.sigma2, RISK_FIELDS):
                    rec[row["rule"]] = row["risk"]
                    rec[f"ridge_{row['rule']}"] = row["ridge"]
                records.append(rec)
                bar.update(1)
        bar.close()
        cols = list(records[0])
    else:
        grid = predict_grid(law_from_args(args), kappas, alphas, sigma2=args.sigma2, ridge=args.ridge)
        records = grid.records()
        cols = ["kappa", "alpha", "tau", "gamma2", *RISK_FIELDS]
    if args.format == "json":   # every record also carries the scalar inputs (the law: in the command line)
        extra = {"sigma2": args.sigma2, "ridge": args.ridge}
        text = dumps([{**rec, **{k: v for k, v in extra.items() if k not in rec}} for rec in records]) + "\n"
    else:
        buf = io.StringIO()
        buf.write(",".join(cols) + "\n")
        for rec in records:
            buf.write(",".join(repr(rec[c]) for c in cols) + "\n")
        text = buf.getvalue()
    write_text(text, args.out, recognise=is_any_curve_output)
    return 0
