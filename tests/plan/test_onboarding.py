"""The sign-in messages of new accounts in the plan (workspace.yaml's `onboarding:`,
plan/diff_onboarding.py) and the rule `onboarding` (desired/checks.py): who is notified
(the manager by default, the recovery email when chosen, nobody under SSO, a user's own
choice over workspace.yaml's), how it reads, and the located errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import WORKSPACE, write_state

from reconciler.desired import load_desired
from reconciler.plan.diff import make_plan
from reconciler.plan.kinds import change_from_json
from reconciler.plan.render import render_text
from reconciler.problems import InvalidInput
from reconciler.state import State

BLOCK = "onboarding:\n  from: it@example.com\n"
BOSS = (
    "  - email: boss@example.com\n    given_name: Bo\n    family_name: Boss\n"
    "    onboarding: {notify: none}\n"
)


def people(*extra: str) -> str:
    return (
        "users:\n" + BOSS + "  - email: ann@example.com\n    given_name: Ann\n"
        "    family_name: Lee\n    manager: boss@example.com\n"
        "    recovery_email: ann.lee@gmail.com\n" + "".join(extra)
    )


BINDINGS = "bindings:\n  - user: boss@example.com\n  - user: ann@example.com\n"


def plan_of(tmp_path: Path, block: str = BLOCK, users: str | None = None, files=None):
    root = write_state(
        tmp_path / "state",
        {
            "workspace.yaml": WORKSPACE + block,
            "users.yaml": users or people(),
            "bindings.yaml": BINDINGS,
            **(files or {}),
        },
    )
    desired = load_desired(root)
    return make_plan(desired.state, State(), desired.workspace)


def notes(plan) -> list[tuple[str, str, str]]:
    return [
        (c.key, c.fields["via"].new, c.fields["recipient"].new)
        for c in plan.changes
        if c.action == "notify"
    ]


def test_a_new_account_notifies_its_manager_by_default_after_its_create(tmp_path):
    plan = plan_of(tmp_path)
    assert notes(plan) == [("ann@example.com", "manager", "boss@example.com")]
    actions = [(c.action, c.key) for c in plan.changes if c.kind == "user"]
    assert actions.index(("create", "ann@example.com")) < actions.index(
        ("notify", "ann@example.com")
    )
    [notify] = [c for c in plan.changes if c.action == "notify"]
    assert notify.needs() == ["ann@example.com"]  # skipped when the create fails
    text = render_text(plan)
    assert (
        "  + notify manager boss@example.com of ann@example.com's sign-in details\n"
        "      # users.yaml:6\n"
    ) in text
    assert ", 1 to notify." in text
    record = notify.to_json()
    assert record["fields"] == {
        "recipient": {"old": None, "new": "boss@example.com"},
        "via": {"old": None, "new": "manager"},
    }
    assert change_from_json(record) == notify
    assert plan.summary()["notify"] == 1


def test_without_an_onboarding_block_nobody_is_notified_and_the_summary_says_nothing(tmp_path):
    plan = plan_of(
        tmp_path, block="", users=people().replace("    onboarding: {notify: none}\n", "")
    )
    assert notes(plan) == []
    assert "to notify" not in render_text(plan)


def test_recovery_email_when_chosen_and_none_for_sso(tmp_path):
    block = "onboarding:\n  notify: recovery_email\n  from: it@example.com\n"
    assert notes(plan_of(tmp_path / "a", block)) == [
        ("ann@example.com", "recovery_email", "ann.lee@gmail.com")
    ]
    text = render_text(plan_of(tmp_path / "a", block))
    assert "notify recovery email ann.lee@gmail.com of ann@example.com's sign-in details" in text
    assert notes(plan_of(tmp_path / "b", "onboarding:\n  notify: none\n")) == []


def test_a_users_own_choice_wins_over_workspace_yamls(tmp_path):
    own = people().replace(
        "    recovery_email: ann.lee@gmail.com\n",
        "    recovery_email: ann.lee@gmail.com\n    onboarding: {notify: recovery_email}\n",
    )
    assert notes(plan_of(tmp_path / "a", users=own)) == [
        ("ann@example.com", "recovery_email", "ann.lee@gmail.com")
    ]
    sso = people().replace(
        "    recovery_email: ann.lee@gmail.com\n",
        "    recovery_email: ann.lee@gmail.com\n    onboarding: {notify: none}\n",
    )
    assert notes(plan_of(tmp_path / "b", users=sso)) == []
    # workspace.yaml says none, the user asks for its manager.
    block = "onboarding:\n  notify: none\n  from: it@example.com\n"
    mine = people().replace(
        "    recovery_email: ann.lee@gmail.com\n",
        "    recovery_email: ann.lee@gmail.com\n    onboarding: {notify: manager}\n",
    )
    assert notes(plan_of(tmp_path / "c", block, users=mine)) == [
        ("ann@example.com", "manager", "boss@example.com")
    ]


def test_an_existing_account_needs_no_recipient(tmp_path):
    # The boss says nothing of its own here: it exists, so it is never notified of.
    users = people().replace("    onboarding: {notify: none}\n", "")
    root = write_state(
        tmp_path / "state",
        {"workspace.yaml": WORKSPACE + BLOCK, "users.yaml": users, "bindings.yaml": BINDINGS},
    )
    desired = load_desired(root)
    from reconciler.state import User

    actual = State()
    actual.users["boss@example.com"] = User(
        "boss@example.com", given_name="Bo", family_name="Boss", owner="acme/identity"
    )
    plan = make_plan(desired.state, actual, desired.workspace)
    assert notes(plan) == [("ann@example.com", "manager", "boss@example.com")]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            ("    manager: boss@example.com\n", ""),
            "users.yaml:6: user ann@example.com is to be created and onboarding.notify is "
            "manager, but it has no `manager:` to send its sign-in details to: set one, or "
            "`onboarding: {notify: none}` (e.g. for SSO)",
        ),
        (
            ("    recovery_email: ann.lee@gmail.com\n", ""),
            "users.yaml:6: user ann@example.com is to be created and onboarding.notify is "
            "recovery_email, but it has no `recovery_email:`",
        ),
    ],
)
def test_a_new_account_without_its_recipient_stops_the_plan_at_its_line(tmp_path, change, said):
    block = BLOCK
    if "recovery" in said:
        block = "onboarding:\n  notify: recovery_email\n  from: it@example.com\n"
    with pytest.raises(InvalidInput) as refused:
        plan_of(tmp_path, block, users=people().replace(*change))
    [problem] = refused.value.problems
    assert problem.rule == "onboarding"
    assert said in problem.render()


def invalid(tmp_path: Path, block: str, users: str | None = None, files=None) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        plan_of(tmp_path, block, users, files)
    # The checks name the file by its path; the part inside the state directory is enough.
    return [p.render().rpartition("/state/")[2] for p in refused.value.problems]


def test_a_template_with_an_unknown_placeholder_is_named_at_workspace_yamls_line(tmp_path):
    block = BLOCK + "  template: welcome.txt\n"
    text = "Hi {name},\n{{literal}} braces\nYour password: {pasword}\n"
    [said] = invalid(tmp_path, block, files={"welcome.txt": text})
    assert said == (
        "workspace.yaml:9: onboarding.template: welcome.txt, line 3: unknown placeholder "
        "{pasword}; known: {name}, {email}, {password}, {sign_in_url}"
    )


def test_a_template_that_is_missing_or_outside_or_has_a_lone_brace(tmp_path):
    [missing] = invalid(tmp_path / "a", BLOCK + "  template: nope.txt\n")
    assert missing == "workspace.yaml:9: onboarding.template: 'nope.txt' does not exist"
    [outside] = invalid(tmp_path / "b", BLOCK + "  template: ../x.txt\n")
    assert "must stay inside the state directory" in outside
    [lone] = invalid(tmp_path / "c", BLOCK + "  template: t.txt\n", files={"t.txt": "a } b\n"})
    assert "line 1: a lone { or }" in lone


def test_from_must_be_on_a_domain_of_the_directory_and_is_required(tmp_path):
    [outside] = invalid(tmp_path / "a", "onboarding:\n  from: it@elsewhere.com\n")
    assert outside.startswith(
        "workspace.yaml:8: onboarding.from: 'it@elsewhere.com' is not on a domain of "
        "directory.domains (example.com)"
    )
    [missing] = invalid(tmp_path / "b", "onboarding:\n  notify: manager\n")
    assert "`from` is required" in missing


def test_a_users_own_choice_needs_the_block_and_what_it_chooses(tmp_path):
    [no_block] = invalid(tmp_path / "a", "")
    assert no_block.startswith("users.yaml:5: onboarding: a user's own `notify` needs")
    chosen = people().replace(
        "    recovery_email: ann.lee@gmail.com\n", "    onboarding: {notify: recovery_email}\n"
    )
    [no_address] = invalid(tmp_path / "b", BLOCK, users=chosen)
    assert no_address.startswith(
        "users.yaml:10: onboarding.notify: recovery_email, but user ann@example.com has no "
        "`recovery_email:`"
    )


def with_accounts(tmp_path: Path, **pending: str | None):
    """The plan of the usual directory against a tenant holding boss and ann, ann's marker
    saying what `pending` says of her (owner: ours unless `owner` is given)."""
    from reconciler.state import User

    root = write_state(
        tmp_path / "state",
        {"workspace.yaml": WORKSPACE + BLOCK, "users.yaml": people(), "bindings.yaml": BINDINGS},
    )
    desired = load_desired(root)
    actual = State()
    owner = pending.pop("owner", "acme/identity")
    for email, given, family in (
        ("boss@example.com", "Bo", "Boss"),
        ("ann@example.com", "Ann", "Lee"),
    ):
        actual.users[email] = User(
            email,
            given_name=given,
            family_name=family,
            owner="acme/identity" if email.startswith("boss") else owner,
            manager="boss@example.com" if email.startswith("ann") else None,
            recovery_email="ann.lee@gmail.com" if email.startswith("ann") else None,
            onboarding_pending=pending.get("ann") if email.startswith("ann") else None,
        )
    return make_plan(desired.state, actual, desired.workspace)


def test_a_message_an_earlier_apply_did_not_send_resets_the_password_and_sends_it(tmp_path):
    plan = with_accounts(tmp_path / "a", ann="manager")
    [notify] = [c for c in plan.changes if c.kind == "user"]
    assert (notify.action, notify.key) == ("notify", "ann@example.com")
    assert notify.fields["reset"].new is True
    assert notify.describe() == (
        "reset the password of ann@example.com and notify manager boss@example.com of "
        "ann@example.com's sign-in details (its sign-in message was not sent)"
    )
    assert change_from_json(notify.to_json()) == notify
    # None waits, or the account is another repository's: nothing to send.
    assert [c for c in with_accounts(tmp_path / "b").changes if c.kind == "user"] == []
    theirs = with_accounts(tmp_path / "c", ann="manager", owner="someone/else")
    assert "notify" not in {c.action for c in theirs.changes}
