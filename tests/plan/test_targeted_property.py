"""The property of targeted plans (`plan --changed-since REF`): for any tenant and any Git
change, the targeted plan's changes (and refused changes) are exactly the full plan's that
are about its final scope (`touches(change, scope)`, the scope as the read widened it).

Generated: a small state directory (users active, suspended, staged or deleted, some with a
manager, some renamed from an old address or with aliases; exported groups, nested ones, a
user group without email, an additive one; bindings of users and groups; sometimes
`remove_from_groups`, `transfer_to: none` and a protected account), a tenant for it
(accounts ours, unmarked or another repository's, at Git's address, at an old one, holding
a Git user's alias, orphans; accounts deleted and still restorable, some of whose aliases
another account holds now; groups ours or not, with members that are accounts, groups, an
outsider and an address with no account), committed to a fresh Git
repository, then changed in the working tree (titles, users added, removed or renamed,
members, bindings, states, groups renamed or made additive; several at once, or none).
Both plans read the same embedded tenant, read-only.

Then the cases the widening exists for, by hand: each plan equal, and the scope widened.

RECONCILER_PROPERTY_EXAMPLES raises the number of generated examples (CI: a few dozen)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reconciler.google.client import ENDPOINT_ENV

from .targeted_tree import (
    EXTERNAL,
    GHOST,
    OURS,
    THEIRS,
    Compared,
    Tenant,
    Tree,
    account,
    commit_then_change,
    compare,
    deleted,
    google_group,
    group,
    member,
    user,
)

# Locally, RECONCILER_PROPERTY_EXAMPLES=500 runs more examples, each run new ones; in CI the
# same 60 every time.
EXAMPLES = int(os.environ.get("RECONCILER_PROPERTY_EXAMPLES", "60"))
DERANDOMIZE = "RECONCILER_PROPERTY_EXAMPLES" not in os.environ
TITLES = ["Engineer", "Manager", "Analyst"]
STATES = ["active", "active", "active", "suspended", "staged", "deleted"]
MARKERS = [OURS, OURS, None, THEIRS]


@pytest.fixture(autouse=True)
def _embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plans open the embedded emulator of the directory, never one the environment names."""
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)


def check(root: Path) -> Compared:
    compared = compare(root)
    if compared.scope is None:
        assert compared.why_full, "a full plan says why"
        return compared
    assert compared.equal, compared.explain()
    return compared


# -- generation ------------------------------------------------------------------------------


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    tree = Tree()
    for i in range(draw(st.integers(1, 8))):
        extra: dict[str, Any] = {}
        state = draw(st.sampled_from(STATES))
        if state != "active":
            extra["state"] = state
        if draw(st.integers(0, 3)) == 0:
            extra["previous_emails"] = [f"old{i}@example.com"]
        aliases = draw(st.sampled_from([None, None, [f"a{i}@example.com"], []]))
        if aliases is not None:
            extra["aliases"] = aliases
        if i and draw(st.integers(0, 2)) == 0:
            # A manager: where offboarding's transfer_to: manager sends the data.
            extra["manager"] = f"u{draw(st.integers(0, i - 1))}@example.com"
        email = f"u{i}@example.com"
        tree.users[email] = user(email, title=draw(st.sampled_from(TITLES)), **extra)
    emails = sorted(tree.users)
    count = draw(st.integers(1, 4))
    for j in range(count):
        name = f"g{j}"
        exported = j == 0 or draw(st.integers(0, 3)) > 0
        members = draw(st.lists(st.sampled_from(emails), unique=True, max_size=5))
        nested = draw(st.lists(st.sampled_from([f"g{k}" for k in range(j + 1, count)] or [""])))
        members += sorted({n for n in nested if n})
        more: dict[str, Any] = {}
        if exported:
            if draw(st.integers(0, 3)) == 0:
                members.append(EXTERNAL)
            if draw(st.integers(0, 3)) == 0:
                more["membership"] = "additive"
            if draw(st.integers(0, 3)) == 0:
                more["aliases"] = [f"{name}.alias@example.com"]
            owner = draw(st.sampled_from([None, *emails]))
            if owner is not None and owner not in members:
                more["owners"] = [owner]
        tree.groups[name] = group(
            name, f"{name}@example.com" if exported else None, members, **more
        )
    # Most users bound (an unbound user without an account plans nothing).
    tree.bound_users = [e for e in emails if draw(st.integers(0, 2)) > 0]
    tree.bound_groups = draw(
        st.lists(st.sampled_from(sorted(tree.groups)), unique=True, max_size=2)
    )
    tree.remove_from_groups = draw(st.booleans())
    # Not `manager`: an orphan has none, and the full plan itself stops on that.
    tree.transfer_to = draw(st.sampled_from([None, "none"]))
    return tree


@st.composite
def tenants(draw: st.DrawFn, tree: Tree) -> Tenant:
    tenant = Tenant(users=[account("admin@example.com", marker=None, admin=True)])
    taken = {"admin@example.com"}

    def add(entry: dict[str, Any]) -> None:
        addresses = [entry["primaryEmail"], *entry.get("aliases", [])]
        if not taken.intersection(addresses):
            taken.update(addresses)
            tenant.users.append(entry)

    for email, entry in sorted(tree.users.items()):
        where = draw(st.sampled_from(["none", "email", "email", "old", "alias"]))
        local = email.split("@")[0]
        kw = {
            "marker": draw(st.sampled_from(MARKERS)),
            "suspended": draw(st.integers(0, 3)) == 0,
            "title": draw(st.sampled_from(TITLES)),
        }
        if where == "email":
            add(account(email, **kw))
        elif where == "old" and entry.get("previous_emails"):
            add(account(entry["previous_emails"][0], **kw))
        elif where == "alias":  # a hand-made account holding Git's address as an alias
            add(account(f"x{local}@example.com", aliases=[email], **kw))
        elif where == "none" and draw(st.booleans()):
            # Deleted, restorable: restored if its addresses are free, else a new account.
            tenant.deleted.append(deleted(email, aliases=[f"d{local}@example.com"]))
            if draw(st.booleans()):
                add(
                    account(
                        f"y{local}@example.com", marker=THEIRS, aliases=[f"d{local}@example.com"]
                    )
                )
    # Orphans (Git names them nowhere), some holding a Git user's alias.
    wanted_aliases = [a for u in tree.users.values() for a in u.get("aliases") or []]
    for k in range(draw(st.integers(0, 2))):
        aliases = (
            draw(st.lists(st.sampled_from(wanted_aliases), max_size=1)) if wanted_aliases else []
        )
        add(
            account(
                f"orphan{k}@example.com",
                marker=draw(st.sampled_from(MARKERS)),
                suspended=draw(st.booleans()),
                aliases=aliases,
            )
        )
    held = [u["primaryEmail"] for u in tenant.users]
    group_emails: list[str] = []
    for entry in tree.groups.values():
        if "email" in entry and draw(st.integers(0, 3)) > 0:
            # At Git's address, or (a hand-made group) at its alias.
            group_emails.append(draw(st.sampled_from([entry["email"], *entry.get("aliases", [])])))
    if draw(st.booleans()):
        group_emails.append("orphan-group@example.com")
    for index, email in enumerate(group_emails):
        people = draw(st.lists(st.sampled_from(held), unique=True, max_size=5))
        members = [
            member(p, role=draw(st.sampled_from(["MEMBER", "MEMBER", "OWNER"]))) for p in people
        ]
        members += [
            member(g, "GROUP")
            for g in draw(st.lists(st.sampled_from(group_emails[index + 1 :] or [""]), unique=True))
            if g
        ]
        if draw(st.integers(0, 3)) == 0:
            members.append(member(EXTERNAL, "EXTERNAL"))
        if draw(st.integers(0, 3)) == 0:
            members.append(member(GHOST))
        tenant.groups.append(google_group(email, members, marker=draw(st.sampled_from(MARKERS))))
    protected = draw(st.sampled_from([None, None, *held]))
    if protected is not None:
        tree.protected = [protected]
    return tenant


# -- changes -----------------------------------------------------------------------------------


def _drop_references(tree: Tree, email: str, new: str | None = None) -> None:
    for entry in tree.groups.values():
        for role in ("members", "owners"):
            if email in entry.get(role, []):
                entry[role] = [new if m == email else m for m in entry[role] if new or m != email]
    if email in tree.bound_users:
        tree.bound_users = [new if u == email else u for u in tree.bound_users if new or u != email]
    for entry in tree.users.values():
        if entry.get("manager") == email:
            if new:
                entry["manager"] = new
            else:
                del entry["manager"]


def edit_title(tree: Tree, draw: st.DrawFn) -> None:
    email = draw(st.sampled_from(sorted(tree.users)))
    tree.users[email]["title"] = draw(st.sampled_from(["Director", *TITLES]))


def remove_user(tree: Tree, draw: st.DrawFn) -> None:
    email = draw(st.sampled_from(sorted(tree.users)))
    del tree.users[email]
    _drop_references(tree, email)


def add_user(tree: Tree, draw: st.DrawFn) -> None:
    email = f"new{len(tree.users)}@example.com"
    if email in tree.users:
        return
    extra: dict[str, Any] = {}
    # Sometimes it takes over an orphan or an old address.
    old = draw(st.sampled_from([None, None, "orphan0@example.com", "old0@example.com"]))
    if old is not None and not any(
        old in u.get("previous_emails", []) for u in tree.users.values()
    ):
        extra["previous_emails"] = [old]
    tree.users[email] = user(email, state=draw(st.sampled_from(STATES)), **extra)
    if draw(st.booleans()):
        tree.bound_users.append(email)
    else:
        name = draw(st.sampled_from(sorted(tree.groups)))
        tree.groups[name]["members"].append(email)


def add_member(tree: Tree, draw: st.DrawFn) -> None:
    name = draw(st.sampled_from(sorted(tree.groups)))
    entry = tree.groups[name]
    choices = [
        u
        for u in sorted(tree.users)
        if u not in entry["members"] and u not in entry.get("owners", [])
    ]
    if choices:
        entry["members"].append(draw(st.sampled_from(choices)))


def remove_member(tree: Tree, draw: st.DrawFn) -> None:
    name = draw(st.sampled_from(sorted(tree.groups)))
    entry = tree.groups[name]
    if entry["members"]:
        entry["members"].remove(draw(st.sampled_from(entry["members"])))


def rename_user(tree: Tree, draw: st.DrawFn) -> None:
    email = draw(st.sampled_from(sorted(tree.users)))
    new = email.replace("@", ".r@")
    entry = tree.users.pop(email)
    entry["email"] = new
    entry["previous_emails"] = [*entry.get("previous_emails", []), email]
    tree.users[new] = entry
    _drop_references(tree, email, new)


def toggle_binding(tree: Tree, draw: st.DrawFn) -> None:
    if draw(st.booleans()):
        email = draw(st.sampled_from(sorted(tree.users)))
        if email in tree.bound_users:
            tree.bound_users.remove(email)
        else:
            tree.bound_users.append(email)
    else:
        name = draw(st.sampled_from(sorted(tree.groups)))
        if name in tree.bound_groups:
            tree.bound_groups.remove(name)
        else:
            tree.bound_groups.append(name)


def change_state(tree: Tree, draw: st.DrawFn) -> None:
    email = draw(st.sampled_from(sorted(tree.users)))
    state = draw(st.sampled_from(["active", "suspended", "staged", "deleted"]))
    tree.users[email].pop("state", None)
    if state != "active":
        tree.users[email]["state"] = state


def rename_group(tree: Tree, draw: st.DrawFn) -> None:
    exported = sorted(n for n, g in tree.groups.items() if "email" in g)
    name = draw(st.sampled_from(exported))
    entry = tree.groups[name]
    old = entry["email"]
    entry["email"] = old.replace("@", ".r@")
    entry["previous_emails"] = [*entry.get("previous_emails", []), old]


def toggle_additive(tree: Tree, draw: st.DrawFn) -> None:
    exported = sorted(n for n, g in tree.groups.items() if "email" in g)
    entry = tree.groups[draw(st.sampled_from(exported))]
    if entry.pop("membership", None) is None:
        entry["membership"] = "additive"


MUTATIONS: list[Callable[[Tree, st.DrawFn], None]] = [
    edit_title,
    remove_user,
    add_user,
    add_member,
    remove_member,
    rename_user,
    toggle_binding,
    change_state,
    rename_group,
    toggle_additive,
]


@st.composite
def changed(draw: st.DrawFn, tree: Tree) -> Tree:
    after = tree.copy()
    count = draw(st.sampled_from([0, 1, 1, 1, 2, 3]))
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=count, max_size=count)):
        if after.users:
            mutation(after, draw)
    return after


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Tree, Tree, Tenant]:
    tree = draw(trees())
    tenant = draw(tenants(tree))
    return tree, draw(changed(tree)), tenant


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(worlds())
def test_a_targeted_plan_is_the_full_plan_restricted_to_its_scope(
    world: tuple[Tree, Tree, Tenant],
) -> None:
    before, after, tenant = world
    with tempfile.TemporaryDirectory(prefix="targeted-") as tmp:
        root = Path(tmp, "state")
        commit_then_change(root, before, after, tenant)
        compared = check(root)
    if compared.scope is None:
        event("full plan")
    else:
        event(f"targeted, widened: {bool(widened(compared)[0] or widened(compared)[1])}")
        event(f"full plan changes in scope: {min(len(compared.expected), 5)}")
        event(f"refused in scope: {bool(compared.expected_refused)}")


# -- the cases the widening exists for -------------------------------------------------------


def plan_both(tmp_path: Path, before: Tree, after: Tree, tenant: Tenant) -> Compared:
    root = tmp_path / "state"
    commit_then_change(root, before, after, tenant)
    compared = check(root)
    assert compared.scope is not None, compared.why_full
    return compared


def widened(compared: Compared) -> tuple[set[str], set[str]]:
    """What the read added to the scope beyond the Git change: (users, groups)."""
    scope = compared.scope
    assert scope is not None
    return scope.users - scope.changed_users, scope.groups - scope.changed_groups


ADMIN = account("admin@example.com", marker=None, admin=True)


def test_a_renamed_member_is_read_whole(tmp_path: Path) -> None:
    """eng@ lists ana's old address; Git renamed her long ago (previous_emails), and the
    change adds bo to eng: the full plan renames ana, which the group's members show."""
    tree = Tree(
        users={
            "ana@example.com": user("ana@example.com", previous_emails=["anna@example.com"]),
            "bo@example.com": user("bo@example.com"),
        },
        groups={"eng": group("eng", "eng@example.com", ["ana@example.com"])},
        bound_groups=["eng"],
        bound_users=["bo@example.com"],
    )
    tenant = Tenant(
        users=[ADMIN, account("anna@example.com"), account("bo@example.com")],
        groups=[google_group("eng@example.com", [member("anna@example.com")])],
    )
    after = tree.copy()
    after.groups["eng"]["members"].append("bo@example.com")
    compared = plan_both(tmp_path, tree, after, tenant)
    # Git's entry and the account found at her old address.
    assert widened(compared)[0] == {"ana@example.com", "anna@example.com"}
    assert any(c.action == "rename" for c in compared.targeted.changes)  # type: ignore[union-attr]


def test_a_staged_member_is_read_whole(tmp_path: Path) -> None:
    """A staged user's membership is judged by its account, not by the listing."""
    tree = Tree(
        users={
            "ana@example.com": user("ana@example.com", state="staged"),
            "bo@example.com": user("bo@example.com"),
        },
        groups={"eng": group("eng", "eng@example.com", ["ana@example.com"])},
        bound_groups=["eng"],
    )
    tenant = Tenant(
        users=[ADMIN, account("ana@example.com"), account("bo@example.com")],
        groups=[google_group("eng@example.com", [member("ana@example.com")])],
    )
    after = tree.copy()
    after.groups["eng"]["members"].append("bo@example.com")
    compared = plan_both(tmp_path, tree, after, tenant)
    assert "ana@example.com" in widened(compared)[0]


def test_an_orphan_leaving_every_group_is_read_whole(tmp_path: Path) -> None:
    """With remove_from_groups, an account marked ours that Git names nowhere leaves every
    managed group: a change to one of them reads the orphan whole."""
    tree = Tree(
        users={"bo@example.com": user("bo@example.com")},
        groups={"eng": group("eng", "eng@example.com", ["bo@example.com"])},
        bound_groups=["eng"],
        remove_from_groups=True,
    )
    tenant = Tenant(
        users=[ADMIN, account("bo@example.com"), account("gone@example.com", suspended=True)],
        groups=[
            google_group("eng@example.com", [member("bo@example.com"), member("gone@example.com")])
        ],
    )
    after = tree.copy()
    after.groups["eng"]["description"] = "Engineers"
    compared = plan_both(tmp_path, tree, after, tenant)
    assert "gone@example.com" in widened(compared)[0]


def test_a_protected_account_is_read_whole(tmp_path: Path) -> None:
    """Protection is checked against accounts: the protected one is always read."""
    tree = Tree(
        users={"bo@example.com": user("bo@example.com")},
        bound_users=["bo@example.com"],
        protected=["boss@example.com"],
    )
    tenant = Tenant(users=[ADMIN, account("bo@example.com"), account("boss@example.com")])
    after = tree.copy()
    after.users["bo@example.com"]["title"] = "Director"
    compared = plan_both(tmp_path, tree, after, tenant)
    assert widened(compared)[0] == {"boss@example.com"}


def test_a_restore_refused_for_a_taken_alias_is_a_create_in_both(tmp_path: Path) -> None:
    """Found in review: Git binds new@, deleted with the alias nh@ that another live account
    holds now. The full plan creates new@ (Google cannot restore an address taken); the
    targeted read had not asked for nh@ and planned the restore."""
    tree = Tree(users={"ann@example.com": user("ann@example.com")}, bound_users=["ann@example.com"])
    tenant = Tenant(
        users=[
            ADMIN,
            account("ann@example.com"),
            account("cms@example.com", marker=THEIRS, aliases=["nh@example.com"]),
        ],
        deleted=[deleted("new@example.com", aliases=["nh@example.com"])],
    )
    after = tree.copy()
    after.users["new@example.com"] = user("new@example.com")
    after.bound_users.append("new@example.com")
    compared = plan_both(tmp_path, tree, after, tenant)
    actions = {(c.action, c.key) for c in compared.targeted.changes}  # type: ignore[union-attr]
    assert ("create", "new@example.com") in actions
    assert ("undelete", "new@example.com") not in actions
    assert "cms@example.com" in widened(compared)[0]


def test_the_data_of_a_leaving_account_goes_to_an_account_read_whole(tmp_path: Path) -> None:
    """Found in review: with `transfer_to: manager`, a user leaving Git plans its data's
    transfer to its manager, which the diff checks is an active account: read whole."""
    tree = Tree(
        users={
            "boss@example.com": user("boss@example.com"),
            "bo@example.com": user("bo@example.com", manager="boss@example.com"),
        },
        bound_users=["boss@example.com", "bo@example.com"],
        transfer_to="manager",
    )
    tenant = Tenant(
        users=[
            ADMIN,
            account("boss@example.com"),
            account("bo@example.com", manager="boss@example.com"),
        ]
    )
    after = tree.copy()
    after.bound_users.remove("bo@example.com")
    compared = plan_both(tmp_path, tree, after, tenant)
    actions = {(c.action, c.key) for c in compared.targeted.changes}  # type: ignore[union-attr]
    assert {("suspend", "bo@example.com"), ("transfer_data", "bo@example.com")} <= actions
    assert widened(compared)[0] == {"boss@example.com"}


def test_an_additive_group_keeps_what_google_has(tmp_path: Path) -> None:
    """An additive group's members beyond Git's stay, in both plans; its listed members
    that Git renamed are read whole."""
    tree = Tree(
        users={
            "ana@example.com": user("ana@example.com", previous_emails=["anna@example.com"]),
            "bo@example.com": user("bo@example.com"),
        },
        groups={
            "help": group("help", "help@example.com", ["bo@example.com"], membership="additive")
        },
        bound_users=["ana@example.com", "bo@example.com"],
    )
    tenant = Tenant(
        users=[ADMIN, account("anna@example.com"), account("bo@example.com")],
        groups=[
            google_group(
                "help@example.com",
                [member("anna@example.com"), member(GHOST), member(EXTERNAL, "EXTERNAL")],
            )
        ],
    )
    after = tree.copy()
    after.groups["help"]["members"].remove("bo@example.com")
    compared = plan_both(tmp_path, tree, after, tenant)
    assert widened(compared)[0] == {"ana@example.com", "anna@example.com"}
    assert not any(
        c.kind == "membership" and c.action == "remove_member" for c in compared.full.changes
    )


def test_a_nested_group_google_lacks_joins_the_scope(tmp_path: Path) -> None:
    """Found by the property: g0 (renamed) holds g2 through the user group g1; Google has
    neither. The lookup of g2@ proved it absent, and the read then dropped it as asked
    already, so the targeted plan left out g0's add_member of g2. It joins the scope."""
    tree = Tree(
        users={"u0@example.com": user("u0@example.com")},
        groups={
            "g0": group("g0", "g0@example.com", ["g1", EXTERNAL]),
            "g1": group("g1", None, ["g2"]),
            "g2": group("g2", "g2@example.com", [EXTERNAL]),
        },
    )
    after = tree.copy()
    after.groups["g0"].update(email="g0.r@example.com", previous_emails=["g0@example.com"])
    compared = plan_both(tmp_path, tree, after, Tenant(users=[ADMIN]))
    assert widened(compared)[1] == {"g2@example.com"}


def test_a_listed_account_holding_a_git_address_as_alias_is_read_whole(tmp_path: Path) -> None:
    """Found by the property: g0@ lists the hand-made account xu3@, which holds Git's
    u3@ as an alias. The full plan adopts it and renames it to u3@, so it removes u3@ from
    g0@; the targeted read took xu3@ for an account Git does not know and planned the removal
    of xu3@. The listed address is looked up, and what its holder's addresses name in Git
    is read whole."""
    tree = Tree(
        users={"u3@example.com": user("u3@example.com")},
        groups={"g0": group("g0", "g0@example.com", [])},
        bound_users=["u3@example.com"],
    )
    tenant = Tenant(
        users=[ADMIN, account("xu3@example.com", marker=None, aliases=["u3@example.com"])],
        groups=[google_group("g0@example.com", [member("xu3@example.com")])],
    )
    after = tree.copy()
    after.groups["g0"]["description"] = "Renamed"
    compared = plan_both(tmp_path, tree, after, tenant)
    assert widened(compared)[0] == {"u3@example.com", "xu3@example.com"}


def test_a_member_to_add_that_google_holds_under_another_address(tmp_path: Path) -> None:
    """Found by the property: Git adds u2 to g0; the lookup of u2@ finds the hand-made
    account xu2@ holding it as an alias, which the full plan adopts and renames. The lookup
    had marked u2@ as asked, so the read never read the account whole and planned to create
    u2@. Looked up is not read whole: it is read whole then."""
    tree = Tree(
        users={"u2@example.com": user("u2@example.com")},
        groups={"g0": group("g0", "g0@example.com", [])},
        bound_users=["u2@example.com"],
    )
    tenant = Tenant(
        users=[
            ADMIN,
            account("xu2@example.com", marker=None, suspended=True, aliases=["u2@example.com"]),
        ],
        groups=[google_group("g0@example.com", [])],
    )
    after = tree.copy()
    after.groups["g0"]["members"].append("u2@example.com")
    compared = plan_both(tmp_path, tree, after, tenant)
    assert widened(compared)[0] == {"u2@example.com", "xu2@example.com"}
    assert {(c.action, c.key) for c in compared.targeted.changes} >= {  # type: ignore[union-attr]
        ("rename", "u2@example.com"),
        ("unsuspend", "u2@example.com"),
    }


def test_no_change_plans_nothing(tmp_path: Path) -> None:
    tree = Tree(users={"bo@example.com": user("bo@example.com")}, bound_users=["bo@example.com"])
    compared = plan_both(tmp_path, tree, tree, Tenant(users=[ADMIN]))
    assert compared.scope is not None and compared.scope.empty
    assert compared.targeted is not None and compared.targeted.changes == []


def test_a_change_of_settings_falls_back_to_a_full_plan(tmp_path: Path) -> None:
    tree = Tree(users={"bo@example.com": user("bo@example.com")}, bound_users=["bo@example.com"])
    after = tree.copy()
    after.remove_from_groups = True
    root = tmp_path / "state"
    commit_then_change(root, tree, after, Tenant(users=[ADMIN]))
    compared = check(root)
    assert compared.scope is None and "workspace.yaml" in (compared.why_full or "")
