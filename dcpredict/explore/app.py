"""The explorer's page: Panel widgets and Bokeh plots over :mod:`dcpredict.explore.state`.

Imported only by :func:`dcpredict.explore.explore` and ``dcpredict explore`` (needs the ``explore`` extra).
"""
from __future__ import annotations

import html
import io
import json
import math
import threading
import time
import warnings
from typing import Any

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, HoverTool, Legend, LegendItem, Whisker
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from .._validate import DCPredictError
from . import state as S

__all__ = ["Explorer", "COMPUTE_LOCK"]

#: one numba computation at a time (the compiled kernels' thread pool is not re-entrant across Python threads)
COMPUTE_LOCK = threading.RLock()

_COLORS = dict(zip(S.CURVE_FIELDS, Category10_10))
_LINE_STYLE = {"small_oracle": ("black", "dashed"), "small_top_variance": ("gray", "dotdash"),
               "small_random": ("silver", "dotted"), "zero_model": ("saddlebrown", "dotdash")}
_PHASE_COLORS = ("#4c72b0", "#55a868", "#c4a000", "#c44e52")
_PHASES = ("pruning a bigger model", "small_oracle", "small_top_variance", "zero model")
#: model sizes simulated on request (geometric in [s, P], the integers nearest to these fractions)
SIM_POINTS = 7
SIM_FIELDS = ("dense", "magnitude", "hessian", "oracle_pruned", "magnitude_retrained", "hessian_retrained")
#: the advice's search starts this long after the curve is drawn (it holds the GIL; the curve goes out first)
ADVICE_DELAY_MS = 30
#: rows of budgets s computed per step of the phase map (progress and cancellation between steps)
MAP_CHUNK = 4

#: styles of the HTML panes (each pane renders in its own shadow root, so each gets the sheet)
_CSS = """
pre {font-size: 11px; line-height: 1.25; white-space: pre; overflow-x: auto; margin: 0}
pre.dcp-wrap {white-space: pre-wrap; word-break: break-all}
table {border-collapse: collapse; font-size: 12px}
td, th {border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: right}
td:first-child, th:first-child {text-align: left}
.swatch {display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 10px; vertical-align: middle}
"""


def _finite(values: Any) -> list[float]:
    """Bokeh cannot draw inf on a log axis: a divergent risk is a gap (NaN) in the drawing only."""
    return [float(v) if math.isfinite(float(v)) else float("nan") for v in np.atleast_1d(values)]


class Explorer(pn.viewable.Viewer):
    """The explorer's panel (a Panel ``Viewer``: displays in Jupyter, ``.view`` is its layout).

    Parameters
    ----------
    state : State, optional
        Initial controls (default: the Fig. 3a world).
    server : bool
        True when served by ``dcpredict explore`` (the URL's query string is kept in sync).
    """

    def __init__(self, state: S.State | None = None, *, server: bool = False) -> None:
        super().__init__()
        self.server = server
        self._doc = pn.state.curdoc if server else None
        self._generation = 0
        self._updating = False
        self.evaluation: S.Evaluation | None = None
        self.timings: list[float] = []
        init_error = None
        if state is None:
            state = S.State.from_preset("fig3a")
            if server and any(not k.startswith("bokeh-") for k in pn.state.session_args):
                try:
                    state = S.from_query({k: v for k, v in pn.state.session_args.items()
                                          if not k.startswith("bokeh-")})   # Bokeh's own (embedding) args
                except DCPredictError as exc:
                    init_error = exc
        self._build_widgets(state)
        self._build_plots()
        self._host = None
        self._location = None
        self._closed = False
        if server and self._doc is not None:
            self._doc.on_session_destroyed(lambda session_context: self._session_closed())
        if server:
            try:
                self._host = pn.state.headers.get("Host")
                self._location = pn.state.location
            except Exception:
                pass
        self._build_layout()
        self.update(immediate=True)
        if init_error is not None:
            self._show_error(f"URL: {init_error}")

    # ------------------------------------------------------------------ widgets
    def _build_widgets(self, state: S.State) -> None:
        self.preset = pn.widgets.Select(label="world", options={v: k for k, v in S.PRESET_LABELS.items()},
                                        value=state.preset, css_classes=["dcp-preset"], width=260)
        names = sorted({k for p in S.PRESETS.values() for k in p} - {"order"})
        self.inputs: dict[str, Any] = {}
        for k in names:
            self.inputs[k] = pn.widgets.TextInput(label=S.CONTROL_LABELS[k], value=S.PRESETS[state.preset].get(k, ""),
                                                  css_classes=[f"dcp-{k}"], width=125)
        self.inputs["order"] = pn.widgets.Select(label="order", options=["saliency", "random"],
                                                 css_classes=["dcp-order"], width=125)
        for k, v in state.controls.items():
            self.inputs[k].value = v
        self._set_visibility(state.preset)
        self.preset.param.watch(self._on_preset, "value")
        for w in self.inputs.values():
            w.param.watch(self._on_change, "value")
        self.error = pn.pane.HTML("", visible=False, css_classes=["dcp-error"], sizing_mode="stretch_width")
        self.sim_button = pn.widgets.Button(label="simulate markers", color="primary", width=150)
        self.sim_trials = pn.widgets.IntInput(label="trials per p", value=20, start=2, end=10_000, width=100)
        self.sim_progress = pn.indicators.Progress(value=0, max=SIM_POINTS, width=150, visible=False)
        self.sim_status = _Status("dcp-sim-status")
        self.sim_button.on_click(self._on_simulate)
        self.map_button = pn.widgets.Button(label="compute phase map", color="primary", width=150)
        self.map_progress = pn.indicators.Progress(value=0, max=100, width=150, visible=False)
        self.map_status = _Status("dcp-map-status")
        self.map_button.on_click(self._on_map)
        self.json_download = pn.widgets.FileDownload(callback=self._sidecar_file, filename="dcpredict_explore.json",
                                                     label="sidecar JSON", color="default", width=150)
        self.png_download = pn.widgets.FileDownload(callback=self._png_file, filename="dcpredict_explore.png",
                                                    label="PNG", color="default", width=150)
        css = dict(stylesheets=[_CSS])
        self.command = pn.pane.HTML("", css_classes=["dcp-command"], sizing_mode="stretch_width", **css)
        self.url = pn.pane.HTML("", css_classes=["dcp-url"], sizing_mode="stretch_width", **css)
        self.advice_text = pn.pane.HTML("", css_classes=["dcp-advice"], sizing_mode="stretch_width", **css)
        self.advice_table = pn.pane.HTML("", css_classes=["dcp-table"], **css)
        self.map_legend = pn.pane.HTML("".join(
            f'<span class="swatch" style="background:{c}"></span>{html.escape(n)}'
            for c, n in zip(_PHASE_COLORS, _PHASES)) + '<span class="swatch" style="background:none">&#9733;</span>'
            'the advice (best p, s)', **css)
        self.map_auto = pn.widgets.Checkbox(label="recompute on every change", value=True)
        self.data = pn.pane.HTML("", css_classes=["dcp-data"], width=0, height=0, margin=0)
        self.grid = _Status("dcp-grid")
        self.timing = _Status("dcp-timing")

    def _set_visibility(self, preset: str) -> None:
        for k, w in self.inputs.items():
            w.visible = k in S.PRESETS[preset]

    def current_state(self) -> S.State:
        preset = self.preset.value
        return S.State(preset, tuple((k, str(self.inputs[k].value)) for k in S.PRESETS[preset]))

    # ------------------------------------------------------------------ plots
    def _build_plots(self) -> None:
        f = figure(x_axis_type="log", y_axis_type="log", width=720, height=430, toolbar_location="above",
                   tools="pan,wheel_zoom,box_zoom,reset,save", title="risk against p/n at fixed s",
                   x_axis_label="p / n (model size over samples)", y_axis_label="test risk (world)")
        self.curve_src = ColumnDataSource({"x": [], "p": [], **{k: [] for k in S.CURVE_FIELDS}}, name="dcp-curve")
        items = []
        for k in S.CURVE_FIELDS:
            dash = "dashed" if k.endswith("_retrained") else "solid"
            r = f.line("x", k, source=self.curve_src, color=_COLORS[k], line_width=2, line_dash=dash)
            f.add_tools(HoverTool(renderers=[r], tooltips=[("rule", k), ("p", "@p"), ("p/n", "@x{0.000}"),
                                                           ("risk", f"@{{{k}}}{{0.00000}}")]))
            items.append(LegendItem(label=k, renderers=[r]))
        self.line_src = {}
        for k, (color, dash) in _LINE_STYLE.items():
            src = ColumnDataSource({"x": [], "y": []}, name=f"dcp-{k}")
            r = f.line("x", "y", source=src, color=color, line_dash=dash, line_width=2)
            f.add_tools(HoverTool(renderers=[r], tooltips=[("line", k), ("risk", "@y{0.00000}")]))
            items.append(LegendItem(label=k, renderers=[r]))
            self.line_src[k] = src
        self.best_src = ColumnDataSource({"x": [], "y": [], "label": []}, name="dcp-best")
        r = f.scatter("x", "y", source=self.best_src, marker="star", size=16, color="black")
        f.add_tools(HoverTool(renderers=[r], tooltips=[("best", "@label")]))
        items.append(LegendItem(label="advice: best", renderers=[r]))
        self.sim_src = ColumnDataSource({"x": [], "y": [], "lo": [], "hi": [], "color": [], "field": [], "p": []},
                                        name="dcp-sim")
        r = f.scatter("x", "y", source=self.sim_src, color="color", size=8, marker="circle", fill_alpha=0.6)
        f.add_layout(Whisker(source=self.sim_src, base="x", lower="lo", upper="hi", line_color="color"))
        f.add_tools(HoverTool(renderers=[r], tooltips=[("simulated", "@field"), ("p", "@p"),
                                                       ("mean", "@y{0.00000}"), ("95% CI", "@lo{0.0000} - @hi{0.0000}")]))
        legend = Legend(items=items, location="top_left", click_policy="hide", label_text_font_size="9pt")
        f.add_layout(legend, "right")
        self.curve_fig = f

        m = figure(x_axis_type="log", y_axis_type="log", width=520, height=430, toolbar_location="above",
                   tools="pan,wheel_zoom,reset,save", title="phase map: best option at (p, s)",
                   x_axis_label="model size p", y_axis_label="budget s")
        self.map_src = ColumnDataSource(name="dcp-map", data={"left": [], "right": [], "bottom": [], "top": [], "color": [],
                                         "phase": [], "p": [], "s": [], "rule": [], "risk": []})
        r = m.quad(left="left", right="right", bottom="bottom", top="top", fill_color="color", line_color=None,
                   source=self.map_src)
        m.add_tools(HoverTool(renderers=[r], tooltips=[("p", "@p"), ("s", "@s"), ("best", "@phase"),
                                                       ("rule", "@rule"), ("pruned risk", "@risk{0.00000}")]))
        self.mark_src = ColumnDataSource({"x": [], "y": []}, name="dcp-mark")
        m.scatter("x", "y", source=self.mark_src, marker="star", size=18, color="white", line_color="black")
        self.map_fig = m

    # ------------------------------------------------------------------ layout
    def _build_layout(self) -> None:
        law_box = pn.Column(pn.pane.Markdown("**world**"), self.preset,
                            pn.GridBox(*[self.inputs[k] for k in ("lam", "b", "weights", "exponent", "lam_min",
                                                                   "lam_max", "lam_low", "lam_high", "b_var_exponent")],
                                       ncols=2),
                            pn.GridBox(*[self.inputs[k] for k in ("P", "n", "s", "sigma2", "ridge", "order")], ncols=2),
                            width=290)
        sim_box = pn.Column(pn.pane.Markdown("**simulation**"), self.sim_trials, self.sim_button, self.sim_progress,
                            self.sim_status)
        map_box = pn.Column(pn.pane.Markdown("**phase map**"), self.map_auto, self.map_button, self.map_progress,
                            self.map_status)
        export = pn.Column(pn.pane.Markdown("**export**"), self.png_download, self.json_download)
        side = pn.Column(law_box, sim_box, map_box, export, width=300)
        main = pn.Column(
            self.error,
            pn.Row(pn.pane.Bokeh(self.curve_fig), pn.Column(pn.pane.Bokeh(self.map_fig), self.map_legend)),
            self.grid, self.timing,
            pn.Row(pn.Column(pn.pane.Markdown("**advice (as `dcpredict advise`)**"), self.advice_table, width=560),
                   pn.Column(pn.pane.Markdown("**equivalent command**"), self.command,
                             pn.pane.Markdown("**shareable URL**"), self.url, sizing_mode="stretch_width")),
            self.advice_text, self.data, sizing_mode="stretch_width")
        self.view = pn.Row(side, main, sizing_mode="stretch_width")

    def __panel__(self):
        return self.view

    # ------------------------------------------------------------------ events
    def _on_preset(self, event) -> None:
        self._updating = True
        try:
            for k, v in S.PRESETS[event.new].items():
                self.inputs[k].value = v
            self._set_visibility(event.new)
        finally:
            self._updating = False
        self.update()

    def _on_change(self, event) -> None:
        if not self._updating:
            self.update()

    def update(self, *, immediate: bool = False) -> None:
        """Recompute for the current controls; a bad control shows its message and leaves the plots.

        Two steps: the curve is computed here and drawn at once; the advice (the search of ``dcpredict
        advise``) follows from a background thread, then the phase map.  The page's models change on the
        session's event loop when served (Bokeh's document lock), at once otherwise (``immediate``, Jupyter).
        """
        self._generation += 1     # cancels a running advice, simulation or phase map
        gen = self._generation
        t0 = time.perf_counter()
        st = self.current_state()
        try:
            with COMPUTE_LOCK:
                ev = S.evaluate_curve(st)
        except Exception as exc:  # a bug: one line in the page, never a trace
            ev = _bug(st, exc)
        self.evaluation = ev
        dt = time.perf_counter() - t0
        run = (lambda fn: fn()) if immediate else self._schedule
        run(lambda: self._apply_curve(gen, ev, dt))
        if not ev.ok:
            return
        if immediate:
            self._advise(gen, ev, t0, run)
            return

        def start() -> None:
            threading.Thread(target=self._advise, args=(gen, ev, t0, run), daemon=True).start()
        doc = self._doc
        if doc is not None and doc.session_context is not None:
            # the compiled search holds the GIL: start it once the curve has gone out to the browser
            doc.add_timeout_callback(start, ADVICE_DELAY_MS)
        else:
            start()

    def _advise(self, gen: int, ev: S.Evaluation, t0: float, run) -> None:
        if gen != self._generation:
            return
        try:
            with COMPUTE_LOCK:
                if gen != self._generation:
                    return
                full = S.evaluate_advice(ev)
        except Exception as exc:  # a bug: one line in the page, never a trace
            full = _bug(ev.state, exc)
        dt = time.perf_counter() - t0
        run(lambda: self._apply_advice(gen, full, dt))

    def _apply_curve(self, gen: int, ev: S.Evaluation, dt: float) -> None:
        if gen != self._generation:
            return                # a newer evaluation follows
        st = ev.state
        self.command.object = f'<pre class="dcp-wrap dcp-command-text">{html.escape(S.cli_command(st))}</pre>'
        self._set_url(st)
        self._clear_sim()
        if not ev.ok:
            self._show_error(str(ev.error))
            self.data.object = self._data_html(S.curve_data(ev))
            return
        self.error.visible = False
        self.error.object = ""
        self.advice_table.object = "<p><i>searching every model size (as dcpredict advise) ...</i></p>"
        self.advice_text.object = ""
        self.best_src.data = {"x": [], "y": [], "label": []}
        self.map_src.data = {k: [] for k in self.map_src.data}
        self.phase_map = None
        if ev.curve is not None:
            self._draw_curve(ev)
            self.timings.append(dt)
            self.timing.text = f"curve in {1e3 * dt:.0f} ms; the advice follows"
            self.grid.text = ev.grid + f"; ridge {ev.curve_ridge:g}"
        else:
            self.timing.text = "ridge 'optimal': tuning the ridge (the curve is drawn at the tuned ridge) ..."
        self.data.object = self._data_html(S.curve_data(ev))

    def _apply_advice(self, gen: int, ev: S.Evaluation, dt: float) -> None:
        if gen != self._generation:
            return
        self.evaluation = ev
        if not ev.ok:
            self._show_error(str(ev.error))
            self.advice_table.object = ""
            self.data.object = self._data_html(S.curve_data(ev))
            return
        if ev.tuned:
            self._draw_curve(ev)
            self.grid.text = ev.grid + f"; ridge {ev.curve_ridge:g} (tuned by the advice)"
        self._draw_best(ev)
        self._draw_advice(ev)
        self.timing.text = f"{self.timing.text.split(';')[0]}; curve and advice in {1e3 * dt:.0f} ms"
        self._clear_map(ev)
        if self.map_auto.value:
            self._on_map()
        self.data.object = self._data_html(S.curve_data(ev))

    def _show_error(self, message: str) -> None:
        self.error.object = (f'<div class="dcp-error-text" style="background:#f8d7da; color:#721c24; padding:8px 12px; '
                             f'border:1px solid #f5c2c7; border-radius:4px; font-size:14px">{html.escape(message)}</div>')
        self.error.visible = True

    def _set_url(self, st: S.State) -> None:
        query = S.to_query(st)
        host = self._host
        if self._location is not None:
            self._location.search = "?" + query
        url = f"http://{host}/?{query}" if host else f"?{query}  (append to the address of dcpredict explore)"
        self.url.object = f'<pre class="dcp-wrap dcp-url-text">{html.escape(url)}</pre>'
        self.share_url = url

    @staticmethod
    def _data_html(data: dict) -> str:
        text = json.dumps(data, allow_nan=False)
        return f'<pre class="dcp-json" style="display:none">{html.escape(text)}</pre>'

    # ------------------------------------------------------------------ drawing
    def _draw_curve(self, ev: S.Evaluation) -> None:
        c = ev.curve
        x = (c.ps / c.n).astype(float)
        data = {"x": x.tolist(), "p": c.ps.tolist()}
        for k in S.CURVE_FIELDS:
            data[k] = _finite(getattr(c, k))
        self.curve_src.data = data
        xr = [float(x.min()), float(x.max())]
        for k, src in self.line_src.items():
            v = _finite(getattr(c, k))[0]
            src.data = {"x": xr, "y": [v, v]}
        self.curve_fig.title.text = (f"{S.PRESET_LABELS[ev.state.preset]}: P = {c.P}, n = {c.n}, s = {c.s}, "
                                     f"sigma2 = {c.sigma2:g}, ridge = {c.ridge:g}, {c.order} order")

    def _draw_best(self, ev: S.Evaluation) -> None:
        a = ev.advice
        self.best_src.data = {"x": [a.best_p / a.n], "y": _finite(a.best_risk),
                              "label": [f"{a.best_rule} at p = {a.best_p}, risk {a.best_risk:.6g}"]}

    def _draw_advice(self, ev: S.Evaluation) -> None:
        a = ev.advice
        self.advice_text.object = f'<pre class="dcp-advice-text">{html.escape(a.summary())}</pre>'
        verdicts = a.verdicts
        rows = []
        for r in a._records():
            name = r["option"]
            if r["kind"] == "prune":
                note = r["where"]
            else:
                v = verdicts[name]
                gap = "" if not math.isfinite(v["relative_gap"]) else f" ({100 * v['relative_gap']:+.2f} %)"
                note = f"BEST {v['verdict'].upper()} it{gap}"
            best = " <b>&larr; BEST</b>" if r["kind"] == "prune" and name == a.best_rule else ""
            rows.append(f"<tr><td>{html.escape(name)}</td><td>{r['p']}</td><td>{r['s']}</td>"
                        f"<td>{html.escape(_fmt(r['risk']))}</td><td>{html.escape(note)}{best}</td></tr>")
        what = (f"train the first s = {a.s} features (no pruning)" if a.best_p == a.s else
                f"fit p = {a.best_p} features (p/n = {a.best_p / a.n:.4g}), prune to s = {a.s} by {a.best_rule}")
        head = f"<p class='dcp-best'><b>BEST:</b> {html.escape(what)}: risk {html.escape(_fmt(a.best_risk))}</p>"
        if a.nothing_beats_zero:
            head += "<p><b>WARNING:</b> nothing beats the zero model beyond the tolerance</p>"
        self.advice_table.object = (head + "<table><tr><th>option</th><th>p</th><th>s</th><th>risk</th>"
                                    "<th>where / verdict of BEST</th></tr>" + "".join(rows) + "</table>")

    # ------------------------------------------------------------------ background work
    def _session_closed(self) -> None:
        """The page was closed: cancel the background work, send nothing more."""
        self._closed = True
        self._generation += 1

    def _schedule(self, fn) -> None:
        """Run ``fn`` where it may touch the Bokeh models: the session's event loop when served."""
        if self._closed:
            return
        doc = self._doc
        if doc is not None and doc.session_context is not None:
            def guarded():
                try:
                    fn()
                except Exception as exc:  # a bug: one line in the page and the log, never a trace
                    import logging
                    logging.getLogger("dcpredict.explore").error("unexpected error (please report): %s: %s",
                                                                 type(exc).__name__, exc)
                    self._show_error(f"unexpected error (please report): {type(exc).__name__}: {exc}")
            doc.add_next_tick_callback(guarded)
        else:
            fn()

    def _clear_sim(self) -> None:
        self.sim_src.data = {k: [] for k in self.sim_src.data}
        self.sim_progress.visible = False
        self.sim_status.text = ""

    def _on_simulate(self, event=None) -> None:
        ev = self.evaluation
        if ev is None or not ev.ok or ev.curve is None:
            self.sim_status.text = "fix the inputs first" if ev is None or not ev.ok else "wait for the tuned ridge"
            return
        trials = int(self.sim_trials.value or 0)
        if trials < 2:
            self.sim_status.text = "trials per p: trials must be an integer >= 2"
            return
        gen = self._generation
        a = ev.curve
        ps = sim_ps(a.s, a.P, a.n)
        if not ps:
            self.sim_status.text = "no model size to simulate away from the interpolation peak p = n"
            return
        self.sim_progress.max, self.sim_progress.value, self.sim_progress.visible = len(ps), 0, True
        self.sim_status.text = f"simulating {len(ps)} model sizes x {trials} trials ..."
        threading.Thread(target=self._simulate, args=(gen, ev, ps, trials), daemon=True).start()

    def _simulate(self, gen: int, ev: S.Evaluation, ps: list[int], trials: int) -> None:
        from ..world_simulation import simulate_world
        a = ev.curve
        acc: dict[str, list] = {k: [] for k in self.sim_src.data}
        notes: list[str] = []
        t0 = time.perf_counter()
        for i, p in enumerate(ps):
            if gen != self._generation:
                return              # inputs changed: cancelled, the markers were cleared
            try:
                with warnings.catch_warnings(record=True) as caught:   # shown in the page, not the log
                    warnings.simplefilter("always")
                    res = simulate_world(ev.law, n=a.n, P=a.P, ps=[p], s=a.s, sigma2=a.sigma2, ridge=a.ridge,
                                         order=a.order, trials=trials, seed=0, workers=1, progress=False)
                for w in caught:
                    note = " ".join(str(w.message).split())
                    if note not in notes:
                        notes.append(note)
            except Exception as exc:   # one line, never a trace
                msg = f"simulation: {exc}" if isinstance(exc, DCPredictError) else \
                    f"simulation: unexpected error (please report): {type(exc).__name__}: {exc}"
                self._schedule(lambda: setattr(self.sim_status, "text", msg))
                return
            for k in SIM_FIELDS:
                mean = float(res.mean[k][0])
                lo, hi = (float(v) for v in res.ci95[k][0])
                if not (math.isfinite(mean) and mean > 0):
                    continue
                acc["x"].append(p / a.n)
                acc["y"].append(mean)
                acc["lo"].append(max(lo, 1e-300))
                acc["hi"].append(hi)
                acc["color"].append(_COLORS[k])
                acc["field"].append(k)
                acc["p"].append(p)
            snapshot = {k: list(v) for k, v in acc.items()}
            done, elapsed = i + 1, time.perf_counter() - t0

            def show(snapshot=snapshot, done=done, elapsed=elapsed):
                if gen != self._generation:
                    return
                self.sim_src.data = snapshot
                self.sim_progress.value = done
                self.sim_status.text = (f"simulated {done} of {len(ps)} model sizes ({trials} trials each, "
                                          f"{elapsed:.1f} s); markers: mean and 95 % interval, coloured as "
                                          "their rule's line" + "".join(f"; warning: {n}" for n in notes))
            self._schedule(show)

    def _clear_map(self, ev: S.Evaluation) -> None:
        self.map_src.data = {k: [] for k in self.map_src.data}
        a = ev.advice
        self.mark_src.data = {"x": [a.best_p], "y": [a.s]}
        self.map_progress.visible = False
        self.map_status.text = ("recomputing ..." if self.map_auto.value else
                                  "press 'compute phase map' (200 p x 120 s, about 1-3 s)")
        self.phase_map = None

    def _on_map(self, event=None) -> None:
        ev = self.evaluation
        if ev is None or not ev.ok or ev.advice is None:
            self.map_status.text = "fix the inputs first" if ev is None or not ev.ok else "wait for the advice"
            return
        gen = self._generation
        self.map_progress.value, self.map_progress.visible = 0, True
        self.map_status.text = "computing the phase map ..."
        threading.Thread(target=self._compute_map, args=(gen, ev), daemon=True).start()

    def _compute_map(self, gen: int, ev: S.Evaluation) -> None:
        from ..advisor import phase_map
        a = ev.advice
        P = a.P
        ps = np.union1d(np.unique(np.geomspace(1, P, 200).round().astype(np.int64)), [a.best_p])
        ss = np.union1d(np.unique(np.geomspace(1, P, 120).round().astype(np.int64)), [a.s])
        parts = []
        t0 = time.perf_counter()
        for j in range(0, ss.size, MAP_CHUNK):
            if gen != self._generation:
                return
            try:
                with COMPUTE_LOCK:
                    parts.append(phase_map(a.law, n=a.n, P=P, sigma2=a.sigma2, ridge=a.ridge, order=a.order,
                                           rules=a.rules, tol=a.tol, ps=ps, ss=ss[j:j + MAP_CHUNK]))
            except Exception as exc:
                msg = f"phase map: {exc}" if isinstance(exc, DCPredictError) else \
                    f"phase map: unexpected error (please report): {type(exc).__name__}: {exc}"
                self._schedule(lambda: setattr(self.map_status, "text", msg))
                return
            frac = min(100, int(100 * (j + MAP_CHUNK) / ss.size))
            self._schedule(lambda frac=frac: (gen == self._generation) and setattr(self.map_progress, "value", frac))
        import dataclasses
        first = parts[0]
        pm = dataclasses.replace(
            first, ss=ss, category=np.concatenate([q.category for q in parts]),
            best_rule=np.concatenate([q.best_rule for q in parts]), pruned=np.concatenate([q.pruned for q in parts]),
            small_oracle=np.concatenate([q.small_oracle for q in parts]),
            small_top_variance=np.concatenate([q.small_top_variance for q in parts]),
            small_random=np.concatenate([q.small_random for q in parts]), mark=(a.best_p, a.s))
        elapsed = time.perf_counter() - t0

        def show():
            if gen != self._generation:
                return
            self.phase_map = pm
            self.map_src.data = _map_data(pm)
            self.map_progress.value = 100
            self.map_status.text = (f"phase map: {pm.ps.size} p x {pm.ss.size} s in {elapsed:.1f} s; "
                                      f"star: the advice (p = {a.best_p}, s = {a.s})")
        self._schedule(show)

    # ------------------------------------------------------------------ exports
    def _sidecar_file(self):
        ev = self.evaluation
        out = S.sidecar(ev, getattr(self, "share_url", None))
        if getattr(self, "phase_map", None) is not None:
            out["phase_map"] = self.phase_map.to_dict()
        return io.BytesIO(json.dumps(out, indent=1).encode())

    def _png_file(self):
        return io.BytesIO(render_png(self.evaluation))


def _bug(st: S.State, exc: BaseException) -> S.Evaluation:
    return S.Evaluation(st, error=S.ControlError("preset", f"unexpected error (please report): "
                                                           f"{type(exc).__name__}: {exc}"))


def sim_ps(s: int, P: int, n: int) -> list[int]:
    """The simulated model sizes: SIM_POINTS integers spread geometrically over [s, P], none within 5 % of n
    (the interpolation peak, where a finite simulation's risk has no finite mean to compare with)."""
    g = np.unique(np.geomspace(s, P, SIM_POINTS).round().astype(np.int64))
    near = np.abs(g - n) <= max(2, 0.05 * n)
    g = np.where(near & (g < n), np.floor(0.95 * n - 1), np.where(near, np.ceil(1.05 * n + 1), g)).astype(np.int64)
    g = np.unique(g[(g >= s) & (g <= P)])
    return g.tolist()


class _Status(pn.pane.HTML):
    """A line of text whose element carries ``css`` as its class (readable through the shadow root)."""

    def __init__(self, css: str, **kw) -> None:
        super().__init__("", sizing_mode="stretch_width", **kw)
        self._css = css
        self._text = ""

    @property
    def text(self) -> str:
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self._text = value
        self.object = f'<span class="{self._css}" style="font-family: monospace; font-size: 12px">' \
                      f'{html.escape(value)}</span>'


def _fmt(x: float) -> str:
    from .._results import fmt
    return fmt(x)


def _edges(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = v.astype(float)
    mid = np.sqrt(v[1:] * v[:-1])
    lo = np.concatenate([[v[0] / math.sqrt(v[1] / v[0]) if v.size > 1 else v[0] / 1.5], mid])
    hi = np.concatenate([mid, [v[-1] * math.sqrt(v[-1] / v[-2]) if v.size > 1 else v[0] * 1.5]])
    return lo, hi


def _map_data(pm) -> dict[str, list]:
    pl, pr = _edges(pm.ps)
    sb, st = _edges(pm.ss)
    jj, ii = np.nonzero(pm.category >= 0)
    cat = pm.category[jj, ii]
    phases = _PHASES
    return {"left": pl[ii].tolist(), "right": pr[ii].tolist(), "bottom": sb[jj].tolist(), "top": st[jj].tolist(),
            "color": [_PHASE_COLORS[c] for c in cat], "phase": [phases[c] for c in cat],
            "p": pm.ps[ii].tolist(), "s": pm.ss[jj].tolist(),
            "rule": [pm.rules[int(k)] for k in pm.best_rule[jj, ii]],
            "risk": [float(v) if math.isfinite(v) else float("nan") for v in pm.pruned[jj, ii]]}


def render_png(ev: S.Evaluation) -> bytes:
    """The current curve as a PNG (matplotlib, Agg), with Software=dcpredict metadata."""
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from .. import __version__
    fig = Figure(figsize=(10, 5), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if ev is None or not ev.ok:
        ax.text(0.5, 0.5, "no curve: " + (str(ev.error) if ev is not None else "nothing computed"),
                ha="center", wrap=True)
    else:
        c = ev.curve
        x = c.ps / c.n
        for k in S.CURVE_FIELDS:
            ax.plot(x, _finite(getattr(c, k)), label=k, color=_COLORS[k],
                    ls="--" if k.endswith("_retrained") else "-")
        for k, (color, dash) in _LINE_STYLE.items():
            ax.axhline(c.baselines[k], color=color if color != "silver" else "darkgray",
                       ls={"dashed": "--", "dotdash": "-.", "dotted": ":"}[dash], label=k)
        a = ev.advice
        ax.plot([a.best_p / a.n], [a.best_risk], "k*", ms=12, label=f"best: {a.best_rule}, p = {a.best_p}")
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("p / n")
        ax.set_ylabel("test risk (world)")
        ax.set_title(f"{S.PRESET_LABELS[ev.state.preset]}: P = {c.P}, n = {c.n}, s = {c.s}, sigma2 = {c.sigma2:g}, "
                     f"ridge = {c.ridge:g}, {c.order}", fontsize=9)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": f"dcpredict {__version__}"})
    return buf.getvalue()
