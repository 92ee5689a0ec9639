"""The partial-read guards: a fetch that read less than there is raises, and returns nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CUSTOMER, DOMAINS, connect, example_tenant, managed, start_emulator

from reconciler.google.fetch import ShortReadError, fetch_actual


def fetch(client):
    return fetch_actual(client, customer=CUSTOMER, domains=DOMAINS, managed_groups=managed)


def test_members_fewer_than_direct_members_count(client, emulator):
    emulator.configure(short_listing={"members": 1})
    with pytest.raises(ShortReadError) as caught:
        fetch(client)
    message = str(caught.value)
    # The first managed group with members, by email: audit@ has 3 members, 2 listed.
    assert "audit@example.com" in message
    assert "read 2 members" in message and "directMembersCount is 3" in message


def test_a_member_page_short_on_a_later_page(tmp_path: Path):
    doc = example_tenant()
    doc["users"] += [
        {"primaryEmail": f"u{i:03d}@example.com", "name": {"givenName": "U", "familyName": "N"}}
        for i in range(230)
    ]
    doc["groups"] = [
        {
            "email": "big@example.com",
            "name": "Big",
            "members": [{"email": f"u{i:03d}@example.com", "role": "MEMBER"} for i in range(230)],
        }
    ]
    server = start_emulator(doc)
    try:
        server.configure(short_listing={"members": 1})
        with pytest.raises(ShortReadError, match=r"big@example.com: read 229 members .* is 230"):
            fetch(connect(server, tmp_path))
    finally:
        server.stop()


def test_users_listing_that_ends_early(client, emulator):
    # The last user by email (tom.becker@) is left out; he is a member of dev@ (managed).
    emulator.configure(short_listing={"users": 1})
    with pytest.raises(ShortReadError) as caught:
        fetch(client)
    message = str(caught.value)
    assert "tom.becker@example.com" in message and "dev@example.com" in message


def test_groups_listing_that_ends_early(tmp_path: Path):
    # The last group by email is left out, yet a managed group lists it as a member.
    doc = example_tenant()
    last = max(g["email"] for g in doc["groups"])
    finance = next(g for g in doc["groups"] if g["email"] == "finance@example.com")
    finance["members"].append({"email": last, "role": "MEMBER", "type": "GROUP"})
    server = start_emulator(doc)
    try:
        server.configure(short_listing={"groups": 1})
        with pytest.raises(ShortReadError, match=f"group {last} \\(a member of finance@"):
            fetch(connect(server, tmp_path))
    finally:
        server.stop()


def test_an_empty_users_listing(client, emulator):
    emulator.configure(short_listing={"users": 1000})
    with pytest.raises(ShortReadError, match="no users at all"):
        fetch(client)


def test_nothing_is_returned_from_a_short_read(client, emulator):
    emulator.configure(short_listing={"members": 1})
    result = None
    with pytest.raises(ShortReadError):
        result = fetch(client)
    assert result is None
    emulator.configure(short_listing={})
    assert fetch(client).state.users  # the same client reads fine once the listing is whole


# -- members Google lists without status -------------------------------------------------------


def with_unresolved_members(*, suspended_tom: bool = False) -> dict:
    """The example tenant, where finance@ (managed) also holds an address of ours with no
    account behind it (Google lists it without status), the customer, and a Gmail account."""
    doc = example_tenant()
    finance = next(g for g in doc["groups"] if g["email"] == "finance@example.com")
    finance["members"] += [
        {"email": "pending.hire@example.com", "role": "MEMBER", "type": "USER", "status": None},
        {"email": "old-list@example.org", "role": "MEMBER", "type": "GROUP", "status": None},
        {"type": "CUSTOMER", "role": "MEMBER"},
        {"email": "John.Doe@gmail.com", "role": "MEMBER"},
    ]
    if suspended_tom:
        next(u for u in doc["users"] if u["primaryEmail"] == "tom.becker@example.com")[
            "suspended"
        ] = True
    return doc


def test_members_without_status_are_no_sign_of_a_short_read(tmp_path: Path):
    server = start_emulator(with_unresolved_members())
    try:
        actual = fetch(connect(server, tmp_path))
    finally:
        server.stop()
    members = actual.state.groups["finance@example.com"].members
    customer = next(m for m in members.values() if m.type == "CUSTOMER")
    status = {m.email: (m.type, m.status) for m in members.values()}
    assert status == {
        "hannah.lee@example.com": ("USER", "ACTIVE"),
        "audit@example.com": ("GROUP", "ACTIVE"),
        "pending.hire@example.com": ("USER", None),
        "old-list@example.org": ("GROUP", None),
        customer.email: ("CUSTOMER", "ACTIVE"),
        "johndoe@gmail.com": ("EXTERNAL", None),  # Google's spelling of the account
    }


@pytest.mark.parametrize("suspended", [False, True])
def test_a_listed_member_missing_from_the_users_listing_still_aborts(tmp_path: Path, suspended):
    # tom.becker@ (last by email, left out) is a member of dev@ with a status: an account.
    server = start_emulator(with_unresolved_members(suspended_tom=suspended))
    try:
        server.configure(short_listing={"users": 1})
        with pytest.raises(ShortReadError) as caught:
            fetch(connect(server, tmp_path))
    finally:
        server.stop()
    message = str(caught.value)
    assert "user tom.becker@example.com (a member of dev@example.com)" in message
    assert "pending.hire" not in message and "old-list" not in message
