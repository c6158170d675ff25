"""--out never destroys what dcpredict did not write; the trial log is recognised, validated and extended.

Every refusal is checked byte-for-byte (sha256 of the file before and after).
"""
import hashlib
import json
import os
import stat

import numpy as np
import pytest

from dcpredict import DCPredictError, Law
from dcpredict.cli import main
from dcpredict.simulation import SIM_FIELDS, simulate_sweep

LAW = Law([4.0, 1.0, 0.25], [2.0, 1.0, 0.5], [0.2, 0.4, 0.4])
KW = dict(kappas=[0.5, 2.0], alphas=[0.2, 0.5], sigma2=0.2, n=20, seed=3, workers=1, progress=False)
CURVE = ["curve", "--lam", "4,1", "--b", "1,0.5", "--sigma2", "0.2", "--kappa", "0.5,2", "--alpha", "0.3,1"]


def sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def run(tmp_path, out, trials=3, **kw):
    return simulate_sweep(LAW, out=out, trials=trials, **{**KW, **kw})


# ----------------------------------------------------------------------------- foreign files are refused
FOREIGN = {
    "law_json_no_newline": b'{"lam": [1, 2], "b": [1, 0], "weights": [0.5, 0.5]}',
    "law_json_newline": b'{"lam": [1, 2], "b": [1, 0]}\n',
    "text": b"my notes\nsecond line\n",
    "empty": b"",
    "json_line_with_run": b'{"run": "0123456789abcdef"}\n',
    "binary": bytes(range(256)),
    "csv": b"a,b\n1,2\n",
}


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_simulate_refuses_foreign_file_untouched(tmp_path, name):
    path = tmp_path / "f.jsonl"
    path.write_bytes(FOREIGN[name])
    before = sha(path)
    with pytest.raises(DCPredictError, match="left unchanged"):
        run(tmp_path, path)
    assert sha(path) == before
    assert not (tmp_path / "f.jsonl.args.json").exists()


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_curve_refuses_foreign_file_untouched(tmp_path, capsys, name):
    path = tmp_path / "f.csv"
    path.write_bytes(FOREIGN[name])
    before = sha(path)
    assert main([*CURVE, "--out", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a dcpredict curve output" in err
    assert sha(path) == before
    assert sorted(os.listdir(tmp_path)) == ["f.csv"]  # no temporary file left behind


def test_curve_replaces_its_own_csv_and_json(tmp_path, capsys):
    path = tmp_path / "c.out"
    assert main([*CURVE, "--out", str(path)]) == 0
    first = path.read_text()
    assert first.startswith("kappa,alpha,tau,gamma2,") and first.count("\n") == 5
    assert main([*CURVE[:-4], "--kappa", "3", "--alpha", "1", "--format", "json", "--out", str(path)]) == 0
    recs = json.loads(path.read_text())
    assert [(r["kappa"], r["alpha"]) for r in recs] == [(3.0, 1.0)]
    assert main([*CURVE, "--out", str(path)]) == 0  # JSON output recognised too
    assert path.read_text() == first


def test_curve_follows_symlink_and_keeps_it(tmp_path, capsys):
    target = tmp_path / "real.csv"
    link = tmp_path / "link.csv"
    link.symlink_to(target)  # dangling: the target is created through it
    assert main([*CURVE, "--out", str(link)]) == 0
    assert link.is_symlink() and target.read_text().startswith("kappa,")
    assert main([*CURVE, "--out", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("keep me")
    link2 = tmp_path / "link2.csv"
    link2.symlink_to(foreign)
    assert main([*CURVE, "--out", str(link2)]) == 2
    assert foreign.read_text() == "keep me" and link2.is_symlink()


def test_curve_special_files_written_in_place(capsys):
    before = os.stat("/dev/null")
    assert main([*CURVE, "--out", "/dev/null"]) == 0
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino
    if os.path.exists("/dev/full"):
        assert main([*CURVE, "--out", "/dev/full"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "No space left on device" in err
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_curve_pipe_without_reader_refused(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main([*CURVE, "--out", str(fifo)]) == 2
    assert "pipe with no reader" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_curve_directory_refused(tmp_path, capsys):
    assert main([*CURVE, "--out", str(tmp_path)]) == 2
    assert "directory" in capsys.readouterr().err


def test_simulate_refuses_devices(capsys):
    with pytest.raises(DCPredictError, match="not a regular file"):
        simulate_sweep(LAW, out="/dev/null", trials=2, **KW)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    rc = main(["simulate", "--lam", "1", "--b", "1", "--sigma2", "0.1", "--kappa", "2", "--alpha", "0.5", "--n", "10",
               "--trials", "2", "--workers", "1", "--quiet", "--out", "/dev/null"])
    assert rc == 2 and capsys.readouterr().err.count("\n") == 1


def test_simulate_refuses_foreign_sidecar(tmp_path):
    path = tmp_path / "s.jsonl"
    side = tmp_path / "s.jsonl.args.json"
    side.write_text("user data")
    with pytest.raises(DCPredictError, match="sidecar .* not written by dcpredict"):
        run(tmp_path, path)
    assert side.read_text() == "user data" and not path.exists()


# ----------------------------------------------------------------------------- the trial log
def test_log_through_symlink_and_torn_line_repaired_only_when_recognised(tmp_path):
    real = tmp_path / "real.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    full = run(tmp_path, link)
    assert link.is_symlink() and real.exists() and (tmp_path / "real.jsonl.args.json").exists()
    lines = real.read_bytes().split(b"\n")[:-1]
    assert len(lines) == 2 * 2 * 3
    torn = b"\n".join(lines[:5]) + b"\n" + lines[5][:17]
    real.write_bytes(torn)
    again = run(tmp_path, link)
    for x, y in zip(full, again):
        assert x.samples.tobytes() == y.samples.tobytes()
    # a foreign first line makes the same torn tail untouchable
    real.write_bytes(b"hello\n" + torn)
    before = sha(real)
    with pytest.raises(DCPredictError, match="line 1"):
        run(tmp_path, link)
    assert sha(real) == before


def _corrupt(path, lineno, fn):
    lines = path.read_text().splitlines()
    rec = json.loads(lines[lineno - 1])
    lines[lineno - 1] = fn(rec)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("edit,why", [
    (lambda r: json.dumps({**r, "dense": float("nan")}), "dense must be a finite number"),
    (lambda r: json.dumps({**r, "hessian": "1.5"}), "hessian must be a finite number"),
    (lambda r: json.dumps({**r, "random": float("inf")}), "random must be a finite number"),
    (lambda r: json.dumps({**r, "trial": 1.0}), "trial must be an integer"),
    (lambda r: json.dumps({**r, "trial": True}), "trial must be an integer"),
    (lambda r: json.dumps({k: v for k, v in r.items() if k != "small_oracle"}), "missing small_oracle"),
    (lambda r: json.dumps({**r, "extra": 1}), "unexpected extra"),
    (lambda r: json.dumps({**r, "seed": 99}), "seed/n/p/s"),
    (lambda r: json.dumps({**r, "kappa": 7.0}), "not a point of this sweep"),
    (lambda r: json.dumps({**r, "trial": -1}), "trial must be >= 0"),
    (lambda r: "[1, 2]", "not a trial record"),
    (lambda r: '{"kappa": 0.5, "alpha"', "not a trial record"),
])
def test_corrupted_record_refused_naming_the_line(tmp_path, edit, why):
    path = tmp_path / "s.jsonl"
    run(tmp_path, path)
    _corrupt(path, 4, edit)
    before = sha(path)
    with pytest.raises(DCPredictError, match="line 4") as exc:
        run(tmp_path, path)
    assert why in str(exc.value) and str(exc.value).count("\n") == 0
    assert sha(path) == before


def test_repeated_trial_with_other_numbers_refused(tmp_path):
    path = tmp_path / "s.jsonl"
    run(tmp_path, path)
    lines = path.read_text().splitlines()
    rec = json.loads(lines[0])
    rec["dense"] += 1.0
    from dcpredict._store import record_check
    rec["check"] = record_check(rec)  # a consistent record (its checksum recomputed) of a trial already stored
    path.write_text("\n".join(lines + [json.dumps(rec)]) + "\n")
    with pytest.raises(DCPredictError, match="line 13 repeats trial"):
        run(tmp_path, path)


def test_more_trials_extend_the_log_bit_identically(tmp_path):
    """Trials are seeded one by one: 3 then 7 trials equals 7 at once, and 2 reads a prefix."""
    path = tmp_path / "s.jsonl"
    run(tmp_path, path, trials=3)
    size3 = path.stat().st_size
    ext = run(tmp_path, path, trials=7)
    assert path.stat().st_size > size3 and len(path.read_text().splitlines()) == 2 * 2 * 7
    fresh = simulate_sweep(LAW, trials=7, **KW)
    for x, y in zip(ext, fresh):
        assert x.samples.tobytes() == y.samples.tobytes() and x.trials == 7
    size7 = path.stat().st_size
    short = run(tmp_path, path, trials=2)
    assert path.stat().st_size == size7
    for x, y in zip(short, fresh):
        assert np.array_equal(x.samples, y.samples[:2])


def test_other_arguments_refused_untouched(tmp_path):
    path = tmp_path / "s.jsonl"
    run(tmp_path, path)
    before = sha(path)
    with pytest.raises(DCPredictError, match=r"different arguments \(ridge: file has 0.0, now 0.5\)"):
        run(tmp_path, path, ridge=0.5)
    assert sha(path) == before


def test_log_records_have_exactly_the_documented_keys(tmp_path):
    path = tmp_path / "s.jsonl"
    run(tmp_path, path, trials=2)
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        assert set(rec) == {"kappa", "alpha", "trial", "seed", "n", "p", "s", "run", "check", *SIM_FIELDS}
