"""API calls of a fetch against the minimum the API allows, counted by the emulator."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import CUSTOMER, connect, start_emulator, stats

from reconciler.google.fetch import GROUPS_PAGE, MEMBERS_PAGE, USERS_PAGE, fetch_actual

USERS = 2_600
DELETED = 700  # recently deleted users, which Google can still restore
GROUPS = 330
# Group number -> members, for groups past one page; every other group has SMALL members.
LARGE = {3: 201, 5: 400, 7: 401, 9: 650, 11: 250, 13: 999, 20: 450}
SMALL = 12
EMPTY = range(300, 315)


def group_email(g: int) -> str:
    return f"group{g:04d}@example.com"


def is_managed(g: int) -> bool:
    """Odd groups and group 0 (whose members include another group and an outsider)."""
    return g % 2 == 1 or g == 0


def generate() -> tuple[dict[str, Any], dict[int, int]]:
    """A tenant of USERS users and GROUPS groups (some over a page of members, some empty),
    and each group's member count."""
    emails = [f"user{i:05d}@example.com" for i in range(USERS)]
    doc: dict[str, Any] = {
        "domains": ["example.com"],
        "schemas": [
            {
                "schemaName": "Reconciler",
                "fields": [{"fieldName": "ownershipId", "fieldType": "STRING"}],
            }
        ],
        "orgUnits": [{"orgUnitPath": "/Staff"}],
        "users": [
            {
                "primaryEmail": email,
                "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
                "orgUnitPath": "/Staff",
                "externalIds": [{"type": "organization", "value": f"E-{i:05d}"}],
                "customSchemas": {"Reconciler": {"ownershipId": "bench/identity"}},
            }
            for i, email in enumerate(emails)
        ],
        "deletedUsers": [
            {
                "primaryEmail": f"left{i:05d}@example.com",
                "name": {"givenName": f"Left{i}", "familyName": "Gone"},
            }
            for i in range(DELETED)
        ],
        "groups": [],
    }
    sizes: dict[int, int] = {}
    for g in range(GROUPS):
        count = 0 if g in EMPTY else LARGE.get(g, SMALL)
        # (g*37 + k*1009) mod USERS never repeats within a group of < USERS members.
        members: list[dict[str, Any]] = [
            {"email": emails[(g * 37 + k * 1009) % USERS], "role": "MEMBER"} for k in range(count)
        ]
        if g == 0:
            members[0] = {"email": group_email(1), "role": "MANAGER"}
            members[1] = {"email": "partner@outside.net", "role": "MEMBER"}
        doc["groups"].append({"email": group_email(g), "name": f"Group {g}", "members": members})
        sizes[g] = count
    return doc, sizes


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    doc, sizes = generate()
    server = start_emulator(doc)
    yield server, sizes
    server.stop()


def minimum_calls(sizes: dict[int, int]) -> dict[str, int]:
    members = sum(math.ceil(n / MEMBERS_PAGE) for g, n in sizes.items() if is_managed(g) and n)
    return {
        # Live users, then the deleted ones (at least one call, to learn there are none).
        "directory.users.list": math.ceil(USERS / USERS_PAGE)
        + max(1, math.ceil(DELETED / USERS_PAGE)),
        "directory.groups.list": math.ceil(GROUPS / GROUPS_PAGE),
        "directory.orgunits.list": 1,
        "directory.schemas.get": 1,
        "directory.members.list": members,
    }


def test_fetch_is_within_five_percent_of_the_minimum(generated, tmp_path: Path):
    server, sizes = generated
    before = stats(server)
    managed_emails = {group_email(g) for g in range(GROUPS) if is_managed(g)}
    client = connect(server, tmp_path, read_only=True)
    actual = fetch_actual(
        client,
        customer=CUSTOMER,
        domains=["example.com"],
        managed_groups=lambda group: group.email in managed_emails,
    )
    after = stats(server)
    seen = {k: after[k] - before[k] for k in ("api_calls", "http_requests", "batch_requests")}
    seen["by_method"] = {
        m: n - before["by_method"].get(m, 0) for m, n in after["by_method"].items()
    }
    minimum = minimum_calls(sizes)

    # Correct first: every user and group, and every member of each managed group.
    assert len(actual.state.users) == USERS
    assert len(actual.state.deleted_users) == DELETED
    assert len(actual.state.groups) == GROUPS
    for g, count in sizes.items():
        members = actual.state.groups[group_email(g)].members
        assert len(members) == (count if is_managed(g) else 0), group_email(g)
    group0 = actual.state.groups[group_email(0)].members
    assert group0[group_email(1)].type == "GROUP"
    assert group0["partner@outside.net"].type == "EXTERNAL"

    # Each method at its minimum, and the total within 5% of it.
    assert {m: seen["by_method"].get(m, 0) for m in minimum} == minimum
    assert seen["api_calls"] <= 1.05 * sum(minimum.values())
    assert actual.calls == seen["api_calls"] and actual.retries == 0

    # Member pages travel in batches: far fewer round trips than calls.
    member_calls = minimum["directory.members.list"]
    single = minimum["directory.users.list"] + minimum["directory.groups.list"] + 2
    member_round_trips = seen["http_requests"] - single
    assert seen["batch_requests"] >= 1
    assert member_round_trips * 10 <= member_calls
    print(
        f"\ncalls {seen['api_calls']} (minimum {sum(minimum.values())}: {minimum}), "
        f"HTTP requests {seen['http_requests']}, batches {seen['batch_requests']}, "
        f"member calls {member_calls} in {member_round_trips} round trips"
    )


# -- a whole plan: the read, one domains.list, and one lookup per planned create -------------

EXAMPLE = Path(__file__).parents[2] / "examples" / "desired-state"
# The example's first plan creates /Engineering/Platform, kenji.watanabe@, priya.nair@ and
# platform@ (none with a previous email): one orgunits.get, two users.get, one groups.get.
EXAMPLE_LOOKUPS = {
    "directory.orgunits.get": 1,
    "directory.users.get": 2,
    "directory.groups.get": 1,
}


@dataclass(frozen=True)
class GraphCalls:
    """The Microsoft Graph calls of a plan of the example, which exports two groups to its
    emulated Entra tenant (workspace.yaml, `entra:`); each batch item is one call."""

    read: int  # the read, as fetch.py counts it (Actual.state.entra.calls)
    calls: int  # the read and the lookups of planned creates (verify.py)
    http_requests: int


def plan_calls(server, root: Path) -> tuple[Any, dict[str, int], GraphCalls]:
    """Plan `root` against `server`, and its Entra tenant as the session opens it: the plan,
    the Google calls it made (by method, as `server` counts them), and its Graph calls."""
    from reconciler.desired import load_desired
    from reconciler.entra.session import graph_session
    from reconciler.google.group_settings_target import declared
    from reconciler.session import plan_for

    before = stats(server)["by_method"]
    desired = load_desired(root)
    apis = {"licenses": desired.workspace.licenses is not None, "group_settings": declared(desired)}
    client = connect(server, root, read_only=True, **apis)
    assert desired.workspace.entra is not None
    with graph_session(desired.workspace.entra, root) as graph:
        client.graph = graph
        plan, actual = plan_for(desired, client)
    assert actual.state.entra is not None
    entra = GraphCalls(actual.state.entra.calls, graph.stats.calls, graph.stats.http_requests)
    after = stats(server)["by_method"]
    google = {m: n - before.get(m, 0) for m, n in after.items() if n - before.get(m, 0)}
    return plan, google, entra


def test_a_plan_costs_the_read_one_domains_list_and_one_lookup_per_create(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import shutil

    from reconciler.cli import main
    from reconciler.google.client import ENDPOINT_ENV

    root = tmp_path / "state"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".reconciler"))
    server = start_emulator(root / "tenant.yaml")
    try:
        plan, calls, graph = plan_calls(server, root)
        # Google's creates (Sales, created in Entra ID, is looked up through Graph).
        google = [c for c in plan.changes if not c.kind.startswith("entra_")]
        creates = [c for c in google if c.action == "create"]
        assert len(creates) == sum(EXAMPLE_LOOKUPS.values()) == 4
        # The read as fetch.py counts it: 20 users and no deleted ones (one page each), 7
        # groups (one page), 6 managed groups with members (one page each), org units, the
        # schema; and the 18 license assignments of the product (one page).
        read = {
            "directory.users.list": 2,
            "directory.groups.list": 1,
            "directory.members.list": 6,
            "directory.orgunits.list": 1,
            "directory.schemas.get": 1,
            "licensing.licenseAssignments.listForProduct": 1,
            # The settings of the 6 existing groups Git declares settings for (one batch).
            "groupsSettings.groups.get": 6,
        }
        # The customer's id for the Licensing API (directory.customer is my_customer): one
        # users.get. 19 read, 1 domains.list, 4 lookups: 24 calls (11 before the guards,
        # licenses and group settings).
        customer = {"directory.users.get": 1}
        lookups = {
            **EXAMPLE_LOOKUPS,
            "directory.users.get": EXAMPLE_LOOKUPS["directory.users.get"] + 1,
        }
        assert calls == {**read, "directory.domains.list": 1, **lookups}
        # Microsoft Graph: its 12 users (one page), its 2 groups (one page), the members of
        # the one exported group it has, Engineering (one batch); then the lookup of the one
        # group the plan creates, Sales (one batch).
        assert graph == GraphCalls(read=3, calls=3 + 1, http_requests=4)

        # Applied, nothing is left to create: the plan is the read and one domains.list,
        # not a single lookup: 22 calls, the minimum the APIs allow (12 before the guards,
        # licenses and group settings).
        monkeypatch.setenv(ENDPOINT_ENV, server.base_url)
        with pytest.raises(SystemExit) as applied:
            main(["apply", str(root), "--auto-approve"])
        assert applied.value.code == 0
        plan, calls, graph = plan_calls(server, root)
        assert plan.changes == []
        assert calls == {
            **read,
            **customer,
            "groupsSettings.groups.get": 7,  # platform@ too, now that it exists
            "directory.members.list": 7,
            "directory.domains.list": 1,
        }
        # Graph: users and groups (a page each), and the members of Engineering and Sales
        # (one batch of two); nothing to create, nothing to look up.
        assert graph == GraphCalls(read=4, calls=4, http_requests=3)
    finally:
        server.stop()
