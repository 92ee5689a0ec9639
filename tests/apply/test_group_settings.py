"""Group settings end to end, through the CLI against the emulator's Groups Settings API
(README, "Group settings").

The example's workspace.yaml sets who may join, post and see the members of every exported
group, and that outsiders may not be members; audit@ (with its external auditor) allows
them and lets the whole domain post. In tenant.yaml every group matches but sales@, which
lets anyone on the internet post.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.google import client as client_module

from .support import Tenant, assert_no_changes_left, edit, heads, plan_json
from .test_offboarding_reads import inject


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


def test_a_new_group_whose_settings_fail_gets_no_members(
    state_dir: Path, emulator, cli, monkeypatch
):
    """platform@ is created by the plan; its settings write fails: its members are not
    added under Google's defaults, and the next apply finishes the job."""
    # The product's retry policy with its waits cut twenty-fold (the write fails each try).
    policy = client_module.RetryPolicy
    monkeypatch.setattr(client_module, "RetryPolicy", lambda: policy(base_s=0.05, cap_s=1.6))
    tenant = emulator()
    refused = []

    def refuse(method, path, body):
        hit = method == "PATCH" and path.endswith("platform@example.com")
        if hit:
            refused.append(path)
        return hit

    inject(tenant, refuse, "backend_error")
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 1 and refused
    assert "failed: update the settings of group platform@example.com" in run.err
    assert "skipped: add kenji.watanabe@example.com to platform@example.com" in run.err
    group = next(g for g in tenant.snapshot()["groups"] if g["email"] == "platform@example.com")
    assert group.get("members", []) == []
    del tenant.server.api.call  # the fault is gone
    assert cli("apply", state_dir, "--auto-approve").code == 0
    assert_no_changes_left(cli, state_dir)


def test_archive_only_alone_archives_the_group(state_dir: Path, emulator, cli):
    """Git accepts `archive_only: true` without a post permission; Google then sets the post
    permission to NONE_CAN_POST (the discovery document), so apply works, the group takes no
    posts, and the next plan is empty."""
    tenant = emulator()
    edit(
        state_dir / "groups" / "finance.yaml",
        "      allow_external_members: true\n",
        "      allow_external_members: true\n      archive_only: true\n",
    )
    edit(
        state_dir / "groups" / "finance.yaml",
        "      who_can_post_message: ALL_IN_DOMAIN_CAN_POST\n",
        "",
    )
    ws = state_dir / "workspace.yaml"
    ws.write_text(ws.read_text().replace("  who_can_post_message: ALL_MEMBERS_CAN_POST\n", ""))
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.text
    held = settings_of(tenant, "audit@example.com")
    assert held["archiveOnly"] == "true" and held["whoCanPostMessage"] == "NONE_CAN_POST"
    assert_no_changes_left(cli, state_dir)
