"""The lookup of every planned create by key (verify.py): what it asks, what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CUSTOMER, connect, stats

from reconciler.google.client import GoogleApiError
from reconciler.google.fetch import ShortReadError
from reconciler.google.verify import lookups, verify_creates
from reconciler.plan.change import Change
from reconciler.plan.kinds import GroupChange, OrgUnitChange, UserChange
from reconciler.plan.plan import Plan
from reconciler.state import Group, OrgUnit, State, User


def plan_of(*changes: Change) -> Plan:
    return Plan(changes=list(changes))


def test_no_creates_no_calls(client, emulator):
    before = stats(emulator)["api_calls"]
    update = UserChange("update", "ana.ruiz@example.com")
    assert verify_creates(client, plan_of(update), State(), CUSTOMER) == 0
    assert stats(emulator)["api_calls"] == before


def test_every_key_of_a_create_is_looked_up():
    desired = State(
        users={"new@example.com": User("new@example.com", previous_emails=("old@example.com",))},
        groups={"g@example.com": Group("g@example.com", "G", previous_emails=("h@example.com",))},
        org_units={"/New": OrgUnit("/New")},
    )
    plan = plan_of(
        OrgUnitChange("create", "/New"),
        UserChange("create", "new@example.com"),
        GroupChange("create", "g@example.com"),
        UserChange("rename", "x@example.com", from_="y@example.com"),
    )
    assert [(w.kind, w.key) for w in lookups(plan, desired)] == [
        ("org_unit", "/New"),
        ("user", "new@example.com"),
        ("user", "old@example.com"),
        ("group", "g@example.com"),
        ("group", "h@example.com"),
    ]


def test_absent_keys_pass_in_batches(client, emulator):
    creates = [UserChange("create", f"new{i}@example.com") for i in range(150)]
    before = stats(emulator)
    assert verify_creates(client, plan_of(*creates), State(), CUSTOMER) == 150
    after = stats(emulator)
    assert after["by_method"]["directory.users.get"] == 150
    assert after["api_calls"] - before["api_calls"] == 150
    # 100 a batch (provider.batch_size): two round trips, not 150.
    assert after["http_requests"] - before["http_requests"] == 2


def test_many_creates_are_looked_up_a_slice_of_whole_batches_at_a_time(
    client, emulator, monkeypatch
):
    monkeypatch.setattr("reconciler.google.verify.LOOKUPS_AT_ONCE", 250)  # 2 batches of 100
    creates = [UserChange("create", f"new{i}@example.com") for i in range(450)]
    before = stats(emulator)
    assert verify_creates(client, plan_of(*creates), State(), CUSTOMER) == 450
    after = stats(emulator)
    assert after["by_method"]["directory.users.get"] == 450
    # Slices of 200: batches of 100, 100 | 100, 100 | 50: five round trips, as unsliced.
    assert after["http_requests"] - before["http_requests"] == 5


def test_an_existing_key_is_a_short_read(client):
    plan = plan_of(
        UserChange("create", "new@example.com"),
        GroupChange("create", "finance@example.com"),
        OrgUnitChange("create", "/Sales/Europe"),
        UserChange("create", "jo@example.com"),  # an alias of jo.lei@
    )
    with pytest.raises(ShortReadError) as caught:
        verify_creates(client, plan, State(), CUSTOMER)
    message = str(caught.value)
    assert "group finance@example.com exists but was not listed" in message
    assert "org unit /Sales/Europe exists" in message
    assert "user jo@example.com exists (as jo.lei@example.com) but was not listed" in message
    assert "new@example.com" not in message
    assert "refusing to plan from a partial read" in message


def test_any_other_answer_aborts_with_its_error(emulator, tmp_path: Path):
    client = connect(emulator, tmp_path)
    plan = plan_of(OrgUnitChange("create", "/New"))
    with pytest.raises(GoogleApiError) as caught:
        verify_creates(client, plan, State(), "C0another")  # not the tenant's customer id
    message = str(caught.value)
    assert message.startswith("orgunits.get /New: 400")
    assert "could not check that the planned create of /New is new" in message
    assert not isinstance(caught.value, ShortReadError)
