"""Members as Google lists them, through the real googleapiclient: consumer Gmail accounts
under one spelling whatever spelling added them."""

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
