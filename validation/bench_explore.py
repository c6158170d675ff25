"""Benchmark: time from a control change to the updated curve in ``dcpredict explore``, at P = 1e3 and 1e4.

Numbers per world and P (medians over REPEATS changes of s, alternating between two budgets so every
change recomputes; after each change the advice is let finish before the next change):

* ``curve``: :func:`dcpredict.explore.state.evaluate_curve` alone (the inputs checked and the drawn curve),
  the baseline measured in the same run; ``+advice``: :func:`~dcpredict.explore.state.evaluate` (the curve
  and the search of ``dcpredict advise``, which follows the curve in the page);
* ``panel``: the explorer in process (``dcpredict.explore.explore()``, the Jupyter object): from setting the
  s widget to the Bokeh data source holding the new curve (phase-map recomputation off);
* ``browser``: end to end in headless Chromium against ``dcpredict explore``: from the input's change event
  in the page to the browser's copy of the curve's data source holding the new curve (includes the
  websocket round trip and BokehJS; only if /usr/bin/chromium and selenium are available).

Usage: ``PYTHONPATH=. python validation/bench_explore.py [--repeats N] [--no-browser]``; prints a table and
writes validation/bench_explore.json.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASES = [("fig3a", 1000), ("fig3a", 10_000), ("fig3b", 1000), ("fig3b", 10_000), ("power_law", 1000),
         ("power_law", 10_000), ("gaussian_b", 1000), ("gaussian_b", 10_000)]
S_VALUES = ("40", "41")


def bench_compute(world: str, P: int, repeats: int) -> tuple[float, float]:
    """Medians of (the curve alone: evaluate_curve, the curve and the advice: evaluate)."""
    from dcpredict.explore import state as S
    tc, ta = [], []
    for i in range(repeats + 1):
        st = S.State.from_preset(world, P=P, s=S_VALUES[i % 2])
        t = time.perf_counter()
        ev = S.evaluate_curve(st)
        tc.append(time.perf_counter() - t)
        t = time.perf_counter()
        ev = S.evaluate(st)
        ta.append(time.perf_counter() - t)
        assert ev.ok, ev.error
    return statistics.median(tc[1:]), statistics.median(ta[1:])


def bench_panel(world: str, P: int, repeats: int) -> float:
    from dcpredict.explore import explore
    ex = explore(world, P=P)
    ex.map_auto.value = False
    ts = []
    for i in range(repeats + 1):
        s = S_VALUES[(i + 1) % 2]
        t = time.perf_counter()
        ex.inputs["s"].value = s
        assert ex.curve_src.data["p"][0] == int(s)
        ts.append(time.perf_counter() - t)
        while ex.evaluation.advice is None:      # the advice follows in its thread: let it finish
            time.sleep(0.01)
    return statistics.median(ts[1:])


_CHANGE = """
const [sel, value, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
function deep(root, out) { root.querySelectorAll(sel).forEach(e => out.push(e));
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) deep(e.shadowRoot, out); }); return out; }
const input = deep(document, [])[0].shadowRoot.querySelector('input');
const ds = Bokeh.documents[0].get_model_by_name('dcp-curve');
const first = () => { const p = ds.data instanceof Map ? ds.data.get('p') : ds.data.p; return p[0]; };
const t0 = performance.now();
input.value = value;
input.dispatchEvent(new Event('change', {bubbles: true}));
(function poll() { if (first() == Number(value)) { done(performance.now() - t0); }
                   else if (performance.now() - t0 > 60000) { done(-1); } else { setTimeout(poll, 2); } })();
"""


_ADVICE_DONE = """
function deep(root, out) { root.querySelectorAll('pre.dcp-json').forEach(e => out.push(e));
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) deep(e.shadowRoot, out); }); return out; }
const pre = deep(document, [])[0]; if (!pre) return false;
const d = JSON.parse(pre.textContent); if (d.best === null || d.best === undefined) return false;
const st = []; (function deep2(root) { root.querySelectorAll('.dcp-map-status').forEach(e => st.push(e.textContent));
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) deep2(e.shadowRoot); }); })(document);
return st.some(t => t.includes(' p x '));
"""


def bench_browser(cases, repeats: int) -> dict:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "dcpredict", "explore", "--port", "0"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = {}
    try:
        url = re.search(r"(http://\S+)", proc.stdout.readline()).group(1)
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
            opts.add_argument(a)
        drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        drv.set_script_timeout(90)
        try:
            for world, P in cases:
                # phase map off through the page's checkbox is not in the URL: the map thread yields between
                # rows, so it is left on (as a user sees it)
                drv.get(f"{url}?world={world}&P={P}&s={S_VALUES[0]}")
                for _ in range(600):
                    ok = drv.execute_script("try { const ds = Bokeh.documents[0].get_model_by_name('dcp-curve');"
                                            "const p = ds.data instanceof Map ? ds.data.get('p') : ds.data.p;"
                                            "return p.length > 0; } catch (e) { return false; }")
                    if ok:
                        break
                    time.sleep(0.1)
                ts = []
                for i in range(repeats + 1):
                    ms = drv.execute_async_script(_CHANGE, ".dcp-s", S_VALUES[(i + 1) % 2])
                    assert ms >= 0, "the curve did not update"
                    ts.append(ms / 1e3)
                    for _ in range(1200):                # the advice and the phase map follow: let them finish
                        if drv.execute_script(_ADVICE_DONE):
                            break
                        time.sleep(0.05)
                out[f"{world}@{P}"] = statistics.median(ts[1:])
        finally:
            drv.quit()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    rows = []
    for world, P in CASES:
        c, a = bench_compute(world, P, args.repeats)
        p = bench_panel(world, P, args.repeats)
        rows.append({"world": world, "P": P, "compute_curve_s": c, "compute_curve_and_advice_s": a, "panel_s": p})
    browser = {}
    if not args.no_browser and os.path.exists("/usr/bin/chromium") and os.path.exists("/usr/bin/chromedriver"):
        browser = bench_browser(CASES, args.repeats)
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores; medians of {args.repeats} changes of s")
    print(f"{'world':<12}{'P':>7}{'curve ms':>10}{'+advice ms':>12}{'panel ms':>10}{'panel/curve':>13}"
          f"{'browser ms':>12}{'browser/curve':>15}")
    for r in rows:
        b = browser.get(f"{r['world']}@{r['P']}")
        r["browser_s"] = b
        c = r["compute_curve_s"]
        print(f"{r['world']:<12}{r['P']:>7}{1e3 * c:>10.0f}{1e3 * r['compute_curve_and_advice_s']:>12.0f}"
              f"{1e3 * r['panel_s']:>10.0f}{r['panel_s'] / c:>13.2f}"
              + (f"{1e3 * b:>12.0f}{b / c:>15.2f}" if b is not None else f"{'-':>12}{'-':>15}"))
    info = {"what": "median seconds from a change of s to the updated curve (validation/bench_explore.py)",
            "repeats": args.repeats, "cpus": os.cpu_count(), "load_average": load, "rows": rows}
    (ROOT / "validation" / "bench_explore.json").write_text(json.dumps(info, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
