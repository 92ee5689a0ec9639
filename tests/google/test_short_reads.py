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
    # The first managed group with members, by email: audit@ has 2 members, 1 listed.
    assert "audit@example.com" in message
    assert "read 1 members" in message and "directMembersCount is 2" in message


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
