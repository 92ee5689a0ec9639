"""The saved plan's models (apply/saved.py: PlanFile, SavedChange, SavedField): with several
things wrong, the one said is the first found reading the file in order, whatever order the
models check them in; a plan as `plan --out` writes it reads back as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.apply.saved import InvalidPlanFile, bind, load_saved_plan
from reconciler.plan.change import FieldChange
from reconciler.plan.kinds import (
    EntraMembershipChange,
    GroupChange,
    LicenseChange,
    MembershipChange,
    UserChange,
)
from reconciler.plan.plan import Plan

CHANGES = [
    UserChange(
        "update",
        "a@x.io",
        {"given_name": FieldChange("A", "B"), "aliases": FieldChange(("x@x.io",), ())},
    ),
    UserChange("rename", "b@x.io", from_="c@x.io", reason="renamed in Git"),
    GroupChange("create", "g@x.io", {"name": FieldChange(None, "G")}),
    MembershipChange("add_member", "g@x.io/a@x.io", group="g@x.io", member="a@x.io", role="MEMBER"),
    LicenseChange("assign_license", "a@x.io", {"sku": FieldChange("none", "1010020020")}),
]
REFUSED = [
    EntraMembershipChange(
        "remove_member",
        "Eng/a@x.io",
        {"object_id": FieldChange("id-1", None)},
        group="Eng",
        member="a@x.io",
        member_type="USER",
    )
]


@pytest.fixture
def plan_file(tmp_path: Path) -> tuple[Path, dict]:
    plan = Plan(changes=list(CHANGES), refused=list(REFUSED))
    data = plan.to_json()
    data["meta"] = bind({"directory": str(tmp_path)}, plan, tmp_path)
    return tmp_path / "plan.json", data


def _problem(path: Path, data: dict) -> str:
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidPlanFile) as refused:
        load_saved_plan(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def _as_written(wrong: str) -> str:
    return (
        f"not a plan as `reconciler plan --out` writes it: {wrong}. "
        "Make a new one with `reconciler plan --out`"
    )


def test_a_saved_plan_reads_back(plan_file):
    path, data = plan_file
    path.write_text(json.dumps(data))
    saved = load_saved_plan(path)
    assert saved.plan.changes == CHANGES and saved.plan.refused == REFUSED


def test_the_plan_s_own_parts_before_its_changes(plan_file):
    path, data = plan_file
    data["changes"][0]["key"] = 5
    data["over_limits"] = [[1]]
    assert _problem(path, data) == _as_written("over_limits[0] must be text, not a list")


def test_changes_before_refused_and_in_order(plan_file):
    path, data = plan_file
    data["refused"][0]["key"] = 5
    data["changes"][3]["group"] = 5
    data["changes"][1]["from"] = []
    assert _problem(path, data) == _as_written("changes[1].from must be text, not a list")


def test_within_a_change_action_kind_key_then_text_then_fields(plan_file):
    path, data = plan_file
    change = data["changes"][0]
    change["fields"] = []
    change["reason"] = 1
    assert _problem(path, data) == _as_written("changes[0].reason must be text, not a number")
    change["key"] = None
    assert _problem(path, data) == _as_written("changes[0].key must be text, not null")
    change["kind"] = "license"
    assert _problem(path, data) == _as_written("changes[0].kind: no update of kind 'license'")
    del change["action"]
    assert _problem(path, data) == _as_written("changes[0].action: unknown action None")


def test_a_missing_kind_or_key(plan_file):
    path, data = plan_file
    del data["changes"][2]["key"]
    assert _problem(path, data) == _as_written("changes[2].key must be text, not null")
    del data["changes"][2]["kind"]
    assert _problem(path, data) == _as_written("changes[2].kind: no create of kind None")


def test_a_field_s_shape_before_its_values_and_in_order(plan_file):
    path, data = plan_file
    fields = data["changes"][0]["fields"]
    fields["aliases"] = {"old": [1], "new": {}}
    assert _problem(path, data) == _as_written(
        "changes[0].fields.aliases.old must be text, a number, a boolean, null or a list of text"
    )
    fields["given_name"] = {"old": {}, "other": 1}
    assert _problem(path, data) == _as_written(
        "changes[0].fields.given_name must be an object with old and new"
    )


def test_long_values_are_cut_short(plan_file):
    path, data = plan_file
    data["changes"][0]["action"] = "x" * 500
    wrong = _problem(path, data).removeprefix("not a plan as `reconciler plan --out` writes it: ")
    assert wrong.startswith("changes[0].action: unknown action 'xxx")
    assert len(wrong.split(". Make a new one")[0]) == len("changes[0]") + 200
