"""Listings that lag writes (listing_lag_ms), and renamed accounts whose new address settles
like a new account (consistency delay): what the emulator answers, with its clock moved by
hand."""

from __future__ import annotations

from typing import Any

import pytest

from .api_support import Client, Clock, key, make, new_user

LAG_S = 0.3
PAST_LAG = LAG_S + 0.01  # epoch seconds as floats: a hair more than the lag
OUS = "customer/my_customer/orgunits"
ENG = "groups/" + key("eng@example.com")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(clock: Clock) -> Client:
    client = make(clock=clock)
    client.api.listing_lag_s = LAG_S
    return client


def users(client: Client, **query: Any) -> list[str]:
    listed = client.list_all("users", "users", customer="my_customer", **query)
    return [u["primaryEmail"] for u in listed]


def groups(client: Client) -> list[str]:
    return [g["email"] for g in client.list_all("groups", "groups", customer="my_customer")]


def members(client: Client, group: str = ENG) -> dict[str, str]:
    listed = client.list_all(group + "/members", "members")
    return {m["email"]: m["role"] for m in listed}


def units(client: Client) -> list[str]:
    listed = client.ok("GET", OUS, type="all").get("organizationUnits", [])
    return [u["orgUnitPath"] for u in listed]


def test_a_new_user_is_listed_once_the_lag_passes_but_found_by_key_at_once(client, clock):
    before = users(client)
    client.ok("POST", "users", new_user("kim.new@example.com"))
    assert client.ok("GET", "users/" + key("kim.new@example.com"))["primaryEmail"]
    assert users(client) == before
    clock.now += PAST_LAG
    assert "kim.new@example.com" in users(client)


def test_a_changed_user_is_listed_as_it_was(client, clock):
    jo = "users/" + key("jo@example.com")
    client.ok("PATCH", jo, {"suspended": True, "name": {"familyName": "Leigh"}})
    assert client.ok("GET", jo)["suspended"] is True
    (listed,) = [
        u
        for u in client.list_all("users", "users", customer="my_customer")
        if u["primaryEmail"] == "jo@example.com"
    ]
    assert listed["suspended"] is False and listed["name"]["familyName"] == "Lei"
    # A query is judged on what the listing shows.
    assert users(client, query="isSuspended=true") == ["abused@example.com"]
    clock.now += PAST_LAG
    assert users(client, query="isSuspended=true") == ["abused@example.com", "jo@example.com"]


def test_a_deleted_user_is_still_listed_and_its_memberships_too(client, clock):
    client.ok("DELETE", "users/" + key("jo@example.com"))
    client.fails(404, "notFound", "GET", "users/" + key("jo@example.com"))
    assert "jo@example.com" in users(client)
    assert members(client)["jo@example.com"] == "OWNER"
    # With the status it had: a member without status would name no account (and is no
    # evidence of a short read), which is not what a listing behind a deletion shows.
    listed = client.list_all(ENG + "/members", "members")
    assert next(m for m in listed if m["email"] == "jo@example.com")["status"] == "ACTIVE"
    # directMembersCount is counted when read: the listing of members disagrees with it.
    assert client.ok("GET", ENG)["directMembersCount"] == "2"
    clock.now += PAST_LAG
    assert "jo@example.com" not in users(client) and "jo@example.com" not in members(client)


def test_a_restored_user_is_listed_once_the_lag_passes(client, clock):
    gone = client.ok("GET", "users/" + key("jo@example.com"))
    client.ok("DELETE", "users/" + key("jo@example.com"))
    clock.now += PAST_LAG
    deleted = client.list_all("users", "users", customer="my_customer", showDeleted="true")
    assert [u["id"] for u in deleted] == [gone["id"]]  # the deleted users' listing: no lag
    client.ok("POST", f"users/{gone['id']}/undelete", {})
    assert "jo@example.com" not in users(client)
    assert "users" not in client.ok("GET", "users", customer="my_customer", showDeleted="true")
    clock.now += PAST_LAG
    assert "jo@example.com" in users(client)


def test_a_renamed_user_is_listed_under_its_old_address(client, clock):
    client.ok("PATCH", "users/" + key("jo@example.com"), {"primaryEmail": "joanna@example.com"})
    assert "jo@example.com" in users(client) and "joanna@example.com" not in users(client)
    # Memberships did not change: they show the account's address as it is.
    assert "joanna@example.com" in members(client)
    clock.now += PAST_LAG
    listed = users(client)
    assert "joanna@example.com" in listed and "jo@example.com" not in listed


def test_writes_within_the_lag_show_the_state_before_the_first(client, clock):
    jo = "users/" + key("jo@example.com")
    client.ok("PATCH", jo, {"name": {"familyName": "One"}})
    clock.now += LAG_S / 2
    client.ok("PATCH", jo, {"name": {"familyName": "Two"}})

    def family() -> str:
        listed = client.list_all("users", "users", customer="my_customer")
        return next(
            u["name"]["familyName"] for u in listed if u["primaryEmail"] == "jo@example.com"
        )

    assert family() == "Lei"
    clock.now += LAG_S / 2 + 0.01
    assert family() == "One"
    clock.now += LAG_S / 2
    assert family() == "Two"


def test_the_lag_keeps_the_listing_order_across_pages(client, clock):
    for n in range(5):
        client.ok("POST", "users", new_user(f"new{n}@example.com"))
    clock.now += PAST_LAG
    client.ok("DELETE", "users/" + key("new1@example.com"))
    client.ok("PATCH", "users/" + key("new3@example.com"), {"primaryEmail": "zed@example.com"})
    client.ok("POST", "users", new_user("new2b@example.com"))
    expected = sorted(
        ["abused@example.com", "admin@example.com", "jo@example.com", "sam@example.org"]
        + [f"new{n}@example.com" for n in range(5)]
    )
    for size in (1, 2, 3, 100):
        assert users(client, maxResults=size) == expected, size
        assert users(client, maxResults=size, sortOrder="DESCENDING") == expected[::-1], size
    by_name = users(client, orderBy="givenName", maxResults=2)
    assert sorted(by_name) == expected and "zed@example.com" not in by_name


def test_groups_and_org_units_lag_too(client, clock):
    client.ok("POST", "groups", {"email": "new@example.com"})
    client.ok("PATCH", ENG, {"email": "engineering@example.com"})
    client.ok("DELETE", "groups/" + key("all@example.com"))
    client.ok("POST", OUS, {"name": "Platform", "parentOrgUnitPath": "/Engineering"})
    client.ok("PATCH", OUS + "/Sales", {"name": "Revenue"})
    assert groups(client) == ["all@example.com", "eng@example.com"]
    # Still listed as it was, its member count too, but gone for gets.
    client.fails(404, "notFound", "GET", "groups/" + key("all@example.com") + "/members")
    listed = client.list_all("groups", "groups", customer="my_customer")
    assert next(g for g in listed if g["email"] == "all@example.com")["directMembersCount"] == "1"
    assert units(client) == ["/Engineering", "/Sales", "/Sales/Europe"]
    assert client.ok("GET", OUS + "/Revenue/Europe")["parentOrgUnitPath"] == "/Revenue"
    clock.now += PAST_LAG
    assert groups(client) == ["engineering@example.com", "new@example.com"]
    assert units(client) == [
        "/Engineering",
        "/Engineering/Platform",
        "/Revenue",
        "/Revenue/Europe",
    ]


def test_member_changes_lag_while_the_count_is_current(client, clock):
    client.ok("POST", ENG + "/members", {"email": "sam@example.org"})
    client.ok("PATCH", ENG + "/members/" + key("jo@example.com"), {"role": "MEMBER"})
    client.ok("DELETE", ENG + "/members/" + key("partner@outside.net"))
    assert members(client) == {
        "jo@example.com": "OWNER",
        "partner@outside.net": "MEMBER",
        "abused@example.com": "MEMBER",
    }
    assert client.ok("GET", ENG)["directMembersCount"] == "3"
    listed = client.list_all("groups", "groups", customer="my_customer")
    assert next(g for g in listed if g["email"] == "eng@example.com")["directMembersCount"] == "3"
    owners = client.list_all(ENG + "/members", "members", roles="OWNER")
    assert [m["email"] for m in owners] == ["jo@example.com"]
    clock.now += PAST_LAG
    assert members(client) == {
        "jo@example.com": "MEMBER",
        "sam@example.org": "MEMBER",
        "abused@example.com": "MEMBER",
    }


def test_what_the_lag_keeps_is_dropped_as_it_passes(client, clock):
    for n in range(20):
        client.ok("POST", "users", new_user(f"n{n}@example.com"))
    assert len(client.api._lag) == 20
    clock.now += PAST_LAG
    client.ok("GET", "users/" + key("jo@example.com"))
    assert len(client.api._lag) == 0


def test_without_a_lag_nothing_is_kept():
    client = make()
    client.ok("POST", "users", new_user("kim.new@example.com"))
    assert len(client.api._lag) == 0 and "kim.new@example.com" in users(client)


# -- renamed accounts settle like new ones (consistency delay) -------------------------------


@pytest.fixture
def settling(clock: Clock) -> Client:
    return make(clock=clock, delay=2.0)


def test_a_renamed_users_new_address_is_not_usable_at_once(settling, clock):
    client = settling
    client.ok("PATCH", "users/" + key("jo@example.com"), {"primaryEmail": "joanna@example.com"})
    client.fails(404, "notFound", "GET", "users/" + key("joanna@example.com"))
    client.fails(404, "notFound", "PATCH", "users/" + key("joanna@example.com"), {"title": "x"})
    client.fails(
        404,
        "notFound",
        "POST",
        "groups/" + key("all@example.com") + "/members",
        {"email": "joanna@example.com"},
    )
    client.fails(404, "notFound", "DELETE", ENG + "/members/" + key("joanna@example.com"))
    # The old address (now an alias) and the id work at once.
    old = client.ok("GET", "users/" + key("jo@example.com"))
    assert old["primaryEmail"] == "joanna@example.com"
    assert client.ok("GET", "users/" + old["id"])["primaryEmail"] == "joanna@example.com"
    clock.now += 2.0
    assert client.ok("GET", "users/" + key("joanna@example.com"))["id"] == old["id"]


def test_a_rename_to_an_alias_it_just_removed_settles_like_a_new_address(settling, clock):
    # A rename to an own alias is refused until the alias is removed (docs/emulator.md,
    # "Renames to an own alias"); the address it then claims is new to it again.
    client = settling
    jo = "users/" + key("jo@example.com")
    client.fails(409, "duplicate", "PATCH", jo, {"primaryEmail": "jo.lei@example.com"})
    client.ok("DELETE", jo + "/aliases/" + key("jo.lei@example.com"))
    client.ok("PATCH", jo, {"primaryEmail": "jo.lei@example.com"})
    client.fails(404, "notFound", "GET", "users/" + key("jo.lei@example.com"))
    assert client.ok("GET", jo)["primaryEmail"] == "jo.lei@example.com"  # now an alias
    clock.now += 2.0
    assert client.ok("GET", "users/" + key("jo.lei@example.com"))["primaryEmail"]


def test_a_renamed_groups_new_address_is_not_usable_at_once(settling, clock):
    client = settling
    client.ok("PATCH", ENG, {"email": "engineering@example.com"})
    client.fails(404, "notFound", "GET", "groups/" + key("engineering@example.com"))
    client.fails(404, "notFound", "GET", "groups/" + key("engineering@example.com") + "/members")
    client.fails(
        404,
        "notFound",
        "POST",
        "groups/" + key("all@example.com") + "/members",
        {"email": "engineering@example.com"},
    )
    assert client.ok("GET", ENG)["email"] == "engineering@example.com"
    clock.now += 2.0
    assert client.ok("GET", "groups/" + key("engineering@example.com"))["email"]
