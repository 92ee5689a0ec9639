"""YAML nested tens of thousands of levels deep: refused with a located error, never a crash.

ruamel's C composer recurses on the C stack once per level, so 28 KB of `[` used to end the
process with SIGSEGV (validate, plan, fmt, and audit reading the file from git history). The
CLI runs in a child process here: a crash shows as a negative return code, a failed test.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cli_support import JO, WORKSPACE, reconciler, write_state

SIZE = 28 * 1024
TEXTS = {
    "brackets": ("[" * SIZE, 1),
    "braces": ("{" * SIZE, 1),
    "mixed": (JO + "    title: " + "[{" * (SIZE // 2) + "\n", 5),
    # Two characters a level: 56 KB for as many levels as the others.
    "block": (JO + "    title:\n      " + "- " * SIZE + "x\n", 6),
}


def state_dir(tmp_path: Path, text: str) -> Path:
    return write_state(tmp_path / "directory", {"workspace.yaml": WORKSPACE, "users.yaml": text})


def assert_refused(proc: subprocess.CompletedProcess[str], where: str) -> None:
    assert proc.returncode == 1, f"exit {proc.returncode} (negative: killed by a signal)"
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert f"{where}: YAML nesting is too deep (over 1000 levels)" in proc.stderr, proc.stderr


@pytest.mark.parametrize("command", [["validate"], ["plan"], ["fmt"], ["fmt", "--check"]])
@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_deep_nesting_is_refused_by_every_command(tmp_path, kind, command):
    text, line = TEXTS[kind]
    directory = state_dir(tmp_path, text)
    proc = reconciler(*command, ".", cwd=directory)
    assert_refused(proc, f"users.yaml:{line}")
    assert (directory / "users.yaml").read_text(encoding="utf-8") == text  # fmt wrote nothing


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ana",
        "GIT_AUTHOR_EMAIL": "ana@example.com",
        "GIT_COMMITTER_NAME": "Ana",
        "GIT_COMMITTER_EMAIL": "ana@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo),
    }
    subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True)


@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_audit_of_history_holding_deep_nesting_is_refused(tmp_path, kind):
    """The file is read from a commit (git show), through the same guard: the report is
    printed, the unreadable file is named with its line and commit, and the exit code is 1."""
    text, line = TEXTS[kind]
    directory = state_dir(tmp_path, JO)
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "Add Jo")
    (directory / "users.yaml").write_text(text, encoding="utf-8")
    _git(tmp_path, "commit", "-qam", "Nest deeply (#7)")
    proc = reconciler("audit", ".", cwd=directory)
    assert_refused(proc, f"users.yaml:{line}")
    assert "Nest deeply (#7)" in proc.stdout
    assert "the audit is incomplete: 1 file(s)" in proc.stderr
