"""Org unit paths are case-insensitive, as Google's: `/engineering` names `/Engineering`;
listings and users show the unit's own spelling; a rename may change only the case."""

from __future__ import annotations

import copy

import pytest

from .api_support import SMALL_SEED, Client, key, make, new_user

OUS = "customer/my_customer/orgunits"


@pytest.fixture
def client() -> Client:
    seed = copy.deepcopy(SMALL_SEED)
    seed["orgUnits"].append({"orgUnitPath": "/Engineering/Platform"})
    seed["users"].append(
        {
            "primaryEmail": "lee@example.com",
            "name": {"givenName": "Lee", "familyName": "Park"},
            "orgUnitPath": "/ENGINEERING/platform",  # stored as the unit spells itself
        }
    )
    return make(seed)


def paths(listing: dict) -> list[str]:
    return [u["orgUnitPath"] for u in listing.get("organizationUnits", [])]


def user_path(client: Client, email: str) -> str:
    return client.ok("GET", "users/" + key(email))["orgUnitPath"]


def test_any_case_finds_the_unit_and_answers_its_own_spelling(client: Client) -> None:
    unit = client.ok("GET", OUS + "/engineering/PLATFORM")
    assert unit["orgUnitPath"] == "/Engineering/Platform" and unit["name"] == "Platform"
    assert unit["parentOrgUnitPath"] == "/Engineering"
    listed = client.ok("GET", OUS, type="all", orgUnitPath="/eNgInEeRiNg")
    assert paths(listed) == ["/Engineering/Platform"]
    assert paths(client.ok("GET", OUS, orgUnitPath="engineering")) == ["/Engineering/Platform"]
    users = client.ok("GET", "users", customer="my_customer", query="orgUnitPath='/engineering'")
    assert sorted(u["primaryEmail"] for u in users["users"]) == [
        "jo@example.com",
        "lee@example.com",
    ]
    assert user_path(client, "lee@example.com") == "/Engineering/Platform"


def test_a_user_written_with_another_case_is_stored_in_the_units(client: Client) -> None:
    added = client.ok("POST", "users", new_user("kim@example.com", orgUnitPath="/sales/EUROPE"))
    assert added["orgUnitPath"] == "/Sales/Europe"
    moved = client.ok("PATCH", "users/" + key("jo@example.com"), {"orgUnitPath": "/SALES"})
    assert moved["orgUnitPath"] == "/Sales"
    assert user_path(client, "jo@example.com") == "/Sales"


def test_inserting_a_path_that_differs_only_by_case_is_a_conflict(client: Client) -> None:
    same = {"name": "Engineering", "parentOrgUnitPath": "/"}
    other_case = {"name": "engineering", "parentOrgUnitPath": "/"}
    # Google answers the insert of a unit that exists 400 invalidOrgunit, whatever the case.
    exact = client.fails(400, "invalidOrgunit", "POST", OUS, same)
    assert client.fails(400, "invalidOrgunit", "POST", OUS, other_case) == exact
    under = {"name": "platform", "parentOrgUnitPath": "/ENGINEERING"}
    assert client.fails(400, "invalidOrgunit", "POST", OUS, under) == exact
    child = client.ok("POST", OUS, {"name": "Web", "parentOrgUnitPath": "/engineering"})
    assert child["orgUnitPath"] == "/Engineering/Web"
    assert child["parentOrgUnitPath"] == "/Engineering"


def test_renaming_only_the_case_carries_sub_units_and_users(client: Client) -> None:
    before = client.ok("GET", OUS + "/Engineering")
    renamed = client.ok("PATCH", OUS + "/Engineering", {"name": "engineering"})
    assert renamed["orgUnitPath"] == "/engineering" and renamed["name"] == "engineering"
    assert renamed["orgUnitId"] == before["orgUnitId"] and renamed["etag"] != before["etag"]
    assert paths(client.ok("GET", OUS, type="all")) == [
        "/engineering",
        "/engineering/Platform",
        "/Sales",
        "/Sales/Europe",
    ]
    assert client.ok("GET", OUS + "/ENGINEERING/platform")["parentOrgUnitPath"] == "/engineering"
    assert user_path(client, "jo@example.com") == "/engineering"
    assert user_path(client, "lee@example.com") == "/engineering/Platform"
    # Renamed back, in the other direction and through the sub-unit's parent's old spelling.
    client.ok("PATCH", OUS + "/Engineering/Platform", {"name": "PLATFORM"})
    assert user_path(client, "lee@example.com") == "/engineering/PLATFORM"
