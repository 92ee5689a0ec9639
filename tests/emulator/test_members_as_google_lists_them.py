"""Members as Google lists them, through the real googleapiclient: consumer Gmail accounts
under one spelling whatever spelling added them, and `status` only where Google gives one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httplib2
import pytest
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError

from reconciler.emulator.server import EmulatorServer, discovery_document
from reconciler.emulator.store import TenantStore
from reconciler.problems import InvalidInput

from .discovery_check import assert_valid_response

SEED: dict[str, Any] = {
    "domains": ["example.com"],
    "users": [
        {"primaryEmail": "admin@example.com", "name": {"givenName": "Ada", "familyName": "A"}},
        {"primaryEmail": "jo@example.com", "name": {"givenName": "Jo", "familyName": "Lei"}},
        {
            "primaryEmail": "sam@example.com",
            "name": {"givenName": "Sam", "familyName": "Okafor"},
            "suspended": True,
        },
    ],
    "groups": [
        {"email": "sub@example.com", "members": [{"email": "jo@example.com"}]},
        {
            "email": "eng@example.com",
            "members": [
                {"email": "jo@example.com", "role": "OWNER"},
                {"email": "sam@example.com"},
                {"email": "sub@example.com"},
                {"email": "partner@outside.net"},
                # Google lists these without status: no account had the address when it
                # was added (GAM 4.93.00).
                {"email": "new.hire@example.com", "status": None},
                {"email": "old-list@example.com", "type": "GROUP", "status": None},
            ],
        },
    ],
}


@pytest.fixture
def server(tmp_path: Path):
    with EmulatorServer.open(seed=SEED, state=tmp_path / "state.json") as running:
        yield running


def directory(server: EmulatorServer):
    """The real client over the emulator."""
    return build_from_document(discovery_document(server.base_url), http=httplib2.Http(timeout=10))


def listed(service, group: str = "eng@example.com") -> dict[str, dict[str, Any]]:
    page = service.members().list(groupKey=group).execute()
    assert_valid_response("directory.members.list", 200, page)
    return {m.get("email", m["id"]): m for m in page.get("members", [])}


def error_of(call) -> tuple[int, str]:
    with pytest.raises(HttpError) as caught:
        call.execute()
    return caught.value.status_code, json.loads(caught.value.content)["error"]["message"]


# -- consumer Gmail: one account, one spelling ---------------------------------------------------


def test_a_gmail_member_is_listed_under_one_spelling_whatever_spelling_added_it(server):
    service = directory(server)
    members = service.members()
    added = members.insert(
        groupKey="eng@example.com", body={"email": "John.Doe+news@GoogleMail.com"}
    ).execute()
    assert added["email"] == "johndoe@gmail.com" and added["type"] == "EXTERNAL"
    assert listed(service)["johndoe@gmail.com"]["id"] == added["id"]
    for spelling in ("johndoe@gmail.com", "j.o.h.n.doe@gmail.com", "JohnDoe+x@googlemail.com"):
        insert = members.insert(groupKey="eng@example.com", body={"email": spelling})
        assert error_of(insert) == (409, "Member already exists."), spelling
    found = members.get(groupKey="eng@example.com", memberKey="John.Doe@gmail.com").execute()
    assert found["id"] == added["id"] and found["email"] == "johndoe@gmail.com"
    has = members.hasMember(groupKey="sub@example.com", memberKey="john.doe@googlemail.com")
    assert has.execute() == {"isMember": False}
    members.insert(groupKey="sub@example.com", body={"email": "johndoe@gmail.com"}).execute()
    has = members.hasMember(groupKey="sub@example.com", memberKey="john.doe@googlemail.com")
    assert has.execute() == {"isMember": True}
    groups = service.groups().list(userKey="John.Doe@googlemail.com").execute()
    assert [g["email"] for g in groups["groups"]] == ["eng@example.com", "sub@example.com"]
    members.delete(groupKey="eng@example.com", memberKey="john.doe+old@googlemail.com").execute()
    assert "johndoe@gmail.com" not in listed(service)
    get = members.get(groupKey="eng@example.com", memberKey="johndoe@gmail.com")
    assert error_of(get) == (404, "Resource Not Found: memberKey")


def test_dots_and_tags_matter_outside_gmail(server):
    service = directory(server)
    members = service.members()
    members.insert(groupKey="eng@example.com", body={"email": "john.doe+x@Partner.org"}).execute()
    members.insert(groupKey="eng@example.com", body={"email": "johndoe@partner.org"}).execute()
    emails = set(listed(service))
    assert {"john.doe+x@partner.org", "johndoe@partner.org"} <= emails


def test_a_seed_lists_gmail_members_under_one_spelling_and_refuses_two(tmp_path: Path):
    seed = {
        "domains": ["example.com"],
        "groups": [{"email": "g@example.com", "members": [{"email": "Jo.Ann@googlemail.com"}]}],
    }
    store = TenantStore(seed=seed)
    [group] = store.tenant.to_document()["groups"]
    assert [m["email"] for m in group["members"]] == ["joann@gmail.com"]
    seed["groups"][0]["members"].append({"email": "joann+list@gmail.com"})
    with pytest.raises(InvalidInput, match=r"members\[1\]: listed twice"):
        TenantStore(seed=seed)


# -- status: present only where Google gives one --------------------------------------------------


def test_status_is_listed_for_accounts_only(server):
    service = directory(server)
    members = listed(service)
    status = {email: m.get("status") for email, m in members.items()}
    assert status == {
        "jo@example.com": "ACTIVE",
        "sam@example.com": "SUSPENDED",
        "sub@example.com": "ACTIVE",
        "partner@outside.net": None,  # GAM 4.65.52: "typically non-domain addresses"
        "new.hire@example.com": None,
        "old-list@example.com": None,
    }
    assert members["new.hire@example.com"]["type"] == "USER"
    assert members["old-list@example.com"]["type"] == "GROUP"
    customer = service.users().get(userKey="jo@example.com").execute()["customerId"]
    everyone = service.members().insert(
        groupKey="sub@example.com", body={"id": customer, "role": "MEMBER"}
    )
    assert everyone.execute()["status"] == "ACTIVE"


def test_a_member_without_status_is_found_by_its_address_and_kept_across_a_restart(
    server, tmp_path: Path
):
    service = directory(server)
    members = service.members()
    pending = members.get(groupKey="eng@example.com", memberKey="New.Hire@example.com").execute()
    assert pending["email"] == "new.hire@example.com" and "status" not in pending
    has = members.hasMember(groupKey="eng@example.com", memberKey="new.hire@example.com")
    assert has.execute() == {"isMember": True}
    patched = members.patch(
        groupKey="eng@example.com", memberKey="new.hire@example.com", body={"role": "MANAGER"}
    ).execute()
    assert patched["role"] == "MANAGER" and "status" not in patched
    server.stop()
    with EmulatorServer.open(seed=SEED, state=tmp_path / "state.json") as again:
        after = listed(directory(again))["new.hire@example.com"]
        assert after["role"] == "MANAGER" and after["id"] == pending["id"]
        assert "status" not in after


def test_a_member_without_status_keeps_its_address_once_an_account_has_it(server):
    service = directory(server)
    members = service.members()
    service.users().insert(
        body={
            "primaryEmail": "new.hire@example.com",
            "name": {"givenName": "New", "familyName": "Hire"},
            "password": "correct-horse-battery",
        }
    ).execute()
    assert "status" not in listed(service)["new.hire@example.com"]
    insert = members.insert(groupKey="eng@example.com", body={"email": "new.hire@example.com"})
    assert error_of(insert) == (409, "Member already exists.")
    members.delete(groupKey="eng@example.com", memberKey="new.hire@example.com").execute()
    assert "new.hire@example.com" not in listed(service)
    members.insert(groupKey="eng@example.com", body={"email": "new.hire@example.com"}).execute()
    assert listed(service)["new.hire@example.com"]["status"] == "ACTIVE"


def test_a_group_member_without_status_is_no_nested_group(server):
    service = directory(server)
    derived = service.members().list(groupKey="eng@example.com", includeDerivedMembership=True)
    emails = {m["email"] for m in derived.execute()["members"]}
    assert "old-list@example.com" in emails
    has = service.members().hasMember(groupKey="eng@example.com", memberKey="admin@example.com")
    assert has.execute() == {"isMember": False}


def test_a_seed_member_in_the_tenants_domains_needs_an_account_or_status_null():
    seed = {
        "domains": ["example.com"],
        "groups": [
            {
                "email": "g@example.com",
                "members": [
                    {"email": "ghost@example.com"},
                    {"email": "odd@example.com", "type": "EXTERNAL", "status": None},
                ],
            }
        ],
    }
    with pytest.raises(InvalidInput) as caught:
        TenantStore(seed=seed)
    rendered = str(caught.value)
    assert "members[0]: no user or group has the address ghost@example.com" in rendered
    assert "members[1]: a member without status is a USER or GROUP" in rendered
