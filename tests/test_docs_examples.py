"""Every ```python block (a ``>>>`` session: as a doctest, its output compared) of the user guide (docs/user_guide/*.md) and of README.md runs without error.

The blocks of one page run in order in one namespace (a later block may use an earlier one's names), in a
temporary directory (files they write land there), with matplotlib's Agg backend.  Pages whose examples
simulate for more than a second are marked slow.
"""
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs" / "user_guide").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
#: pages whose examples take more than about a second (simulations, advisor searches)
SLOW = {"simulation.md", "advisor.md", "README.md", "outputs.md", "figures.md", "curves.md", "data.md"}


def blocks(page: Path) -> list[str]:
    return FENCE.findall(page.read_text())


@pytest.mark.parametrize("page", [pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW else p
                                  for p in PAGES if blocks(p)], ids=lambda p: p.name)
def test_every_python_block_runs(page, tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    for i, code in enumerate(blocks(page)):
        if code.lstrip().startswith(">>>"):      # an interactive session: its output is checked too
            import doctest
            import dcpredict
            namespace.setdefault("dcpredict", dcpredict)
            test = doctest.DocTestParser().get_doctest(code, namespace, f"{page.name}[block {i + 1}]", page.name, 0)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
            runner.run(test, out=lambda text: None)
            assert runner.failures == 0, f"{page.relative_to(ROOT)}, python block {i + 1}: output differs"
            continue
        try:
            exec(compile(code, f"{page.name}[block {i + 1}]", "exec"), namespace)
        except Exception as exc:  # the failing page and block, with the error
            raise AssertionError(f"{page.relative_to(ROOT)}, python block {i + 1} fails: {exc!r}") from exc
    import matplotlib.pyplot as plt
    plt.close("all")


def test_the_pages_have_blocks():
    assert sum(len(blocks(p)) for p in PAGES) >= 10
    assert os.path.exists(ROOT / "docs" / "user_guide" / "laws.md")
