"""Adversarial reliability run: hundreds of bad or extreme inputs per category, against two source trees.

    python validation/adversarial.py --before /tmp/before --after . [--out validation/RELIABILITY.md]

Each (tree, category) runs in worker processes (``PYTHONPATH=<tree>``, address space limited to 4 GiB,
each case under an alarm) that call the API or ``dcpredict.cli.main`` in-process and classify every
input as

* ``ok``: numbers came out, none nan, none below sigma^2, equal to the references below;
* ``refused``: a clean refusal: the tree's documented exception (``DCPredictError`` -- for the old tree,
  whose contract was ``ValueError``, any ``ValueError``), or ``TypeError`` for a wrong type; on the
  command line exit 2 with exactly one line on stderr;
* a failure: ``traceback`` (any other exception; CLI exit 1 or a traceback), ``nan``, ``wrong`` (a number
  that disagrees with an independent reference, is below sigma^2, or a grid value that is not the
  point's value), ``file-changed`` (a file dcpredict did not write was modified, replaced or had its
  type changed; hashed before and after), ``hang`` (no answer within the alarm), ``crash`` (the worker
  died: out of memory, signal).

The ``kill`` category sends SIGKILL to a 2-worker ``simulate --out`` sweep (parent and workers) at a
random moment and resumes it with 1 worker: the records and the output must equal an uninterrupted
run bit for bit.

References: the mpmath path (for every ``predict`` input; only when it certifies a result), the
exact invariance of every risk under lam -> c lam, B -> B / sqrt(c), ridge -> c ridge, and
``predict`` point by point for ``grid``.  Inputs are generated from fixed seeds, so both trees see the
same inputs.  Devices are private nodes made with mknod (the old tree replaced /dev/null by a regular
file when run as root); nothing outside a temporary directory is written.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import io
import json
import math
import os
import queue
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

N_CASES = {"predict": 300, "grid": 150, "api_types": 240, "cli_theory": 240, "cli_simulate": 120, "files": 200,
           "kill": 24,
           # issue 19
           "compression": 250, "continuous": 200, "world": 150, "advisor": 100, "results_file": 200,
           "trial_log": 100, "cli_new": 150, "lock": 24, "reproducers": 24}
TIMEOUT = {"predict": 60, "grid": 40, "api_types": 20, "cli_theory": 20, "cli_simulate": 30, "files": 30, "kill": 120,
           "compression": 60, "continuous": 60, "world": 60, "advisor": 60, "results_file": 30, "trial_log": 60,
           "cli_new": 60, "lock": 200, "reproducers": 90}
FAILURES = ("traceback", "nan", "wrong", "file-changed", "hang", "crash", "tampered-accepted", "silent",
            "multi-line")
MEM_LIMIT = 4 * 2 ** 30
#: predict inputs also computed with precision="mp" (a reference, when mpmath certifies it; 30 s each at most)
MP_CASES = 300


# =============================================================================== worker side
class Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise Hang()


def _refusal_types():
    import dcpredict
    err = getattr(dcpredict, "DCPredictError", None)
    return (err, TypeError) if err is not None else (ValueError, TypeError)


def _classify_exc(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, Hang):
        return "hang", "no answer within the alarm"
    if isinstance(exc, _refusal_types()):
        text = str(exc)
        return ("refused", text[:200]) if "\n" not in text.strip() else ("traceback", "multi-line message")
    return "traceback", f"{type(exc).__name__}: {str(exc)[:160]}"


def _rng(cat: str, i: int):
    import numpy as np
    return np.random.default_rng([hash_str(cat), i])


def hash_str(s: str) -> int:
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16)


def _law(rng, extreme: bool = True):
    import numpy as np
    from dcpredict import Law
    k = int(rng.integers(1, 5))
    scale = 10.0 ** rng.uniform(-300, 300) if extreme and rng.random() < 0.5 else 1.0
    lam = scale * 10.0 ** rng.uniform(-8 if extreme else -2, 0, size=k)
    b = rng.standard_normal(k)
    if extreme and rng.random() < 0.3:
        b = b * 10.0 ** rng.uniform(-150, 150)
    if rng.random() < 0.2:
        b[0] = 0.0
    w = rng.dirichlet(np.ones(k))
    return Law(lam, b, w)


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _kappa(rng, huge: bool = True):
    return _pick(rng, [lambda: 10.0 ** rng.uniform(-12, 12), lambda: 1.0, lambda: 1.0 + 1e-15,
                       lambda: 1.0 - 1e-15, (lambda: 1e308) if huge else (lambda: 1e12),
                       lambda: 10.0 ** rng.uniform(-1, 1), lambda: 10.0 ** rng.uniform(-1, 1)])()


def _alpha(rng):
    return _pick(rng, [lambda: float(rng.uniform(0, 1)) or 0.5, lambda: 1.0, lambda: 1e-6, lambda: 1e-300,
                       lambda: float(rng.uniform(0, 1)) or 0.5])()


def _ridge(rng, L):
    return _pick(rng, [lambda: 0.0, lambda: L * 10.0 ** rng.uniform(-300, 300), lambda: 10.0 ** rng.uniform(-320, 308),
                       lambda: L * 10.0 ** rng.uniform(-3, 3)])()


def _sigma2(rng, law):
    Q = float(law.signal_power) if math.isfinite(law.signal_power) else 1.0
    return _pick(rng, [lambda: 0.0, lambda: 0.2 * (Q or 1.0), lambda: 10.0 ** rng.uniform(-300, 300),
                       lambda: 0.2])()


def _check_risks(risks: dict, sigma2: float) -> tuple[str, str] | None:
    for k, v in risks.items():
        if isinstance(v, float) and math.isnan(v):
            return "nan", f"{k} is nan"
        if v < sigma2 * (1 - 1e-9) - 1e-300:
            return "wrong", f"{k} = {v!r} < sigma2 = {sigma2!r}"
    return None


def _close(a: float, b: float, rel: float) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * max(abs(a), abs(b))


def case_predict(i: int) -> tuple[str, str]:
    import numpy as np
    from dcpredict import Law, predict
    rng = _rng("predict", i)
    law = _law(rng)
    kappa, alpha = _kappa(rng), _alpha(rng)
    ridge = _ridge(rng, float(np.max(law.lam)))
    sigma2 = _sigma2(rng, law)
    inputs = f"kappa={kappa:.3g} alpha={alpha:.3g} ridge={ridge:.3g} sigma2={sigma2:.3g} lam~{np.max(law.lam):.2g}"
    try:
        r = predict(law, kappa=kappa, alpha=alpha, sigma2=sigma2, ridge=ridge).risks()
    except BaseException as exc:  # noqa: BLE001 - classified
        o, d = _classify_exc(exc)
        return o, f"{d} [{inputs}]"
    bad = _check_risks(r, sigma2)
    if bad:
        return bad[0], f"{bad[1]} [{inputs}]"
    # exact invariance: lam -> c lam, B -> B/sqrt(c), ridge -> c ridge
    c = 10.0 ** rng.uniform(-20, 20)
    try:
        r2 = predict(Law(law.lam * c, law.b / math.sqrt(c), law.weights), kappa=kappa, alpha=alpha, sigma2=sigma2,
                     ridge=ridge * c).risks()
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, Hang):
            raise
        r2 = None
    if r2 is not None:
        for k in r:
            if not _close(r[k], r2[k], 1e-6):
                return "wrong", f"{k}: {r[k]!r} vs {r2[k]!r} after rescaling features by {c:.3g} [{inputs}]"
    if i < MP_CASES:
        try:
            m = predict(law, kappa=kappa, alpha=alpha, sigma2=sigma2, ridge=ridge, precision="mp").risks()
        except BaseException as exc:  # noqa: BLE001 - no reference
            if isinstance(exc, Hang):
                return "ok", "mp reference timed out"
            m = None
        if m is not None:
            for k in r:
                mk = float(m[k])
                if not (math.isnan(mk)) and not _close(r[k], mk, 1e-6):
                    return "wrong", f"{k}: double {r[k]!r} vs mpmath {mk!r} [{inputs}]"
    return "ok", ""


def case_grid(i: int) -> tuple[str, str]:
    import numpy as np
    from dcpredict import predict, predict_grid
    rng = _rng("grid", i)
    law = _law(rng, extreme=rng.random() < 0.5)
    kappas = sorted({_kappa(rng, huge=False) for _ in range(int(rng.integers(2, 6)))})
    alphas = sorted({_alpha(rng) for _ in range(int(rng.integers(1, 4)))})
    ridge = _ridge(rng, float(np.max(law.lam)))
    sigma2 = _sigma2(rng, law)
    inputs = f"kappas={[f'{k:.3g}' for k in kappas]} alphas={[f'{a:.3g}' for a in alphas]} ridge={ridge:.3g}"
    try:
        g1 = predict_grid(law, kappas, alphas, sigma2=sigma2, ridge=ridge)
        g2 = predict_grid(law, kappas, alphas, sigma2=sigma2, ridge=ridge)
    except BaseException as exc:  # noqa: BLE001
        o, d = _classify_exc(exc)
        if o == "traceback" and "SystemError" in d:
            return o, f"{d} [{inputs}]"
        return o, f"{d} [{inputs}]"
    fields = [f for f in ("dense", "magnitude", "hessian", "random", "oracle_pruned", "oracle", "small_oracle",
                          "magnitude_retrained", "hessian_retrained", "random_retrained") if hasattr(g1, f)]
    for f in fields:
        a1, a2 = np.asarray(getattr(g1, f)), np.asarray(getattr(g2, f))
        if np.isnan(a1).any():
            return "nan", f"{f} has nan [{inputs}]"
        if not np.array_equal(a1, a2):
            return "wrong", f"{f} differs between two identical calls (uninitialised memory) [{inputs}]"
        if (a1 < sigma2 * (1 - 1e-9) - 1e-300).any():
            return "wrong", f"{f} below sigma2 [{inputs}]"
    for ii, k in enumerate(kappas):
        for jj, a in enumerate(alphas):
            try:
                p = predict(law, kappa=k, alpha=a, sigma2=sigma2, ridge=ridge).risks()
            except BaseException as exc:  # noqa: BLE001
                if isinstance(exc, Hang):
                    raise
                return "wrong", (f"grid returned numbers at kappa={k:.3g} alpha={a:.3g} where predict refuses "
                                 f"({type(exc).__name__}) [{inputs}]")
            for f in fields:
                if f in p and not _close(float(getattr(g1, f)[ii, jj]), p[f], 1e-9):
                    return "wrong", (f"{f} grid {float(getattr(g1, f)[ii, jj])!r} != point {p[f]!r} at "
                                     f"kappa={k:.3g} alpha={a:.3g} [{inputs}]")
    return "ok", ""


BAD_VALUES = [None, "2", "abc", "", [], [1, 2], {}, True, complex(1, 1), float("nan"), float("inf"), -float("inf"),
              -1, 0, 10 ** 400, -10 ** 400, 1e-320, 1e308, b"2", object(), (2,), "nan", [float("nan")], [[1.0]],
              2 ** 63, -0.0, 1.5, 3]


def case_api_types(i: int) -> tuple[str, str]:
    import numpy as np
    import dcpredict
    from dcpredict import Law
    rng = _rng("api_types", i)
    law = Law([4.0, 1.0, 0.25], [1.0, -0.5, 2.0], [0.2, 0.3, 0.5])
    calls = {
        "predict": (dcpredict.predict, dict(law=law, kappa=2.0, alpha=0.3, sigma2=0.2, ridge=0.1)),
        "solve_dc": (dcpredict.solve_dc, dict(law=law, kappa=2.0, sigma2=0.2, ridge=0.1)),
        "predict_grid": (dcpredict.predict_grid, dict(law=law, kappas=[0.5, 2.0], alphas=[0.3], sigma2=0.2,
                                                      ridge=0.1)),
        "Law": (Law, dict(lam=[4.0, 1.0], b=[1.0, 0.5], weights=[0.5, 0.5])),
        "simulate": (dcpredict.simulate, dict(law=law, kappa=2.0, alpha=0.3, sigma2=0.2, n=20, trials=3, workers=1)),
    }
    name = list(calls)[i % len(calls)]
    fn, kw = calls[name]
    arg = _pick(rng, list(kw))
    if name == "predict_grid" and arg in ("kappas", "alphas") and rng.random() < 0.5:
        value = [_pick(rng, BAD_VALUES), 1.0]
    else:
        value = _pick(rng, BAD_VALUES)
    kw = {**kw, arg: value}
    inputs = f"{name}({arg}={value!r:.60})"
    try:
        out = fn(**kw)
    except BaseException as exc:  # noqa: BLE001
        o, d = _classify_exc(exc)
        return o, f"{d} [{inputs}]"
    sigma2 = kw.get("sigma2", 0.0) if isinstance(kw.get("sigma2"), (int, float)) else 0.0
    if name == "predict":
        bad = _check_risks(out.risks(), float(sigma2))
        if bad:
            return bad[0], f"{bad[1]} [{inputs}]"
    if name == "predict_grid":
        arr = np.asarray(out.dense)
        if np.isnan(arr).any():
            return "nan", f"nan in the grid [{inputs}]"
    if name == "solve_dc" and (math.isnan(out.tau) or math.isnan(out.gamma2)):
        return "nan", f"nan in the DC [{inputs}]"
    if name == "simulate" and np.isnan(out.samples).any():
        return "nan", f"nan in the samples [{inputs}]"
    return "ok", ""


TOKENS = ["nan", "inf", "-inf", "-1", "0", "1e999", "1e-999", "abc", "", "1,,2", ",", "-1.5,0.7", "1e308",
          "1e-320", "0x10", "1_000", " 2 ", "\uff12", "log:-1:2:3", "0:1:0", "1:2:100001", "log:1:1e300:5",
          "1:2:3:4", "2,nan", "1e-300", "1e300", "-0", "0.5", "2", "1,2,3", "1e9", "1e-200", "--", "-", "1.0000000000000002"]


def _run_main(argv, cwd=None) -> tuple[str, str]:
    from dcpredict.cli import main
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        if cwd:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(list(argv))
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: BLE001
        o, d = _classify_exc(exc)
        return ("traceback", f"exception escaped main: {d}") if o != "hang" else (o, d)
    finally:
        os.chdir(old)
    e = err.getvalue()
    if rc == 2:
        lines = [x for x in e.splitlines() if x.strip() and "it/s]" not in x and "trial/s" not in x]
        if len(lines) == 1 and "Traceback" not in e:
            return "refused", lines[0][:200]
        return "traceback", f"exit 2 with {len(lines)} lines on stderr"
    if rc != 0:
        return "traceback", f"exit {rc}: {e.strip().splitlines()[-1][:160] if e.strip() else ''}"
    return "ok", out.getvalue()


def _scan_output(text: str, sigma2: float) -> tuple[str, str] | None:
    t = text.strip()
    if not t:
        return None
    if t[0] in "[{":
        try:
            obj = json.loads(t)
        except ValueError:
            return None
        vals = []

        def walk(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if isinstance(v, (int, float)) and k not in ("kappa", "alpha", "tau", "gamma2"):
                        vals.append((k, float(v)))
                    else:
                        walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(obj)
        for k, v in vals:
            if math.isnan(v):
                return "nan", f"{k} is nan in the JSON output"
            if k in ("dense", "magnitude", "hessian", "random") and v < sigma2 * (1 - 1e-9) - 1e-300:
                return "wrong", f"{k} = {v!r} below sigma2"
        return None
    lines = t.splitlines()
    if lines and lines[0].startswith("kappa,"):
        cols = lines[0].split(",")
        for line in lines[1:]:
            for c, x in zip(cols, line.split(",")):
                try:
                    v = float(x)
                except ValueError:
                    continue
                if math.isnan(v):
                    return "nan", f"{c} is nan in the CSV output"
                if c not in ("kappa", "alpha", "tau") and v < sigma2 * (1 - 1e-9) - 1e-300:
                    return "wrong", f"{c} = {v!r} below sigma2 (e.g. uninitialised memory)"
        return None
    if "nan" in t.lower().split():
        return "nan", "nan in the table"
    return None


def case_cli_theory(i: int) -> tuple[str, str]:
    rng = _rng("cli_theory", i)
    cmd = "predict" if i % 2 == 0 else "curve"
    opts = {"--lam": "4,1,0.25", "--b": "1,-0.5,2", "--weights": "0.2,0.3,0.5", "--sigma2": "0.2", "--kappa": "2",
            "--alpha": "0.3", "--ridge": "0.1"}
    if cmd == "curve":
        opts["--kappa"] = "0.5,2"
        opts["--alpha"] = "0.3,1"
    key = _pick(rng, list(opts))
    opts[key] = _pick(rng, TOKENS)
    if rng.random() < 0.3:  # a second extreme value
        key2 = _pick(rng, ["--ridge", "--kappa", "--sigma2"])
        opts[key2] = _pick(rng, ["1e9", "1e-200", "1e300", "1e-300", "1.000000000000001", "1e12", "1e308"])
    argv = [cmd]
    for k, v in opts.items():
        argv += [k, v]
    if cmd == "predict":
        argv.append("--json")
    o, d = _run_main(argv)
    inputs = " ".join(argv[1:])[:200]
    if o == "ok":
        try:
            s2 = float(opts["--sigma2"])
        except ValueError:
            s2 = 0.0
        bad = _scan_output(d, s2 if math.isfinite(s2) else 0.0)
        if bad:
            return bad[0], f"{bad[1]} [{inputs}]"
        return "ok", ""
    return o, f"{d} [{inputs}]"


SIM_TOKENS = {"--trials": ["1000000000", "1e9", "0", "1", "-3", "x", "3"],
              "--n": ["1e7", "10000000", "1", "0", "-5", "1099511627776", "20"],
              "--kappa": ["1e6", "1e300", "0", "-1", "nan", "1e-9", "2"],
              "--alpha": ["0", "1e-9", "2", "nan", "0.3"],
              "--scheduler": ["not a url", "tcp://127.0.0.1:1", "localhost:99999", "", "tcp://[::1]:1"],
              "--workers": ["0", "-1", "x", "1"],
              "--seed": ["-1", "1e3", "x", "18446744073709551616", "0"],
              "--ridge": ["-1", "1e300", "1e-300", "nan", "0.1"],
              "--sigma2": ["-1", "1e300", "nan", "0"],
              "--lam": ["1e-300,1", "1e300,1", "0,1", "-1,1"],
              "--b": ["1e200,1", "-1.5,0.7", "nan,1"]}


def case_cli_simulate(i: int) -> tuple[str, str]:
    rng = _rng("cli_simulate", i)
    opts = {"--lam": "4,1", "--b": "1,-0.5", "--sigma2": "0.2", "--kappa": "2", "--alpha": "0.5", "--n": "20",
            "--trials": "3", "--workers": "1", "--seed": "0", "--ridge": "0"}
    key = list(SIM_TOKENS)[i % len(SIM_TOKENS)]
    opts[key] = _pick(rng, SIM_TOKENS[key])
    argv = ["simulate", "--quiet", "--json"]
    for k, v in opts.items():
        argv += [k, v]
    with tempfile.TemporaryDirectory() as tmp:
        o, d = _run_main(argv, cwd=tmp)
    inputs = " ".join(argv[1:])[:200]
    if o == "ok":
        bad = _scan_output(d, 0.0)
        if bad:
            return bad[0], f"{bad[1]} [{inputs}]"
        return "ok", ""
    return o, f"{d} [{inputs}]"


def _fingerprint(path: str) -> tuple:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as fh:
            return ("file", hashlib.sha256(fh.read()).hexdigest())
    return ("special", stat.S_IFMT(st.st_mode), st.st_rdev, st.st_ino)


def case_files(i: int) -> tuple[str, str]:
    rng = _rng("files", i)
    cmd = "curve" if i % 2 == 0 else "simulate"
    kinds = ["bytes", "law_json", "law_json_nl", "text", "empty", "json_run", "own_curve", "own_log", "other_log",
             "torn_own_log", "devnull", "devfull", "fifo", "dir", "foreign_sidecar"]
    kind = kinds[(i // 2) % len(kinds)]
    via = _pick(rng, ["direct", "direct", "symlink", "relsymlink"])
    base = ["--lam", "4,1", "--b", "1,0.5", "--sigma2", "0.2"]
    sim = ["simulate", *base, "--kappa", "2", "--alpha", "0.5", "--n", "12", "--trials", "3", "--workers", "1",
           "--quiet", "--json"]
    cur = ["curve", *base, "--kappa", "0.5,2"]
    argv = sim if cmd == "simulate" else cur
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "target.out")
        ours = False  # may dcpredict change it?
        if kind == "bytes":
            with open(target, "wb") as fh:
                fh.write(bytes(rng.integers(0, 256, size=int(rng.integers(1, 300)), dtype="uint8")))
        elif kind in ("law_json", "law_json_nl"):
            with open(target, "w") as fh:
                fh.write('{"lam": [4, 1], "b": [1, 0.5]}' + ("\n" if kind == "law_json_nl" else ""))
        elif kind == "text":
            with open(target, "w") as fh:
                fh.write("line one\nline two\n" * int(rng.integers(1, 4)) + "no newline at the end")
        elif kind == "empty":
            open(target, "w").close()
        elif kind == "json_run":
            with open(target, "w") as fh:
                fh.write('{"run": "0123456789abcdef", "kappa": 2.0}\n')
        elif kind in ("own_curve", "own_log", "other_log", "torn_own_log"):
            if cmd == "curve" or kind == "own_curve":
                prev = cur if kind != "other_log" else ["curve", *base, "--kappa", "3"]
                r = _run_main([*prev, "--out", target], cwd=tmp)
                if r[0] != "ok":
                    return "ok", "setup failed"
                ours = cmd == "curve"
            else:
                prev = sim if kind != "other_log" else [x if x != "12" else "14" for x in sim]
                r = _run_main([*prev, "--out", target], cwd=tmp)
                if r[0] != "ok":
                    return "ok", "setup failed"
                ours = kind != "other_log"
                if kind == "torn_own_log":
                    with open(target, "rb") as fh:
                        data = fh.read()
                    with open(target, "wb") as fh:
                        fh.write(data[: len(data) - 40])
        elif kind == "devnull":
            os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
            ours = True  # writing into it is harmless; replacing it is not (checked by the fingerprint)
        elif kind == "devfull":
            os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 7))
            ours = True
        elif kind == "fifo":
            os.mkfifo(target)
            ours = True
        elif kind == "dir":
            os.mkdir(target)
            ours = True
        elif kind == "foreign_sidecar":
            with open(target + ".args.json", "w") as fh:
                fh.write("user data")
        out = target
        if via != "direct" and os.path.lexists(target):
            out = os.path.join(tmp, "link.out")
            os.symlink(target if via == "symlink" else "target.out", out)
        watched = [p for p in (target, target + ".args.json", out) if os.path.lexists(p)]
        before = {p: _fingerprint(p) for p in watched}
        special = kind in ("devnull", "devfull", "fifo", "dir")
        o, d = _run_main([*argv, "--out", out], cwd=tmp)
        inputs = f"{cmd} --out <{kind}, {via}>"
        for p in watched:
            if not os.path.lexists(p):
                return "file-changed", f"{os.path.basename(p)} was deleted [{inputs}]"
            now = _fingerprint(p)
            if now == before[p]:
                continue
            if p == out and via != "direct" and now[0] != "link":
                return "file-changed", f"the symlink was replaced by a regular file [{inputs}]"
            if special and now[0] != before[p][0]:
                return "file-changed", f"the {kind} was replaced by a regular file [{inputs}]"
            if p.endswith(".args.json") and kind == "foreign_sidecar":
                return "file-changed", f"the user's FILE.args.json was overwritten [{inputs}]"
            if not ours and not special:
                return "file-changed", f"a file dcpredict did not write was modified [{inputs}]"
        if o == "ok":
            bad = _scan_output(d, 0.2)
            if bad:
                return bad[0], f"{bad[1]} [{inputs}]"
            return "ok", ""
        return o, f"{d} [{inputs}]"


_KILL_ARGS = ["simulate", "--lam", "4,1,1,0.25", "--b", "2,1,0,0.5", "--weights", "0.1,0.2,0.4,0.3", "--sigma2", "0.2",
              "--kappa", "1.5,3", "--alpha", "0.1,0.3", "--n", "300", "--trials", "40", "--seed", "7", "--quiet",
              "--json"]
_KILL_REF: dict = {}


def _records(path: str) -> dict:
    out = {}
    with open(path) as fh:
        for line in fh:
            rec = json.loads(line)
            key = (rec["kappa"], rec["alpha"], rec["trial"])
            if key in out:
                raise AssertionError(f"duplicate record {key}")
            out[key] = rec
    return out


def case_kill(i: int) -> tuple[str, str]:
    """SIGKILL a 2-worker sweep at a random moment, resume with 1 worker: records and output must equal a
    fresh uninterrupted run bit for bit (the old tree passed this in the issue's 24 kills)."""
    rng = _rng("kill", i)
    cli = [sys.executable, "-c", "import sys; from dcpredict.cli import main; sys.exit(main(sys.argv[1:]))"]
    with tempfile.TemporaryDirectory() as tmp:
        if not _KILL_REF:
            ref = os.path.join(tmp, "ref.jsonl")
            r = subprocess.run([*cli, *_KILL_ARGS, "--workers", "1", "--out", ref], capture_output=True, text=True)
            _KILL_REF["stdout"] = json.loads(r.stdout)
            _KILL_REF["records"] = _records(ref)
        out = os.path.join(tmp, "k.jsonl")
        proc = subprocess.Popen([*cli, *_KILL_ARGS, "--workers", "2", "--out", out], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(float(rng.uniform(0.4, 1.6)))
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: parent and pool workers at once
        proc.wait()
        n_before = sum(1 for _ in open(out)) if os.path.exists(out) else 0
        r = subprocess.run([*cli, *_KILL_ARGS, "--workers", "1", "--out", out], capture_output=True, text=True)
        if r.returncode != 0:
            return "traceback" if "Traceback" in r.stderr or r.returncode != 2 else "refused", \
                f"resume after the kill failed: {r.stderr.strip().splitlines()[-1][:200] if r.stderr.strip() else ''}"
        try:
            recs = _records(out)
        except AssertionError as exc:
            return "wrong", f"{exc} after resume (killed with {n_before} records)"
        ref = _KILL_REF["records"]
        strip = lambda d: {k: {f: v for f, v in rec.items() if f != "run"} for k, rec in d.items()}  # noqa: E731
        if strip(recs) != strip(ref):
            return "wrong", f"resumed records differ from an uninterrupted run (killed with {n_before} records)"
        if json.loads(r.stdout) != _KILL_REF["stdout"]:
            return "wrong", "resumed output differs from an uninterrupted run"
        return "ok", f"killed with {n_before} of 160 records"


# =============================================================================== issue 19: the newer surface
#: the categories of issue 19 (compression, continuous laws, world, advisor, storage, CLI, the issue's reproducers)
NEW_CATEGORIES = ("compression", "continuous", "world", "advisor", "results_file", "trial_log", "cli_new", "lock",
                  "reproducers")
#: a run longer than this with nothing on stderr (no progress, no estimate) is a failure ("silent")
SILENT_SECONDS = 60.0


def _call(fn) -> tuple[str, object, str, float]:
    """Run fn() with stderr captured: (outcome, value or detail, stderr text, seconds); outcome 'ok' or a
    classification of the exception."""
    err = io.StringIO()
    t0 = time.time()
    try:
        with contextlib.redirect_stderr(err):
            value = fn()
    except Hang:
        return ("progress" if err.getvalue().strip() else "hang"), "no answer within the alarm", err.getvalue(), \
            time.time() - t0
    except _CliOutcome as exc:
        return exc.outcome, exc.detail, err.getvalue(), time.time() - t0
    except BaseException as exc:  # noqa: BLE001 - classified
        o, d = _classify_exc(exc)
        return o, d, err.getvalue(), time.time() - t0
    dt = time.time() - t0
    if dt > SILENT_SECONDS and not err.getvalue().strip():
        return "silent", f"answered after {dt:.0f} s with nothing on stderr (no progress, no estimate)", "", dt
    return "ok", value, err.getvalue(), dt


def _bad_number(x) -> str | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return None


def _risk_ok(name: str, x, sigma2: float) -> tuple[str, str] | None:
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return "nan", f"{name} is nan"
    if x == math.inf:
        return None
    if not math.isfinite(x) or x < sigma2 * (1 - 1e-9) - 1e-300:
        return "wrong", f"{name} = {x!r} is not a risk >= sigma2 = {sigma2!r}"
    return None


def _small_law(rng, extreme: bool = True):
    """An atom law (possibly extreme, possibly with zero weights) or a Gaussian-B law."""
    import numpy as np
    from dcpredict import GaussianLaw, Law
    r = rng.random()
    if r < 0.55:
        return _law(rng, extreme)
    k = int(rng.integers(1, 5))
    lam = 10.0 ** rng.uniform(-2, 1, size=k)
    if extreme and rng.random() < 0.3:
        lam = lam * 10.0 ** rng.uniform(-300, 300)
    w = rng.dirichlet(np.ones(k))
    if rng.random() < 0.3 and k > 1:
        w[0] = 0.0
        w = w / w.sum()
    if r < 0.8:
        return Law(lam, rng.standard_normal(k), w)
    return GaussianLaw(lam, 10.0 ** rng.uniform(-2, 1, size=k), w)


def case_compression(i: int) -> tuple[str, str]:
    import numpy as np
    import dcpredict
    from dcpredict import Law
    rng = _rng("compression", i)
    kind = ("quantized", "quantized", "iterative", "optimal_ridge")[i % 4]
    try:
        law = _small_law(rng)
    except BaseException as exc:  # noqa: BLE001 - a law the tree refuses to build: a refusal of its own
        o, d = _classify_exc(exc)
        return o, f"{d} [law construction]"
    L = float(np.max(law.lam))
    kappa = _kappa(rng) if rng.random() < 0.6 else _pick(rng, [0.5, 2.0, 1.0, 1e12])
    sigma2 = _sigma2(rng, law) if rng.random() < 0.8 else _pick(rng, [1e12, 1e300, 1e-300])
    ridge = 0.0 if rng.random() < 0.4 else _ridge(rng, L)
    kw = dict(law=law, kappa=kappa, sigma2=sigma2)
    if kind == "quantized":
        kw["bits"] = _pick(rng, [1, 2, 3, 4, 8, 16, 1, 2])
        if kw["bits"] in (8, 16) and (type(law) is not Law or law.n_atoms > 4):
            kw["bits"] = 4  # (the old tree's step scan is one compiled call: it cannot be interrupted)
        kw["ridge"] = ridge
        if rng.random() < 0.4:
            kw["step"] = _pick(rng, [0.5, 10.0 ** rng.uniform(-300, 300), 1e300, 1e-300, 0.5, 0.1])
        if rng.random() < 0.3:
            kw["alpha"], kw["rule"] = float(rng.uniform(0.05, 1.0)), _pick(rng, ["magnitude", "hessian"])
        fn = dcpredict.predict_quantized
    elif kind == "iterative":
        kw.update(alpha=_pick(rng, [float(rng.uniform(0.05, 1)), 1e-300, 1.0, float(rng.uniform(0.05, 1))]),
                  rounds=_pick(rng, [1, 2, 3, 5]), ridge=ridge)
        fn = dcpredict.predict_iterative
    else:
        kw.update(alpha=float(rng.uniform(0.05, 1)), rule=_pick(rng, ["dense", "magnitude", "hessian_retrained",
                                                                       "random"]))
        fn = dcpredict.optimal_ridge
    if rng.random() < 0.35:  # one argument of a wrong type or out of range
        key = _pick(rng, [k for k in kw if k != "law"])
        kw[key] = _pick(rng, [-1.0, 0.0, float("nan"), float("inf"), "x", None, 10 ** 400, True, 2.5, [1.0], 1e300,
                              "optimal" if key == "ridge" else 17])
    inputs = ", ".join(f"{k}={v!r:.12}" if k != "law" else f"law~{L:.2g}" for k, v in kw.items())
    o, v, err, dt = _call(lambda: fn(**kw))
    if o != "ok":
        return o, f"{v} [{kind}: {inputs}]"
    s2 = float(kw["sigma2"]) if isinstance(kw["sigma2"], (int, float)) else 0.0
    if kind == "quantized":
        vals = {"risk": v.risk, "unquantized": v.unquantized, "dense": v.dense, "zero_model": v.zero_model}
    elif kind == "iterative":
        vals = {"retrained": v.retrained, **{f"round{r.round}_pruned": r.pruned for r in v.rounds},
                **{f"round{r.round}_retrained": r.retrained for r in v.rounds}}
    else:
        vals = {"risk": v.risk}
    for name, x in vals.items():
        bad = _risk_ok(name, x, s2)
        if bad:
            return bad[0], f"{bad[1]} [{kind}: {inputs}]"
    if kind == "quantized":
        for name in ("tau", "gamma2", "threshold", "step"):
            x = getattr(v, name)
            if isinstance(x, float) and math.isnan(x):
                return "nan", f"{name} is nan [{kind}: {inputs}]"
    # the exact invariance lam -> c lam, B -> B / sqrt(c), ridge -> c ridge (step -> step / sqrt(c))
    if kind == "quantized" and type(law) is Law and isinstance(kw["ridge"], float):
        c = 10.0 ** rng.uniform(-6, 6)
        kw2 = {**kw, "law": Law(law.lam * c, law.b / math.sqrt(c), law.weights), "ridge": kw["ridge"] * c}
        if isinstance(kw.get("step"), float):
            kw2["step"] = kw["step"] / math.sqrt(c)
        o2, v2, _, _ = _call(lambda: fn(**kw2))
        if o2 == "ok" and not _close(float(v.risk), float(v2.risk), 1e-6):
            return "wrong", f"risk {v.risk!r} vs {v2.risk!r} after rescaling features by {c:.3g} [{kind}: {inputs}]"
    return "ok", ""


class _Dens:
    """Adversarial densities (picklable by name)."""


def _density(rng):
    import numpy as np
    kinds = {
        "ok": lambda x: x ** -1.0,
        "const": lambda x: 1.0,
        "shape": lambda x: x[:1],
        "shape2": lambda x: np.concatenate([x, x]),
        "raise": lambda x: 1 / 0,
        "keyerror": lambda x: {}["k"],
        "string": lambda x: "abc",
        "none": lambda x: None,
        "nan": lambda x: x * np.nan,
        "neg": lambda x: -x,
        "inf": lambda x: x * np.inf,
        "zero": lambda x: x * 0.0,
        "complex": lambda x: x + 1j,
        "bool": lambda x: x > 1,
        "list": lambda x: list(x),
        "2d": lambda x: np.outer(x, x),
        "recursion": None,
        "steep": lambda x: x ** -1.5,
        "huge": lambda x: x ** 300.0,
        "spike": lambda x: np.where(np.abs(np.log(x)) < 1e-3, 1e300, 1.0),
    }

    def rec(x):
        return rec(x)
    kinds["recursion"] = rec
    name = _pick(rng, list(kinds))
    return name, kinds[name]


def case_continuous(i: int) -> tuple[str, str]:
    import numpy as np
    import dcpredict
    from dcpredict import Law
    rng = _rng("continuous", i)
    kind = i % 4
    if kind == 0:  # from_density with an adversarial density and support
        name, dens = _density(rng)
        lo = _pick(rng, [1.0, 1e-12, 1e-300, 0.5, -1.0, 0.0, float("nan")])
        hi = _pick(rng, [3.0, 1e12, 1e300, 2.0, 1.0])
        b_var = _pick(rng, [1.0, lambda x: x, lambda x: "v", lambda x: -x, lambda x: x[:2], 0.0, -1.0])
        tol = _pick(rng, [1e-12, 1e-8, 1e-4, 1e-20, 1.0])
        inputs = f"from_density({name}, {lo!r}, {hi!r}, tol={tol!r})"
        o, v, err, dt = _call(lambda: Law.from_density(dens, lo, hi, b_var=b_var, tol=tol))
    elif kind == 1:  # from_dict with random (often malformed) specs
        spec = _random_spec(rng)
        inputs = f"from_dict({json.dumps(spec, default=str)[:120]})"
        o, v, err, dt = _call(lambda: Law.from_dict(spec))
    elif kind == 2:  # spectra and power laws, extreme or degenerate
        P = _pick(rng, [1, 2, 10, 1000, 0, -1, 2.5])
        a = _pick(rng, [0.5, 2.0, 1e-300, 1e300, 0.0, -1.0])
        which = _pick(rng, ["spectrum", "index", "power", "uniform"])
        if which == "spectrum":
            eig = _pick(rng, [[1e300, 1e-300], [1.0, 2.0], [0.0, 1.0], [1e308, 1e308], [5e-324, 1.0], [],
                              [1.0] * 3, "abc", [[1.0]], [float("inf")]])
            inputs = f"from_spectrum({eig!r:.60})"
            o, v, err, dt = _call(lambda: Law.from_spectrum(eig, b_var=_pick(rng, [1.0, 1e300, 0.0, [1.0, 2.0]])))
        elif which == "index":
            inputs = f"index_power_law({P!r}, {a!r})"
            o, v, err, dt = _call(lambda: Law.index_power_law(P, a))
        elif which == "power":
            lo, hi = _pick(rng, [(1.0, 2.0), (1e-300, 1e300), (1e-12, 1e12), (2.0, 1.0), (1.0, 1.0)])
            inputs = f"power_law({a!r}, {lo!r}, {hi!r})"
            o, v, err, dt = _call(lambda: Law.power_law(a if abs(a) < 10 else 1.0, lo, hi))
        else:
            lo, hi = _pick(rng, [(1.0, 2.0), (1e-300, 1e300), (1e-12, 1e12), (2.0, 1.0), (1.0, 1.0)])
            inputs = f"uniform({lo!r}, {hi!r})"
            o, v, err, dt = _call(lambda: Law.uniform(lo, hi))
    else:  # a valid continuous law, then the theory on it
        a = float(rng.uniform(0, 2))
        lo = 10.0 ** rng.uniform(-6, 0)
        hi = lo * 10.0 ** rng.uniform(0.1, 6)
        kappa, alpha = _kappa(rng, huge=False), _alpha(rng)
        sigma2 = _pick(rng, [0.0, 0.2, 1e-300, 1e300])
        inputs = f"predict(power_law({a:.3g}, {lo:.3g}, {hi:.3g}), kappa={kappa:.3g}, alpha={alpha:.3g}, sigma2={sigma2!r})"

        def go():
            law = Law.power_law(a, lo, hi)
            return dcpredict.predict(law, kappa=kappa, alpha=alpha, sigma2=sigma2).risks()
        o, v, err, dt = _call(go)
        if o == "ok":
            bad = _check_risks(v, float(sigma2))
            if bad:
                return bad[0], f"{bad[1]} [{inputs}]"
    if o != "ok":
        return o, f"{v} [{inputs}]"
    if isinstance(v, Law) and not isinstance(v, dict):
        arrs = [np.asarray(getattr(v, "nodes", v.lam)), np.asarray(getattr(v, "node_weights", v.weights))]
        if any(np.isnan(x).any() for x in arrs):
            return "nan", f"the law has nan nodes or weights [{inputs}]"
        try:
            pw = v.signal_power
        except BaseException as exc:  # noqa: BLE001
            return "traceback", f"signal_power fails: {type(exc).__name__} [{inputs}]"
        if isinstance(pw, float) and math.isnan(pw):
            return "nan", f"signal_power is nan [{inputs}]"
    return "ok", ""


def _random_spec(rng):
    junk = _pick(rng, [[1, 2, 3], "abc", None, 1.5, {"x": 1}, [], {}, [[1]], True, -1, 1e400 if False else 1e308])
    forms = [
        lambda: {"spectrum": junk},
        lambda: {"spectrum": {"eigenvalues": junk}},
        lambda: {"spectrum": {"eigenvalues": [1, 2, 3], "trace": junk}},
        lambda: {"power_law": junk},
        lambda: {"power_law": {"exponent": junk, "lam_min": 1, "lam_max": 2}},
        lambda: {"power_law": {"exponent": 1, "lam_min": 1, "lam_max": 2, "method": junk}},
        lambda: {"power_law": {"exponent": 1, "lam_min": 1, "lam_max": 2, "order": junk}},
        lambda: {"uniform": {"lam_low": junk, "lam_high": 2}},
        lambda: {"index_power_law": {"P": junk, "a": 1}},
        lambda: {"index_power_law": junk},
        lambda: {"gaussian_b": junk},
        lambda: {"gaussian_b": {"lam": [1, 2], "b_var": [1, 1], "weights": junk}},
        lambda: {"gaussian_b": {"lam": [1, 2], "b_var": [1, 1], "weights": [1, 0], "continuous": junk}},
        lambda: {"lam": junk, "b": [1]},
        lambda: {"lam": [1, 2], "b": junk},
        lambda: {"lam": [1, 2], "b": [1, 1], "weights": junk},
        lambda: {"lam": [1], "b": [1], "power_law": {"exponent": 1, "lam_min": 1, "lam_max": 2}},
        lambda: junk,
    ]
    return _pick(rng, forms)()


def case_world(i: int) -> tuple[str, str]:
    import numpy as np
    import dcpredict
    rng = _rng("world", i)
    try:
        law = _small_law(rng, extreme=rng.random() < 0.4)
    except BaseException as exc:  # noqa: BLE001
        o, d = _classify_exc(exc)
        return o, f"{d} [law construction]"
    P = _pick(rng, [100, 1000, 50, 200, 10 ** 7])
    n = _pick(rng, [20, 100, 1, 50, 10 ** 6])
    s = int(_pick(rng, [5, 1, 10, 20]))
    p = int(rng.integers(s, min(P, 10 ** 6) + 1))
    sigma2 = _pick(rng, [0.1, 0.0, 1e300, 1e-300, 0.1])
    ridge = _pick(rng, [0.0, 0.0, 0.1, 1e300, 1e-300])
    order = _pick(rng, ["saliency", "random"])
    if rng.random() < 0.35:
        bad = _pick(rng, [-1, 0, 2.5, "x", None, float("nan"), 10 ** 400, True])
        key = _pick(rng, ["n", "P", "p", "s", "sigma2", "ridge", "order"])
        n, P, p, s, sigma2, ridge, order = [bad if k == key else v for k, v in
                                            zip(("n", "P", "p", "s", "sigma2", "ridge", "order"),
                                                (n, P, p, s, sigma2, ridge, order))]
    curve = i % 3 == 2
    inputs = f"n={n!r} P={P!r} p={p!r} s={s!r} sigma2={sigma2!r} ridge={ridge!r} order={order} curve={curve}"
    if curve:
        ps = _pick(rng, [None, [20, 30, 50], None, [0, 10], [10 ** 6]])
        fn = lambda: dcpredict.predict_world_curve(law, n=n, P=P, s=s, sigma2=sigma2, ridge=ridge, order=order,  # noqa
                                                   ps=ps)
    else:
        fn = lambda: dcpredict.predict_world(law, n=n, P=P, p=p, s=s, sigma2=sigma2, ridge=ridge, order=order)  # noqa
    o, v, err, dt = _call(fn)
    if o != "ok":
        return o, f"{v} [{inputs}]"
    s2 = float(sigma2) if isinstance(sigma2, (int, float)) else 0.0
    for name in ("dense", "magnitude", "hessian", "random", "oracle_pruned", "small_oracle", "small_random",
                 "zero_model"):
        x = getattr(v, name, None)
        if x is None:
            continue
        for xx in np.atleast_1d(np.asarray(x, dtype=float)):
            bad = _risk_ok(name, float(xx), s2)
            if bad:
                return bad[0], f"{bad[1]} [{inputs}]"
    return "ok", ""


def case_advisor(i: int) -> tuple[str, str]:
    import numpy as np
    import dcpredict
    from dcpredict import Law
    rng = _rng("advisor", i)
    if i % 5 == 4:
        k = int(rng.integers(2, 60))
        law = Law.empirical(np.geomspace(1e-3, 1e3, k), np.linspace(-1, 1, k))
        P = None
    else:
        try:
            law = _small_law(rng, extreme=rng.random() < 0.3)
        except BaseException as exc:  # noqa: BLE001
            o, d = _classify_exc(exc)
            return o, f"{d} [law construction]"
        P = _pick(rng, [100, 50, 1000, 60])
    n = _pick(rng, [20, 50, 100])
    s = _pick(rng, [5, 10, 1])
    sigma2 = _pick(rng, [0.1, 0.0, 1e300, 1e-300, 0.1])
    order = _pick(rng, ["saliency", "random"])
    ridge = _pick(rng, [0.0, 0.0, 0.1])
    rules = _pick(rng, [("magnitude", "hessian"), ("magnitude", "hessian", "random", "magnitude_retrained",
                                                    "hessian_retrained", "random_retrained")])
    if rng.random() < 0.35:
        bad = _pick(rng, [-1, 0, 2.5, "x", None, float("nan"), 10 ** 400, True, 10 ** 12, ("nope",), ()])
        key = _pick(rng, ["n", "P", "s", "sigma2", "ridge", "order", "rules"])
        n, P, s, sigma2, ridge, order, rules = [bad if k == key else v for k, v in
                                                zip(("n", "P", "s", "sigma2", "ridge", "order", "rules"),
                                                    (n, P, s, sigma2, ridge, order, rules))]
    inputs = f"n={n!r} s={s!r} P={P!r} sigma2={sigma2!r} order={order} ridge={ridge!r} rules={rules!r} atoms={law.n_atoms}"
    o, v, err, dt = _call(lambda: dcpredict.advise(law, sigma2=sigma2, n=n, s=s, P=P, order=order, ridge=ridge,
                                                   rules=rules))
    if o != "ok":
        return o, f"{v} [{inputs}]"
    for name in ("best_risk", "small_oracle", "small_random", "small_top_variance", "zero_model"):
        bad = _risk_ok(name, getattr(v, name), float(sigma2) if isinstance(sigma2, (int, float)) else 0.0)
        if bad:
            return bad[0], f"{bad[1]} [{inputs}]"
    try:
        json.dumps(v.to_dict(), allow_nan=True, default=str)
    except BaseException as exc:  # noqa: BLE001
        return "traceback", f"to_dict fails: {type(exc).__name__} [{inputs}]"
    return "ok", ""


# ------------------------------------------------------------------------------- storage: results and trial logs
_RESULTS_CACHE: dict = {}


def _saved_results(tmp: str) -> dict:
    """One saved file per result type (made once per worker)."""
    if _RESULTS_CACHE:
        return _RESULTS_CACHE
    import dcpredict as dp
    law = dp.Law([4, 1, 1, 0.25], [2, 1, 0, 0.5], [0.1, 0.2, 0.4, 0.3])
    makers = {
        "Prediction": lambda: dp.predict(law, kappa=2.0, alpha=0.3, sigma2=0.2),
        "Prediction_inf": lambda: dp.predict(law, kappa=1.0, alpha=0.3, sigma2=0.2),
        "PredictionGrid": lambda: dp.predict_grid(law, [0.5, 2.0], [0.3, 0.6], sigma2=0.2),
        "QuantizedPrediction": lambda: dp.predict_quantized(law, kappa=2.0, bits=2, sigma2=0.2),
        "IterativePrediction": lambda: dp.predict_iterative(law, kappa=2.0, alpha=0.3, rounds=2, sigma2=0.2),
        "WorldPrediction": lambda: dp.predict_world(law, n=50, P=200, p=100, s=10, sigma2=0.2),
        "GaussianLawPrediction": lambda: dp.predict(dp.Law.from_spectrum([1.0, 2.0, 3.0]), kappa=2.0, alpha=0.5,
                                                    sigma2=0.2),
        "SimulationResult": lambda: dp.simulate(law, kappa=2.0, alpha=0.3, sigma2=0.2, n=12, trials=2, workers=1),
    }
    for name, make in makers.items():
        try:
            res = make()
        except BaseException:  # noqa: BLE001 - a type this tree cannot make
            continue
        path = os.path.join(tmp, f"{name}.json")
        if not os.path.exists(path):
            try:
                res.save(path)
            except BaseException:  # noqa: BLE001
                continue
        with open(path) as fh:
            _RESULTS_CACHE[name] = (type(res), fh.read(), res.sigma2 if hasattr(res, "sigma2") else 0.0)
    return _RESULTS_CACHE


_RISK_KEYS = ("dense", "magnitude", "hessian", "random", "oracle_pruned", "risk", "unquantized", "retrained",
              "small_oracle", "zero_model", "gamma2")


def _json_paths(obj, path=()):
    """(path, value) of every leaf of a JSON value."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _json_paths(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _json_paths(v, path + (i,))
    else:
        yield path, obj


def _set_path(obj, path, value):
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value


def _del_path(obj, path):
    for k in path[:-1]:
        obj = obj[k]
    if isinstance(obj, dict):
        del obj[path[-1]]
    else:
        obj.pop(path[-1])


def case_results_file(i: int) -> tuple[str, str]:
    """A saved result tampered with (or a file that is not dcpredict's): load must raise only DCPredictError, and
    what it accepts must be a valid result (risks >= sigma2 or inf, no nan, to_dict works)."""
    rng = _rng("results_file", i)
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = os.path.join(tempfile.gettempdir(), f"dcp-adv-results-{os.getpid()}")
        os.makedirs(cache_dir, exist_ok=True)
        cache = _saved_results(cache_dir)
        if not cache:
            return "harness-error", "no result could be saved"
        name = _pick(rng, sorted(cache))
        cls, text, sigma2 = cache[name]
        data = json.loads(text)
        leaves = list(_json_paths(data))
        mutation = _pick(rng, ["risk_neg", "risk_nan", "risk_str", "risk_huge", "risk_below", "any_value",
                               "delete", "add_key", "type_tag", "truncate", "bytes", "deep", "not_json", "format",
                               "ndarray_dtype", "ndarray_shape", "law"])
        raw = None
        # a risk field's own value (its last key), or an entry of a risk field's array
        risk_leaves = [(p, v) for p, v in leaves if isinstance(v, (int, float)) and not isinstance(v, bool) and (
            (isinstance(p[-1], str) and p[-1] in _RISK_KEYS)
            or any(isinstance(p[j], str) and p[j] in _RISK_KEYS and p[j + 1] == "__ndarray__"
                   for j in range(len(p) - 1)))]
        tampered_range = False
        if mutation.startswith("risk_") and risk_leaves:
            p, v = _pick(rng, risk_leaves)
            if mutation == "risk_neg":
                _set_path(data, p, -abs(float(v)) - 1.0)
            elif mutation == "risk_nan":
                _set_path(data, p, float("nan"))
            elif mutation == "risk_str":
                _set_path(data, p, "0.5")
            elif mutation == "risk_huge":
                _set_path(data, p, "__HUGE__")
                raw = json.dumps(data).replace('"__HUGE__"', "1" + "0" * 400, 1)
            else:
                _set_path(data, p, float(sigma2) * 0.5 if sigma2 else -1e-3)
            # (a risk of a nested refit problem has that problem's own, smaller, noise level)
            tampered_range = not (mutation == "risk_below" and "retrained" in p[:-1])
            where = "/".join(map(str, p))[-60:]
        elif mutation == "any_value":
            p, v = _pick(rng, leaves)
            _set_path(data, p, _pick(rng, [None, "x", [], {}, True, -1, 1e308, [1, 2]]))
            where = "/".join(map(str, p))[-60:]
        elif mutation == "delete":
            p, _ = _pick(rng, leaves)
            _del_path(data, p[: int(rng.integers(1, len(p) + 1))] if len(p) > 0 else p)
            where = "/".join(map(str, p))[-60:]
        elif mutation == "add_key":
            data["result"]["fields"]["extra"] = 1 if "fields" in data["result"] else None
            where = "result/fields"
        elif mutation == "type_tag":
            data["result"]["__result__"] = _pick(rng, ["Nope", "Law", "__class__", 5, None, "Result"])
            where = "__result__"
        elif mutation == "truncate":
            raw = text[: int(rng.integers(0, len(text)))]
            where = "truncated"
        elif mutation == "bytes":
            raw = bytes(rng.integers(0, 256, size=int(rng.integers(1, 500)), dtype="uint8"))
            where = "random bytes"
        elif mutation == "deep":
            raw = '{"format": "dcpredict-result", "result": ' + "[" * 200000 + "]" * 200000 + "}"
            where = "deep"
        elif mutation == "not_json":
            raw = "hello\nworld\n"
            where = "text"
        elif mutation == "format":
            data["format"] = _pick(rng, ["dcpredict-results", None, 1])
            where = "format"
        elif mutation in ("ndarray_dtype", "ndarray_shape"):
            arrs = [(p, v) for p, v in leaves if p and p[-1] in ("dtype", "shape")]
            if not arrs:
                return "ok", "no array"
            p, v = _pick(rng, arrs)
            _set_path(data, p, _pick(rng, ["object", "complex128", "<U5", [3, 3], [-1], [10 ** 12], "float64"])
                      if mutation == "ndarray_dtype" else _pick(rng, [[99], [-1], "x", [2, 2, 2]]))
            where = "/".join(map(str, p))[-60:]
        else:
            laws = [(p, v) for p, v in leaves if "__law__" in p]
            if not laws:
                return "ok", "no law"
            p, v = _pick(rng, laws)
            _set_path(data, p, _pick(rng, [-1.0, 0.0, float("nan"), "x", None, 1e308]))
            where = "/".join(map(str, p))[-60:]
        path = os.path.join(tmp, "r.json")
        with open(path, "wb") as fh:
            fh.write(raw if isinstance(raw, bytes) else (raw if raw is not None else json.dumps(data)).encode())
        inputs = f"{name}: {mutation} at {where}"
        o, v, err, dt = _call(lambda: cls.load(path))
        if o != "ok":
            return o, f"{v} [{inputs}]"
        try:
            d = v.to_dict()
            json.dumps(d, allow_nan=True, default=str)
            v.summary()
        except BaseException as exc:  # noqa: BLE001
            return "tampered-accepted", f"accepted, then to_dict/summary fails ({type(exc).__name__}) [{inputs}]"
        if tampered_range:
            return "tampered-accepted", f"a risk out of range was accepted [{inputs}]"
        for p, x in _json_paths(json.loads(json.dumps(d, allow_nan=True, default=str))):
            if isinstance(x, float) and math.isnan(x):
                return "tampered-accepted", f"accepted with a nan at {'/'.join(map(str, p))} [{inputs}]"
        return "ok", ""


_LOG_ARGS = ["simulate", "--lam", "4,1", "--b", "1,0.5", "--sigma2", "0.2", "--kappa", "2", "--alpha", "0.5",
             "--n", "12", "--trials", "3", "--workers", "1", "--quiet", "--json"]


def case_trial_log(i: int) -> tuple[str, str]:
    """A trial log with one record edited: the resume must refuse it (naming the line), leave the file unchanged,
    and never average the edit in."""
    rng = _rng("trial_log", i)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "log.jsonl")
        o, d = _run_main([*_LOG_ARGS, "--out", out], cwd=tmp)
        if o != "ok":
            return "harness-error", f"setup failed: {d[:100]}"
        ref = json.loads(d)
        lines = open(out).read().splitlines()
        k = int(rng.integers(0, len(lines)))
        rec = json.loads(lines[k])
        fields = [f for f in rec if f not in ("kappa", "alpha", "trial", "seed", "n", "p", "s", "run", "check")]
        f = _pick(rng, fields)
        mutation = _pick(rng, ["1e10", "-5", "1.7e308", "nan", "string", "small", "scaled", "zero", "key",
                               "swap", "int_field"])
        if mutation == "1e10":
            rec[f] = 1e10
        elif mutation == "-5":
            rec[f] = -5.0
        elif mutation == "1.7e308":
            rec[f] = 1.7e308
        elif mutation == "nan":
            rec[f] = float("nan")
        elif mutation == "string":
            rec[f] = "0.5"
        elif mutation == "small":
            rec[f] = rec[f] * (1 + 1e-6)
        elif mutation == "scaled":
            rec[f] = rec[f] * float(rng.uniform(1.5, 3))
        elif mutation == "zero":
            rec[f] = 0.0
        elif mutation == "key":
            rec["extra"] = 1
        elif mutation == "swap":
            other = _pick(rng, fields)
            rec[f], rec[other] = rec[other], rec[f]
            if rec[f] == rec[other]:
                rec[f] = rec[f] + 0.125
        else:
            rec["seed"] = rec["seed"] + 1
        lines[k] = json.dumps(rec)
        with open(out, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        before = _fingerprint(out)
        side = out + ".args.json"
        side_before = _fingerprint(side) if os.path.exists(side) else None
        o, d = _run_main([*_LOG_ARGS, "--out", out], cwd=tmp)
        inputs = f"record {k + 1}: {f} {mutation}"
        if _fingerprint(out) != before or (side_before and _fingerprint(side) != side_before):
            return "file-changed", f"the refused log or its sidecar was modified [{inputs}]"
        if o == "ok":
            try:
                got = json.loads(d)
            except ValueError:
                got = None
            return "tampered-accepted", f"the edited record was read back{'' if got == ref else ' and averaged in'} [{inputs}]"
        return o, f"{d} [{inputs}]"


def case_lock(i: int) -> tuple[str, str]:
    """Two simulate runs started at once on one --out with different --sigma2: one wins, the other exits 2 and
    changes nothing (the log and its sidecar agree: same run)."""
    rng = _rng("lock", i)
    cli = [sys.executable, "-c", "import sys; from dcpredict.cli import main; sys.exit(main(sys.argv[1:]))"]
    base = ["simulate", "--lam", "4,1", "--b", "1,0.5", "--kappa", "2", "--alpha", "0.5", "--n", "40",
            "--trials", "30", "--workers", "1", "--quiet", "--json"]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "log.jsonl")
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        a = subprocess.Popen([*cli, *base, "--sigma2", "0.2", "--out", out], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(float(rng.uniform(0.0, 0.05)))
        b = subprocess.Popen([*cli, *base, "--sigma2", "0.3", "--out", out], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=env)
        ea, eb = a.communicate(timeout=200)[1], b.communicate(timeout=200)[1]
        codes = sorted([a.returncode, b.returncode])
        if any(c not in (0, 2) for c in codes):
            return "traceback", f"exit codes {codes}: {(ea + eb).strip().splitlines()[-1][:160] if (ea + eb).strip() else ''}"
        try:
            side = json.load(open(out + ".args.json"))
            runs = {json.loads(x)["run"] for x in open(out).read().splitlines() if x.strip()}
        except (OSError, ValueError, KeyError) as exc:
            return "wrong", f"log or sidecar unreadable after the race: {type(exc).__name__}"
        if runs and runs != {side.get("run")}:
            return "file-changed", f"the sidecar ({side.get('run')}) no longer matches the log's run {sorted(runs)} " \
                                   f"(exit codes {codes})"
        if codes == [0, 0]:
            return "ok", "the runs were serialized (the second resumed or refused)"
        return "refused", "the second run was refused and changed nothing"


# ------------------------------------------------------------------------------- the command line
def _law_file(tmp: str, kind: str) -> str:
    path = os.path.join(tmp, "law.json")
    if kind == "devzero":
        return "/dev/zero"
    if kind == "missing":
        return os.path.join(tmp, "nope.json")
    if kind == "dir":
        return tmp
    content = {"binary": b"\xff\xfe\x00\x01" * 20, "deep": b"[" * 100000 + b"]" * 100000,
               "deep_obj": b'{"a":' * 50000 + b"1" + b"}" * 50000, "list": b"[1, 2, 3]",
               "spectrum_list": b'{"spectrum": [1, 2, 3]}', "empty": b"", "nan": b'{"lam": [NaN], "b": [1]}',
               "huge_int": b'{"lam": [' + b"9" * 5000 + b'], "b": [1]}', "ok": b'{"lam": [4, 1], "b": [1, 0.5]}',
               "gauss_bad": b'{"gaussian_b": {"lam": [1, 2], "b_var": [1, 1], "weights": [1, 0], "continuous": "no"}}',
               "span": b'{"spectrum": {"eigenvalues": [1e300, 1e-300]}}',
               "latin1": '{"lam": [1], "b": [1], "d\xe9": 1}'.encode("latin-1")}[kind]
    with open(path, "wb") as fh:
        fh.write(content)
    return path


CLI_NEW_TOKENS = {
    "--bits": ["0", "17", "2.5", "x", "1", "16", "-1"],
    "--step": ["0", "-1", "nan", "1e300", "1e-300", "x", "0.5"],
    "--sigma2": ["1e300", "1e12", "-1", "nan", "0"],
    "--kappa": ["0.5", "1e300", "0", "-1", "nan", "1"],
    "--rounds": ["0", "1001", "x", "2"],
    "--lam": ["1e-12,1e12", "1e-300,1e300", "0,1", "1,2"],
    "--world-size": ["0", "-1", "2", "x", "1e30", "2.5"],
    "--scheduler": ["inproc://x", "inproc://", "tcp://127.0.0.1:1"],
    "--map": ["map.txt", "map.png", "map.svg", "nodir/map.png", "map"],
    "--law": ["binary", "deep", "deep_obj", "list", "spectrum_list", "empty", "nan", "huge_int", "devzero", "missing",
              "dir", "gauss_bad", "span", "latin1", "ok"],
}


def case_cli_new(i: int) -> tuple[str, str]:
    rng = _rng("cli_new", i)
    key = list(CLI_NEW_TOKENS)[i % len(CLI_NEW_TOKENS)]
    tok = _pick(rng, CLI_NEW_TOKENS[key])
    with tempfile.TemporaryDirectory() as tmp:
        law = ["--lam", "1e-12,1e12", "--b", "1,1"] if rng.random() < 0.3 else ["--lam", "4,1", "--b", "1,0.5"]
        if key in ("--bits", "--step", "--sigma2", "--kappa", "--lam"):
            cmd = _pick(rng, ["quantize", "quantize", "iterate", "optimal-ridge"])
            opts = {"--kappa": "0.5", "--sigma2": "0.2"}
            if cmd == "quantize":
                opts["--bits"] = "2"
            elif cmd == "iterate":
                opts.update({"--alpha": "0.3", "--rounds": "2"})
            else:
                opts.update({"--alpha": "0.3", "--rule": "magnitude"})
            if key == "--lam":
                law = ["--lam", tok, "--b", "1,1"]
            elif key not in ("--bits", "--step") or cmd == "quantize":
                opts[key] = tok
            argv = [cmd, *law, "--json"] + [x for kv in opts.items() for x in kv]
        elif key == "--rounds":
            argv = ["iterate", *law, "--kappa", "2", "--alpha", "0.3", "--sigma2", "0.2", "--rounds", tok]
        elif key == "--world-size":
            cmd = _pick(rng, ["predict", "curve", "simulate"])
            argv = [cmd, *law, "--sigma2", "0.2", "--world-size", tok, "--n", "10", "--s", "1"]
            argv += ["--p", "1,2"] if cmd != "predict" else ["--p", "2"]
            if cmd == "simulate":
                argv += ["--trials", "2", "--workers", "1", "--quiet"]
        elif key == "--scheduler":
            argv = ["simulate", *law, "--sigma2", "0.2", "--kappa", "2", "--alpha", "0.5", "--n", "10", "--trials", "2",
                    "--quiet", "--scheduler", tok]
        elif key == "--map":
            argv = ["advise", "--lam", "4,1", "--b", "1,0.5", "--sigma2", "0.2", "--n", "20", "--s", "3",
                    "--world-size", "30", "--map", os.path.join(tmp, tok)]
        else:
            argv = [_pick(rng, ["predict", "quantize"]), "--law", _law_file(tmp, tok), "--kappa", "2", "--sigma2",
                    "0.2"]
            argv += ["--alpha", "0.5"] if argv[0] == "predict" else ["--bits", "2"]
        err = io.StringIO()
        t0 = time.time()
        o, d = _run_main(argv, cwd=tmp)
        dt = time.time() - t0
        inputs = " ".join(a if len(a) < 40 else a[:37] + "..." for a in argv)[:200]
        if dt > SILENT_SECONDS and o in ("ok", "refused"):
            return "silent", f"answered after {dt:.0f} s [{inputs}]"
        if o == "refused" and key == "--world-size" and "error: P " in d:
            return "wrong", f"the refusal names P, not --world-size: {d} [{inputs}]"
        if o == "ok":
            bad = _scan_output(d, 0.2 if "--sigma2" not in argv else 0.0)
            if bad:
                return bad[0], f"{bad[1]} [{inputs}]"
        return o, (f"{d} [{inputs}]" if o != "ok" else "")


def _run_main_err(argv, cwd=None) -> tuple[str, str, str]:
    """_run_main, also returning stderr (for the one-line-warning check)."""
    from dcpredict.cli import main
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        if cwd:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(list(argv))
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(old)
    return str(rc), out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------------- the issue's reproducers
def _reproducers():
    import numpy as np
    import dcpredict as dc
    from dcpredict import GaussianLaw, Law
    tmp = tempfile.mkdtemp()

    def cli(*argv):
        o, d = _run_main(list(argv), cwd=tmp)
        if o != "ok":
            raise _CliOutcome(o, d)
        return d
    deep = os.path.join(tmp, "deep.json")
    with open(deep, "w") as fh:
        fh.write("[" * 100000 + "]" * 100000)
    binary = os.path.join(tmp, "bin.json")
    with open(binary, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    return [
        ("quantized nan (lam 1e-300..1e300, step 0.5)", lambda: dc.predict_quantized(
            Law([1e-300, 1e300, 1e-300, 1e300], [1.971, -2.86, -1.084, -1.018], [0.345, 0.041, 0.305, 0.309]),
            kappa=10, bits=1, sigma2=0, step=0.5)),
        ("quantized sigma2=1e300", lambda: dc.predict_quantized(Law([3.88e-12], [2.325]), kappa=2, bits=16,
                                                                sigma2=1e300)),
        ("cli quantize sigma2=1e300", lambda: cli("quantize", "--lam", "1e-12,1e12", "--b", "1,1", "--kappa", "0.5",
                                                   "--sigma2", "1e300", "--bits", "1", "--json")),
        ("predict_world zero-weight node", lambda: dc.predict_world(GaussianLaw([1, 2], [1, 1], [1, 0]), n=20, P=100,
                                                                    p=60, s=5, sigma2=0.1, order="random")),
        ("advise zero-weight node", lambda: dc.advise(GaussianLaw([1, 2], [1, 1], [1, 0]), n=20, P=100, s=5,
                                                      sigma2=0.1, order="random")),
        ("predict from_spectrum([1e300, 1e-300])", lambda: dc.predict(Law.from_spectrum([1e300, 1e-300]), kappa=1.5,
                                                                     alpha=0.4, sigma2=0.2)),
        ("Law.from_dict({'spectrum': [1,2,3]})", lambda: Law.from_dict({"spectrum": [1, 2, 3]})),
        ("--law binary file", lambda: cli("predict", "--law", binary, "--kappa", "2", "--alpha", "0.5",
                                          "--sigma2", "0.1")),
        ("--law deeply nested JSON", lambda: cli("predict", "--law", deep, "--kappa", "2", "--alpha", "0.5",
                                                 "--sigma2", "0.1")),
        ("--law /dev/zero", lambda: cli("predict", "--law", "/dev/zero", "--kappa", "2", "--alpha", "0.5",
                                        "--sigma2", "0.1")),
        ("--scheduler inproc://", lambda: cli("simulate", "--lam", "4,1", "--b", "1,1", "--sigma2", "0.1", "--kappa",
                                              "2", "--alpha", "0.5", "--n", "10", "--trials", "2", "--quiet",
                                              "--scheduler", "inproc://")),
        ("advise --map map.txt", lambda: cli("advise", "--lam", "4,1", "--b", "1,0.5", "--sigma2", "0.2", "--n", "20",
                                             "--s", "3", "--world-size", "30", "--map", os.path.join(tmp, "map.txt"))),
        ("density raising", lambda: Law.from_density(lambda x: 1 / 0, 1.0, 3.0)),
        ("density returning a string", lambda: Law.from_density(lambda x: "abc", 1.0, 3.0)),
        ("density of the wrong shape", lambda: Law.from_density(lambda x: x[:1], 1.0, 3.0)),
        ("density x^-1.5 on [1e-12, 1e12]", lambda: Law.from_density(lambda x: x ** -1.5, 1e-12, 1e12)),
        ("advise on 10000 atoms", lambda: dc.advise(Law.empirical(np.geomspace(1e-3, 1e3, 10000),
                                                                  np.linspace(-1, 1, 10000)), sigma2=0.1, n=100, s=10)),
        ("predict index_power_law(10**7)", lambda: dc.predict(Law.index_power_law(10 ** 7, 2.0), kappa=2, alpha=0.5,
                                                               sigma2=0.1)),
        ("quantized on 10000 Gaussian nodes", lambda: dc.predict_quantized(GaussianLaw([1] * 10000, [1] * 10000),
                                                                            kappa=2, bits=2, sigma2=0.1)),
        ("--world-size 0 names the flag", lambda: cli("predict", "--lam", "4,1", "--b", "1,1", "--sigma2", "0.1",
                                                      "--world-size", "0", "--p", "1", "--s", "1", "--n", "10")),
    ]


class _CliOutcome(Exception):
    def __init__(self, outcome, detail):
        super().__init__(detail)
        self.outcome, self.detail = outcome, detail


N_REPRODUCERS = 24


def case_reproducers(i: int) -> tuple[str, str]:
    cases = _reproducers()
    extra = ["world_size_2_warning", "tampered_1e10", "tampered_neg", "tampered_huge"]
    if i >= len(cases):
        return _repro_extra(extra[(i - len(cases)) % len(extra)])
    name, fn = cases[i]
    o, v, err, dt = _call(fn)
    if o == "refused" and "names the flag" in name and "--world-size" not in str(v):
        return "wrong", f"the refusal does not name --world-size: {v} [{name}]"
    if o != "ok":
        return o, f"{v} [{name}]"
    if "names the flag" in name:
        return "wrong", f"accepted [{name}]"
    if isinstance(v, str) and "nan" in v.lower().replace("nano", ""):
        return "nan", f"nan in the output [{name}]"
    for attr in ("risk", "unquantized", "dense"):
        x = getattr(v, attr, None)
        if isinstance(x, float) and math.isnan(x):
            return "nan", f"{attr} is nan [{name}]"
    return "ok", f"{dt:.1f} s"


def _repro_extra(kind: str) -> tuple[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "world_size_2_warning":
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("always")  # (the workers ignore warnings; this case is about them)
                rc, out, err = _run_main_err(["simulate", "--world-size", "2", "--p", "1,2", "--s", "1", "--n", "10",
                                              "--lam", "4,1,1,0.25", "--b", "2,1,0,0.5", "--sigma2", "0.1",
                                              "--trials", "3", "--workers", "1", "--quiet"], cwd=tmp)
            lines = [x for x in err.splitlines() if x.strip()]
            if rc == "0" and len(lines) > 1:
                return "multi-line", f"a successful run printed {len(lines)} lines on stderr [--world-size 2 warning]"
            return "ok", ""
        out = os.path.join(tmp, "log.jsonl")
        o, d = _run_main([*_LOG_ARGS, "--out", out], cwd=tmp)
        lines = open(out).read().splitlines()
        rec = json.loads(lines[1])
        rec["dense" if kind != "tampered_neg" else "hessian"] = {"tampered_1e10": 1e10, "tampered_neg": -5.0,
                                                                 "tampered_huge": 1.7e308}[kind]
        lines[1] = json.dumps(rec)
        open(out, "w").write("\n".join(lines) + "\n")
        o, d = _run_main([*_LOG_ARGS, "--out", out], cwd=tmp)
        if o == "ok":
            return "tampered-accepted", f"an edited record was averaged in [{kind}]"
        return o, f"{d} [{kind}]"


CASES = {"predict": case_predict, "grid": case_grid, "api_types": case_api_types, "cli_theory": case_cli_theory,
         "cli_simulate": case_cli_simulate, "files": case_files, "kill": case_kill,
         "compression": case_compression, "continuous": case_continuous, "world": case_world,
         "advisor": case_advisor, "results_file": case_results_file, "trial_log": case_trial_log,
         "cli_new": case_cli_new, "lock": case_lock, "reproducers": case_reproducers}


def worker(cat: str, start: int, stop: int) -> None:
    import resource
    import warnings
    warnings.simplefilter("ignore")
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))
    signal.signal(signal.SIGALRM, _alarm)
    import dcpredict  # noqa: F401  (compile/load the kernels before the first alarm)
    for i in range(start, stop):
        t0 = time.time()
        signal.alarm(TIMEOUT[cat])
        try:
            outcome, detail = CASES[cat](i)
        except Hang:
            outcome, detail = "hang", f"no answer within {TIMEOUT[cat]} s"
        except MemoryError:
            outcome, detail = "crash", "MemoryError inside the harness"
        except Exception as exc:  # noqa: BLE001 - a bug of this script, not of dcpredict: reported apart
            outcome, detail = "harness-error", f"{type(exc).__name__}: {exc}"
        finally:
            signal.alarm(0)
        print(json.dumps({"i": i, "outcome": outcome, "detail": detail[:400], "seconds": round(time.time() - t0, 3)}),
              flush=True)


# =============================================================================== driver side
def run_tree(tree: str, cat: str, n: int) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": os.path.abspath(tree), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONWARNINGS": "ignore"}
    env.pop("DCPREDICT_MEMORY_LIMIT", None)
    results: dict[int, dict] = {}
    start = 0
    while start < n:
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", cat, str(start), str(n)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                cwd=tempfile.gettempdir(), start_new_session=True)
        last = start - 1
        lines: queue.Queue = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)], daemon=True)
        reader.start()
        while True:
            try:  # a case stuck in compiled code does not see the alarm: the driver kills the worker
                line = lines.get(timeout=TIMEOUT[cat] * 2 + 120)
            except queue.Empty:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            if line is None:
                break
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            results[rec["i"]] = rec
            last = rec["i"]
        proc.wait()
        if last + 1 >= n:
            break
        # the worker died on case last + 1 (out of memory, a signal, a stuck alarm): record it and go on
        results[last + 1] = {"i": last + 1, "outcome": "crash", "detail": f"worker died (exit {proc.returncode})",
                             "seconds": None}
        start = last + 2
    return [results[i] for i in sorted(results)]


def summarise(recs: list[dict]) -> dict:
    c = collections.Counter(r["outcome"] for r in recs)
    return {"inputs": len(recs), "ok": c["ok"] + c["progress"], "refused": c["refused"],
            **{k: c[k] for k in FAILURES}, "failures": sum(c[k] for k in FAILURES), "harness": c["harness-error"]}


def _table(res: dict, cats: list) -> list[str]:
    lines = ["| category | inputs | before: failures | after: failures | before: refused / ok | "
             "after: refused / ok |", "|---|---:|---:|---:|---:|---:|"]
    tot = collections.Counter()
    empty = {"inputs": 0, "ok": 0, "refused": 0, "failures": 0, **{k: 0 for k in FAILURES}}

    def kinds(s):
        parts = [f"{s[k]} {k}" for k in FAILURES if s[k]]
        return f"**{s['failures']}**" + (f" ({', '.join(parts)})" if parts else "")
    for cat in cats:
        b = summarise(res["before"][cat]) if cat in res["before"] else None
        a = summarise(res["after"][cat]) if cat in res["after"] else empty
        tot.update({"inputs": a["inputs"], "bf": b["failures"] if b else 0, "af": a["failures"]})
        lines.append(f"| {cat} | {a['inputs']} | {kinds(b) if b else '-'} | {kinds(a)} | "
                     f"{(str(b['refused']) + ' / ' + str(b['ok'])) if b else '-'} | {a['refused']} / {a['ok']} |")
    lines.append(f"| **total** | {tot['inputs']} | **{tot['bf']}** | **{tot['af']}** | | |")
    return lines


def markdown(res: dict, trees: dict, elapsed: dict, cat_trees: dict | None = None) -> str:
    cat_trees = cat_trees or {}
    old = [c for c in res["after"] if c not in NEW_CATEGORIES]
    new = [c for c in NEW_CATEGORIES if c in res["after"] or c in res["before"]]
    when = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    lines = ["# Reliability: adversarial inputs, before and after issues 9 and 19", "",
             "Generated by `python validation/adversarial.py --before <old tree> --after .` "
             f"(last update {when}).  The same generated inputs are given to both trees; see the module "
             "docstring of `validation/adversarial.py` for the classification.  A *failure* is a traceback, a nan, "
             "a wrong or uncertified number (disagreeing with mpmath, with the exact feature-scale invariance, "
             "with the point prediction, or below sigma^2), a changed file that dcpredict did not write, a hang "
             "(no answer within the per-input alarm and nothing on stderr) or a crash; for issue 19 also a "
             "*tampered-accepted* file (a saved result or trial-log record edited out of range, or edited at all "
             "for a trial log, read back without a refusal), a *silent* run (over 60 s with nothing on stderr: no "
             "progress, no estimate) and a *multi-line* message on a successful run.  A run stopped by the alarm "
             "while it showed progress counts as ok.", ""]
    if new:
        t = cat_trees.get(new[0], trees)
        lines += ["## Issue 19: compression, continuous laws, world, advisor, saved results, trial logs, CLI", "",
                  f"before: `{t.get('before')}` (the tree before issue 19), after: `{t.get('after')}`.", ""]
        lines += _table(res, new) + [""]
    if old:
        lines += ["## Issue 9: the theory, the grid, the first command line and its files", "",
                  f"before: the tree at 43e9e09 (`{trees.get('before9', trees.get('before'))}`), after: "
                  f"`{trees.get('after9', trees.get('after'))}`.", ""]
        lines += _table(res, old) + [""]
    spent = {side: sum(r["seconds"] or 0.0 for recs in res[side].values() for r in recs) for side in res}
    lines += [f"Time spent on the inputs (sum over inputs, 2 shared cores): before {spent['before']:.0f} s, "
              f"after {spent['after']:.0f} s.", ""]
    nh = sum(summarise(recs)["harness"] for side in res.values() for recs in side.values())
    if nh:
        lines += [f"({nh} inputs could not be generated or checked because of an error of the harness itself; "
                  "they are counted in neither column.)", ""]
    import re
    reasons = collections.Counter()
    for cat, recs in res["after"].items():
        for r in recs:
            if r["outcome"] == "refused":
                text = re.sub(r"'[^']*'", "'...'", r["detail"].split(" [")[0])
                text = re.sub(r"-?\d[\d.e+-]*", "#", re.sub(r"^dcpredict ", "", text))
                reasons[(cat, text[:110])] += 1
    lines += ["## Most common refusals after (one line each, exit 2 on the command line)", ""]
    for (cat, text), k in reasons.most_common(25):
        lines.append(f"- {cat}: {k} x `{text}`")
    lines.append("")
    for side in ("after", "before"):
        lines += [f"## Failures {side}", ""]
        shown = 0
        for cat, recs in res[side].items():
            fails = [r for r in recs if r["outcome"] in FAILURES]
            seen = set()
            for r in fails:
                key = (r["outcome"], r["detail"].split("[")[0][:60])
                if key in seen and side == "before":
                    continue
                seen.add(key)
                lines.append(f"- {cat} #{r['i']}: **{r['outcome']}**: {r['detail']}")
                shown += 1
                if side == "before" and len(seen) >= 8:
                    lines.append(f"- ... ({len(fails)} failures in {cat} in all)")
                    break
        if not shown:
            lines.append("None.")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="source tree of the old version (e.g. a git worktree)")
    ap.add_argument("--after", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RELIABILITY.md"))
    ap.add_argument("--categories", default=",".join(N_CASES))
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the inputs per category")
    ap.add_argument("--sides", default="after,before", help="which trees to (re)run: after, before or both")
    ap.add_argument("--update", action="store_true",
                    help="rerun only --categories and keep the other results of the previous RELIABILITY.json")
    args = ap.parse_args()
    cats = [c for c in args.categories.split(",") if c]  # --update --categories "": only rewrite the report
    res: dict = {"before": {}, "after": {}}
    elapsed = {"before": 0.0, "after": 0.0}
    trees = {"before": args.before, "after": args.after}
    cat_trees: dict = {}
    if args.update:
        with open(os.path.splitext(args.out)[0] + ".json") as fh:
            prev = json.load(fh)
        res, elapsed = prev["results"], prev["elapsed"]
        cat_trees = prev.get("cat_trees", {})
        old_trees = prev.get("trees", {})
        trees["before9"] = old_trees.get("before9", old_trees.get("before"))
        trees["after9"] = old_trees.get("after9", old_trees.get("after"))
    for cat in cats:
        cat_trees[cat] = {"before": args.before, "after": args.after}
    for side in args.sides.split(","):
        t0 = time.time()
        for cat in cats:
            n = max(1, int(N_CASES[cat] * args.scale))
            res[side][cat] = run_tree(trees[side], cat, n)
            s = summarise(res[side][cat])
            print(f"{side:6} {cat:13} {s}", flush=True)
        elapsed[side] = elapsed[side] + time.time() - t0 if args.update else time.time() - t0
    with open(os.path.splitext(args.out)[0] + ".json", "w") as fh:
        json.dump({"trees": trees, "cat_trees": cat_trees, "elapsed": elapsed, "results": res}, fh, indent=0)
    with open(args.out, "w") as fh:
        fh.write(markdown(res, trees, elapsed, cat_trees) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
