"""The lifecycle scenarios, each a function of a `Target` (target.py) that drives the real
CLI: write the YAML, plan, check the plan's changes, apply exactly that plan (after the guard
checked it), plan again for "No changes.", and read the tenant back through the project's own
client. test_emulator.py runs every one against the emulator, test_google.py against a test
tenant: one set of expectations for both."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .target import Target

Heads = list[tuple[str, str]]


def heads(plan: dict[str, Any]) -> Heads:
    return sorted((c["action"], c["key"]) for c in plan["changes"])


def converge(t: Target, root: Path, expected: Heads) -> dict[str, Any]:
    """Plan (the changes must be `expected`), apply that plan, and find nothing left."""
    plan = t.plan(root)
    assert heads(plan) == sorted(expected), plan["changes"]
    t.apply(root)
    t.no_changes(root)
    return plan


def user_entry(
    t: Target, email: str, given: str = "Live", family: str = "Test", **more: str
) -> str:
    lines = [f"  - email: {email}", f"    given_name: {given}", f"    family_name: {family}"]
    lines.append(f"    org_unit: {t.org_unit}")
    lines += [f"    {name}: {value}" for name, value in more.items()]
    return "\n".join(lines) + "\n"


def users(t: Target, *entries: str, bound: tuple[str, ...] = ()) -> str:
    text = "users:\n" + "".join(entries)
    if bound:
        text += "bindings:\n" + "".join(f"  - user: {email}\n" for email in bound)
    return text


def marker_of(account: dict[str, Any]) -> str | None:
    return (account.get("customSchemas") or {}).get("Reconciler", {}).get("ownershipId")


# -- the scenarios --------------------------------------------------------------------------


def create_user(t: Target) -> None:
    ada = t.addr("ada")
    root = t.state(users(t, user_entry(t, ada, "Ada", "Lovelace"), bound=(ada,)))
    converge(t, root, [("create", ada)])
    account = t.user(ada)
    assert account is not None
    assert account["name"]["givenName"] == "Ada" and account["name"]["familyName"] == "Lovelace"
    assert account["orgUnitPath"].lower() == t.org_unit.lower()
    assert account["suspended"] is False
    assert marker_of(account) == f"live/{t.prefix.rstrip('-')}"


def adopt_user(t: Target) -> None:
    bo = t.addr("bo")
    t.insert_user(bo, "Bo", "Adopted")
    assert marker_of(t.user(bo) or {}) is None
    root = t.state(users(t, user_entry(t, bo, "Bo", "Adopted"), bound=(bo,)))
    converge(t, root, [("adopt", bo)])
    assert marker_of(t.user(bo) or {}) == f"live/{t.prefix.rstrip('-')}"


def rename_user(t: Target) -> None:
    old, new = t.addr("cy-old"), t.addr("cy-new")
    root = t.state(users(t, user_entry(t, old, "Cy", "Renamed"), bound=(old,)))
    converge(t, root, [("create", old)])
    renamed = user_entry(t, new, "Cy", "Renamed", previous_emails=f"[{old}]")
    t.rewrite(root, users(t, renamed, bound=(new,)))
    converge(t, root, [("rename", new)])
    account = t.user(new)
    assert account is not None and account["primaryEmail"].lower() == new


def group_entry(t: Target, email: str, members: list[str], **more: str) -> str:
    lines = [f"  - name: {email.split('@')[0]}", f"    email: {email}"]
    lines.append(f"    members: [{', '.join(members)}]")
    lines += [f"    {name}: {value}" for name, value in more.items()]
    return "\n".join(lines) + "\n"


def membership(t: Target) -> None:
    di, ed, team = t.addr("di"), t.addr("ed"), t.addr("team")
    people = user_entry(t, di, "Di") + user_entry(t, ed, "Ed")
    root = t.state(users(t, people, bound=(di, ed)) + "groups:\n" + group_entry(t, team, [di]))
    converge(
        t, root, [("create", di), ("create", ed), ("create", team), ("add_member", f"{team}/{di}")]
    )
    assert t.members(team) == {di: "MEMBER"}
    t.rewrite(root, users(t, people, bound=(di, ed)) + "groups:\n" + group_entry(t, team, [ed]))
    converge(t, root, [("add_member", f"{team}/{ed}"), ("remove_member", f"{team}/{di}")])
    assert t.members(team) == {ed: "MEMBER"}


def suspend_unsuspend(t: Target) -> None:
    fay = t.addr("fay")
    root = t.state(users(t, user_entry(t, fay, "Fay"), bound=(fay,)))
    converge(t, root, [("create", fay)])
    t.rewrite(root, users(t, user_entry(t, fay, "Fay")))  # no longer bound
    converge(t, root, [("suspend", fay)])
    assert (t.user(fay) or {})["suspended"] is True
    t.rewrite(root, users(t, user_entry(t, fay, "Fay"), bound=(fay,)))
    converge(t, root, [("unsuspend", fay)])
    assert (t.user(fay) or {})["suspended"] is False


def rename_group(t: Target) -> None:
    old, new, jan = t.addr("crew-old"), t.addr("crew-new"), t.addr("jan")
    people = users(t, user_entry(t, jan, "Jan"), bound=(jan,))
    first = group_entry(t, old, [jan]).replace("crew-old", "crew", 1)
    root = t.state(people + "groups:\n" + first)
    converge(t, root, [("create", jan), ("create", old), ("add_member", f"{old}/{jan}")])
    entry = group_entry(t, new, [jan], previous_emails=f"[{old}]").replace("crew-new", "crew", 1)
    t.rewrite(root, people + "groups:\n" + entry)
    converge(t, root, [("rename", new)])
    group = t.group(new)
    assert group is not None and group["email"].lower() == new


OFFBOARDING = "offboarding:\n  sign_out: true\n  revoke_tokens: true\n  transfer_to: {to}\n"


def offboarding(t: Target) -> None:
    gil, hal = t.addr("gil"), t.addr("hal")
    people = user_entry(t, gil, "Gil") + user_entry(t, hal, "Hal")
    ws = OFFBOARDING.format(to=hal)
    root = t.state(users(t, people, bound=(gil, hal)), ws)
    converge(t, root, [("create", gil), ("create", hal)])
    leaving = user_entry(t, gil, "Gil", state="suspended") + user_entry(t, hal, "Hal")
    t.rewrite(root, users(t, leaving, bound=(gil, hal)), ws)
    plan = converge(t, root, [("suspend", gil), ("sign_out", gil), ("transfer_data", gil)])
    transfer = next(c for c in plan["changes"] if c["action"] == "transfer_data")
    assert transfer["fields"]["to"]["new"] == hal
    account = t.user(gil) or {}
    assert account["suspended"] is True


def license_change(t: Target) -> None:
    if t.license_sku is None:
        pytest.skip("RECONCILER_LIVE_LICENSE_SKU names no SKU to assign and revoke")
    ida = t.addr("ida")
    ws = "licenses:\n  product: Google-Apps\n  default: none\n"
    root = t.state(
        users(t, user_entry(t, ida, "Ida", license=f'"{t.license_sku}"'), bound=(ida,)), ws
    )
    converge(t, root, [("create", ida), ("assign_license", ida)])
    assert t.license(ida) == t.license_sku
    t.rewrite(root, users(t, user_entry(t, ida, "Ida", license="none"), bound=(ida,)), ws)
    converge(t, root, [("revoke_license", ida)])
    assert t.license(ida) is None


def group_settings(t: Target) -> None:
    desk, kit = t.addr("desk"), t.addr("kit")
    people = users(t, user_entry(t, kit, "Kit"), bound=(kit,))
    ws = "group_settings:\n  who_can_join: INVITED_CAN_JOIN\n"
    root = t.state(people + "groups:\n" + group_entry(t, desk, [kit]), ws)
    converge(
        t,
        root,
        [("create", kit), ("create", desk), ("add_member", f"{desk}/{kit}"), ("update", desk)],
    )
    assert t.settings(desk)["whoCanJoin"] == "INVITED_CAN_JOIN"
    own = group_entry(t, desk, [kit], settings="{who_can_post_message: ALL_MEMBERS_CAN_POST}")
    t.rewrite(root, people + "groups:\n" + own, ws)
    converge(t, root, [("update", desk)])
    held = t.settings(desk)
    assert held["whoCanPostMessage"] == "ALL_MEMBERS_CAN_POST"
    assert held["whoCanJoin"] == "INVITED_CAN_JOIN"


SCENARIOS: dict[str, Callable[[Target], None]] = {
    f.__name__: f
    for f in (
        create_user,
        adopt_user,
        rename_user,
        membership,
        suspend_unsuspend,
        rename_group,
        offboarding,
        license_change,
        group_settings,
    )
}
