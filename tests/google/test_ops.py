"""Each write operation against the emulator, through the real client."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httplib2
import pytest
from conftest import (
    CUSTOMER,
    DOMAINS,
    OWNERSHIP,
    PASSWORD,
    connect,
    example_tenant,
    fast_retry,
    managed,
    start_emulator,
    stats,
)
from googleapiclient.errors import HttpError

from reconciler.emulator.faults import FaultPlan
from reconciler.google import ops
from reconciler.google.client import Call, GoogleClient
from reconciler.google.fetch import fetch_actual
from reconciler.google.mapping import group_from_api, user_from_api
from reconciler.google.marker import FIELD, FIELDS, SCHEMA, schema_body
from reconciler.state import Group, OrgUnit, User


def get_user(client: GoogleClient, key: str) -> dict[str, Any]:
    return client.must(Call(client.service.users().get(userKey=key, projection="full"), "get"))


def get_group(client: GoogleClient, key: str) -> dict[str, Any]:
    return client.must(Call(client.service.groups().get(groupKey=key), "get"))


def members(client: GoogleClient, group: str) -> dict[str, tuple[str, str]]:
    body = client.must(Call(client.service.members().list(groupKey=group), "list"))
    return {m["email"]: (m["role"], m["type"]) for m in body.get("members", [])}


def user(client: GoogleClient, key: str) -> User:
    return user_from_api(get_user(client, key))


def run(client: GoogleClient, call: Call):
    outcome = client.execute(call)
    assert outcome.ok, outcome.error
    return outcome


# -- users -----------------------------------------------------------------------------------

KENJI = User(
    email="kenji.watanabe@example.com",
    given_name="Kenji",
    family_name="Watanabe",
    org_unit="/Engineering",
    title="Site Reliability Engineer",
    department="Engineering",
    cost_center="CC-310",
    manager="ana.ruiz@example.com",
    phone="+1 555 0115",
    employee_id="E-1077",
    recovery_email="kenji@example.net",
    recovery_phone="+15550115",
)


def test_create_user(client, sent):
    call = ops.create_user(client, KENJI, OWNERSHIP, PASSWORD)
    assert PASSWORD not in call.label
    outcome = run(client, call)
    assert set(outcome.body) == {"id", "primaryEmail"}  # the password never comes back
    resource = get_user(client, KENJI.email)
    assert "password" not in resource
    assert resource["changePasswordAtNextLogin"] is True
    assert resource["customSchemas"] == {SCHEMA: {FIELD: OWNERSHIP}}
    created = user_from_api(resource)
    managed_attrs = [
        "email", "given_name", "family_name", "org_unit", "title", "department",
        "cost_center", "manager", "phone", "employee_id", "recovery_email", "recovery_phone",
    ]  # fmt: skip
    assert [getattr(created, a) for a in managed_attrs] == [
        getattr(KENJI, a) for a in managed_attrs
    ]
    assert created.owner == OWNERSHIP and not created.suspended
    # The password travels once, in the insert, and nowhere else.
    assert sum(PASSWORD in r.body for r in sent) == 1


def test_create_a_suspended_user_with_only_the_required_attributes(client):
    lena = User("lena@example.com", "Lena", "Hoffmann", suspended=True)
    run(client, ops.create_user(client, lena, OWNERSHIP, PASSWORD))
    lena = user(client, "lena@example.com")
    assert lena.suspended and lena.org_unit == "/" and lena.title is None and lena.phone is None


def test_create_user_that_exists_fails_on_the_first_attempt(client):
    outcome = client.execute(
        ops.create_user(client, User("jo.lei@example.com", "Jo", "Lei"), OWNERSHIP, PASSWORD)
    )
    assert (outcome.ok, outcome.status, outcome.reason, outcome.attempts) == (
        False,
        409,
        "duplicate",
        1,
    )


class LosesFirstAnswer:
    """An http whose first request reaches the server but whose answer is lost."""

    def __init__(self, http: Any):
        self.http = http
        self.lost = 0

    def request(self, *args: Any, **kwargs: Any):
        answer = self.http.request(*args, **kwargs)
        if not self.lost:
            self.lost += 1
            raise ConnectionResetError("connection reset by peer")
        return answer


def lose_first_answer(call: Call) -> Call:
    call.request.http = LosesFirstAnswer(call.request.http)
    return call


def get_org_unit(client: GoogleClient, path: str) -> dict[str, Any]:
    request = client.service.orgunits().get(customerId=CUSTOMER, orgUnitPath=path.lstrip("/"))
    return client.must(Call(request, "get"))


# name -> (an insert, how to find what it made)
INSERTS = {
    "user": (
        lambda c: ops.create_user(c, User("new@example.com", "New", "Hire"), OWNERSHIP, PASSWORD),
        lambda c: get_user(c, "new@example.com"),
    ),
    "group": (
        lambda c: ops.create_group(c, Group("new@example.com", "New"), OWNERSHIP),
        lambda c: get_group(c, "new@example.com"),
    ),
    "org unit": (
        lambda c: ops.create_org_unit(c, CUSTOMER, OrgUnit("/Engineering/Platform")),
        lambda c: get_org_unit(c, "/Engineering/Platform"),
    ),
    "user alias": (
        lambda c: ops.add_user_alias(c, "jo.lei@example.com", "joe@example.com"),
        lambda c: get_user(c, "joe@example.com"),
    ),
    "group alias": (
        lambda c: ops.add_group_alias(c, "sales@example.com", "deals@example.com"),
        lambda c: get_group(c, "deals@example.com"),
    ),
}


# How the retry of each insert is answered, and what the note says it was judged by.
RETRY_ANSWERS = {"org unit": ("400", "checked with orgunits.get")}


@pytest.mark.parametrize("kind", INSERTS)
def test_an_insert_whose_answer_was_lost_counts_as_done_on_the_retry(kind, client, emulator):
    make, find = INSERTS[kind]
    outcome = client.execute(lose_first_answer(make(client)))
    assert outcome.ok, outcome.error
    status, note = RETRY_ANSWERS.get(kind, ("409", "earlier attempt"))
    assert (outcome.attempts, outcome.status) == (2, int(status))
    assert note in outcome.note
    assert find(client)
    assert stats(emulator)["by_status"][status] == 1


def conflict_after(kind: str, client: GoogleClient, emulator) -> Any:
    """users.insert of an existing address whose first attempt meets the fault `kind`."""

    def heal(_seconds: float) -> None:
        emulator.configure(fault_rate=0.0)

    client.retry = fast_retry(sleep=heal)
    emulator.configure(fault_rate=1.0, fault_kinds=[kind], fault_seed=1)
    jo = User("jo.lei@example.com", "Jo", "Lei")
    return client.execute(ops.create_user(client, jo, OWNERSHIP, PASSWORD))


@pytest.mark.parametrize("kind", ["too_many_requests", "rate_limit", "user_rate_limit"])
def test_a_409_after_a_refusal_is_a_conflict(kind, client, emulator):
    # A rate-limit refusal did no work: the 409 on the retry is someone else's account.
    outcome = conflict_after(kind, client, emulator)
    assert (outcome.ok, outcome.status, outcome.attempts) == (False, 409, 2)


@pytest.mark.parametrize("kind", ["backend_error", "drop"])
def test_a_409_after_a_lost_answer_counts_as_done(kind, client, emulator):
    # A server error or a dropped connection may have done the work: Google cannot say.
    outcome = conflict_after(kind, client, emulator)
    assert (outcome.ok, outcome.status, outcome.attempts) == (True, 409, 2)


def test_settle_counts_409_as_done_only_after_a_lost_answer(client):
    call = ops.create_user(client, KENJI, OWNERSHIP, PASSWORD)
    body = {"error": {"code": 409, "message": "Entity already exists.", "errors": [
        {"domain": "global", "reason": "duplicate", "message": "Entity already exists."}
    ]}}  # fmt: skip
    conflict = HttpError(httplib2.Response({"status": 409}), json.dumps(body).encode())
    first = client._settle(call, conflict, 1)
    assert first is not None and (first.ok, first.reason) == (False, "duplicate")
    assert "Entity already exists." in first.error
    refused_before = client._settle(call, conflict, 2, maybe_done=False)
    assert refused_before is not None and not refused_before.ok
    lost_before = client._settle(call, conflict, 2, maybe_done=True)
    assert lost_before is not None and (lost_before.ok, lost_before.status) == (True, 409)
    assert client._settle(call, ConnectionResetError(), 1) is None  # retried


ANA = "ana.ruiz@example.com"


def entries(resource: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return resource.get(kind) or []


def test_update_user_changes_managed_entries_and_keeps_the_others(client):
    before = get_user(client, ANA)
    current = user_from_api(before)
    changes = {
        "given_name": "Anna",
        "org_unit": "/Executive",
        "title": "Chief Technology Officer",
        "department": "Executive",
        "cost_center": "CC-001",
        "manager": "nora.baker@example.com",
        "phone": "+1 555 0999",
        "employee_id": "E-0001",
        "recovery_email": "anna@example.net",
        "recovery_phone": "+15550999",
    }
    run(client, ops.update_user(client, ANA, changes, current))
    after = get_user(client, ANA)
    updated = user_from_api(after)
    assert {k: getattr(updated, k) for k in changes} == changes
    assert updated.family_name == "Ruiz" and updated.aliases == current.aliases
    assert updated.owner == OWNERSHIP
    # Entries Git does not manage are exactly as they were.
    assert [o for o in after["organizations"] if not o.get("primary")] == [
        o for o in before["organizations"] if not o.get("primary")
    ]
    for kind, managed_type in (
        ("phones", "work"),
        ("relations", "manager"),
        ("externalIds", "organization"),
    ):
        kept = [e for e in entries(before, kind) if e.get("type") != managed_type]
        assert kept, kind
        assert [e for e in entries(after, kind) if e.get("type") != managed_type] == kept


def test_update_user_clears_with_empty_values_and_keeps_the_others(client):
    before = get_user(client, ANA)
    cleared = {
        "title": "",
        "cost_center": None,
        "manager": "",
        "phone": "",
        "employee_id": None,
        "recovery_email": "",
        "recovery_phone": None,
    }
    run(client, ops.update_user(client, ANA, cleared, user_from_api(before)))
    after = get_user(client, ANA)
    updated = user_from_api(after)
    assert {k: getattr(updated, k) for k in cleared} == dict.fromkeys(cleared)
    assert updated.department == "Engineering"  # the primary organization's other keys stay
    assert [p["type"] for p in after["phones"]] == ["mobile"]
    assert [r["type"] for r in after["relations"]] == ["assistant"]
    assert [e["type"] for e in after["externalIds"]] == ["custom"]
    assert len(after["organizations"]) == 2


def test_update_user_clears_the_only_entry_of_a_list(client):
    # Emma has one phone, one relation and one external id: clearing leaves the lists empty.
    email = "emma.johnson@example.com"
    current = user(client, email)
    changes = {"phone": "", "manager": "", "employee_id": ""}
    run(client, ops.update_user(client, email, changes, current))
    resource = get_user(client, email)
    for kind in ("phones", "relations", "externalIds"):
        assert not resource.get(kind), kind
    updated = user_from_api(resource)
    assert (updated.phone, updated.manager, updated.employee_id) == (None, None, None)
    assert updated.title == "Account Executive"


def test_update_user_without_current_sets_a_first_entry(client):
    email = "info@example.com"  # no organizations, phones... at all
    run(client, ops.update_user(client, email, {"title": "Mailbox", "phone": "+1 555 0000"}))
    updated = user(client, email)
    assert (updated.title, updated.phone) == ("Mailbox", "+1 555 0000")


def test_rename_user_keeps_the_old_address_as_an_alias(client):
    run(client, ops.rename_user(client, "maria.costa@example.com", "maria.silva@example.com"))
    renamed = get_user(client, "maria.costa@example.com")  # the old address still finds her
    assert renamed["primaryEmail"] == "maria.silva@example.com"
    assert user_from_api(renamed).aliases == ("maria.costa@example.com",)
    dev = members(client, "dev@example.com")
    assert "maria.silva@example.com" in dev and "maria.costa@example.com" not in dev


def test_adopt_user_marks_the_account_and_nothing_else(client):
    before = user(client, "hannah.lee@example.com")
    assert before.owner is None
    run(client, ops.adopt_user(client, "hannah.lee@example.com", OWNERSHIP))
    after = user(client, "hannah.lee@example.com")
    assert after.owner == OWNERSHIP
    assert after == replace(before, owner=OWNERSHIP)


def test_suspend_and_unsuspend(client):
    run(client, ops.suspend_user(client, "james.wright@example.com"))
    james = user(client, "james.wright@example.com")
    assert james.suspended and james.suspension_reason == "ADMIN"
    run(client, ops.unsuspend_user(client, "james.wright@example.com"))
    assert not user(client, "james.wright@example.com").suspended
    run(client, ops.unsuspend_user(client, "tom.becker@example.com"))
    assert not user(client, "tom.becker@example.com").suspended


def test_unsuspend_a_user_suspended_for_abuse_is_reported_not_retried(client, emulator):
    outcome = client.execute(ops.unsuspend_user(client, "abused@example.com"))
    assert (outcome.ok, outcome.status, outcome.reason, outcome.attempts) == (
        False,
        412,
        "adminCannotUnsuspend",
        1,
    )
    assert "abused@example.com" in outcome.call.label and "abuse" in outcome.error
    assert client.stats.retries == 0 and stats(emulator)["api_calls"] == 1
    assert user(client, "abused@example.com").suspended


def test_delete_user_twice(client):
    first = run(client, ops.delete_user(client, "sam.okafor@example.com"))
    assert first.note is None
    second = run(client, ops.delete_user(client, "sam.okafor@example.com"))
    assert (second.status, second.note) == (404, "already gone")
    outcome = client.execute(
        Call(client.service.users().get(userKey="sam.okafor@example.com"), "get")
    )
    assert outcome.status == 404


def deleted_id(client: GoogleClient, email: str) -> str:
    listed = client.must(
        Call(client.service.users().list(customer=CUSTOMER, showDeleted="true"), "list deleted")
    )
    return next(u["id"] for u in listed.get("users", []) if u["primaryEmail"] == email)


def test_undelete_user_restores_the_account_by_id_into_the_org_unit(client):
    before = user(client, "jo.lei@example.com")
    assert "jo.lei@example.com" in members(client, "dev@example.com")
    run(client, ops.delete_user(client, "jo.lei@example.com"))
    uid = deleted_id(client, "jo.lei@example.com")
    call = ops.undelete_user(client, uid, "jo.lei@example.com", "/Sales")
    assert call.label == f"users.undelete jo.lei@example.com (id {uid})"
    outcome = run(client, call)
    assert outcome.note is None and outcome.attempts == 1
    after = user(client, "jo.lei@example.com")
    # The same account, aliases, attributes and marker, in the unit asked for.
    assert after == replace(before, org_unit="/Sales")
    # Google does not restore group memberships.
    assert "jo.lei@example.com" not in members(client, "dev@example.com")


def test_undelete_of_an_account_that_is_not_deleted_fails_on_the_first_attempt(client):
    uid = get_user(client, "jo.lei@example.com")["id"]
    outcome = client.execute(ops.undelete_user(client, uid, "jo.lei@example.com", "/"))
    assert (outcome.ok, outcome.status, outcome.attempts) == (False, 404, 1)


def test_undelete_when_an_address_was_taken_since_fails(client):
    run(client, ops.delete_user(client, "jo.lei@example.com"))
    uid = deleted_id(client, "jo.lei@example.com")
    # Its alias now belongs to someone else: Google refuses to restore it.
    run(client, ops.add_user_alias(client, "ana.ruiz@example.com", "jo@example.com"))
    outcome = client.execute(ops.undelete_user(client, uid, "jo.lei@example.com", "/"))
    assert (outcome.ok, outcome.status, outcome.reason) == (False, 409, "duplicate")


def test_an_undelete_whose_answer_was_lost_counts_as_done_on_the_retry(client, emulator):
    run(client, ops.delete_user(client, "jo.lei@example.com"))
    uid = deleted_id(client, "jo.lei@example.com")
    call = lose_first_answer(ops.undelete_user(client, uid, "jo.lei@example.com", "/"))
    outcome = client.execute(call)
    # The first attempt restored it; the retry no longer finds it among the deleted.
    assert (outcome.ok, outcome.status, outcome.attempts) == (True, 404, 2)
    assert "earlier attempt" in (outcome.note or "")
    assert user(client, "jo.lei@example.com").id == uid


def test_user_aliases(client):
    run(client, ops.add_user_alias(client, "jo.lei@example.com", "joseph@example.com"))
    assert user(client, "jo.lei@example.com").aliases == ("jo@example.com", "joseph@example.com")
    taken = client.execute(ops.add_user_alias(client, "jo.lei@example.com", "ceo@example.com"))
    assert (taken.ok, taken.status) == (False, 409)  # someone else's: a real conflict
    run(client, ops.remove_user_alias(client, "jo.lei@example.com", "jo@example.com"))
    # Google's answer for an alias that is not one: 400 "Invalid Input: resource_id".
    again = run(client, ops.remove_user_alias(client, "jo.lei@example.com", "jo@example.com"))
    assert (again.status, again.note) == (400, "already gone")
    gone = run(client, ops.remove_user_alias(client, "nobody@example.com", "jo@example.com"))
    assert (gone.status, gone.note) == (404, "already gone")
    assert user(client, "jo.lei@example.com").aliases == ("joseph@example.com",)


# -- org units -------------------------------------------------------------------------------


def test_org_units(client):
    platform = OrgUnit("/Engineering/Platform", description="Platform team")
    run(client, ops.create_org_unit(client, CUSTOMER, platform))
    # Google's answer for a unit that exists; on a first attempt it is a conflict.
    again = client.execute(ops.create_org_unit(client, CUSTOMER, platform))
    assert (again.ok, again.status, again.reason, again.attempts) == (
        False,
        400,
        "invalidOrgunit",
        1,
    )
    run(client, ops.create_org_unit(client, CUSTOMER, OrgUnit("/Labs")))
    run(client, ops.update_org_unit(client, CUSTOMER, "/Sales/Europe", "Acme Europe"))
    units = fetch_actual(client, customer=CUSTOMER, domains=DOMAINS, managed_groups=None)
    found = units.state.org_units
    assert found["/Engineering/Platform"].description == "Platform team"
    assert found["/Engineering/Platform"].parent == "/Engineering"
    assert found["/Labs"].description is None
    assert found["/Sales/Europe"].description == "Acme Europe"


# -- groups ----------------------------------------------------------------------------------


def test_groups(client):
    """Every write keeps the ownership marker as the description's last line."""
    marker = f"Managed in Git by reconciler, ownership id: {OWNERSHIP}"
    run(
        client,
        ops.create_group(client, Group("platform@example.com", "Platform", "Infra"), OWNERSHIP),
    )
    created = get_group(client, "platform@example.com")
    assert (created["name"], created["description"]) == ("Platform", f"Infra\n\n{marker}")
    assert group_from_api(created).owner == OWNERSHIP
    run(
        client,
        ops.update_group(client, "platform@example.com", {"name": "Platform Team"}, OWNERSHIP),
    )
    assert get_group(client, "platform@example.com")["description"] == f"Infra\n\n{marker}"
    run(client, ops.update_group(client, "platform@example.com", {"description": None}, OWNERSHIP))
    updated = get_group(client, "platform@example.com")
    assert (updated["name"], updated["description"]) == ("Platform Team", marker)
    assert group_from_api(updated).description is None
    run(client, ops.rename_group(client, "dev@example.com", "eng@example.com"))
    renamed = get_group(client, "dev@example.com")
    assert renamed["email"] == "eng@example.com" and renamed["aliases"] == ["dev@example.com"]


def test_adopting_a_group_keeps_its_description_and_adds_the_marker(client):
    before = get_group(client, "leadership@example.com")
    assert group_from_api(before).owner is None
    run(
        client,
        ops.adopt_group(client, "leadership@example.com", before.get("description"), OWNERSHIP),
    )
    after = group_from_api(get_group(client, "leadership@example.com"))
    assert (after.owner, after.description) == (OWNERSHIP, before.get("description") or None)


def test_group_aliases(client):
    run(client, ops.add_group_alias(client, "helpdesk@example.com", "support@example.com"))
    assert sorted(get_group(client, "helpdesk@example.com")["aliases"]) == [
        "it@example.com",
        "support@example.com",
    ]
    run(client, ops.remove_group_alias(client, "helpdesk@example.com", "it@example.com"))
    again = run(client, ops.remove_group_alias(client, "helpdesk@example.com", "it@example.com"))
    assert (again.status, again.note) == (400, "already gone")
    assert get_group(client, "helpdesk@example.com")["aliases"] == ["support@example.com"]


# -- members ---------------------------------------------------------------------------------


def test_members(client):
    group = "finance@example.com"
    run(client, ops.add_member(client, group, "rfischer@example.com", "MEMBER"))
    run(client, ops.add_member(client, group, "controller@partner-firm.com", "MEMBER"))
    run(client, ops.add_member(client, group, "leadership@example.com", "MEMBER"))
    already = run(client, ops.add_member(client, group, "hannah.lee@example.com", "OWNER"))
    assert (already.status, already.note) == (409, "already a member")
    run(client, ops.update_member(client, group, "hannah.lee@example.com", "OWNER"))
    run(client, ops.remove_member(client, group, "audit@example.com"))
    # Google's answer for a group (or user) that is not a member.
    gone = run(client, ops.remove_member(client, group, "audit@example.com"))
    assert (gone.status, gone.note) == (400, "not a member")
    unknown = run(client, ops.remove_member(client, group, "nobody@example.com"))
    assert (unknown.status, unknown.note) == (404, "already gone")
    assert members(client, group) == {
        "hannah.lee@example.com": ("OWNER", "USER"),
        "rfischer@example.com": ("MEMBER", "USER"),
        "controller@partner-firm.com": ("MEMBER", "EXTERNAL"),
        "leadership@example.com": ("MEMBER", "GROUP"),
    }
    unknown = client.execute(ops.add_member(client, group, "nobody@example.com", "MEMBER"))
    assert (unknown.ok, unknown.status) == (False, 404)


def test_update_member_that_is_not_there_fails(client):
    outcome = client.execute(
        ops.update_member(client, "finance@example.com", "jo.lei@example.com", "OWNER")
    )
    assert (outcome.ok, outcome.status) == (False, 404)


# -- many calls at once ----------------------------------------------------------------------


@pytest.mark.parametrize("fault_rate", [0.0, 0.4])
def test_execute_all_keeps_the_order_of_outcomes(fault_rate, client, emulator):
    # Refusals only, so the conflicting insert stays a conflict even when retried.
    emulator.configure(fault_rate=fault_rate, fault_seed=3, fault_kinds=["too_many_requests"])
    client.batch_size = 4
    calls = [
        ops.add_member(client, "sales@example.com", "sofia.rossi@example.com", "MEMBER"),
        ops.update_group(client, "nope@example.com", {"name": "Nope"}, OWNERSHIP),  # 404
        ops.remove_member(client, "sales@example.com", "james.wright@example.com"),
        ops.create_user(client, User("jo.lei@example.com", "Jo", "Lei"), OWNERSHIP, PASSWORD),
        ops.update_member(client, "finance@example.com", "hannah.lee@example.com", "OWNER"),
        ops.unsuspend_user(client, "abused@example.com"),  # 412
        ops.add_member(client, "sales@example.com", "daniel.kim@example.com", "OWNER"),  # 409
        ops.remove_user_alias(client, "olivia.grant@example.com", "ceo@example.com"),
        ops.update_group(
            client, "sales@example.com", {"description": "Sales, Americas"}, OWNERSHIP
        ),
    ]
    outcomes = client.execute_all(calls)
    assert [o.call for o in outcomes] == calls
    assert [(o.ok, o.status) for o in outcomes] == [
        (True, None),
        (False, 404),
        (True, None),
        (False, 409),
        (True, None),
        (False, 412),
        (True, 409),
        (True, None),
        (True, None),
    ]
    if fault_rate:
        assert client.stats.retries > 0
    assert members(client, "sales@example.com")["sofia.rossi@example.com"] == ("MEMBER", "USER")
    assert "james.wright@example.com" not in members(client, "sales@example.com")


# -- the ownership schema --------------------------------------------------------------------


def schema(client: GoogleClient) -> dict[str, Any]:
    request = client.service.schemas().get(customerId=CUSTOMER, schemaKey=SCHEMA)
    return client.must(Call(request, "schemas.get"))


def test_ensure_marker_schema_when_present_does_nothing(tmp_path: Path):
    server = start_emulator(tenant_with_schemas([schema_body()]))
    try:
        client = connect(server, tmp_path)
        assert ops.ensure_marker_schema(client, CUSTOMER) is False
        assert set(stats(server)["by_method"]) == {"directory.schemas.get"}
    finally:
        server.stop()


def test_ensure_marker_schema_adds_the_offboarding_dates(client, emulator):
    """The example's schema holds only the marker, as schemas made before offboarding do:
    the dates are added, the marker kept."""
    assert ops.ensure_marker_schema(client, CUSTOMER) is True
    assert {f["fieldName"] for f in schema(client)["fields"]} == set(FIELDS)
    assert ops.ensure_marker_schema(client, CUSTOMER) is False


def tenant_with_schemas(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    doc = example_tenant()
    doc["schemas"] = schemas
    for u in doc["users"]:
        u.pop("customSchemas", None)
    return doc


@pytest.mark.parametrize(
    "schemas",
    [
        [],
        [{"schemaName": SCHEMA, "fields": [{"fieldName": "costCode", "fieldType": "STRING"}]}],
    ],
    ids=["missing", "without the field"],
)
def test_ensure_marker_schema_creates_what_is_missing(schemas, tmp_path: Path):
    server = start_emulator(tenant_with_schemas(copy.deepcopy(schemas)))
    try:
        client = connect(server, tmp_path)
        assert ops.ensure_marker_schema(client, CUSTOMER) is True
        fields = {f["fieldName"] for f in schema(client)["fields"]}
        assert fields == set(FIELDS) | {f["fieldName"] for s in schemas for f in s["fields"]}
        assert ops.ensure_marker_schema(client, CUSTOMER) is False
        run(client, ops.adopt_user(client, "info@example.com", OWNERSHIP))
        actual = fetch_actual(client, customer=CUSTOMER, domains=DOMAINS, managed_groups=managed)
        assert actual.marker_schema
        assert actual.state.users["info@example.com"].owner == OWNERSHIP
    finally:
        server.stop()


# -- idempotent paths against Google's answers ------------------------------------------------


def lose_the_first_answer(client: GoogleClient, emulator, kind: str) -> list[float]:
    """The next call runs, and its answer is lost (`kind`: a 503 or a dropped connection);
    faults stop as soon as the client backs off."""
    waits: list[float] = []

    def heal(seconds: float) -> None:
        waits.append(seconds)
        emulator.configure(fault_rate=0.0)

    client.retry = fast_retry(sleep=heal)
    emulator.configure(fault_rate=1.0, fault_kinds=[kind], fault_seed=1)
    return waits


def member_roles(client: GoogleClient, group: str) -> dict[str, str]:
    return {email: role for email, (role, _) in members(client, group).items()}


# name -> (the call, whether its work is there afterwards)
IDEMPOTENT = {
    "org unit insert": (
        lambda c: ops.create_org_unit(c, CUSTOMER, OrgUnit("/Engineering/Platform")),
        lambda c: (
            get_org_unit(c, "/Engineering/Platform")["orgUnitPath"] == "/Engineering/Platform"
        ),
    ),
    "member insert": (
        lambda c: ops.add_member(c, "finance@example.com", "rfischer@example.com", "MEMBER"),
        lambda c: "rfischer@example.com" in members(c, "finance@example.com"),
    ),
    "member delete": (
        lambda c: ops.remove_member(c, "finance@example.com", "audit@example.com"),
        lambda c: "audit@example.com" not in members(c, "finance@example.com"),
    ),
    "user alias delete": (
        lambda c: ops.remove_user_alias(c, "jo.lei@example.com", "jo@example.com"),
        lambda c: user(c, "jo.lei@example.com").aliases == (),
    ),
    "group alias delete": (
        lambda c: ops.remove_group_alias(c, "helpdesk@example.com", "it@example.com"),
        lambda c: "aliases" not in get_group(c, "helpdesk@example.com"),
    ),
    "user alias insert": (
        lambda c: ops.add_user_alias(c, "jo.lei@example.com", "joseph@example.com"),
        lambda c: "joseph@example.com" in user(c, "jo.lei@example.com").aliases,
    ),
    "user delete": (
        lambda c: ops.delete_user(c, "sam.okafor@example.com"),
        lambda c: (
            c.execute(Call(c.service.users().get(userKey="sam.okafor@example.com"), "g")).status
            == 404
        ),
    ),
    "group rename": (
        lambda c: ops.rename_group(c, "dev@example.com", "eng@example.com"),
        lambda c: get_group(c, "dev@example.com")["email"] == "eng@example.com",
    ),
}


@pytest.mark.parametrize("kind", ["backend_error_after", "drop_after"])
@pytest.mark.parametrize("name", IDEMPOTENT)
def test_a_call_whose_first_attempt_worked_and_lost_its_answer_converges(
    name, kind, client, emulator
):
    make, done = IDEMPOTENT[name]
    waits = lose_the_first_answer(client, emulator, kind)
    outcome = client.execute(make(client))
    assert outcome.ok, outcome.error
    assert done(client)
    assert stats(emulator)["faults_by_kind"][kind] >= 1  # (a get that checks may meet one)
    assert len(waits) <= 1  # one backoff at most: nothing spins on Google's answers


def test_an_org_unit_insert_answered_backend_error_is_checked_not_retried(client, emulator):
    # Google may answer the insert of a unit that exists with 503 backendError: a get
    # settles it at once instead of retrying the insert for a minute.
    waits = lose_the_first_answer(client, emulator, "backend_error")
    outcome = client.execute(ops.create_org_unit(client, CUSTOMER, OrgUnit("/Sales/Europe")))
    assert (outcome.ok, outcome.status, outcome.attempts) == (True, 503, 1)
    assert "checked with orgunits.get" in outcome.note
    assert stats(emulator)["by_method"]["directory.orgunits.insert"] == 1
    assert len(waits) == 1  # the get's own retry of its injected fault


def test_an_org_unit_insert_answered_backend_error_is_retried_when_the_unit_is_absent(
    client, emulator
):
    lose_the_first_answer(client, emulator, "backend_error")
    outcome = client.execute(ops.create_org_unit(client, CUSTOMER, OrgUnit("/Labs")))
    assert (outcome.ok, outcome.attempts) == (True, 2)
    assert get_org_unit(client, "/Labs")["orgUnitPath"] == "/Labs"


def test_a_400_on_an_org_unit_retry_is_done_only_if_the_unit_exists(client):
    # A retry after a lost answer, answered 400, but the unit is not there (the 400 is about
    # something else): not done, whatever the shape suggests.
    body = {"error": {"code": 400, "message": "Invalid Ou Id", "errors": [
        {"domain": "global", "reason": "invalidOrgunit", "message": "Invalid Ou Id"}
    ]}}  # fmt: skip
    answer = HttpError(httplib2.Response({"status": 400}), json.dumps(body).encode())
    call = ops.create_org_unit(client, CUSTOMER, OrgUnit("/Nowhere/Else"))
    outcome = client._settle(call, answer, 2, maybe_done=True)
    assert outcome is not None and (outcome.ok, outcome.status) == (False, 400)
    exists = ops.create_org_unit(client, CUSTOMER, OrgUnit("/Sales/Europe"))
    outcome = client._settle(exists, answer, 2, maybe_done=True)
    assert outcome is not None and outcome.ok and "orgunits.get" in outcome.note


def conflict(status: int, reason: str, message: str) -> HttpError:
    body = {"error": {"code": status, "message": message, "errors": [
        {"domain": "global", "reason": reason, "message": message}
    ]}}  # fmt: skip
    return HttpError(httplib2.Response({"status": status}), json.dumps(body).encode())


def test_a_409_on_a_member_insert_counts_as_done_only_for_a_member(client):
    # Google also answers 409 for an invitation still pending (GAM's release notes): only a
    # members.get that finds the member makes it "already a member".
    duplicate = conflict(409, "duplicate", "Member already exists.")
    pending = ops.add_member(client, "finance@example.com", "rfischer@example.com", "MEMBER")
    outcome = client._settle(pending, duplicate, 1)
    assert outcome is not None and (outcome.ok, outcome.status) == (False, 409)
    member = ops.add_member(client, "finance@example.com", "hannah.lee@example.com", "MEMBER")
    outcome = client._settle(member, duplicate, 1)
    assert outcome is not None and (outcome.ok, outcome.note) == (True, "already a member")


def test_a_412_on_a_member_delete_counts_as_done_only_for_a_non_member(client):
    refused = conflict(412, "conditionNotMet", "Precondition failed.")
    gone = ops.remove_member(client, "finance@example.com", "rfischer@example.com")
    outcome = client._settle(gone, refused, 1)
    assert outcome is not None and outcome.ok and "members.get" in outcome.note
    still = ops.remove_member(client, "finance@example.com", "hannah.lee@example.com")
    outcome = client._settle(still, refused, 1)
    assert outcome is not None and (outcome.ok, outcome.status) == (False, 412)
    assert "hannah.lee@example.com" in members(client, "finance@example.com")


def first_draw_only(rate: float) -> int:
    """A fault seed whose first draw at `rate` is a fault and whose next one is not."""
    for seed in range(1000):
        plan = FaultPlan(seed)
        if plan.draw(rate, ["drop_after"]) and not plan.draw(rate, ["drop_after"]):
            return seed
    raise AssertionError("no such seed")


def test_an_insert_httplib2_sent_again_on_its_own_counts_as_done(client, emulator):
    # The connection drops after the insert ran; httplib2 sends it again by itself (it takes
    # the drop for a stale keep-alive connection) and that second sending answers 409, to
    # what the client sees as its first attempt. It still counts as done.
    emulator.configure(fault_rate=0.5, fault_kinds=["drop_after"], fault_seed=first_draw_only(0.5))
    outcome = client.execute(ops.create_user(client, KENJI, OWNERSHIP, PASSWORD))
    assert (outcome.ok, outcome.status, outcome.attempts) == (True, 409, 1)
    assert "earlier attempt" in outcome.note
    assert client._resent() == 1
    assert stats(emulator)["by_method"]["directory.users.insert"] == 2
    assert get_user(client, KENJI.email)["primaryEmail"] == KENJI.email


@pytest.mark.parametrize("kind", ["backend_error_after", "drop_after"])
def test_a_call_sent_once_is_not_sent_again_after_a_lost_answer(kind, client, emulator):
    """A mail sent twice is two mails: a `once` call whose answer is lost fails, saying it
    may have been done, after one attempt (the sign-in message: its mark stays, and the next
    apply sends one new message)."""
    waits = lose_the_first_answer(client, emulator, kind)
    request = client.service.users().get(userKey="jo.lei@example.com")
    outcome = client.execute(Call(request, "users.get jo.lei@example.com", once=True))
    assert (outcome.ok, outcome.attempts) == (False, 1)
    assert "may have been done: not sent again" in (outcome.error or "")
    assert waits == []
    [batched] = client.execute_all(
        [Call(client.service.users().get(userKey="jo.lei@example.com"), "g", once=True)]
    )
    # Batched, the same: one attempt (the faults stop only when the client would wait).
    assert (batched.ok, batched.attempts) == (False, 1) and waits == []
    assert "may have been done: not sent again" in (batched.error or "")
