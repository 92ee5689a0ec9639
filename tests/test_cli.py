"""The command line: exit codes (usage errors are 1, never 2), streams, no tracebacks."""

import sys
from pathlib import Path

import children
import pytest

from reconciler.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "desired-state"


def run(*args: str) -> tuple[int, str, str]:
    proc = children.run(
        [sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, check=False
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_validate_example_succeeds():
    code, out, err = run("validate", str(EXAMPLE))
    assert code == 0, err
    assert out.startswith("Valid: 13 files, 21 users (19 bound), 10 groups (7 exported)")
    # The one warning: an access that ended (docs/state-directory.md, "Expiring access").
    [warning] = err.splitlines()
    assert warning.endswith(
        "finance.yaml:17: warning: group audit: member interim.auditor@partner-firm.com: "
        "expired after 2026-03-31; the plan takes this access away, and `reconciler fmt "
        "--prune-expired` deletes the entries that ended"
    )


@pytest.mark.parametrize(
    "args",
    [["validate", "--bogus"], ["no-such-command"], ["schema", "--out"], ["fmt", "a", "b"]],
)
def test_usage_errors_exit_1(args):
    code, _, err = run(*args)
    assert code == 1
    assert "Error:" in err and "Traceback" not in err


def test_missing_directory_is_a_located_error(tmp_path):
    code, _, err = run("validate", str(tmp_path / "nope"))
    assert code == 1
    assert "nope: not found: give the state directory" in err and "Traceback" not in err


def test_directory_without_workspace(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["validate"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "workspace.yaml: not found" in err and "1 problem found" in err


def test_unexpected_errors_are_reported_without_traceback(monkeypatch, capsys):
    import reconciler.desired as desired

    def broken(root):
        raise RuntimeError("boom")

    monkeypatch.setattr(desired, "load_desired", broken)
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(EXAMPLE)])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err and "Traceback" not in err


def test_help_and_version_exit_0():
    assert run("--help")[0] == 0
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("reconciler, version ")
