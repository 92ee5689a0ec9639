"""Saved plans: `plan --out` then `apply PLAN.json` applies without a prompt while Google and
Git are as they were; stale, edited, truncated, future and homeless plans are refused with a
message, never a traceback, and nothing is applied."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.plan.changes import Change, Plan

from .support import edit

ALL_APPLIED = "Apply complete: 26 applied, 0 failed, 0 skipped."


@pytest.fixture
def saved(emulator, state_dir, tmp_path, cli):
    """(tenant, path of a plan saved for the example)."""
    tenant = emulator()
    path = tmp_path / "plans" / "plan.json"
    made = cli("plan", state_dir, "--out", path)
    assert made.code == 0, made.err
    assert "Saved the plan to" in made.err
    return tenant, path


def refused(run, *needles: str) -> None:
    assert run.code == 1
    assert "Error: refused:" in run.err or "Error:" in run.err
    for needle in needles:
        assert needle in run.err, run.err
    assert "Traceback" not in run.text and "internal error" not in run.text
    assert "Apply complete" not in run.out


def test_a_saved_plan_applies_without_a_prompt(saved, state_dir, cli):
    tenant, path = saved
    meta = json.loads(path.read_text())["meta"]
    assert set(meta) >= {"state_digest", "git_commit", "tool_version", "created", "directory"}
    assert meta["directory"] == state_dir.as_posix() and meta["git_commit"] is None
    run = cli("apply", path)  # no terminal, no --auto-approve: the saved plan is the approval
    assert run.code == 0, run.err
    assert ALL_APPLIED in run.out
    assert tenant.users()["kenji.watanabe@example.com"]["changePasswordAtNextLogin"] is True
    assert cli("plan", state_dir, "--detailed-exitcode").code == 0


@pytest.mark.parametrize(
    ("method", "resource", "body", "moved"),
    [
        # Someone deleted a bound user in the Admin console: now it must be restored.
        ("DELETE", "users/sofia.rossi@example.com", None, "+ now also: undelete user sofia.rossi@"),
        # A title changed in Google: Git's title must be put back.
        (
            "PATCH",
            "users/jo.lei@example.com",
            {"organizations": [{"title": "Staff Engineer", "department": "Engineering"}]},
            "+ now also: update user jo.lei@example.com",
        ),
        # Someone fixed Emma's phone by hand: the planned update is no longer needed.
        (
            "PATCH",
            "users/emma.johnson@example.com",
            {"phones": [{"type": "work", "value": "+1 555 0137"}]},
            "- no longer: update user emma.johnson@example.com",
        ),
        # Emma's phone changed again in Google: the update is still planned, from another value.
        (
            "PATCH",
            "users/emma.johnson@example.com",
            {"phones": [{"type": "work", "value": "+1 555 0000"}]},
            "~ now different: update user emma.johnson@example.com\n"
            '      saved: phone: "+1 555 0132" -> "+1 555 0137"\n'
            '      now:   phone: "+1 555 0000" -> "+1 555 0137"',
        ),
        # The new hire was added by hand.
        (
            "POST",
            "groups/sales@example.com/members",
            {"email": "sofia.rossi@example.com", "role": "MEMBER"},
            "- no longer: add sofia.rossi@example.com to sales@example.com as MEMBER",
        ),
    ],
)
def test_a_change_in_google_makes_the_saved_plan_stale(saved, cli, method, resource, body, moved):
    tenant, path = saved
    tenant.api(method, resource, body)
    before = tenant.snapshot()
    run = cli("apply", path, "--auto-approve")
    refused(run, "is stale", "Google or Git changed", moved, "Make and review a new plan.")
    assert tenant.snapshot() == before


def test_a_change_in_git_makes_the_saved_plan_stale(saved, state_dir, cli):
    tenant, path = saved
    edit(state_dir / "users" / "sales.yaml", 'phone: "+1 555 0137"', 'phone: "+1 555 0138"')
    before = tenant.snapshot()
    run = cli("apply", path)
    refused(
        run,
        "is stale",
        "~ now different: update user emma.johnson@example.com\n"
        '      saved: phone: "+1 555 0132" -> "+1 555 0137"\n'
        '      now:   phone: "+1 555 0132" -> "+1 555 0138"',
    )
    assert tenant.snapshot() == before


def test_an_edited_plan_is_refused(saved, cli):
    tenant, path = saved
    data = json.loads(path.read_text())
    update = next(c for c in data["changes"] if c["key"] == "emma.johnson@example.com")
    update["fields"]["phone"]["new"] = "+1 555 0666"
    path.write_text(json.dumps(data, indent=2))
    before = tenant.snapshot()
    run = cli("apply", path)
    refused(run, "do not match the plan's checksum", "edited or damaged")
    assert tenant.snapshot() == before


def test_an_edited_plan_with_a_recomputed_checksum_is_stale(saved, cli):
    """Forging the checksum does not help: the fresh plan is what gets compared."""
    tenant, path = saved
    data = json.loads(path.read_text())
    data["changes"] = [c for c in data["changes"] if c["action"] != "suspend"]
    changes = [Change.from_json(c) for c in data["changes"]]
    data["checksum"] = Plan(changes=changes).checksum()
    path.write_text(json.dumps(data, indent=2))
    before = tenant.snapshot()
    run = cli("apply", path)
    refused(run, "is stale", "now also: suspend user sam.okafor@example.com")
    assert tenant.snapshot() == before


def test_a_truncated_plan_is_refused(saved, cli):
    tenant, path = saved
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    before = tenant.snapshot()
    run = cli("apply", path)
    refused(run, "not a complete JSON plan", "truncated", "reconciler plan --out")
    assert tenant.snapshot() == before


def test_a_plan_from_a_newer_reconciler_is_refused(saved, cli):
    tenant, path = saved
    data = json.loads(path.read_text())
    data["format_version"] = 2
    path.write_text(json.dumps(data))
    before = tenant.snapshot()
    run = cli("apply", path)
    refused(run, "format_version 2 is newer than this reconciler reads")
    assert tenant.snapshot() == before


@pytest.mark.parametrize("directory", ["elsewhere", None])
def test_a_plan_for_a_directory_that_is_not_here_is_refused(saved, cli, tmp_path, directory):
    tenant, path = saved
    data = json.loads(path.read_text())
    if directory is None:
        del data["meta"]
        expected = "does not say which state directory"
    else:
        data["meta"]["directory"] = (tmp_path / directory).as_posix()
        expected = "which is not a directory here"
    path.write_text(json.dumps(data))
    before = tenant.snapshot()
    run = cli("apply", path)
    refused(run, expected)
    assert tenant.snapshot() == before


def test_a_file_that_is_no_plan_is_refused(saved, state_dir, cli, tmp_path):
    tenant, _ = saved
    before = tenant.snapshot()
    (tmp_path / "empty.json").write_text("")
    not_a_plan = tmp_path / "list.json"
    not_a_plan.write_text("[1, 2, 3]\n")
    refused(cli("apply", not_a_plan), "not a plan file")
    refused(cli("apply", tmp_path / "empty.json"), "the plan file is empty", "truncated")
    refused(cli("apply", state_dir / "workspace.yaml"), "not a plan file", "give the directory")
    missing: Path = tmp_path / "missing.json"
    run = cli("apply", missing)
    assert run.code == 1 and "Traceback" not in run.text
    assert tenant.snapshot() == before
