"""The built documentation works offline: no page loads a remote script or stylesheet, MathJax is served from
the site itself, and a headless browser with the network cut typesets the theory page's equations.

Needs a built site (``sphinx-build -W -b html docs docs/_build/html``, about 2 minutes; or the folder in
``DCPREDICT_DOCS_HTML``); the browser check needs Chromium and chromedriver (selenium).  Set
``DCPREDICT_DOCS_SCREENSHOT=path.png`` to keep the screenshot of the theory page.
"""
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("DCPREDICT_DOCS_HTML", ROOT / "docs" / "_build" / "html"))
REMOTE = re.compile(r"<(?:script[^>]*\ssrc|link[^>]*\shref)=[\"'](?:https?:)?//", re.I)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (HTML / "theory.html").exists(), reason=f"no built documentation in {HTML}")]


def test_no_page_loads_a_remote_script_or_stylesheet():
    pages = list(HTML.rglob("*.html"))
    assert len(pages) > 20
    bad = {str(p.relative_to(HTML)): REMOTE.findall(p.read_text(errors="replace"))[:2] for p in pages
           if REMOTE.search(p.read_text(errors="replace"))}
    assert not bad, bad
    theory = (HTML / "theory.html").read_text()
    assert re.search(r"<script[^>]*src=\"_static/mathjax/tex-chtml\.js(\?[^\"]*)?\"", theory)
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").stat().st_size > 100_000


def test_theory_page_equations_typeset_offline(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    from shutil import which
    if not (which("chromium") or which("chromium-browser")) or not which("chromedriver"):
        pytest.skip("no chromium/chromedriver")
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,1600",
                "--host-resolver-rules=MAP * ~NOTFOUND",          # no name resolves: offline
                "--proxy-server=127.0.0.1:9", "--allow-file-access-from-files"):
        opts.add_argument(arg)
    binary = which("chromium") or which("chromium-browser")
    opts.binary_location = binary
    from selenium.webdriver.chrome.service import Service
    driver = webdriver.Chrome(options=opts, service=Service(which("chromedriver")))
    try:
        driver.get((HTML / "theory.html").as_uri())
        import time
        t0 = time.time()
        typeset = 0
        while time.time() - t0 < 60:
            typeset = driver.execute_script("return document.querySelectorAll('mjx-container').length")
            done = driver.execute_script("return !!(window.MathJax && MathJax.startup && MathJax.startup.promise)")
            if typeset > 20 and done:
                break
            time.sleep(0.5)
        raw = driver.execute_script(
            "return Array.from(document.querySelectorAll('.math')).filter(e => !e.querySelector('mjx-container'))"
            ".length")
        shot = Path(os.environ.get("DCPREDICT_DOCS_SCREENSHOT", tmp_path / "theory.png"))
        driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    assert typeset > 20, f"only {typeset} equations typeset"
    assert raw == 0, f"{raw} equations left as raw LaTeX"
    assert shot.stat().st_size > 10_000
