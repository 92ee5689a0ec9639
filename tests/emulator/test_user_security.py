"""A user's OAuth tokens, application-specific passwords, backup codes and sign-outs, through
the real googleapiclient over loopback: Google's shapes and refusals, the scope the discovery
document lists, seeds and persistence."""

from __future__ import annotations

import copy
import http.client
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from reconciler.emulator.api import DirectoryApi
from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.store import TenantStore
from reconciler.problems import InvalidInput

from .api_support import access_token
from .real_client import (
    USER,
    USER_SECURITY,
    checked,
    emulator_json,
    real_service,
    refusal,
    state_user,
)

ADMIN = "admin@example.com"
DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
SEED: dict[str, Any] = {
    "domains": ["example.com"],
    "users": [
        {
            "primaryEmail": ADMIN,
            "name": {"givenName": "Ada", "familyName": "Admin"},
            "isAdmin": True,
        },
        {
            "primaryEmail": "jo@example.com",
            "name": {"givenName": "Jo", "familyName": "Lei"},
            "aliases": ["jo.lei@example.com"],
            "tokens": [
                {
                    "clientId": "1095133494869.apps.googleusercontent.com",
                    "displayText": "Sync for Outlook",
                    "nativeApp": True,
                    "scopes": ["https://mail.google.com/"],
                },
                {"clientId": "other.apps.googleusercontent.com", "scopes": [DRIVE_SCOPE]},
            ],
            "asps": [
                {"codeId": 7, "name": "Old mail client", "creationTime": "1700000000000"},
                {"name": "Printer", "lastTimeUsed": 1710000000000},
            ],
            "verificationCodes": ["12345678", "87654321"],
        },
        {
            "primaryEmail": "sam@example.com",
            "name": {"givenName": "Sam", "familyName": "Okafor"},
            "suspended": True,
            "verificationCodes": ["11112222"],
            "tokens": [{"clientId": "c.apps.googleusercontent.com"}],
        },
        {"primaryEmail": "bare@example.com", "name": {"givenName": "Bo", "familyName": "Re"}},
    ],
}


@pytest.fixture
def server(tmp_path: Path):
    with EmulatorServer.open(seed=copy.deepcopy(SEED), state=tmp_path / "state.json") as running:
        yield running


@pytest.fixture
def directory(server: EmulatorServer):
    return real_service(server, "directory_v1", [USER_SECURITY, USER], subject=ADMIN)


def user_id(directory, email: str) -> str:
    return directory.users().get(userKey=email).execute()["id"]


# -- tokens -----------------------------------------------------------------------------------


def test_tokens_are_listed_got_and_deleted_in_googles_shapes(directory):
    jo = user_id(directory, "jo@example.com")
    listed = checked("directory.tokens.list", directory.tokens().list(userKey="jo@example.com"))
    assert listed["kind"] == "admin#directory#tokenList" and listed["etag"]
    outlook, other = listed["items"]
    assert outlook == {
        "kind": "admin#directory#token",
        "etag": outlook["etag"],
        "clientId": "1095133494869.apps.googleusercontent.com",
        "displayText": "Sync for Outlook",
        "anonymous": False,
        "nativeApp": True,
        "scopes": ["https://mail.google.com/"],
        "userKey": jo,
    }
    assert "displayText" not in other and other["scopes"] == [DRIVE_SCOPE]
    # The user by alias or by id, as users.get finds it.
    got = checked(
        "directory.tokens.get",
        directory.tokens().get(userKey="jo.lei@example.com", clientId=other["clientId"]),
    )
    assert got == other
    checked(
        "directory.tokens.delete",
        directory.tokens().delete(userKey=jo, clientId=outlook["clientId"]),
    )
    again = checked("directory.tokens.list", directory.tokens().list(userKey="jo@example.com"))
    assert again["items"] == [other] and again["etag"] != listed["etag"]


def test_an_unknown_token_or_user_is_not_found(directory):
    for request in (
        directory.tokens().get(userKey="jo@example.com", clientId="nobody.apps"),
        directory.tokens().delete(userKey="jo@example.com", clientId="nobody.apps"),
    ):
        assert refusal(request) == (404, "notFound", "Resource Not Found: clientId")
    for request in (
        directory.tokens().list(userKey="nobody@example.com"),
        directory.asps().list(userKey="nobody@example.com"),
        directory.verificationCodes().list(userKey="nobody@example.com"),
        directory.verificationCodes().generate(userKey="nobody@example.com"),
        directory.users().signOut(userKey="nobody@example.com"),
    ):
        assert refusal(request) == (404, "notFound", "Resource Not Found: userKey")


def test_a_user_with_none_lists_no_items_key(directory):
    for method_id, request in (
        ("directory.tokens.list", directory.tokens().list(userKey="bare@example.com")),
        ("directory.asps.list", directory.asps().list(userKey="bare@example.com")),
        (
            "directory.verificationCodes.list",
            directory.verificationCodes().list(userKey="bare@example.com"),
        ),
    ):
        listed = checked(method_id, request)
        assert set(listed) == {"kind", "etag"}, listed


# -- application-specific passwords -----------------------------------------------------------


def test_asps_are_listed_got_and_deleted(directory):
    jo = user_id(directory, "jo@example.com")
    listed = checked("directory.asps.list", directory.asps().list(userKey="jo@example.com"))
    assert listed["kind"] == "admin#directory#aspList"
    old, printer = listed["items"]
    assert old == {
        "kind": "admin#directory#asp",
        "etag": old["etag"],
        "codeId": 7,
        "name": "Old mail client",
        "creationTime": "1700000000000",
        "lastTimeUsed": "0",  # never used
        "userKey": jo,
    }
    assert printer["codeId"] == 8 and printer["lastTimeUsed"] == "1710000000000"
    assert re.fullmatch(r"\d+", printer["creationTime"])  # the seed's load time, epoch ms
    assert checked("directory.asps.get", directory.asps().get(userKey=jo, codeId=8)) == printer
    checked("directory.asps.delete", directory.asps().delete(userKey="jo@example.com", codeId=7))
    assert directory.asps().list(userKey=jo).execute()["items"] == [printer]


def test_an_unknown_asp_is_invalid_input(directory, server):
    # Unverified: GAM's asps.delete expects invalid (not notFound) for a code that is gone.
    for request in (
        directory.asps().get(userKey="jo@example.com", codeId=99),
        directory.asps().delete(userKey="jo@example.com", codeId=99),
    ):
        assert refusal(request) == (400, "invalid", "Invalid Input: codeId")
    # googleapiclient refuses a codeId that is no integer itself; over plain HTTP:
    token = access_token(server.base_url, [USER_SECURITY], ADMIN)
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=10)
    try:
        conn.request(
            "GET",
            "/admin/directory/v1/users/jo%40example.com/asps/abc",
            headers={"Authorization": "Bearer " + token},
        )
        answer = conn.getresponse()
        body = json.loads(answer.read())
    finally:
        conn.close()
    assert answer.status == 400
    assert body["error"]["errors"][0]["reason"] == "invalidParameter"
    assert body["error"]["errors"][0]["location"] == "codeId"


# -- backup verification codes ----------------------------------------------------------------


def test_codes_are_generated_ten_at_a_time_and_invalidated(directory):
    jo = user_id(directory, "jo@example.com")
    listed = checked(
        "directory.verificationCodes.list", directory.verificationCodes().list(userKey=jo)
    )
    assert [c["verificationCode"] for c in listed["items"]] == ["12345678", "87654321"]
    assert listed["items"][0]["kind"] == "admin#directory#verificationCode"
    assert {c["userId"] for c in listed["items"]} == {jo}
    assert (
        checked(
            "directory.verificationCodes.generate",
            directory.verificationCodes().generate(userKey="jo@example.com"),
        )
        is None
    )
    codes = [
        c["verificationCode"]
        for c in directory.verificationCodes().list(userKey=jo).execute()["items"]
    ]
    assert len(codes) == len(set(codes)) == 10
    assert all(re.fullmatch(r"\d{8}", c) for c in codes)
    assert not {"12345678", "87654321"} & set(codes)  # the old set is no longer valid
    checked(
        "directory.verificationCodes.invalidate",
        directory.verificationCodes().invalidate(userKey="jo.lei@example.com"),
    )
    assert "items" not in directory.verificationCodes().list(userKey=jo).execute()


def test_a_suspended_users_codes_can_be_read_but_not_changed(directory):
    for request in (
        directory.verificationCodes().generate(userKey="sam@example.com"),
        directory.verificationCodes().invalidate(userKey="sam@example.com"),
    ):
        assert refusal(request) == (400, "invalid", "Invalid Input")
    listed = directory.verificationCodes().list(userKey="sam@example.com").execute()
    assert [c["verificationCode"] for c in listed["items"]] == ["11112222"]
    # Tokens of a suspended user can still be revoked.
    directory.tokens().delete(
        userKey="sam@example.com", clientId="c.apps.googleusercontent.com"
    ).execute()
    assert "items" not in directory.tokens().list(userKey="sam@example.com").execute()


# -- sign-out ---------------------------------------------------------------------------------


def test_sign_out_answers_nothing_and_is_counted_in_the_state(directory, server):
    assert "signOuts" not in state_user(server, "jo@example.com")
    assert (
        checked("directory.users.signOut", directory.users().signOut(userKey="jo@example.com"))
        is None
    )
    directory.users().signOut(userKey="jo.lei@example.com").execute()
    directory.users().signOut(userKey="sam@example.com").execute()  # suspended: allowed
    jo = state_user(server, "jo@example.com")
    assert jo["signOuts"] == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", jo["lastSignOutTime"])
    # Signing out revokes neither tokens nor passwords nor codes.
    assert len(jo["tokens"]) == 2 and len(jo["asps"]) == 2 and len(jo["verificationCodes"]) == 2
    assert state_user(server, "sam@example.com")["signOuts"] == 1


# -- authorization ----------------------------------------------------------------------------


def test_every_method_needs_the_user_security_scope(server):
    user_only = real_service(server, "directory_v1", [USER], subject=ADMIN)
    for request in (
        user_only.tokens().list(userKey="jo@example.com"),
        user_only.tokens().delete(userKey="jo@example.com", clientId="x"),
        user_only.asps().list(userKey="jo@example.com"),
        user_only.verificationCodes().generate(userKey="jo@example.com"),
        user_only.users().signOut(userKey="jo@example.com"),
    ):
        status, reason, _ = refusal(request)
        assert (status, reason) == (403, "insufficientPermissions")
    not_admin = real_service(server, "directory_v1", [USER_SECURITY], subject="jo@example.com")
    assert refusal(not_admin.tokens().list(userKey="jo@example.com"))[:2] == (403, "forbidden")


# -- consistency, deletion, batches -----------------------------------------------------------


def test_a_new_user_is_not_found_and_not_writable_until_it_settles(directory, server):
    server.configure(consistency_delay_ms=60_000)
    body = {
        "primaryEmail": "new@example.com",
        "name": {"givenName": "New", "familyName": "Hire"},
        "password": "correct-horse-battery",
    }
    directory.users().insert(body=body).execute()
    assert refusal(directory.tokens().list(userKey="new@example.com"))[:2] == (404, "notFound")
    status, _, message = refusal(directory.users().signOut(userKey="new@example.com"))
    assert (status, message) == (412, "User creation is not complete.")


def test_a_deleted_user_is_not_found_and_gets_its_tokens_back_when_restored(directory, server):
    jo = user_id(directory, "jo@example.com")
    directory.users().delete(userKey=jo).execute()
    assert refusal(directory.tokens().list(userKey=jo))[:2] == (404, "notFound")
    assert len(state_user(server, "jo@example.com", "deletedUsers")["tokens"]) == 2
    directory.users().undelete(userKey=jo, body={}).execute()
    assert len(directory.tokens().list(userKey=jo).execute()["items"]) == 2


def test_tokens_are_revoked_in_a_batch(directory):
    tokens = directory.tokens().list(userKey="jo@example.com").execute()["items"]
    answers: dict[str, Any] = {}
    batch = directory.new_batch_http_request(
        callback=lambda rid, response, exc: answers.update({rid: exc or response})
    )
    for token in tokens:
        batch.add(directory.tokens().delete(userKey="jo@example.com", clientId=token["clientId"]))
    batch.add(directory.tokens().delete(userKey="jo@example.com", clientId="nobody"))
    batch.execute()
    assert [type(a).__name__ for a in answers.values()] == ["str", "str", "HttpError"]
    assert "items" not in directory.tokens().list(userKey="jo@example.com").execute()


# -- seeds and persistence --------------------------------------------------------------------


def test_changes_survive_a_crash_and_a_restart(tmp_path: Path):
    state = tmp_path / "state.json"
    store = TenantStore(seed=copy.deepcopy(SEED), state=state)
    running = EmulatorServer(DirectoryApi(store))  # no persist: the store is not closed
    with running:
        service = real_service(running, "directory_v1", [USER_SECURITY], subject=ADMIN)
        service.tokens().delete(
            userKey="jo@example.com", clientId="other.apps.googleusercontent.com"
        ).execute()
        service.asps().delete(userKey="jo@example.com", codeId=7).execute()
        service.verificationCodes().generate(userKey="jo@example.com").execute()
        service.users().signOut(userKey="jo@example.com").execute()
        service.verificationCodes().invalidate(userKey="bare@example.com").execute()
        before = store.snapshot()
    store.close(compact=False)  # what a crash leaves: the journal, not compacted
    assert len(state.with_name("state.json.journal").read_text().splitlines()) == 5
    again = TenantStore(state=state)  # replayed
    try:
        after = again.snapshot()
    finally:
        again.close()
    assert after == before
    jo = next(u for u in after["users"] if u["primaryEmail"] == "jo@example.com")
    assert [t["clientId"] for t in jo["tokens"]] == ["1095133494869.apps.googleusercontent.com"]
    assert [a["codeId"] for a in jo["asps"]] == [8] and jo["signOuts"] == 1
    assert len(jo["verificationCodes"]) == 10
    assert TenantStore(seed=after).snapshot() == after  # the state is a seed of the same tenant


def test_a_seeds_security_entries_are_checked_and_located(tmp_path: Path):
    seed = tmp_path / "tenant.yaml"
    seed.write_text(
        "domains: [example.com]\n"
        "users:\n"
        "  - primaryEmail: jo@example.com\n"
        "    name: {givenName: Jo, familyName: Lei}\n"
        "    tokens:\n"
        "      - {clientId: a.apps, scopes: [x]}\n"
        "      - {clientId: a.apps, anonymus: true}\n"
        "    asps:\n"
        "      - {codeId: 1}\n"
        "      - {codeId: -2, name: Mail, creationTime: yesterday}\n"
        "    verificationCodes: ['1234']\n"
        "    signOuts: -1\n"
    )
    with pytest.raises(InvalidInput) as caught:
        TenantStore(seed=seed)
    messages = [(p.path, p.line, p.message) for p in caught.value.problems]
    where = "users[0] (jo@example.com)"
    # Each at the line of the list item or key it is about.
    assert messages == [
        (seed, 7, f"{where}: tokens[1]: clientId a.apps is listed twice"),
        (seed, 7, f"{where}: tokens[1]: unknown field 'anonymus' (did you mean 'anonymous'?)"),
        (seed, 9, f"{where}: asps[0]: name is required (the name the user gave the password)"),
        (seed, 10, f"{where}: asps[1]: codeId must be a whole number from 0 to 2147483647"),
        (
            seed,
            10,
            f"{where}: asps[1]: creationTime must be epoch milliseconds (an int64 string)",
        ),
        (seed, 11, f"{where}: verificationCodes[0]: a backup code is 8 digits, as a string"),
        (seed, 12, f"{where}: signOuts: expected a count, 0 or more"),
    ]
    assert str(seed) in str(caught.value)  # the message names the seed file


def test_a_seeds_token_names_its_own_user(tmp_path: Path):
    doc = copy.deepcopy(SEED)
    doc["users"][1]["tokens"][0]["userKey"] = "123"
    doc["users"][1]["asps"][0]["kind"] = "admin#directory#token"
    with pytest.raises(InvalidInput) as caught:
        TenantStore(seed=doc)
    text = str(caught.value)
    assert "tokens[0]: userKey must be the user's id" in text
    assert "asps[0]: kind must be admin#directory#asp" in text


def test_the_emulator_state_shows_no_security_keys_for_a_user_with_none(server):
    assert set(state_user(server, "bare@example.com")).isdisjoint(
        {"tokens", "asps", "verificationCodes", "signOuts", "lastSignOutTime"}
    )
    status, config = emulator_json(server, "GET", "config")
    assert status == 200 and "transfer_delay_ms" in config
