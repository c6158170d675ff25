"""Figures, phase maps and validation reports replace only files dcpredict wrote: anything else is refused
before any work is done, and left byte-for-byte unchanged."""
import json

import pytest

import dcpredict as dp
from dcpredict.cli import main

LAW_ARGS = ["--lam", "10,1", "--b", "1,1", "--weights", "0.04,0.96", "--sigma2", "0.1"]


def test_figure_refuses_a_foreign_file_before_computing(tmp_path):
    foreign = tmp_path / "fig3b_quick.png"
    foreign.write_bytes(b"my holiday photo")
    from dcpredict.figures import make_figure
    with pytest.raises(dp.DCPredictError, match="not a dcpredict output"):
        make_figure("fig3b", quick=True, out_dir=tmp_path)
    assert foreign.read_bytes() == b"my holiday photo"
    assert not (tmp_path / "fig3b_quick.json").exists()


def test_draw_replaces_its_own_png_but_not_a_foreign_one(tmp_path):
    from dcpredict.figures import compute_figure
    from dcpredict.plotting import draw
    data = compute_figure("fig3a", quick=True, workers=1)
    out = tmp_path / "x.png"
    draw(data, out)
    assert b"dcpredict" in out.read_bytes()[:8192]          # the metadata by which it is recognised
    draw(data, out)                                          # its own file: replaced
    other = tmp_path / "y.png"
    other.write_bytes(b"\x89PNG not ours")
    with pytest.raises(dp.DCPredictError):
        draw(data, other)
    assert other.read_bytes() == b"\x89PNG not ours"


def test_validate_refuses_a_foreign_report(tmp_path, capsys):
    report = tmp_path / "REPORT_quick.md"
    report.write_text("# my notes\n")
    assert main(["validate", "--quick", "--out-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert report.read_text() == "# my notes\n"


def test_advise_map_refuses_a_foreign_file(tmp_path, capsys):
    target = tmp_path / "map.png"
    target.write_text("not a map")
    rc = main(["advise", *LAW_ARGS, "--n", "200", "--s", "40", "--world-size", "1000", "--map", str(target)])
    assert rc == 2 and capsys.readouterr().err.count("\n") == 1
    assert target.read_text() == "not a map"
    sidecar = tmp_path / "m.json"                           # an advise JSON vouches for its PNG
    sidecar.write_text(json.dumps({"best": {}, "baselines": {}, "zero_model": 1.0}))
    assert main(["advise", *LAW_ARGS, "--n", "200", "--s", "40", "--world-size", "1000", "--map",
                 str(tmp_path / "m.png")]) == 0
