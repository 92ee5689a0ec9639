"""Saved plans: `plan --out` then `apply PLAN.json` applies without a prompt while Google and
Git are as they were; stale, edited, truncated, future and homeless plans are refused with a
message, never a traceback, and nothing is applied."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_support import ALL_APPLIED

from reconciler.apply.saved import bind
from reconciler.plan.kinds import change_from_json
from reconciler.plan.plan import Plan

from .support import edit


@pytest.fixture
def saved(emulator, state_dir, tmp_path, cli):
    """(tenant, path of a plan saved for the example)."""
    tenant = emulator()
    path = tmp_path / "plans" / "plan.json"
    made = cli("plan", state_dir, "--out", path)
    assert made.code == 0, made.err
    assert "Saved the plan to" in made.err
    return tenant, path


def forge(data: dict) -> None:
    """Recompute the checksum and the binding after an edit, as a forger would."""
    plan = Plan(changes=[change_from_json(c) for c in data["changes"]])
    data["checksum"] = plan.checksum()
    meta = {k: v for k, v in data["meta"].items() if k not in ("binding", "directory_path")}
    data["meta"] = bind(meta, plan, Path(data["meta"]["directory_path"]))


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


@pytest.mark.parametrize(
    "stray", [{"member": "eve@example.com"}, {"group": "all@example.com"}, {"role": "OWNER"}]
)
def test_a_key_the_change_kind_lacks_is_an_edit(saved, cli, stray):
    """A user change has no member, group or role: reading drops such a key, so the checksum
    is checked over the records as written, where it still counts."""
    tenant, path = saved
    data = json.loads(path.read_text())
    _first_update(data).update(stray)
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
    changes = [change_from_json(c) for c in data["changes"]]
    data["checksum"] = Plan(changes=changes).checksum()
    path.write_text(json.dumps(data, indent=2))
    before = tenant.snapshot()
    # The binding covers the checksum: a new checksum alone is an edit.
    refused(cli("apply", path), "do not match its binding", "the file was edited")
    forge(data)
    path.write_text(json.dumps(data, indent=2))
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
        forge(data)  # as if made there, in a folder since removed
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


# -- a saved plan is bound to its state directory ---------------------------------------------


@pytest.fixture
def copy(saved, state_dir, tmp_path):
    """An identical copy of the state directory, elsewhere."""
    return shutil.copytree(state_dir, tmp_path / "copy", ignore=shutil.ignore_patterns(".*"))


def test_a_plan_retargeted_to_an_identical_copy_is_refused(saved, copy, cli):
    """Same files, same tenant, so a fresh plan there has the very same changes: only the
    binding tells the copy from the directory the plan was made for."""
    tenant, path = saved
    data = json.loads(path.read_text())
    data["meta"]["directory"] = copy.as_posix()
    path.write_text(json.dumps(data, indent=2))
    before = tenant.snapshot()
    refused(cli("apply", path), "do not match its binding", "the file was edited")
    assert tenant.snapshot() == before

    # Rebinding it to the copy's path as given does not help: the copy is elsewhere.
    forge(data)
    path.write_text(json.dumps(data, indent=2))
    run = cli("apply", path)
    refused(
        run,
        f"was made for the state directory {data['meta']['directory_path']}, not {copy}",
        "a saved plan applies only to the directory it was made for",
    )
    assert tenant.snapshot() == before


def test_a_plan_that_finds_an_identical_copy_from_another_folder_is_refused(
    emulator, state_dir, tmp_path, cli, monkeypatch
):
    """The plan records the directory as given ("state"); applied from another folder that
    holds an identical "state", it would find the copy: refused, the plan unedited."""
    tenant = emulator()
    monkeypatch.chdir(tmp_path)
    assert cli("plan", "state", "--out", "plan.json").code == 0
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(state_dir, elsewhere / "state", ignore=shutil.ignore_patterns(".*"))
    monkeypatch.chdir(elsewhere)
    before = tenant.snapshot()
    run = cli("apply", tmp_path / "plan.json")
    refused(run, f"not {(elsewhere / 'state').as_posix()}", "applies only to the directory")
    assert tenant.snapshot() == before
    monkeypatch.chdir(tmp_path)
    assert cli("apply", "plan.json").code == 0


def test_a_plan_whose_files_changed_is_refused_even_with_the_same_changes(saved, state_dir, cli):
    tenant, path = saved
    with (state_dir / "users" / "sales.yaml").open("a", encoding="utf-8") as f:
        f.write("# a comment changes no account\n")
    before = tenant.snapshot()
    run = cli("apply", path)
    refused(run, "was made from other files", "state digest differs", "same changes")
    assert tenant.snapshot() == before


def test_a_plan_saved_without_a_binding_is_refused_clearly(saved, cli):
    """Plans saved before plans were bound to their directory: still read, and refused."""
    tenant, path = saved
    data = json.loads(path.read_text())
    for key in ("binding", "directory_path"):
        del data["meta"][key]
    path.write_text(json.dumps(data, indent=2))
    before = tenant.snapshot()
    refused(cli("apply", path), "not bound to its state directory", "older reconciler")
    assert tenant.snapshot() == before


def test_the_saved_plan_keeps_the_json_plan_contract(saved):
    _, path = saved
    data = json.loads(path.read_text())
    assert data["format_version"] == 1
    assert {"format_version", "changes", "summary", "checksum"} <= set(data)
    assert data["checksum"] == Plan([change_from_json(c) for c in data["changes"]]).checksum()
    assert data["meta"]["binding"].startswith("sha256:")


def test_inside_a_repository_a_plan_is_bound_to_the_folder_of_the_repository(
    emulator, state_dir, tmp_path, cli, monkeypatch
):
    """Any clone will do (CI applies in another job), but not a copy outside the repository,
    even with the plan rebound to it."""
    tenant = emulator()
    repo = state_dir.parent
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.chdir(repo)
    assert cli("plan", "state", "--out", "plan.json").code == 0
    outside = tmp_path.parent / f"{tmp_path.name}-copy"
    shutil.copytree(state_dir, outside, ignore=shutil.ignore_patterns(".*"))
    data = json.loads((repo / "plan.json").read_text())
    data["meta"]["directory"] = outside.as_posix()
    data["meta"]["directory_path"] = outside.as_posix()
    forge(data)
    (repo / "plan.json").write_text(json.dumps(data, indent=2))
    before = tenant.snapshot()
    try:
        run = cli("apply", "plan.json")
    finally:
        shutil.rmtree(outside)
    refused(run, "was made for the folder state of a git repository", "is not in one")
    assert tenant.snapshot() == before


def _first_update(data: dict) -> dict:
    return next(c for c in data["changes"] if c["action"] == "update" and c.get("fields"))


def _set(key: str, value):
    def edit_(data: dict) -> None:
        data[key] = value

    return edit_


def _in_change(key: str, value):
    def edit_(data: dict) -> None:
        _first_update(data)[key] = value

    return edit_


def _in_field(value):
    def edit_(data: dict) -> None:
        change = _first_update(data)
        change["fields"][next(iter(change["fields"]))] = value

    return edit_


def _meta(key: str, value):
    def edit_(data: dict) -> None:
        data["meta"][key] = value

    return edit_


def _change_list_item(value):
    def edit_(data: dict) -> None:
        data["changes"][0] = value

    return edit_


WRONG_TYPES = {
    "changes-not-a-list": (_set("changes", "x"), "changes must be a list, not text"),
    "changes-an-object": (_set("changes", {"a": 1}), "changes must be a list, not an object"),
    "refused-a-number": (_set("refused", 5), "refused must be a list, not a number"),
    "over-limits-item-a-list": (_set("over_limits", [[1]]), "over_limits[0] must be text"),
    "checksum-a-number": (_set("checksum", 7), "checksum must be text, not a number"),
    "change-not-an-object": (_change_list_item("x"), "changes[0] must be an object, not text"),
    "change-a-list": (_change_list_item([1, 2]), "changes[0] must be an object, not a list"),
    "action-unknown": (_in_change("action", "explode"), "unknown action 'explode'"),
    "action-a-list": (_in_change("action", ["update"]), "unknown action ['update']"),
    "kind-a-list": (_in_change("kind", ["user"]), ".kind: no update of kind ['user']"),
    "kind-an-object": (_in_change("kind", {"a": 1}), ".kind: no update of kind {'a': 1}"),
    "key-a-number": (_in_change("key", 5), ".key must be text, not a number"),
    "member-an-object": (_in_change("member", {}), ".member must be text, not an object"),
    "fields-a-list": (_in_change("fields", [1]), ".fields must be an object, not a list"),
    "field-text": (_in_field("x"), "must be an object with old and new"),
    "field-value-an-object": (_in_field({"old": {}, "new": 1}), ".old must be text, a number"),
    "directory-a-number": (_meta("directory", 5), "meta.directory must be text, not a number"),
    "binding-a-list": (_meta("binding", []), "meta.binding must be text, not a list"),
}


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_a_plan_with_wrong_json_types_is_refused(saved, cli, case):
    """Every part of the file is checked for its JSON type before anything trusts it."""
    edit_, needle = WRONG_TYPES[case]
    tenant, path = saved
    data = json.loads(path.read_text())
    edit_(data)
    path.write_text(json.dumps(data, indent=2))
    before = tenant.snapshot()
    run = cli("apply", path)
    refused(run, "not a plan as `reconciler plan --out` writes it", needle)
    assert str(path) in run.err
    assert tenant.snapshot() == before
