"""The tool's Groups Settings API client against the emulator: its scope only when asked
for, its batches at the API's own batch URL, reading many groups' settings (a failed read
stops, naming the group), and PATCH writes, which wait out a group created moments ago."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httplib2
import pytest
from conftest import connect as shared_connect
from conftest import fast_retry, start_emulator, stats

from reconciler.google import group_settings
from reconciler.google.client import GROUPSSETTINGS, Call, GoogleClient
from reconciler.google.credentials import SCOPE_ROOT, scopes
from reconciler.google.fetch import ShortReadError

ADMIN = "admin@example.com"
SCOPE = SCOPE_ROOT + "apps.groups.settings"
GROUPS = [f"team{n:02d}@example.com" for n in range(12)]
SEED: dict[str, Any] = {
    "domains": ["example.com"],
    "users": [
        {"primaryEmail": ADMIN, "name": {"givenName": "A", "familyName": "B"}, "isAdmin": True}
    ],
    "groups": [
        {"email": "eng@example.com", "name": "Eng", "settings": {"whoCanJoin": "INVITED_CAN_JOIN"}},
        *({"email": e, "name": e.partition("@")[0]} for e in GROUPS),
    ],
}


@pytest.fixture
def emulator():
    server = start_emulator(copy.deepcopy(SEED))
    yield server
    server.stop()


def connect(server: Any, root: Path, *, group_settings: bool = True, **extra: Any):
    return shared_connect(server, root, group_settings=group_settings, admin_subject=ADMIN, **extra)


@pytest.fixture
def client(emulator, tmp_path: Path) -> GoogleClient:
    return connect(emulator, tmp_path)


def test_the_scope_is_asked_for_only_when_group_settings_are(emulator, tmp_path: Path):
    assert SCOPE not in scopes(False) and SCOPE not in scopes(True, True, True)
    assert scopes(read_only=True, group_settings=True)[-1] == SCOPE  # no read-only one exists
    assert scopes(False, licenses=True, group_settings=True)[-2:] == [
        SCOPE_ROOT + "apps.licensing",
        SCOPE,
    ]
    without = connect(emulator, tmp_path, group_settings=False)
    request = without.groupssettings.groups().get(groupUniqueId="eng@example.com")
    outcome = without.settings.execute(Call(request, "groupsSettings.get"))
    assert (outcome.ok, outcome.status, outcome.reason) == (
        False,
        403,
        "insufficientPermissions",
    )
    with_it = connect(emulator, tmp_path, read_only=True)
    found = group_settings.read_settings(with_it, ["eng@example.com"])
    assert found["eng@example.com"]["whoCanJoin"] == "INVITED_CAN_JOIN"
    assert stats(emulator)["token_scopes"][SCOPE] == 1


def test_the_service_and_its_batch_uri(emulator, client):
    assert GROUPSSETTINGS not in client._services
    service = client.groupssettings
    assert client.groupssettings is service and client.settings.service is service
    batch = service.new_batch_http_request()
    assert batch._batch_uri == emulator.base_url + "/batch/groupssettings/v1"
    google = GoogleClient(None, httplib2.Http()).groupssettings  # no endpoint: Google itself
    assert google.new_batch_http_request()._batch_uri == (
        "https://www.googleapis.com/batch/groupssettings/v1"
    )
    request = google.groups().get(groupUniqueId="eng@example.com")
    assert request.uri == "https://www.googleapis.com/groups/v1/groups/eng%40example.com?alt=json"
    assert client.settings.stats is client.stats and client.settings.pacer is client.pacer


def test_settings_are_read_in_batches(emulator, client):
    client.batch_size = 5
    found = group_settings.read_settings(client, ["ENG@example.com", *GROUPS])
    assert list(found) == ["eng@example.com", *GROUPS]
    eng = found["eng@example.com"]
    assert (eng["whoCanJoin"], eng["allowExternalMembers"]) == ("INVITED_CAN_JOIN", "false")
    assert found[GROUPS[0]]["whoCanJoin"] == "CAN_REQUEST_TO_JOIN"
    assert all(isinstance(v, str) for v in eng.values())
    assert not {"kind", "email", "name", "description", "maxMessageBytes"} & set(eng)
    counted = stats(emulator)
    assert counted["by_method"]["groupsSettings.groups.get"] == 13
    assert counted["batch_requests"] == 3  # 13 calls, 5 a batch


def test_a_failed_read_stops_naming_the_group(client):
    with pytest.raises(ShortReadError) as caught:
        group_settings.read_settings(client, ["eng@example.com", "gone@example.com"])
    text = str(caught.value)
    assert "gone@example.com: 404 notFound" in text and "1 of 2 groups" in text
    assert "eng@example.com:" not in text


def test_a_patch_sets_only_the_fields_given(client):
    call = group_settings.update_call(
        client, "Eng@Example.com", {"allowExternalMembers": "true"}, after_create=False
    )
    assert call.request.method == "PATCH" and not call.after_create
    outcome = client.settings.execute(call)
    assert outcome.ok and outcome.body["allowExternalMembers"] == "true"
    found = group_settings.read_settings(client, ["eng@example.com"])["eng@example.com"]
    assert (found["whoCanJoin"], found["allowExternalMembers"]) == ("INVITED_CAN_JOIN", "true")
    with pytest.raises(ValueError, match="whoCanJion"):
        group_settings.update_call(client, "eng@example.com", {"whoCanJion": "x"}, False)


def test_a_refused_patch_fails_with_googles_words(client):
    call = group_settings.update_call(
        client, "eng@example.com", {"whoCanPostMessage": "NONE_CAN_POST"}, after_create=False
    )
    outcome = client.settings.execute(call)
    assert (outcome.ok, outcome.status, outcome.attempts) == (False, 400, 1)
    assert "whoCanPostMessages=NONE_CAN_POST" in (outcome.error or "")


def test_a_group_created_moments_ago_is_waited_for(emulator, tmp_path: Path):
    emulator.configure(consistency_delay_ms=600_000)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the group settles while the client waits
        waits.append(seconds)
        emulator.configure(consistency_delay_ms=0)

    client = connect(emulator, tmp_path)
    client.retry = fast_retry(sleep=sleep)  # before client.settings, which shares it
    made = {"email": "new@example.com", "name": "New"}
    client.must(Call(client.service.groups().insert(body=made), "groups.insert"))
    values = {"whoCanJoin": "INVITED_CAN_JOIN"}
    # Without after_create a 404 is final: the group is taken for missing.
    emulator.configure(consistency_delay_ms=600_000)
    early = client.settings.execute(
        group_settings.update_call(client, "new@example.com", values, after_create=False)
    )
    assert (early.ok, early.status) == (False, 404) and not waits
    outcome = client.settings.execute(
        group_settings.update_call(client, "new@example.com", values, after_create=True)
    )
    assert outcome.ok and outcome.attempts == 2 and len(waits) == 1
    assert outcome.body["whoCanJoin"] == "INVITED_CAN_JOIN"
