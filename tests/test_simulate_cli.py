"""``dcpredict simulate``: JSON interface, JSONL output, real kill-and-resume, argument errors."""
import json
import signal
import subprocess
import sys
import time

import pytest

psutil = pytest.importorskip("psutil")  # a dependency of distributed

from dcpredict import RISK_FIELDS, Law
from dcpredict.cli import main
from dcpredict.simulation import SAME_SAMPLE_FIELDS, simulate

LAW_ARGS = ["--lam", "4,1,1,0.25", "--b", "2,1,0,0.5", "--weights", "0.1,0.2,0.4,0.3", "--sigma2", "0.2"]
# the CLI in a child process (no __main__ module in dcpredict.cli; spawn-safe with -c)
CLI = [sys.executable, "-c", "import sys; from dcpredict.cli import main; sys.exit(main(sys.argv[1:]))"]
FIELDS = set(RISK_FIELDS) | set(SAME_SAMPLE_FIELDS)


def _cli(args, capsys):
    rc = main(["simulate", *args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_single_point_json_matches_api(capsys):
    rc, out, _ = _cli([*LAW_ARGS, "--kappa", "2", "--alpha", "0.1", "--ridge", "0", "--n", "200", "--trials", "24",
                       "--seed", "11", "--workers", "1", "--json", "--quiet"], capsys)
    assert rc == 0
    obj = json.loads(out)
    inputs = {"law", "kappa", "alpha", "sigma2", "ridge", "n", "p", "s", "trials", "seed", "hessian_diagonal"}
    assert set(obj) == FIELDS | inputs   # the inputs are echoed
    assert (obj["kappa"], obj["alpha"], obj["n"], obj["trials"], obj["seed"], obj["p"]) == (2.0, 0.1, 200, 24, 11, 400)
    assert all(set(obj[f]) == {"mean", "stderr"} for f in FIELDS)
    res = simulate(Law([4, 1, 1, 0.25], [2, 1, 0, 0.5], [0.1, 0.2, 0.4, 0.3]), kappa=2, alpha=0.1, sigma2=0.2,
                   n=200, trials=24, seed=11, workers=1)
    for f in FIELDS:
        assert obj[f]["mean"] == res.mean[f] and obj[f]["stderr"] == res.stderr[f]


def test_several_points_json_list_table_and_jsonl(capsys, tmp_path):
    out = tmp_path / "s.jsonl"
    common = [*LAW_ARGS, "--kappa", "0.5,2", "--alpha", "0.2,0.4", "--n", "40", "--trials", "3", "--seed", "1",
              "--workers", "1", "--quiet"]
    rc, text, _ = _cli([*common, "--json", "--out", str(out)], capsys)
    assert rc == 0
    objs = json.loads(text)
    assert [(o["kappa"], o["alpha"]) for o in objs] == [(0.5, 0.2), (0.5, 0.4), (2.0, 0.2), (2.0, 0.4)]
    assert all(FIELDS <= set(o) for o in objs)
    recs = [json.loads(x) for x in out.read_text().splitlines()]  # one line per (kappa, alpha, trial)
    assert len(recs) == 12
    assert all({"kappa", "alpha", "trial", "seed"} | FIELDS <= set(r) for r in recs)
    rc, table, _ = _cli(common, capsys)
    assert rc == 0 and table.count("simulation: kappa=") == 4 and "hessian_retrained_same" in table


def test_progress_bar_on_stderr_unless_quiet(capsys):
    args = [*LAW_ARGS, "--kappa", "2", "--alpha", "0.1", "--n", "20", "--trials", "2", "--workers", "1", "--json"]
    _, _, err = _cli(args, capsys)
    assert "simulate" in err and "2/2" in err
    _, _, err = _cli([*args, "--quiet"], capsys)
    assert err == ""


@pytest.mark.parametrize("extra,match", [
    (["--kappa", "2", "--alpha", "0", "--n", "20"], "alpha must be in (0, 1]; got 0.0"),
    (["--kappa", "2,x", "--alpha", "0.1", "--n", "20"], "--kappa must be a comma-separated list"),
    (["--kappa", "2", "--alpha", "0.1", "--n", "20", "--trials", "1"], "trials must be an integer >= 2; got 1"),
    (["--kappa", "2", "--alpha", "0.1", "--n", "20", "--workers", "0"], "workers must be an integer >= 1; got 0"),
    (["--kappa", "2", "--alpha", "0.1", "--n", "20", "--ridge", "-1"], "ridge must be >= 0; got -1.0"),
])
def test_argument_errors_exit_2_one_line(capsys, extra, match):
    rc, out, err = _cli([*LAW_ARGS, *extra, "--quiet"], capsys)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and match in err


def test_resume_with_other_arguments_refused(capsys, tmp_path):
    out = tmp_path / "s.jsonl"
    base = [*LAW_ARGS, "--alpha", "0.2", "--n", "20", "--trials", "2", "--workers", "1", "--quiet", "--out", str(out)]
    assert _cli([*base, "--kappa", "2"], capsys)[0] == 0
    rc, _, err = _cli([*base, "--kappa", "3"], capsys)
    assert rc == 2 and "different arguments (kappas: file has [2.0], now [3.0])" in err and err.count("\n") == 1


def _records(path):
    """(the run's arguments from the sidecar, the trial records)."""
    args = json.loads(open(str(path) + ".args.json").read())
    return args, [json.loads(x) for x in open(path).read().splitlines()]


def test_kill_and_resume_loses_and_duplicates_nothing(tmp_path):
    """Start the CLI, SIGKILL it once some trials are stored, rerun: complete, no duplicates, same numbers."""
    args = [*CLI, "simulate", *LAW_ARGS, "--kappa", "1.5,3", "--alpha", "0.1,0.3",
            "--n", "300", "--trials", "60", "--seed", "7", "--quiet"]
    killed = tmp_path / "killed.jsonl"
    proc = subprocess.Popen([*args, "--workers", "2", "--out", str(killed)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            if killed.exists() and killed.read_bytes().count(b"\n") >= 21:
                break
            if proc.poll() is not None:
                pytest.fail(f"simulate ended before it could be killed: {proc.stderr.read().decode()}")
            time.sleep(0.02)
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    # the pool's workers notice their parent's death and exit (no orphans left behind)
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"orphaned worker processes: {[c.pid for c in alive]}"
    n_before = killed.read_bytes().count(b"\n")
    assert 20 <= n_before < 2 * 2 * 60, "the kill must interrupt the run"

    resumed = subprocess.run([*args, "--workers", "1", "--out", str(killed), "--json"], capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    fresh_out = tmp_path / "fresh.jsonl"
    fresh = subprocess.run([*args, "--workers", "1", "--out", str(fresh_out), "--json"], capture_output=True,
                           text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr

    h1, r1 = _records(killed)
    h2, r2 = _records(fresh_out)
    assert h1 == h2
    keys = [(r["kappa"], r["alpha"], r["trial"]) for r in r1]
    assert len(keys) == len(set(keys)) == 2 * 2 * 60
    by_key = {(r["kappa"], r["alpha"], r["trial"]): r for r in r2}
    assert set(keys) == set(by_key)
    assert all(r == by_key[k] for k, r in zip(keys, r1))
    assert json.loads(resumed.stdout) == json.loads(fresh.stdout)


def test_help_lists_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for opt in ("--kappa", "--alpha", "--ridge", "--n", "--trials", "--seed", "--workers", "--scheduler", "--out",
                "--quiet", "--json", "--hessian"):
        assert opt in text


def test_scheduler_option_matches_local(capsys):
    distributed = pytest.importorskip("distributed")
    args = [*LAW_ARGS, "--kappa", "2,0.5", "--alpha", "0.2", "--n", "60", "--trials", "4", "--seed", "3", "--json",
            "--quiet"]
    rc, local, _ = _cli([*args, "--workers", "1"], capsys)
    assert rc == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                                  processes=True) as cluster:
        rc, remote, _ = _cli([*args, "--scheduler", cluster.scheduler_address], capsys)
    assert rc == 0 and json.loads(remote) == json.loads(local)
