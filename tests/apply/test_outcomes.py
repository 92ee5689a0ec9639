"""Runs that apply nothing still say why in the result file; SIGTERM stops like Ctrl-C; a
saved plan is found from another working directory of the same repository."""

from __future__ import annotations

import json
import signal
import subprocess
from functools import partial
from pathlib import Path

from reconciler.apply import executor
from reconciler.progress import Progress

from .held import USERS_INSERT, HeldWrite
from .support import apply_stopped_when, edit


def test_an_unapproved_run_leaves_a_result_file_saying_so(state_dir, emulator, cli, tmp_path):
    emulator()
    result = tmp_path / "result.json"
    run = cli("apply", state_dir, "--result-file", result)
    assert run.code == 1
    data = json.loads(result.read_text())
    assert data["status"] == "not approved" and data["applied"] == 0 and data["results"] == []


def test_a_refused_run_leaves_a_result_file_with_the_reason(state_dir, emulator, cli, tmp_path):
    emulator()
    edit(state_dir / "workspace.yaml", "max_suspend: 5", "max_suspend: 0")
    result = tmp_path / "result.json"
    run = cli("apply", state_dir, "--auto-approve", "--result-file", result)
    assert run.code == 1
    data = json.loads(result.read_text())
    assert data["status"] == "refused" and "safety limits" in data["reason"]


def test_a_completed_run_says_applied(state_dir, emulator, cli, tmp_path):
    emulator()
    result = tmp_path / "result.json"
    assert cli("apply", state_dir, "--auto-approve", "--result-file", result).code == 0
    data = json.loads(result.read_text())
    assert data["status"] == "applied" and data["applied"] > 0


def test_sigterm_stops_apply_like_ctrl_c(state_dir, emulator, tmp_path):
    """Stopped while its first account creation is on the wire (held there, so the run cannot
    finish first however slowly this machine runs)."""
    tenant = emulator()
    held = HeldWrite(tenant.server, USERS_INSERT)
    audit = tmp_path / "audit.jsonl"
    try:
        code = apply_stopped_when(
            held.arrived.is_set, state_dir, signal.SIGTERM, "--audit-log", audit, cwd=tmp_path
        )
    finally:
        held.release()
    err = (tmp_path / "err.txt").read_text()
    assert code == 1
    assert "Interrupted" in err and "Traceback" not in err


def test_a_saved_plan_finds_its_directory_from_elsewhere_in_the_repository(
    state_dir, emulator, cli, tmp_path, monkeypatch
):
    emulator()
    repo = state_dir.parent
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.chdir(repo)
    assert cli("plan", "state", "--out", "plan.json").code == 0
    (repo / "elsewhere").mkdir()
    monkeypatch.chdir(repo / "elsewhere")
    run = cli("apply", Path("..") / "plan.json")
    assert run.code == 0, run.text
    assert "Apply complete" in run.out


def test_apply_counts_its_changes_against_the_plans_total(
    state_dir, emulator, cli, tmp_path, monkeypatch
):
    emulator()
    # Every change counts as "a while", so the phase shows its lines.
    monkeypatch.setattr(executor, "Progress", partial(Progress, every_s=0))
    result = tmp_path / "result.json"
    run = cli("apply", state_dir, "--auto-approve", "--result-file", result)
    assert run.code == 0, run.err
    changes = len(json.loads(result.read_text())["results"])
    assert changes > 1
    assert f"Applying changes: done, {changes:,} of {changes:,} in " in run.err
    assert "Applying changes" not in run.out
