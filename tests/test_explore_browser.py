"""End to end: ``dcpredict explore`` in a subprocess, the page in headless Chromium (Selenium).

Run with ``python -m pytest -q -m browser tests/test_explore_browser.py`` (needs the explore extra, selenium,
/usr/bin/chromium and /usr/bin/chromedriver; skipped when they are missing, failed instead when
DCPREDICT_REQUIRE_BROWSER is set, as in .ci/run).  The screenshot is kept under
the test's tmp dir and, if DCPREDICT_EXPLORE_SCREENSHOT names a path, copied there.

Every number the page shows is checked against the command line (``dcpredict advise``, run in process) and
:func:`dcpredict.predict_world_curve`, called here with the worlds written out in this file.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _cli_helper import run_cli

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("DCPREDICT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DCPREDICT_CHROMEDRIVER", "/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[1]

# the Fig. 3a world: 4 % of B equal 10 c, the rest c, c = 1/sqrt(4.96) (E[B^2] = 1); Fig. 3b: 4 % of the
# variances equal 10, B = 1 (the paper's Sec. 5 worlds)
C = 1.0 / math.sqrt(4.96)
FIG3A = {"lam": [1.0, 1.0], "b": [10 * C, C], "weights": [0.04, 0.96]}
FIG3B = {"lam": [10.0, 1.0], "b": [1.0, 1.0], "weights": [0.04, 0.96]}

# every element below may sit in a shadow root (Bokeh 3 renders each widget in its own)
_DEEP = """
function deep(root, sel, out) {
  root.querySelectorAll(sel).forEach(e => out.push(e));
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) deep(e.shadowRoot, sel, out); });
  return out;
}
"""




def _atoms_argv(world: dict, *, s: int, n: int = 200, P: int = 1000, sigma2: float = 0.1) -> list[str]:
    join = lambda xs: ",".join(repr(float(x)) for x in xs)  # noqa: E731
    return ["advise", "--lam", join(world["lam"]), "--b", join(world["b"]), "--weights", join(world["weights"]),
            "--sigma2", str(sigma2), "--n", str(n), "--s", str(s), "--world-size", str(P)]


@pytest.fixture(scope="module")
def server():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    for mod in ("panel", "bokeh", "selenium"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(f"the Python package {mod} (pip install 'dcpredict[explore]')")
    if missing:
        why = f"needs {', '.join(missing)} (Debian packages chromium, chromium-driver)"
        if os.environ.get("DCPREDICT_REQUIRE_BROWSER"):
            pytest.fail(why)
        pytest.skip(why)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONUNBUFFERED="1")
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"dcpredict_explore_{os.getpid()}.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "dcpredict", "explore", "--port", "0"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        line = ""
        deadline = time.time() + 120
        while time.time() < deadline and "serving" not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        m = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
        assert m, f"no URL printed: {line!r}"
        yield m.group(1), proc, log
    finally:
        proc.send_signal(signal.SIGINT)      # stopped by its PID
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1700,1250"):
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield drv
    finally:
        drv.quit()


class Page:
    def __init__(self, drv):
        self.drv = drv

    def texts(self, selector: str) -> list[str]:
        return self.drv.execute_script(_DEEP + "return deep(document, arguments[0], []).map(e => e.textContent);",
                                       selector)

    def visible_texts(self, selector: str) -> list[str]:
        return self.drv.execute_script(
            _DEEP + "return deep(document, arguments[0], []).filter(e => e.offsetParent !== null || "
                    "e.getClientRects().length).map(e => e.textContent);", selector)

    def data(self) -> dict | None:
        import json
        t = self.texts("pre.dcp-json")
        return json.loads(t[0]) if t and t[0] else None

    def source(self, name: str) -> dict:
        """The columns of a Bokeh data source as the browser holds them (what is drawn)."""
        return self.drv.execute_script(
            "const ds = Bokeh.documents[0].get_model_by_name(arguments[0]); const d = ds.data; const out = {};"
            "const entries = (d instanceof Map) ? Array.from(d.entries()) : Object.entries(d);"
            "for (const [k, v] of entries) { out[k] = Array.from(v); } return out;", name)

    def wait(self, cond, what: str, timeout: float = 90.0):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = cond()
            except Exception as exc:   # the page is still loading
                last = exc
            if last and not isinstance(last, Exception):
                return last
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}; last: {last!r}")

    def advice_shown(self, want: str) -> bool:
        """The advice text equals ``want`` (the command's stdout) and the advice reached the plot and data."""
        text = self.texts("pre.dcp-advice-text")
        data = self.data() or {}
        return (bool(text) and text[0] + "\n" == want and data.get("best") is not None
                and len(self.source("dcp-best")["x"]) == 1)

    def input(self, control: str):
        from selenium.webdriver.common.by import By
        host = self.drv.execute_script(_DEEP + "return deep(document, arguments[0], [])[0];", f".dcp-{control}")
        return host.shadow_root.find_element(By.CSS_SELECTOR, "input, select")

    def type(self, control: str, text: str) -> None:
        from selenium.webdriver.common.keys import Keys
        el = self.input(control)
        old = el.get_attribute("value") or ""
        el.send_keys(Keys.END, Keys.BACKSPACE * len(old), text, Keys.ENTER)

    def choose(self, control: str, label: str) -> None:
        from selenium.webdriver.support.ui import Select
        Select(self.input(control)).select_by_visible_text(label)


def _check_curve(page: Page, world: dict, *, s: int, n: int = 200, P: int = 1000, sigma2: float = 0.1) -> dict:
    """The drawn curve against predict_world_curve at the drawn p; returns the page's data."""
    from dcpredict import Law, predict_world_curve
    data = page.data()
    drawn = page.source("dcp-curve")
    ps = np.array(drawn["p"], dtype=np.int64)
    assert ps.tolist() == data["p"] and ps[0] == s and ps[-1] == P
    assert np.allclose(np.array(drawn["x"]), ps / n, rtol=1e-15)
    law = Law(world["lam"], world["b"], world["weights"])
    ref = predict_world_curve(law, n=n, P=P, s=s, sigma2=sigma2, ps=ps)
    for f in ("dense", "magnitude", "hessian", "random", "oracle_pruned", "magnitude_retrained",
              "hessian_retrained", "random_retrained"):
        want = np.asarray(getattr(ref, f), dtype=float)
        got = np.array([np.inf if v is None else v for v in drawn[f]], dtype=float)   # NaN (gap) = divergent
        assert np.array_equal(np.isfinite(want), np.isfinite(got)), f
        assert np.allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=1e-12, atol=0), f
    for f in ("small_oracle", "small_top_variance", "small_random", "zero_model"):
        line = page.source(f"dcp-{f}")
        assert line["y"][0] == pytest.approx(ref.baselines[f], rel=1e-12), f
    return data


def test_explorer_in_a_browser(server, browser, tmp_path):
    url, proc, log = server
    page = Page(browser)
    browser.get(url)
    page.wait(lambda: page.data(), "the first curve")

    # 1. the default: the Fig. 3a world, s = 40; advice text identical to `dcpredict advise`
    rc, want, _ = run_cli(_atoms_argv(FIG3A, s=40))
    assert rc == 0
    page.wait(lambda: page.advice_shown(want), "the advice")
    _check_curve(page, FIG3A, s=40)

    # 2. change s (typed into the page): everything follows
    page.type("s", "80")
    page.wait(lambda: page.data() and page.data().get("s") == 80, "the curve at s = 80")
    rc, want, _ = run_cli(_atoms_argv(FIG3A, s=80))
    page.wait(lambda: page.advice_shown(want), "the advice at s = 80")
    data = _check_curve(page, FIG3A, s=80)
    best = page.source("dcp-best")
    assert best["x"][0] == pytest.approx(data["best"]["p"] / 200) and "BEST" in want

    # 3. the preset: Fig. 3b (its controls reset to the paper's s = 40)
    page.choose("preset", "Fig. 3b world (Sigma spiked)")
    rc, want, _ = run_cli(_atoms_argv(FIG3B, s=40))
    page.wait(lambda: page.advice_shown(want), "the Fig. 3b world's advice")
    _check_curve(page, FIG3B, s=40)
    table = page.texts(".dcp-best")[0]
    m = re.search(r"risk ([0-9.e+-]+)", table)
    assert m and float(m.group(1)) == pytest.approx(float(re.search(r"BEST: .*: risk ([0-9.e+-]+)", want)
                                                          .group(1)), rel=1e-5)

    # 4. a bad input: the inline message names the control, in the command's words; nothing else changes
    page.type("s", "5000")
    msg = page.wait(lambda: [t for t in page.visible_texts(".dcp-error-text") if t.strip()], "the inline message")[0]
    rc, _, err = run_cli(_atoms_argv(FIG3B, s=5000))
    assert rc == 2
    words = err.strip().removeprefix("dcpredict advise: error: ")
    assert words != err.strip()
    assert msg.strip() == f"s: {words}"
    assert "Traceback" not in browser.page_source
    # the server stayed up and recovers
    page.type("s", "60")
    page.wait(lambda: page.data() and page.data().get("s") == 60, "the curve at s = 60")
    assert not [t for t in page.visible_texts(".dcp-error-text") if t.strip()]

    # 5. simulation markers on request (background, progress)
    page.type("s", "40")
    page.wait(lambda: page.data() and page.data().get("s") == 40, "s = 40 again")
    # (the simulation needs only the curve's inputs: it may start before the advice is in)
    browser.execute_script(_DEEP + "deep(document, 'button', []).find(b => b.textContent.includes('simulate'))"
                                   ".click();")
    status = page.wait(lambda: [t for t in page.texts(".dcp-sim-status") if re.search(r"simulated (\d+) of \1 ", t)],
                       "the simulation", timeout=180)
    sim = page.source("dcp-sim")
    assert len(sim["x"]) >= 7 and all(math.isfinite(v) and v > 0 for v in sim["y"]), status

    # 6. the shareable URL restores the state in a fresh page
    shared = page.texts("pre.dcp-url-text")[0].strip()
    assert "world=fig3b" in shared and "s=40" in shared
    assert "world=fig3b" in browser.current_url
    page.wait(lambda: " p x " in " ".join(page.texts(".dcp-map-status")), "the phase map", timeout=120)
    # the phase map as drawn, cell by cell, against dcpredict.advisor.phase_map on the same grid
    from dcpredict import Law
    from dcpredict.advisor import PHASES, phase_map
    drawn = page.source("dcp-map")
    ps, ss = sorted(set(drawn["p"])), sorted(set(drawn["s"]))
    assert ps[0] == 1 and ps[-1] == 1000 and 40 in ss and len(drawn["p"]) > 5000
    pm = phase_map(Law(FIG3B["lam"], FIG3B["b"], FIG3B["weights"]), n=200, P=1000, sigma2=0.1, ps=ps, ss=ss)
    want = {(int(pm.ps[i]), int(pm.ss[j])): PHASES[pm.category[j, i]]
            for j in range(pm.ss.size) for i in range(pm.ps.size) if pm.category[j, i] >= 0}
    got = {(int(p), int(s)): c for p, s, c in zip(drawn["p"], drawn["s"], drawn["phase"])}
    assert got == want
    best = page.data()["best"]
    assert page.source("dcp-mark") == {"x": [best["p"]], "y": [40]}
    shot = tmp_path / "explorer.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("DCPREDICT_EXPLORE_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["DCPREDICT_EXPLORE_SCREENSHOT"])
    browser.get(shared.replace("s=40", "s=55"))
    page.wait(lambda: page.data() and page.data().get("s") == 55, "the state from the URL")
    rc, want, _ = run_cli(_atoms_argv(FIG3B, s=55))
    page.wait(lambda: page.advice_shown(want), "the advice from the URL")

    # a bad URL: the inline message names the control (or the URL), the page still works
    browser.get(url + "?world=fig3b&s=abc")
    msg = page.wait(lambda: [t for t in page.visible_texts(".dcp-error-text") if t.strip()], "the URL's message")[0]
    rc, _, err = run_cli(_atoms_argv(FIG3B, s=40)[:-4] + ["--s", "abc", "--world-size", "1000"])
    assert rc == 2 and msg.strip() == "s: " + err.strip().removeprefix("dcpredict advise: error: ")
    browser.get(url + "?world=mnist")
    msg = page.wait(lambda: [t for t in page.visible_texts(".dcp-error-text") if t.strip()], "the URL's message")[0]
    assert msg.strip() == ("URL: world: world must be one of 'fig3a', 'fig3b', 'power_law', 'gaussian_b'; "
                           "got 'mnist'")
    page.wait(lambda: page.data() and page.data().get("s") == 40, "the default world under the message")

    # nothing but one-line messages in the server's log; the server is still running
    assert proc.poll() is None
    log.flush()
    log.seek(0)
    text = log.read()
    assert "Traceback" not in text and "Error" not in text, text[-2000:]
