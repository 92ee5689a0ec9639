"""Group settings end to end, through the CLI against the emulator's Groups Settings API
(README, "Group settings").

The example's workspace.yaml sets who may join, post and see the members of every exported
group, and that outsiders may not be members; audit@ (with its external auditor) allows
them and lets the whole domain post. In tenant.yaml every group matches but sales@, which
lets anyone on the internet post.
"""

from __future__ import annotations

from pathlib import Path

from .support import Tenant, assert_no_changes_left, edit, heads, plan_json


def settings_of(tenant: Tenant, email: str) -> dict[str, str]:
    """The settings a group holds that differ from Google's defaults (the emulator's saved
    state keeps only those)."""
    group = next(g for g in tenant.snapshot()["groups"] if g["email"] == email)
    return group.get("settings", {})


def test_the_plan_shows_the_settings_that_differ_and_apply_makes_them_so(
    state_dir: Path, emulator, cli
):
    tenant = emulator()
    plan = plan_json(cli, state_dir)
    changes = {c["key"]: c for c in plan["changes"] if c["kind"] == "group_settings"}
    assert sorted(changes) == ["platform@example.com", "sales@example.com"]
    assert changes["sales@example.com"]["action"] == "update"
    assert changes["sales@example.com"]["fields"] == {
        "who_can_post_message": {"old": "ANYONE_CAN_POST", "new": "ALL_MEMBERS_CAN_POST"}
    }
    # The group the plan creates gets every declared setting, after it exists.
    assert set(changes["platform@example.com"]["fields"]) == {
        "who_can_join",
        "who_can_post_message",
        "who_can_view_membership",
        "allow_external_members",
    }
    order = heads(plan)
    assert order.index(("create", "platform@example.com")) < order.index(
        ("update", "platform@example.com")
    )
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.text
    assert settings_of(tenant, "sales@example.com")["whoCanPostMessage"] == "ALL_MEMBERS_CAN_POST"
    platform = settings_of(tenant, "platform@example.com")
    assert platform["whoCanJoin"] == "INVITED_CAN_JOIN"
    assert platform["whoCanPostMessage"] == "ALL_MEMBERS_CAN_POST"
    # audit@'s own settings stand over the defaults: outsiders stay allowed.
    assert settings_of(tenant, "audit@example.com")["allowExternalMembers"] == "true"
    assert_no_changes_left(cli, state_dir)


def test_a_setting_changed_in_google_is_set_back_and_others_are_left_alone(
    state_dir: Path, emulator, cli
):
    tenant = emulator()
    assert cli("apply", state_dir, "--auto-approve").code == 0
    status, _ = tenant.request(
        "PATCH",
        "/groups/v1/groups/finance@example.com?alt=json",
        {"whoCanJoin": "ANYONE_CAN_JOIN", "replyTo": "REPLY_TO_SENDER"},
    )
    assert status == 200
    plan = plan_json(cli, state_dir)
    assert [c["fields"] for c in plan["changes"]] == [
        {"who_can_join": {"old": "ANYONE_CAN_JOIN", "new": "INVITED_CAN_JOIN"}}
    ]
    assert cli("apply", state_dir, "--auto-approve").code == 0
    held = settings_of(tenant, "finance@example.com")
    assert held["whoCanJoin"] == "INVITED_CAN_JOIN"
    assert held["replyTo"] == "REPLY_TO_SENDER"  # not Git's: as Google has it
    assert_no_changes_left(cli, state_dir)


def test_without_settings_in_git_none_are_read_or_changed(state_dir: Path, emulator, cli):
    tenant = emulator()
    ws = state_dir / "workspace.yaml"
    text = ws.read_text()
    start = text.index("group_settings:\n")
    ws.write_text(text[:start] + text[text.index("\n\n", start) + 2 :])
    edit(
        state_dir / "groups" / "finance.yaml",
        "    settings:\n      who_can_post_message: ALL_IN_DOMAIN_CAN_POST\n"
        "      allow_external_members: true\n",
        "",
    )
    assert cli("apply", state_dir, "--auto-approve").code == 0
    calls = {m for m in tenant.stats()["by_method"] if m.startswith("groupsSettings.")}
    assert calls == set()
    # sales@ still lets anyone post: Google's default for an API group, so not saved apart.
    assert "whoCanPostMessage" not in settings_of(tenant, "sales@example.com")
