"""Reads right after writes, with listings behind them (the emulator's listing lag): the fetch
reads again what disagrees until it agrees, and refuses only what still disagrees once its
waiting is spent. The emulator's clock moves with the client's waits: nothing really sleeps."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import CUSTOMER, DOMAINS, OWNERSHIP, PASSWORD, fast_retry, managed, stats

from reconciler.google import ops
from reconciler.google.client import Call, GoogleClient
from reconciler.google.fetch import Actual, ShortReadError, fetch_actual
from reconciler.google.verify import find_existing, settle_found
from reconciler.plan.kinds import GroupChange, OrgUnitChange
from reconciler.plan.plan import Plan
from reconciler.state import OrgUnit, State, User

LAG_MS = 300


class Clock:
    """The emulator's clock, moved by the client's waits instead of real sleeping."""

    def __init__(self, now: float = 1_760_000_000.0):
        self.now = now
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(client: GoogleClient, emulator: Any) -> Clock:
    """Listings lag writes by 300 ms of emulator time; reads that disagree wait up to 5 s."""
    clock = Clock()
    emulator.api.clock = clock
    emulator.configure(listing_lag_ms=LAG_MS)
    client.retry = fast_retry(sleep=clock.sleep, settle_s=5.0)
    return clock


def fetch(client: GoogleClient) -> Actual:
    return fetch_actual(client, customer=CUSTOMER, domains=DOMAINS, managed_groups=managed)


def roles(actual: Actual, group: str) -> dict[str, str]:
    return {email: m.role for email, m in actual.state.groups[group].members.items()}


def test_a_member_removed_moments_ago_is_read_again_until_gone(client, clock):
    client.must(ops.remove_member(client, "dev@example.com", "jo.lei@example.com"))
    actual = fetch(client)
    assert "jo.lei@example.com" not in roles(actual, "dev@example.com")
    assert actual.state.groups["dev@example.com"].direct_members_count == 4
    assert actual.reread and "members.list dev@example.com: 5 of 4" in actual.reread[0]
    assert 0 < sum(clock.waits) < 5.0


def test_a_member_added_moments_ago_is_read_again_until_listed(client, clock):
    client.must(ops.add_member(client, "finance@example.com", "rfischer@example.com", "MEMBER"))
    actual = fetch(client)
    assert roles(actual, "finance@example.com") == {
        "audit@example.com": "MEMBER",
        "hannah.lee@example.com": "MEMBER",
        "rfischer@example.com": "MEMBER",
    }


def test_a_new_user_in_a_managed_group_makes_the_users_listing_read_again(client, clock):
    kenji = User("kenji.watanabe@example.com", "Kenji", "Watanabe")
    client.must(ops.create_user(client, kenji, OWNERSHIP, PASSWORD))
    client.must(ops.add_member(client, "dev@example.com", kenji.email, "MEMBER"))
    clock.now += LAG_MS / 2000  # the user's lag ends before the membership's
    actual = fetch(client)
    assert kenji.email in actual.state.users
    assert kenji.email in roles(actual, "dev@example.com")


def test_a_renamed_member_makes_the_users_listing_read_again(client, clock, emulator):
    client.must(ops.rename_user(client, "maria.costa@example.com", "maria.silva@example.com"))
    actual = fetch(client)
    # The member listing shows the new address at once, the users listing caught up.
    assert "maria.silva@example.com" in actual.state.users
    assert "maria.costa@example.com" not in actual.state.users
    assert "user maria.silva@example.com not listed" in actual.reread[0]
    methods = stats(emulator)["by_method"]
    assert methods["directory.users.get"] >= 1  # the get that said which side was behind
    assert methods["directory.users.list"] >= 2


def test_a_deleted_user_is_read_again_until_gone(client, clock):
    client.must(ops.delete_user(client, "jo.lei@example.com"))
    actual = fetch(client)
    assert "jo.lei@example.com" not in actual.state.users
    assert "jo.lei@example.com" not in roles(actual, "dev@example.com")


def test_reads_that_agree_cost_nothing_more(client, clock, emulator):
    client.must(ops.update_user(client, "jo.lei@example.com", {"title": "Staff Engineer"}))
    calls = fetch(client).calls
    clock.now += 1
    assert fetch(client).calls == calls and clock.waits == []


def test_a_short_read_is_refused_once_the_waiting_is_spent(client, clock, emulator):
    emulator.configure(short_listing={"members": 1})
    with pytest.raises(ShortReadError) as caught:
        fetch(client)
    assert "still so after reading again for 5.0 s" in str(caught.value)
    assert sum(clock.waits) == pytest.approx(5.0)
    assert clock.waits[:3] == [0.25, 0.5, 1.0]


def test_a_short_users_listing_is_refused_once_the_waiting_is_spent(client, clock, emulator):
    emulator.configure(short_listing={"users": 1})
    with pytest.raises(ShortReadError, match=r"tom\.becker@example\.com"):
        fetch(client)
    assert sum(clock.waits) == pytest.approx(5.0)


def test_no_waiting_refuses_at_once(client, clock, emulator):
    client.retry.settle_s = 0
    client.must(ops.remove_member(client, "dev@example.com", "jo.lei@example.com"))
    with pytest.raises(ShortReadError, match=r"read 5 members but .* is 4; refusing"):
        fetch(client)
    assert clock.waits == []


def test_a_group_listed_but_gone_is_read_again(client, clock, emulator):
    # Google may still count members of a group deleted moments ago (by someone else: the
    # tool plans no group deletion): members.list says 404.
    gone = client.service.groups().delete(groupKey="finance@example.com")
    client.must(Call(gone, "groups.delete finance@example.com"))
    listed = client.must(Call(client.service.groups().list(customer=CUSTOMER), "groups.list"))
    assert "finance@example.com" in {g["email"] for g in listed["groups"]}
    actual = fetch(client)
    assert "finance@example.com" not in actual.state.groups


# -- planned creates that a get finds (verify.py) ----------------------------------------------


def test_a_unit_created_moments_ago_is_waited_for_until_listed(client, clock, emulator):
    client.must(ops.create_org_unit(client, CUSTOMER, OrgUnit("/Labs")))
    plan = Plan(changes=[OrgUnitChange("create", "/Labs")])  # from a listing behind
    found, asked = find_existing(client, plan, State(), CUSTOMER)
    assert asked == 1 and [f.name for f in found] == ["/Labs"]
    agains: list[float] = []

    def again():
        agains.append(clock.now)
        return []  # the whole read again plans no create now

    before = stats(emulator)["by_method"].get("directory.orgunits.list", 0)
    settle_found(client, CUSTOMER, found, again)
    assert len(agains) == 1 and 0.3 <= sum(clock.waits) < 5.0
    # Read again (the listing only) until it listed the unit.
    assert stats(emulator)["by_method"].get("directory.orgunits.list", 0) - before >= 2


def test_a_create_still_found_when_the_time_is_spent_is_refused(client, clock):
    plan = Plan(changes=[GroupChange("create", "finance@example.com")])
    found, _ = find_existing(client, plan, State(), CUSTOMER)
    with pytest.raises(ShortReadError) as caught:
        settle_found(client, CUSTOMER, found, lambda: found)  # every read plans it again
    message = str(caught.value)
    assert "group finance@example.com exists but was not listed" in message
    assert "still so after reading again for 5.0 s" in message
    assert sum(clock.waits) == pytest.approx(5.0)
