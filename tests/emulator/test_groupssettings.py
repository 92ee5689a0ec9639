"""The Groups Settings API through the real googleapiclient over loopback: the resource and
its defaults, get/update/patch, Google's refusals, the `alt` quirk, the group behind the
settings (renames, deletes, new groups), scopes, batches, seeds and persistence."""

from __future__ import annotations

import copy
import http.client
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from reconciler.emulator.api import DirectoryApi
from reconciler.emulator.group_settings import DEFAULTS, DOCUMENTED_DEFAULTS
from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.store import TenantStore
from reconciler.group_settings_fields import FIELDS
from reconciler.problems import InvalidInput

from .api_support import access_token
from .real_client import checked, emulator_json, real_service, refusal

SETTINGS_SCOPE = "https://www.googleapis.com/auth/apps.groups.settings"
GROUP_SCOPE = "https://www.googleapis.com/auth/admin.directory.group"
ADMIN = "admin@example.com"
ENG = "eng@example.com"
GET, UPDATE, PATCH = (f"groupsSettings.groups.{m}" for m in ("get", "update", "patch"))
NONE_CAN_POST = "Invalid attribute value: whoCanPostMessages=NONE_CAN_POST"
ARCHIVE_ONLY = (
    "Inconsistent Input: If archiveOnly is true then PostPermission can only be NONE_CAN_POST"
)
NON_MEMBERS = (
    "Can't set messageModerationLevel as MODERATE_NON_MEMBERS when non-members can't post."
)

SEED: dict[str, Any] = {
    "domains": ["example.com"],
    "users": [
        {
            "primaryEmail": ADMIN,
            "id": "100000000000000000001",
            "name": {"givenName": "Ada", "familyName": "Admin"},
            "isAdmin": True,
        },
        {
            "primaryEmail": "bob@example.com",
            "id": "100000000000000000002",
            "name": {"givenName": "Bob", "familyName": "Test"},
        },
    ],
    "groups": [
        {
            "email": ENG,
            "id": "200000000000000000001",
            "name": "Engineering",
            "description": "The builders",
            "aliases": ["builders@example.com"],
            "settings": {"whoCanJoin": "INVITED_CAN_JOIN", "allowExternalMembers": "true"},
        },
        {"email": "ops@example.com", "id": "200000000000000000002", "name": "Ops"},
    ],
}


@pytest.fixture
def server(tmp_path: Path):
    with EmulatorServer.open(seed=copy.deepcopy(SEED), state=tmp_path / "state.json") as running:
        yield running


@pytest.fixture
def settings(server: EmulatorServer):
    return real_service(server, "groupssettings_v1", [SETTINGS_SCOPE], subject=ADMIN)


def get(api: Any, email: str = ENG) -> dict[str, Any]:
    return checked(GET, api.groups().get(groupUniqueId=email))


def raw(server: EmulatorServer, method: str, target: str, body: Any = None) -> tuple[int, Any]:
    """One call over plain HTTP with a token for the settings scope."""
    token = access_token(server.base_url, [SETTINGS_SCOPE], ADMIN)
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, target, body=data, headers=headers)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


# -- discovery --------------------------------------------------------------------------------


def test_the_discovery_document_is_served_with_its_own_batch_path(server: EmulatorServer):
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=10)
    try:
        conn.request("GET", "/discovery/v1/apis/groupssettings/v1/rest")
        answer = conn.getresponse()
        doc = json.loads(answer.read())
    finally:
        conn.close()
    root = server.base_url + "/"
    assert answer.status == 200 and (doc["name"], doc["version"]) == ("groupssettings", "v1")
    assert (doc["rootUrl"], doc["baseUrl"]) == (root, root + "groups/v1/groups/")
    assert doc["batchPath"] == "batch/groupssettings/v1"


# -- the resource -----------------------------------------------------------------------------


def test_a_group_without_settings_has_the_defaults(settings):
    got = get(settings, "ops@example.com")
    assert got["kind"] == "groupsSettings#groups"
    assert (got["email"], got["name"], got["description"]) == ("ops@example.com", "Ops", "")
    for name, value in DEFAULTS.items():
        assert got[name] == value, name
    assert DOCUMENTED_DEFAULTS["whoCanJoin"] == "CAN_REQUEST_TO_JOIN"
    assert got["allowExternalMembers"] == "false" and got["whoCanPostMessage"] == "ANYONE_CAN_POST"
    # Every setting Git may set is answered, as a string; the fixed ones too.
    assert {f.api for f in FIELDS} - {"defaultMessageDenyNotificationText"} <= set(got)
    assert got["maxMessageBytes"] == 26214400 and got["messageDisplayFont"] == "DEFAULT_FONT"
    # Absent until set (the document: "has no value in the API's response body").
    assert "defaultMessageDenyNotificationText" not in got


def test_a_seeded_groups_settings_and_its_directory_fields(settings):
    got = get(settings, "Eng@Example.com")  # the primary address, any case
    assert (got["email"], got["name"], got["description"]) == (ENG, "Engineering", "The builders")
    assert (got["whoCanJoin"], got["allowExternalMembers"]) == ("INVITED_CAN_JOIN", "true")
    assert got["whoCanViewGroup"] == DEFAULTS["whoCanViewGroup"]


def test_patch_changes_only_what_it_names_and_answers_the_whole_resource(settings, server):
    done = checked(
        PATCH,
        settings.groups().patch(
            groupUniqueId=ENG,
            body={"whoCanViewMembership": "ALL_MANAGERS_CAN_VIEW", "kind": "ignored"},
        ),
    )
    assert done == get(settings)
    assert done["whoCanViewMembership"] == "ALL_MANAGERS_CAN_VIEW"
    assert (done["whoCanJoin"], done["allowExternalMembers"]) == ("INVITED_CAN_JOIN", "true")
    _, doc = emulator_json(server, "GET", "state")
    entry = next(g for g in doc["groups"] if g["email"] == ENG)
    assert entry["settings"] == {
        "allowExternalMembers": "true",
        "whoCanJoin": "INVITED_CAN_JOIN",
        "whoCanViewMembership": "ALL_MANAGERS_CAN_VIEW",
    }


def test_update_replaces_the_settings_its_body_leaves_out_with_the_defaults(settings):
    done = checked(
        UPDATE,
        settings.groups().update(
            groupUniqueId=ENG, body={"email": ENG, "whoCanLeaveGroup": "NONE_CAN_LEAVE"}
        ),
    )
    assert done["whoCanLeaveGroup"] == "NONE_CAN_LEAVE"
    assert (done["whoCanJoin"], done["allowExternalMembers"]) == (
        DEFAULTS["whoCanJoin"],
        "false",
    )
    assert get(settings) == done


def test_read_only_and_merged_fields_are_ignored(settings):
    body = {"maxMessageBytes": 1, "whoCanAdd": "ALL_MEMBERS_CAN_ADD", "name": "Renamed here"}
    done = settings.groups().patch(groupUniqueId=ENG, body=body).execute()
    assert (done["maxMessageBytes"], done["name"]) == (26214400, "Engineering")
    assert "whoCanAdd" not in done


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"whoCanJoin": "EVERYONE"},
        {"whoCanJoin": "invited_can_join"},  # case-sensitive, as the document lists them
        {"allowExternalMembers": "yes"},
        {"allowExternalMembers": True},  # booleans are strings
        {"customFooterText": "x" * 1001},
    ],
)
def test_a_value_outside_the_allowed_ones_is_invalid(settings, body: dict[str, Any]):
    assert refusal(settings.groups().patch(groupUniqueId=ENG, body=body)) == (
        400,
        "invalid",
        "Invalid Value",
    )
    assert get(settings)["whoCanJoin"] == "INVITED_CAN_JOIN"  # nothing changed


def test_none_can_post_needs_archive_only_and_archive_only_needs_none_can_post(settings):
    groups = settings.groups()
    alone = groups.patch(groupUniqueId=ENG, body={"whoCanPostMessage": "NONE_CAN_POST"})
    assert refusal(alone) == (400, "invalid", NONE_CAN_POST)
    # archiveOnly alone sets the post permission to NONE_CAN_POST (the document); with
    # another post permission in the same write it is refused.
    archive = groups.patch(
        groupUniqueId=ENG, body={"archiveOnly": "true", "whoCanPostMessage": "ANYONE_CAN_POST"}
    )
    assert refusal(archive) == (400, "invalid", ARCHIVE_ONLY)
    alone_archived = groups.patch(groupUniqueId=ENG, body={"archiveOnly": "true"}).execute()
    assert alone_archived["whoCanPostMessage"] == "NONE_CAN_POST"
    back_first = {"whoCanPostMessage": "ALL_MEMBERS_CAN_POST", "archiveOnly": "false"}
    groups.patch(groupUniqueId=ENG, body=back_first).execute()
    both = {"whoCanPostMessage": "NONE_CAN_POST", "archiveOnly": "true"}
    assert groups.patch(groupUniqueId=ENG, body=both).execute()["archiveOnly"] == "true"
    # Back from an archive: both again, or it is refused.
    other = groups.patch(groupUniqueId=ENG, body={"whoCanPostMessage": "ALL_MEMBERS_CAN_POST"})
    assert refusal(other) == (400, "invalid", ARCHIVE_ONLY)
    back = {"whoCanPostMessage": "ALL_MEMBERS_CAN_POST", "archiveOnly": "false"}
    assert groups.patch(groupUniqueId=ENG, body=back).execute()["archiveOnly"] == "false"


def test_moderating_non_members_needs_non_members_who_can_post(settings):
    groups = settings.groups()
    closed = {"whoCanPostMessage": "ALL_MEMBERS_CAN_POST"}
    groups.patch(groupUniqueId=ENG, body=closed).execute()
    moderate = {"messageModerationLevel": "MODERATE_NON_MEMBERS"}
    assert refusal(groups.patch(groupUniqueId=ENG, body=moderate)) == (400, "invalid", NON_MEMBERS)
    opened = {**moderate, "whoCanPostMessage": "ALL_IN_DOMAIN_CAN_POST"}
    assert groups.patch(groupUniqueId=ENG, body=opened).execute()["messageModerationLevel"] == (
        "MODERATE_NON_MEMBERS"
    )


def test_the_address_is_not_changed_here(settings):
    move = settings.groups().patch(groupUniqueId=ENG, body={"email": "new@example.com"})
    assert refusal(move)[:2] == (400, "invalid")
    same = settings.groups().patch(groupUniqueId=ENG, body={"email": "ENG@example.com"})
    assert same.execute()["email"] == ENG


def test_a_name_the_resource_does_not_have_is_refused(settings):
    status, reason, message = refusal(
        settings.groups().patch(groupUniqueId=ENG, body={"whoCanJion": "INVITED_CAN_JOIN"})
    )
    assert (status, reason) == (400, "invalid") and "whoCanJion" in message


@pytest.mark.parametrize(
    "key", ["nobody@example.com", "builders@example.com", "200000000000000000001"]
)
def test_only_a_groups_primary_address_names_it(settings, key: str):
    status, reason, _ = refusal(settings.groups().get(groupUniqueId=key))
    assert (status, reason) == (404, "notFound")
    status, reason, _ = refusal(settings.groups().patch(groupUniqueId=key, body={}))
    assert (status, reason) == (404, "notFound")


def test_without_alt_json_the_call_is_refused(server: EmulatorServer):
    for target in (
        "/groups/v1/groups/eng%40example.com",
        "/groups/v1/groups/eng%40example.com?alt=atom",
    ):
        status, body = raw(server, "GET", target)
        assert status == 400
        assert body["error"]["errors"][0]["reason"] == "invalidParameter"
        assert "alt=json" in body["error"]["message"]
    status, body = raw(server, "GET", "/groups/v1/groups/eng%40example.com?alt=json")
    assert (status, body["email"]) == (200, ENG)


# -- the group behind the settings ------------------------------------------------------------


def test_a_renamed_group_keeps_its_settings_and_a_deleted_ones_go(settings, server):
    directory = real_service(server, "directory_v1", [GROUP_SCOPE], subject=ADMIN)
    directory.groups().patch(groupKey=ENG, body={"email": "eng2@example.com"}).execute()
    moved = get(settings, "eng2@example.com")
    assert (moved["email"], moved["whoCanJoin"]) == ("eng2@example.com", "INVITED_CAN_JOIN")
    assert refusal(settings.groups().get(groupUniqueId=ENG))[0] == 404  # an alias now
    directory.groups().delete(groupKey="eng2@example.com").execute()
    assert refusal(settings.groups().get(groupUniqueId="eng2@example.com"))[0] == 404
    _, doc = emulator_json(server, "GET", "state")
    assert all("settings" not in g for g in doc["groups"])
    # A new group of the old address starts from the defaults.
    directory.groups().insert(body={"email": ENG, "name": "Again"}).execute()
    assert get(settings)["whoCanJoin"] == DEFAULTS["whoCanJoin"]


def test_a_group_created_moments_ago_is_not_found_yet(settings, server):
    server.configure(consistency_delay_ms=600_000)
    directory = real_service(server, "directory_v1", [GROUP_SCOPE], subject=ADMIN)
    directory.groups().insert(body={"email": "new@example.com", "name": "New"}).execute()
    write = settings.groups().patch(
        groupUniqueId="new@example.com", body={"whoCanJoin": "INVITED_CAN_JOIN"}
    )
    assert refusal(write)[:2] == (404, "notFound")
    server.configure(consistency_delay_ms=0)
    assert write.execute()["whoCanJoin"] == "INVITED_CAN_JOIN"


# -- authorization and batches ----------------------------------------------------------------


def test_calls_need_the_settings_scope_and_an_admin(server):
    directory_scoped = real_service(server, "groupssettings_v1", [GROUP_SCOPE], subject=ADMIN)
    assert refusal(directory_scoped.groups().get(groupUniqueId=ENG))[:2] == (
        403,
        "insufficientPermissions",
    )
    write = directory_scoped.groups().patch(groupUniqueId=ENG, body={})
    assert refusal(write)[:2] == (403, "insufficientPermissions")
    not_admin = real_service(
        server, "groupssettings_v1", [SETTINGS_SCOPE], subject="bob@example.com"
    )
    assert refusal(not_admin.groups().get(groupUniqueId=ENG))[:2] == (403, "forbidden")
    # And the settings scope reaches no other API.
    directory = real_service(server, "directory_v1", [SETTINGS_SCOPE], subject=ADMIN)
    assert refusal(directory.groups().get(groupKey=ENG))[:2] == (403, "insufficientPermissions")


def test_settings_calls_batch_at_the_documents_batch_path(settings, server):
    answers: dict[str, Any] = {}

    def collect(request_id: str, response: Any, exception: Any) -> None:
        answers[request_id] = exception or response

    batch = settings.new_batch_http_request(callback=collect)
    assert batch._batch_uri == server.base_url + "/batch/groupssettings/v1"
    batch.add(settings.groups().get(groupUniqueId=ENG), request_id="eng")
    batch.add(settings.groups().get(groupUniqueId="ops@example.com"), request_id="ops")
    batch.add(
        settings.groups().patch(groupUniqueId="ops@example.com", body={"isArchived": "true"}),
        request_id="patch",
    )
    batch.add(settings.groups().get(groupUniqueId="no@example.com"), request_id="none")
    batch.execute()
    assert answers["eng"]["whoCanJoin"] == "INVITED_CAN_JOIN"
    assert answers["ops"]["email"] == "ops@example.com"
    assert answers["patch"]["isArchived"] == "true"
    assert answers["none"].status_code == 404
    stats = emulator_json(server, "GET", "stats")[1]
    assert stats["by_method"][GET] == 3 and stats["by_method"][PATCH] == 1


def _batch(server: EmulatorServer, batch_path: str, paths: list[str]) -> tuple[int, str]:
    token = access_token(server.base_url, [SETTINGS_SCOPE, GROUP_SCOPE], ADMIN)
    boundary = "===============" + uuid.uuid4().hex + "=="
    parts = ""
    for n, path in enumerate(paths):
        parts += (
            f"--{boundary}\nContent-Type: application/http\nContent-ID: <x + {n}>\n\n"
            f"GET {path} HTTP/1.1\nAuthorization: Bearer {token}\n\n"
        )
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=10)
    try:
        headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
        body = (parts + f"--{boundary}--\n").encode()
        conn.request("POST", batch_path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def test_a_batch_holds_settings_calls_at_their_batch_path_only(server: EmulatorServer):
    settings_call = "/groups/v1/groups/eng%40example.com?alt=json"
    directory_call = "/admin/directory/v1/groups/eng%40example.com"
    status, text = _batch(server, "/batch/groupssettings/v1", [settings_call, directory_call])
    assert status == 400 and "one API" in text
    status, text = _batch(server, "/batch", [settings_call])
    assert status == 400 and "one API" in text
    status, text = _batch(server, "/batch/groupssettings/v1", [directory_call])
    assert status == 400 and "one API" in text
    status, text = _batch(server, "/batch/groupssettings/v1", [settings_call])
    assert status == 200 and '"whoCanJoin":"INVITED_CAN_JOIN"' in text


# -- persistence ------------------------------------------------------------------------------


def test_settings_survive_a_restart_and_a_crash(tmp_path: Path):
    state = tmp_path / "state.json"
    with EmulatorServer.open(seed=copy.deepcopy(SEED), state=state) as running:
        api = real_service(running, "groupssettings_v1", [SETTINGS_SCOPE], subject=ADMIN)
        api.groups().patch(
            groupUniqueId="ops@example.com", body={"whoCanViewGroup": "ALL_MANAGERS_CAN_VIEW"}
        ).execute()
        api.groups().patch(groupUniqueId=ENG, body={"allowExternalMembers": "false"}).execute()
        before = {e: get(api, e) for e in (ENG, "ops@example.com")}
    with EmulatorServer.open(state=state) as running:
        api = real_service(running, "groupssettings_v1", [SETTINGS_SCOPE], subject=ADMIN)
        assert {e: get(api, e) for e in (ENG, "ops@example.com")} == before
    store = TenantStore(state=state)
    with EmulatorServer(DirectoryApi(store)) as running:  # no persist: the store stays open
        api = real_service(running, "groupssettings_v1", [SETTINGS_SCOPE], subject=ADMIN)
        api.groups().patch(groupUniqueId=ENG, body={"replyTo": "REPLY_TO_LIST"}).execute()
        snapshot = store.snapshot()
    store.close(compact=False)  # what a crash leaves: the journal, not compacted
    again = TenantStore(state=state)
    try:
        assert again.snapshot() == snapshot
        eng = next(g for g in snapshot["groups"] if g["email"] == ENG)
        assert eng["settings"] == {"replyTo": "REPLY_TO_LIST", "whoCanJoin": "INVITED_CAN_JOIN"}
    finally:
        again.close()


# -- seeds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"whoCanJion": "INVITED_CAN_JOIN"}, "'whoCanJion' is no group setting (did you mean"),
        ({"whoCanJoin": "EVERYONE"}, "settings.whoCanJoin: 'EVERYONE' is not one of"),
        ({"allowExternalMembers": True}, 'is not the string "true" or "false"'),
        ({"whoCanPostMessage": "NONE_CAN_POST"}, NONE_CAN_POST),
        ({"archiveOnly": "true"}, ARCHIVE_ONLY),
        (
            {
                "whoCanPostMessage": "ALL_MEMBERS_CAN_POST",
                "messageModerationLevel": "MODERATE_NON_MEMBERS",
            },
            NON_MEMBERS,
        ),
        (["whoCanJoin"], "settings: expected a mapping"),
    ],
)
def test_a_seeds_settings_are_checked(given: Any, message: str):
    doc = copy.deepcopy(SEED)
    doc["groups"][1]["settings"] = given
    with pytest.raises(InvalidInput) as caught:
        TenantStore(seed=doc)
    assert message in str(caught.value)
    assert "groups[1] (ops@example.com)" in str(caught.value)


def test_seed_settings_problems_name_their_line(tmp_path: Path):
    seed = tmp_path / "tenant.yaml"
    seed.write_text(
        "domains: [example.com]\n"
        "groups:\n"
        "  - email: eng@example.com\n"
        "    settings:\n"
        "      whoCanJoin: INVITED_CAN_JOIN\n"
        "      allowExternalMembers: maybe\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as caught:
        TenantStore(seed=seed)
    assert "tenant.yaml:6:" in str(caught.value) and "allowExternalMembers" in str(caught.value)
