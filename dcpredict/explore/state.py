"""The explorer's state and logic, without any web framework (tested in process).

The page's controls are text, exactly as they would be typed after the options of ``dcpredict advise``;
:func:`evaluate` turns them into a world and the same calls the command makes, so the advice text is
``Advice.summary()`` of the same inputs, and a bad control gets the command's own words
(``dcpredict advise: error: WORDS`` on the command line is ``CONTROL: WORDS`` in the page).

The state travels as a URL query string (:func:`to_query`, :func:`from_query`); :func:`cli_command` is the
equivalent command line.
"""
from __future__ import annotations

import dataclasses
import json
import math
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

import numpy as np

from .._validate import DCPredictError

__all__ = ["State", "PRESETS", "PRESET_LABELS", "CONTROL_LABELS", "ControlError", "Evaluation", "evaluate",
           "display_ps", "evaluate_curve", "evaluate_advice", "to_query", "from_query", "cli_argv", "cli_command", "law_spec", "build_law",
           "parse_inputs", "DISPLAY_POINTS", "DISPLAY_NEAR_N", "CURVE_FIELDS", "LINE_FIELDS", "sidecar",
           "curve_data"]

#: the fig. 3a world's B scale: c = 1/sqrt(4.96), so that E[B^2] = 1 (dcpredict.figures.WORLDS)
_C_A = 1.0 / math.sqrt(0.04 * 100.0 + 0.96)

#: at most this many model sizes are drawn: every integer p in [s, P] if there are no more, else a geometric
#: grid of this many integers plus every integer within DISPLAY_NEAR_N of n (the interpolation peak)
DISPLAY_POINTS = 600
DISPLAY_NEAR_N = 10

#: rule curves drawn (risk against p/n) and the horizontal lines (models that need no big model)
CURVE_FIELDS = ("dense", "magnitude", "hessian", "random", "oracle_pruned", "magnitude_retrained",
                "hessian_retrained", "random_retrained")
LINE_FIELDS = ("small_oracle", "small_top_variance", "small_random", "zero_model")

_COMMON = {"n": "200", "P": "1000", "s": "40", "sigma2": "0.1", "ridge": "0"}

#: the presets: the paper's Fig. 3a and 3b worlds (dcpredict.figures.WORLDS, world_params), a power-law
#: spectrum (atoms: saliency order works) and a continuous Gaussian-B law (B | Lambda ~ N(0, Lambda^e):
#: exact in B, random order only)
PRESETS: dict[str, dict[str, str]] = {
    "fig3a": {**_COMMON, "lam": "1,1", "b": f"{10 * _C_A!r},{_C_A!r}", "weights": "0.04,0.96",
              "order": "saliency"},
    "fig3b": {**_COMMON, "lam": "10,1", "b": "1,1", "weights": "0.04,0.96", "order": "saliency"},
    "power_law": {**_COMMON, "exponent": "1.5", "lam_min": "0.1", "lam_max": "10", "order": "saliency"},
    "gaussian_b": {**_COMMON, "lam_low": "0.25", "lam_high": "4", "b_var_exponent": "1", "order": "random"},
}
PRESET_LABELS = {"fig3a": "Fig. 3a world (beta spiked)", "fig3b": "Fig. 3b world (Sigma spiked)",
                 "power_law": "power-law spectrum (atoms)", "gaussian_b": "continuous Gaussian-B law"}
#: discretisation of the power-law preset: Gauss-Legendre nodes in Lambda x Gauss-Hermite nodes in B
POWER_LAW_ATOMS = (12, 12)

#: the controls of each preset's law
LAW_CONTROLS = {"fig3a": ("lam", "b", "weights"), "fig3b": ("lam", "b", "weights"),
                "power_law": ("exponent", "lam_min", "lam_max"),
                "gaussian_b": ("lam_low", "lam_high", "b_var_exponent")}
_WORLD_CONTROLS = ("n", "P", "s", "sigma2", "ridge", "order")

#: the label of each control in the page (and in its inline messages)
CONTROL_LABELS = {"preset": "world", "lam": "lam", "b": "b", "weights": "weights", "exponent": "exponent",
                  "lam_min": "lam_min", "lam_max": "lam_max", "lam_low": "lam_low", "lam_high": "lam_high",
                  "b_var_exponent": "b_var_exponent", "n": "n", "P": "P", "s": "s", "sigma2": "sigma2",
                  "ridge": "ridge", "order": "order"}
#: which command-line option each control is (for the equivalent command and the argparse words)
_OPTION = {"n": "--n", "P": "--world-size", "s": "--s", "sigma2": "--sigma2", "ridge": "--ridge",
           "order": "--order", "lam": "--lam", "b": "--b", "weights": "--weights"}


@dataclass(frozen=True)
class State:
    """Every control of the page, as the text typed into it (a preset's defaults fill the rest)."""
    preset: str = "fig3a"
    values: tuple = ()   # ((name, text), ...) for the controls of the preset

    @classmethod
    def from_preset(cls, preset: str, **overrides: Any) -> "State":
        if preset not in PRESETS:
            raise DCPredictError(f"world must be one of {', '.join(map(repr, PRESETS))}; got {preset!r}")
        vals = dict(PRESETS[preset])
        for k, v in overrides.items():
            if k not in vals:
                raise DCPredictError(f"the {preset} world has no control {k!r}; its controls: {', '.join(vals)}")
            vals[k] = str(v)
        return cls(preset, tuple(vals.items()))

    @property
    def controls(self) -> dict[str, str]:
        return dict(self.values)

    def get(self, name: str) -> str:
        return self.controls[name]

    def replace(self, **changes: Any) -> "State":
        vals = self.controls
        for k, v in changes.items():
            if k not in vals:
                raise DCPredictError(f"the {self.preset} world has no control {k!r}; its controls: {', '.join(vals)}")
            vals[k] = str(v)
        return dataclasses.replace(self, values=tuple(vals.items()))


class ControlError(DCPredictError):
    """A bad control: ``control`` names it, ``words`` are the command line's words (after ``error: ``)."""

    def __init__(self, control: str, words: str) -> None:
        super().__init__(f"{CONTROL_LABELS.get(control, control)}: {words}")
        self.control = control
        self.words = words


# ------------------------------------------------------------------------------------------ URL state
def to_query(state: State) -> str:
    """The query string (without '?') that restores ``state``: ``world=PRESET`` then every control."""
    return urlencode([("world", state.preset), *state.values])


def from_query(query: str | dict) -> State:
    """Inverse of :func:`to_query`; missing controls take the preset's defaults, unknown keys are refused.

    ``query`` is a query string (a leading '?' is allowed) or a dict of lists of str/bytes (Panel's
    ``pn.state.session_args``).
    """
    if isinstance(query, str):
        args = parse_qs(query.lstrip("?"), keep_blank_values=True)
    else:
        args = {k: [v.decode() if isinstance(v, bytes) else str(v) for v in vs] for k, vs in dict(query).items()}
    preset = args.pop("world", ["fig3a"])[-1]
    if preset not in PRESETS:
        raise ControlError("preset", f"world must be one of {', '.join(map(repr, PRESETS))}; got {preset!r}")
    unknown = sorted(set(args) - set(PRESETS[preset]))
    if unknown:
        raise ControlError("preset", f"the {preset} world has no control {unknown[0]!r}; its controls: "
                                     f"{', '.join(PRESETS[preset])}")
    return State.from_preset(preset, **{k: v[-1] for k, v in args.items()})


# ------------------------------------------------------------------------------------------ the world
def _argparse_float(control: str, text: str) -> float:
    """``type=float`` of the command's option, with argparse's words for a bad value."""
    try:
        return float(text)
    except ValueError:
        raise ControlError(control, f"argument {_OPTION[control]}: invalid float value: {text!r}") from None


def _spec_number(control: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:  # a JSON law file cannot hold this; the API's words for a non-number
        raise ControlError(control, f"{control} must be a real number; got {text!r}") from None


def law_spec(state: State) -> dict[str, Any]:
    """The law as the JSON object ``dcpredict advise --law FILE.json`` reads (atoms: lam, b, weights lists)."""
    c = state.controls
    if state.preset in ("fig3a", "fig3b"):
        from ..cli._common import float_list
        out = {}
        for k in ("lam", "b", "weights"):
            try:
                out[k] = float_list(f"--{k}", c[k])
            except DCPredictError as exc:
                raise ControlError(k, str(exc)) from None
        return out
    if state.preset == "power_law":
        params = {k: _spec_number(k, c[k]) for k in ("exponent", "lam_min", "lam_max")}
        return {"power_law": {**params, "method": "atoms", "order": POWER_LAW_ATOMS[0],
                              "b_order": POWER_LAW_ATOMS[1]}}
    params = {k: _spec_number(k, c[k]) for k in ("lam_low", "lam_high", "b_var_exponent")}
    return {"uniform": params}


def _control_of(message: str, candidates: tuple[str, ...]) -> str | None:
    """The control a DCPredictError message is about (its first word names the argument)."""
    head = message.split(" ", 1)[0].strip(",:;").lstrip("-")
    head = head.split("=", 1)[0].split("[", 1)[0]
    aliases = {"world-size": "P", "lam": "lam", "b": "b", "weights": "weights", "order": "order"}
    head = aliases.get(head, head)
    return head if head in candidates else None


_LAW_CACHE: dict[str, Any] = {}


def build_law(state: State):
    """The world's :class:`dcpredict.Law`, built exactly as ``dcpredict advise`` builds it from the options
    (the last few are kept: a continuous law's quadrature takes about 0.1 s)."""
    spec = law_spec(state)
    key = json.dumps(spec, sort_keys=True)
    if key not in _LAW_CACHE:
        law = _build_law(state, spec)
        if len(_LAW_CACHE) >= 16:
            _LAW_CACHE.pop(next(iter(_LAW_CACHE)))
        _LAW_CACHE[key] = law
    return _LAW_CACHE[key]


def _build_law(state: State, spec: dict):
    from ..law import Law
    try:
        if "lam" in spec:   # --lam/--b/--weights: Law(lam, b, weights) as law_from_args
            return Law(spec["lam"], spec["b"], spec["weights"])
        return Law.from_dict(spec)   # --law FILE.json: Law.from_json -> Law.from_dict
    except DCPredictError as exc:
        control = _control_of(str(exc), LAW_CONTROLS[state.preset]) or LAW_CONTROLS[state.preset][0]
        raise ControlError(control, _cli_words(exc, state)) from None


def parse_inputs(state: State) -> dict[str, Any]:
    """The advise() keyword arguments of the state (the command's option types), law included."""
    from ..cli._common import ridge_arg
    c = state.controls
    law = build_law(state)
    kw: dict[str, Any] = {"law": law}
    for k in ("sigma2", "n", "s", "P"):
        kw[k] = _argparse_float(k, c[k])
    try:
        kw["ridge"] = ridge_arg(c["ridge"])
    except Exception as exc:  # argparse.ArgumentTypeError: argparse prefixes the option
        raise ControlError("ridge", f"argument --ridge: {exc}") from None
    kw["order"] = c["order"]
    return kw


def display_ps(s: int, P: int, n: int, extra: Any = ()) -> np.ndarray:
    """The model sizes drawn: every integer in [s, P] if at most DISPLAY_POINTS, else DISPLAY_POINTS
    geometrically spaced integers from s to P plus every integer within DISPLAY_NEAR_N of n; ``extra``
    (e.g. the advice's best p) is added."""
    if P - s + 1 <= DISPLAY_POINTS:
        g = np.arange(s, P + 1, dtype=np.int64)
    else:
        g = np.geomspace(s, P, DISPLAY_POINTS).round().astype(np.int64)
        g = np.concatenate([g, np.arange(n - DISPLAY_NEAR_N, n + DISPLAY_NEAR_N + 1)])
    g = np.unique(np.concatenate([g, np.asarray(list(extra), dtype=np.int64), [s, P]]))
    return g[(g >= s) & (g <= P)]


def grid_text(s: int, P: int, n: int) -> str:
    if P - s + 1 <= DISPLAY_POINTS:
        return f"p grid: every integer in [{s}, {P}] ({P - s + 1} models)"
    return (f"p grid: {DISPLAY_POINTS} geometrically spaced integers in [{s}, {P}] and every integer within "
            f"{DISPLAY_NEAR_N} of n = {n}")


@dataclass
class Evaluation:
    """What the page shows for one state: the drawn curve, then the advice (as ``dcpredict advise``);
    ``error`` (a ControlError) instead when a control is bad.  ``advice`` is None until computed."""
    state: State
    advice: Any = None
    curve: Any = None
    law: Any = None
    error: ControlError | None = None
    curve_ridge: float = 0.0
    grid: str = ""
    inputs: dict | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def tuned(self) -> bool:
        """ridge 'optimal': the curve is drawn at the ridge the advice tunes (so only with the advice)."""
        return self.inputs is not None and self.inputs["ridge"] == "optimal"


def _world_error(exc: DCPredictError, state: State) -> ControlError:
    """The control named by the API's message, with the words ``dcpredict advise`` prints for it (the API's
    argument names replaced by the flags the command line was given, e.g. ``--s`` for ``s``)."""
    return ControlError(_control_of(str(exc), _WORLD_CONTROLS) or _guess(str(exc), state), _cli_words(exc, state))


def _cli_words(exc: DCPredictError, state: State) -> str:
    from ..cli import build_parser, join_negative_values
    from ..cli._common import cli_message
    try:
        parser = build_parser()   # the command line's own reading of the same options (main() does the same)
        args = parser.parse_args(join_negative_values(cli_argv(state, "world.json"), parser))
    except (SystemExit, DCPredictError):  # the command line would refuse earlier: keep the API's words
        return str(exc)
    return cli_message(exc, args)


def _curve(law, kw: dict, ridge: float):
    from ..world import predict_world_curve
    ps = display_ps(kw["s"], kw["P"], kw["n"])
    return predict_world_curve(law, n=kw["n"], P=kw["P"], s=kw["s"], sigma2=kw["sigma2"], ps=ps, ridge=ridge,
                               order=kw["order"])


def evaluate_curve(state: State) -> Evaluation:
    """The first, fast half of :func:`evaluate`: the inputs checked as ``dcpredict advise`` checks them (its
    words on failure) and the curve (not with ridge 'optimal': that curve needs the tuned ridge)."""
    from ..advisor import PRUNE_RULES, _check_inputs
    try:
        kw = parse_inputs(state)
        ridge = kw["ridge"]
        try:
            law, sigma2, n, s, P, _, order, r, _, _ = _check_inputs(
                kw["law"], kw["sigma2"], kw["n"], kw["s"], kw["P"], kw["order"],
                0.0 if ridge == "optimal" else ridge, PRUNE_RULES, 1e-3)
            kw.update(sigma2=sigma2, n=n, s=s, P=P, order=order)
            if ridge == "optimal":
                return Evaluation(state, law=law, inputs=kw)
            kw["ridge"] = r
            curve = _curve(law, kw, r)
        except DCPredictError as exc:
            raise _world_error(exc, state) from None
        return Evaluation(state, None, curve, law, None, r, grid_text(s, P, n), kw)
    except ControlError as exc:
        return Evaluation(state, error=exc)


def evaluate_advice(ev: Evaluation) -> Evaluation:
    """The second half: the advice of ``dcpredict advise`` (and, for ridge 'optimal', the curve at the tuned
    ridge).  Returns a new Evaluation (``error`` set if the advisor refuses)."""
    from ..advisor import advise
    if not ev.ok:
        return ev
    kw = ev.inputs
    try:
        adv = advise(ev.law, sigma2=kw["sigma2"], n=kw["n"], s=kw["s"], P=kw["P"], order=kw["order"],
                     ridge=kw["ridge"])
        curve, ridge = ev.curve, ev.curve_ridge
        if curve is None:
            curve, ridge = _curve(ev.law, kw, adv.ridge), adv.ridge
    except DCPredictError as exc:
        return Evaluation(ev.state, error=_world_error(exc, ev.state))
    return dataclasses.replace(ev, advice=adv, curve=curve, curve_ridge=ridge,
                               grid=grid_text(kw["s"], kw["P"], kw["n"]))


def evaluate(state: State) -> Evaluation:
    """Curve and advice for ``state``; a bad control gives ``Evaluation.error`` (never raises
    DCPredictError).  With ridge 'optimal' the curve is drawn at the advice's tuned ridge."""
    return evaluate_advice(evaluate_curve(state))


def _guess(message: str, state: State) -> str:
    if "Gaussian-B" in message or "saliency" in message:
        return "order"
    return "preset"


# ------------------------------------------------------------------------------------------ exports
def cli_argv(state: State, law_path: str = "world.json") -> list[str]:
    """``dcpredict advise`` arguments (without the program name) equivalent to ``state``; a power-law or
    Gaussian-B world is read from ``law_path`` (write :func:`law_spec` there)."""
    c = state.controls
    argv = ["advise"]
    if state.preset in ("fig3a", "fig3b"):
        argv += ["--lam", c["lam"], "--b", c["b"], "--weights", c["weights"]]
    else:
        argv += ["--law", law_path]
    argv += ["--sigma2", c["sigma2"], "--n", c["n"], "--s", c["s"], "--world-size", c["P"], "--order", c["order"],
             "--ridge", c["ridge"]]
    return argv


def cli_command(state: State, law_path: str = "world.json") -> str:
    """The shell command(s) that print the same advice: ``dcpredict advise ...`` (preceded by writing the
    law file for a power-law or Gaussian-B world)."""
    cmd = "dcpredict " + shlex.join(cli_argv(state, law_path))
    if state.preset in ("fig3a", "fig3b"):
        return cmd
    try:
        spec = json.dumps(law_spec(state))
    except ControlError:
        spec = "{}"
    return f"echo {shlex.quote(spec)} > {shlex.quote(law_path)}\n{cmd}"


def _num(x: float) -> float | str:
    x = float(x)
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def curve_data(ev: Evaluation) -> dict[str, Any]:
    """The plotted numbers: p, p/n, every rule's risk, the lines (a divergent risk is the string 'inf')."""
    if not ev.ok:
        return {"error": str(ev.error), "control": ev.error.control}
    c = ev.curve
    if c is None:
        return {"pending": "tuning the ridge"}
    out: dict[str, Any] = {"p": [int(p) for p in c.ps], "p_over_n": [float(p) / c.n for p in c.ps],
                           "n": c.n, "P": c.P, "s": c.s, "sigma2": c.sigma2, "ridge": c.ridge, "order": c.order}
    for f in CURVE_FIELDS:
        out[f] = [_num(v) for v in getattr(c, f)]
    for f in LINE_FIELDS:  # the world's baselines: one number each (c.small_oracle etc. are arrays over ps)
        out[f] = _num(c.baselines[f])
    a = ev.advice
    out["best"] = None if a is None else {"p": a.best_p, "rule": a.best_rule, "risk": _num(a.best_risk)}
    out["grid"] = ev.grid
    return out


def sidecar(ev: Evaluation, url: str | None = None) -> dict[str, Any]:
    """The export's sidecar JSON: state, query string, command, advice (Advice.to_dict) and curve."""
    from .. import __version__
    out: dict[str, Any] = {"software": f"dcpredict {__version__}", "what": "dcpredict explore: current view",
                           "world": ev.state.preset, "controls": ev.state.controls,
                           "query": to_query(ev.state), "command": cli_command(ev.state)}
    if url is not None:
        out["url"] = url
    if ev.ok:
        out["law"] = law_spec(ev.state)
        out["advice"] = None if ev.advice is None else ev.advice.to_dict()
        out["curve"] = curve_data(ev)
    else:
        out["error"] = str(ev.error)
    return out
