"""Local state (the embedded emulator's tenant in `.reconciler/`) is written only inside the
state directory, and never through a symbolic link.

A link planted as the snapshot, journal, lock, base or temporary file made plan and apply
overwrite, append to or empty whatever it pointed to; `.reconciler` itself as a link, or
`provider.state: ../elsewhere`, put files anywhere. Each is refused with a clear error, its
target untouched. These run with the embedded emulator (no RECONCILER_GOOGLE_ENDPOINT), as a
state directory does by default."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import children
import pytest
from apply.support import child_env, reconciler_command

from reconciler.emulator.journal import StateError
from reconciler.emulator.store import TenantStore

EXAMPLE_WORKSPACE = Path(__file__).resolve().parents[2] / "examples/desired-state/workspace.yaml"
# The line of `provider.state` in the example's workspace.yaml, where its problems point.
STATE_LINE = next(
    n
    for n, line in enumerate(EXAMPLE_WORKSPACE.read_text(encoding="utf-8").splitlines(), 1)
    if line.strip().startswith("state:")
)

PRECIOUS = "precious: another user's file\n"
STATE_FILES = [
    "emulator.json",
    "emulator.json.journal",
    "emulator.json.lock",
    "emulator.json.base",
    "emulator.json.tmp",
]


def link_refused(path: str) -> str:
    return (
        f"Error: {path}: a symbolic link: refused (files are read and written only inside the "
        "state directory, never through a link); remove it"
    )


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim" / "file"
    path.parent.mkdir()
    path.write_text(PRECIOUS)
    return path


@pytest.mark.parametrize("name", STATE_FILES)
def test_a_linked_state_file_is_refused_and_its_target_untouched(
    name, state_dir, victim, cli, monkeypatch
):
    local = state_dir / ".reconciler"
    local.mkdir()
    (local / name).symlink_to(victim)
    monkeypatch.chdir(state_dir)
    if name == "emulator.json":  # provider.state itself: validation names it, with its line
        expected = (
            f"workspace.yaml:{STATE_LINE}: provider.state: '.reconciler/emulator.json' is a "
            "symbolic link: "
            "refused (files are read and written only inside the state directory, never "
            "through a link)\n1 problem found; nothing was changed.\n"
        )
    else:  # the files beside it: refused when the emulator opens them
        expected = link_refused(f".reconciler/{name}") + "\n"
    for args in (("plan", "."), ("apply", ".", "--auto-approve")):
        run = cli(*args)
        assert run.code == 1, run.text
        assert run.err == expected, args
        assert victim.read_text() == PRECIOUS
    assert (local / name).is_symlink()
    assert {p.name for p in local.iterdir()} <= {".gitignore", name}  # nothing else made


def test_a_linked_journal_after_a_run_is_refused(state_dir, victim, cli, monkeypatch):
    """A tenant saved by an earlier apply, then its journal swapped for a link."""
    monkeypatch.chdir(state_dir)
    assert cli("apply", ".", "--auto-approve").code == 0
    journal = state_dir / ".reconciler" / "emulator.json.journal"
    journal.unlink()
    journal.symlink_to(victim)
    run = cli("apply", ".", "--auto-approve")
    assert run.code == 1
    assert run.err == link_refused(".reconciler/emulator.json.journal") + "\n"
    assert victim.read_text() == PRECIOUS


def test_the_local_state_folder_as_a_link_is_refused(state_dir, tmp_path, cli, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (state_dir / ".reconciler").symlink_to(elsewhere)
    monkeypatch.chdir(state_dir)
    for command in ("validate", "plan"):
        run = cli(command, ".")
        assert run.code == 1, run.text
        assert "Traceback" not in run.err
        assert run.err.splitlines()[0] == (
            f"workspace.yaml:{STATE_LINE}: provider.state: '.reconciler' is a symbolic link: "
            "refused "
            "(files are read and written only inside the state directory, never through a link)"
        )
    assert list(elsewhere.iterdir()) == []


def test_the_local_state_folder_turning_into_a_link_is_refused_at_open(
    state_dir, tmp_path, monkeypatch
):
    """Validation passed; the folder becomes a link before the emulator opens: the check at
    open time refuses it (the same check as validation, repeated where the files are made)."""
    from reconciler.desired import load_desired
    from reconciler.emulator.embedded import open_embedded

    desired = load_desired(state_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (state_dir / ".reconciler").symlink_to(elsewhere)
    with pytest.raises(StateError, match=r"\.reconciler is a symbolic link: refused"):
        open_embedded(state_dir, desired.workspace)
    assert list(elsewhere.iterdir()) == []


def test_a_gitignore_link_is_not_written_through(state_dir, tmp_path, cli, monkeypatch):
    local = state_dir / ".reconciler"
    local.mkdir()
    target = tmp_path / "created-elsewhere"
    (local / ".gitignore").symlink_to(target)
    monkeypatch.chdir(state_dir)
    run = cli("plan", ".")
    assert run.code == 0, run.err
    assert not target.exists()


@pytest.mark.parametrize("state", ["../elsewhere/emulator.json", "ABSOLUTE"])
def test_a_state_outside_the_directory_is_refused(state, state_dir, tmp_path, cli, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    if state == "ABSOLUTE":
        state = str(elsewhere / "emulator.json")
    workspace = state_dir / "workspace.yaml"
    text = workspace.read_text()
    workspace.write_text(text.replace('state: ".reconciler/emulator.json"', f"state: {state}"))
    monkeypatch.chdir(state_dir)
    for args in (("validate", "."), ("plan", "."), ("apply", ".", "--auto-approve")):
        run = cli(*args)
        assert run.code == 1, run.text
        [problem, summary] = run.err.splitlines()
        head = f"workspace.yaml:{STATE_LINE}: provider.state: '{state}' must "
        assert problem.startswith(head), problem
        assert problem.endswith(": local state is written only inside it")
        assert summary == "1 problem found; nothing was changed."
    assert not elsewhere.exists()
    assert not (state_dir / ".reconciler").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_as_the_state_file_is_refused_without_waiting(state_dir):
    (state_dir / ".reconciler").mkdir()
    os.mkfifo(state_dir / ".reconciler" / "emulator.json")
    proc = children.run(
        reconciler_command("plan", "."),
        cwd=state_dir,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        "Error: .reconciler/emulator.json: not a regular file (a FIFO): refused; remove it\n"
    )


@pytest.mark.parametrize("name", STATE_FILES)
def test_the_store_refuses_linked_files_for_emulator_serve_too(name, tmp_path, victim):
    """`reconciler emulator serve --state FILE` opens the same store."""
    state = tmp_path / "tenant.json"
    (tmp_path / name.replace("emulator.json", "tenant.json")).symlink_to(victim)
    with pytest.raises(StateError, match="a symbolic link: refused"):
        TenantStore(seed={"domains": ["example.com"]}, state=state)
    assert victim.read_text() == PRECIOUS
