"""The emulator over loopback, driven only by the real googleapiclient and plain HTTP."""

from __future__ import annotations

import http.client
import json
import math
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import google_auth_httplib2
import httplib2
import pytest
from google.oauth2.credentials import Credentials as TokenCredentials
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError

from reconciler.emulator import server as server_module
from reconciler.emulator.faults import AFTER_FAULT_KINDS, FAULT_KINDS, EmulatorConfig
from reconciler.emulator.ids import next_etag
from reconciler.emulator.server import EmulatorServer, bundled_discovery_document

from .api_support import access_token
from .discovery_check import assert_valid_response, error_problems

HOST_ADDR = "127.0.0.1"
# Only so that a test which would wait for ever fails instead; never a measure of speed.
HANG_GUARD_S = 60

SEED = """\
domains: [example.com]
users:
  - primaryEmail: admin@example.com
    name: {givenName: Ada, familyName: Admin}
    password: correct-horse-battery
    isAdmin: true
  - primaryEmail: jo@example.com
    name: {givenName: Jo, familyName: Lei}
    password: correct-horse-battery
groups:
  - email: eng@example.com
    name: Engineering
    members:
      - {email: jo@example.com, role: MEMBER}
"""


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "tenant.yaml"
    path.write_text(SEED)
    return path


@pytest.fixture
def emulator(seed: Path, tmp_path: Path):
    with EmulatorServer.open(seed=seed, state=tmp_path / "state.json") as server:
        yield server


def request(
    server: EmulatorServer,
    method: str,
    target: str,
    body: bytes | dict | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One plain HTTP request: status, lower-cased headers, body (a dict is sent as JSON).
    API calls and batches carry a token with every scope unless `headers` has one."""
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    if target.startswith(("/admin/", "/batch")) and "Authorization" not in (headers or {}):
        headers = {"Authorization": f"Bearer {token_of(server)}", **(headers or {})}
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=10)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


_TOKENS: dict[str, str] = {}


def token_of(server: EmulatorServer) -> str:
    """A token with every scope from `server` (one per server and test run)."""
    if server.base_url not in _TOKENS:
        _TOKENS[server.base_url] = access_token(server.base_url)
    return _TOKENS[server.base_url]


def bearer(server: EmulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_of(server)}"}


def control(server: EmulatorServer, name: str, body: dict | None = None) -> dict:
    status, _, data = request(
        server, "POST" if body is not None else "GET", f"/_emulator/{name}", body
    )
    assert status == 200, data
    return json.loads(data)


def configure(server: EmulatorServer, **options) -> dict:
    return control(server, "config", options)


class RecordingHttp(httplib2.Http):
    """httplib2.Http that remembers every URI it was asked for."""

    def __init__(self) -> None:
        super().__init__(timeout=10)
        self.uris: list[str] = []

    def request(self, uri, *args, **kwargs):
        self.uris.append(uri)
        return super().request(uri, *args, **kwargs)


def fetched_document(server: EmulatorServer) -> dict:
    status, _, data = request(server, "GET", "/$discovery/rest?version=directory_v1")
    assert status == 200
    return json.loads(data)


def directory(server: EmulatorServer, http: httplib2.Http | None = None):
    """The real client, built from the document the emulator serves, with a token it issued."""
    authed = google_auth_httplib2.AuthorizedHttp(
        TokenCredentials(token=access_token(server.base_url)),
        http=http or httplib2.Http(timeout=10),
    )
    return build_from_document(fetched_document(server), http=authed)


def new_group(service, email: str) -> dict:
    return service.groups().insert(body={"email": email, "name": email.split("@")[0]}).execute()


def google_error_problems(status: int, body: dict) -> list[str]:
    """Google's error shape (usage-limit errors carry domain usageLimits, as Google's do)."""
    return error_problems(status, body)


# -- discovery and endpoints ---------------------------------------------------------------


def test_discovery_document_points_at_the_emulator_on_both_paths(emulator):
    root = emulator.base_url + "/"
    for target in (
        "/$discovery/rest?version=directory_v1",
        "/discovery/v1/apis/admin/directory_v1/rest",
    ):
        status, headers, data = request(emulator, "GET", target)
        assert status == 200 and headers["content-type"].startswith("application/json")
        doc = json.loads(data)
        assert (doc["rootUrl"], doc["mtlsRootUrl"], doc["baseUrl"]) == (root, root, root)
        assert doc["resources"].keys() == bundled_discovery_document()["resources"].keys()
    assert bundled_discovery_document()["rootUrl"] == "https://admin.googleapis.com/"
    status, _, data = request(emulator, "GET", "/$discovery/rest?version=v1")
    assert status == 404 and json.loads(data)["error"]["code"] == 404


def test_no_request_built_for_the_emulator_targets_googleapis(emulator):
    http = RecordingHttp()
    service = directory(emulator, http)
    built = [
        service.users().list(customer="my_customer"),
        service.users().get(userKey="jo@example.com"),
        service.groups().insert(body={"email": "x@example.com"}),
        service.members().delete(groupKey="eng@example.com", memberKey="jo@example.com"),
        service.orgunits().list(customerId="my_customer"),
    ]
    batch = service.new_batch_http_request()
    assert all(r.uri.startswith(emulator.base_url + "/admin/directory/v1/") for r in built)
    assert batch._batch_uri == emulator.base_url + "/batch"

    service.users().list(customer="my_customer").execute()
    batch.add(service.groups().get(groupKey="eng@example.com"))
    batch.add(service.users().get(userKey="jo@example.com"))
    batch.execute()
    assert len(http.uris) == 2
    for uri in http.uris + [r.uri for r in built] + [batch._batch_uri]:
        host = urlsplit(uri).hostname
        assert host == "127.0.0.1" and "googleapis.com" not in uri


def test_bundled_document_with_root_url_replaced_also_works(emulator):
    doc = dict(bundled_discovery_document(), rootUrl=emulator.base_url + "/")
    service = build_from_document(doc, credentials=TokenCredentials(token_of(emulator)))
    got = service.groups().get(groupKey="eng@example.com").execute()
    assert got["email"] == "eng@example.com"


def test_api_answers_json_and_delete_answers_204_with_empty_body(emulator):
    status, headers, data = request(emulator, "GET", "/admin/directory/v1/groups/eng%40example.com")
    assert status == 200 and headers["content-type"] == "application/json; charset=UTF-8"
    assert int(headers["content-length"]) == len(data)
    assert json.loads(data)["email"] == "eng@example.com"

    status, headers, data = request(
        emulator, "DELETE", "/admin/directory/v1/groups/eng%40example.com/members/jo%40example.com"
    )
    assert (status, headers["content-length"], data) == (204, "0", b"")


@pytest.mark.parametrize(
    ("method", "target", "body", "method_id"),
    [
        ("GET", "users?customer=my_customer&maxResults=1", None, "directory.users.list"),
        ("GET", "users/jo%40example.com?projection=full", None, "directory.users.get"),
        ("GET", "groups?customer=my_customer", None, "directory.groups.list"),
        ("GET", "groups/eng%40example.com/members", None, "directory.members.list"),
        ("GET", "groups/eng%40example.com/hasMember/jo%40example.com", None, None),
        ("POST", "groups", {"email": "ops@example.com"}, "directory.groups.insert"),
        ("POST", "groups/eng%40example.com/members", {"email": "jo@example.com"}, None),
        ("DELETE", "groups/eng%40example.com", None, "directory.groups.delete"),
        ("GET", "customer/my_customer/orgunits?type=all", None, "directory.orgunits.list"),
        ("GET", "users/nobody%40example.com", None, None),
    ],
)
def test_answers_over_http_match_the_discovery_document(emulator, method, target, body, method_id):
    status, _, data = request(emulator, method, "/admin/directory/v1/" + target, body)
    parsed = json.loads(data) if data else None
    by_method = control(emulator, "stats")["by_method"]
    assert len(by_method) == 1
    assert_valid_response(method_id or next(iter(by_method)), status, parsed)


@pytest.mark.parametrize(
    ("method", "target"),
    [("GET", "/nowhere"), ("POST", "/_emulator/nothing"), ("GET", "/token"), ("GET", "/batch")],
)
def test_unknown_routes_answer_googles_error_shape(emulator, method, target):
    status, _, data = request(emulator, method, target)
    error = json.loads(data)["error"]
    assert status in (404, 405) and error["code"] == status
    assert error["errors"][0]["reason"] and error["message"]


def test_malformed_requests_and_unknown_methods_answer_googles_error_shape(emulator):
    for method in ("TRACE", "HEAD"):
        status, headers, data = request(emulator, method, "/admin/directory/v1/users")
        assert status == 501 and headers["content-length"] == str(len(data))
        if method != "HEAD":
            assert json.loads(data)["error"]["code"] == 501
    with socket.create_connection((HOST_ADDR, urlsplit(emulator.base_url).port)) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        answer = sock.makefile("rb").read()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and json.loads(body)["error"]["code"] == 400


def test_keep_alive_serves_many_requests_on_one_connection(emulator):
    conn = http.client.HTTPConnection(urlsplit(emulator.base_url).netloc, timeout=10)
    for _ in range(5):
        target, auth = "/admin/directory/v1/groups/eng%40example.com", bearer(emulator)
        conn.request("GET", target, headers=auth)
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Connection") is None
        resp.read()
    conn.close()


def test_requests_naming_another_host_are_refused(emulator):
    status, _, data = request(emulator, "GET", "/_emulator/stats", headers={"Host": "evil.test"})
    assert status == 403 and json.loads(data)["error"]["errors"][0]["reason"] == "forbidden"
    status, _, _ = request(emulator, "GET", "/_emulator/stats", headers={"Host": "localhost:1"})
    assert status == 200


def test_binds_loopback_only(emulator):
    assert urlsplit(emulator.base_url).hostname == "127.0.0.1"
    with pytest.raises(ValueError, match=r"binds 127\.0\.0\.1 only"):
        EmulatorServer(emulator.api, host="0.0.0.0")


# -- batch ---------------------------------------------------------------------------------


def test_batch_with_mixed_successes_and_failures_reaches_the_callbacks(emulator):
    service = directory(emulator)
    results: dict[str, tuple] = {}
    batch = service.new_batch_http_request(
        callback=lambda rid, resp, exc: results.__setitem__(rid, (resp, exc))
    )
    members = service.members()
    batch.add(
        members.insert(groupKey="eng@example.com", body={"email": "admin@example.com"}),
        request_id="new",
    )
    batch.add(
        members.insert(groupKey="eng@example.com", body={"email": "jo@example.com"}),
        request_id="dup",
    )
    batch.add(
        members.get(groupKey="eng@example.com", memberKey="nobody@example.com"),
        request_id="missing",
    )
    batch.add(
        members.delete(groupKey="eng@example.com", memberKey="jo@example.com"), request_id="delete"
    )
    batch.execute()

    assert results["new"][1] is None and results["new"][0]["email"] == "admin@example.com"
    dup = results["dup"][1]
    assert isinstance(dup, HttpError) and dup.status_code == 409
    assert dup.error_details[0]["reason"] == "duplicate"
    missing = results["missing"][1]
    assert isinstance(missing, HttpError) and missing.status_code == 404
    assert results["delete"] == ("", None)

    stats = control(emulator, "stats")
    assert stats["batch_requests"] == 1
    assert stats["by_method"]["directory.members.insert"] == 2


def batch_body(boundary: str, parts: list[str]) -> bytes:
    text = "".join(
        f"--{boundary}\nContent-Type: application/http\nContent-ID: <{uuid.uuid4()} + {n}>\n\n{p}\n"
        for n, p in enumerate(parts, start=1)
    )
    return (text + f"--{boundary}--\n").encode()


def test_batch_wire_format_over_plain_http(emulator):
    boundary = "===============0123456789=="
    body = batch_body(
        boundary,
        [
            "GET /admin/directory/v1/groups/eng%40example.com?alt=json HTTP/1.1\n"
            "Accept: application/json\n",
            "GET /somewhere/else HTTP/1.1\nAccept: application/json\n",
        ],
    )
    status, headers, data = request(
        emulator,
        "POST",
        "/batch/admin/directory_v1",
        body,
        {"Content-Type": f'multipart/mixed; boundary="{boundary}"'},
    )
    assert status == 200 and headers["content-type"].startswith("multipart/mixed; boundary=")
    text = data.decode()
    assert text.count("Content-ID: <response-") == 2
    assert "HTTP/1.1 200 OK\r\n" in text and "HTTP/1.1 404 Not Found\r\n" in text
    assert text.count("\r\n\r\n{") == 2


def test_batch_over_1000_parts_is_refused(emulator):
    boundary = "b=1"
    part = "GET /admin/directory/v1/groups/eng%40example.com HTTP/1.1\nAccept: application/json\n"
    headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
    status, _, data = request(
        emulator, "POST", "/batch", batch_body(boundary, [part] * 1001), headers
    )
    assert status == 400 and "at most 1000" in json.loads(data)["error"]["message"]
    status, _, _ = request(emulator, "POST", "/batch", batch_body(boundary, [part] * 1000), headers)
    assert status == 200
    status, _, data = request(
        emulator, "POST", "/batch", b"{}", {"Content-Type": "application/json"}
    )
    assert status == 400 and json.loads(data)["error"]["errors"][0]["reason"] == "badRequest"


# -- stats, state, reset, config -----------------------------------------------------------


def test_stats_count_http_requests_once_per_batch_and_every_api_call(emulator):
    service = directory(emulator)
    service.groups().get(groupKey="eng@example.com").execute()
    batch = service.new_batch_http_request()
    for _ in range(3):
        batch.add(service.users().get(userKey="jo@example.com"))
    batch.execute()
    stats = control(emulator, "stats")
    # The discovery fetch is an HTTP request too; /_emulator/ requests and token grants
    # (counted in token_grants) are not.
    assert stats["http_requests"] == 3
    assert stats["api_calls"] == 4
    assert stats["by_method"] == {"directory.groups.get": 1, "directory.users.get": 3}
    assert stats["faults_injected"] == 0 and stats["quota_rejections"] == 0
    assert stats["config"]["latency_ms"] == 0


def test_reset_restores_the_seed_and_zeroes_stats(emulator):
    service = directory(emulator)
    new_group(service, "ops@example.com")
    assert any(g["email"] == "ops@example.com" for g in control(emulator, "state")["groups"])
    assert control(emulator, "reset", {}) == {"reset": True}
    stats = control(emulator, "stats")
    assert (stats["http_requests"], stats["api_calls"], stats["by_method"]) == (0, 0, {})
    emails = [g["email"] for g in control(emulator, "state")["groups"]]
    assert emails == ["eng@example.com"]


def test_config_changes_at_runtime_and_refuses_bad_options(emulator):
    assert configure(emulator, latency_ms=1)["latency_ms"] == 1
    assert control(emulator, "config")["latency_ms"] == 1
    status, _, data = request(emulator, "POST", "/_emulator/config", {"fault_rate": 3, "nope": 1})
    error = json.loads(data)["error"]
    assert status == 400 and error["errors"][0]["reason"] == "invalid"
    assert "fault_rate" in error["message"] and "'nope'" in error["message"]
    json_type = {"Content-Type": "application/json"}
    status, _, _ = request(emulator, "POST", "/_emulator/config", b"[1]", json_type)
    assert status == 400
    status, _, data = request(emulator, "POST", "/_emulator/config", {"short_listing": {"u": 1}})
    assert status == 400 and "unknown collections ['u']" in json.loads(data)["error"]["message"]


# -- faults, latency, quota, consistency ---------------------------------------------------


def test_latency_is_added_to_every_request(emulator):
    service = directory(emulator)
    configure(emulator, latency_ms=60)
    started = time.perf_counter()
    for _ in range(4):
        service.groups().get(groupKey="eng@example.com").execute()
    batch = service.new_batch_http_request()
    for _ in range(5):
        batch.add(service.groups().get(groupKey="eng@example.com"))
    batch.execute()
    assert time.perf_counter() - started >= 5 * 0.06  # the batch pays it once
    assert control(emulator, "stats")["config"]["latency_ms"] == 60


def outcomes(service, n: int) -> list[str]:
    seen = []
    for _ in range(n):
        try:
            service.groups().get(groupKey="eng@example.com").execute()
            seen.append("ok")
        except HttpError as exc:
            seen.append(f"{exc.status_code} {exc.reason}")
        except (http.client.HTTPException, ConnectionError):
            seen.append("dropped")
    return seen


def test_fault_rate_with_a_seed_repeats_exactly(emulator):
    service = directory(emulator)
    configure(emulator, fault_rate=0.4, fault_seed=11)
    first = outcomes(service, 60)
    injected = control(emulator, "stats")["faults_injected"]
    control(emulator, "reset", {})  # re-seeds the faults
    second = outcomes(service, 60)
    assert first == second
    assert 10 <= first.count("ok") <= 55
    assert injected >= 60 - first.count("ok")  # a drop is retried once by httplib2
    kinds = {o for o in first if o != "ok"}
    assert {"429 Rate Limit Exceeded", "503 The service is currently unavailable."} & kinds


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("too_many_requests", 429, "rateLimitExceeded"),
        ("backend_error", 503, "backendError"),
        ("rate_limit", 403, "rateLimitExceeded"),
        ("user_rate_limit", 403, "userRateLimitExceeded"),
    ],
)
def test_each_fault_kind_answers_like_google(emulator, kind, status, reason):
    service = directory(emulator)
    configure(emulator, fault_rate=1, fault_kinds=[kind])
    with pytest.raises(HttpError) as err:
        service.groups().get(groupKey="eng@example.com").execute()
    assert err.value.status_code == status
    assert err.value.error_details[0]["reason"] == reason
    assert not google_error_problems(status, json.loads(err.value.content))
    stats = control(emulator, "stats")
    assert stats["faults_injected"] == 1 and stats["faults_by_kind"] == {kind: 1}


def test_dropped_connection_outside_and_inside_a_batch(emulator):
    service = directory(emulator)
    configure(emulator, fault_rate=1, fault_kinds=["drop"])
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        service.groups().get(groupKey="eng@example.com").execute()
    results = []
    batch = service.new_batch_http_request(callback=lambda rid, resp, exc: results.append(exc))
    batch.add(service.groups().get(groupKey="eng@example.com"))
    batch.execute()
    assert results[0].status_code == 503
    assert control(emulator, "stats")["faults_by_kind"]["drop"] >= 2


def test_retrying_client_gets_through_transient_faults(emulator):
    service = directory(emulator)
    configure(emulator, fault_rate=0.5, fault_seed=3, fault_kinds=list(FAULT_KINDS))
    for _ in range(10):
        req = service.groups().get(groupKey="eng@example.com")
        req._sleep = lambda _seconds: None  # googleapiclient's backoff, skipped in tests
        assert req.execute(num_retries=20)["email"] == "eng@example.com"
    assert control(emulator, "stats")["faults_injected"] > 0


def test_quota_per_minute_answers_403_user_rate_limit_exceeded(emulator):
    service = directory(emulator)
    configure(emulator, quota_per_minute=3)
    for _ in range(3):
        service.groups().get(groupKey="eng@example.com").execute()
    with pytest.raises(HttpError) as err:
        service.groups().get(groupKey="eng@example.com").execute()
    assert err.value.status_code == 403
    assert err.value.error_details[0]["reason"] == "userRateLimitExceeded"
    assert not google_error_problems(403, json.loads(err.value.content))

    results = []
    batch = service.new_batch_http_request(callback=lambda rid, resp, exc: results.append(exc))
    batch.add(service.groups().get(groupKey="eng@example.com"))
    batch.add(service.users().get(userKey="jo@example.com"))
    batch.execute()
    assert [e.status_code for e in results] == [403, 403]
    stats = control(emulator, "stats")
    assert stats["quota_rejections"] == 3 and stats["api_calls"] == 6


def test_consistency_delay_hides_new_resources_until_it_passes(emulator):
    service = directory(emulator)
    configure(emulator, consistency_delay_ms=60_000)
    new_group(service, "new@example.com")
    with pytest.raises(HttpError) as err:
        service.groups().get(groupKey="new@example.com").execute()
    assert err.value.status_code == 404
    user = {
        "primaryEmail": "new.user@example.com",
        "name": {"givenName": "New", "familyName": "User"},
        "password": "correct-horse-battery",
    }
    service.users().insert(body=user).execute()
    with pytest.raises(HttpError) as err:
        service.users().patch(userKey="new.user@example.com", body={"suspended": True}).execute()
    assert err.value.status_code == 412 and "not complete" in str(err.value)

    configure(emulator, consistency_delay_ms=0)  # the delay is judged when a call arrives
    assert service.groups().get(groupKey="new@example.com").execute()["email"] == "new@example.com"
    service.users().patch(userKey="new.user@example.com", body={"suspended": True}).execute()


def test_listing_lag_set_at_runtime_shows_listings_behind_gets(emulator):
    service = directory(emulator)
    assert configure(emulator, listing_lag_ms=60_000)["listing_lag_ms"] == 60_000
    assert emulator.api.listing_lag_s == 60
    new_group(service, "new@example.com")
    service.members().delete(groupKey="eng@example.com", memberKey="jo@example.com").execute()
    assert service.groups().get(groupKey="new@example.com").execute()["email"]
    listed = service.groups().list(customer="my_customer").execute()["groups"]
    assert [g["email"] for g in listed] == ["eng@example.com"]
    assert listed[0]["directMembersCount"] == "0"  # counted as it is
    members = service.members().list(groupKey="eng@example.com").execute()["members"]
    assert [m["email"] for m in members] == ["jo@example.com"]  # listed as it was

    configure(emulator, listing_lag_ms=0)  # judged when a listing arrives: caught up at once
    listed = service.groups().list(customer="my_customer").execute()["groups"]
    assert [g["email"] for g in listed] == ["eng@example.com", "new@example.com"]
    assert "members" not in service.members().list(groupKey="eng@example.com").execute()


def test_address_hold_answers_a_claim_of_a_released_address_as_taken(emulator):
    service = directory(emulator)
    assert configure(emulator, address_hold_ms=60_000)["address_hold_ms"] == 60_000
    assert emulator.api.address_hold_s == 60
    service.groups().aliases().insert(
        groupKey="eng@example.com", body={"alias": "dev@example.com"}
    ).execute()
    service.groups().aliases().delete(groupKey="eng@example.com", alias="dev@example.com").execute()
    with pytest.raises(HttpError) as err:
        service.users().aliases().insert(
            userKey="jo@example.com", body={"alias": "dev@example.com"}
        ).execute()
    assert err.value.status_code == 409 and "Entity already exists." in str(err.value)
    assert google_error_problems(409, json.loads(err.value.content)) == []

    configure(emulator, address_hold_ms=0)  # the hold is judged when a claim arrives
    service.users().aliases().insert(
        userKey="jo@example.com", body={"alias": "dev@example.com"}
    ).execute()
    status, _, data = request(emulator, "POST", "/_emulator/config", {"address_hold_ms": -1})
    assert status == 400 and "address_hold_ms" in json.loads(data)["error"]["message"]


def test_short_listing_makes_listings_end_early(emulator):
    service = directory(emulator)
    configure(emulator, short_listing={"users": 1, "members": 1})
    users = service.users().list(customer="my_customer").execute()
    assert len(users["users"]) == 1 and "nextPageToken" not in users
    group = service.groups().get(groupKey="eng@example.com").execute()
    members = service.members().list(groupKey="eng@example.com").execute().get("members", [])
    assert len(members) < int(group["directMembersCount"])
    configure(emulator, short_listing={})
    assert len(service.users().list(customer="my_customer").execute()["users"]) == 2


# -- token endpoint ------------------------------------------------------------------------


def test_service_account_with_delegation_gets_a_token_offline(emulator):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.oauth2 import service_account

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "reconciler@test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": emulator.base_url + "/token",
    }
    creds = service_account.Credentials.from_service_account_info(
        info,
        scopes=["https://www.googleapis.com/auth/admin.directory.user"],
        subject="admin@example.com",
    )
    authed = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=10))
    service = build_from_document(fetched_document(emulator), http=authed)
    users = service.users().list(customer="my_customer").execute()["users"]
    assert "jo@example.com" in [u["primaryEmail"] for u in users]
    assert creds.valid and creds.token
    assert control(emulator, "stats")["token_grants"] == 1


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ("grant_type=client_credentials", "unsupported_grant_type"),
        ("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=abc", "invalid_grant"),
        (
            "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=e30.e30.sig",
            "invalid_grant",
        ),
    ],
)
def test_token_endpoint_refuses_other_grants(emulator, form, error):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, data = request(emulator, "POST", "/token", form.encode(), headers)
    assert status == 400 and json.loads(data)["error"] == error


# -- persistence and embedding -------------------------------------------------------------


def test_tenant_persists_across_a_restart(seed, tmp_path):
    state = tmp_path / "state.json"
    with EmulatorServer.open(seed=seed, state=state) as server:
        new_group(directory(server), "ops@example.com")
    with EmulatorServer.open(seed=seed, state=state) as server:
        got = directory(server).groups().get(groupKey="ops@example.com").execute()
        assert got["email"] == "ops@example.com"


def test_stop_closes_idle_keep_alive_connections(seed, tmp_path):
    """stop() does not wait for a client that keeps its connection open: it ends the
    connection itself. (How long stop takes is a benchmark: benchmarks/emulator_stop.py.)"""
    server = EmulatorServer.open(seed=seed, state=tmp_path / "s.json")
    server.start()
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=10)
    conn.request("GET", "/_emulator/stats")
    response = conn.getresponse()
    response.read()
    assert not response.will_close  # kept alive: the server now waits for its next request
    stopper = threading.Thread(target=server.stop, daemon=True)
    stopper.start()
    stopper.join(HANG_GUARD_S)  # only so that a stop that waits for the client fails, not hangs
    assert not stopper.is_alive(), "stop() waited for the idle client"
    conn.sock.settimeout(HANG_GUARD_S)
    assert conn.sock.recv(1) == b""  # the server ended the connection
    conn.close()
    with pytest.raises(RuntimeError):
        server.base_url  # noqa: B018


# -- requests from web pages ---------------------------------------------------------------

EVIL = "https://evil.test"


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain", "Origin": EVIL},  # what a cross-site form sends
        {"Content-Type": "application/json", "Origin": EVIL},
        {"Content-Type": "application/json", "Origin": "null"},
        {"Content-Type": "application/json", "Origin": "http://127.0.0.1.evil.test"},
        {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_requests_from_other_sites_are_refused(emulator, headers):
    for target, body in (
        ("/admin/directory/v1/groups", b'{"email": "pwned@example.com"}'),
        ("/_emulator/config", b'{"fault_rate": 1}'),
        ("/_emulator/reset", b""),
        ("/batch", b""),
        ("/admin/directory/v1/groups/eng%40example.com", None),
    ):
        method = "GET" if body is None else "POST"
        status, _, data = request(emulator, method, target, body, headers)
        assert status == 403, (target, data)
        assert json.loads(data)["error"]["errors"][0]["reason"] == "forbidden"
        assert not error_problems(403, json.loads(data))
    assert control(emulator, "config")["fault_rate"] == 0
    emails = [g["email"] for g in control(emulator, "state")["groups"]]
    assert "pwned@example.com" not in emails


@pytest.mark.parametrize(
    ("target", "body", "content_type"),
    [
        ("/admin/directory/v1/groups", b'{"email": "pwned@example.com"}', "text/plain"),
        ("/admin/directory/v1/groups", b'{"email": "pwned@example.com"}', None),
        (
            "/admin/directory/v1/groups",
            b"email=pwned%40example.com",
            "application/x-www-form-urlencoded",
        ),
        ("/admin/directory/v1/users/jo%40example.com/signOut", b"", "text/plain"),
        ("/_emulator/config", b'{"fault_rate": 1}', "text/plain"),
        ("/_emulator/reset", b"", "multipart/form-data; boundary=x"),
    ],
)
def test_request_bodies_must_be_json(emulator, target, body, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    status, _, data = request(emulator, "POST", target, body, headers)
    assert status == 415, data
    assert json.loads(data)["error"]["errors"][0]["reason"] == "unsupportedMediaType"
    assert control(emulator, "config")["fault_rate"] == 0
    assert control(emulator, "stats")["api_calls"] == 0  # nothing ran


def test_loopback_pages_and_real_clients_still_get_through(emulator):
    port = urlsplit(emulator.base_url).port
    origins = (f"http://localhost:{port}", f"http://127.0.0.1:{port}", "http://[::1]:9")
    for n, origin in enumerate(origins):
        headers = {"Content-Type": "application/json; charset=utf-8", "Origin": origin}
        body = json.dumps({"email": f"ok{n}@example.com"}).encode()
        status, _, data = request(emulator, "POST", "/admin/directory/v1/groups", body, headers)
        assert status == 200, data
    status, _, _ = request(emulator, "POST", "/_emulator/reset")  # no body, no type: curl -X POST
    assert status == 200
    service = directory(emulator)  # application/json, multipart/mixed for its batches
    new_group(service, "real@example.com")
    results = []
    batch = service.new_batch_http_request(callback=lambda rid, resp, exc: results.append(exc))
    batch.add(service.groups().patch(groupKey="real@example.com", body={"description": "x"}))
    batch.add(service.users().signOut(userKey="jo@example.com"))
    batch.execute()
    assert results == [None, None]
    # /token (form-encoded, from google-auth): test_service_account_with_delegation_…


# -- faults after the call ----------------------------------------------------------------


def test_after_fault_kinds_are_opt_in():
    assert EmulatorConfig().fault_kinds == list(FAULT_KINDS)
    assert not set(AFTER_FAULT_KINDS) & set(FAULT_KINDS)
    config = EmulatorConfig().updated({"fault_kinds": list(AFTER_FAULT_KINDS)})
    assert config.fault_kinds == ["backend_error_after", "drop_after"]


def test_backend_error_after_keeps_the_change(emulator):
    service = directory(emulator)
    configure(emulator, fault_rate=1, fault_kinds=["backend_error_after"])
    with pytest.raises(HttpError) as err:
        new_group(service, "after@example.com")
    assert err.value.status_code == 503
    assert err.value.error_details[0]["reason"] == "backendError"
    assert not google_error_problems(503, json.loads(err.value.content))
    configure(emulator, fault_rate=0)
    assert service.groups().get(groupKey="after@example.com").execute()["name"] == "after"
    stats = control(emulator, "stats")
    assert stats["faults_by_kind"] == {"backend_error_after": 1}
    assert stats["by_status"]["503"] == 1


def test_drop_after_keeps_the_change_and_answers_503_inside_a_batch(emulator):
    configure(emulator, fault_rate=1, fault_kinds=["drop_after"])
    body = {"email": "dropped@example.com"}
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        request(emulator, "POST", "/admin/directory/v1/groups", body)
    service = directory(emulator)
    results = {}
    batch = service.new_batch_http_request(
        callback=lambda rid, resp, exc: results.__setitem__(rid, exc)
    )
    batch.add(
        service.groups().patch(groupKey="dropped@example.com", body={"description": "in batch"}),
        request_id="patch",
    )
    batch.execute()
    assert results["patch"].status_code == 503
    configure(emulator, fault_rate=0)
    got = service.groups().get(groupKey="dropped@example.com").execute()
    assert got["description"] == "in batch"
    assert control(emulator, "stats")["faults_by_kind"] == {"drop_after": 2}


# -- batch order ---------------------------------------------------------------------------


def patch_batch(emulator: EmulatorServer, n: int) -> tuple[list[int], list[int]]:
    """Send n PATCHes of one group in a batch; (the order they ran in, the order of the
    answers), as part numbers. The etag chain tells the order they ran in."""
    first = json.loads(request(emulator, "GET", "/admin/directory/v1/groups/eng%40example.com")[2])
    chain = [first["etag"]]
    for _ in range(n):
        chain.append(next_etag(chain[-1]))
    boundary = "===============42=="
    parts = [
        "PATCH /admin/directory/v1/groups/eng%40example.com HTTP/1.1\n"
        f"Content-Type: application/json\n\n{json.dumps({'description': f'step {i}'})}"
        for i in range(1, n + 1)
    ]
    headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
    status, _, data = request(emulator, "POST", "/batch", batch_body(boundary, parts), headers)
    assert status == 200
    answered, ran = [], {}
    for chunk in data.decode().split("Content-ID: <response-")[1:]:
        number = int(chunk.split(" + ", 1)[1].split(">", 1)[0])
        body = json.loads(chunk[chunk.index("{") : chunk.rindex("}") + 1])
        assert body["description"] == f"step {number}"
        answered.append(number)
        ran[chain.index(body["etag"])] = number
    return [ran[k] for k in sorted(ran)], answered


def test_batch_parts_run_in_order_unless_shuffled(emulator):
    in_order = list(range(1, 9))
    assert patch_batch(emulator, 8) == (in_order, in_order)
    assert control(emulator, "config")["batch_order"] == "sequential"
    configure(emulator, batch_order="shuffle", fault_seed=7)
    ran, answered = patch_batch(emulator, 8)
    assert sorted(ran) == sorted(answered) == in_order
    assert ran != in_order and answered != in_order and ran != answered
    control(emulator, "reset", {})  # re-seeds the order too
    assert patch_batch(emulator, 8) == (ran, answered)
    status, _, data = request(emulator, "POST", "/_emulator/config", {"batch_order": "random"})
    assert status == 400 and "batch_order must be one of" in json.loads(data)["error"]["message"]


def test_shuffled_batches_reach_the_right_callbacks(emulator):
    service = directory(emulator)
    configure(emulator, batch_order="shuffle", fault_seed=1)
    for name in ("a", "b", "c", "d"):
        new_group(service, f"{name}@example.com")
    got = {}
    batch = service.new_batch_http_request(
        callback=lambda rid, resp, exc: got.__setitem__(rid, resp["email"])
    )
    for name in ("a", "b", "c", "d", "eng"):
        batch.add(service.groups().get(groupKey=f"{name}@example.com"), request_id=name)
    batch.execute()
    assert got == {n: f"{n}@example.com" for n in ("a", "b", "c", "d", "eng")}


# -- server plumbing -----------------------------------------------------------------------


def test_listen_backlog_takes_a_burst_of_connections(emulator):
    assert server_module._LoopbackHTTPServer.request_queue_size >= 128
    if shutil.which("ss") is None:
        pytest.skip("ss is not installed")
    port = urlsplit(emulator.base_url).port
    out = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "LISTEN" and int(out[2]) >= 128  # Send-Q of a listener: its backlog


def test_config_reaches_the_api_under_the_servers_lock(emulator, monkeypatch):
    held = []
    real = server_module._set_api_options

    def record(api, config):
        held.append(emulator._lock.locked())
        real(api, config)

    monkeypatch.setattr(server_module, "_set_api_options", record)
    threads = [
        threading.Thread(target=emulator.configure, kwargs={"consistency_delay_ms": n})
        for n in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert held == [True] * 8
    assert emulator.api.consistency_delay_ms == emulator.config.consistency_delay_ms


# -- batches: answers against the discovery document, paging -----------------------------


def test_batch_part_answers_match_the_discovery_document(emulator):
    service = directory(emulator)
    users, groups, members = service.users(), service.groups(), service.members()
    calls = {
        "directory.users.list": users.list(customer="my_customer", maxResults=1),
        "directory.users.get": users.get(userKey="jo@example.com", projection="full"),
        "directory.users.patch": users.patch(userKey="jo@example.com", body={"suspended": True}),
        "directory.users.aliases.insert": users.aliases().insert(
            userKey="jo@example.com", body={"alias": "jl@example.com"}
        ),
        "directory.users.aliases.list": users.aliases().list(userKey="jo@example.com"),
        "directory.groups.list": groups.list(customer="my_customer"),
        "directory.groups.get": groups.get(groupKey="eng@example.com"),
        "directory.groups.insert": groups.insert(body={"email": "ops@example.com"}),
        "directory.members.list": members.list(groupKey="eng@example.com"),
        "directory.members.insert": members.insert(
            groupKey="eng@example.com", body={"email": "admin@example.com"}
        ),
        "directory.members.get": members.get(
            groupKey="eng@example.com", memberKey="admin@example.com"
        ),
        "directory.members.hasMember": members.hasMember(
            groupKey="eng@example.com", memberKey="jo@example.com"
        ),
        "directory.members.delete": members.delete(
            groupKey="eng@example.com", memberKey="admin@example.com"
        ),
        "directory.orgunits.list": service.orgunits().list(customerId="my_customer"),
        "directory.schemas.list": service.schemas().list(customerId="my_customer"),
        "directory.users.makeAdmin": users.makeAdmin(
            userKey="jo@example.com", body={"status": True}
        ),
        "directory.groups.delete": groups.delete(groupKey="nobody@example.com"),
        "directory.users.insert": users.insert(body={"primaryEmail": "x@example.com"}),
    }
    answers = {}
    batch = service.new_batch_http_request(
        callback=lambda rid, resp, exc: answers.__setitem__(rid, (resp, exc))
    )
    for method_id, call in calls.items():
        batch.add(call, request_id=method_id)
    batch.execute()
    assert answers.keys() == calls.keys()
    failed = set()
    for method_id, (resp, exc) in answers.items():
        if exc is None:
            assert_valid_response(method_id, 204 if resp == "" else 200, resp or None)
        else:
            failed.add(method_id)
            assert not error_problems(exc.status_code, json.loads(exc.content)), method_id
    assert failed == {"directory.groups.delete", "directory.users.insert"}


def test_members_pages_followed_inside_batches(tmp_path):
    seed = {
        "domains": ["example.com"],
        "users": [
            {"primaryEmail": f"u{n}@example.com", "name": {"givenName": "U", "familyName": "N"}}
            for n in range(7)
        ],
        "groups": [
            {
                "email": "big@example.com",
                "members": [{"email": f"u{n}@example.com"} for n in range(7)],
            },
            {
                "email": "mid@example.com",
                "members": [{"email": f"u{n}@example.com"} for n in range(3)],
            },
            {"email": "none@example.com"},
        ],
    }
    with EmulatorServer.open(seed=seed, state=tmp_path / "state.json") as server:
        service = directory(server)
        pending: dict[str, str | None] = dict.fromkeys(("big", "mid", "none"))
        found: dict[str, list[str]] = {name: [] for name in pending}
        batches = 0
        pages: dict[str, tuple] = {}
        while pending:
            pages.clear()
            batch = service.new_batch_http_request(
                callback=lambda rid, resp, exc: pages.__setitem__(rid, (resp, exc))
            )
            for name, token in pending.items():
                call = service.members().list(
                    groupKey=f"{name}@example.com", maxResults=2, pageToken=token
                )
                batch.add(call, request_id=name)
            batch.execute()
            batches += 1
            pending = {}
            for name, (page, exc) in pages.items():
                assert exc is None
                assert_valid_response("directory.members.list", 200, page)
                found[name] += [m["email"] for m in page.get("members", [])]
                if page.get("nextPageToken"):
                    pending[name] = page["nextPageToken"]
        assert batches == math.ceil(7 / 2)
        for name in found:
            whole = service.members().list(groupKey=f"{name}@example.com").execute()
            assert found[name] == [m["email"] for m in whole.get("members", [])]
        assert len(found["big"]) == 7 and len(found["mid"]) == 3 and found["none"] == []


def test_boundary_text_inside_a_part_body_is_content(emulator):
    boundary = "===============0123456789=="
    description = f"a\n--{boundary}\nb"  # JSON escapes the line breaks: mid-line text
    body = json.dumps({"email": "odd@example.com", "description": description})
    part = f"POST /admin/directory/v1/groups HTTP/1.1\nContent-Type: application/json\n\n{body}"
    headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
    status, _, data = request(emulator, "POST", "/batch", batch_body(boundary, [part]), headers)
    assert status == 200 and "HTTP/1.1 200 OK" in data.decode()
    got = directory(emulator).groups().get(groupKey="odd@example.com").execute()
    assert got["description"] == description
