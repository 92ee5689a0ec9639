"""The ownership marker and the write calls: their shape, and what their answers mean."""

from __future__ import annotations

import re

import pytest

from entra.fakes import graph_error
from reconciler.entra.client import GRAPH_V1
from reconciler.entra.marker import MARKER_EXTENSION, marker_body, owner_of
from reconciler.entra.ops import (
    add_member,
    create_group,
    mail_nickname,
    mark,
    outcome,
    remark,
    remove_member,
    update_group,
)


def test_the_marker_is_an_open_extension_carrying_the_ownership_id():
    assert marker_body("repo-123") == {
        "@odata.type": "#microsoft.graph.openTypeExtension",
        "extensionName": "reconciler.ownership",
        "ownershipId": "repo-123",
    }


@pytest.mark.parametrize(
    ("group", "owner"),
    [
        ({"extensions": [{"id": MARKER_EXTENSION, "ownershipId": "o1"}]}, "o1"),
        (
            {
                "extensions": [
                    {"extensionName": "com.other", "ownershipId": "x"},
                    {"extensionName": MARKER_EXTENSION, "ownershipId": "o2"},
                ]
            },
            "o2",
        ),
        ({"extensions": [{"extensionName": "com.other", "ownershipId": "x"}]}, None),
        ({"extensions": [{"extensionName": MARKER_EXTENSION, "ownershipId": 5}]}, None),
        ({"extensions": []}, None),
        ({}, None),
        ({"extensions": "nonsense"}, None),
    ],
)
def test_the_owner_is_read_from_the_expanded_extensions(group, owner):
    assert owner_of(group) == owner


def test_a_created_group_is_an_assigned_security_group():
    call = create_group("Engineering", "Builds things", nickname="abcd1234-e")
    assert call["method"] == "POST" and call["url"] == "/groups"
    assert call["body"] == {
        "displayName": "Engineering",
        "description": "Builds things",
        "mailEnabled": False,
        "mailNickname": "abcd1234-e",
        "securityEnabled": True,
        "groupTypes": [],
    }


def test_a_group_without_description_or_members_sends_neither():
    body = create_group("Eng", None)["body"]
    assert "description" not in body and "members@odata.bind" not in body
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]", body["mailNickname"])


def test_nicknames_are_random():
    assert len({mail_nickname() for _ in range(20)}) > 15


def test_marking_updating_adding_and_removing():
    assert mark("g1", "o", "eng") == {
        "method": "POST",
        "url": "/groups/g1/extensions",
        "body": {
            "@odata.type": "#microsoft.graph.openTypeExtension",
            "extensionName": MARKER_EXTENSION,
            "ownershipId": "o",
            "gitName": "eng",
        },
    }
    assert remark("g1", "o", "eng") == {
        "method": "PATCH",
        "url": f"/groups/g1/extensions/{MARKER_EXTENSION}",
        "body": {
            "@odata.type": "#microsoft.graph.openTypeExtension",
            "ownershipId": "o",
            "gitName": "eng",
        },
    }
    assert update_group("g1", {"displayName": "Eng", "description": "New"}) == {
        "method": "PATCH",
        "url": "/groups/g1",
        "body": {"displayName": "Eng", "description": "New"},
    }
    assert update_group("g1", {"description": ""})["body"] == {"description": None}
    assert add_member("g1", "u1") == {
        "method": "POST",
        "url": "/groups/g1/members/$ref",
        "body": {"@odata.id": f"{GRAPH_V1}/directoryObjects/u1"},
    }
    assert remove_member("g1", "u1") == {
        "method": "DELETE",
        "url": "/groups/g1/members/u1/$ref",
    }


def test_an_odd_id_cannot_escape_its_path_segment():
    assert remove_member("g1", "../../users/u1")["url"] == (
        "/groups/g1/members/..%2F..%2Fusers%2Fu1/$ref"
    )
    with pytest.raises(ValueError):
        remove_member("g1", "")


def answer(status, code="", message=""):
    return {"status": status, "headers": {}, "body": graph_error(code, message) if code else None}


ALREADY = (
    "One or more added object references already exist for the following modified "
    "properties: 'members'."
)
NOT_PRESENT = (
    "Resource 'abc' does not exist or one of its queried reference-property objects are "
    "not present."
)
NOT_REPLICATED = "The source resource object or one of the objects being referenced don't exist."


@pytest.mark.parametrize(
    ("kind", "response", "expected"),
    [
        ("create", answer(201), "done"),
        ("remove", answer(204), "done"),
        ("add", answer(400, "Request_BadRequest", ALREADY), "done"),
        ("remove", answer(404, "Request_ResourceNotFound", NOT_PRESENT), "done"),
        (
            "remove",
            answer(400, "Request_BadRequest", "One or more removed object references do not exist"),
            "done",
        ),
        ("add", answer(400, "Request_BadRequest", NOT_REPLICATED), "retry"),
        ("add", answer(404, "Request_ResourceNotFound", NOT_PRESENT), "retry"),
        ("mark", answer(404, "Request_ResourceNotFound", NOT_PRESENT), "retry"),
        ("update", answer(404, "Request_ResourceNotFound", NOT_PRESENT), "retry"),
    ],
)
def test_what_an_answer_means(kind, response, expected):
    assert outcome(kind, response) == expected


def test_an_already_exists_on_anything_but_an_add_is_an_error():
    said = outcome("create", answer(400, "Request_BadRequest", ALREADY))
    assert said not in ("done", "retry") and "400 Request_BadRequest" in said


def test_other_failures_say_the_status_code_and_graphs_words():
    said = outcome("update", answer(400, "Request_BadRequest", "Invalid value for description."))
    assert said == "400 Request_BadRequest: Invalid value for description."


@pytest.mark.parametrize(
    ("kind", "permission"),
    [("create", "Group.ReadWrite.All"), ("add", "GroupMember.ReadWrite.All")],
)
def test_a_refusal_for_want_of_rights_names_the_permission(kind, permission):
    said = outcome(kind, answer(403, "Authorization_RequestDenied", "Insufficient privileges."))
    assert permission in said and "admin consent" in said


def test_an_answer_without_a_body_says_its_status():
    assert outcome("add", {"status": 500, "headers": {}, "body": None}) == "HTTP 500"


def test_a_create_that_timed_out_at_the_gateway_says_it_may_exist():
    said = outcome("create", {"status": 504, "headers": {}, "body": None})
    assert "may have been created" in said
