"""Sphinx configuration for the dcpredict documentation.

Build (warnings are errors)::

    sphinx-build -W -b html docs docs/_build/html

No network is needed: intersphinx is deliberately not used, and the gallery
examples run locally with one worker (no process pool).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))          # the package, when not pip-installed
os.environ.setdefault("MPLBACKEND", "Agg")    # no display during the build

import dcpredict  # noqa: E402

project = "dcpredict"
author = "the dcpredict developers"
copyright = "2026, the dcpredict developers"
release = dcpredict.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",   # MathJax served from the built site (_static/mathjax): equations typeset offline
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "sg_execution_times.rst", "auto_examples/sg_execution_times.rst", "api_*.inc.rst", "glossary_cli.inc.md", "reproducing_figures.inc.md", "architecture_modules.inc.md", "Thumbs.db", ".DS_Store", "examples/README.txt",
                    "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.json", "auto_examples/*.md5"]

# -- MyST (prose pages) -----------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# -- autodoc / autosummary / numpydoc ----------------------------------------
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()   # style is reviewed, the build checks syntax only

# Names that the package exports at the top level (``dcpredict.X``).  They are documented once, on
# the top-level page; the module pages skip them and link there instead (no duplicate targets).
TOP_LEVEL = [name for name in dcpredict.__all__ if name not in dcpredict._SUBMODULES]
SUBMODULES = [name for name in dcpredict.__all__ if name in dcpredict._SUBMODULES]
autosummary_context = {"top_level": TOP_LEVEL}
autosummary_ignore_module_all = False    # module pages list exactly the module's __all__

# The API page groups the top-level names; any name not placed in a group below (a name added to
# dcpredict.__all__ later) still gets documented, under "Other names", so the reference is complete.
API_GROUPS = {
    "Laws of (Lambda, B)": ["Law"],
    "Asymptotic predictions": ["predict", "predict_grid", "solve_dc", "Prediction", "PredictionGrid", "DC"],
    "The fixed-world experiment": ["predict_world", "predict_world_curve", "WorldPrediction", "WorldCurve"],
    "A finite problem with a general covariance": ["predict_correlated", "CorrelatedPrediction"],
    "Simulation": ["simulate", "simulate_sweep", "SimulationResult", "SimulationSweep", "simulate_world", "WorldSimulationResult",
                   "simulate_correlated", "CorrelatedSimulation"],
    "Train small or prune big": ["advise", "Advice"],
    "Beyond pruning: quantization, iterative pruning, the best ridge": [
        "predict_quantized", "predict_iterative", "optimal_ridge", "QuantizedPrediction", "IterativePrediction",
        "OptimalRidge", "simulate_quantized", "simulate_iterative", "CompressionSimResult"],
    "Constants and errors": ["RISK_FIELDS", "DCPredictError"],
}


def _write_if_changed(name: str, lines: list[str]) -> None:
    text = "\n".join([".. This file is written by conf.py at every build; do not edit.", "", *lines])
    target = HERE / name
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def _write_api_lists() -> None:
    """Write the autosummary lists that api.rst includes, from ``dcpredict.__all__``."""
    placed = {name for names in API_GROUPS.values() for name in names}
    groups = {title: [n for n in names if n in TOP_LEVEL] for title, names in API_GROUPS.items()}
    groups["Other names"] = [n for n in TOP_LEVEL if n not in placed]
    lines = [".. currentmodule:: dcpredict", ""]
    for title, names in groups.items():
        if not names:
            continue
        lines += [title, "-" * len(title), "", ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {name}" for name in names] + [""]
    _write_if_changed("api_lists.inc.rst", lines)
    lines = [".. autosummary::", "   :toctree: generated", ""]
    lines += [f"   dcpredict.{name}" for name in SUBMODULES] + [""]
    _write_if_changed("api_modules.inc.rst", lines)


_write_api_lists()


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:] + ".") if text else ""


def _write_cli_options() -> None:
    """Write ``glossary_cli.inc.md``: every subcommand and option of ``dcpredict``, from its parser."""
    import argparse

    from dcpredict.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    lines = ["<!-- written by conf.py at every build; do not edit -->", ""]
    for name, cmd in sub.choices.items():
        lines += [f"### `dcpredict {name}`", "", _sentence(helps.get(name) or ""), "",
                  "| option | meaning |", "|---|---|"]
        for action in cmd._actions:
            if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
                continue
            names = ", ".join(f"`{o}`" for o in action.option_strings) or f"`{action.metavar or action.dest}`"
            if action.option_strings and action.nargs != 0:
                metavar = action.metavar or (
                    "{" + ",".join(map(str, action.choices)) + "}" if action.choices else action.dest.upper())
                names += f" `{metavar}`"
            text = action.help or ""
            if "%(" in text:
                text = text % {**vars(action), "prog": cmd.prog}
            if not text and action.choices:
                text = "one of " + ", ".join(f"`{c}`" for c in action.choices)
            if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
                text += f" (default `{action.default}`)"
            text = text.replace("|", "\\|").replace("\n", " ")
            if action.required:
                text += " (required)"
            lines.append(f"| {names} | {text} |")
        lines.append("")
    text = "\n".join(lines)
    target = HERE / "glossary_cli.inc.md"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


_write_cli_options()

# What each figure of figures/ asks, in plain words.  The figure's own title and caption (with its numbers)
# and its parameters are read from its sidecar JSON at build time.
FIGURE_NOTES = {
    "fig3a": "The paper's Fig. 3(a) in its fixed-world framing (theory page, section 7): a world of P "
             "features with Sigma = I and a spiked weight vector; a model fits the first p features by true "
             "saliency and is pruned to a fixed budget of s weights. The horizontal line is training small on "
             "the best s features. With equal variances, magnitude and Hessian pruning coincide.",
    "fig3b": "The paper's Fig. 3(b): the same experiment with spiked feature variances and equal weights. Now a "
             "large weight is not the same as an important one: Hessian pruning beats magnitude pruning, and "
             "Hessian or Oracle pruning of the largest model beats training small on the best s features.",
    "fig7a": "The paper's Fig. 7(a): the world of fig3a, adding magnitude and Hessian pruning followed by "
             "retraining the kept weights on fresh samples.",
    "fig7b": "The paper's Fig. 7(b): the world of fig3b with retraining on fresh samples after pruning.",
    "fig3": "An earlier framing of Fig. 3: risk against kappa = p/n at fixed kept fractions alpha = s/p.",
    "fig7": "An earlier framing of Fig. 7: fig3 plus retraining on fresh samples.",
    "fig2": "The paper's Fig. 2: random-features regression (ReLU features of Gaussian inputs, quadratic "
            "label), a network grown in width and pruned to a fixed number s of weights, against a network of "
            "width s. Theory from the equivalent linear Gaussian problem (Gaussian equivalence, theory page, "
            "section 6), markers from simulations with real ReLU features.",
    "fig4": "The paper's Fig. 4: random features pruned by magnitude, then refitted; the fresh-sample "
            "prediction against simulations that refit on fresh samples and on the training samples (the "
            "latter has no exact theory).",
    "advise_map": "The advisor's phase map: for each model size and kept fraction, the option with the lowest "
                  "predicted risk.",
    "compress": "Beyond the paper (theory page, section 9): at a fixed storage budget in bits, risk against the "
                "model size for pruning, quantization, and pruning followed by quantization, at ridge 0 and at "
                "the tuned ridge.",
}
# sidecar keys that hold plotted data or bookkeeping rather than parameters
_FIGURE_DATA_KEYS = {"theory", "simulation", "findings", "rows", "u", "kappas_theory", "equivalent_sigma2",
                     "python", "numpy", "map", "best", "best_pruned", "baselines", "figure", "command", "law_spec",
                     "prune_beats_small", "prune_beats_oracle", "generated_utc", "elapsed_seconds", "version",
                     "dcpredict_version", "quick", "workers", "title", "caption", "horizontal", "curves", "sims",
                     "kappa", "kind"}


def _short(value: Any, limit: int = 200) -> str:
    import json

    text = json.dumps(value)
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return text.replace("|", "\\|").replace("`", "'")


def _md_escape(text: str) -> str:
    """Escape the characters that Markdown (and MyST's dollar math) would interpret in free text."""
    for char in "\\`*_$[]<>|":
        text = text.replace(char, "\\" + char)
    return text


def _write_figure_list() -> None:
    """Write ``reproducing_figures.inc.md`` from the sidecar JSON files in ``figures/``."""
    import json

    folder = HERE.parent / "figures"
    lines = ["<!-- written by conf.py at every build from figures/*.json; do not edit -->", ""]
    sidecars = sorted(p for p in folder.glob("*.json") if not p.stem.endswith("_quick")) if folder.is_dir() else []
    if not sidecars:
        lines += ["No figures are stored in `figures/` in this checkout; run `dcpredict figure all`.", ""]
    for path in sidecars:
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict):
            continue
        name = path.stem
        lines += [f"### {name}", ""]
        if isinstance(meta.get("title"), str):
            lines += [f"**{_md_escape(meta['title'])}**", ""]
        if (folder / f"{name}.png").exists():
            lines += [f"```{{image}} ../figures/{name}.png", f":alt: {name}", ":width: 90%", "```", ""]
        if name in FIGURE_NOTES:
            lines += [FIGURE_NOTES[name], ""]
        if isinstance(meta.get("caption"), str):
            lines += [f"*Caption stored with the figure:* {_md_escape(meta['caption'])}", ""]
        if name not in FIGURE_NOTES and not isinstance(meta.get("caption"), str):
            lines += [f"See the sidecar `figures/{name}.json`.", ""]
        if isinstance(meta.get("command"), str):
            lines += [f"Command: `{meta['command']}`"]
        stamp = [meta[k] for k in ("version", "generated_utc") if isinstance(meta.get(k), str)]
        if isinstance(meta.get("dcpredict_version"), str):
            stamp.insert(0, f"dcpredict {meta['dcpredict_version']}")
        if isinstance(meta.get("elapsed_seconds"), (int, float)) and meta["elapsed_seconds"] > 0:
            stamp.append(f"computed in {meta['elapsed_seconds']:.0f} s")
        if stamp:
            lines += [f"(stored run: {', '.join(stamp)})"]
        lines += ["", "| parameter | value |", "|---|---|"]
        params = dict(meta.get("params", {})) if isinstance(meta.get("params"), dict) else {}
        params.update({k: v for k, v in meta.items() if k not in _FIGURE_DATA_KEYS and k != "params"})
        for key, value in params.items():
            lines.append(f"| `{key}` | `{_short(value)}` |")
        lines.append("")
    text = "\n".join(lines)
    target = HERE / "reproducing_figures.inc.md"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


_write_figure_list()


def _write_module_table() -> None:
    """Write ``architecture_modules.inc.md``: every module of the package and its docstring's first line."""
    import ast
    import re

    root = HERE.parent / "dcpredict"
    lines = ["<!-- written by conf.py at every build from the modules' docstrings; do not edit -->", "",
             "| module | what it holds (first line of its docstring) |", "|---|---|"]
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent)
        try:
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        except (OSError, SyntaxError):
            doc = ""
        first = " ".join(doc.strip().split("\n\n")[0].split()) if doc else ""
        first = re.sub(r"``([^`]+)``", r"`\1`", first)              # reST literals -> Markdown code
        first = re.sub(r":(\w+):`([^`]+)`", r"{\1}`\2`", first)     # reST roles -> MyST roles
        first = first.replace("|", "\\|")
        lines.append(f"| `{rel.as_posix()}` | {first} |")
    lines.append("")
    text = "\n".join(lines)
    target = HERE / "architecture_modules.inc.md"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


_write_module_table()
autosummary_generate = ["api_lists.inc.rst", "api_modules.inc.rst"]

# -- gallery -------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",          # run every plot_*.py during the build
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "plot_gallery": "True",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reference_url": {},                     # no network: no links to other projects' docs
    "backreferences_dir": None,
    "show_memory": False,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    # the execution-times page loads jQuery and DataTables from CDNs: not written (the site works offline)
    "write_computation_times": False,
}

# -- HTML -----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"dcpredict {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    # every top-level page in the header (the API reference was hidden under "More"), and the paper
    "header_links_before_dropdown": 10,
    "external_links": [{"name": "Paper (arXiv:2012.08749)", "url": "https://arxiv.org/abs/2012.08749"}],
}
# top-level pages without sub-pages have no section navigation: no (empty) left sidebar
html_sidebars = {page: [] for page in ("index", "install", "glossary", "theory", "compression", "reproducing",
                                        "architecture")}
html_show_sourcelink = False
