"""The Data Transfer API through the real googleapiclient over loopback: applications,
transfers that run and complete, Google's refusals, scopes, batches, seeds and persistence."""

from __future__ import annotations

import copy
import http.client
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from reconciler.emulator.api import DirectoryApi
from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.store import TenantStore
from reconciler.emulator.transfers import CALENDAR, DRIVE, LOOKER_STUDIO
from reconciler.problems import InvalidInput

from .api_support import access_token
from .real_client import (
    DATATRANSFER,
    DATATRANSFER_READ,
    USER,
    checked,
    emulator_json,
    real_service,
    refusal,
)

ADMIN = "admin@example.com"
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
            "primaryEmail": "leaver@example.com",
            "id": "100000000000000000002",
            "name": {"givenName": "Lee", "familyName": "Ver"},
            "suspended": True,
        },
        {
            "primaryEmail": "manager@example.com",
            "id": "100000000000000000003",
            "name": {"givenName": "Mia", "familyName": "Nager"},
        },
        {
            "primaryEmail": "away@example.com",
            "id": "100000000000000000004",
            "name": {"givenName": "Al", "familyName": "Way"},
            "suspended": True,
        },
    ],
}
ADMIN_ID, LEAVER = "100000000000000000001", "100000000000000000002"
MANAGER, AWAY = "100000000000000000003", "100000000000000000004"
EVERYTHING = [
    {
        "applicationId": DRIVE,
        "applicationTransferParams": [{"key": "PRIVACY_LEVEL", "value": ["PRIVATE", "SHARED"]}],
    },
    {
        "applicationId": CALENDAR,
        "applicationTransferParams": [{"key": "RELEASE_RESOURCES", "value": ["TRUE"]}],
    },
    {"applicationId": LOOKER_STUDIO},
]
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def server(tmp_path: Path):
    with EmulatorServer.open(seed=copy.deepcopy(SEED), state=tmp_path / "state.json") as running:
        yield running


@pytest.fixture
def datatransfer(server: EmulatorServer):
    return real_service(server, "datatransfer_v1", [DATATRANSFER], subject=ADMIN)


def transfer_body(old: str = LEAVER, new: str = MANAGER, apps: Any = None) -> dict[str, Any]:
    return {
        "oldOwnerUserId": old,
        "newOwnerUserId": new,
        "applicationDataTransfers": copy.deepcopy(EVERYTHING if apps is None else apps),
    }


# -- discovery --------------------------------------------------------------------------------


def test_the_discovery_document_is_served_and_points_here(server: EmulatorServer):
    root = server.base_url + "/"
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=10)
    try:
        for target in (
            "/$discovery/rest?version=datatransfer_v1",
            "/discovery/v1/apis/admin/datatransfer_v1/rest",
        ):
            conn.request("GET", target)
            answer = conn.getresponse()
            doc = json.loads(answer.read())
            assert answer.status == 200 and doc["name"] == "admin"
            assert doc["version"] == "datatransfer_v1"
            assert (doc["rootUrl"], doc["baseUrl"], doc["batchPath"]) == (root, root, "batch")
            assert set(doc["resources"]) == {"applications", "transfers"}
    finally:
        conn.close()


# -- applications -----------------------------------------------------------------------------


def test_applications_are_listed_paged_and_got(datatransfer):
    listed = checked(
        "datatransfer.applications.list",
        datatransfer.applications().list(customerId="my_customer"),
    )
    assert listed["kind"] == "admin#datatransfer#applicationsList" and "nextPageToken" not in listed
    apps = {a["id"]: a for a in listed["applications"]}
    assert apps[DRIVE] == {
        "kind": "admin#datatransfer#ApplicationResource",
        "etag": apps[DRIVE]["etag"],
        "id": "55656082996",
        "name": "Drive and Docs",
        "transferParams": [{"key": "PRIVACY_LEVEL", "value": ["PRIVATE", "SHARED"]}],
    }
    assert apps[CALENDAR]["name"] == "Calendar"
    assert apps[CALENDAR]["transferParams"] == [{"key": "RELEASE_RESOURCES", "value": ["TRUE"]}]
    assert apps[LOOKER_STUDIO]["name"] == "Looker Studio"
    assert "transferParams" not in apps[LOOKER_STUDIO]
    # One a page: every application once, through nextPageToken.
    pages, request = [], datatransfer.applications().list(maxResults=1)
    while request is not None:
        page = request.execute()
        pages.append([a["id"] for a in page["applications"]])
        request = datatransfer.applications().list_next(request, page)
    assert pages == [[DRIVE], [CALENDAR], [LOOKER_STUDIO]]
    got = checked(
        "datatransfer.applications.get", datatransfer.applications().get(applicationId=CALENDAR)
    )
    assert got == apps[CALENDAR]


def test_unknown_applications_and_other_customers_are_refused(datatransfer):
    status, reason, message = refusal(datatransfer.applications().get(applicationId="12345"))
    assert (status, reason, message) == (404, "notFound", "Resource Not Found: applicationId")
    assert refusal(datatransfer.applications().get(applicationId="drive"))[:2] == (
        400,
        "invalidParameter",
    )
    assert refusal(datatransfer.applications().list(customerId="C0other"))[:2] == (
        400,
        "badRequest",
    )
    assert refusal(datatransfer.applications().list(maxResults=501))[:2] == (400, "invalid")


# -- transfers --------------------------------------------------------------------------------


def test_a_transfer_runs_then_completes(datatransfer, server):
    server.configure(transfer_delay_ms=300)
    made = checked(
        "datatransfer.transfers.insert", datatransfer.transfers().insert(body=transfer_body())
    )
    assert made["kind"] == "admin#datatransfer#DataTransfer"
    assert (made["oldOwnerUserId"], made["newOwnerUserId"]) == (LEAVER, MANAGER)
    assert made["overallTransferStatusCode"] == "inProgress"
    assert TIME.fullmatch(made["requestTime"]) and made["id"]
    assert [
        (a["applicationId"], a.get("applicationTransferParams"), a["applicationTransferStatus"])
        for a in made["applicationDataTransfers"]
    ] == [
        (a["applicationId"], a.get("applicationTransferParams"), "inProgress") for a in EVERYTHING
    ]
    got = checked(
        "datatransfer.transfers.get", datatransfer.transfers().get(dataTransferId=made["id"])
    )
    assert got == made
    time.sleep(0.35)
    done = datatransfer.transfers().get(dataTransferId=made["id"]).execute()
    assert done["overallTransferStatusCode"] == "completed" and done["etag"] != made["etag"]
    assert {a["applicationTransferStatus"] for a in done["applicationDataTransfers"]} == {
        "completed"
    }


def test_read_only_fields_of_the_body_are_ignored(datatransfer, server):
    server.configure(transfer_delay_ms=60_000)
    body = transfer_body(apps=[{"applicationId": int(DRIVE), "applicationTransferStatus": "x"}])
    body.update(
        id="mine", overallTransferStatusCode="completed", requestTime="2000-01-01T00:00:00Z"
    )
    made = datatransfer.transfers().insert(body=body).execute()
    assert made["id"] != "mine" and made["overallTransferStatusCode"] == "inProgress"
    assert made["requestTime"] != "2000-01-01T00:00:00Z"
    assert made["applicationDataTransfers"] == [
        {"applicationId": DRIVE, "applicationTransferStatus": "inProgress"}
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # Owners are immutable ids: an address, even of a user, is refused.
        (transfer_body(old="leaver@example.com"), "Invalid Input: oldOwnerUserId"),
        (transfer_body(new="manager@example.com"), "Invalid Input: newOwnerUserId"),
        (transfer_body(old="199999999999999999999"), "Invalid Input: oldOwnerUserId"),
        (transfer_body(new="199999999999999999999"), "Invalid Input: newOwnerUserId"),
        (transfer_body(new=AWAY), "Invalid Input: newOwnerUserId"),  # suspended
        (transfer_body(new=LEAVER), "Invalid Input: newOwnerUserId"),  # the same user
        (transfer_body(apps=[{"applicationId": "12345"}]), "Invalid Input: applicationId"),
        (
            transfer_body(apps=[{"applicationId": DRIVE}, {"applicationId": DRIVE}]),
            "Invalid Input: applicationId",
        ),
        (
            transfer_body(
                apps=[
                    {
                        "applicationId": DRIVE,
                        "applicationTransferParams": [{"key": "PRIVACY_LEVEL", "value": ["ALL"]}],
                    }
                ]
            ),
            "Invalid Input: applicationTransferParams value of PRIVACY_LEVEL",
        ),
        (
            transfer_body(
                apps=[
                    {
                        "applicationId": LOOKER_STUDIO,
                        "applicationTransferParams": [
                            {"key": "PRIVACY_LEVEL", "value": ["SHARED"]}
                        ],
                    }
                ]
            ),
            "Invalid Input: applicationTransferParams key PRIVACY_LEVEL",
        ),
    ],
)
def test_a_transfer_google_would_refuse_is_a_400(datatransfer, server, body, message):
    assert refusal(datatransfer.transfers().insert(body=body)) == (400, "invalid", message)
    _, doc = emulator_json(server, "GET", "state")
    assert doc["dataTransfers"] == []


def test_fields_selections_are_checked_against_the_data_transfer_schemas(datatransfer):
    made = datatransfer.transfers().insert(body=transfer_body(), fields="id").execute()
    assert list(made) == ["id"]
    page = datatransfer.transfers().list(fields="dataTransfers(id,overallTransferStatusCode)")
    assert page.execute()["dataTransfers"][0].keys() == {"id", "overallTransferStatusCode"}
    status, reason, message = refusal(datatransfer.transfers().list(fields="dataTransfers(bogus)"))
    assert (status, reason, message) == (400, "invalidParameter", "Invalid field selection bogus")
    apps = datatransfer.applications().list(fields="applications(name)").execute()
    assert apps["applications"][0] == {"name": "Drive and Docs"}


def test_missing_fields_are_required(datatransfer):
    for field in ("oldOwnerUserId", "newOwnerUserId", "applicationDataTransfers"):
        body = transfer_body()
        del body[field]
        assert refusal(datatransfer.transfers().insert(body=body)) == (
            400,
            "required",
            f"Missing required field: {field}",
        )


def test_an_owner_created_moments_ago_is_not_known_yet(datatransfer, server):
    server.configure(consistency_delay_ms=60_000)
    directory = real_service(server, "directory_v1", [USER], subject=ADMIN)
    body = {
        "primaryEmail": "heir@example.com",
        "name": {"givenName": "Heir", "familyName": "Apparent"},
        "password": "correct-horse-battery",
    }
    heir = directory.users().insert(body=body).execute()["id"]
    status, _, message = refusal(datatransfer.transfers().insert(body=transfer_body(new=heir)))
    assert (status, message) == (400, "Invalid Input: newOwnerUserId")


def test_an_unknown_transfer_is_not_found(datatransfer):
    assert refusal(datatransfer.transfers().get(dataTransferId="nothing")) == (
        404,
        "notFound",
        "Resource Not Found: dataTransferId",
    )


def test_transfers_are_listed_filtered_and_paged(datatransfer, server):
    server.configure(transfer_delay_ms=60_000)
    first = datatransfer.transfers().insert(body=transfer_body()).execute()
    second = datatransfer.transfers().insert(body=transfer_body(old=AWAY)).execute()
    server.configure(transfer_delay_ms=0)
    third = datatransfer.transfers().insert(body=transfer_body(old=MANAGER, new=ADMIN_ID)).execute()
    listed = checked(
        "datatransfer.transfers.list", datatransfer.transfers().list(customerId="my_customer")
    )
    assert listed["kind"] == "admin#datatransfer#dataTransfersList"
    assert [t["id"] for t in listed["dataTransfers"]] == [first["id"], second["id"], third["id"]]

    def ids(**query: Any) -> list[str]:
        found, request = [], datatransfer.transfers().list(**query)
        while request is not None:
            page = request.execute()
            found += [t["id"] for t in page.get("dataTransfers", [])]
            request = datatransfer.transfers().list_next(request, page)
        return found

    assert ids(oldOwnerUserId=LEAVER) == [first["id"]]
    assert ids(newOwnerUserId=MANAGER) == [first["id"], second["id"]]
    assert ids(status="completed") == [third["id"]]
    assert ids(status="inProgress", maxResults=1) == [first["id"], second["id"]]
    assert ids(status="failed") == []
    assert ids(oldOwnerUserId="199999999999999999999") == []  # an id no user has: none
    empty = datatransfer.transfers().list(status="failed").execute()
    assert set(empty) == {"kind", "etag"}


@pytest.mark.parametrize(
    "query",
    [
        {"oldOwnerUserId": "leaver@example.com"},
        {"newOwnerUserId": "manager@example.com"},
        {"status": "done"},
        {"maxResults": 0},
        {"customerId": "C0other"},
    ],
)
def test_a_listing_google_would_refuse_is_a_400(datatransfer, query):
    assert refusal(datatransfer.transfers().list(**query))[0] == 400


# -- authorization ----------------------------------------------------------------------------


def test_the_read_only_scope_reads_and_directory_scopes_do_nothing(datatransfer, server):
    made = datatransfer.transfers().insert(body=transfer_body()).execute()
    reader = real_service(server, "datatransfer_v1", [DATATRANSFER_READ], subject=ADMIN)
    reader.applications().list().execute()
    assert reader.transfers().get(dataTransferId=made["id"]).execute()["id"] == made["id"]
    reader.transfers().list().execute()
    status, reason, _ = refusal(reader.transfers().insert(body=transfer_body()))
    assert (status, reason) == (403, "insufficientPermissions")
    directory_only = real_service(server, "datatransfer_v1", [USER], subject=ADMIN)
    assert refusal(directory_only.applications().list())[:2] == (403, "insufficientPermissions")
    not_admin = real_service(
        server, "datatransfer_v1", [DATATRANSFER], subject="manager@example.com"
    )
    assert refusal(not_admin.transfers().list())[:2] == (403, "forbidden")


# -- batches ----------------------------------------------------------------------------------


def test_transfer_calls_batch_at_the_documents_batch_path(datatransfer, server):
    batch = datatransfer.new_batch_http_request()
    assert batch._batch_uri == server.base_url + "/batch"
    answers: dict[str, Any] = {}

    def collect(request_id: str, response: Any, exception: Any) -> None:
        answers[request_id] = exception or response

    batch = datatransfer.new_batch_http_request(callback=collect)
    batch.add(datatransfer.transfers().insert(body=transfer_body()), request_id="insert")
    batch.add(datatransfer.applications().get(applicationId=DRIVE), request_id="app")
    batch.add(datatransfer.transfers().get(dataTransferId="nothing"), request_id="missing")
    batch.execute()
    assert answers["insert"]["oldOwnerUserId"] == LEAVER
    assert answers["app"]["name"] == "Drive and Docs"
    assert answers["missing"].status_code == 404


def test_a_batch_mixing_apis_is_refused_whole(server):
    token = access_token(server.base_url, [DATATRANSFER, USER], ADMIN)
    boundary = "===============" + uuid.uuid4().hex + "=="
    parts = ""
    for n, path in enumerate(
        ("/admin/datatransfer/v1/applications", "/admin/directory/v1/users/admin%40example.com")
    ):
        parts += (
            f"--{boundary}\nContent-Type: application/http\nContent-ID: <x + {n}>\n\n"
            f"GET {path} HTTP/1.1\nAuthorization: Bearer {token}\n\n"
        )
    body = (parts + f"--{boundary}--\n").encode()
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=10)
    try:
        headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
        conn.request("POST", "/batch", body=body, headers=headers)
        answer = conn.getresponse()
        error = json.loads(answer.read())["error"]
        # The Directory's own older batch path takes no Data Transfer call either.
        one = body.replace(
            b"/admin/directory/v1/users/admin%40example.com", b"/admin/datatransfer/v1/applications"
        )
        conn.request("POST", "/batch/admin/directory_v1", body=one, headers=headers)
        again = conn.getresponse()
        again.read()
    finally:
        conn.close()
    assert answer.status == 400 and "one API" in error["message"]
    assert again.status == 400


# -- options, seeds, persistence --------------------------------------------------------------


def test_the_delay_is_an_option_and_survives_a_restart(tmp_path: Path):
    state = tmp_path / "state.json"
    with EmulatorServer.open(seed=copy.deepcopy(SEED), state=state) as running:
        assert emulator_json(running, "GET", "config")[1]["transfer_delay_ms"] > 0  # default
        status, _ = emulator_json(running, "POST", "config", {"transfer_delay_ms": -1})
        assert status == 400
        status, config = emulator_json(running, "POST", "config", {"transfer_delay_ms": 60_000})
        assert status == 200 and config["transfer_delay_ms"] == 60_000
        service = real_service(running, "datatransfer_v1", [DATATRANSFER], subject=ADMIN)
        made = service.transfers().insert(body=transfer_body()).execute()
        assert made["overallTransferStatusCode"] == "inProgress"
    # Restarted: the transfer is there as it was, due when it was due, whatever the option.
    with EmulatorServer.open(state=state) as running:
        running.configure(transfer_delay_ms=0)
        service = real_service(running, "datatransfer_v1", [DATATRANSFER], subject=ADMIN)
        assert service.transfers().get(dataTransferId=made["id"]).execute() == made


def test_a_transfer_survives_a_crash(tmp_path: Path):
    state = tmp_path / "state.json"
    store = TenantStore(seed=copy.deepcopy(SEED), state=state)
    with EmulatorServer(DirectoryApi(store)) as running:  # no persist: the store stays open
        service = real_service(running, "datatransfer_v1", [DATATRANSFER], subject=ADMIN)
        service.transfers().insert(body=transfer_body()).execute()
        before = store.snapshot()
    store.close(compact=False)  # what a crash leaves: the journal, not compacted
    again = TenantStore(state=state)
    try:
        assert again.snapshot() == before and len(before["dataTransfers"]) == 1
    finally:
        again.close()


def test_seeded_transfers_keep_their_status(tmp_path: Path):
    doc = copy.deepcopy(SEED)
    doc["dataTransfers"] = [
        {**transfer_body(), "id": "stuck", "overallTransferStatusCode": "inProgress"},
        {
            **transfer_body(apps=[{"applicationId": CALENDAR}]),
            "id": "broken",
            "overallTransferStatusCode": "failed",
            "requestTime": "2026-01-05T10:00:00.000Z",
        },
        # The old owner may be gone by now: a transfer outlives the accounts it names.
        {**transfer_body(old="199999999999999999999"), "id": "old"},
        {
            **transfer_body(),
            "id": "due",
            "overallTransferStatusCode": "inProgress",
            "requestTime": "2026-01-05T09:00:00.000Z",
            "emulatorCompletesAt": "2026-01-05T09:05:00.000Z",
        },
    ]
    with EmulatorServer.open(seed=doc) as running:
        service = real_service(running, "datatransfer_v1", [DATATRANSFER_READ], subject=ADMIN)
        shown = {t["id"]: t for t in service.transfers().list().execute()["dataTransfers"]}
        assert list(shown)[:2] == ["due", "broken"]  # by request time
        assert shown["due"]["overallTransferStatusCode"] == "completed"
        assert shown["stuck"]["overallTransferStatusCode"] == "inProgress"
        assert shown["broken"]["applicationDataTransfers"] == [
            {"applicationId": CALENDAR, "applicationTransferStatus": "failed"}
        ]
        assert shown["old"]["overallTransferStatusCode"] == "completed"
        _, state = emulator_json(running, "GET", "state")
    assert TenantStore(seed=state).snapshot() == state  # the state is a seed of the same tenant


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**transfer_body(old="leaver@example.com")}, "Invalid Input: oldOwnerUserId"),
        ({**transfer_body(apps=[])}, "Missing required field: applicationDataTransfers"),
        ({**transfer_body(), "overallTransferStatusCode": "done"}, "must be one of"),
        ({**transfer_body(), "requestTime": "yesterday"}, "requestTime must be an RFC 3339"),
        ({**transfer_body(), "stauts": "x"}, "unknown field 'stauts'"),
        (
            {**transfer_body(), "emulatorCompletesAt": "2026-01-05T10:00:00.000Z"},
            "emulatorCompletesAt is for a transfer still inProgress",
        ),
    ],
)
def test_a_seeds_transfers_are_checked(entry: dict[str, Any], message: str):
    doc = copy.deepcopy(SEED)
    doc["dataTransfers"] = [entry]
    with pytest.raises(InvalidInput) as caught:
        TenantStore(seed=doc)
    assert "dataTransfers[0]: " in str(caught.value) and message in str(caught.value)
