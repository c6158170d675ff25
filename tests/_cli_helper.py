"""The command line run in-process with its stdout and stderr captured (for tests that cannot use capsys, e.g.
inside a fixture or while a browser drives a server): ``run_cli(argv) -> (exit status, stdout, stderr)``."""
import contextlib
import io


def run_cli(argv):
    from dcpredict.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
    return rc, out.getvalue(), err.getvalue()
